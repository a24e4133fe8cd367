"""Amazon S3: a private bucket (every public access block, ACLs off, KMS encryption, versioning,
noncurrent versions expired, non-TLS requests denied, CORS for the apps' domains).

No long-lived keys: on EKS each app's pods run as a service account bound (EKS Pod Identity) to a
role whose policy names this bucket and the app's own prefix only; on EC2 Docker hosts the
instance role gets the same, for every app the hosts run, and the app containers (only they) reach
the metadata service through the host's instance-role network (machines/cloud_init.py).
The apps get the same S3 wiring as Spaces and MinIO (FILE_STORAGE, S3_*, METEOR_SETTINGS.storage)
minus the keys: the AWS SDK's default credential chain finds the pod's role on EKS, the instance
role (IMDSv2, hop limit 2) on EC2 hosts.

Database dumps (mongo.backup) go to the same bucket under S3_DUMPS_PREFIX, expired by a lifecycle rule of
their own, written by an identity that reaches that prefix only (put, get, list): on EKS the backup
job's service account (Pod Identity); on EC2 Docker hosts an IAM user whose key only the uploader
container holds, because the instance role is every app's (see S3Storage._host_backups).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pulumi
import pulumi_aws.eks as eks
import pulumi_aws.iam as iam
import pulumi_aws.s3 as s3

from components.aws.iam import output_document
from components.aws.pod_identity import association_settled
from components.aws.roles import service_role
from components.endpoints import POD_IDENTITY_AGENT
from components.protection import stateful
from components.storage import BackupTarget, PodIdentityBackupTarget, PodIdentityWiring, StorageWiring
from components.storage.s3_specs import BACKUP_SERVICE_ACCOUNT as BACKUP_SERVICE_ACCOUNT
from components.storage.s3_specs import (
    ENCRYPTION_RULES,
    app_statements,
    backup_statements,
    cors_rules,
    lifecycle_rules,
    tls_only_statements,
)
from components.storage.s3_specs import HTTPS as HTTPS
from components.storage.s3_specs import S3_DUMPS_PREFIX as S3_DUMPS_PREFIX
from components.storage.s3_specs import default_bucket_name as default_bucket_name


@dataclass(frozen=True)
class S3StorageArgs:
    bucket: str
    region: str
    stack: str
    apps: dict[str, str]
    """App name -> the Kubernetes namespace its pods run in (pod identity), or the app's name on Docker hosts."""
    cors_origins: list[str] = field(default_factory=lambda: [])
    noncurrent_version_days: int = 30
    protect: bool = False
    cluster_name: pulumi.Output[str] | None = None
    """EKS: bind each app's service account to a role of its own."""
    host_role_name: pulumi.Output[str] | None = None
    """EC2 Docker hosts: the instance role that gets every app's access."""
    backup_retention_days: int | None = None
    """Database dumps go under S3_DUMPS_PREFIX and expire after this many days; no dumps when None."""
    backup_namespace: str | None = None
    """EKS: the namespace of the backup job's service account (MongoDB's)."""


