"""Composition root: picks each capability's implementation from config and wires them.

    network -> machines -> registry -> app images (built, prebuilt or promoted)
            -> Kubernetes: cluster -> MongoDB -> file storage -> MeteorApp per app
            -> Docker:     hosts + proxies -> MongoDB -> file storage -> DockerApp per app
            -> observability: alert topics, uptime checks, host/cluster alerts, the cluster watcher

An implementation module is imported only when the config chooses it, so a stack pays only for
the provider SDKs it uses. The attributes are typed by the capabilities' contracts (light
modules), which is what pulumi resolves this class's annotations against at run time.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import pulumi

from components.app import MeteorService, Sibling
from components.app.reactivity import Reactivity
from components.config import (
    AppConfig,
    ConfigError,
    DockerPlatformConfig,
    KubernetesAppConfig,
    KubernetesPlatformConfig,
    PlatformConfig,
    key_path,
)
from components.config.docker import LocalDockerConfig
from components.config.machines import AwsMachinesConfig, DigitalOceanMachinesConfig
from components.config.mongo import (
    ContainerMongoConfig,
    DigitalOceanMongoConfig,
    ExternalMongoConfig,
    InClusterMongoConfig,
    backups_on,
)
from components.config.registry import DigitalOceanRegistryConfig, EcrRegistryConfig
from components.config.storage import MinioConfig, S3Config, SpacesConfig
from components.config.values import docker_cpus, quantity_value
from components.docker import DockerHost, DockerNames
from components.images import AppImage
from components.kubernetes import ClusterReadiness, KubernetesTarget
from components.machines import DockerMachines
from components.mongo import MongoAppUser, MongoDatabase
from components.network import PrivateNetwork
from components.observability import alert_destinations
from components.observability.select import ship_container_logs, watch

if TYPE_CHECKING:
    from components.network.aws import AwsNetwork
    from components.observability.aws_logs import ContainerLogShipping
    from components.observability.select import WatchFacts
from components.registry import Registry
from components.storage import FileStorage

App = TypeVar("App", bound=AppConfig)


def with_forwarded_count(app: App, count: int) -> App:
    """The app with HTTP_FORWARDED_COUNT from the topology, unless its config sets one."""
    return app if app.http_forwarded_count is not None else app.model_copy(update={"http_forwarded_count": count})


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
        self._project_dir = project_dir or Path.cwd()
        self._name = name
        self._stack = stack
        self._prefix = f"{name}-{stack}"
        self._child = pulumi.ResourceOptions(parent=self)
        # Where every alert goes (None without destinations): decided once, read by every observability step.
        self._destinations = alert_destinations(config)
        self._users = [MongoAppUser(app=a.name, database=a.database) for a in config.apps]

        self.network = None
        self._aws_vpc: AwsNetwork | None = None
        if config.uses_digitalocean:
            # Every DigitalOcean stack gets its VPC, whether or not its first resource needs it.
            self._do_network(config)
        self.machines = self._machines(config, wait_for_docker=isinstance(config, DockerPlatformConfig))
        self.registry = self._registry(config)
        self.images = self._images(config)
        self.cluster = None
        self._shipping: ContainerLogShipping | None = None
        self.container_logs = None
        self.docker_hosts = []
        self.addons = None
        self.mongo_restore = None
        if isinstance(config, KubernetesPlatformConfig):
            self.cluster = self._cluster(config)
            self.addons = self._addons(config, self.cluster)
            self.storage = self._storage(config)
            self.mongo = self._kubernetes_mongo(config, self.cluster)
            self.reactivity = self._reactivity(config)
            self.apps = self._kubernetes_apps(config, self.cluster)
        else:
            self.docker_hosts = self._docker_hosts(config)
            self.storage = self._storage(config)
            self.mongo = self._docker_mongo(config)
            self.reactivity = self._reactivity(config)
            self._shipping = ship_container_logs(config, self._watch_facts(config), self._child)
            self.container_logs = self._shipping
            self.apps = self._docker_apps(config)

        self.snapshots = self._snapshots(config)
        watching = watch(config, self._destinations, self._watch_facts(config), self._child)
        self.alert_topics = watching.alert_topics
        self.aws_uptime = watching.aws_uptime
        self.slack_forwarder = watching.slack_forwarder
        self.host_alarms = watching.host_alarms
        self.cluster_insights = watching.cluster_insights
        self.digitalocean_alerts = watching.digitalocean_alerts
        self.cluster_watch = watching.cluster_watch

        # The environment is exported so reviews and the policy checks on the plan know the stakes.
        self.outputs = {
            "environment": pulumi.Output.from_input(config.environment),
            # What a promoting stack deploys: each app's image by digest.
            "images": {n: image.ref for n, image in self.images.items()},
            "urls": {n: a.url for n, a in self.apps.items()},
            # Change streams, oplog tailing or polling, per app and why: the plan shows it.
            "reactivity": {n: r.summary for n, r in self.reactivity.items()},
        }
        if self.registry is not None:
            self.outputs["registry_server"] = self.registry.server
            self.outputs["registry_push_credentials"] = self.registry.push_credentials
        if self.machines is not None:
            self.outputs["docker_hosts"] = self.machines.docker_host_urls
            self.outputs["host_addresses"] = self.machines.public_addresses
        if self.cluster is not None and self.cluster.kubeconfig is not None:
            self.outputs["kubeconfig"] = self.cluster.kubeconfig
        if self.mongo_restore is not None:
            self.outputs["mongo_restore"] = self.mongo_restore
        self.register_outputs(self.outputs)

    # -- shared capabilities ------------------------------------------------------------------

    def _do_network(self, config: PlatformConfig) -> PrivateNetwork:
        """The stack's VPC, created on first use."""
        if self.network is None:
            from components.network.digitalocean import DigitalOceanNetwork, DigitalOceanNetworkArgs

            do_config = config.digitalocean
            self.network = DigitalOceanNetwork(
                f"{self._name}-network",
                DigitalOceanNetworkArgs(name=f"{self._prefix}-vpc", region=do_config.region, ip_range=do_config.vpc_ip_range),
                opts=self._child,
            )
        return self.network

    def _aws(self) -> pulumi.ProviderResource:
        assert self.aws_provider is not None, "a stack with AWS resources has its AWS provider (config.uses_aws)"
        return self.aws_provider

    def _aws_network(self, config: PlatformConfig) -> AwsNetwork:
        """The stack's AWS VPC, created (or looked up by id) on first use."""
        if self._aws_vpc is None:
            from components.network.aws import AwsNetwork, AwsNetworkArgs

            a = config.aws
            existing = a.vpc.existing
            self._aws_vpc = AwsNetwork(
                f"{self._name}-aws-network",
                AwsNetworkArgs(
                    name=f"{self._prefix}",
                    region=a.region,
                    cidr=a.vpc.cidr,
                    zones=list(a.vpc.availability_zones),
                    nat_per_zone=a.vpc.nat_gateways == "perZone",
                    existing_vpc_id=existing.vpc_id if existing else None,
                    existing_public_subnet_ids=list(existing.public_subnet_ids) if existing else None,
                    existing_private_subnet_ids=list(existing.private_subnet_ids) if existing else None,
                ),
                opts=self._child,
            )
            self.network = self._aws_vpc
        return self._aws_vpc

    def _machines(self, config: PlatformConfig, *, wait_for_docker: bool) -> DockerMachines | None:
        m = config.machines
        if isinstance(m, AwsMachinesConfig):
            from components.machines.aws import AwsMachines, AwsMachinesArgs

            network = self._aws_network(config)
            return AwsMachines(
                f"{self._name}-machines",
                AwsMachinesArgs(
                    name=self._prefix,
                    stack=self._stack,
                    zone=config.aws.vpc.availability_zones[0],
                    subnet_ids=network.public_subnet_ids,
                    vpc_id=network.network_id,
                    ssh_public_key=m.ssh_public_key,
                    admin_cidrs=list(m.admin_cidrs),
                    count=m.count,
                    instance_type=m.instance_type,
                    distro=m.distro,
                    access=m.access,
                    deploy_user=m.deploy_user,
                    root_volume_gib=m.root_volume_gib,
                    data_volume_gib=int(quantity_value(m.data_volume_size) / 2**30) if wait_for_docker else None,
                    serve_traffic=wait_for_docker,
                    protect=config.protect_stateful,
                    wait_for_docker=wait_for_docker,
                    cloudwatch_namespace=self._host_metrics_namespace(config),
                ),
                config.aws.region,
                opts=self._child,
            )
        if not isinstance(m, DigitalOceanMachinesConfig):
            return None
        from components.machines.digitalocean import DigitalOceanMachines, DigitalOceanMachinesArgs, LoadBalancerSpec

        network = self._do_network(config)
        load_balancer = None
        if wait_for_docker and m.count > 1:
            # Apps on several hosts: one entry point, sticky per host, TLS terminated there.
            load_balancer = LoadBalancerSpec(
                domains=[a.domain for a in config.apps if a.domain],
                tls=config.ingress.serves_tls,
                session_cookie=config.ingress.session_cookie,
                idle_timeout_seconds=config.ingress.idle_timeout_seconds,
                certificate_name=m.load_balancer_certificate,
            )
        return DigitalOceanMachines(
            f"{self._name}-machines",
            DigitalOceanMachinesArgs(
                name=f"{self._prefix}-docker",
                region=network.region,
                vpc_id=network.network_id,
                ssh_public_key=m.ssh_public_key,
                existing_ssh_key=m.existing_ssh_key,
                admin_cidrs=m.admin_cidrs,
                count=m.count,
                size=m.size,
                image=m.image,
                deploy_user=m.deploy_user,
                serve_traffic=m.serve_traffic if m.serve_traffic is not None else wait_for_docker,
                reserved_ip=m.reserved_ip,
                wait_for_docker=wait_for_docker,
                # Apps' services keep their data on a block-storage volume of the first host.
                data_volume_gib=max(1, round(quantity_value(m.data_volume_size) / 2**30)) if wait_for_docker else None,
                protect=config.protect_stateful,
                load_balancer=load_balancer,
            ),
            opts=self._child,
        )

    def _registry(self, config: PlatformConfig) -> Registry | None:
        r = config.registry
        if isinstance(r, EcrRegistryConfig):
            from components.registry.aws import EcrRegistry, EcrRegistryArgs

            return EcrRegistry(
                f"{self._name}-registry",
                EcrRegistryArgs(
                    apps=[a.name for a in config.apps], stack=self._stack, keep_images=r.keep_images, protect=config.protect_stateful
                ),
                opts=self._child,
            )
        if not isinstance(r, DigitalOceanRegistryConfig):
            return None
        from components.registry.digitalocean import DigitalOceanRegistry, DigitalOceanRegistryArgs

        return DigitalOceanRegistry(
            f"{self._name}-registry",
            DigitalOceanRegistryArgs(
                name=r.name or f"meteor-{self._stack}",
                region=r.region or config.digitalocean.region,
                tier=r.tier,
                protect=config.protect_stateful,
                existing=r.existing,
            ),
            opts=self._child,
        )

    def _images(self, config: PlatformConfig) -> dict[str, AppImage]:
        """Each app's image: a prebuilt pin, a build from source, or the source stack's digest."""
        images: dict[str, AppImage] = {}
        promoted = [a.name for a in config.apps if a.image is None and a.build is None]
        for app in config.apps:
            if app.image is not None:
                images[app.name] = AppImage(ref=pulumi.Output.from_input(app.image))
            elif app.build is not None:
                from components.config.release import meteor_release
                from components.images.build import MeteorImage, MeteorImageArgs
                from components.versions import node_for_meteor

                assert self.registry is not None, "config validation requires a registry with build"
                context = Path(app.build.context)
                release = meteor_release(self._project_dir / context) if app.build.dockerfile == "meteor" else None
                node = node_for_meteor(release) if release else None
                images[app.name] = MeteorImage(
                    f"{app.name}-build",
                    MeteorImageArgs(
                        app=app.name,
                        stack=self._stack,
                        context=context,
                        dockerfile=app.build.dockerfile,
                        registry=self.registry,
                        meteor_release=release,
                        node_version=app.build.node_version or (node.version if node else None),
                        own_file=app.build.file,
                        base_image=app.build.base_image,
                        build_args=dict(app.build.args),
                        project_dir=self._project_dir,
                    ),
                    opts=self._child,
                ).result
        if promoted and config.promotion.from_stack is not None and config.promotion.source_ready:
            from components.images.promote import PromotedImages, PromotedImagesArgs

            images |= PromotedImages(
                f"{self._name}-promoted",
                PromotedImagesArgs(source=config.promotion.from_stack, apps=promoted, registry=self.registry),
                opts=self._child,
            ).images
        return images

    def _reactivity(self, config: PlatformConfig) -> dict[str, Reactivity]:
        from components.app.reactivity import reactivity
        from components.config.release import app_release

        return {
            app.name: reactivity(i, app_release(app, self._project_dir), self.mongo.connection(app.name))
            for i, app in enumerate(config.apps)
        }

    def _shared_mongo(
        self, config: PlatformConfig, m: ExternalMongoConfig | DigitalOceanMongoConfig, cluster_id: pulumi.Input[str] | None
    ) -> MongoDatabase:
        """The MongoDB implementations both targets offer."""
        if isinstance(m, ExternalMongoConfig):
            from components.mongo.external import ExternalMongo, ExternalMongoArgs

            return ExternalMongo(ExternalMongoArgs(url=m.url, oplog_url=m.oplog_url))
        from components.mongo.digitalocean import DigitalOceanMongo, DigitalOceanMongoArgs, PerAppMongo

        network = self._do_network(config)

        def cluster(suffix: str, users: list[MongoAppUser]) -> DigitalOceanMongo:
            return DigitalOceanMongo(
                f"{self._name}-mongo{suffix}",
                DigitalOceanMongoArgs(
                    name=f"{self._prefix}-mongo{suffix}",
                    region=network.region,
                    vpc_id=network.network_id,
                    vpc_ip_range=network.ip_range,
                    users=users,
                    kubernetes_cluster_id=cluster_id,
                    version=m.version.split(".")[0],
                    size=m.size,
                    nodes=m.nodes,
                    # Only machines that run apps reach the database.
                    droplet_tags=[self.machines.tag] if self.machines and isinstance(config, DockerPlatformConfig) else [],
                    protect=config.protect_stateful,
                ),
                opts=self._child,
            )

        # DigitalOcean gives every database user admin rights: an app that must be isolated from the
        # others gets a cluster of its own.
        isolated = {u.app: cluster(f"-{u.app}", [u]) for u in self._users if u.app in m.isolated_apps}
        shared_users = [u for u in self._users if u.app not in m.isolated_apps]
        shared = cluster("", shared_users) if shared_users else None
        if not isolated and shared is not None:
            return shared
        return PerAppMongo(shared, isolated)

    def _storage(self, config: PlatformConfig) -> FileStorage:
        s = config.storage
        if isinstance(s, SpacesConfig):
            from components.app.environment import public_url
            from components.storage.digitalocean import SpacesStorage, SpacesStorageArgs

            tls = config.ingress.serves_tls
            return SpacesStorage(
                f"{self._name}-storage",
                SpacesStorageArgs(
                    bucket=s.bucket or f"meteor-platform-{self._stack}-files",
                    region=config.digitalocean.region,
                    cors_origins=[public_url(a.domain, tls) for a in config.apps if a.domain],
                    noncurrent_version_days=s.noncurrent_version_days,
                    protect=config.protect_stateful,
                    **self._backup_bucket(config),
                ),
                opts=self._child,
            )
        if isinstance(s, S3Config):
            from components.app.environment import public_url
            from components.aws.provider import caller_account
            from components.kubernetes.aws import EksCluster
            from components.machines.aws import AwsMachines
            from components.storage.aws import S3Storage, S3StorageArgs, default_bucket_name

            tls = config.ingress.serves_tls
            eks_cluster = self.cluster if isinstance(self.cluster, EksCluster) else None
            hosts = self.machines if isinstance(self.machines, AwsMachines) else None
            namespaces = (
                {a.name: a.k8s_namespace for a in config.apps}
                if isinstance(config, KubernetesPlatformConfig)
                else {a.name: a.name for a in config.apps}
            )
            return S3Storage(
                f"{self._name}-storage",
                S3StorageArgs(
                    bucket=s.bucket or default_bucket_name(self._stack, caller_account(self._aws())),
                    region=config.aws.region,
                    stack=self._stack,
                    apps=namespaces,
                    cors_origins=[public_url(a.domain, tls) for a in config.apps if a.domain],
                    noncurrent_version_days=s.noncurrent_version_days,
                    protect=config.protect_stateful,
                    cluster_name=eks_cluster.cluster_name if eks_cluster is not None else None,
                    host_role_name=hosts.role.name if hosts is not None else None,
                    backup_retention_days=self._dump_retention_days(config),
                    backup_namespace=config.mongo.namespace if isinstance(config.mongo, InClusterMongoConfig) else None,
                ),
                opts=self._child,
            )
        if isinstance(s, MinioConfig):
            from components.storage.minio import MinioStorage, MinioStorageArgs

            host = self.docker_hosts[0]
            return MinioStorage(
                f"{self._name}-storage",
                MinioStorageArgs(host=host, bucket=s.bucket, image=s.image, client_image=s.client_image, protect=config.protect_stateful),
                opts=pulumi.ResourceOptions(parent=self, providers=[host.provider], transformations=host.follows_machine()),
            )
        from components.storage.gridfs import GridFsStorage

        return GridFsStorage(s.gridfs_bucket)

    def _backup_bucket(self, config: PlatformConfig) -> dict[str, Any]:
        m = config.mongo
        if not isinstance(m, InClusterMongoConfig | ContainerMongoConfig) or not backups_on(m, True):
            return {}
        return {"backup_bucket": m.backup.bucket or f"meteor-backups-{self._stack}", "backup_retention_days": m.backup.retention_days}

    @staticmethod
    def _dump_retention_days(config: PlatformConfig) -> int | None:
        """Days the S3 bucket keeps a dump, when the platform runs MongoDB and dumps it (under the bucket's dumps prefix)."""
        m = config.mongo
        if not isinstance(m, InClusterMongoConfig | ContainerMongoConfig) or not backups_on(m, True):
            return None
        return m.backup.retention_days

    def _snapshots(self, config: PlatformConfig) -> pulumi.ComponentResource | None:
        """Daily EBS snapshots of the stack's data volumes (aws.snapshots), when on."""
        from components.config.platform import snapshot_volumes, snapshots_on

        if not snapshots_on(config):
            return None
        from components.aws import SNAPSHOT_TAG
        from components.aws.snapshots import VolumeSnapshots, VolumeSnapshotsArgs
        from components.machines.aws import AwsMachines

        target_tags: dict[str, pulumi.Input[str]]
        if snapshot_volumes(config) == "mongo":
            target_tags = {SNAPSHOT_TAG: self._stack}  # components/mongo/kubernetes.py storage_class_parameters
        else:
            assert isinstance(self.machines, AwsMachines) and self.machines.data_volume is not None
            # The data volume's own Name tag (unique per stack): whatever machines/aws.py names it.
            target_tags = {"Name": self.machines.data_volume.tags.apply(lambda tags: (tags or {})["Name"])}
        s = config.aws.snapshots
        return VolumeSnapshots(
            f"{self._name}-snapshots",
            VolumeSnapshotsArgs(
                description=f"{self._prefix} daily snapshots of the data volumes",
                target_tags=target_tags,
                retention_days=s.retention_days,
                time=s.time,
            ),
            opts=self._child,
        )

    # -- observability --------------------------------------------------------------------------

    def _host_metrics_namespace(self, config: PlatformConfig) -> str | None:
        """The CloudWatch agent's namespace on EC2 Docker hosts that alert (the machines step installs the agent)."""
        from components.observability.select import host_agent_namespace

        return host_agent_namespace(config, self._destinations, self._prefix)

    def _watch_facts(self, config: PlatformConfig) -> WatchFacts:
        """What the observability components need from the other capabilities, as values."""
        from components.config.kubernetes import DoksConfig, EksConfig
        from components.observability.select import DataVolumeHost, DoksNodes, Ec2Hosts, EksCluster, TaggedDroplets, WatchFacts

        facts = WatchFacts(
            name=self._name,
            prefix=self._prefix,
            stack=self._stack,
            aws_provider=self.aws_provider,
            kubernetes_provider=self.cluster.provider if self.cluster is not None else None,
        )
        machines = config.machines
        kubernetes = config.kubernetes if isinstance(config, KubernetesPlatformConfig) else None
        if isinstance(machines, AwsMachinesConfig):
            from components.machines.aws import AwsMachines

            assert isinstance(self.machines, AwsMachines)
            hosts = Ec2Hosts(self.machines.role.name, self.machines.instances, self.machines.data_volume is not None)
            facts = replace(facts, ec2_hosts=hosts)
        if isinstance(machines, DigitalOceanMachinesConfig):
            from components.machines.digitalocean import DigitalOceanMachines

            assert isinstance(self.machines, DigitalOceanMachines)
            # The firewall names the machines' tag: once it exists, so does the tag.
            facts = replace(facts, droplets=TaggedDroplets(self.machines.tag, [self.machines.firewall]))
            if self.machines.data_volume is not None and self.docker_hosts:
                facts = replace(facts, data_volume_host=DataVolumeHost(self.docker_hosts[0], self.machines.data_volume))
        if isinstance(kubernetes, EksConfig):
            from components.kubernetes.aws import EksCluster as Eks

            assert isinstance(self.cluster, Eks)
            ready = [*self.cluster.node_groups, self.cluster.pod_identity_agent]
            facts = replace(facts, eks_cluster=EksCluster(self.cluster.known_name, self.cluster.cluster, ready))
        if isinstance(kubernetes, DoksConfig):
            from components.kubernetes.digitalocean import DoksCluster

            assert isinstance(self.cluster, DoksCluster)
            facts = replace(facts, doks_nodes=DoksNodes(self.cluster.cluster.id, self.cluster.cluster))
        if isinstance(config.mongo, DigitalOceanMongoConfig):
            from components.mongo.digitalocean import DigitalOceanMongo, PerAppMongo

            parts = self.mongo.databases if isinstance(self.mongo, PerAppMongo) else {"": self.mongo}
            ids = {app: db.cluster.id for app, db in parts.items() if isinstance(db, DigitalOceanMongo)}
            facts = replace(facts, managed_databases=ids)
        return facts

    # -- Kubernetes target --------------------------------------------------------------------

    def _cluster(self, config: KubernetesPlatformConfig) -> KubernetesTarget:
        from components.config.kubernetes import DoksConfig, EksConfig

        k = config.kubernetes
        if isinstance(k, EksConfig):
            from components.kubernetes.aws import EksCluster, EksClusterArgs

            network = self._aws_network(config)
            return EksCluster(
                f"{self._name}-cluster",
                EksClusterArgs(
                    name=f"{self._prefix}-eks",
                    stack=self._stack,
                    region=config.aws.region,
                    version=k.cluster_version,
                    public_subnet_ids=network.public_subnet_ids,
                    private_subnet_ids=network.private_subnet_ids,
                    admin_cidrs=list(k.admin_cidrs),
                    node_instance_type=k.node_instance_type,
                    min_nodes=k.min_nodes,
                    max_nodes=k.max_nodes,
                    node_disk_gib=k.node_disk_gib,
                    support_type=k.support_type,
                    admin_principals=list(k.admin_principals),
                    control_plane_log_retention_days=config.logs.retention_days,
                ),
                opts=self._child,
            )
        if isinstance(k, DoksConfig):
            from components.kubernetes.digitalocean import DoksCluster, DoksClusterArgs

            network = self._do_network(config)
            return DoksCluster(
                f"{self._name}-cluster",
                DoksClusterArgs(
                    name=f"{self._prefix}-k8s",
                    region=network.region,
                    vpc_id=network.network_id,
                    version_prefix=k.version_prefix,
                    node_size=k.node_size,
                    min_nodes=k.min_nodes,
                    max_nodes=k.max_nodes,
                    ha=k.ha,
                    maintenance_day=k.maintenance_day,
                    maintenance_start=k.maintenance_start,
                    kubeconfig_ttl_days=k.kubeconfig_ttl_days,
                    tags=("meteor-platform", self._stack),
                    admin_cidrs=tuple(k.admin_cidrs),
                ),
                opts=self._child,
            )
        from components.kubernetes.existing import ExistingCluster, ExistingClusterArgs

        return ExistingCluster(
            f"{self._name}-cluster",
            ExistingClusterArgs(context=k.context, kubeconfig=k.kubeconfig, cluster_domain=k.cluster_domain),
            opts=self._child,
        )

    def _addons(self, config: KubernetesPlatformConfig, cluster: KubernetesTarget) -> ClusterReadiness | None:
        from components.config.kubernetes import DoksConfig, EksConfig, installs

        k = config.kubernetes
        chosen = {addon: installs(k, addon) for addon in ("ingress_controller", "cert_manager", "metrics_server")}
        node_autoscaler = None
        if isinstance(k, EksConfig):
            from components.kubernetes.aws import EksCluster

            node_autoscaler = cluster.node_autoscaler if isinstance(cluster, EksCluster) else None
        if not any(chosen.values()) and node_autoscaler is None:
            return None
        from components.config.values import quantity_value
        from components.kubernetes.addons import ClusterAddons, ClusterAddonsArgs

        ingress = config.ingress
        return ClusterAddons(
            f"{self._name}-addons",
            ClusterAddonsArgs(
                **chosen,
                ingress_class=ingress.effective_class_name,
                ingress_namespace=ingress.effective_namespace,
                cluster_issuer=ingress.cluster_issuer,
                acme_email=ingress.acme_email,
                trusted_network=config.digitalocean.vpc_ip_range if isinstance(k, DoksConfig) else None,
                aws_network_load_balancer=isinstance(k, EksConfig),
                redirect_to_https=ingress.serves_tls,
                idle_timeout_seconds=ingress.idle_timeout_seconds,
                max_body_bytes=None if ingress.body_limit is None else int(quantity_value(ingress.body_limit)),
                node_autoscaler=node_autoscaler,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[cluster.provider]),
        )

    def _kubernetes_mongo(self, config: KubernetesPlatformConfig, cluster: KubernetesTarget) -> MongoDatabase:
        m = config.mongo
        if not isinstance(m, InClusterMongoConfig):
            return self._shared_mongo(config, m, cluster.cluster_id)
        from components.mongo.kubernetes import InClusterMongo, InClusterMongoArgs

        mongo = InClusterMongo(
            f"{self._name}-mongo",
            InClusterMongoArgs(
                stack=self._stack,
                users=self._users,
                namespace=m.namespace,
                members=m.members,
                image=m.effective_image,
                storage_size=m.storage_size,
                storage_class=m.storage_class,
                storage_provisioner=m.storage_provisioner,
                cpu=m.cpu,
                memory=m.memory,
                cluster_domain=cluster.cluster_domain,
                protect=config.protect_stateful,
                backup=self.storage.backups(),
                backup_schedule=m.backup.schedule,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[cluster.provider]),
        )
        self.mongo_restore = mongo.restore_command
        return mongo

    def _kubernetes_apps(self, config: KubernetesPlatformConfig, cluster: KubernetesTarget) -> dict[str, MeteorService]:
        from components.app.kubernetes import MeteorApp, MeteorAppArgs, internal_url, migration_component
        from components.endpoints import Pods
        from components.kubernetes import labels

        def pods(a: KubernetesAppConfig) -> tuple[Pods, ...]:
            """The pods serving `a`: its Deployment's, and its canary's."""
            names = [a.name, *([f"{a.name}-canary"] if a.canary else [])]
            return tuple(Pods(a.k8s_namespace, labels.selector(self._stack, n, labels.APP_ROLE)) for n in names)

        def calling_pods(a: KubernetesAppConfig) -> tuple[Pods, ...]:
            """The pods through which `a` calls its siblings: its serving pods and its migrations' (a
            migration reaches what the app reaches, so the sibling must admit it too)."""
            migrations = [
                *([migration_component(a, canary=False)] if a.migrate else []),
                *([migration_component(a, canary=True)] if a.canary and a.canary.migrate else []),
            ]
            return (*pods(a), *(Pods(a.k8s_namespace, labels.selector(self._stack, n, labels.APP_ROLE)) for n in migrations))

        by_name = {a.name: Sibling(name=a.name, url=internal_url(a), port=a.container_port, pods=pods(a)) for a in config.apps}
        on_cluster = pulumi.ResourceOptions(parent=self, providers=[cluster.provider])
        return {
            app.name: MeteorApp(
                app.name,
                MeteorAppArgs(
                    app=with_forwarded_count(app, config.http_forwarded_count),
                    stack=self._stack,
                    mongo=self.reactivity[app.name].connection,
                    storage=self.storage.wiring(app.name),
                    ingress=config.ingress,
                    siblings=[by_name[target] for target in app.connects_to],
                    callers=[p for caller in config.apps if app.name in caller.connects_to for p in calling_pods(caller)],
                    image=self.images[app.name],
                    image_pull_secret=self.registry.pull_credentials if self.registry and not self.registry.nodes_pull_with_role else None,
                    ingress_ready=self.addons.ingress_ready if self.addons else [],
                    autoscaling_ready=self.addons.autoscaling_ready if self.addons else [],
                ),
                opts=on_cluster,
            )
            for app in config.apps
            if app.name in self.images  # none yet while promotion.sourceReady is false (a bootstrap)
        }

    # -- Docker-host target -------------------------------------------------------------------

    def _docker_hosts(self, config: DockerPlatformConfig) -> list[DockerHost]:
        from dataclasses import replace

        from components.docker.hosts import local_docker_host, machine_docker_hosts
        from components.docker.proxy import TraefikProxy, TraefikProxyArgs

        d = config.docker
        names = DockerNames(d.name_prefix or f"{self._name}-{self._stack}")
        behind_load_balancer = config.host_count > 1
        auth = None
        if self.registry is not None:
            from components.docker.hosts import registry_auth

            auth = registry_auth(self.registry.server.apply(lambda server: server.split("/", 1)[0]), self.registry.pull_credentials)
        if isinstance(d, LocalDockerConfig):
            hosts = local_docker_host(self._name, d.local_host, names, self, auth)
        elif self.machines is not None:
            hosts = machine_docker_hosts(self._name, self.machines, names, self, auth)
        else:  # config validation refuses this first, with the same message
            raise ConfigError(
                [f"{key_path(['machines', 'provider'])}: missing; expected cloud machines because docker.hosts is 'machines'"]
            )
        with_networks: list[DockerHost] = []
        for host in hosts:
            proxy = TraefikProxy(
                f"{self._name}-{host.name}-proxy",
                TraefikProxyArgs(
                    host=host,
                    image=d.proxy_image,
                    tls=config.ingress.serves_tls and not behind_load_balancer,
                    acme_email=d.acme_email,
                    http_port=d.http_port,
                    https_port=d.https_port,
                    idle_timeout_seconds=config.ingress.idle_timeout_seconds,
                    protect=config.protect_stateful,
                    bind_address=str(d.bind_address) if isinstance(d, LocalDockerConfig) else None,
                    proxy_protocol_from=config.digitalocean.vpc_ip_range if behind_load_balancer else None,
                ),
                opts=pulumi.ResourceOptions(parent=self, providers=[host.provider], transformations=host.follows_machine()),
            )
            networks = tuple(n for n in (proxy.edge_network, proxy.apps_network, proxy.instance_role_network) if n is not None)
            with_networks.append(replace(host, networks=networks))
        return with_networks

    def _docker_mongo(self, config: DockerPlatformConfig) -> MongoDatabase:
        m = config.mongo
        if not isinstance(m, ContainerMongoConfig):
            return self._shared_mongo(config, m, None)
        from components.mongo.container import ContainerMongo, ContainerMongoArgs

        host = self.docker_hosts[0]
        mongo = ContainerMongo(
            f"{self._name}-mongo",
            ContainerMongoArgs(
                host=host,
                users=self._users,
                image=m.effective_image,
                protect=config.protect_stateful,
                memory_mib=int(quantity_value(m.memory) / 2**20),
                cpus=docker_cpus(m.cpu),
                backup=self.storage.backups(),
                backup_interval_hours=m.backup.interval_hours,
                backup_retention_days=m.backup.retention_days,
            ),
            opts=pulumi.ResourceOptions(parent=self, providers=[host.provider], transformations=host.follows_machine()),
        )
        self.mongo_restore = mongo.restore_command
        return mongo

    def _docker_apps(self, config: DockerPlatformConfig) -> dict[str, MeteorService]:
        from components.app.docker import DockerApp, DockerAppArgs, internal_url

        by_name = {a.name: Sibling(name=a.name, url=internal_url(a), port=a.container_port) for a in config.apps}
        return {
            app.name: DockerApp(
                app.name,
                DockerAppArgs(
                    app=with_forwarded_count(app, config.http_forwarded_count),
                    hosts=self.docker_hosts,
                    mongo=self.reactivity[app.name].connection,
                    storage=self.storage.wiring(app.name),
                    image=self.images[app.name],
                    tls=config.ingress.serves_tls,
                    siblings=[by_name[target] for target in app.connects_to],
                    session_cookie=config.ingress.session_cookie,
                    behind_load_balancer=config.host_count > 1,
                    log_driver=self._shipping.driver if self._shipping is not None else None,
                ),
                opts=self._child,
            )
            for app in config.apps
            if app.name in self.images  # none yet while promotion.sourceReady is false (a bootstrap)
        }
