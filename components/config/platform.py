"""The whole stack config: `target` chooses which sections and app keys exist.

`KubernetesPlatformConfig` and `DockerPlatformConfig` share the account-wide sections; each has
its own `mongo`, `storage`, `registry`, `ingress` and `apps` unions, so a Kubernetes-only key
under `target: docker` (or the reverse) is an unknown key by construction. The rules here span
sections; each section module holds its own.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components.config.apps import DockerAppConfig, KubernetesAppConfig, apps_problems
from components.config.availability import availability_problems
from components.config.aws import AwsConfig, aws_problems
from components.config.digitalocean import DigitalOceanConfig
from components.config.docker import DockerSection, LocalDockerConfig, MachineDockerConfig
from components.config.errors import Problems
from components.config.ingress import DockerIngressConfig, KubernetesIngressConfig, ingress_problems
from components.config.kubernetes import DoksConfig, EksConfig, ExistingKubernetesConfig, KubernetesSection, installs, kubernetes_problems
from components.config.machines import AwsMachinesConfig, DigitalOceanMachinesConfig, MachinesSection, NoMachinesConfig, machines_problems
from components.config.mongo import (
    ContainerMongoConfig,
    DigitalOceanMongoConfig,
    DockerMongoSection,
    InClusterMongoConfig,
    KubernetesMongoSection,
    mongo_problems,
)
from components.config.observability import ROUTE53_ANSWER_LIMIT_MS, AlertsSection, LogsConfig, observability_problems
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
    digitalocean: DigitalOceanConfig = Field(default_factory=DigitalOceanConfig, description="DigitalOcean account settings.")
    aws: AwsConfig = Field(default_factory=AwsConfig, description="AWS account settings.")
    machines: MachinesSection = Field(default_factory=NoMachinesConfig, description="Docker host machines.")
    promotion: PromotionConfig = Field(default_factory=PromotionConfig, description="Deploy the images another stack runs.")
    alerts: AlertsSection = Field(
        default=None, description="Where every alert goes (emails, a Slack webhook), or `none`; production must say one or the other."
    )
    logs: LogsConfig = Field(default_factory=LogsConfig, description="Where the apps' logs are kept and for how long.")
    cost_review: CostReviewConfig = Field(
        default_factory=CostReviewConfig,
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
    kubernetes: KubernetesSection = Field(default_factory=ExistingKubernetesConfig, description="Cluster to deploy to.")
    mongo: KubernetesMongoSection = Field(default_factory=InClusterMongoConfig, description="MongoDB.")
    storage: KubernetesStorageSection = Field(default_factory=GridFsConfig, description="File storage.")
    registry: KubernetesRegistrySection = Field(default_factory=NoRegistryConfig, description="Container registry.")
    ingress: KubernetesIngressConfig = Field(default_factory=KubernetesIngressConfig, description="Exposure over TLS.")
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
    docker: DockerSection = Field(default_factory=LocalDockerConfig, description="Docker-host target.")
    mongo: DockerMongoSection = Field(default_factory=ContainerMongoConfig, description="MongoDB.")
    storage: DockerStorageSection = Field(default_factory=GridFsConfig, description="File storage.")
    registry: DockerRegistrySection = Field(default_factory=NoRegistryConfig, description="Container registry.")
    ingress: DockerIngressConfig = Field(default_factory=DockerIngressConfig, description="Exposure over TLS.")
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


def platform_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """Every rule of every section, then the rules that span sections."""
    production = cfg.environment is Environment.PRODUCTION
    dev = cfg.environment is Environment.DEV
    mongo_problems(cfg.mongo, production, problems, dev=dev)
    machines_problems(cfg.machines, problems)
    ingress_problems(cfg.ingress, dev, problems)
    apps_problems(cfg.apps, dev=dev, environment=cfg.environment.value, s3_storage=isinstance(cfg.storage, S3Config), problems=problems)
    _policy_problems(cfg, problems)
    observability_problems(cfg.alerts, production, problems)
    _uptime_problems(cfg, problems)
    _alerting_problems(cfg, problems)
    availability_problems(cfg, cfg.kubernetes if isinstance(cfg, KubernetesPlatformConfig) else None, problems)
    if cfg.uses_aws:
        aws_problems(cfg.aws, problems)
        _aws_problems(cfg, problems)
    if isinstance(cfg, KubernetesPlatformConfig):
        _kubernetes_target_problems(cfg, problems)
    else:
        _docker_target_problems(cfg, problems)


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


def _uptime_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """A latency threshold the uptime checks' cloud can report (components/config/observability.py ROUTE53_ANSWER_LIMIT_MS)."""
    latency = cfg.alerts.thresholds.latency_ms if cfg.alerts is not None else None
    if latency is not None and latency >= ROUTE53_ANSWER_LIMIT_MS and uptime_cloud(cfg) == "aws":
        problems.bad(
            ["alerts", "thresholds", "latencyMs"],
            latency,
            f"expected less than {ROUTE53_ANSWER_LIMIT_MS} (or unset: 1500) when Route 53 checks the domains (alerts.uptimeChecks "
            f"'aws', the default of a stack that uses AWS): Route 53 counts an answer slower than 2 seconds as a failed check, "
            "so the slow alarm could never fire before the down alarm",
        )


