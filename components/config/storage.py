"""`storage`: where uploaded files live (never on the container's disk), one model per provider."""

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components import versions
from components.config.unions import tagged
from components.config.values import DnsLabel, ImageRef, Model

_BUCKET_PATTERN = r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$"


class GridFsConfig(Model):
    """Files in MongoDB GridFS, on each app's own database."""

    provider: Literal["gridfs"] = Field(
        default="gridfs",
        description="`gridfs` (MongoDB GridFS), `spaces` (a DigitalOcean Spaces bucket), `s3` (an Amazon S3 bucket) or `minio` "
        "(an S3-compatible container on the Docker host).",
    )
    gridfs_bucket: DnsLabel = Field(default="uploads", description="GridFS bucket name given to the app.")


class _CloudBucketConfig(Model):
    """What a cloud provider's private, versioned bucket is configured by."""

    bucket: str | None = Field(
        default=None, pattern=_BUCKET_PATTERN, description="Bucket name (globally unique); default `meteor-platform-<stack>-files`."
    )
    noncurrent_version_days: int = Field(
        default=30, ge=1, le=3650, description="Days before an overwritten or deleted object version expires."
    )


class SpacesConfig(_CloudBucketConfig):
    """A private, versioned DigitalOcean Spaces bucket."""

    provider: Literal["spaces"]


class S3Config(_CloudBucketConfig):
    """A private, versioned, encrypted Amazon S3 bucket; apps reach it through their IAM role (no keys)."""

    provider: Literal["s3"]
    bucket: str | None = Field(
        default=None,
        pattern=_BUCKET_PATTERN,
        description="Bucket name (globally unique); default `meteor-<stack>-<AWS account id>`. Changing it replaces the bucket.",
    )


class MinioConfig(Model):
    """MinIO as a container on the (only) Docker host."""

    provider: Literal["minio"]
    bucket: str = Field(default="meteor-files", pattern=_BUCKET_PATTERN, description="Bucket name.")
    image: ImageRef = Field(default=versions.MINIO_IMAGE, description="MinIO server image.")
    client_image: ImageRef = Field(
        default=versions.MINIO_CLIENT_IMAGE, description="MinIO client image that creates the bucket and its user."
    )


KubernetesStorageConfig = GridFsConfig | SpacesConfig | S3Config
DockerStorageConfig = GridFsConfig | SpacesConfig | MinioConfig | S3Config

if TYPE_CHECKING:
    KubernetesStorageSection = KubernetesStorageConfig
else:
    KubernetesStorageSection = tagged(
        "storage", "provider", "gridfs", {"gridfs": GridFsConfig, "spaces": SpacesConfig, "s3": S3Config}, scope="with target 'kubernetes'"
    )
if TYPE_CHECKING:
    DockerStorageSection = DockerStorageConfig
else:
    DockerStorageSection = tagged(
        "storage",
        "provider",
        "gridfs",
        {"gridfs": GridFsConfig, "spaces": SpacesConfig, "minio": MinioConfig, "s3": S3Config},
        scope="with target 'docker'",
    )
