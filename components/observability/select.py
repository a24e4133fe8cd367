"""Which observability components a stack gets, and building them.

    choose(config, destinations, facts) -> Choice    pure: what the stack gets
    ship_container_logs(config, facts, opts)          EC2 Docker hosts' log group, before the apps log into it
    watch(config, destinations, facts, opts)          everything else, once the rest of the stack exists

What the other capabilities contribute (instances, a cluster, droplet tags, database ids, the host
with the data volume) comes in as values in `WatchFacts`. An implementation module is imported only
when the choice needs it, so a stack loads only the provider SDKs it uses (tests/test_aws.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar

import pulumi

from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig
from components.config.machines import AwsMachinesConfig
from components.observability import (
    AlertDestinations,
    DataVolumeHost,
    DoksNodes,
    Ec2Hosts,
    EksCluster,
    PublicEndpoint,
    TaggedDroplets,
    public_endpoints,
    uptime_cloud,
)

if TYPE_CHECKING:
    from components.docker import DockerHost
    from components.kubernetes import StackCluster
    from components.machines import StackMachines
    from components.mongo import StackMongo
    from components.observability.aws_cluster import ClusterInsights
    from components.observability.aws_hosts import HostAlarms
    from components.observability.aws_logs import ContainerLogShipping
    from components.observability.aws_slack import SlackForwarder
    from components.observability.aws_topics import AlertTopics
    from components.observability.aws_uptime import AwsUptimeChecks
    from components.observability.cluster_watch import ClusterWatch
    from components.observability.digitalocean import DigitalOceanAlerts
    from components.observability.volume_probe import DataVolumeProbe
    from components.scope import Scope

RegionAlarms = Literal["ec2-hosts", "eks"]
"""What alarms in the stack's AWS region: the EC2 Docker hosts, or EKS Container Insights."""


# -- what the other capabilities contribute -------------------------------------------------


@dataclass(frozen=True)
class WatchFacts:
    """What the observability components need from the rest of the stack, as values."""

    name: str
    """The platform's name: components are named after it."""
    prefix: str
    """`<name>-<stack>`: cloud resources are named after it."""
    stack: str
    aws_provider: pulumi.ProviderResource | None = None
    kubernetes_provider: pulumi.ProviderResource | None = None
    """The cluster's provider, on a Kubernetes stack."""
    ec2_hosts: Ec2Hosts | None = None
    eks_cluster: EksCluster | None = None
    droplets: TaggedDroplets | None = None
    doks_nodes: DoksNodes | None = None
    managed_databases: Mapping[str, pulumi.Input[str]] | None = None
    """DigitalOcean database cluster ids by the app they isolate, `""` for the shared one."""
    data_volume_host: DataVolumeHost | None = None


def watch_facts(
    scope: Scope,
    aws_provider: pulumi.ProviderResource | None,
    machines: StackMachines | None,
    cluster: StackCluster | None,
    database: StackMongo,
    hosts: Sequence[DockerHost],
) -> WatchFacts:
    """The facts, read off what the other capabilities' select modules returned."""
    data_volume = machines.droplet_data_volume if machines is not None else None
    return WatchFacts(
        name=scope.name,
        prefix=scope.prefix,
        stack=scope.stack,
        aws_provider=aws_provider,
        kubernetes_provider=cluster.target.provider if cluster is not None else None,
        ec2_hosts=machines.ec2_hosts if machines is not None else None,
        eks_cluster=cluster.eks if cluster is not None else None,
        droplets=machines.droplets if machines is not None else None,
        doks_nodes=cluster.doks_nodes if cluster is not None else None,
        managed_databases=database.managed_databases,
        data_volume_host=DataVolumeHost(hosts[0], data_volume) if data_volume is not None and hosts else None,
    )


# -- the choice ---------------------------------------------------------------------------------


def region_alarms(config: PlatformConfig, destinations: AlertDestinations | None) -> RegionAlarms | None:
    """What raises CloudWatch alarms in the stack's region (so its topic must exist first); on
    DigitalOcean or an existing cluster nothing does, and without destinations nothing alarms."""
    from components.config.kubernetes import EksConfig

    if destinations is None:
        return None
    if isinstance(config, KubernetesPlatformConfig):
        return "eks" if isinstance(config.kubernetes, EksConfig) else None
    return "ec2-hosts" if isinstance(config.machines, AwsMachinesConfig) else None


