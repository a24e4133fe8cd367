"""The pure spec builders, called directly: plain values in, Kubernetes specs out (no mock runtime)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate

from components.app.kubernetes_ingress import body_limit_spec, ingress_annotations
from components.app.kubernetes_network_policy import network_policy_spec
from components.app.kubernetes_specs import container_spec, deployment_spec
from components.config import KubernetesAppConfig, KubernetesPlatformConfig, parse_config
from components.config.ingress import KubernetesIngressConfig
from components.endpoints import Endpoint, Pods
from components.mongo import MongoAppUser
from components.mongo.kubernetes_specs import init_job_spec, member_hosts, spread, stateful_set_spec
from tests.harness import DIGEST

IMAGE = f"ghcr.io/acme/todos@{DIGEST}"


def app(**fields: Any) -> KubernetesAppConfig:
    cfg = parse_config(
        {"environment": "staging", "mongo": {"storageClass": "standard"}, "apps": [{"name": "todos", "image": IMAGE, **fields}]}
    )
    assert isinstance(cfg, KubernetesPlatformConfig)
    return cfg.apps[0]


def camel(value: Any) -> Any:
    """The SDK's snake_case dict keys as the Kubernetes API spells them (for schema validation)."""
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            head, *rest = str(key).rstrip("_").split("_")
            out[head + "".join(p[:1].upper() + p[1:] for p in rest)] = camel(item)
        return out
    if isinstance(value, list):
        return [camel(v) for v in value]
    return value


def test_container_port_env_and_probes_follow_the_contract() -> None:
    spec: Any = container_spec(
        app(flavor="meteord"), image=IMAGE, plain_env={"PORT": "80"}, secret_env=["MONGO_URL"], secret_name="todos-env"
    )
    assert spec["ports"] == [{"name": "http", "container_port": 80, "protocol": "TCP"}]
    env = {e["name"]: e for e in spec["env"]}
    assert env["PORT"] == {"name": "PORT", "value": "80"}
    assert env["MONGO_URL"] == {"name": "MONGO_URL", "value_from": {"secret_key_ref": {"name": "todos-env", "key": "MONGO_URL"}}}
    # Legacy MeteorD runs as root on port 80: only NET_BIND_SERVICE comes back.
    assert spec["security_context"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    assert spec["lifecycle"] == {"pre_stop": {"exec_": {"command": ["sleep", "10"]}}}


def test_deployment_never_drops_capacity_and_yields_replicas_to_the_autoscaler() -> None:
    fixed = app(replicas=3)
    container: Any = container_spec(fixed, image=IMAGE, plain_env={}, secret_env=[], secret_name="s")
    spec: Any = deployment_spec(fixed, container=container, pod_labels={"a": "b"}, selector={"a": "b"}, pull_secrets=["pull"])
    assert spec["strategy"] == {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": "25%"}}
    assert spec["replicas"] == 3
    assert spec["template"]["spec"]["image_pull_secrets"] == [{"name": "pull"}]
    assert spec["template"]["spec"]["security_context"]["run_as_user"] == 1000
    autoscaled = app(autoscaling={"maxReplicas": 5})
    assert "replicas" not in deployment_spec(autoscaled, container=container, pod_labels={}, selector={})
    document = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "todos", "namespace": "todos"},
        "spec": camel(spec),
    }
    kubernetes_validate.validate(document, "1.33.0", strict=True)


