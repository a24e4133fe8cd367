"""Cluster add-ons: a new DOKS cluster gets Traefik, cert-manager with a ClusterIssuer and metrics-server
before its apps; on a bring-your-own cluster each is opt-in. Chart values and the ClusterIssuer are
checked against the upstream schemas saved in ../shared/schemas (skipped where that is absent)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import jsonschema.validators
import pytest
import yaml

from components import versions
from components.kubernetes.addons import ClusterAddonsArgs, cert_manager_values, cluster_issuer_spec, traefik_values
from tests.harness import ROOT, Run, base_config, run_config, shipped

SCHEMAS = ROOT.parent / "shared" / "schemas"
RELEASE = "kubernetes:helm.sh/v3:Release"
ISSUER = "kubernetes:cert-manager.io/v1:ClusterIssuer"
needs_schemas = pytest.mark.skipif(not SCHEMAS.is_dir(), reason="../shared/schemas is not beside the project")


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("staging")


def test_new_cluster_gets_its_addons_at_pinned_versions(staging: Run) -> None:
    charts = {r["inputs"]["chart"]: r["inputs"] for r in staging.resources(RELEASE)}
    expected = {c.name: c for c in (versions.TRAEFIK_CHART, versions.CERT_MANAGER_CHART, versions.METRICS_SERVER_CHART)}
    assert set(charts) == set(expected)
    for name, chart in expected.items():
        assert charts[name]["version"] == chart.version and charts[name]["repositoryOpts"] == {"repo": chart.repo}
    assert charts["traefik"]["namespace"] == "traefik"
    assert charts["cert-manager"]["values"]["crds"]["enabled"] is True
    provider = staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["urn"]
    assert all(r["provider"] == provider for r in [*staging.resources(RELEASE), *staging.resources(ISSUER)])


def test_traefik_keeps_client_addresses_behind_the_load_balancer(staging: Run) -> None:
    values = next(r for r in staging.resources(RELEASE) if r["inputs"]["chart"] == "traefik")["inputs"]["values"]
    assert values["service"]["annotations"]["service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"] == "true"
    vpc = "10.120.0.0/20"
    for entry in ("web", "websecure"):
        assert values["ports"][entry]["proxyProtocol"]["trustedIPs"] == [vpc]


def test_cluster_issuer_answers_http01_through_the_ingress_class(staging: Run) -> None:
    issuer = staging.one(ISSUER, "meteor-addons-cluster-issuer")
    assert issuer["inputs"]["metadata"]["name"] == "letsencrypt-prod"
    acme = issuer["inputs"]["spec"]["acme"]
    assert acme["email"] == "ops@example.com" and acme["solvers"] == [{"http01": {"ingress": {"ingressClassName": "traefik"}}}]
    cert_manager = next(r for r in staging.resources(RELEASE) if r["inputs"]["chart"] == "cert-manager")
    assert cert_manager["urn"] in issuer["dependencies"]


def test_apps_wait_for_the_addons(staging: Run) -> None:
    releases = {r["inputs"]["chart"]: r["urn"] for r in staging.resources(RELEASE)}
    ingress = staging.one("kubernetes:networking.k8s.io/v1:Ingress", "todos-ingress")
    assert releases["traefik"] in ingress["dependencies"]
    assert staging.one(ISSUER, "meteor-addons-cluster-issuer")["urn"] in ingress["dependencies"]
    autoscaler = staging.one("kubernetes:autoscaling/v2:HorizontalPodAutoscaler", "todos-autoscaler")
    assert releases["metrics-server"] in autoscaler["dependencies"]


def test_control_plane_admits_only_the_admin_networks(staging: Run) -> None:
    cluster = staging.one("digitalocean:index/kubernetesCluster:KubernetesCluster", "meteor-cluster-doks")
    assert cluster["inputs"]["controlPlaneFirewall"] == {"enabled": True, "allowedAddresses": ["203.0.113.0/24"]}


def test_addons_are_opt_in_on_an_existing_cluster(tmp_path: Path) -> None:
    assert not shipped("byoc").resources(RELEASE)
    config = base_config()
    config["kubernetes"] = {"provider": "existing", "addons": {"ingressController": True}}
    run = run_config(tmp_path, config)
    [traefik] = run.resources(RELEASE)
    assert traefik["inputs"]["chart"] == "traefik" and "service" not in traefik["inputs"]["values"]
    assert not run.resources(ISSUER)


# ---------------------------------------------------------------------------------------------
# Against the upstream schemas


def _charts() -> dict[str, Any]:
    return json.loads((SCHEMAS / "charts.json").read_text())


def _merge(base: Any, over: Any) -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        merged = dict(base)
        for key, value in over.items():
            merged[key] = _merge(base.get(key), value)
        return merged
    return over


def _check_values(chart: str, values: dict[str, Any]) -> None:
    entry = _charts()[chart]
    schema = json.loads((SCHEMAS / entry["schema"]).read_text())
    defaults = yaml.safe_load((SCHEMAS / entry["defaults"]).read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    validator.validate(_merge(defaults, values))


ARGS = ClusterAddonsArgs(
    ingress_controller=True, cert_manager=True, metrics_server=True, acme_email="ops@example.com", trusted_network="10.120.0.0/20"
)


@needs_schemas
def test_chart_versions_are_the_ones_the_schemas_describe() -> None:
    charts = _charts()
    assert charts["traefik"]["version"] == versions.TRAEFIK_CHART.version
    assert charts["cert-manager"]["version"] == versions.CERT_MANAGER_CHART.version


@needs_schemas
def test_traefik_values_pass_the_chart_schema() -> None:
    _check_values("traefik", traefik_values(ARGS))
    with pytest.raises(jsonschema.ValidationError):
        _check_values("traefik", {**traefik_values(ARGS), "ingresClass": {}})


@needs_schemas
def test_cert_manager_values_pass_the_chart_schema() -> None:
    _check_values("cert-manager", cert_manager_values())
    with pytest.raises(jsonschema.ValidationError):
        _check_values("cert-manager", {"installCRDs": "yes", "crd": {}})


def _closed(schema: Any) -> Any:
    """A CRD's structural schema as the API server applies it: objects without
    additionalProperties or x-kubernetes-preserve-unknown-fields accept no other fields."""
    if isinstance(schema, dict):
        closed = {k: _closed(v) for k, v in schema.items()}
        open_ended = "additionalProperties" in closed or closed.get("x-kubernetes-preserve-unknown-fields")
        if closed.get("type") == "object" and "properties" in closed and not open_ended:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [_closed(item) for item in schema]
    return schema


@needs_schemas
def test_cluster_issuer_passes_the_crd_schema() -> None:
    crd = yaml.safe_load((SCHEMAS / "cert-manager" / "cert-manager.io_clusterissuers.yaml").read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1")
    schema = _closed(version["schema"]["openAPIV3Schema"])
    issuer = {
        "apiVersion": "cert-manager.io/v1",
        "kind": "ClusterIssuer",
        "metadata": {"name": "letsencrypt-prod"},
        "spec": cluster_issuer_spec(ARGS),
    }
    schema["properties"]["metadata"] = {"type": "object"}
    jsonschema.Draft7Validator(schema).validate(issuer)
    broken = copy.deepcopy(issuer)
    broken["spec"]["acme"]["solvers"][0]["http01"]["ingres"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(schema).validate(broken)


def _traefik_values(tmp_path: Path, **config: Any) -> dict[str, Any]:
    run = run_config(tmp_path, base_config(kubernetes={"provider": "existing", "addons": {"ingressController": True}}, **config))
    [traefik] = run.resources(RELEASE)
    return traefik["inputs"]["values"]


def test_traefik_entry_points_take_the_ingress_timeouts_and_no_middleware(tmp_path: Path) -> None:
    values = _traefik_values(tmp_path, ingress={"idleTimeoutSeconds": 7200, "maxBodySize": "2Gi"})
    for entry in ("web", "websecure"):
        assert values["ports"][entry]["transport"]["respondingTimeouts"] == {"readTimeout": "7200s", "idleTimeout": "7200s"}
        assert "middlewares" not in values["ports"][entry].get("http", {}), "the body limit is each app's, not the entry point's"
    assert "extraObjects" not in values
    assert values["ports"]["web"]["http"]["redirections"]["entryPoint"]["to"] == "websecure"


def test_traefiks_tmp_is_bounded_when_apps_buffer(tmp_path: Path) -> None:
    for name in ("limited", "small", "unset"):
        (tmp_path / name).mkdir()
    limited = _traefik_values(tmp_path / "limited", ingress={"maxBodySize": "2Gi"})
    assert limited["deployment"]["tmpVolume"] == {"emptyDir": {"sizeLimit": "8192Mi"}}, "four bodies at the limit"
    small = _traefik_values(tmp_path / "small", ingress={"maxBodySize": "10Mi"})
    assert small["deployment"]["tmpVolume"] == {"emptyDir": {"sizeLimit": "1024Mi"}}, "at least 1 GiB"
    unset = _traefik_values(tmp_path / "unset")
    assert "tmpVolume" not in unset["deployment"], "nothing buffers: the chart's unbounded default is never filled by Buffering"


def test_plain_http_is_not_redirected(tmp_path: Path) -> None:
    values = _traefik_values(tmp_path, environment="dev", ingress={"tls": "off"})
    assert "redirections" not in values["ports"]["web"].get("http", {})