def host_agent_namespace(config: PlatformConfig, destinations: AlertDestinations | None, prefix: str) -> str | None:
    """EC2 Docker hosts run the CloudWatch agent when their alarms need its memory and disk metrics."""
    if not isinstance(config, DockerPlatformConfig) or not isinstance(config.machines, AwsMachinesConfig) or destinations is None:
        return None
    from components.observability.cloudwatch_agent import namespace

    return namespace(prefix)


@dataclass(frozen=True)
class Choice:
    """Which observability components a stack gets."""

    container_logs: bool
    region_alarms: RegionAlarms | None
    region_topic: bool
    """An SNS topic in the stack's region (its alarms notify it)."""
    route53_topic: bool
    """An SNS topic in us-east-1, where Route 53's health-check metrics alarm."""
    aws_uptime: bool
    slack_forwarder: bool
    cluster_insights: bool
    cluster_watch: bool
    uptime_endpoints: tuple[PublicEndpoint, ...]
    """The domains DigitalOcean's uptime checks request."""
    digitalocean_alerts: bool
    data_volume_probe: bool
    unwatched_data_volume: bool
    """A data volume nothing reads the probe of (a warning says so)."""

    @property
    def alert_topics(self) -> bool:
        return self.region_topic or self.route53_topic

    @property
    def host_alarms(self) -> bool:
        return self.region_alarms == "ec2-hosts"


def choose(config: PlatformConfig, destinations: AlertDestinations | None, facts: WatchFacts) -> Choice:
    """Which observability components the stack gets, from its config, destinations and what it runs."""
    endpoints = public_endpoints(config)
    cloud = uptime_cloud(config)
    alarms = region_alarms(config, destinations)
    on_aws = config.uses_aws and destinations is not None
    region_topic = on_aws and alarms is not None
    # Without an alarm a topic would only mail every address a confirmation link.
    route53_topic = on_aws and cloud == "aws" and bool(endpoints)
    do_endpoints = tuple(endpoints) if cloud == "digitalocean" else ()
    probe_host = (
        facts.data_volume_host
        if isinstance(config, DockerPlatformConfig) and config.host_count <= 1 and destinations is not None
        # Behind the load balancer a request reaches any host, and only the first has the volume:
        # README "Uptime and alerts on DigitalOcean" says what such a stack watches instead. Without
        # destinations the probe's failure would alert nobody.
        else None
    )
    watched = facts.droplets is not None or facts.doks_nodes is not None or bool(facts.managed_databases)
    return Choice(
        container_logs=ships_container_logs(config),
        region_alarms=alarms,
        region_topic=region_topic,
        route53_topic=route53_topic,
        aws_uptime=cloud == "aws" and bool(endpoints),
        slack_forwarder=(region_topic or route53_topic) and destinations is not None and destinations.slack_webhook is not None,
        cluster_insights=alarms == "eks" or (_on_eks(config) and config.logs.ship),
        cluster_watch=isinstance(config, KubernetesPlatformConfig) and not _on_eks(config) and destinations is not None,
        uptime_endpoints=do_endpoints,
        # Uptime checks with `alerts: none` too; droplet and database alerts when someone is told.
        digitalocean_alerts=bool(do_endpoints) or (destinations is not None and watched),
        data_volume_probe=probe_host is not None and bool(do_endpoints),
        unwatched_data_volume=probe_host is not None and not do_endpoints and bool(endpoints),
    )


def ships_container_logs(config: PlatformConfig) -> bool:
    """`logs.ship` on EC2 Docker hosts. Elsewhere the containers keep the hosts' rotated local logs
    (DigitalOcean offers no log service for droplets in the pinned SDK; the local engine is a laptop)."""
    return isinstance(config, DockerPlatformConfig) and config.logs.ship and isinstance(config.machines, AwsMachinesConfig)


def _on_eks(config: PlatformConfig) -> bool:
    from components.config.kubernetes import EksConfig

    return isinstance(config, KubernetesPlatformConfig) and isinstance(config.kubernetes, EksConfig)


