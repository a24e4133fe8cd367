"""The pure builders of apps and MongoDB, called directly: rollout rules, units, the pod template,
Docker containers, Kubernetes labels (no mock runtime)."""

from __future__ import annotations

import copy
from typing import Any, cast

import pytest

from components.app.docker_specs import (
    Instance,
    Routing,
    app_container,
    instance_labels,
    instance_networks,
    instances,
    migration_container,
)
from components.app.environment import AppEnvironment
from components.app.kubernetes_specs import app_labels, canary_labels, deployment_spec, pod_spec, stable_replicas
from components.app.rollout import instance_counts, termination_grace_seconds
from components.config import DockerAppConfig, DockerPlatformConfig, KubernetesAppConfig, KubernetesPlatformConfig, parse_config
from components.config.apps import MigrationConfig
from components.docker import DockerHost, DockerNames
from components.kubernetes import pods
from components.mongo import MongoAppUser
from components.mongo.container_specs import init_env, mongod_container
from components.mongo.kubernetes_specs import credentials_data
from components.units import docker_cpus, gibibytes, mebibytes, nginx_size, whole_bytes, whole_mebibytes
from tests.harness import DOCKER, KUBERNETES

# ---------------------------------------------------------------------------------------------
# Rollout rules (both targets)


@pytest.mark.parametrize(("replicas", "share", "canary"), [(10, 10, 1), (10, 30, 3), (2, 50, 1), (3, 1, 1), (20, 50, 10)])
def test_the_canary_takes_its_share_at_least_one_and_never_all(replicas: int, share: int, canary: int) -> None:
    counts = instance_counts(replicas, share)
    assert counts.canary == canary
    assert counts.stable == replicas - canary >= 1


def test_without_a_canary_every_instance_is_stable() -> None:
    counts = instance_counts(4, None)
    assert (counts.stable, counts.canary) == (4, 0)


def test_an_instance_gets_its_pre_stop_pause_and_more_before_the_kill() -> None:
    assert termination_grace_seconds(10) > 10
    assert termination_grace_seconds(30) - termination_grace_seconds(10) == 20, "the margin is the same whatever the pause"


# ---------------------------------------------------------------------------------------------
# Units


def test_quantities_convert_to_what_each_target_reads() -> None:
    assert mebibytes("1Gi") == 1024.0
    assert whole_mebibytes("1.5Gi") == 1536
    assert whole_mebibytes("1G") == 953, "decimal gigabytes, rounded down to whole MiB"
    assert gibibytes("10Gi") == 10.0
    assert whole_bytes("50Mi") == 50 * 2**20
    assert docker_cpus("500m") == "0.5" and docker_cpus("2") == "2"
    assert nginx_size("50Mi") == "50m" and nginx_size("1024") == "1024"


# ---------------------------------------------------------------------------------------------
# The pod template (apps, migrations, MongoDB, backups)


def test_every_pod_runs_without_an_api_token_under_the_runtime_seccomp_profile() -> None:
    spec: Any = pods.pod_spec(containers=[{"name": "c"}], user=None, volumes=[])
    assert spec["automount_service_account_token"] is False
    assert spec["security_context"] == {"seccomp_profile": {"type": "RuntimeDefault"}}
    assert "service_account_name" not in spec and "init_containers" not in spec


def test_a_pod_with_a_user_runs_as_it_and_a_cloud_identity_is_its_service_account() -> None:
    spec: Any = pods.pod_spec(containers=[], user=999, volumes=[], service_account="backup", init_containers=[{"name": "i"}])
    assert spec["security_context"]["run_as_non_root"] is True
    assert spec["security_context"]["run_as_user"] == spec["security_context"]["fs_group"] == 999
    assert spec["service_account_name"] == "backup"
    assert spec["automount_service_account_token"] is False, "the identity is not a Kubernetes API token"
    assert spec["init_containers"] == [{"name": "i"}]


# ---------------------------------------------------------------------------------------------
# Kubernetes apps


def kubernetes_app(**fields: Any) -> KubernetesAppConfig:
    config = copy.deepcopy(KUBERNETES)
    config["apps"][0].update(fields)
    parsed = parse_config(config)
    assert isinstance(parsed, KubernetesPlatformConfig)
    return parsed.apps[0]


