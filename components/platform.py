"""Composition root: picks each capability's implementation from config and wires them.

    network -> machines -> cluster | Docker hosts + proxy -> registry -> MongoDB -> file storage
            -> Meteor apps (MeteorApp on Kubernetes, DockerApp on Docker hosts)

Each capability sits behind a small protocol (KubernetesTarget, Registry, DockerHosts,
MongoDatabase, FileStorage), so a new cloud is a new implementation chosen here, not a change
to the apps.
"""

from __future__ import annotations

import pulumi

from components.app_environment import build_app_environment
from components.config import AppConfig, PlatformConfig
from components.digitalocean_network import DigitalOceanNetwork, DigitalOceanNetworkArgs
from components.docker_app import DockerApp, DockerAppArgs
from components.docker_hosts import DockerHost, local_docker_host, machine_docker_hosts
from components.docker_mongo import ContainerMongo, ContainerMongoArgs
from components.docker_proxy import TraefikProxy, TraefikProxyArgs
from components.doks import DoksCluster, DoksClusterArgs
from components.kubernetes_target import ExistingCluster, ExistingClusterArgs, KubernetesTarget
from components.machines import DigitalOceanMachines, DigitalOceanMachinesArgs
from components.managed_mongo import DigitalOceanMongo, DigitalOceanMongoArgs
from components.meteor_app import MeteorApp, MeteorAppArgs, Sibling
from components.minio import MinioStorage, MinioStorageArgs
from components.mongo import (
    ExternalMongo,
    ExternalMongoArgs,
    InClusterMongo,
    InClusterMongoArgs,
    MongoAppUser,
    MongoDatabase,
)
from components.registry import DigitalOceanRegistry, DigitalOceanRegistryArgs, Registry
from components.spaces import SpacesStorage, SpacesStorageArgs
from components.storage import FileStorage, GridFsStorage


