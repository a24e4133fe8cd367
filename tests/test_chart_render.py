"""Every Helm release the shipped stacks plan (their committed plans, which test_plan.py keeps
fresh), rendered with the pinned chart by the real Helm library: the output validates strict on
Kubernetes 1.33, and every value the platform passes changes the render (a value whose removal
changes nothing is a defect). The Cluster Autoscaler's chart is vendored (tests/charts, SOURCES.md
there), so its tests run everywhere; the others are read from ../shared/charts and skipped where
../shared is not beside the project."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import kubernetes_validate
import pytest
import yaml

from tests.harness import ROOT

if TYPE_CHECKING:
    import helm_python
from tests.test_addons import _closed  # pyright: ignore[reportPrivateUsage]

SHARED = ROOT.parent / "shared"
CHARTS = SHARED / "charts"
VENDORED_CHARTS = ROOT / "tests" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"
KUBERNETES = "1.33.0"
# What the cluster serves that the charts ask Capabilities about: without policy/v1 Traefik's
# chart falls back to policy/v1beta1 (../shared/charts/SOURCES.md).
API_VERSIONS = ["policy/v1/PodDisruptionBudget"]
CRD_SCHEMAS = {("traefik.io/v1alpha1", "Middleware"): SHARED / "schemas" / "traefik" / "traefik.io_middlewares.yaml"}

# How Helm splits a rendered template into objects (releaseutil.SplitManifests): `---# comment` separates too.
SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")


def chart_file(chart: str, version: str) -> Path:
    """The packed chart: vendored in the project, else in ../shared/charts."""
    vendored = VENDORED_CHARTS / f"{chart}-{version}.tgz"
    return vendored if vendored.is_file() else CHARTS / f"{chart}-{version}.tgz"


class RenderError(Exception):
    pass


@cache
def _loaded(chart: str, version: str) -> helm_python.Chart:
    """The chart loaded once per test process (a loaded chart is immutable; the process's end releases it)."""
    import helm_python as helm

    return helm.Chart.load(chart_file(chart, version))


@cache
def _render(chart: str, version: str, values_json: str, name: str, namespace: str) -> tuple[dict[str, Any], ...]:
    import helm_python as helm
    from helm_python import _native  # pyright: ignore[reportPrivateUsage]

    options = {"name": name, "namespace": namespace, "is_install": True, "kube_version": f"v{KUBERNETES}", "api_versions": API_VERSIONS}
    loaded = _loaded(chart, version)
    try:
        loaded.validate_schema(json.loads(values_json))
        # Chart.render has no api_versions/kube_version keywords; the library's render takes them
        # (helm_render's options: name, namespace, is_install, kube_version, api_versions).
        manifests = json.loads(_native.call_string("helm_render", loaded._raw(), values_json, json.dumps(options)))  # pyright: ignore[reportPrivateUsage]
    except helm.HelmError as error:
        raise RenderError(str(error)) from error
    # libyaml's loader (the same safe constructors): the pure-Python one took most of each render's time.
    documents = [
        yaml.load(part, Loader=yaml.CSafeLoader)
        for path, text in sorted(manifests.items())
        if path.endswith(".yaml")
        for part in SEPARATOR.split(text)
    ]
    return tuple(doc for doc in documents if doc)


def render(release: dict[str, Any], values: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    inputs = release["inputs"]
    # No `name` input: the provider names the release like any auto-named object (the plan's id).
    name = inputs.get("name") or release["id"].rsplit("/", 1)[-1]
    chosen = inputs["values"] if values is None else values
    if not chart_file(inputs["chart"], inputs["version"]).is_file():
        pytest.skip(f"{inputs['chart']}-{inputs['version']}.tgz is neither in tests/charts nor in ../shared/charts")
    return copy.deepcopy(list(_render(inputs["chart"], inputs["version"], json.dumps(chosen, sort_keys=True), name, inputs["namespace"])))


def leaves(values: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Every value the platform sets (a list is one value)."""
    if isinstance(values, dict) and values:
        for key, value in values.items():
            yield from leaves(value, (*path, key))
    else:
        yield path


def without(values: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    """`values` without the leaf at `path` (emptied parents go too: as if the platform never set it)."""
    pruned = copy.deepcopy(values)
    parents = [pruned]
    for key in path[:-1]:
        parents.append(parents[-1][key])
    del parents[-1][path[-1]]
    for parent, key in zip(reversed(parents[:-1]), reversed(path[:-1]), strict=True):
        if not parent[key]:
            del parent[key]
    return pruned


def _plan(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def _releases() -> list[tuple[str, str]]:
    stacks = sorted(p.stem for p in (ROOT / "plans").glob("*.json"))
    return [(stack, r["inputs"]["chart"]) for stack in stacks for r in _plan(stack)["resources"] if r["type"] == RELEASE]


def _release(stack: str, chart: str) -> dict[str, Any]:
    [release] = [r for r in _plan(stack)["resources"] if r["type"] == RELEASE and r["inputs"]["chart"] == chart]
    return release


def test_the_shipped_stacks_plan_every_chart() -> None:
    planned = _releases()
    assert {chart for _, chart in planned} == {"traefik", "cert-manager", "metrics-server", "cluster-autoscaler"}
    assert {stack for stack, _ in planned} >= {"staging", "production", "aws-staging", "aws-production"}


def _validate(obj: dict[str, Any]) -> None:
    crd = CRD_SCHEMAS.get((obj["apiVersion"], obj["kind"]))
    if crd is None:
        kubernetes_validate.validate(obj, KUBERNETES, strict=True)
        return
    import jsonschema

    definition = yaml.safe_load(crd.read_text())
    version = next(v for v in definition["spec"]["versions"] if v["name"] == obj["apiVersion"].split("/")[1])
    schema = _closed(version["schema"]["openAPIV3Schema"])
    schema["properties"]["metadata"] = {"type": "object"}
    jsonschema.Draft7Validator(schema).validate(obj)


@pytest.mark.parametrize(("stack", "chart"), _releases())
def test_planned_release_renders_and_validates_strict(stack: str, chart: str) -> None:
    release = _release(stack, chart)
    objects = render(release)
    assert any(o["kind"] == "Deployment" for o in objects)
    for obj in objects:
        _validate(obj)


def _ignored(release: dict[str, Any]) -> list[str]:
    """The values of `release` whose removal changes nothing in the render."""
    values = release["inputs"]["values"]
    planned = render(release)
    ignored: list[str] = []
    for path in leaves(values):
        if not path:
            continue  # no values at all (metrics-server): nothing to prove
        try:
            changed = render(release, without(values, path)) != planned
        except RenderError:
            changed = True  # the chart cannot render without it
        if not changed:
            ignored.append(".".join(path))
    return ignored


@pytest.mark.parametrize(("stack", "chart"), _releases())
def test_every_planned_value_changes_the_render(stack: str, chart: str) -> None:
    ignored = _ignored(_release(stack, chart))
    assert not ignored, f"{chart} in {stack}: values the chart ignores (or that equal its defaults): {ignored}"


def _with_body_limit(size: int) -> dict[str, Any]:
    """The staging Traefik release as a stack with `ingress.maxBodySize` set would plan it."""
    from components.kubernetes.addons import ClusterAddonsArgs, traefik_values

    release = copy.deepcopy(_release("staging", "traefik"))
    args = ClusterAddonsArgs(ingress_controller=True, cert_manager=True, metrics_server=True, max_body_bytes=size, redirect_to_https=True)
    release["inputs"]["values"] = traefik_values(args)
    return release


def test_with_a_body_limit_every_value_still_changes_the_render() -> None:
    release = _with_body_limit(2 * 1024**3)
    assert not _ignored(release)
    for obj in render(release):
        _validate(obj)


# -- what the edge does, as Traefik is started --------------------------------------------------


def _traefik_args(objects: list[dict[str, Any]]) -> list[str]:
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    return container["args"]


def test_http_redirects_to_https_below_the_acme_solver() -> None:
    args = _traefik_args(render(_release("staging", "traefik")))
    assert "--entryPoints.web.http.redirections.entryPoint.to=:443" in args
    assert "--entryPoints.web.http.redirections.entryPoint.scheme=https" in args
    assert "--entryPoints.web.http.redirections.entryPoint.priority=1" in args
    assert not any(a.startswith("--entryPoints.websecure.http.redirections") for a in args)


@pytest.mark.parametrize("entry", ["web", "websecure"])
def test_entry_points_keep_long_uploads_and_websockets_open(entry: str) -> None:
    args = _traefik_args(render(_release("staging", "traefik")))
    # The staging stack's ingress.idleTimeoutSeconds (3600 by default): Traefik's read timeout is 60 s otherwise.
    assert f"--entryPoints.{entry}.transport.respondingTimeouts.readTimeout=3600s" in args
    assert f"--entryPoints.{entry}.transport.respondingTimeouts.idleTimeout=3600s" in args
    assert not any(a.startswith(f"--entryPoints.{entry}.http.middlewares") for a in args), "nothing buffers by default"


def _tmp_volume(objects: list[dict[str, Any]]) -> dict[str, Any]:
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    [tmp] = [v for v in deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == "tmp"]
    [mount] = [m for c in deployment["spec"]["template"]["spec"]["containers"] for m in c["volumeMounts"] if m["name"] == "tmp"]
    assert mount["mountPath"] == "/tmp", "where Buffering spills (os.TempDir)"
    return tmp


def test_traefik_buffers_nothing_by_default() -> None:
    objects = render(_release("staging", "traefik"))
    assert not [o for o in objects if o["kind"] == "Middleware"]
    assert _tmp_volume(objects) == {"name": "tmp", "emptyDir": {}}


def test_with_a_body_limit_traefiks_tmp_is_bounded() -> None:
    tmp = _tmp_volume(render(_with_body_limit(2 * 1024**3)))
    assert tmp["emptyDir"] == {"sizeLimit": "8192Mi"}, "four 2Gi bodies: the node's disk is not Traefik's to fill"


def test_the_ingress_class_is_rendered() -> None:
    # ingressClass.enabled is the chart's default (true), so the platform does not pass it: the render shows it holds.
    [ingress_class] = [o for o in render(_release("staging", "traefik")) if o["kind"] == "IngressClass"]
    assert ingress_class["metadata"]["name"] == "traefik"
    assert ingress_class["spec"]["controller"] == "traefik.io/ingress-controller"
    assert ingress_class["metadata"].get("annotations", {}).get("ingressclass.kubernetes.io/is-default-class") != "true"


def test_the_ingress_status_gets_the_load_balancers_address() -> None:
    release = _release("staging", "traefik")
    args = _traefik_args(render(release))
    name = release["id"]
    assert f"--providers.kubernetesingress.ingressendpoint.publishedservice=traefik/{name}" in args, "pulumi-kubernetes waits for it"


def test_cert_managers_crds_outlive_the_release() -> None:
    crds = [o for o in render(_release("staging", "cert-manager")) if o["kind"] == "CustomResourceDefinition"]
    assert {c["spec"]["names"]["kind"] for c in crds} >= {"Certificate", "ClusterIssuer", "Issuer"}
    assert all(c["metadata"]["annotations"]["helm.sh/resource-policy"] == "keep" for c in crds)


@pytest.mark.skipif(not SHARED.is_dir(), reason="../shared (Traefik's CRD schemas) is not beside the project")
@pytest.mark.parametrize("size", ["1Ki", "64Gi"])
def test_an_apps_body_limit_passes_the_middleware_crd_at_the_config_bounds(size: str) -> None:
    from components.app.kubernetes_ingress import body_limit_spec
    from components.config.ingress import KubernetesIngressConfig

    spec = body_limit_spec(KubernetesIngressConfig(max_body_size=size))
    middleware = {"apiVersion": "traefik.io/v1alpha1", "kind": "Middleware", "metadata": {"name": "todos-body-limit"}, "spec": spec}
    _validate(middleware)
    assert type(middleware["spec"]["buffering"]["maxRequestBodyBytes"]) is int, "an integer, as the CRD requires"


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_the_cluster_autoscaler_finds_this_clusters_group_in_its_region_as_the_bound_account(stack: str) -> None:
    from components.kubernetes.aws_nodes import AUTOSCALER_NAME

    release = _release(stack, "cluster-autoscaler")
    objects = render(release)
    [deployment] = [o for o in objects if o["kind"] == "Deployment"]
    pod = deployment["spec"]["template"]["spec"]
    [container] = pod["containers"]
    cluster = release["inputs"]["values"]["autoDiscovery"]["clusterName"]
    assert (
        f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{cluster}" in container["command"]
    )
    assert {"name": "AWS_REGION", "value": "eu-central-1"} in container["env"], "no region from the instance metadata (hop limit 1)"
    # The zones' groups are balanced, whatever AMI each was created with (the chart drops the `_1`).
    assert {"--balance-similar-node-groups=true", "--balancing-ignore-label=eks.amazonaws.com/nodegroup-image"} <= set(container["command"])
    assert container["image"] == f"registry.k8s.io/autoscaling/cluster-autoscaler:{release['inputs']['values']['image']['tag']}"
    assert pod["serviceAccountName"] == AUTOSCALER_NAME, "the account Pod Identity binds"
    assert deployment["metadata"]["namespace"] == "kube-system"


@pytest.mark.parametrize("stack", ["staging", "aws-staging"])
def test_traefik_lists_every_emptydir_as_safe_to_evict(stack: str) -> None:
    """Listing a volume the pod does not have, or missing one, keeps its node from scaling down."""
    [deployment] = [o for o in render(_release(stack, "traefik")) if o["kind"] == "Deployment"]
    template = deployment["spec"]["template"]
    scratch = {v["name"] for v in template["spec"]["volumes"] if "emptyDir" in v}
    assert set(template["metadata"]["annotations"]["cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"].split(",")) == scratch