CANARY = {"image": KUBERNETES["apps"][0]["image"], "share": 30}


def test_with_a_canary_the_service_selects_both_versions_and_each_deployment_only_its_own() -> None:
    app = kubernetes_app(replicas=10, canary=CANARY)
    stable, canary = app_labels(app, "s"), canary_labels(app, "s")
    assert stable.serving.items() <= stable.pods.items() and stable.serving.items() <= canary.pods.items()
    assert not stable.selector.items() <= canary.pods.items(), "the stable Deployment does not adopt canary pods"
    assert not canary.selector.items() <= stable.pods.items()
    assert "meteor-platform/app" not in stable.objects, "other objects never join what the Service selects"
    plain = app_labels(kubernetes_app(), "s")
    assert plain.serving == plain.selector


def test_the_stable_deployment_runs_what_the_canary_leaves_unless_autoscaled() -> None:
    assert stable_replicas(kubernetes_app(replicas=10, canary=CANARY)) == 7
    assert stable_replicas(kubernetes_app(replicas=4)) == 4
    assert stable_replicas(kubernetes_app(replicas=4, autoscaling={"maxReplicas": 8})) is None
    app = kubernetes_app(replicas=10, canary=CANARY)
    spec: Any = deployment_spec(app, container={"name": "meteor"}, pod_labels={}, selector={}, replicas=3)
    assert spec["replicas"] == 3, "the canary's own count"


def test_the_app_pod_drains_for_its_pre_stop_pause_and_binds_low_ports_without_root() -> None:
    app = kubernetes_app(preStopSeconds=15)
    spec: Any = pod_spec(app, containers=[])
    assert spec["termination_grace_period_seconds"] == termination_grace_seconds(15)
    assert spec["enable_service_links"] is False
    low: Any = pod_spec(kubernetes_app(port=80), containers=[])
    assert low["security_context"]["sysctls"][0]["value"] == "0", "a non-root app may listen on port 80"
    assert "sysctls" not in spec["security_context"]


# ---------------------------------------------------------------------------------------------
# Docker apps


def docker_app(**fields: Any) -> DockerAppConfig:
    config = copy.deepcopy(DOCKER)
    config["apps"][0].update(fields)
    parsed = parse_config(config)
    assert isinstance(parsed, DockerPlatformConfig)
    return parsed.apps[0]


def host(name: str, *, instance_role_bridges: str | None = None) -> DockerHost:
    return DockerHost(
        name=name,
        provider=cast(Any, None),
        names=DockerNames(prefix="meteor-t"),
        shell=cast(Any, None),
        instance_role_bridges=instance_role_bridges,
    )


ENVIRONMENT = AppEnvironment(plain={"PORT": "3000", "CLUSTER_ENDPOINT_URL": "x"}, secret={})


def test_instances_spread_round_robin_stable_first_then_the_canary() -> None:
    app = docker_app(replicas=5, canary={"image": "ghcr.io/acme/todos:next", "share": 40})
    placed = instances("web", app, instance_counts(app.replicas, 40), [host("h0"), host("h1")])
    assert [(i.track, i.host.name, i.resource_name) for i in placed] == [
        ("stable", "h0", "web-h0-0"),
        ("stable", "h1", "web-h1-0"),
        ("stable", "h0", "web-h0-1"),
        ("canary", "h0", "web-canary-h0-0"),
        ("canary", "h1", "web-canary-h1-0"),
    ]
    assert placed[3].hostname == "todos-canary-h0-0"


def test_the_track_label_only_with_a_canary() -> None:
    instance = Instance("stable", host("h0"), "web-h0-0", "todos-h0-0")
    routing = Routing(tls=False, session_cookie="c", behind_load_balancer=False)
    plain = {e["label"] for e in instance_labels(docker_app(), instance, routing)}
    assert "meteor-platform/track" not in plain and "meteor-platform/app" in plain
    canary = docker_app(replicas=2, canary={"image": "ghcr.io/acme/todos:next"})
    labelled = {e["label"]: e["value"] for e in instance_labels(canary, instance, routing)}
    assert labelled["meteor-platform/track"] == "stable"


