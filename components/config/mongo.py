"""`mongo`: the MongoDB replica set every app uses, one model per provider."""

import re
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components import versions
from components.config.errors import Problems
from components.config.unions import tagged
from components.config.values import (
    Cpu,
    CsiDriverName,
    DatabaseSize,
    DnsLabel,
    DnsSubdomain,
    ImageRef,
    Model,
    MongoMemory,
    MongoUrl,
    MongoVersion,
    VolumeSize,
    image_tag,
)

_VERSION = "MongoDB server version: 6.0 or newer."


class BackupConfig(Model):
    enabled: bool | None = Field(
        default=None,
        description="Scheduled dumps off-site: to a Spaces bucket of their own (`storage.provider` `spaces`) or under "
        "`_backups/mongo/` in the stack's S3 bucket (`s3`); default: on with those two.",
    )
    retention_days: int = Field(
        default=14,
        ge=1,
        le=3650,
        description="Days a dump is kept (the bucket's lifecycle rule expires it); on Docker hosts longer than `intervalHours`.",
    )
    bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
        description="Spaces bucket of the dumps (globally unique); default `meteor-backups-<stack>`. Unset with `s3` storage.",
    )


class ScheduledBackupConfig(BackupConfig):
    schedule: str = Field(
        default="17 3 * * *",
        pattern=r"^[0-9*/,-]+( [0-9*/,-]+){4}$",
        description="When the dump runs (a Kubernetes CronJob schedule, UTC).",
    )


class IntervalBackupConfig(BackupConfig):
    interval_hours: int = Field(default=24, ge=1, le=168, description="Hours between dumps.")


class InClusterMongoConfig(Model):
    """A replica set as a Kubernetes StatefulSet."""

    provider: Literal["inCluster"] = Field(
        default="inCluster",
        description="`inCluster` (Kubernetes StatefulSet), `external` (`url`, secret), `digitalocean` (managed) "
        "or `container` (Docker hosts).",
    )
    namespace: DnsLabel = Field(default="meteor-mongo", description="Namespace of the replica set.")
    members: Literal[1, 3, 5] = Field(default=1, description="Replica set members: 1, 3 or 5.")
    version: MongoVersion = Field(
        default=versions.MONGO_VERSION,
        description=f"{_VERSION} Image `mongo:<version>`, by digest (outside dev, one components/versions.py pins).",
    )
    image: ImageRef | None = Field(
        default=None, description="Override the MongoDB image (by `@sha256:` digest outside dev); must match `version`."
    )
    storage_size: VolumeSize = Field(default="10Gi", description="Volume size per member: 1Gi to 16384Gi.")
    storage_class: DnsSubdomain | None = Field(
        default=None,
        description="Existing StorageClass for the volumes (must reclaim with Retain). Conflicts with `storageProvisioner`.",
    )
    storage_provisioner: CsiDriverName | None = Field(
        default=None,
        description="CSI provisioner for a StorageClass the platform creates with reclaimPolicy Retain (e.g. dobs.csi.digitalocean.com).",
    )
    cpu: Cpu = Field(default="500m", description="CPU request per member: cores or millicores.")
    memory: MongoMemory = Field(default="1Gi", description="Memory request and limit per member: with a unit, 256Mi at least.")
    backup: ScheduledBackupConfig = Field(default_factory=ScheduledBackupConfig.model_construct, description="Scheduled dumps (a CronJob).")

    @property
    def effective_image(self) -> str:
        return self.image or versions.mongo_image(self.version)

    def own_problems(self, problems: Problems) -> None:
        _image_matches_version(self.image, self.version, problems)
        if self.storage_class and self.storage_provisioner:
            problems.bad(
                ["storageProvisioner"], self.storage_provisioner, "expected either mongo.storageClass or mongo.storageProvisioner, not both"
            )
        if not self.storage_class and not self.storage_provisioner:
            problems.missing(
                ["storageProvisioner"],
                "expected the cluster's CSI provisioner (or mongo.storageClass naming a class that reclaims with Retain)",
            )


