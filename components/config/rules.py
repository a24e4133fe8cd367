"""The rules that span sections, one function per rule, each named for what it requires.

A rule about one section alone is that section's validator (its module); these read several
sections, or the environment, and run once every value has its shape (components/config/loading.py).
"""

from __future__ import annotations

from collections.abc import Callable

from components import versions
from components.config.apps import apps_problems
from components.config.availability import availability_problems
from components.config.aws import aws_problems
from components.config.errors import Problems
from components.config.kubernetes import DoksConfig, EksConfig, installs
from components.config.machines import AwsMachinesConfig, DigitalOceanMachinesConfig, NoMachinesConfig
from components.config.mongo import ContainerMongoConfig, DigitalOceanMongoConfig, InClusterMongoConfig
from components.config.observability import ROUTE53_ANSWER_LIMIT_MS
from components.config.platform import (
    SPECIAL_USE_SUFFIXES,
    DockerPlatformConfig,
    Environment,
    KubernetesPlatformConfig,
    PlatformConfig,
    snapshot_volumes,
    uptime_cloud,
)
from components.config.storage import S3Config, SpacesConfig
from components.config.values import is_digest_pinned

Rule = Callable[[PlatformConfig, Problems], None]


def cross_section_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """Every rule that spans sections, in the order the error lines list them."""
    rules: list[Rule] = [*COMMON_RULES, *(AWS_RULES if cfg.uses_aws else [])]
    for rule in rules:
        rule(cfg, problems)
    if isinstance(cfg, KubernetesPlatformConfig):
        for kubernetes_rule in KUBERNETES_TARGET_RULES:
            kubernetes_rule(cfg, problems)
    else:
        for docker_rule in DOCKER_TARGET_RULES:
            docker_rule(cfg, problems)


# ---------------------------------------------------------------------------------------------
# Every target


def mongo_image_pinned_outside_dev(cfg: PlatformConfig, problems: Problems) -> None:
    """A tag can be moved (the official images are rebuilt under the same tag); outside dev the MongoDB
    the platform runs is the image a digest names, like every infrastructure image."""
    mongo = cfg.mongo
    if not isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig) or cfg.environment is Environment.DEV:
        return
    if is_digest_pinned(mongo.effective_image):
        return
    if mongo.image is not None:
        problems.bad(["mongo", "image"], mongo.image, "expected an image pinned by @sha256: digest outside dev")
    else:
        problems.bad(
            ["mongo", "version"],
            mongo.version,
            f"expected a version components/versions.py pins by digest ({', '.join(sorted(versions.MONGO_DIGESTS))}) "
            "or mongo.image pinned by @sha256: digest outside dev",
        )


def managed_mongo_replicated_in_production(cfg: PlatformConfig, problems: Problems) -> None:
    if isinstance(cfg.mongo, DigitalOceanMongoConfig) and cfg.environment is Environment.PRODUCTION and cfg.mongo.nodes < 3:
        problems.bad(["mongo", "nodes"], cfg.mongo.nodes, "expected 3 in production (a highly available replica set)")


def tls_outside_dev(cfg: PlatformConfig, problems: Problems) -> None:
    if not cfg.ingress.serves_tls and cfg.environment is not Environment.DEV:
        problems.bad(["ingress", "tls"], "off", "expected TLS outside dev (sessions need it)")


def apps_rules(cfg: PlatformConfig, problems: Problems) -> None:
    """Within and between apps (components/config/apps.py): their messages name each app's index."""
    apps_problems(
        cfg.apps,
        dev=cfg.environment is Environment.DEV,
        environment=cfg.environment.value,
        s3_storage=isinstance(cfg.storage, S3Config),
        problems=problems,
    )


def isolated_apps_are_apps(cfg: PlatformConfig, problems: Problems) -> None:
    if isinstance(cfg.mongo, DigitalOceanMongoConfig):
        names = {a.name for a in cfg.apps}
        for j, app in enumerate(cfg.mongo.isolated_apps):
            if app not in names:
                problems.bad(["mongo", "isolatedApps", j], app, "expected the name of an app in this stack")


