"""The whole stack config: `target` chooses which sections and app keys exist.

`KubernetesPlatformConfig` and `DockerPlatformConfig` share the account-wide sections; each has
its own `mongo`, `storage`, `registry`, `ingress` and `apps` unions, so a Kubernetes-only key
under `target: docker` (or the reverse) is an unknown key by construction. The rules that span
sections are in rules.py; each section's own rules are its validators.
"""

from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components.config.apps import DockerAppConfig, KubernetesAppConfig
from components.config.aws import AwsConfig
from components.config.digitalocean import DigitalOceanConfig
from components.config.docker import DockerSection, LocalDockerConfig, MachineDockerConfig
from components.config.ingress import DockerIngressConfig, KubernetesIngressConfig
from components.config.kubernetes import DoksConfig, EksConfig, ExistingKubernetesConfig, KubernetesSection
from components.config.machines import AwsMachinesConfig, DigitalOceanMachinesConfig, MachinesSection, NoMachinesConfig
from components.config.mongo import (
    ContainerMongoConfig,
    DigitalOceanMongoConfig,
    DockerMongoSection,
    InClusterMongoConfig,
    KubernetesMongoSection,
)
from components.config.observability import AlertsSection, LogsConfig
from components.config.registry import DockerRegistrySection, KubernetesRegistrySection, NoRegistryConfig
from components.config.release import PromotionConfig
from components.config.review import CostReviewConfig
from components.config.storage import DockerStorageSection, GridFsConfig, KubernetesStorageSection, S3Config, SpacesConfig
from components.config.unions import tagged
from components.config.values import Model


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


class PlatformBase(Model):
    environment: Environment = Field(..., description="`dev`, `staging` or `production`: sets the safety defaults.")
    target: str
    protect: bool | None = Field(
        default=None,
        description="Protect stateful resources from `pulumi destroy` and replacement; default true in production, where it cannot be turned off.",
    )
    digitalocean: DigitalOceanConfig = Field(
        default_factory=DigitalOceanConfig.model_construct, description="DigitalOcean account settings."
    )
    aws: AwsConfig = Field(default_factory=AwsConfig.model_construct, description="AWS account settings.")
    machines: MachinesSection = Field(default_factory=NoMachinesConfig.model_construct, description="Docker host machines.")
    promotion: PromotionConfig = Field(default_factory=PromotionConfig.model_construct, description="Deploy the images another stack runs.")
    alerts: AlertsSection = Field(
        default=None, description="Where every alert goes (emails, a Slack webhook), or `none`; production must say one or the other."
    )
    logs: LogsConfig = Field(default_factory=LogsConfig.model_construct, description="Where the apps' logs are kept and for how long.")
    cost_review: CostReviewConfig = Field(
        default_factory=CostReviewConfig.model_construct,
        description="How the pull-request comment judges the monthly cost a change adds (README: Cost); creates nothing.",
    )

    @property
    def alerts_on_aws(self) -> bool:
        """The stack names AWS for its uptime checks (`alerts.uptimeChecks`), whatever else it runs on."""
        return self.alerts is not None and self.alerts.uptime_checks == "aws"

    @property
    def protect_stateful(self) -> bool:
        return self.protect if self.protect is not None else self.environment is Environment.PRODUCTION


class KubernetesPlatformConfig(PlatformBase):
    """Apps on a Kubernetes cluster."""

    target: Literal["kubernetes"] = Field(  # pyright: ignore[reportIncompatibleVariableOverride]
        default="kubernetes", description="Where apps run: `kubernetes` or `docker` (plain Docker hosts behind Traefik)."
    )
    kubernetes: KubernetesSection = Field(default_factory=ExistingKubernetesConfig.model_construct, description="Cluster to deploy to.")
    mongo: KubernetesMongoSection = Field(default_factory=InClusterMongoConfig.model_construct, description="MongoDB.")
    storage: KubernetesStorageSection = Field(default_factory=GridFsConfig.model_construct, description="File storage.")
    registry: KubernetesRegistrySection = Field(default_factory=NoRegistryConfig.model_construct, description="Container registry.")
    ingress: KubernetesIngressConfig = Field(default_factory=KubernetesIngressConfig.model_construct, description="Exposure over TLS.")
    apps: list[KubernetesAppConfig] = Field(..., min_length=1, description="The Meteor apps of this stack.")

    @property
    def uses_digitalocean(self) -> bool:
        return (
            isinstance(self.kubernetes, DoksConfig)
            or isinstance(self.mongo, DigitalOceanMongoConfig)
            or isinstance(self.storage, SpacesConfig)
            or self.registry.provider == "digitalocean"
            or isinstance(self.machines, DigitalOceanMachinesConfig)
        )

    @property
    def http_forwarded_count(self) -> int:
        """Proxies that add to X-Forwarded-For before an app: the ingress controller, and on an existing
        cluster the HTTP proxies in front of it. DOKS's load balancer speaks PROXY protocol and EKS's NLB
        keeps the client address (components/kubernetes/addons.py): neither adds a header."""
        return 1 + (self.kubernetes.front_proxies if isinstance(self.kubernetes, ExistingKubernetesConfig) else 0)

    @property
    def uses_aws(self) -> bool:
        return (
            self.alerts_on_aws
            or isinstance(self.kubernetes, EksConfig)
            or isinstance(self.storage, S3Config)
            or self.registry.provider == "ecr"
            or isinstance(self.machines, AwsMachinesConfig)
        )