class S3Storage(pulumi.ComponentResource):
    bucket: s3.Bucket
    roles: dict[str, iam.Role]

    def __init__(self, name: str, args: S3StorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:storage:S3Storage", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        self.bucket = s3.Bucket(f"{name}-bucket", bucket=args.bucket, opts=stateful(args.protect, parent=self))
        self._bucket_settings(name, args)
        self.roles = {}
        self._settled: dict[str, pulumi.Resource] = {}
        if args.cluster_name is not None:
            for app, namespace in args.apps.items():
                self._app_identity(name, app, namespace, args.cluster_name)
        if args.host_role_name is not None:
            iam.RolePolicy(
                f"{name}-hosts",
                role=args.host_role_name,
                policy=output_document(app_statements(self.bucket.arn, [f"{app}/" for app in args.apps])),
                opts=child,
            )
        self._backups: BackupTarget | None = None
        if args.backup_retention_days is not None:
            self._backups = self._backup_target(name, args)
        self.register_outputs({"bucket": self.bucket.bucket})

    def _bucket_settings(self, name: str, args: S3StorageArgs) -> None:
        """Private (every public access block, ACLs off), KMS-encrypted, versioned, TLS only, CORS for the apps."""
        child = pulumi.ResourceOptions(parent=self)
        bucket_id = self.bucket.id
        s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        s3.BucketOwnershipControls(f"{name}-ownership", bucket=bucket_id, rule={"object_ownership": "BucketOwnerEnforced"}, opts=child)
        s3.BucketServerSideEncryptionConfiguration(f"{name}-encryption", bucket=bucket_id, rules=ENCRYPTION_RULES, opts=child)
        versioning = s3.BucketVersioning(f"{name}-versioning", bucket=bucket_id, versioning_configuration={"status": "Enabled"}, opts=child)
        s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=lifecycle_rules(args.noncurrent_version_days, args.backup_retention_days),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        policy = output_document(self.bucket.arn.apply(tls_only_statements))
        s3.BucketPolicy(f"{name}-tls-only", bucket=bucket_id, policy=policy, opts=child)
        if args.cors_origins:
            s3.BucketCorsConfiguration(f"{name}-cors", bucket=bucket_id, cors_rules=cors_rules(args.cors_origins), opts=child)

    def _app_identity(self, name: str, app: str, namespace: str, cluster_name: pulumi.Input[str]) -> None:
        """EKS: the app's service account bound to a role of its own, reaching its own prefix only."""
        child = pulumi.ResourceOptions(parent=self)
        role = service_role(f"{name}-{app}", "pods.eks.amazonaws.com", tag_session=True, parent=self)
        iam.RolePolicy(f"{name}-{app}", role=role.id, policy=output_document(app_statements(self.bucket.arn, [f"{app}/"])), opts=child)
        association = eks.PodIdentityAssociation(
            f"{name}-{app}", cluster_name=cluster_name, namespace=namespace, service_account=app, role_arn=role.arn, opts=child
        )
        self.roles[app] = role
        self._settled[app] = association_settled(f"{name}-{app}", association, self)

    def _backup_target(self, name: str, args: S3StorageArgs) -> BackupTarget | None:
        # `.`: app names are DNS labels, so no app's `f"{name}-{app}"` resources share these names.
        child = pulumi.ResourceOptions(parent=self)
        policy = output_document(backup_statements(self.bucket.arn))
        target = BackupTarget(
            host=f"s3.{args.region}.amazonaws.com", bucket=self.bucket.bucket, endpoints=[HTTPS], prefix=S3_DUMPS_PREFIX, region=args.region
        )
        if args.cluster_name is not None and args.backup_namespace is not None:
            role = service_role(f"{name}.mongo-dumps", "pods.eks.amazonaws.com", tag_session=True, parent=self)
            iam.RolePolicy(f"{name}.mongo-dumps", role=role.id, policy=policy, opts=child)
            eks.PodIdentityAssociation(
                f"{name}.mongo-dumps",
                cluster_name=args.cluster_name,
                namespace=args.backup_namespace,
                service_account=BACKUP_SERVICE_ACCOUNT,
                role_arn=role.arn,
                opts=child,
            )
            reached = replace(target, endpoints=[HTTPS, POD_IDENTITY_AGENT])
            return PodIdentityBackupTarget(**vars(reached), service_account=BACKUP_SERVICE_ACCOUNT)
        if args.host_role_name is not None:
            return self._host_backups(name, policy, target)
        return None

    def _host_backups(self, name: str, policy: pulumi.Output[str], target: BackupTarget) -> BackupTarget:
        """On EC2 Docker hosts the dumps' writer is an IAM user whose key only the uploader container holds
        (a secret in its environment, as with Spaces). Not the instance role: every app container that
        reaches the metadata service gets that role's credentials (the apps' S3 access is granted there),
        so dumps of every app's database would be readable by each app; and the service containers, the
        uploader among them, are kept from the metadata service (machines/cloud_init.py)."""
        child = pulumi.ResourceOptions(parent=self)
        user = iam.User(f"{name}.mongo-dumps", opts=child)
        iam.UserPolicy(f"{name}.mongo-dumps", user=user.name, policy=policy, opts=child)
        # The secret access key is a sensitive output of the provider (iam.AccessKey `secret`); rotate it
        # with `pulumi up --replace` on this resource (README "Backups and restore").
        key = iam.AccessKey(f"{name}.mongo-dumps", user=user.name, opts=child)
        return replace(target, access_key=pulumi.Output.secret(key.id), secret_key=pulumi.Output.secret(key.secret))

    def wiring(self, app: str) -> StorageWiring:
        endpoint = f"https://s3.{self._args.region}.amazonaws.com"
        wiring = StorageWiring(
            env={
                "FILE_STORAGE": "s3",
                "S3_ENDPOINT": endpoint,
                "S3_REGION": self._args.region,
                "S3_BUCKET": self._args.bucket,
                # The AWS SDK for JavaScript selects no region by default and never asks the instance
                # metadata for one (docs.aws.amazon.com/sdk-for-javascript/latest/developer-guide/
                # setting-region.html; aws/aws-sdk-js-v3#6183): an app that builds its client from the
                # default chain (credentials from the role) finds the region here.
                "AWS_REGION": self._args.region,
            },
            settings={"backend": "s3", "endpoint": endpoint, "region": self._args.region, "prefix": f"{app}/", "bucket": self._args.bucket},
            # On EKS the SDK fetches the role's credentials from the Pod Identity agent: the app's
            # NetworkPolicy must let it through as it lets S3 through.
            endpoints=[HTTPS, POD_IDENTITY_AGENT] if self._args.cluster_name is not None else [HTTPS],
            instance_role=self._args.host_role_name is not None,
            ready=[self._settled[app]] if app in self._settled else [],
        )
        # On EKS the bucket trusts the app's service account, named after the app (its association above).
        return PodIdentityWiring(**vars(wiring), service_account=app) if self._args.cluster_name is not None else wiring

    def backups(self) -> BackupTarget | None:
        return self._backups