def backups_have_a_place_to_go(cfg: PlatformConfig, problems: Problems) -> None:
    """Dumps go off-site: to a Spaces bucket of their own, or under _backups/mongo/ in the stack's S3 bucket."""
    mongo = cfg.mongo
    if not isinstance(mongo, InClusterMongoConfig | ContainerMongoConfig):
        return
    if mongo.backup.enabled and not isinstance(cfg.storage, SpacesConfig | S3Config):
        problems.bad(
            ["mongo", "backup", "enabled"],
            True,
            f"expected storage.provider 'spaces' or 's3' with it: dumps go off-site to a bucket, and '{cfg.storage.provider}' "
            "keeps files beside the database",
        )
    if mongo.backup.bucket and isinstance(cfg.storage, S3Config):
        problems.bad(
            ["mongo", "backup", "bucket"],
            mongo.backup.bucket,
            "expected it unset with storage.provider 's3': dumps go to the stack's bucket under _backups/mongo/",
        )


def production_stays_protected(cfg: PlatformConfig, problems: Problems) -> None:
    if cfg.environment is Environment.PRODUCTION and cfg.protect is False:
        problems.bad(["protect"], False, "expected true (or unset) in production: stateful resources stay protected from destroy")


def certificates_can_be_issued(cfg: PlatformConfig, problems: Problems) -> None:
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


def production_says_where_alerts_go(cfg: PlatformConfig, problems: Problems) -> None:
    if cfg.alerts is None and cfg.environment is Environment.PRODUCTION:
        problems.missing(
            ["alerts"],
            "expected alert destinations in production: pulumi config set --path 'alerts.emails[0]' ops@example.com "
            "(or a Slack webhook: README Observability), or set alerts to 'none' to run production without alerts",
        )


def latency_threshold_route53_can_report(cfg: PlatformConfig, problems: Problems) -> None:
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


def production_domains_checked_from_outside(cfg: PlatformConfig, problems: Problems) -> None:
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


def mail_url_only_for_the_cluster_watcher(cfg: PlatformConfig, problems: Problems) -> None:
    alerts = cfg.alerts
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


def services_offered_where_created(cfg: PlatformConfig, problems: Problems) -> None:
    """Regions and machine images that offer what the stack creates (components/config/availability.py)."""
    availability_problems(cfg, cfg.kubernetes if isinstance(cfg, KubernetesPlatformConfig) else None, problems)


COMMON_RULES: list[Rule] = [
    mongo_image_pinned_outside_dev,
    managed_mongo_replicated_in_production,
    tls_outside_dev,
    apps_rules,
    isolated_apps_are_apps,
    backups_have_a_place_to_go,
    production_stays_protected,
    certificates_can_be_issued,
    production_says_where_alerts_go,
    latency_threshold_route53_can_report,
    production_domains_checked_from_outside,
    mail_url_only_for_the_cluster_watcher,
    services_offered_where_created,
]


# ---------------------------------------------------------------------------------------------
# Stacks that use AWS


def aws_network_fits(cfg: PlatformConfig, problems: Problems) -> None:
    """The `aws` section is checked only where the stack uses AWS (components/config/aws.py)."""
    aws_problems(cfg.aws, problems)


def snapshots_have_a_volume(cfg: PlatformConfig, problems: Problems) -> None:
    if cfg.aws.snapshots.enabled and snapshot_volumes(cfg) is None:
        problems.bad(
            ["aws", "snapshots", "enabled"],
            True,
            "expected an EBS data volume to snapshot: mongo.provider 'inCluster' with mongo.storageProvisioner "
            "'ebs.csi.aws.com' on EKS, or machines.provider 'aws' with target 'docker'",
        )


def production_eks_chooses_its_snapshots(cfg: PlatformConfig, problems: Problems) -> None:
    """Production snapshots by default, but only the volumes the platform's own StorageClass tags can be
    targeted: rather than silently none, the operator chooses."""
    if (
        cfg.aws.snapshots.enabled is None
        and cfg.environment is Environment.PRODUCTION
        and isinstance(cfg, KubernetesPlatformConfig)
        and isinstance(cfg.kubernetes, EksConfig)
        and isinstance(cfg.mongo, InClusterMongoConfig)
        and snapshot_volumes(cfg) is None
    ):
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


