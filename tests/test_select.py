"""Each capability selects its implementation from its own config section (components/*/select.py):
config in, which implementation and which args out. The implementations are replaced by recorders,
so these run without the Pulumi runtime; the plans (tests/test_plan.py) cover them end to end."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import pulumi
import pytest
import yaml

from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig, parse_config
from components.network.select import StackNetworks
from components.scope import Scope
from tests.harness import DIGEST, ROOT, base_config


class Built:
    """What a recorded constructor returns: every attribute another step reads is a stand-in."""

    def __init__(self, kind: str, resource_name: str = "", args: Any = None) -> None:
        self.kind, self.resource_name, self.args = kind, resource_name, args

    def __getattr__(self, attribute: str) -> Any:
        value = Built(f"{self.kind}.{attribute}")
        setattr(self, attribute, value)  # the same stand-in on every read
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Built(f"{self.kind}()")

    def __iter__(self) -> Any:
        return iter(())  # a stand-in list (node groups) is empty

    def __repr__(self) -> str:
        return f"Built({self.kind!r})"


Record = list[Built]


class Recorder(Protocol):
    def __call__(self, module: str, cls: str, **attributes: Any) -> Record: ...


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """`record(module, Class, **attributes)`: the instances the select modules build of it, instead of
    building it; `attributes` are what the instances answer (else stand-ins)."""

    def recorder(module: str, cls: str, **attributes: Any) -> Record:
        built: Record = []

        def construct(*args: Any, **kwargs: Any) -> Built:
            name, rest = (args[0], args[1:]) if args and isinstance(args[0], str) else ("", args)
            made = Built(cls, name, rest[0] if rest else kwargs.get("args"))
            for attribute, value in attributes.items():
                setattr(made, attribute, value)
            built.append(made)
            return made

        monkeypatch.setattr(importlib.import_module(module), cls, construct)
        return built

    return recorder


def raw(stack: str) -> dict[str, Any]:
    """A shipped stack's config values (without the namespace)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}


def shipped(stack: str, **changes: Any) -> PlatformConfig:
    return parse_config(raw(stack) | changes, set(), project_dir=ROOT)


SCOPE = Scope(name="meteor", stack="test", parent=pulumi.ComponentResource.__new__(pulumi.ComponentResource), project_dir=ROOT)


def test_the_scope_names_and_parents_every_component() -> None:
    assert SCOPE.prefix == "meteor-test"
    assert SCOPE.child().parent is SCOPE.parent


# -- network ------------------------------------------------------------------------------------------


def test_a_digitalocean_stack_gets_its_vpc_and_no_aws_one(record: Recorder) -> None:
    from components.network.select import networks

    do, aws = record("components.network.digitalocean", "DigitalOceanNetwork"), record("components.network.aws", "AwsNetwork")
    built = networks(shipped("staging"), SCOPE)
    [vpc] = do
    assert not aws and built.digitalocean is vpc and built.aws is None and built.network is vpc
    assert (vpc.resource_name, vpc.args.name, vpc.args.region) == ("meteor-network", "meteor-test-vpc", "fra1")


@pytest.mark.parametrize("stack", ["aws-staging", "aws-hosts"])
def test_eks_and_ec2_hosts_get_one_aws_vpc_and_it_is_the_stacks_network(stack: str, record: Recorder) -> None:
    from components.network.select import needs_aws_vpc, networks

    do, aws = record("components.network.digitalocean", "DigitalOceanNetwork"), record("components.network.aws", "AwsNetwork")
    config = shipped(stack)
    built = networks(config, SCOPE)
    [vpc] = aws
    assert needs_aws_vpc(config) and not do and built.aws is vpc and built.network is vpc
    assert (vpc.resource_name, vpc.args.name, vpc.args.region) == ("meteor-aws-network", "meteor-test", config.aws.region)