class Platform(pulumi.ComponentResource):
    """Everything one stack runs; each capability is exposed for users who need the raw resources."""

    network: DigitalOceanNetwork | None
    machines: DigitalOceanMachines | None
    cluster: KubernetesTarget | None
    docker_hosts: list[DockerHost]
    proxies: list[TraefikProxy]
    registry: Registry | None
    mongo: MongoDatabase
    storage: FileStorage
    apps: dict[str, MeteorApp | DockerApp]
    outputs: dict[str, pulumi.Input[object]]

    def __init__(self, name: str, config: PlatformConfig, stack: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:index:Platform", name, None, opts)
        self._config = config
        self._stack = stack
        self._prefix = f"{name}-{stack}"
        child = pulumi.ResourceOptions(parent=self)

        self.network = self._network(name, child)
        self.machines = self._machines(name, child)
        self.cluster = self._cluster(name, child) if config.target == "kubernetes" else None
        self.docker_hosts, self.proxies = self._docker_hosts(name, child)
        self.registry = self._registry(name, child)
        self.mongo = self._mongo(name, child)
        self.storage = self._storage(name, child)

        self.apps = {
            app.name: self._kubernetes_app(app, self.cluster, child) if self.cluster else self._docker_app(app, child)
            for app in config.apps
        }

        self.outputs = {"urls": {n: a.url for n, a in self.apps.items()}}
        if self.registry is not None:
            self.outputs["registry_server"] = self.registry.server
            self.outputs["registry_push_credentials"] = self.registry.push_credentials
        if self.machines is not None:
            self.outputs["docker_hosts"] = self.machines.docker_host_urls
            self.outputs["host_addresses"] = self.machines.public_addresses
        if isinstance(self.cluster, DoksCluster):
            self.outputs["kubeconfig"] = self.cluster.kubeconfig
        self.register_outputs(self.outputs)

    def _kubernetes_app(self, app: AppConfig, cluster: KubernetesTarget, opts: pulumi.ResourceOptions) -> MeteorApp:
        config = self._config
        siblings = [
            Sibling(name=other.name, namespace=other.k8s_namespace, port=other.container_port)
            for other in config.apps
            if other.name != app.name
        ]
        connection = self.mongo.connection(app.name)
        storage = self.storage.wiring(app.name)
        environment = build_app_environment(
            app,
            root_url=_root_url(app.domain, config, f"http://{app.name}.{app.k8s_namespace}.svc:{app.container_port}"),
            endpoint_url=f"http://$(POD_IP):{app.container_port}",
            mongo=connection,
            storage=storage,
            siblings={s.name: f"http://{s.name}.{s.namespace}.svc:{s.port}" for s in siblings},
        )
        return MeteorApp(
            app.name,
            MeteorAppArgs(
                app=app,
                provider=cluster.provider,
                stack=self._stack,
                environment=environment,
                mongo=connection,
                storage=storage,
                ingress=config.ingress,
                siblings=siblings,
                image_pull_secret=self.registry.pull_credentials if self.registry else None,
            ),
            opts=opts,
        )

    def _docker_hosts(self, name: str, opts: pulumi.ResourceOptions) -> tuple[list[DockerHost], list[TraefikProxy]]:
        config = self._config
        if config.target != "docker":
            return [], []
        if config.docker.hosts == "machines":
            assert self.machines is not None  # guaranteed by config validation
            hosts = machine_docker_hosts(name, self.machines, self)
        else:
            hosts = local_docker_host(name, config.docker.local_host, self)
        proxies = [
            TraefikProxy(
                f"{name}-{host.name}-proxy",
                TraefikProxyArgs(
                    provider=host.provider,
                    image=config.docker.proxy_image,
                    tls=config.ingress.tls != "off",
                    acme_email=config.docker.acme_email,
                    http_port=config.docker.http_port,
                    https_port=config.docker.https_port,
                    idle_timeout_seconds=config.ingress.idle_timeout_seconds,
                    protect=config.protect_stateful,
                ),
                opts=opts,
            )
            for host in hosts
        ]
        return hosts, proxies

    def _host_networks(self, index: int) -> tuple[pulumi.Resource, ...]:
        proxy = self.proxies[index]
        return (proxy.edge_network, proxy.apps_network)

    def _docker_app(self, app: AppConfig, opts: pulumi.ResourceOptions) -> DockerApp:
        config = self._config
        connection = self.mongo.connection(app.name)
        environment = build_app_environment(
            app,
            root_url=_root_url(app.domain, config, f"http://{app.name}:{app.container_port}"),
            endpoint_url=f"http://{app.name}:{app.container_port}",
            mongo=connection,
            storage=self.storage.wiring(app.name),
            siblings={o.name: f"http://{o.name}:{o.container_port}" for o in config.apps if o.name != app.name},
        )
        return DockerApp(
            app.name,
            DockerAppArgs(
                app=app,
                hosts=self.docker_hosts,
                environment=environment,
                tls=config.ingress.tls != "off",
                session_cookie=config.ingress.session_cookie,
                ready=(*connection.ready, *(r for i in range(len(self.proxies)) for r in self._host_networks(i))),
            ),
            opts=opts,
        )

    def _uses_digitalocean(self) -> bool:
        c = self._config
        return "digitalocean" in (c.mongo.provider, c.registry.provider, c.machines.provider) or (
            c.kubernetes.provider == "doks" or c.storage.provider == "spaces"
        )

    def _network(self, name: str, opts: pulumi.ResourceOptions) -> DigitalOceanNetwork | None:
        if not self._uses_digitalocean():
            return None
        do_config = self._config.digitalocean
        return DigitalOceanNetwork(
            f"{name}-network",
            DigitalOceanNetworkArgs(name=f"{self._prefix}-vpc", region=do_config.region, ip_range=do_config.vpc_ip_range),
            opts=opts,
        )

    def _cluster(self, name: str, opts: pulumi.ResourceOptions) -> KubernetesTarget:
        k = self._config.kubernetes
        if k.provider == "doks":
            assert self.network is not None
            return DoksCluster(
                f"{name}-cluster",
                DoksClusterArgs(
                    name=f"{self._prefix}-k8s",
                    region=self.network.region,
                    vpc_id=self.network.vpc.id,
                    version_prefix=k.version_prefix,
                    node_size=k.node_size,
                    min_nodes=k.min_nodes,
                    max_nodes=k.max_nodes,
                    ha=k.ha,
                    maintenance_day=k.maintenance_day,
                    maintenance_start=k.maintenance_start,
                    kubeconfig_ttl_days=k.kubeconfig_ttl_days,
                    tags=("meteor-platform", self._stack),
                ),
                opts=opts,
            )
        return ExistingCluster(
            f"{name}-cluster",
            ExistingClusterArgs(context=k.context, kubeconfig=k.kubeconfig, cluster_domain=k.cluster_domain),
            opts=opts,
        )

    def _registry(self, name: str, opts: pulumi.ResourceOptions) -> Registry | None:
        r = self._config.registry
        if r.provider == "none":
            return None
        return DigitalOceanRegistry(
            f"{name}-registry",
            DigitalOceanRegistryArgs(
                name=r.name or f"meteor-{self._stack}",
                region=r.region or self._config.digitalocean.region,
                tier=r.tier,
                protect=self._config.protect_stateful,
            ),
            opts=opts,
        )

    def _machines(self, name: str, opts: pulumi.ResourceOptions) -> DigitalOceanMachines | None:
        m = self._config.machines
        if m.provider == "none":
            return None
        assert self.network is not None and m.ssh_public_key is not None  # guaranteed by config validation
        return DigitalOceanMachines(
            f"{name}-machines",
            DigitalOceanMachinesArgs(
                name=f"{self._prefix}-docker",
                region=self.network.region,
                vpc_id=self.network.vpc.id,
                ssh_public_key=m.ssh_public_key,
                admin_cidrs=m.admin_cidrs,
                count=m.count,
                size=m.size,
                image=m.image,
                deploy_user=m.deploy_user,
                serve_traffic=m.serve_traffic,
                reserved_ip=m.reserved_ip,
                wait_for_docker=self._config.target == "docker",
            ),
            opts=opts,
        )

    def _mongo(self, name: str, opts: pulumi.ResourceOptions) -> MongoDatabase:
        config = self._config
        m = config.mongo
        users = [MongoAppUser(app=a.name, database=a.database) for a in config.apps]
        if m.provider == "external":
            assert m.url is not None  # guaranteed by config validation
            return ExternalMongo(ExternalMongoArgs(url=m.url, oplog_url=m.oplog_url))
        if m.provider == "container":
            return ContainerMongo(
                f"{name}-mongo",
                ContainerMongoArgs(
                    host=self.docker_hosts[0],
                    users=users,
                    image=config.docker.mongo_image,
                    protect=config.protect_stateful,
                    ready_after=self._host_networks(0),
                ),
                opts=opts,
            )
        if m.provider == "digitalocean":
            assert self.network is not None
            return DigitalOceanMongo(
                f"{name}-mongo",
                DigitalOceanMongoArgs(
                    name=f"{self._prefix}-mongo",
                    region=self.network.region,
                    vpc_id=self.network.vpc.id,
                    vpc_ip_range=self.network.ip_range,
                    users=users,
                    kubernetes_cluster_id=self.cluster.cluster_id if isinstance(self.cluster, DoksCluster) else None,
                    version=m.version.split(".")[0],
                    size=m.size,
                    nodes=m.nodes,
                    droplet_tags=[self.machines.tag] if self.machines else [],
                    protect=config.protect_stateful,
                ),
                opts=opts,
            )
        assert self.cluster is not None  # inCluster needs the kubernetes target (config validation)
        return InClusterMongo(
            f"{name}-mongo",
            InClusterMongoArgs(
                provider=self.cluster.provider,
                stack=self._stack,
                users=users,
                namespace=m.namespace,
                members=m.members,
                image=m.image or f"mongo:{m.version}",
                storage_size=m.storage_size,
                storage_class=m.storage_class,
                storage_provisioner=m.storage_provisioner,
                cpu=m.cpu,
                memory=m.memory,
                cluster_domain=self.cluster.cluster_domain,
                protect=config.protect_stateful,
            ),
            opts=opts,
        )

    def _storage(self, name: str, opts: pulumi.ResourceOptions) -> FileStorage:
        s = self._config.storage
        if s.provider == "spaces":
            scheme = "http" if self._config.ingress.tls == "off" else "https"
            return SpacesStorage(
                f"{name}-storage",
                SpacesStorageArgs(
                    bucket=s.bucket or f"meteor-platform-{self._stack}-files",
                    region=self._config.digitalocean.region,
                    cors_origins=[f"{scheme}://{a.domain}" for a in self._config.apps if a.domain],
                    noncurrent_version_days=s.noncurrent_version_days,
                    protect=self._config.protect_stateful,
                ),
                opts=opts,
            )
        if s.provider == "minio":
            return MinioStorage(
                f"{name}-storage",
                MinioStorageArgs(
                    host=self.docker_hosts[0],
                    bucket=s.bucket or "meteor-files",
                    image=self._config.docker.minio_image,
                    client_image=self._config.docker.minio_client_image,
                    protect=self._config.protect_stateful,
                    ready_after=self._host_networks(0),
                ),
                opts=opts,
            )
        return GridFsStorage(s.gridfs_bucket)


def _root_url(domain: str | None, config: PlatformConfig, internal_url: str) -> str:
    if domain is None:
        return internal_url
    return f"{'http' if config.ingress.tls == 'off' else 'https'}://{domain}"
