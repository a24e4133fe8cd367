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

import pulumi

from components.app import MeteorService
from components.app.reactivity import Reactivity
from components.app.select import apps, reactivities
from components.aws.select import snapshots, stack_provider
from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig
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
from components.observability.select import Watching, host_agent_namespace, ship_container_logs, watch, watch_facts
from components.registry import Registry
from components.registry.select import registry
from components.scope import Scope
from components.storage import FileStorage
from components.storage.select import storage


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
    images: dict[str, AppImage]
    """The image each app runs."""
    storage: FileStorage
    mongo: MongoDatabase
    mongo_restore: pulumi.Output[str] | None
    """The script that restores a dump from the backups bucket, when the platform runs MongoDB and dumps it."""
    reactivity: dict[str, Reactivity]
    """How each app's live queries follow MongoDB, and its connection wired for it."""
    container_logs: pulumi.ComponentResource | None
    """The CloudWatch Logs group the app containers of EC2 Docker hosts log to, with `logs.ship`."""
    apps: dict[str, MeteorService]
    snapshots: pulumi.ComponentResource | None
    """Daily EBS snapshots of the data volumes (components/aws/snapshots.py), when on."""
    watching: Watching
    """Alert topics, uptime checks, host and cluster alarms and the cluster watcher, each None where the
    stack does not get it (components/observability/select.py)."""
    outputs: dict[str, pulumi.Input[object]]

    def __init__(
        self,
        name: str,
        config: PlatformConfig,
        stack: str,
        opts: pulumi.ResourceOptions | None = None,
        project_dir: Path | None = None,
    ) -> None:
        # Every AWS resource and data source below inherits the stack's provider (components/aws/provider.py).
        self.aws_provider = stack_provider(config, f"{name}-aws", stack)
        if self.aws_provider is not None:
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(providers=[self.aws_provider]))
        super().__init__("meteor-platform:index:Platform", name, None, opts)
        scope = Scope(name, stack, self, project_dir or Path.cwd())
        destinations = alert_destinations(config)  # where every alert goes (None: nowhere)
        on_hosts = isinstance(config, DockerPlatformConfig)

        stack_networks = networks(config, scope)
        self.network = stack_networks.network
        namespace = host_agent_namespace(config, destinations, scope.prefix)
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
        # MongoDB after storage: it dumps into the storage's backups bucket.
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
        facts = watch_facts(scope, self.aws_provider, fleet, on_cluster, database, self.docker_hosts)
        shipping = ship_container_logs(config, facts, scope.child()) if on_hosts else None
        self.container_logs = shipping
        self.apps = apps(
            config,
            scope,
            cluster=on_cluster,
            hosts=self.docker_hosts,
            images=self.images,
            reactivity=self.reactivity,
            storage=self.storage,
            registry=self.registry,
            log_driver=shipping.driver if shipping is not None else None,
        )

        self.snapshots = snapshots(config, scope, fleet.data_volume_name if fleet is not None else None)
        self.watching = watch(config, destinations, facts, scope.child())
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