# -- building -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Watching:
    """The stack's observability components (None: the stack does not get it)."""

    alert_topics: AlertTopics | None = None
    aws_uptime: AwsUptimeChecks | None = None
    slack_forwarder: SlackForwarder | None = None
    host_alarms: HostAlarms | None = None
    cluster_insights: ClusterInsights | None = None
    data_volume_probe: DataVolumeProbe | None = None
    digitalocean_alerts: DigitalOceanAlerts | None = None
    cluster_watch: ClusterWatch | None = None


def ship_container_logs(config: PlatformConfig, facts: WatchFacts, opts: pulumi.ResourceOptions) -> ContainerLogShipping | None:
    """The CloudWatch Logs group the app containers of EC2 Docker hosts log to (`ships_container_logs`)."""
    if not ships_container_logs(config):
        return None  # nothing of pulumi_aws is imported then (tests/test_aws.py: lean imports)
    from components.observability.aws_logs import ContainerLogShipping, ContainerLogShippingArgs

    hosts = _present(facts.ec2_hosts, "EC2 Docker hosts")
    return ContainerLogShipping(
        f"{facts.name}-container-logs",
        ContainerLogShippingArgs(
            prefix=facts.prefix, region=config.aws.region, retention_days=config.logs.retention_days, role_name=hosts.role_name
        ),
        opts=opts,
    )


def watch(config: PlatformConfig, destinations: AlertDestinations | None, facts: WatchFacts, opts: pulumi.ResourceOptions) -> Watching:
    """The alert topics, uptime checks, host and cluster alarms and the cluster watcher the stack gets."""
    choice = choose(config, destinations, facts)
    topics = _alert_topics(config, choice, destinations, facts, opts)
    aws_uptime = _aws_uptime(config, destinations, topics, facts, opts) if choice.aws_uptime else None
    slack = (
        _slack_forwarder(config, _present(destinations, "destinations"), _present(topics, "topics"), facts, opts)
        if choice.slack_forwarder
        else None
    )
    host_alarms = (
        _host_alarms(config, _present(destinations, "destinations"), _present(topics, "topics"), facts, opts)
        if choice.host_alarms
        else None
    )
    insights = _cluster_insights(config, choice, destinations, topics, facts, opts) if choice.cluster_insights else None
    probe = _data_volume_probe(config, choice, facts, opts)
    do_alerts = _digitalocean_alerts(choice, destinations, facts, probe, opts) if choice.digitalocean_alerts else None
    cluster_watch = _cluster_watch(config, _present(destinations, "destinations"), facts, opts) if choice.cluster_watch else None
    return Watching(
        alert_topics=topics,
        aws_uptime=aws_uptime,
        slack_forwarder=slack,
        host_alarms=host_alarms,
        cluster_insights=insights,
        data_volume_probe=probe,
        digitalocean_alerts=do_alerts,
        cluster_watch=cluster_watch,
    )


_Fact = TypeVar("_Fact")


def _present(fact: _Fact | None, what: str) -> _Fact:
    assert fact is not None, f"the config chose a component watching {what}, so the platform passes them"
    return fact


def _account(facts: WatchFacts) -> str:
    from components.aws.provider import caller_account

    return caller_account(_present(facts.aws_provider, "AWS"))


def _alert_topics(
    config: PlatformConfig, choice: Choice, destinations: AlertDestinations | None, facts: WatchFacts, opts: pulumi.ResourceOptions
) -> AlertTopics | None:
    """Where the stack's CloudWatch alarms notify: its region, and us-east-1 for Route 53's health checks."""
    if not choice.alert_topics or destinations is None:
        return None
    from components.observability.aws_alarms import ROUTE53_METRICS_REGION
    from components.observability.aws_topics import AlertTopics, AlertTopicsArgs

    regions = [*([config.aws.region] if choice.region_topic else []), *([ROUTE53_METRICS_REGION] if choice.route53_topic else [])]
    return AlertTopics(
        f"{facts.name}-alerts",
        AlertTopicsArgs(
            name=facts.prefix, region=config.aws.region, account_id=_account(facts), emails=destinations.emails, regions=regions
        ),
        opts=opts,
    )