def test_network_policy_turns_endpoints_into_egress_rules() -> None:
    mongo = Endpoint(port=27017, pods=Pods(namespace="meteor-mongo", labels={"role": "mongo"}))
    spaces = Endpoint(port=443, cidr="0.0.0.0/0")
    caller = Pods(namespace="shop", labels={"app.kubernetes.io/name": "shop"})
    spec: Any = network_policy_spec(
        app(domain="todos.example.com"),
        selector={"a": "b"},
        ingress_namespace="traefik",
        endpoints=[mongo, spaces],
        callers=[caller],
    )
    egress = spec["egress"]
    assert egress[1] == {
        "to": [
            {
                "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "meteor-mongo"}},
                "pod_selector": {"match_labels": {"role": "mongo"}},
            }
        ],
        "ports": [{"protocol": "TCP", "port": 27017}],
    }
    assert egress[2] == {"to": [{"ip_block": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": 443}]}
    assert len(egress) == 3, "no egress to other apps unless declared (connectsTo)"
    callers, ingress_controller = spec["ingress"]
    assert callers["from_"] == [
        {
            "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "shop"}},
            "pod_selector": {"match_labels": {"app.kubernetes.io/name": "shop"}},
        }
    ]
    assert ingress_controller["from_"][0] == {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "traefik"}}}
    internal: Any = network_policy_spec(app(), selector={}, ingress_namespace="traefik", endpoints=[])
    assert internal["ingress"] == [], "no domain, no callers: nothing may reach it (NetworkPolicy denies all ingress)"


def test_ingress_annotations_per_controller() -> None:
    nginx: Any = ingress_annotations(KubernetesIngressConfig(controller="nginx", tls="certManager"), app())
    assert nginx["nginx.ingress.kubernetes.io/affinity"] == "cookie"
    assert nginx["nginx.ingress.kubernetes.io/proxy-body-size"] == "50m"
    assert nginx["cert-manager.io/cluster-issuer"] == "letsencrypt-prod"
    plain: Any = ingress_annotations(KubernetesIngressConfig(tls="off"), app())
    assert plain == {"traefik.ingress.kubernetes.io/router.entrypoints": "web", "traefik.ingress.kubernetes.io/router.tls": "false"}


def test_ingress_nginx_keeps_its_body_limit_by_default_and_takes_a_set_one() -> None:
    default: Any = ingress_annotations(KubernetesIngressConfig(controller="nginx"), app())
    assert default["nginx.ingress.kubernetes.io/proxy-body-size"] == "50m", "ingress-nginx's own default is 1m: the platform's is 50Mi"
    chosen: Any = ingress_annotations(KubernetesIngressConfig(controller="nginx", max_body_size="2Gi"), app())
    assert chosen["nginx.ingress.kubernetes.io/proxy-body-size"] == "2g"
    assert body_limit_spec(KubernetesIngressConfig(controller="nginx", max_body_size="2Gi")) is None, "no Traefik middleware"


def test_traefik_buffers_only_when_a_body_limit_is_set() -> None:
    unset = KubernetesIngressConfig()
    assert body_limit_spec(unset) is None, "Buffering holds every response whole: not by default"
    assert not any("middlewares" in key for key in ingress_annotations(unset, app())), "no middleware at all"
    limited = KubernetesIngressConfig(max_body_size="2Gi")
    assert body_limit_spec(limited) == {"buffering": {"maxRequestBodyBytes": 2 * 1024**3}}
    annotations = ingress_annotations(limited, app())
    assert annotations["traefik.ingress.kubernetes.io/router.middlewares"] == "todos-todos-body-limit@kubernetescrd"


def test_replica_set_members_spread_and_keep_their_claims() -> None:
    hosts = member_hosts(3, "db", "cluster.local")
    assert hosts == [
        "mongo-0.mongo.db.svc.cluster.local:27017",
        "mongo-1.mongo.db.svc.cluster.local:27017",
        "mongo-2.mongo.db.svc.cluster.local:27017",
    ]
    spec: Any = stateful_set_spec(
        image="mongo:7.0.16",
        members=3,
        service_name="mongo",
        credentials="creds",
        storage_class="retain",
        storage_size="10Gi",
        cpu="500m",
        memory="1Gi",
        pod_labels={"role": "mongo", "x": "y"},
        selector={"role": "mongo"},
    )
    assert spec["persistent_volume_claim_retention_policy"] == {"when_deleted": "Retain", "when_scaled": "Retain"}
    assert spec["volume_claim_templates"][0]["spec"]["storage_class_name"] == "retain"
    assert spec["template"]["spec"]["affinity"] == spread({"role": "mongo"}, required=True)
    preferred: Any = spread({"r": "m"}, required=False)
    assert "required_during_scheduling_ignored_during_execution" not in preferred["pod_anti_affinity"]
    document = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mongo", "namespace": "db"}, "spec": camel(spec)}
    kubernetes_validate.validate(document, "1.33.0", strict=True)


def test_init_job_reads_every_password_from_the_secret() -> None:
    users = [MongoAppUser(app="todos", database="todos"), MongoAppUser(app="billing-api", database="billing_api")]
    spec: Any = init_job_spec(
        image="mongo:7.0.16", first_host="mongo-0:27017", credentials="creds", script="init", users=users, job_labels={"r": "i"}
    )
    container: Any = spec["template"]["spec"]["containers"][0]
    env = {e["name"]: e for e in container["env"]}
    assert env["APP_PASSWORD_BILLING_API"]["value_from"] == {"secret_key_ref": {"name": "creds", "key": "APP_PASSWORD_BILLING_API"}}
    assert all("value" not in e for e in container["env"]), "no plain values: credentials only by reference"
    assert "mongodb://mongo-0:27017/admin?directConnection=true" in container["command"][2]
    assert "PASSWORD" not in container["command"][2], "the script reads credentials from its environment, not argv"