class ContainerMongoConfig(Model):
    """A single-node replica set as a container on the (only) Docker host."""

    provider: Literal["container"] = Field(default="container")
    cpu: Cpu = Field(default="1", description="CPU limit of the container: cores or millicores.")
    memory: MongoMemory = Field(default="1Gi", description="Memory limit of the container: with a unit, 256Mi at least.")
    backup: IntervalBackupConfig = Field(
        default_factory=IntervalBackupConfig.model_construct, description="Periodic dumps (a container beside MongoDB)."
    )
    version: MongoVersion = Field(
        default=versions.MONGO_VERSION,
        description=f"{_VERSION} Image `mongo:<version>`, by digest (outside dev, one components/versions.py pins).",
    )
    image: ImageRef | None = Field(
        default=None, description="Override the MongoDB image (by `@sha256:` digest outside dev); must match `version`."
    )

    @property
    def effective_image(self) -> str:
        return self.image or versions.mongo_image(self.version)

    def own_problems(self, problems: Problems) -> None:
        _image_matches_version(self.image, self.version, problems)
        if self.backup.retention_days * 24 <= self.backup.interval_hours:
            # A dump stays on the host until shortly before the bucket expires it, and the host prunes once
            # per interval (components/mongo/container.py local_keep_minutes): the retention must be longer.
            problems.bad(
                ["backup", "retentionDays"],
                self.backup.retention_days,
                f"expected more days than mongo.backup.intervalHours ({self.backup.interval_hours}) spans",
            )


class ExternalMongoConfig(Model):
    """A MongoDB the platform does not manage."""

    provider: Literal["external"]
    url: MongoUrl = Field(..., description="MongoDB URL every app uses (secret).")
    oplog_url: MongoUrl | None = Field(default=None, description="Oplog URL (secret), when the service offers it.")


class DigitalOceanMongoConfig(Model):
    """DigitalOcean managed MongoDB, in the stack's VPC."""

    provider: Literal["digitalocean"]
    version: MongoVersion = Field(
        default=versions.MONGO_VERSION, description=f"{_VERSION} DigitalOcean runs the newest release of its major version."
    )
    size: DatabaseSize = Field(default="db-s-1vcpu-2gb", description="Database node size.")
    nodes: int = Field(default=1, ge=1, le=3, description="Database nodes: 1, or 3 (required in production).")
    isolated_apps: list[DnsLabel] = Field(
        default_factory=lambda: [],
        description="Apps that get a database cluster of their own: DigitalOcean gives every database user admin rights, "
        "so apps sharing a cluster are not isolated from each other.",
    )

    def own_problems(self, problems: Problems) -> None:
        if self.nodes == 2:
            problems.bad(["nodes"], 2, "expected 1 or 3 (DigitalOcean MongoDB runs 1 node or a 3-node replica set)")


KubernetesMongoConfig = InClusterMongoConfig | ExternalMongoConfig | DigitalOceanMongoConfig
DockerMongoConfig = ContainerMongoConfig | ExternalMongoConfig | DigitalOceanMongoConfig
MongoConfig = KubernetesMongoConfig | DockerMongoConfig

if TYPE_CHECKING:
    KubernetesMongoSection = KubernetesMongoConfig
else:
    KubernetesMongoSection = tagged(
        "mongo",
        "provider",
        "inCluster",
        {"inCluster": InClusterMongoConfig, "external": ExternalMongoConfig, "digitalocean": DigitalOceanMongoConfig},
        scope="with target 'kubernetes'",
    )
if TYPE_CHECKING:
    DockerMongoSection = DockerMongoConfig
else:
    DockerMongoSection = tagged(
        "mongo",
        "provider",
        "container",
        {"container": ContainerMongoConfig, "external": ExternalMongoConfig, "digitalocean": DigitalOceanMongoConfig},
        scope="with target 'docker'",
    )


def _image_matches_version(image: str | None, version: str, problems: Problems) -> None:
    """An image override obeys the same floor as `version`, and is the version `version` says."""
    if image is None:
        return
    tag = image_tag(image)
    found = re.match(r"(\d+)\.(\d+)", tag or "")
    if found is None:
        problems.bad(
            ["image"],
            image,
            "expected a tag with the MongoDB version, such as mongo:7.0.16 or mongo:7.0.16@sha256:<digest> (the version floor is checked on it)",
        )
        return
    major, minor = int(found.group(1)), int(found.group(2))
    if major < 6:
        problems.bad(["image"], image, "expected MongoDB 6.0 or newer (Meteor 3.5 needs it for change streams)")
    elif tuple(int(p) for p in version.split(".")[:2]) != (major, minor):
        problems.bad(["image"], image, f"expected the version mongo.version says ({version})")


def backups_on(mongo: MongoConfig, storage_offers_backups: bool) -> bool:
    """Whether the replica set the platform runs gets scheduled dumps."""
    if not isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig):
        return False
    return mongo.backup.enabled if mongo.backup.enabled is not None else storage_offers_backups