def test_a_stack_whose_uptime_checks_alone_run_on_aws_has_no_aws_vpc() -> None:
    from components.network.select import needs_aws_vpc

    config = parse_config(base_config(alerts={"emails": ["ops@example.com"], "uptimeChecks": "aws"}))
    assert config.uses_aws and not needs_aws_vpc(config)


# -- machines ------------------------------------------------------------------------------------------


def test_ec2_hosts_join_the_aws_vpc_and_tell_storage_their_role(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.aws", "AwsMachines")
    vpc = Built("vpc")
    config = shipped("aws-hosts")
    chosen = machines(config, SCOPE, StackNetworks(aws=vpc), wait_for_docker=True, cloudwatch_namespace="ns")  # pyright: ignore[reportArgumentType]
    [hosts] = made
    assert chosen is not None and chosen.machines is hosts
    args = hosts.args
    assert (args.name, args.subnet_ids, args.vpc_id, args.cloudwatch_namespace) == (
        "meteor-test",
        vpc.public_subnet_ids,
        vpc.network_id,
        "ns",
    )
    assert args.data_volume_gib is not None and args.serve_traffic and args.wait_for_docker
    assert chosen.instance_role_name is hosts.role.name
    assert chosen.data_volume_name is not None
    assert chosen.ec2_hosts is not None and chosen.ec2_hosts.role_name is hosts.role.name, "what the host alarms watch"
    assert chosen.droplets is None and chosen.droplet_data_volume is None


def test_machines_that_are_not_docker_hosts_keep_no_data_volume(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.digitalocean", "DigitalOceanMachines")
    machines(shipped("droplets"), SCOPE, StackNetworks(digitalocean=Built("vpc")), wait_for_docker=False, cloudwatch_namespace=None)  # pyright: ignore[reportArgumentType]
    [droplets] = made
    assert droplets.args.data_volume_gib is None and droplets.args.load_balancer is None and not droplets.args.wait_for_docker


def test_several_droplets_get_a_load_balancer_with_the_app_domains(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.digitalocean", "DigitalOceanMachines")
    config = shipped(
        "droplets", machines=raw("droplets")["machines"] | {"count": 2, "reservedIp": False}, mongo={"provider": "digitalocean", "nodes": 3}
    )
    chosen = machines(config, SCOPE, StackNetworks(digitalocean=Built("vpc")), wait_for_docker=True, cloudwatch_namespace=None)  # pyright: ignore[reportArgumentType]
    [droplets] = made
    assert chosen is not None and chosen.instance_role_name is None and chosen.data_volume_name is None
    assert chosen.droplets is not None and chosen.droplets.tag is droplets.tag, "the tag DigitalOcean alerts select"
    assert chosen.droplet_data_volume is droplets.data_volume and chosen.ec2_hosts is None
    assert droplets.args.name == "meteor-test-docker" and droplets.args.count == 2
    assert droplets.args.load_balancer.domains == [a.domain for a in config.apps if a.domain]


def test_a_stack_without_machines_gets_none() -> None:
    from components.machines.select import machines

    assert machines(shipped("dev"), SCOPE, StackNetworks(), wait_for_docker=True, cloudwatch_namespace=None) is None


# -- registry and images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "module", "cls"),
    [("aws-staging", "components.registry.aws", "EcrRegistry"), ("staging", "components.registry.digitalocean", "DigitalOceanRegistry")],
)
def test_the_registry_section_picks_the_registry(stack: str, module: str, cls: str, record: Recorder) -> None:
    from components.registry.select import registry

    made = record(module, cls)
    assert registry(shipped(stack), SCOPE) is made[0] and made[0].resource_name == "meteor-registry"


def test_without_a_registry_section_there_is_none() -> None:
    from components.registry.select import registry

    assert registry(shipped("byoc"), SCOPE) is None


def test_a_pinned_image_is_run_as_given_and_a_build_builds_in_the_registry(record: Recorder) -> None:
    from components.images.select import images

    made = record("components.images.build", "MeteorImage")
    pinned = f"ghcr.io/acme/shop@{DIGEST}"
    config = parse_config(
        base_config(
            registry={"provider": "digitalocean"},
            apps=[
                {"name": "shop", "image": pinned},
                {"name": "todos", "build": {"context": "examples/todos", "dockerfile": "meteor"}, "flavor": "meteor"},
            ],
        ),
        project_dir=ROOT,
    )
    registry = Built("registry")
    chosen = images(config, SCOPE, registry)  # pyright: ignore[reportArgumentType]
    [build] = made
    assert list(chosen) == ["shop", "todos"]
    assert repr(chosen["todos"]) == "Built('MeteorImage.result')"
    assert (build.resource_name, build.args.app, build.args.registry, build.args.context) == (
        "todos-build",
        "todos",
        registry,
        Path("examples/todos"),
    )


def test_a_promoted_app_has_no_image_until_its_source_is_ready(record: Recorder) -> None:
    from components.images.select import images

    made = record("components.images.promote", "PromotedImages", images={"todos": "promoted"})
    source = {"fromStack": "acme/meteor-platform/staging", "sourceReady": False}
    waiting = parse_config(base_config(registry={"provider": "digitalocean"}, promotion=source, apps=[{"name": "todos"}]))
    assert images(waiting, SCOPE, Built("registry")) == {} and not made  # pyright: ignore[reportArgumentType]
    ready = parse_config(
        base_config(registry={"provider": "digitalocean"}, promotion=source | {"sourceReady": True}, apps=[{"name": "todos"}])
    )
    assert images(ready, SCOPE, Built("registry")) == {"todos": "promoted"}  # pyright: ignore[reportArgumentType]
    [promoted] = made
    assert (promoted.resource_name, promoted.args.apps, promoted.args.source) == (
        "meteor-promoted",
        ["todos"],
        "acme/meteor-platform/staging",
    )


# -- kubernetes ------------------------------------------------------------------------------------------


def test_eks_joins_the_private_subnets_brings_its_node_autoscaler_and_names_itself_for_pod_identity(record: Recorder) -> None:
    from components.kubernetes.select import cluster

    made, addons = record("components.kubernetes.aws", "EksCluster"), record("components.kubernetes.addons", "ClusterAddons")
    vpc = Built("vpc")
    config = shipped("aws-staging")
    assert isinstance(config, KubernetesPlatformConfig)
    chosen = cluster(config, SCOPE, StackNetworks(aws=vpc))  # pyright: ignore[reportArgumentType]
    [eks], [installed] = made, addons
    assert chosen.target is eks and chosen.addons is installed and chosen.pod_identity_cluster is eks.cluster_name
    assert (eks.resource_name, eks.args.name, eks.args.private_subnet_ids) == ("meteor-cluster", "meteor-test-eks", vpc.private_subnet_ids)
    assert installed.args.node_autoscaler is eks.node_autoscaler and installed.args.aws_network_load_balancer
    assert installed.args.trusted_network is None
    assert chosen.eks is not None and (chosen.eks.name, chosen.eks.cluster) == (eks.known_name, eks.cluster), (
        "what Container Insights is added to"
    )


def test_doks_joins_the_digitalocean_vpc_and_trusts_it_for_the_proxy_protocol(record: Recorder) -> None:
    from components.kubernetes.select import cluster

    made, addons = record("components.kubernetes.digitalocean", "DoksCluster"), record("components.kubernetes.addons", "ClusterAddons")
    vpc = Built("vpc")
    config = shipped("staging")
    assert isinstance(config, KubernetesPlatformConfig)
    chosen = cluster(config, SCOPE, StackNetworks(digitalocean=vpc))  # pyright: ignore[reportArgumentType]
    [doks], [installed] = made, addons
    assert chosen.target is doks and chosen.pod_identity_cluster is None
    assert (doks.args.name, doks.args.vpc_id, doks.args.region) == ("meteor-test-k8s", vpc.network_id, vpc.region)
    assert installed.args.trusted_network == config.digitalocean.vpc_ip_range and installed.args.node_autoscaler is None
    assert chosen.doks_nodes is not None and chosen.doks_nodes.cluster is doks.cluster, "the nodes its alerts select by tag"


def test_an_existing_cluster_without_addons_gets_none_installed(record: Recorder) -> None:
    from components.kubernetes.select import cluster

    made, addons = record("components.kubernetes.existing", "ExistingCluster"), record("components.kubernetes.addons", "ClusterAddons")
    config = parse_config(base_config())
    assert isinstance(config, KubernetesPlatformConfig)
    chosen = cluster(config, SCOPE, StackNetworks())
    assert chosen.target is made[0] and chosen.addons is None and not addons and chosen.pod_identity_cluster is None


# -- Docker hosts ----------------------------------------------------------------------------------------


def test_each_host_gets_its_proxy_and_the_networks_it_made(record: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    import components.docker.hosts
    from components.docker import DockerHost, DockerNames, HostShell
    from components.docker.select import docker_hosts

    def local(name: str, endpoint: str, names: DockerNames, parent: object, auth: object = None) -> list[DockerHost]:
        return [DockerHost(name="local", provider=Built("provider"), names=names, shell=HostShell(endpoint))]  # pyright: ignore[reportArgumentType]

    monkeypatch.setattr(components.docker.hosts, "local_docker_host", local)
    proxies = record("components.docker.proxy", "TraefikProxy", instance_role_network=None)
    config = shipped("dev")
    assert isinstance(config, DockerPlatformConfig)
    [host] = docker_hosts(config, SCOPE, None, None)
    [proxy] = proxies
    assert host.name == "local" and host.names.prefix == "meteor-test" and proxy.args.host.provider is host.provider
    assert host.networks == (proxy.edge_network, proxy.apps_network)
    assert proxy.resource_name == "meteor-local-proxy" and proxy.args.bind_address is not None


def test_machine_hosts_without_machines_is_refused_with_the_config_message() -> None:
    from components.config import ConfigError
    from components.docker.select import docker_hosts

    config = shipped("droplets")
    assert isinstance(config, DockerPlatformConfig)
    with pytest.raises(
        ConfigError, match=r"meteor-platform:machines\.provider: missing; expected cloud machines because docker\.hosts is 'machines'"
    ):
        docker_hosts(config, SCOPE, None, None)


# -- storage ---------------------------------------------------------------------------------------------


def test_s3_grants_the_identities_it_is_given_and_keeps_the_dumps_of_the_replica_set(
    record: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    import components.aws.provider
    from components.storage.aws import default_bucket_name
    from components.storage.select import storage

    monkeypatch.setattr(components.aws.provider, "caller_account", lambda provider: "123456789012")
    made = record("components.storage.aws", "S3Storage")
    config = shipped("aws-staging")
    assert isinstance(config, KubernetesPlatformConfig)
    cluster_name, role = Built("cluster-name"), Built("role")
    chosen = storage(config, SCOPE, hosts=[], aws_provider=Built("aws"), pod_identity_cluster=cluster_name, instance_role_name=role)  # pyright: ignore[reportArgumentType]
    [s3] = made
    assert chosen is s3 and s3.args.cluster_name is cluster_name and s3.args.host_role_name is role
    assert s3.args.bucket == default_bucket_name("test", "123456789012")
    assert s3.args.apps == {a.name: a.k8s_namespace for a in config.apps}
    assert s3.args.backup_namespace == config.mongo.namespace  # pyright: ignore[reportAttributeAccessIssue]
    assert s3.args.backup_retention_days == config.mongo.backup.retention_days  # pyright: ignore[reportAttributeAccessIssue]


def test_on_docker_hosts_s3_names_each_apps_identity_after_the_app(record: Recorder, monkeypatch: pytest.MonkeyPatch) -> None:
    import components.aws.provider
    from components.storage.select import storage

    monkeypatch.setattr(components.aws.provider, "caller_account", lambda provider: "123456789012")
    made = record("components.storage.aws", "S3Storage")
    config = shipped("aws-hosts")
    storage(config, SCOPE, hosts=[], aws_provider=Built("aws"))  # pyright: ignore[reportArgumentType]
    assert made[0].args.apps == {a.name: a.name for a in config.apps} and made[0].args.backup_namespace is None


def test_spaces_keeps_dumps_in_a_bucket_of_their_own_only_when_the_replica_set_is_dumped(record: Recorder) -> None:
    from components.storage.select import storage

    made = record("components.storage.digitalocean", "SpacesStorage")
    storage(shipped("droplets"), SCOPE, hosts=[])
    storage(shipped("staging"), SCOPE, hosts=[])  # managed MongoDB: DigitalOcean backs it up
    dumped, managed = made
    assert (dumped.args.backup_bucket, dumped.args.backup_retention_days) == ("meteor-backups-test", 14)
    assert managed.args.backup_bucket is None
    assert dumped.args.cors_origins == [f"https://{a.domain}" for a in shipped("droplets").apps if a.domain]


def test_minio_runs_on_the_first_host_and_gridfs_needs_nothing(record: Recorder) -> None:
    from components.storage.gridfs import GridFsStorage
    from components.storage.select import storage

    made = record("components.storage.minio", "MinioStorage")
    first, second = Built("host0"), Built("host1")
    storage(shipped("dev"), SCOPE, hosts=[first, second])  # pyright: ignore[reportArgumentType]
    assert made[0].args.host is first
    assert isinstance(storage(shipped("byoc"), SCOPE, hosts=[]), GridFsStorage)


# -- MongoDB ---------------------------------------------------------------------------------------------


def test_the_replica_set_on_a_cluster_dumps_to_the_storage_bucket_and_tells_how_to_restore(record: Recorder) -> None:
    from components.mongo.select import kubernetes_mongo

    made = record("components.mongo.kubernetes", "InClusterMongo")
    config = shipped("byoc")
    assert isinstance(config, KubernetesPlatformConfig)
    target, backup = Built("cluster"), Built("backup")
    chosen = kubernetes_mongo(config, SCOPE, target, backup=backup, network=None)  # pyright: ignore[reportArgumentType]
    [mongo] = made
    assert chosen.database is mongo and chosen.restore_command is mongo.restore_command
    assert mongo.args.backup is backup and mongo.args.cluster_domain is target.cluster_domain
    assert [u.app for u in mongo.args.users] == [a.name for a in config.apps]


def test_managed_mongo_admits_the_cluster_on_kubernetes_and_the_app_hosts_on_docker(record: Recorder) -> None:
    from components.mongo.select import docker_mongo, kubernetes_mongo

    made = record("components.mongo.digitalocean", "DigitalOceanMongo")
    vpc = Built("vpc")
    on_cluster = shipped("staging")
    assert isinstance(on_cluster, KubernetesPlatformConfig)
    target = Built("cluster")
    chosen = kubernetes_mongo(on_cluster, SCOPE, target, backup=None, network=vpc)  # pyright: ignore[reportArgumentType]
    on_hosts = shipped("droplets", mongo={"provider": "digitalocean", "nodes": 3})
    assert isinstance(on_hosts, DockerPlatformConfig)
    docker_mongo(on_hosts, SCOPE, [], backup=None, network=vpc, machine_tag="meteor-test-docker")  # pyright: ignore[reportArgumentType]
    k8s, docker = made
    assert chosen.database is k8s and chosen.restore_command is None
    assert (k8s.args.kubernetes_cluster_id, k8s.args.droplet_tags, k8s.args.vpc_id) == (target.cluster_id, [], vpc.network_id)
    assert (docker.args.kubernetes_cluster_id, docker.args.droplet_tags) == (None, ["meteor-test-docker"])


def test_an_isolated_app_gets_its_own_managed_cluster(record: Recorder) -> None:
    from components.mongo.digitalocean import PerAppMongo
    from components.mongo.select import shared_mongo

    made = record("components.mongo.digitalocean", "DigitalOceanMongo")
    apps = [{"name": n, "image": f"ghcr.io/acme/{n}@{DIGEST}"} for n in ("shop", "billing")]
    config = shipped("staging", mongo=raw("staging")["mongo"] | {"isolatedApps": ["billing"]}, apps=apps)
    assert config.mongo.provider == "digitalocean"
    database = shared_mongo(config, config.mongo, SCOPE, network=Built("vpc"), cluster_id=None, droplet_tags=[])  # pyright: ignore[reportArgumentType]
    billing, shared = made
    assert isinstance(database.database, PerAppMongo)
    assert dict(database.managed_databases) == {"": shared.cluster.id, "billing": billing.cluster.id}, "each cluster's alerts"
    assert (billing.resource_name, [u.app for u in billing.args.users]) == ("meteor-mongo-billing", ["billing"])
    assert (shared.resource_name, [u.app for u in shared.args.users]) == ("meteor-mongo", ["shop"])


def test_an_external_url_is_used_as_given() -> None:
    from components.mongo.external import ExternalMongo
    from components.mongo.select import docker_mongo

    external = {"provider": "external", "url": "mongodb://db.example.com/todos"}
    config = parse_config(
        base_config(target="docker", environment="dev", ingress={"tls": "off"}, mongo=external), {"meteor-platform:mongo"}
    )
    assert isinstance(config, DockerPlatformConfig)
    chosen = docker_mongo(config, SCOPE, [], backup=None, network=None, machine_tag=None)
    assert isinstance(chosen.database, ExternalMongo) and chosen.restore_command is None


# -- apps ------------------------------------------------------------------------------------------------


def test_callers_are_the_calling_apps_pods_in_config_order() -> None:
    from components.app.select import callers_of, calling_pods

    apps = [
        {"name": "shop", "image": f"ghcr.io/acme/shop@{DIGEST}", "connectsTo": ["billing", "accounts"]},
        {"name": "accounts", "image": f"ghcr.io/acme/accounts@{DIGEST}", "connectsTo": ["billing"], "migrate": {"command": ["m"]}},
        {"name": "billing", "image": f"ghcr.io/acme/billing@{DIGEST}"},
    ]
    config = parse_config(base_config(apps=apps))
    assert isinstance(config, KubernetesPlatformConfig)
    pods = {a.name: calling_pods(a, "test") for a in config.apps}
    callers = callers_of(config.apps, pods)
    assert callers == {"shop": [], "accounts": list(pods["shop"]), "billing": [*pods["shop"], *pods["accounts"]]}
    # A migration calls what its app calls: its pods are among the app's calling pods.
    assert [p.labels["app.kubernetes.io/name"] for p in pods["accounts"]] == ["accounts", "accounts-migrate"]


def test_the_topologys_forwarded_count_applies_unless_the_app_sets_one() -> None:
    from components.app.select import with_forwarded_count

    apps = [
        {"name": "shop", "image": f"ghcr.io/acme/shop@{DIGEST}"},
        {"name": "own", "image": f"ghcr.io/acme/own@{DIGEST}", "httpForwardedCount": 3},
    ]
    shop, own = parse_config(base_config(apps=apps)).apps
    assert with_forwarded_count(shop, 2).http_forwarded_count == 2
    assert with_forwarded_count(own, 2) is own


# -- AWS snapshots ---------------------------------------------------------------------------------------


def test_snapshots_select_mongos_volumes_on_eks_and_the_hosts_data_volume_by_its_name(record: Recorder) -> None:
    from components.aws import SNAPSHOT_TAG
    from components.aws.select import snapshots

    made = record("components.aws.snapshots", "VolumeSnapshots")
    volume = Built("data-volume-name")
    on = {"snapshots": {"enabled": True}}
    snapshots(shipped("aws-staging", aws=raw("aws-staging")["aws"] | on), SCOPE, None)
    snapshots(shipped("aws-hosts", aws=raw("aws-hosts")["aws"] | on), SCOPE, volume)  # pyright: ignore[reportArgumentType]
    mongo, hosts = made
    assert mongo.args.target_tags == {SNAPSHOT_TAG: "test"} and hosts.args.target_tags == {"Name": volume}
    assert hosts.resource_name == "meteor-snapshots" and hosts.args.description == "meteor-test daily snapshots of the data volumes"


def test_snapshots_off_build_nothing(record: Recorder) -> None:
    from components.aws.select import snapshots

    made = record("components.aws.snapshots", "VolumeSnapshots")
    assert snapshots(shipped("aws-staging", aws=raw("aws-staging")["aws"] | {"snapshots": {"enabled": False}}), SCOPE, None) is None
    assert not made


# -- Kubernetes-only wiring stays off the neutral contracts ---------------------------------------------


def test_only_a_pod_identity_wiring_names_a_service_account() -> None:
    from components.storage import PodIdentityWiring, StorageWiring, pod_service_account

    assert pod_service_account(StorageWiring(env={"FILE_STORAGE": "s3"})) is None
    assert pod_service_account(PodIdentityWiring(env={"FILE_STORAGE": "s3"}, service_account="todos")) == "todos"


def test_only_a_pod_identity_backup_target_names_a_service_account_and_asks_for_pod_credentials() -> None:
    import pulumi

    from components.storage import POD_IDENTITY_CREDENTIALS_URL, BackupTarget, PodIdentityBackupTarget, backup_service_account

    keyed = BackupTarget(
        host="s3.eu-central-1.amazonaws.com", bucket=pulumi.Output.from_input("dumps"), endpoints=[], region="eu-central-1"
    )
    assert backup_service_account(keyed) is None
    assert keyed.client_env() == {"MC_REGION": "eu-central-1"}
    pods = PodIdentityBackupTarget(**vars(keyed), service_account="mongo-backup")
    assert backup_service_account(pods) == "mongo-backup"
    assert pods.client_env() == {"MC_REGION": "eu-central-1", "MC_STS_ENDPOINT_backup": POD_IDENTITY_CREDENTIALS_URL}
    assert not hasattr(keyed, "service_account")


# -- each target's MongoDB and apps ---------------------------------------------------------------------


def test_mongo_and_apps_go_where_the_target_is(record: Recorder) -> None:
    from components.app.select import apps
    from components.kubernetes import StackCluster
    from components.mongo.select import mongo

    replica_sets = record("components.mongo.kubernetes", "InClusterMongo")
    containers = record("components.mongo.container", "ContainerMongo")
    meteor_apps, docker_apps = record("components.app.kubernetes", "MeteorApp"), record("components.app.docker", "DockerApp")
    on_cluster, on_hosts = shipped("byoc"), shipped("dev")
    target, host, driver = StackCluster(Built("cluster")), Built("host"), Built("log-driver")  # pyright: ignore[reportArgumentType]
    for config in (on_cluster, on_hosts):
        mongo(config, SCOPE, cluster=target.target, hosts=[host], backup=None, network=None, machine_tag=None)  # pyright: ignore[reportArgumentType]
        wiring = {"images": {a.name: Built("image") for a in config.apps}, "reactivity": {a.name: Built("reactivity") for a in config.apps}}
        apps(config, SCOPE, cluster=target, hosts=[host], storage=Built("storage"), registry=None, log_driver=driver, **wiring)  # pyright: ignore[reportArgumentType]
    assert len(replica_sets) == len(containers) == 1 and containers[0].args.host is host
    assert [a.resource_name for a in meteor_apps] == [a.name for a in on_cluster.apps]
    assert [a.resource_name for a in docker_apps] == [a.name for a in on_hosts.apps]
    assert all(a.args.log_driver is driver and a.args.hosts == [host] for a in docker_apps)
    assert all(a.args.image_pull_secret is None and a.args.app.http_forwarded_count is not None for a in meteor_apps)