def _alerting_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """Checks and alert keys that what the stack runs can honour."""
    from components.observability import public_endpoints

    alerts = cfg.alerts
    if cfg.environment is Environment.PRODUCTION and public_endpoints(cfg) and uptime_cloud(cfg) is None:
        # The policy public-domains-uptime-checked refuses it too, but only where the pack runs.
        problems.bad(
            ["alerts", "uptimeChecks"],
            alerts.uptime_checks if alerts is not None and alerts.uptime_checks is not None else None,
            "expected 'digitalocean' or 'aws' in production, with alerts.emails or alerts.slack: no cloud of this stack "
            "checks its public domains from outside otherwise (README: Observability)",
        )
    if alerts is None or alerts.mail_url is None:
        return
    in_cluster_watcher = isinstance(cfg, KubernetesPlatformConfig) and not isinstance(cfg.kubernetes, EksConfig)
    if not in_cluster_watcher:
        problems.line(
            ["alerts", "mailUrl"],
            "got a value that nothing would use (hidden); expected it unset: only the in-cluster watcher (DOKS and existing "
            "clusters) sends email through it, and this stack's alerts are its cloud's, which mail alerts.emails themselves",
        )
    elif not alerts.emails:
        problems.line(["alerts", "mailUrl"], "got a value (hidden) but no alerts.emails to send to; expected alerts.emails with it")


# Special-use names (RFC 6761, 6762, 7686, 8375, and names ICANN reserves for private use): no
# public certificate authority issues a certificate for them.
SPECIAL_USE_SUFFIXES = ("localhost", "local", "test", "example", "invalid", "internal", "onion", "home.arpa", "lan", "corp", "home")


def _policy_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """What the stack files promise: production keeps its data, and certificates can be issued."""
    mongo = cfg.mongo
    if isinstance(mongo, DigitalOceanMongoConfig):
        names = {a.name for a in cfg.apps}
        for j, app in enumerate(mongo.isolated_apps):
            if app not in names:
                problems.bad(["mongo", "isolatedApps", j], app, "expected the name of an app in this stack")
    if (
        isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig)
        and mongo.backup.enabled
        and not isinstance(cfg.storage, SpacesConfig | S3Config)
    ):
        problems.bad(
            ["mongo", "backup", "enabled"],
            True,
            f"expected storage.provider 'spaces' or 's3' with it: dumps go off-site to a bucket, and '{cfg.storage.provider}' "
            "keeps files beside the database",
        )
    if isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig) and mongo.backup.bucket and isinstance(cfg.storage, S3Config):
        problems.bad(
            ["mongo", "backup", "bucket"],
            mongo.backup.bucket,
            "expected it unset with storage.provider 's3': dumps go to the stack's bucket under _backups/mongo/",
        )
    if cfg.environment is Environment.PRODUCTION and cfg.protect is False:
        problems.bad(["protect"], False, "expected true (or unset) in production: stateful resources stay protected from destroy")
    issues_certificates = cfg.ingress.tls == "certManager"
    for i, app in enumerate(cfg.apps):
        if app.domain is None or not (issues_certificates or cfg.environment is Environment.PRODUCTION):
            continue
        suffix = next((t for t in SPECIAL_USE_SUFFIXES if app.domain == t or app.domain.endswith("." + t)), None)
        if suffix is not None:
            problems.bad(
                ["apps", i, "domain"],
                app.domain,
                f"expected a public domain: no certificate authority issues for .{suffix} names (use it in dev with ingress.tls 'off')",
            )


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