def eks_node_in_every_zone(cfg: PlatformConfig, problems: Problems) -> None:
    """One node group per zone, the totals split across them (components/kubernetes/aws_nodes.py): each
    zone keeps a node, where the system pods and the zone's MongoDB volumes always find one."""
    if not (isinstance(cfg, KubernetesPlatformConfig) and isinstance(cfg.kubernetes, EksConfig)):
        return
    existing = cfg.aws.vpc.existing
    zones = len(existing.private_subnet_ids) if existing is not None else len(cfg.aws.vpc.availability_zones)
    if cfg.kubernetes.min_nodes < zones:
        problems.bad(
            ["kubernetes", "minNodes"],
            cfg.kubernetes.min_nodes,
            f"expected at least {zones}, one node per zone: EKS nodes run in one node group per zone ({zones} here), "
            "and kubernetes.minNodes and maxNodes are totals split evenly across them",
        )


def s3_and_ecr_reached_through_iam_roles(cfg: PlatformConfig, problems: Problems) -> None:
    """S3 storage and ECR are wired to EKS's IAM roles (Kubernetes) or the EC2 hosts' instance role (Docker)."""
    if isinstance(cfg, KubernetesPlatformConfig):
        if isinstance(cfg.kubernetes, EksConfig):
            return
        expected = "expected kubernetes.provider 'eks' with it (apps and nodes reach it through their IAM roles)"
    else:
        if isinstance(cfg.machines, AwsMachinesConfig):
            return
        expected = "expected machines.provider 'aws' with it (on Docker hosts it is wired to the EC2 hosts' instance role)"
    for key, chosen in (("storage", isinstance(cfg.storage, S3Config)), ("registry", cfg.registry.provider == "ecr")):
        if chosen:
            problems.bad([key, "provider"], "s3" if key == "storage" else "ecr", expected)


def one_ec2_docker_host(cfg: PlatformConfig, problems: Problems) -> None:
    if isinstance(cfg, DockerPlatformConfig) and isinstance(cfg.machines, AwsMachinesConfig) and cfg.machines.count > 1:
        problems.bad(
            ["machines", "count"],
            cfg.machines.count,
            "expected 1 on AWS with target 'docker': several hosts need a load balancer in front, which this platform does not build on AWS yet",
        )


AWS_RULES: list[Rule] = [
    aws_network_fits,
    snapshots_have_a_volume,
    production_eks_chooses_its_snapshots,
    eks_node_in_every_zone,
    s3_and_ecr_reached_through_iam_roles,
    one_ec2_docker_host,
]


# ---------------------------------------------------------------------------------------------
# Target 'kubernetes'


