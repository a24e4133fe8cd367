"""File storage: files never live on the container's disk.

A `FileStorage` hands each app its `StorageWiring`: plain and secret environment variables, a
fragment merged into METEOR_SETTINGS (under `storage`) and the endpoints the app connects to.

    gridfs.py       MongoDB GridFS (no storage service of its own)
    digitalocean.py a DigitalOcean Spaces bucket
    minio.py        MinIO as a container on a Docker host
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pulumi
from pydantic import JsonValue

from components.endpoints import Endpoint


@dataclass(frozen=True)
class StorageWiring:
    """What one app receives to reach its file storage."""

    env: dict[str, str] = field(default_factory=lambda: {})
    """Plain environment variables."""
    secret_env: dict[str, pulumi.Output[str]] = field(default_factory=lambda: {})
    """Sensitive environment variables (access keys), delivered as secrets."""
    settings: dict[str, JsonValue] = field(default_factory=lambda: {})
    """Fragment of METEOR_SETTINGS, placed under the `storage` key."""
    secret_settings: dict[str, pulumi.Output[str]] = field(default_factory=lambda: {})
    """Sensitive settings merged into `storage` (these make METEOR_SETTINGS secret)."""
    endpoints: list[Endpoint] = field(default_factory=lambda: [])
    """Where the store listens (empty when it is MongoDB itself)."""
    instance_role: bool = False
    """Docker hosts: the app's credentials come from the host's instance role, so its containers
    must reach the metadata service (they join the host's instance-role network)."""
    ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """What the app's pods wait for before they are created: its Pod Identity association in effect."""


@dataclass(frozen=True, kw_only=True)
class PodIdentityWiring(StorageWiring):
    """Kubernetes: the wiring of a store that trusts a service account's cloud identity (EKS Pod Identity)."""

    service_account: str
    """The service account, in the app's namespace, the app's pods must run as."""


def pod_service_account(wiring: StorageWiring) -> str | None:
    """The service account the app's pods run as for `wiring`'s store, if it asks for one."""
    return wiring.service_account if isinstance(wiring, PodIdentityWiring) else None


DUMPS_PREFIX = "mongo/"
"""Where database dumps go in the backups bucket (its lifecycle rule applies there)."""


@dataclass(frozen=True)
class BackupTarget:
    """Where database dumps go: a bucket and the credentials of a writer confined to `prefix` there.

    The MinIO client (`mc`) reaches it as the alias `backup`: with a key in `MC_HOST_backup`, or (a
    `PodIdentityBackupTarget`) through the pod's EKS Pod Identity."""

    host: str
    """The S3 endpoint's host (`fra1.digitaloceanspaces.com`, `s3.eu-central-1.amazonaws.com`)."""
    bucket: pulumi.Output[str]
    endpoints: list[Endpoint]
    """Where the backup job connects (its network rules)."""
    access_key: pulumi.Output[str] | None = None
    secret_key: pulumi.Output[str] | None = None
    prefix: str = DUMPS_PREFIX
    region: str | None = None
    """The bucket's region, when the endpoint needs requests signed for it (Amazon S3)."""

    @property
    def has_key(self) -> bool:
        return self.access_key is not None and self.secret_key is not None

    def mc_host(self) -> pulumi.Output[str]:
        """`MC_HOST_backup` for the MinIO client: the endpoint with the key (secret; environment only), or
        the bare endpoint when the credentials come from the pod's identity. An AWS secret key may hold `/`
        and `+`: mc splits the value with a regular expression (minio/mc cmd/config.go `hostKeys`,
        `^(https?://)(.*?):(.*)@(.*?)$`), not as a URL, so neither needs escaping."""
        if self.access_key is None or self.secret_key is None:
            return pulumi.Output.from_input(f"https://{self.host}")
        return pulumi.Output.secret(
            pulumi.Output.all(self.access_key, self.secret_key).apply(lambda keys: f"https://{keys[0]}:{keys[1]}@{self.host}")
        )

    def client_env(self) -> dict[str, str]:
        """The MinIO client's plain environment besides `MC_HOST_backup`. The region is given
        (`MC_REGION`, minio/mc cmd/client-s3.go) so no request needs s3:GetBucketLocation."""
        return {"MC_REGION": self.region} if self.region is not None else {}


@dataclass(frozen=True, kw_only=True)
class PodIdentityBackupTarget(BackupTarget):
    """Kubernetes: a bucket the backup pods reach through their service account's cloud identity (EKS
    Pod Identity), with no key."""

    service_account: str
    """The service account, in MongoDB's namespace, the backup and restore pods run as."""

    def client_env(self) -> dict[str, str]:
        """Besides the region, where mc asks for the pod's credentials.

        mc (minio/mc RELEASE.2025-04-16T18-13-26Z, cmd/client.go getCredsChain) asks for temporary
        credentials only when `MC_STS_ENDPOINT_<alias>` is set: it then puts minio-go's `credentials.IAM`
        before the (empty) static key. minio-go v7.0.90 (pkg/credentials/iam_aws.go RetrieveWithCredContext)
        takes `AWS_CONTAINER_CREDENTIALS_FULL_URI` with `AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE` (what EKS
        Pod Identity injects: aws/amazon-eks-pod-identity-webhook pkg/handler/handler.go addEnvToContainer)
        over the endpoint given, and reads the token file on every refresh (getEKSPodIdentityCredentials)."""
        return {**super().client_env(), "MC_STS_ENDPOINT_backup": POD_IDENTITY_CREDENTIALS_URL}


def backup_service_account(target: BackupTarget) -> str | None:
    """The service account the backup and restore pods run as for `target`, if it asks for one."""
    return target.service_account if isinstance(target, PodIdentityBackupTarget) else None


POD_IDENTITY_CREDENTIALS_URL = "http://169.254.170.23/v1/credentials"
"""The EKS Pod Identity agent's credentials endpoint (the webhook's default `container-credentials-full-uri`)."""


# The EKS Pod Identity webhook injects the role's credentials (AWS_CONTAINER_CREDENTIALS_FULL_URI and the
# token file) into every container and init container of a pod except those named in the pod annotation
# `eks.amazonaws.com/skip-containers`, a comma-separated list (aws/amazon-eks-pod-identity-webhook
# pkg/handler/handler.go getContainersToSkip reads `<annotation-prefix>/skip-containers` with a CSV
# reader; buildPodPatchConfig applies it to Pod Identity's container credentials too; main.go's
# annotation-prefix defaults to eks.amazonaws.com; pkg/handler/testdata/rawPodSkip.pod.yaml).
POD_IDENTITY_SKIP_CONTAINERS = "eks.amazonaws.com/skip-containers"


def pod_identity_skip(containers: list[str]) -> dict[str, str]:
    """The pod annotation that keeps the role's credentials out of `containers`: only the others get them."""
    return {POD_IDENTITY_SKIP_CONTAINERS: ",".join(containers)}


class FileStorage(Protocol):
    def wiring(self, app: str) -> StorageWiring: ...

    def backups(self) -> BackupTarget | None:
        """The bucket database dumps go to, when this store offers one."""
        ...


def s3_wiring(
    app: str,
    *,
    endpoint: str,
    region: str,
    bucket: pulumi.Input[str],
    access_key: pulumi.Output[str],
    secret_key: pulumi.Output[str],
    endpoints: list[Endpoint],
) -> StorageWiring:
    """The wiring of any S3-compatible store (Spaces, MinIO): all of it secret,
    mirrored into METEOR_SETTINGS.storage, each app under its own key prefix."""
    access_key, secret_key = pulumi.Output.secret(access_key), pulumi.Output.secret(secret_key)
    bucket_name = pulumi.Output.from_input(bucket)
    return StorageWiring(
        env={"FILE_STORAGE": "s3"},
        secret_env={
            "S3_ENDPOINT": pulumi.Output.from_input(endpoint),
            "S3_REGION": pulumi.Output.from_input(region),
            "S3_BUCKET": bucket_name,
            "S3_ACCESS_KEY_ID": access_key,
            "S3_SECRET_ACCESS_KEY": secret_key,
        },
        settings={"backend": "s3", "endpoint": endpoint, "region": region, "prefix": f"{app}/"},
        secret_settings={"bucket": bucket_name, "accessKeyId": access_key, "secretAccessKey": secret_key},
        endpoints=endpoints,
    )