def _aws_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """AWS pieces that need each other: pod identity needs EKS; EC2 hosts need the docker target's machines."""
    if cfg.aws.snapshots.enabled and snapshot_volumes(cfg) is None:
        problems.bad(
            ["aws", "snapshots", "enabled"],
            True,
            "expected an EBS data volume to snapshot: mongo.provider 'inCluster' with mongo.storageProvisioner "
            "'ebs.csi.aws.com' on EKS, or machines.provider 'aws' with target 'docker'",
        )
    if (
        cfg.aws.snapshots.enabled is None
        and cfg.environment is Environment.PRODUCTION
        and isinstance(cfg, KubernetesPlatformConfig)
        and isinstance(cfg.kubernetes, EksConfig)
        and isinstance(cfg.mongo, InClusterMongoConfig)
        and snapshot_volumes(cfg) is None
    ):
        # Production snapshots by default, but only the volumes the platform's own StorageClass tags can be
        # targeted: rather than silently none, the operator chooses.
        key, given = (
            ("storageClass", cfg.mongo.storage_class) if cfg.mongo.storage_class else ("storageProvisioner", cfg.mongo.storage_provisioner)
        )
        problems.bad(
            ["mongo", key],
            given,
            "expected mongo.storageProvisioner 'ebs.csi.aws.com' in production on EKS: scheduled EBS snapshots "
            "(aws.snapshots) cover only the volumes of the StorageClass the platform creates; or set "
            "aws.snapshots.enabled false to run without them (README: Backups and restore)",
        )
    if isinstance(cfg, KubernetesPlatformConfig) and isinstance(cfg.kubernetes, EksConfig):
        # One node group per zone, the totals split across them (components/kubernetes/aws_nodes.py): each
        # zone keeps a node, where the system pods and the zone's MongoDB volumes always find one.
        existing = cfg.aws.vpc.existing
        zones = len(existing.private_subnet_ids) if existing is not None else len(cfg.aws.vpc.availability_zones)
        if cfg.kubernetes.min_nodes < zones:
            problems.bad(
                ["kubernetes", "minNodes"],
                cfg.kubernetes.min_nodes,
                f"expected at least {zones}, one node per zone: EKS nodes run in one node group per zone ({zones} here), "
                "and kubernetes.minNodes and maxNodes are totals split evenly across them",
            )
    if isinstance(cfg, KubernetesPlatformConfig) and not isinstance(cfg.kubernetes, EksConfig):
        for key, chosen in (("storage", isinstance(cfg.storage, S3Config)), ("registry", cfg.registry.provider == "ecr")):
            if chosen:
                problems.bad(
                    [key, "provider"],
                    "s3" if key == "storage" else "ecr",
                    "expected kubernetes.provider 'eks' with it (apps and nodes reach it through their IAM roles)",
                )
    if isinstance(cfg, DockerPlatformConfig) and isinstance(cfg.machines, AwsMachinesConfig) and cfg.machines.count > 1:
        problems.bad(
            ["machines", "count"],
            cfg.machines.count,
            "expected 1 on AWS with target 'docker': several hosts need a load balancer in front, which this platform does not build on AWS yet",
        )
    if isinstance(cfg, DockerPlatformConfig) and not isinstance(cfg.machines, AwsMachinesConfig):
        for key, chosen in (("storage", isinstance(cfg.storage, S3Config)), ("registry", cfg.registry.provider == "ecr")):
            if chosen:
                problems.bad(
                    [key, "provider"],
                    "s3" if key == "storage" else "ecr",
                    "expected machines.provider 'aws' with it (on Docker hosts it is wired to the EC2 hosts' instance role)",
                )


