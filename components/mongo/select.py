"""The stack's MongoDB from its `mongo` section: a replica set the platform runs on its target (a
StatefulSet on the cluster, a container on the first Docker host), DigitalOcean's managed MongoDB,
or an external URL."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig
from components.config.mongo import ContainerMongoConfig, DigitalOceanMongoConfig, ExternalMongoConfig, InClusterMongoConfig
from components.docker import DockerHost
from components.kubernetes import KubernetesTarget
from components.mongo import MongoAppUser, StackMongo
from components.network import PrivateNetwork
from components.scope import Scope
from components.storage import BackupTarget
from components.units import docker_cpus, whole_mebibytes

if TYPE_CHECKING:
    import pulumi


def app_users(config: PlatformConfig) -> list[MongoAppUser]:
    """One database user per app, in its own database."""
    return [MongoAppUser(app=a.name, database=a.database) for a in config.apps]


def mongo(
    config: PlatformConfig,
    scope: Scope,
    *,
    cluster: KubernetesTarget | None,
    hosts: list[DockerHost],
    backup: BackupTarget | None,
    network: PrivateNetwork | None,
    machine_tag: str | None,
) -> StackMongo:
    """On the stack's `cluster` or its Docker `hosts`; a replica set it runs dumps to `backup`; a managed
    database joins the DigitalOcean `network` and admits the cluster, or the machines tagged `machine_tag`."""
    if isinstance(config, KubernetesPlatformConfig):
        assert cluster is not None, "a Kubernetes stack has its cluster before its database"
        return kubernetes_mongo(config, scope, cluster, backup=backup, network=network)
    return docker_mongo(config, scope, hosts, backup=backup, network=network, machine_tag=machine_tag)


def kubernetes_mongo(
    config: KubernetesPlatformConfig,
    scope: Scope,
    cluster: KubernetesTarget,
    *,
    backup: BackupTarget | None,
    network: PrivateNetwork | None,
) -> StackMongo:
    m = config.mongo
    if not isinstance(m, InClusterMongoConfig):
        return shared_mongo(config, m, scope, network=network, cluster_id=cluster.cluster_id, droplet_tags=[])
    from components.mongo.kubernetes import InClusterMongo, InClusterMongoArgs

    mongo = InClusterMongo(
        f"{scope.name}-mongo",
        InClusterMongoArgs(
            stack=scope.stack,
            users=app_users(config),
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
            backup=backup,
            backup_schedule=m.backup.schedule,
        ),
        opts=scope.child(cluster.provider),
    )
    return StackMongo(mongo, mongo.restore_command)


def docker_mongo(
    config: DockerPlatformConfig,
    scope: Scope,
    hosts: list[DockerHost],
    *,
    backup: BackupTarget | None,
    network: PrivateNetwork | None,
    machine_tag: str | None,
) -> StackMongo:
    """`machine_tag`: the tag of the cloud machines that run the apps (a managed database admits them)."""
    m = config.mongo
    if not isinstance(m, ContainerMongoConfig):
        tags = [machine_tag] if machine_tag is not None else []
        return shared_mongo(config, m, scope, network=network, cluster_id=None, droplet_tags=tags)
    from components.mongo.container import ContainerMongo, ContainerMongoArgs

    host = hosts[0]
    mongo = ContainerMongo(
        f"{scope.name}-mongo",
        ContainerMongoArgs(
            host=host,
            users=app_users(config),
            image=m.effective_image,
            protect=config.protect_stateful,
            memory_mib=whole_mebibytes(m.memory),
            cpus=docker_cpus(m.cpu),
            backup=backup,
            backup_interval_hours=m.backup.interval_hours,
            backup_retention_days=m.backup.retention_days,
        ),
        opts=scope.on_host(host),
    )
    return StackMongo(mongo, mongo.restore_command)


def shared_mongo(
    config: PlatformConfig,
    m: ExternalMongoConfig | DigitalOceanMongoConfig,
    scope: Scope,
    *,
    network: PrivateNetwork | None,
    cluster_id: pulumi.Input[str] | None,
    droplet_tags: list[str],
) -> StackMongo:
    """The MongoDB implementations both targets offer. A managed database admits the cluster
    `cluster_id` and the droplets tagged `droplet_tags` (only machines that run apps)."""
    if isinstance(m, ExternalMongoConfig):
        from components.mongo.external import ExternalMongo, ExternalMongoArgs

        return StackMongo(ExternalMongo(ExternalMongoArgs(url=m.url, oplog_url=m.oplog_url)))
    from components.mongo.digitalocean import DigitalOceanMongo, DigitalOceanMongoArgs, PerAppMongo

    assert network is not None, "managed MongoDB makes the stack use DigitalOcean (config.uses_digitalocean)"

    def cluster(suffix: str, users: list[MongoAppUser]) -> DigitalOceanMongo:
        return DigitalOceanMongo(
            f"{scope.name}-mongo{suffix}",
            DigitalOceanMongoArgs(
                name=f"{scope.prefix}-mongo{suffix}",
                region=network.region,
                vpc_id=network.network_id,
                vpc_ip_range=network.ip_range,
                users=users,
                kubernetes_cluster_id=cluster_id,
                version=m.version.split(".")[0],
                size=m.size,
                nodes=m.nodes,
                droplet_tags=droplet_tags,
                protect=config.protect_stateful,
            ),
            opts=scope.child(),
        )

    # DigitalOcean gives every database user admin rights: an app that must be isolated from the
    # others gets a cluster of its own.
    users = app_users(config)
    isolated = {u.app: cluster(f"-{u.app}", [u]) for u in users if u.app in m.isolated_apps}
    shared_users = [u for u in users if u.app not in m.isolated_apps]
    shared = cluster("", shared_users) if shared_users else None
    # Each cluster by what it serves (`""` the shared one), for its alerts.
    ids = {**({"": shared.cluster.id} if shared is not None else {}), **{app: db.cluster.id for app, db in isolated.items()}}
    if not isolated and shared is not None:
        return StackMongo(shared, managed_databases=ids)
    return StackMongo(PerAppMongo(shared, isolated), managed_databases=ids)