def platform_ingress_controller_is_traefik(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    if installs(cfg.kubernetes, "ingress_controller") and cfg.ingress.controller != "traefik":
        problems.bad(
            ["ingress", "controller"],
            cfg.ingress.controller,
            "expected 'traefik' when the platform installs the ingress controller (or kubernetes.addons.ingressController false)",
        )


def platform_cluster_issuer_has_an_account(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    if installs(cfg.kubernetes, "cert_manager") and cfg.ingress.tls == "certManager" and cfg.ingress.acme_email is None:
        problems.missing(["ingress", "acmeEmail"], "expected a Let's Encrypt account email for the ClusterIssuer the platform installs")


def managed_mongo_beside_doks(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    if isinstance(cfg.mongo, DigitalOceanMongoConfig) and not isinstance(cfg.kubernetes, DoksConfig):
        problems.bad(
            ["mongo", "provider"],
            "digitalocean",
            "expected kubernetes.provider 'doks' with it (its firewall admits only the stack's own cluster)",
        )


def cluster_stack_machines_have_a_purpose(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    if isinstance(cfg.machines, DigitalOceanMachinesConfig) and not cfg.machines.purpose:
        problems.missing(
            ["machines", "purpose"],
            "expected what these machines are for: no app runs on them with target 'kubernetes' (or remove them)",
        )


def app_namespaces_of_their_own(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    seen: dict[str, int] = {}
    for i, app in enumerate(cfg.apps):
        if app.k8s_namespace in seen:
            problems.bad(
                ["apps", i, "namespace"], app.k8s_namespace, f"expected a namespace of its own (apps[{seen[app.k8s_namespace]}] uses it)"
            )
        seen.setdefault(app.k8s_namespace, i)
        if isinstance(cfg.mongo, InClusterMongoConfig) and app.k8s_namespace == cfg.mongo.namespace:
            problems.bad(["apps", i, "namespace"], app.k8s_namespace, "expected a namespace other than mongo.namespace")


KUBERNETES_TARGET_RULES: list[Callable[[KubernetesPlatformConfig, Problems], None]] = [
    platform_ingress_controller_is_traefik,
    platform_cluster_issuer_has_an_account,
    managed_mongo_beside_doks,
    cluster_stack_machines_have_a_purpose,
    app_namespaces_of_their_own,
]


# ---------------------------------------------------------------------------------------------
# Target 'docker'


def machines_for_machine_hosts(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.docker.hosts == "machines" and isinstance(cfg.machines, NoMachinesConfig):
        problems.missing(["machines", "provider"], "expected cloud machines because docker.hosts is 'machines'")


def managed_mongo_beside_machines(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if isinstance(cfg.mongo, DigitalOceanMongoConfig) and cfg.docker.hosts != "machines":
        problems.bad(
            ["mongo", "provider"],
            "digitalocean",
            "expected docker.hosts 'machines' with it (its firewall admits only the stack's own machines)",
        )


def several_hosts_share_managed_services(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.host_count <= 1:
        return
    for section, kind in (("mongo", isinstance(cfg.mongo, ContainerMongoConfig)), ("storage", cfg.storage.provider == "minio")):
        if kind:
            problems.bad(
                [section, "provider"],
                "container" if section == "mongo" else "minio",
                "expected a managed or external service with more than one host (a container lives on one host)",
            )


def every_host_runs_what_it_serves(cfg: DockerPlatformConfig, problems: Problems) -> None:
    hosts = cfg.host_count
    if hosts <= 1:
        return
    callers: dict[str, list[str]] = {}
    for app in cfg.apps:
        for target in dict.fromkeys(app.connects_to):
            callers.setdefault(target, []).append(app.name)
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


def acme_challenge_reaches_port_80(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.ingress.serves_tls and cfg.docker.http_port != 80:
        problems.bad(["docker", "httpPort"], cfg.docker.http_port, "expected 80: Let's Encrypt's HTTP-01 challenge comes to port 80")


def machine_ports_the_firewall_opens(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.docker.hosts != "machines":
        return
    d = cfg.docker
    for key, port, opened in (("httpPort", d.http_port, 80), ("httpsPort", d.https_port, 443)):
        if port != opened and not (key == "httpPort" and cfg.ingress.serves_tls):
            problems.bad(["docker", key], port, f"expected {opened}: the machines' firewall opens 80 and 443 only")


def several_hosts_without_reserved_ip(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.host_count > 1 and isinstance(cfg.machines, DigitalOceanMachinesConfig) and cfg.machines.reserved_ip:
        problems.bad(["machines", "reservedIp"], True, "expected false with several hosts: their load balancer is the entry point")


def single_host_tls_has_an_account(cfg: DockerPlatformConfig, problems: Problems) -> None:
    if cfg.ingress.serves_tls and cfg.host_count == 1 and cfg.docker.acme_email is None:
        problems.missing(["docker", "acmeEmail"], "expected a Let's Encrypt account email because ingress.tls is not 'off'")


DOCKER_TARGET_RULES: list[Callable[[DockerPlatformConfig, Problems], None]] = [
    machines_for_machine_hosts,
    managed_mongo_beside_machines,
    several_hosts_share_managed_services,
    every_host_runs_what_it_serves,
    acme_challenge_reaches_port_80,
    machine_ports_the_firewall_opens,
    several_hosts_without_reserved_ip,
    single_host_tls_has_an_account,
]