def _kubernetes_target_problems(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    kubernetes_problems(cfg.kubernetes, problems)
    if installs(cfg.kubernetes, "ingress_controller") and cfg.ingress.controller != "traefik":
        problems.bad(
            ["ingress", "controller"],
            cfg.ingress.controller,
            "expected 'traefik' when the platform installs the ingress controller (or kubernetes.addons.ingressController false)",
        )
    if installs(cfg.kubernetes, "cert_manager") and cfg.ingress.tls == "certManager" and cfg.ingress.acme_email is None:
        problems.missing(["ingress", "acmeEmail"], "expected a Let's Encrypt account email for the ClusterIssuer the platform installs")
    if isinstance(cfg.mongo, DigitalOceanMongoConfig) and not isinstance(cfg.kubernetes, DoksConfig):
        problems.bad(
            ["mongo", "provider"],
            "digitalocean",
            "expected kubernetes.provider 'doks' with it (its firewall admits only the stack's own cluster)",
        )
    if isinstance(cfg.machines, DigitalOceanMachinesConfig) and not cfg.machines.purpose:
        problems.missing(
            ["machines", "purpose"],
            "expected what these machines are for: no app runs on them with target 'kubernetes' (or remove them)",
        )
    seen: dict[str, int] = {}
    for i, app in enumerate(cfg.apps):
        if app.k8s_namespace in seen:
            problems.bad(
                ["apps", i, "namespace"], app.k8s_namespace, f"expected a namespace of its own (apps[{seen[app.k8s_namespace]}] uses it)"
            )
        seen.setdefault(app.k8s_namespace, i)
        if isinstance(cfg.mongo, InClusterMongoConfig) and app.k8s_namespace == cfg.mongo.namespace:
            problems.bad(["apps", i, "namespace"], app.k8s_namespace, "expected a namespace other than mongo.namespace")


def _docker_target_problems(cfg: DockerPlatformConfig, problems: Problems) -> None:
    on_machines = isinstance(cfg.docker, MachineDockerConfig)
    if on_machines and isinstance(cfg.machines, NoMachinesConfig):
        problems.missing(["machines", "provider"], "expected cloud machines because docker.hosts is 'machines'")
    if isinstance(cfg.mongo, DigitalOceanMongoConfig) and not on_machines:
        problems.bad(
            ["mongo", "provider"],
            "digitalocean",
            "expected docker.hosts 'machines' with it (its firewall admits only the stack's own machines)",
        )
    hosts = cfg.host_count
    if hosts > 1:
        for section, kind in (("mongo", isinstance(cfg.mongo, ContainerMongoConfig)), ("storage", cfg.storage.provider == "minio")):
            if kind:
                problems.bad(
                    [section, "provider"],
                    "container" if section == "mongo" else "minio",
                    "expected a managed or external service with more than one host (a container lives on one host)",
                )
        callers = {target: [a.name for a in cfg.apps if target in a.connects_to] for target in {t for a in cfg.apps for t in a.connects_to}}
        for i, app in enumerate(cfg.apps):
            if app.replicas >= hosts:
                continue
            if app.domain:
                why = "every host's proxy serves the app's domain, so each host runs an instance"
            elif app.name in callers:
                # Siblings resolve the app by name on their own host's bridge network, which ends at the host.
                why = f"{', '.join(callers[app.name])} reach it on their own host's network, so each host runs an instance"
            else:
                continue
            problems.bad(["apps", i, "replicas"], app.replicas, f"expected at least {hosts}: {why}")
    _port_problems(cfg, on_machines, problems)
    if hosts > 1 and isinstance(cfg.machines, DigitalOceanMachinesConfig) and cfg.machines.reserved_ip:
        problems.bad(["machines", "reservedIp"], True, "expected false with several hosts: their load balancer is the entry point")
    if cfg.ingress.serves_tls and hosts == 1 and cfg.docker.acme_email is None:
        problems.missing(["docker", "acmeEmail"], "expected a Let's Encrypt account email because ingress.tls is not 'off'")


SSH_PORT = 22


def _port_problems(cfg: DockerPlatformConfig, on_machines: bool, problems: Problems) -> None:
    d = cfg.docker
    if d.http_port == d.https_port:
        problems.bad(["docker", "httpsPort"], d.https_port, "expected a port other than docker.httpPort (both are published on the host)")
    for key, port in (("httpPort", d.http_port), ("httpsPort", d.https_port)):
        if port == SSH_PORT:
            problems.bad(["docker", key], port, "expected a port other than 22: SSH listens there on the host")
    if cfg.ingress.serves_tls and d.http_port != 80:
        problems.bad(["docker", "httpPort"], d.http_port, "expected 80: Let's Encrypt's HTTP-01 challenge comes to port 80")
    if on_machines:
        for key, port, opened in (("httpPort", d.http_port, 80), ("httpsPort", d.https_port, 443)):
            if port != opened and not (key == "httpPort" and cfg.ingress.serves_tls):
                problems.bad(["docker", key], port, f"expected {opened}: the machines' firewall opens 80 and 443 only")