def test_the_instance_role_network_is_the_gateway_only_where_the_host_lets_it_through() -> None:
    app = docker_app()
    ec2 = Instance("stable", host("h0", instance_role_bridges="br-role"), "web-h0-0", "todos-h0-0")
    networks = instance_networks(app, ec2, instance_role=True)
    assert networks[-1] == {"name": ec2.host.names.instance_role, "gw_priority": 1}
    assert len(instance_networks(app, ec2, instance_role=False)) == 2
    local = Instance("stable", host("h0"), "web-h0-0", "todos-h0-0")
    assert len(instance_networks(app, local, instance_role=True)) == 2, "no bridge to the metadata service: no such network"


def test_an_app_container_drains_like_a_pod_and_reports_its_health() -> None:
    app = docker_app(preStopSeconds=12)
    spec: Any = app_container(
        app,
        Instance("stable", host("h0"), "web-h0-0", "todos-h0-0"),
        environment=ENVIRONMENT,
        routing=Routing(tls=True, session_cookie="c", behind_load_balancer=False),
        instance_role=False,
        memory_request_mib=256,
    )
    assert spec["destroy_grace_seconds"] == termination_grace_seconds(12)
    assert spec["memory_reservation"] == 256
    assert app.health_path in spec["healthcheck"]["tests"][-1]
    assert spec["init"] is True and spec["must_run"] is True


def test_a_migration_container_is_created_not_started_with_an_init_only_under_a_wrapper() -> None:
    zodern = migration_container(
        docker_app(flavor="zodern"), MigrationConfig(command=["node", "migrate.js"]), environment=ENVIRONMENT, apps_network="apps"
    )
    assert zodern["start"] is False and zodern["must_run"] is False and zodern["restart"] == "no"
    assert zodern["init"] is True and zodern["entrypoints"] is not None
    plain = migration_container(
        docker_app(flavor="meteor"), MigrationConfig(command=["node", "migrate.js"]), environment=ENVIRONMENT, apps_network="apps"
    )
    assert plain["init"] is False and plain["entrypoints"] is None and plain["command"] == ["node", "migrate.js"]


# ---------------------------------------------------------------------------------------------
# MongoDB


def test_the_init_step_gets_each_apps_password_under_its_name() -> None:
    users = [MongoAppUser(app="todos", database="todos"), MongoAppUser(app="billing-api", database="billing_api")]
    lines = init_env("root-pw", ["mongo:27017"], users, ["p1", "p2"])
    assert "APP_PASSWORD_TODOS=p1" in lines and "APP_PASSWORD_BILLING_API=p2" in lines
    assert "MONGO_ROOT_PASSWORD=root-pw" in lines
    with pytest.raises(ValueError):
        init_env("root-pw", ["mongo:27017"], users, ["p1"])


def test_mongod_runs_as_the_images_user_with_a_private_keyfile() -> None:
    spec: Any = mongod_container(keyfile="k", volume="v", apps_network="apps")
    assert spec["user"] == "999:999"
    assert spec["uploads"][0]["permissions"] == "0400"
    assert spec["capabilities"] == {"drops": ["ALL"]}
    assert spec["networks_advanced"][0]["aliases"] == ["mongo"]


def test_the_replica_sets_secret_holds_one_password_per_app() -> None:
    data = credentials_data("r", "k", {"todos": "p1", "billing-api": "p2"})
    assert data["APP_PASSWORD_BILLING_API"] == "p2" and data["root-password"] == "r" and data["keyfile"] == "k"


def test_a_kubectl_manifest_takes_the_api_spelling_of_the_sdk_keys() -> None:
    spec = {"security_context": {"run_as_non_root": True}, "lifecycle": {"pre_stop": {"exec_": {"command": ["sleep", "5"]}}}}
    assert pods.api_spelling(spec) == {
        "securityContext": {"runAsNonRoot": True},
        "lifecycle": {"preStop": {"exec": {"command": ["sleep", "5"]}}},
    }
    assert pods.api_spelling([{"mount_path": "/tmp"}]) == [{"mountPath": "/tmp"}]
