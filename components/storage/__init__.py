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
    service_account: str | None = None
    """A Kubernetes service account the app's pods must run as (its cloud identity reaches the store)."""
    instance_role: bool = False
    """Docker hosts: the app's credentials come from the host's instance role, so its containers
    must reach the metadata service (they join the host's instance-role network)."""


DUMPS_PREFIX = "mongo/"
"""Where database dumps go in the backups bucket (its lifecycle rule applies there)."""


@dataclass(frozen=True)
class BackupTarget:
    """Where database dumps go: a bucket of their own and a key that can write there only."""

    host: str
    """The S3 endpoint's host (`fra1.digitaloceanspaces.com`)."""
    bucket: pulumi.Output[str]
    access_key: pulumi.Output[str]
    secret_key: pulumi.Output[str]
    endpoints: list[Endpoint]
    """Where the backup job connects (its network rules)."""
    prefix: str = DUMPS_PREFIX

    def mc_host(self) -> pulumi.Output[str]:
        """`MC_HOST_backup` for the MinIO client: the endpoint with the key (secret; environment only)."""
        return pulumi.Output.secret(
            pulumi.Output.all(self.access_key, self.secret_key).apply(lambda keys: f"https://{keys[0]}:{keys[1]}@{self.host}")
        )


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
