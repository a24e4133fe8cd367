"""The stack's file storage from its `storage` section: Spaces, S3, MinIO on a Docker host, or GridFS.
The bucket also takes the database dumps when the platform runs MongoDB and backs it up."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from components.config import KubernetesPlatformConfig, PlatformConfig
from components.config.mongo import ContainerMongoConfig, InClusterMongoConfig, backups_on
from components.config.storage import MinioConfig, S3Config, SpacesConfig
from components.docker import DockerHost
from components.scope import Scope
from components.storage import FileStorage

if TYPE_CHECKING:
    import pulumi

    from components.config.mongo import MongoConfig


def storage(
    config: PlatformConfig,
    scope: Scope,
    *,
    hosts: list[DockerHost],
    aws_provider: pulumi.ProviderResource | None = None,
    pod_identity_cluster: pulumi.Output[str] | None = None,
    instance_role_name: pulumi.Output[str] | None = None,
) -> FileStorage:
    """`aws_provider`: the stack's (S3). The identities S3 grants its bucket to: `pod_identity_cluster`,
    the EKS cluster whose apps' service accounts get a role; `instance_role_name`, the EC2 hosts' role."""
    s = config.storage
    if isinstance(s, SpacesConfig):
        from components.storage.digitalocean import SpacesStorage, SpacesStorageArgs

        return SpacesStorage(
            f"{scope.name}-storage",
            SpacesStorageArgs(
                bucket=s.bucket or f"meteor-platform-{scope.stack}-files",
                region=config.digitalocean.region,
                cors_origins=cors_origins(config),
                noncurrent_version_days=s.noncurrent_version_days,
                protect=config.protect_stateful,
                **spaces_backup_bucket(config.mongo, scope.stack),
            ),
            opts=scope.child(),
        )
    if isinstance(s, S3Config):
        from components.aws.provider import caller_account
        from components.storage.aws import S3Storage, S3StorageArgs, default_bucket_name

        assert aws_provider is not None, "S3 storage makes the stack use AWS (config.uses_aws)"
        return S3Storage(
            f"{scope.name}-storage",
            S3StorageArgs(
                bucket=s.bucket or default_bucket_name(scope.stack, caller_account(aws_provider)),
                region=config.aws.region,
                stack=scope.stack,
                apps=app_namespaces(config),
                cors_origins=cors_origins(config),
                noncurrent_version_days=s.noncurrent_version_days,
                protect=config.protect_stateful,
                cluster_name=pod_identity_cluster,
                host_role_name=instance_role_name,
                backup_retention_days=dump_retention_days(config.mongo),
                backup_namespace=config.mongo.namespace if isinstance(config.mongo, InClusterMongoConfig) else None,
            ),
            opts=scope.child(),
        )
    if isinstance(s, MinioConfig):
        from components.storage.minio import MinioStorage, MinioStorageArgs

        host = hosts[0]
        return MinioStorage(
            f"{scope.name}-storage",
            MinioStorageArgs(host=host, bucket=s.bucket, image=s.image, client_image=s.client_image, protect=config.protect_stateful),
            opts=scope.on_host(host),
        )
    from components.storage.gridfs import GridFsStorage

    return GridFsStorage(s.gridfs_bucket)


def cors_origins(config: PlatformConfig) -> list[str]:
    """The apps' public URLs: browsers upload to the bucket from their pages."""
    from components.app.environment import public_url

    tls = config.ingress.serves_tls
    return [public_url(a.domain, tls) for a in config.apps if a.domain]


def app_namespaces(config: PlatformConfig) -> dict[str, str]:
    """Per app, the namespace its identity lives in: its Kubernetes namespace, else its own name."""
    if isinstance(config, KubernetesPlatformConfig):
        return {a.name: a.k8s_namespace for a in config.apps}
    return {a.name: a.name for a in config.apps}


def dump_retention_days(mongo: MongoConfig) -> int | None:
    """Days the bucket keeps a dump, when the platform runs MongoDB and dumps it (under the bucket's dumps prefix)."""
    if not isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig) or not backups_on(mongo, True):
        return None
    return mongo.backup.retention_days


def spaces_backup_bucket(mongo: MongoConfig, stack: str) -> dict[str, Any]:
    """Spaces keeps dumps in a bucket of their own (`mongo.backup.bucket`, default per stack)."""
    days = dump_retention_days(mongo)
    if days is None:
        return {}
    assert isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig)
    return {"backup_bucket": mongo.backup.bucket or f"meteor-backups-{stack}", "backup_retention_days": days}