class DockerPlatformConfig(PlatformBase):
    """Apps as containers on Docker hosts behind Traefik."""

    target: Literal["docker"]  # pyright: ignore[reportIncompatibleVariableOverride]
    docker: DockerSection = Field(default_factory=LocalDockerConfig.model_construct, description="Docker-host target.")
    mongo: DockerMongoSection = Field(default_factory=ContainerMongoConfig.model_construct, description="MongoDB.")
    storage: DockerStorageSection = Field(default_factory=GridFsConfig.model_construct, description="File storage.")
    registry: DockerRegistrySection = Field(default_factory=NoRegistryConfig.model_construct, description="Container registry.")
    ingress: DockerIngressConfig = Field(default_factory=DockerIngressConfig.model_construct, description="Exposure over TLS.")
    apps: list[DockerAppConfig] = Field(..., min_length=1, description="The Meteor apps of this stack.")

    @property
    def uses_digitalocean(self) -> bool:
        return (
            isinstance(self.mongo, DigitalOceanMongoConfig)
            or isinstance(self.storage, SpacesConfig)
            or isinstance(self.machines, DigitalOceanMachinesConfig)
            or self.registry.provider == "digitalocean"
        )

    @property
    def uses_aws(self) -> bool:
        return (
            self.alerts_on_aws
            or isinstance(self.storage, S3Config)
            or self.registry.provider == "ecr"
            or isinstance(self.machines, AwsMachinesConfig)
        )

    @property
    def http_forwarded_count(self) -> int:
        """The hosts' Traefik: with several hosts the load balancer in front hands it the client address by
        PROXY protocol, and Traefik trusts forwarded headers only from `forwardedHeaders.trustedIPs`,
        which the hosts' entry point does not set (components/docker/proxy.py; doc.traefik.io
        routing/entrypoints "Forwarded Headers"): the balancer's X-Forwarded-For is replaced."""
        return 1

    @property
    def host_count(self) -> int:
        if isinstance(self.docker, MachineDockerConfig) and isinstance(self.machines, DigitalOceanMachinesConfig | AwsMachinesConfig):
            return self.machines.count
        return 1


PlatformConfig = KubernetesPlatformConfig | DockerPlatformConfig
if TYPE_CHECKING:
    PlatformSection = PlatformConfig
else:
    PlatformSection = tagged("", "target", "kubernetes", {"kubernetes": KubernetesPlatformConfig, "docker": DockerPlatformConfig})


def uptime_cloud(cfg: PlatformConfig) -> Literal["digitalocean", "aws"] | None:
    """Which cloud runs the stack's uptime checks: `alerts.uptimeChecks`, else the stack's own cloud."""
    chosen = cfg.alerts.uptime_checks if cfg.alerts is not None else None
    if chosen == "none":
        return None
    if chosen is not None:
        return chosen
    if cfg.uses_aws:
        return "aws"
    if cfg.uses_digitalocean:
        return "digitalocean"
    return None


# Special-use names (RFC 6761, 6762, 7686, 8375, and names ICANN reserves for private use): no
# public certificate authority issues a certificate for them.
SPECIAL_USE_SUFFIXES = ("localhost", "local", "test", "example", "invalid", "internal", "onion", "home.arpa", "lan", "corp", "home")


def snapshot_volumes(cfg: PlatformConfig) -> Literal["mongo", "host"] | None:
    """Which EBS data volumes the stack's scheduled snapshots cover: MongoDB's on EKS (the StorageClass the
    platform creates tags them), or the Docker host's data volume; None when the stack has neither."""
    if (
        isinstance(cfg, KubernetesPlatformConfig)
        and isinstance(cfg.kubernetes, EksConfig)
        and isinstance(cfg.mongo, InClusterMongoConfig)
        and cfg.mongo.storage_provisioner == "ebs.csi.aws.com"
    ):
        return "mongo"
    if (
        isinstance(cfg, DockerPlatformConfig)
        and isinstance(cfg.docker, MachineDockerConfig)
        and isinstance(cfg.machines, AwsMachinesConfig)
    ):
        return "host"
    return None


def snapshots_on(cfg: PlatformConfig) -> bool:
    """Scheduled EBS snapshots: as configured, else in production, when there is a data volume to snapshot."""
    enabled = cfg.aws.snapshots.enabled
    wanted = enabled if enabled is not None else cfg.environment is Environment.PRODUCTION
    return wanted and snapshot_volumes(cfg) is not None