def _aws_uptime(
    config: PlatformConfig,
    destinations: AlertDestinations | None,
    topics: AlertTopics | None,
    facts: WatchFacts,
    opts: pulumi.ResourceOptions,
) -> AwsUptimeChecks:
    """A Route 53 health check per public domain; its alarms notify the us-east-1 topic (Route 53's metrics live there)."""
    from components.observability.aws_alarms import ROUTE53_METRICS_REGION
    from components.observability.aws_uptime import AlarmTarget, AwsUptimeArgs, AwsUptimeChecks

    alarms = None
    if destinations is not None and topics is not None:
        alarms = AlarmTarget(
            topic_arn=topics.arn(ROUTE53_METRICS_REGION), thresholds=destinations.thresholds, latency_ms=destinations.latency_ms
        )
    return AwsUptimeChecks(
        f"{facts.name}-uptime", AwsUptimeArgs(name=facts.prefix, endpoints=public_endpoints(config), alarms=alarms), opts=opts
    )


def _slack_forwarder(
    config: PlatformConfig, destinations: AlertDestinations, topics: AlertTopics, facts: WatchFacts, opts: pulumi.ResourceOptions
) -> SlackForwarder:
    """Every AWS alarm to the Slack webhook too, through a Lambda function per topic region."""
    from components.observability.aws_slack import SlackForwarder, SlackForwarderArgs

    return SlackForwarder(
        f"{facts.name}-slack",
        SlackForwarderArgs(
            name=facts.prefix,
            region=config.aws.region,
            account_id=_account(facts),
            webhook=_present(destinations.slack_webhook, "Slack"),
            topics={region: topic.arn for region, topic in topics.topics.items()},
            log_retention_days=config.logs.retention_days,
        ),
        opts=opts,
    )


def _host_alarms(
    config: PlatformConfig, destinations: AlertDestinations, topics: AlertTopics, facts: WatchFacts, opts: pulumi.ResourceOptions
) -> HostAlarms:
    """Status checks, CPU, memory and disks of each EC2 Docker host, to the stack region's topic."""
    from components.machines.aws import ROOT_MOUNT
    from components.machines.cloud_init import DATA_MOUNT
    from components.observability.aws_hosts import HostAlarms, HostAlarmsArgs, HostDisk

    hosts = _present(facts.ec2_hosts, "EC2 Docker hosts")
    machines = config.machines
    assert isinstance(machines, AwsMachinesConfig)
    namespace = _present(host_agent_namespace(config, destinations, facts.prefix), "the CloudWatch agent's metrics")
    root = HostDisk("root", ROOT_MOUNT)
    return HostAlarms(
        f"{facts.name}-host-alarms",
        HostAlarmsArgs(
            name=facts.prefix,
            region=config.aws.region,
            topic_arn=topics.arn(config.aws.region),
            thresholds=destinations.thresholds,
            instance_type=machines.instance_type,
            agent_namespace=namespace,
            instances=list(hosts.instances),
            disks=[
                [root, HostDisk("data", DATA_MOUNT)] if i == 0 and hosts.first_has_data_volume else [root]
                for i in range(len(hosts.instances))
            ],
        ),
        opts=opts,
    )


def _cluster_insights(
    config: PlatformConfig,
    choice: Choice,
    destinations: AlertDestinations | None,
    topics: AlertTopics | None,
    facts: WatchFacts,
    opts: pulumi.ResourceOptions,
) -> ClusterInsights:
    """EKS: nodes not ready, pods crash-looping and full node disks to the region's topic, and the
    containers' logs to CloudWatch Logs with `logs.ship`."""
    from components.observability.aws_cluster import ClusterInsights, ClusterInsightsArgs

    eks_cluster = _present(facts.eks_cluster, "the EKS cluster")
    return ClusterInsights(
        f"{facts.name}-insights",
        ClusterInsightsArgs(
            name=facts.prefix,
            region=config.aws.region,
            account_id=_account(facts),
            cluster_name=eks_cluster.name,
            cluster=eks_cluster.cluster,
            after=list(eks_cluster.ready),
            ship_logs=config.logs.ship,
            retention_days=config.logs.retention_days,
            topic_arn=_present(topics, "the alert topics").arn(config.aws.region) if choice.region_alarms == "eks" else None,
            thresholds=destinations.thresholds if destinations is not None else None,
        ),
        opts=opts,
    )


