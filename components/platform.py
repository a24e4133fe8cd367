"""Composition root: each capability selects its implementation from its own config section
(`<capability>/select.py`); this class only orders the steps, as the README's diagram does:

    network -> machines -> registry -> app images (built, prebuilt or promoted)
            -> Kubernetes: cluster + add-ons -> file storage -> MongoDB -> MeteorApp per app
            -> Docker:     hosts + proxies   -> file storage -> MongoDB -> DockerApp per app
            -> observability: alert topics, uptime checks, host/cluster alerts, the cluster watcher

The attributes are typed by the capabilities' contracts (light modules), which is what pulumi
resolves this class's annotations against at run time.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, cast

import pulumi

from components.app import MeteorService
from components.app.reactivity import Reactivity
from components.app.select import apps, reactivities
from components.aws.select import snapshots
from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig
from components.config.machines import AwsMachinesConfig
from components.docker import DockerHost
from components.docker.select import docker_hosts
from components.images import AppImage
from components.images.select import images
from components.kubernetes import ClusterReadiness, KubernetesTarget
from components.kubernetes.select import cluster
from components.machines import DockerMachines
from components.machines.select import machines
from components.mongo import MongoDatabase
from components.mongo.select import mongo
from components.network import PrivateNetwork
from components.network.select import networks
from components.observability import alert_destinations
from components.registry.select import registry
from components.scope import Scope
from components.storage.select import storage

if TYPE_CHECKING:
    from components.observability import PublicEndpoint
    from components.observability.aws_cluster import ClusterInsights
    from components.observability.aws_hosts import HostAlarms
    from components.observability.aws_logs import ContainerLogShipping
    from components.observability.aws_slack import SlackForwarder
    from components.observability.aws_topics import AlertTopics
    from components.observability.aws_uptime import AwsUptimeChecks
    from components.observability.cluster_watch import ClusterWatch
    from components.observability.digitalocean import DigitalOceanAlerts
from components.registry import Registry
from components.storage import FileStorage


class Platform(pulumi.ComponentResource):
    """Everything one stack runs; each capability is exposed for users who need the raw resources."""

    aws_provider: pulumi.ProviderResource | None
    """The stack's one AWS provider (`aws.region`, default tags), when the stack uses AWS."""
    network: PrivateNetwork | None
    machines: DockerMachines | None
    cluster: KubernetesTarget | None
    addons: ClusterReadiness | None
    """Ingress controller, cert-manager and metrics-server on a cluster (ClusterAddons), when installed."""
    docker_hosts: list[DockerHost]
    registry: Registry | None
    mongo: MongoDatabase
    mongo_restore: pulumi.Output[str] | None
    """The script that restores a dump from the backups bucket, when the platform runs MongoDB and dumps it."""
    storage: FileStorage
    snapshots: pulumi.ComponentResource | None
    """Daily EBS snapshots of the data volumes (components/aws/snapshots.py), when on."""
    container_logs: pulumi.ComponentResource | None
    """The CloudWatch Logs group the app containers of EC2 Docker hosts log to, with `logs.ship`
    (components/observability/aws_logs.py)."""
    alert_topics: pulumi.ComponentResource | None
    """The SNS topics every AWS alarm notifies (components/observability/aws_topics.py), when the stack
    uses AWS and has alert destinations."""
    aws_uptime: pulumi.ComponentResource | None
    """Route 53 health checks of the public domains, with their us-east-1 alarms when there are destinations
    (components/observability/aws_uptime.py), when the stack's uptime checks run on AWS."""
    slack_forwarder: pulumi.ComponentResource | None
    """The Lambda functions posting the AWS alarms to Slack (components/observability/aws_slack.py)."""
    host_alarms: pulumi.ComponentResource | None
    """CloudWatch alarms on the EC2 Docker hosts (components/observability/aws_hosts.py), when they alert."""
    cluster_insights: pulumi.ComponentResource | None
    """EKS: Container Insights (the CloudWatch add-on), its alarms and opt-in container logs
    (components/observability/aws_cluster.py), when the stack alerts or ships logs."""
    digitalocean_alerts: pulumi.ComponentResource | None
    """DigitalOcean uptime checks per public domain and their alerts, droplet and database alerts
    (components/observability/digitalocean.py), when DigitalOcean checks the domains or runs the stack."""
    cluster_watch: pulumi.ComponentResource | None
    """The in-cluster watcher of nodes and pods (components/observability/cluster_watch.py), on a DOKS or
    existing cluster with alert destinations."""
    images: dict[str, AppImage]
    """The image each app runs."""
    reactivity: dict[str, Reactivity]
    """How each app's live queries follow MongoDB, and its connection wired for it."""
    apps: dict[str, MeteorService]
    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        stack: str,
        opts: pulumi.ResourceOptions | None = None,
        project_dir: Path | None = None,
    ) -> None:
        self.aws_provider = None
        if config.uses_aws:
            from components.aws.provider import aws_provider

            # Every AWS resource and data source below inherits it (components/aws/provider.py).
            self.aws_provider = aws_provider(f"{name}-aws", region=config.aws.region, stack=stack, environment=config.environment.value)
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[self.aws_provider]))
        super().__init__("meteor-platform:index:Platform", name, None, opts)
        scope = Scope(name, stack, self, project_dir or Path.cwd())
        self._name, self._stack, self._prefix, self._child = name, stack, scope.prefix, scope.child()
        # Where every alert goes (None without destinations): decided once, read by every observability step.
        self._destinations = alert_destinations(config)

        stack_networks = networks(config, scope)
        self.network = stack_networks.network
        on_hosts = isinstance(config, DockerPlatformConfig)
        namespace = self._host_metrics_namespace(config)
        fleet = machines(config, scope, stack_networks, wait_for_docker=on_hosts, cloudwatch_namespace=namespace)
        self.machines = fleet.machines if fleet is not None else None
        self.registry = registry(config, scope)
        self.images = images(config, scope, self.registry)

        on_cluster = cluster(config, scope, stack_networks) if isinstance(config, KubernetesPlatformConfig) else None
        self.cluster = on_cluster.target if on_cluster is not None else None
        self.addons = on_cluster.addons if on_cluster is not None else None
        self.docker_hosts = docker_hosts(config, scope, self.machines, self.registry) if on_hosts else []
        self.storage = storage(
            config,
            scope,
            hosts=self.docker_hosts,
            aws_provider=self.aws_provider,
            pod_identity_cluster=on_cluster.pod_identity_cluster if on_cluster is not None else None,
            instance_role_name=fleet.instance_role_name if fleet is not None else None,
        )
        database = mongo(
            config,
            scope,
            cluster=self.cluster,
            hosts=self.docker_hosts,
            backup=self.storage.backups(),
            network=stack_networks.digitalocean,
            machine_tag=self.machines.tag if self.machines is not None else None,
        )
        self.mongo, self.mongo_restore = database.database, database.restore_command
        self.reactivity = reactivities(config, scope.project_dir, self.mongo)
        self._shipping: ContainerLogShipping | None = self._container_logs(config) if isinstance(config, DockerPlatformConfig) else None
        self.container_logs = self._shipping
        self.apps = apps(
            config,
            scope,
            cluster=on_cluster,
            hosts=self.docker_hosts,
            images=self.images,
            reactivity=self.reactivity,
            storage=self.storage,
            registry=self.registry,
            log_driver=self._shipping.driver if self._shipping is not None else None,
        )

        self.snapshots = snapshots(config, scope, fleet.data_volume_name if fleet is not None else None)
        self._topics = self._alert_topics(config)
        self.alert_topics = self._topics
        self.aws_uptime = self._aws_uptime(config)
        self.slack_forwarder = self._slack_forwarder(config)
        self.host_alarms = self._host_alarms(config)
        self.cluster_insights = self._cluster_insights(config)
        self.digitalocean_alerts = self._digitalocean_alerts(config)
        self.cluster_watch = self._cluster_watch(config)

        self.outputs = self._outputs(config)
        self.register_outputs(self.outputs)

    def _outputs(self, config: PlatformConfig) -> dict[str, pulumi.Input[object]]:
        # The environment is exported so reviews and the policy checks on the plan know the stakes.
        outputs: dict[str, pulumi.Input[object]] = {
            "environment": pulumi.Output.from_input(config.environment),
            # What a promoting stack deploys: each app's image by digest.
            "images": {n: image.ref for n, image in self.images.items()},
            "urls": {n: a.url for n, a in self.apps.items()},
            # Change streams, oplog tailing or polling, per app and why: the plan shows it.
            "reactivity": {n: r.summary for n, r in self.reactivity.items()},
        }
        if self.registry is not None:
            outputs["registry_server"] = self.registry.server
            outputs["registry_push_credentials"] = self.registry.push_credentials
        if self.machines is not None:
            outputs["docker_hosts"] = self.machines.docker_host_urls
            outputs["host_addresses"] = self.machines.public_addresses
        if self.cluster is not None and self.cluster.kubeconfig is not None:
            outputs["kubeconfig"] = self.cluster.kubeconfig
        if self.mongo_restore is not None:
            outputs["mongo_restore"] = self.mongo_restore
        return outputs

    # -- observability (components/observability/select.py takes these over) --------------------

    def _aws(self) -> pulumi.ProviderResource:
        assert self.aws_provider is not None, "a stack with AWS resources has its AWS provider (config.uses_aws)"
        return self.aws_provider

    def _container_logs(self, config: DockerPlatformConfig) -> ContainerLogShipping | None:
        """`logs.ship` on EC2 Docker hosts: the app containers log to the stack's CloudWatch Logs group.
        Elsewhere they keep the hosts' rotated local logs (DigitalOcean offers no log service for
        droplets in the pinned SDK; the local engine is a laptop)."""
        if not config.logs.ship or not isinstance(config.machines, AwsMachinesConfig):
            return None  # nothing of pulumi_aws is imported then (tests/test_aws.py: lean imports)
        from components.machines.aws import AwsMachines
        from components.observability.aws_logs import ContainerLogShipping, ContainerLogShippingArgs

        return ContainerLogShipping(
            f"{self._name}-container-logs",
            ContainerLogShippingArgs(
                prefix=self._prefix,
                region=config.aws.region,
                retention_days=config.logs.retention_days,
                role_name=cast(AwsMachines, self.machines).role.name,
            ),
            opts=self._child,
        )

    def _alert_topics(self, config: PlatformConfig) -> AlertTopics | None:
        """Where the stack's CloudWatch alarms notify: its region, and us-east-1 for Route 53's health checks."""
        from components.observability import public_endpoints, uptime_cloud

        destinations = self._destinations
        if not config.uses_aws or destinations is None:
            return None
        from components.aws.provider import caller_account
        from components.observability.aws_topics import ROUTE53_METRICS_REGION, AlertTopics, AlertTopicsArgs

        regions: list[str] = []
        if self._stack_region_alarms(config):
            regions.append(config.aws.region)
        if uptime_cloud(config) == "aws" and public_endpoints(config):
            regions.append(ROUTE53_METRICS_REGION)
        if not regions:
            return None  # nothing alarms: a topic would only mail every address a confirmation link
        return AlertTopics(
            f"{self._name}-alerts",
            AlertTopicsArgs(
                name=self._prefix,
                region=config.aws.region,
                account_id=caller_account(self._aws()),
                emails=destinations.emails,
                regions=regions,
            ),
            opts=self._child,
        )

    def _stack_region_alarms(self, config: PlatformConfig) -> bool:
        """Whether CloudWatch alarms in the stack's region notify its topic: the EC2 Docker hosts' (`_host_alarms`)
        and EKS Container Insights' (`_cluster_insights`); on DigitalOcean or an existing cluster none do."""
        from components.config.kubernetes import EksConfig

        if isinstance(config, KubernetesPlatformConfig):
            return isinstance(config.kubernetes, EksConfig)
        return isinstance(config.machines, AwsMachinesConfig) and self._host_metrics_namespace(config) is not None

    def _aws_uptime(self, config: PlatformConfig) -> AwsUptimeChecks | None:
        """A Route 53 health check per public domain; its alarms notify the us-east-1 topic (Route 53's metrics live there)."""
        from components.observability import public_endpoints, uptime_cloud

        endpoints = public_endpoints(config)
        if uptime_cloud(config) != "aws" or not endpoints:
            return None
        from components.observability.aws_uptime import ROUTE53_METRICS_REGION, AlarmTarget, AwsUptimeArgs, AwsUptimeChecks

        destinations = self._destinations
        alarms = None
        if destinations is not None and self._topics is not None:
            alarms = AlarmTarget(
                topic_arn=self._topics.arn(ROUTE53_METRICS_REGION), thresholds=destinations.thresholds, latency_ms=destinations.latency_ms
            )
        return AwsUptimeChecks(
            f"{self._name}-uptime", AwsUptimeArgs(name=self._prefix, endpoints=endpoints, alarms=alarms), opts=self._child
        )

    def _slack_forwarder(self, config: PlatformConfig) -> SlackForwarder | None:
        """Every AWS alarm to the Slack webhook too, through a Lambda function per topic region."""
        destinations = self._destinations
        if self._topics is None or destinations is None or destinations.slack_webhook is None:
            return None
        from components.aws.provider import caller_account
        from components.observability.aws_slack import SlackForwarder, SlackForwarderArgs

        return SlackForwarder(
            f"{self._name}-slack",
            SlackForwarderArgs(
                name=self._prefix,
                region=config.aws.region,
                account_id=caller_account(self._aws()),
                webhook=destinations.slack_webhook,
                topics={region: topic.arn for region, topic in self._topics.topics.items()},
                log_retention_days=config.logs.retention_days,
            ),
            opts=self._child,
        )

    def _digitalocean_alerts(self, config: PlatformConfig) -> DigitalOceanAlerts | None:
        """Uptime checks of the public domains (with `alerts: none` too), alerts when there are destinations."""
        from components.observability import public_endpoints, uptime_cloud

        endpoints = public_endpoints(config) if uptime_cloud(config) == "digitalocean" else []
        if not endpoints and not config.uses_digitalocean:
            return None  # pulumi_digitalocean is imported only by stacks that use it
        destinations = self._destinations
        from components.kubernetes.digitalocean import DoksCluster
        from components.machines.digitalocean import DigitalOceanMachines
        from components.mongo.digitalocean import DigitalOceanMongo, PerAppMongo
        from components.observability.digitalocean import DigitalOceanAlerts, DigitalOceanAlertsArgs, WatchedDroplets

        droplets: list[WatchedDroplets] = []
        if isinstance(self.machines, DigitalOceanMachines):
            # The firewall names the machines' tag: once it exists, so does the tag.
            droplets.append(WatchedDroplets("hosts", self.machines.tag, depends_on=[self.machines.firewall]))
        if isinstance(self.cluster, DoksCluster):
            doks = self.cluster.cluster
            # DOKS tags each node droplet `k8s:<cluster id>` (components/observability/digitalocean.py).
            droplets.append(WatchedDroplets("doks-nodes", doks.id.apply(lambda cluster_id: f"k8s:{cluster_id}"), depends_on=[doks]))
        parts = self.mongo.databases if isinstance(self.mongo, PerAppMongo) else {"": self.mongo}
        databases: dict[str, pulumi.Input[str]] = {
            f"mongo-{app}" if app else "mongo": db.cluster.id for app, db in parts.items() if isinstance(db, DigitalOceanMongo)
        }
        probe_url = self._data_volume_probe(config, endpoints)
        if not endpoints and (destinations is None or not (droplets or databases)):
            return None
        return DigitalOceanAlerts(
            f"{self._name}-do-alerts",
            DigitalOceanAlertsArgs(
                name=self._prefix,
                endpoints=endpoints,
                destinations=destinations,
                droplets=droplets,
                databases=databases,
                data_volume_probe=probe_url,
            ),
            opts=self._child,
        )

    def _host_metrics_namespace(self, config: PlatformConfig) -> str | None:
        """EC2 Docker hosts run the CloudWatch agent when their alarms need its memory and disk metrics."""
        from components.observability.cloudwatch_agent import namespace

        if not isinstance(config, DockerPlatformConfig) or self._destinations is None:
            return None
        return namespace(self._prefix)

    def _host_alarms(self, config: PlatformConfig) -> HostAlarms | None:
        """Status checks, CPU, memory and disks of each EC2 Docker host, to the stack region's topic."""
        destinations = self._destinations
        namespace = self._host_metrics_namespace(config)
        m = config.machines
        if not isinstance(m, AwsMachinesConfig) or self._topics is None or destinations is None or namespace is None:
            return None  # before importing pulumi_aws: stacks without AWS never load it
        from components.machines.aws import ROOT_MOUNT, AwsMachines
        from components.machines.cloud_init import DATA_MOUNT
        from components.observability.aws_hosts import HostAlarms, HostAlarmsArgs, HostDisk

        assert isinstance(self.machines, AwsMachines)
        root = HostDisk("root", ROOT_MOUNT)
        return HostAlarms(
            f"{self._name}-host-alarms",
            HostAlarmsArgs(
                name=self._prefix,
                region=config.aws.region,
                topic_arn=self._topics.arn(config.aws.region),
                thresholds=destinations.thresholds,
                instance_type=m.instance_type,
                agent_namespace=namespace,
                instances=self.machines.instances,
                disks=[
                    [root, HostDisk("data", DATA_MOUNT)] if i == 0 and self.machines.data_volume is not None else [root]
                    for i in range(len(self.machines.instances))
                ],
            ),
            opts=self._child,
        )

    def _cluster_insights(self, config: PlatformConfig) -> ClusterInsights | None:
        """EKS: nodes not ready, pods crash-looping and full node disks to the region's topic, and the
        containers' logs to CloudWatch Logs with `logs.ship`."""
        from components.config.kubernetes import EksConfig

        destinations = self._destinations
        if not isinstance(config, KubernetesPlatformConfig) or not isinstance(config.kubernetes, EksConfig):
            return None  # before importing pulumi_aws: stacks without AWS never load it
        if destinations is None and not config.logs.ship:
            return None
        from components.aws.provider import caller_account
        from components.kubernetes.aws import EksCluster
        from components.observability.aws_cluster import ClusterInsights, ClusterInsightsArgs

        assert isinstance(self.cluster, EksCluster)
        alerting = destinations is not None and self._topics is not None
        return ClusterInsights(
            f"{self._name}-insights",
            ClusterInsightsArgs(
                name=self._prefix,
                region=config.aws.region,
                account_id=caller_account(self._aws()),
                cluster_name=self.cluster.known_name,
                cluster=self.cluster.cluster,
                after=[*self.cluster.node_groups, self.cluster.pod_identity_agent],
                ship_logs=config.logs.ship,
                retention_days=config.logs.retention_days,
                topic_arn=self._topics.arn(config.aws.region) if alerting and self._topics is not None else None,
                thresholds=destinations.thresholds if destinations is not None else None,
            ),
            opts=self._child,
        )

    def _cluster_watch(self, config: PlatformConfig) -> ClusterWatch | None:
        """Nodes not ready and pods crash-looping on a cluster whose cloud has no alerting (DOKS, existing);
        EKS clusters are watched by CloudWatch alarms instead."""
        from components.config.kubernetes import EksConfig, ExistingKubernetesConfig

        destinations = self._destinations
        if not isinstance(config, KubernetesPlatformConfig) or isinstance(config.kubernetes, EksConfig) or destinations is None:
            return None
        assert self.cluster is not None
        from components.observability.cluster_watch import ClusterWatch, ClusterWatchArgs, destinations_warning, namespace_name

        namespace = namespace_name(self._stack)
        watch = ClusterWatch(
            f"{self._name}-cluster-watch",
            ClusterWatchArgs(
                stack=self._stack,
                cluster_name=self._prefix,
                namespace=namespace,
                emails=destinations.emails,
                slack_webhook=destinations.slack_webhook,
                mail_url=destinations.mail_url,
                mail_from=destinations.mail_from,
                not_ready_minutes=destinations.thresholds.minutes,
                others_pods=isinstance(config.kubernetes, ExistingKubernetesConfig),
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[self.cluster.provider]),
        )
        warning = destinations_warning(
            destinations.emails, slack=destinations.slack_webhook is not None, mail=destinations.mail_url is not None, namespace=namespace
        )
        if warning is not None:
            pulumi.log.warn(warning, watch)
        return watch

    def _data_volume_probe(self, config: PlatformConfig, endpoints: list[PublicEndpoint]) -> str | None:
        """The data volume's fill level, answered on the first host where an uptime check can reach it
        (components/observability/volume_probe.py: DigitalOcean's agent does not report the volume)."""
        from components.machines.digitalocean import DigitalOceanMachines
        from components.observability import public_endpoints
        from components.observability.volume_probe import unwatched_data_volume

        if not isinstance(self.machines, DigitalOceanMachines) or self.machines.data_volume is None:
            return None
        if not isinstance(config, DockerPlatformConfig) or config.host_count > 1 or not self.docker_hosts:
            # Behind the load balancer a request reaches any host, and only the first has the volume:
            # README "Uptime and alerts on DigitalOcean" says what such a stack watches instead.
            return None
        if self._destinations is None:
            return None  # a container and a paid uptime check whose failure would alert nobody
        if not endpoints:
            if public_endpoints(config):
                pulumi.log.warn(unwatched_data_volume(config.alerts.uptime_checks if config.alerts else None), self.machines.data_volume)
            return None
        from components.config.observability import AlertThresholds
        from components.observability.volume_probe import PROBE_PATH, DataVolumeProbe, DataVolumeProbeArgs
        from components.versions import BUSYBOX_IMAGE

        host = self.docker_hosts[0]
        endpoint = endpoints[0]
        thresholds = config.alerts.thresholds if config.alerts is not None else AlertThresholds()
        DataVolumeProbe(
            f"{self._name}-{host.name}-data-volume-probe",
            DataVolumeProbeArgs(
                host=host,
                image=BUSYBOX_IMAGE,
                domain=endpoint.domain,
                terminates_tls=endpoint.tls,
                limit_percent=thresholds.disk_percent,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[host.provider], transformations=host.follows_machine()),
        )
        return f"{endpoint.scheme}://{endpoint.domain}{PROBE_PATH}"