def _data_volume_probe(config: PlatformConfig, choice: Choice, facts: WatchFacts, opts: pulumi.ResourceOptions) -> DataVolumeProbe | None:
    """The data volume's fill level, answered on the first host where an uptime check can reach it
    (components/observability/volume_probe.py: DigitalOcean's agent does not report the volume)."""
    if choice.unwatched_data_volume:
        from components.observability.volume_probe import unwatched_data_volume

        volume = _present(facts.data_volume_host, "the data volume").volume
        pulumi.log.warn(unwatched_data_volume(config.alerts.uptime_checks if config.alerts else None), volume)
    if not choice.data_volume_probe:
        return None
    from components.config.observability import AlertThresholds
    from components.observability.volume_probe import DataVolumeProbe, DataVolumeProbeArgs
    from components.versions import BUSYBOX_IMAGE

    host = _present(facts.data_volume_host, "the data volume").host
    endpoint = choice.uptime_endpoints[0]
    thresholds = config.alerts.thresholds if config.alerts is not None else AlertThresholds()
    return DataVolumeProbe(
        f"{facts.name}-{host.name}-data-volume-probe",
        DataVolumeProbeArgs(
            host=host, image=BUSYBOX_IMAGE, domain=endpoint.domain, terminates_tls=endpoint.tls, limit_percent=thresholds.disk_percent
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[host.provider], transformations=host.follows_machine())),
    )


def _digitalocean_alerts(
    choice: Choice,
    destinations: AlertDestinations | None,
    facts: WatchFacts,
    probe: DataVolumeProbe | None,
    opts: pulumi.ResourceOptions,
) -> DigitalOceanAlerts:
    """Uptime checks of the public domains (with `alerts: none` too), alerts when there are destinations."""
    from components.observability.digitalocean import DigitalOceanAlerts, DigitalOceanAlertsArgs, WatchedDroplets

    droplets: list[WatchedDroplets] = []
    if facts.droplets is not None:
        droplets.append(WatchedDroplets("hosts", facts.droplets.tag, depends_on=facts.droplets.created_by))
    if facts.doks_nodes is not None:
        cluster_id = pulumi.Output.from_input(facts.doks_nodes.cluster_id)
        droplets.append(WatchedDroplets("doks-nodes", cluster_id.apply(lambda i: f"k8s:{i}"), depends_on=[facts.doks_nodes.cluster]))
    databases = {f"mongo-{app}" if app else "mongo": cluster for app, cluster in (facts.managed_databases or {}).items()}
    endpoint = choice.uptime_endpoints[0] if choice.uptime_endpoints else None
    probe_url = None
    if probe is not None and endpoint is not None:
        # Imported only with a probe: the module brings pulumi_docker, which Kubernetes stacks do not need.
        from components.observability.volume_probe import PROBE_PATH

        probe_url = f"{endpoint.scheme}://{endpoint.domain}{PROBE_PATH}"
    return DigitalOceanAlerts(
        f"{facts.name}-do-alerts",
        DigitalOceanAlertsArgs(
            name=facts.prefix,
            endpoints=choice.uptime_endpoints,
            destinations=destinations,
            droplets=droplets,
            databases=databases,
            data_volume_probe=probe_url,
        ),
        opts=opts,
    )


def _cluster_watch(
    config: PlatformConfig, destinations: AlertDestinations, facts: WatchFacts, opts: pulumi.ResourceOptions
) -> ClusterWatch:
    """Nodes not ready and pods crash-looping on a cluster whose cloud has no alerting (DOKS, existing);
    EKS clusters are watched by CloudWatch alarms instead."""
    from components.config.kubernetes import ExistingKubernetesConfig
    from components.observability.cluster_watch import ClusterWatch, ClusterWatchArgs, destinations_warning, namespace_name

    assert isinstance(config, KubernetesPlatformConfig)
    namespace = namespace_name(facts.stack)
    watch = ClusterWatch(
        f"{facts.name}-cluster-watch",
        ClusterWatchArgs(
            stack=facts.stack,
            cluster_name=facts.prefix,
            namespace=namespace,
            emails=destinations.emails,
            slack_webhook=destinations.slack_webhook,
            mail_url=destinations.mail_url,
            mail_from=destinations.mail_from,
            not_ready_minutes=destinations.thresholds.minutes,
            others_pods=isinstance(config.kubernetes, ExistingKubernetesConfig),
        ),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[_present(facts.kubernetes_provider, "the cluster")])),
    )
    warning = destinations_warning(
        destinations.emails, slack=destinations.slack_webhook is not None, mail=destinations.mail_url is not None, namespace=namespace
    )
    if warning is not None:
        pulumi.log.warn(warning, watch)
    return watch
