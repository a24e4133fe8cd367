"""The platform's policies: every shipped stack passes, and each rule fires on its bad case."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline_plan.__main__ import POLICY_VIOLATION, main
from offline_plan.policy_check import plan_resources, violations
from policy.rules import RULES, Options, Resource, check
from tests.harness import ROOT

STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
URN = "urn:pulumi:{stack}::meteor-platform::{type}::{name}"


def _resource(
    type_: str, inputs: dict[str, Any], *, name: str = "bad", stack: str = "production", protect: bool = False, deps: tuple[str, ...] = ()
) -> Resource:
    return Resource(
        type=type_, name=name, urn=URN.format(stack=stack, type=type_, name=name), inputs=inputs, protect=protect, dependencies=deps
    )


def _deployment(container: dict[str, Any], volumes: list[dict[str, Any]] | None = None, role: str = "app") -> Resource:
    base = {"name": "app", "image": "ghcr.io/acme/todos@sha256:" + "a" * 64, "resources": {"limits": {"cpu": "1", "memory": "1Gi"}}}
    return _resource(
        "kubernetes:apps/v1:Deployment",
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "spec": {
                "template": {
                    "metadata": {"labels": {"meteor-platform/role": role}},
                    "spec": {"containers": [{**base, **container}], "volumes": volumes or []},
                }
            },
        },
    )


def _world_firewall(port: str) -> Resource:
    return _resource(
        "digitalocean:index/firewall:Firewall",
        {"inboundRules": [{"protocol": "tcp", "portRange": port, "sourceAddresses": ["0.0.0.0/0", "::/0"]}]},
    )


BAD: dict[str, list[Resource]] = {
    "no-node-local-app-data": [
        _deployment({}, [{"name": "data", "hostPath": {"path": "/srv"}}]),
        _deployment({}, [{"name": "uploads", "emptyDir": {}}]),
        _resource(
            "docker:index/container:Container",
            {
                "labels": [{"label": "meteor-platform/app", "value": "todos"}],
                "volumes": [{"hostPath": "/srv", "containerPath": "/uploads"}],
                "memory": 512,
                "cpus": "1",
            },
        ),
    ],
    "limits-on-every-container": [
        _deployment({"resources": {"limits": {"memory": "1Gi"}}}),
        _resource("docker:index/container:Container", {"cpus": "1"}),
    ],
    "app-images-pinned-by-digest": [
        _deployment({"image": "ghcr.io/acme/todos:1.2.3"}),
        _resource(
            "docker:index/container:Container",
            {"labels": [{"label": "meteor-platform/app", "value": "todos"}], "memory": 512, "cpus": "1"},
            deps=(URN.format(stack="production", type="docker:index/remoteImage:RemoteImage", name="todos-image"),),
        ),
    ],
    "infrastructure-images-versioned": [
        _resource("docker:index/remoteImage:RemoteImage", {"name": "traefik:latest"}),
        _resource("docker:index/remoteImage:RemoteImage", {"name": "mongo"}),
    ],
    "no-public-buckets": [
        _resource("digitalocean:index/spacesBucket:SpacesBucket", {"acl": "public-read"}, protect=True),
        _resource(
            "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
            {"blockPublicAcls": True, "blockPublicPolicy": False, "ignorePublicAcls": True, "restrictPublicBuckets": True},
        ),
    ],
    "admin-endpoints-not-world-open": [
        _world_firewall("22"),
        _world_firewall("1-65535"),
        _resource("digitalocean:index/databaseFirewall:DatabaseFirewall", {"rules": [{"type": "ip_addr", "value": "0.0.0.0/0"}]}),
        _resource("digitalocean:index/kubernetesCluster:KubernetesCluster", {"controlPlaneFirewall": {"enabled": False}}),
        _resource(
            "digitalocean:index/kubernetesCluster:KubernetesCluster",
            {"controlPlaneFirewall": {"enabled": True, "allowedAddresses": ["0.0.0.0/0"]}},
        ),
        _resource("docker:index/container:Container", {"ports": [{"internal": 27017, "external": 27017}], "memory": 512, "cpus": "1"}),
        _resource(
            "aws:ec2/securityGroup:SecurityGroup",
            {"ingress": [{"fromPort": 22, "toPort": 22, "protocol": "tcp", "cidrBlocks": ["0.0.0.0/0"]}]},
        ),
    ],
    "secrets-by-reference": [
        _deployment({"env": [{"name": "MONGO_URL", "value": "mongodb://app:hunter2@db:27017/app"}]}),
        _deployment({"env": [{"name": "API_TOKEN", "value": "[secret]"}]}),
        _resource("kubernetes:core/v1:ConfigMap", {"kind": "ConfigMap", "data": {"DB_PASSWORD": "hunter2"}}),
    ],
    "stateful-protected-in-production": [
        _resource("digitalocean:index/databaseCluster:DatabaseCluster", {"name": "db"}),
        _resource("docker:index/volume:Volume", {"name": "data"}),
        _resource(
            "kubernetes:apps/v1:StatefulSet",
            {
                "kind": "StatefulSet",
                "spec": {"volumeClaimTemplates": [{"metadata": {"name": "data"}}], "template": {"spec": {"containers": []}}},
            },
            protect=False,
        ),
    ],
    "public-domains-uptime-checked": [
        _resource(
            "kubernetes:networking.k8s.io/v1:Ingress",
            {"kind": "Ingress", "spec": {"rules": [{"host": "todos.example.com"}]}},
        ),
        _resource(
            "docker:index/container:Container",
            {"labels": [{"label": "traefik.http.routers.todos.rule", "value": "Host(`todos.example.org`)"}], "memory": 512, "cpus": "1"},
        ),
    ],
}


# What a case needs beside it: the Docker app container's image is a resource of its own.
CONTEXT = [_resource("docker:index/remoteImage:RemoteImage", {"name": "ghcr.io/acme/todos:main"}, name="todos-image")]


@pytest.mark.parametrize("stack", STACKS)
def test_every_policy_passes_on_the_shipped_stacks(stack: str) -> None:
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text())
    assert violations(plan) == []
    assert len(plan_resources(plan)) == len(plan["resources"])


def test_every_rule_has_bad_cases() -> None:
    assert {rule.name for rule in RULES} == set(BAD)


@pytest.mark.parametrize(("rule", "index"), [(rule, i) for rule, cases in BAD.items() for i in range(len(cases))])
def test_each_rule_fires_on_its_bad_case(rule: str, index: int) -> None:
    target = BAD[rule][index]
    found = check([target, *CONTEXT])
    assert [v.policy for v in found if v.urn == target.urn] and all(v.policy == rule for v in found if v.urn == target.urn), found


def test_environment_scoped_rules_follow_the_environment() -> None:
    unprotected = _resource("digitalocean:index/databaseCluster:DatabaseCluster", {"name": "db"}, stack="staging")
    assert [v.policy for v in check([unprotected], options=Options(environment="production"))] == ["stateful-protected-in-production"]
    assert check([unprotected], options=Options(environment="staging")) == []
    by_tag = _deployment({"image": "ghcr.io/acme/todos:dev"})
    assert check([by_tag], options=Options(environment="dev")) == []
    assert [v.policy for v in check([by_tag], options=Options(environment="staging"))] == ["app-images-pinned-by-digest"]


def test_config_refuses_what_the_policies_forbid_before_they_run(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    """Defence in depth: the config rules stop a bad stack first; the policies catch what code could still produce."""
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    (tmp_path / "Pulumi.production.yaml").write_text((ROOT / "Pulumi.production.yaml").read_text() + "  meteor-platform:protect: false\n")
    assert main(["production", "--root", str(tmp_path), "--quiet"]) == 2
    assert "meteor-platform:protect: got false" in capsys.readouterr().err


def test_a_violation_fails_the_offline_plan_with_its_status(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    import offline_plan.policy_check as policy_check

    def unprotect(resources: list[Resource], options: Options | None = None) -> list[Any]:
        # What a code change that dropped `protect` would produce, through the real rules.
        return check([Resource(r.type, r.name, r.urn, r.inputs, False, r.dependencies) for r in resources], options=options)

    monkeypatch.setattr(policy_check, "check", unprotect)
    assert main(["production", "--quiet"]) == POLICY_VIOLATION
    out = capsys.readouterr().out
    assert "stateful-protected-in-production: meteor-mongo-cluster: a managed database in production without `protect`" in out


def test_only_the_data_volume_probes_own_volume_goes_unprotected_in_production() -> None:
    """The probe's empty volume is disposable by its parent component's type in its URN; any other
    Docker volume, under any other component or nested deeper, still needs `protect`."""
    from policy.rules import stateful_protected_in_production

    probe = "meteor-platform:index:Platform$meteor-platform:observability:DataVolumeProbe"
    volume = "docker:index/volume:Volume"
    disposable = Resource(volume, "probe", f"urn:pulumi:production::meteor-platform::{probe}${volume}::probe", {"name": "p"})
    other = Resource(volume, "data", f"urn:pulumi:production::meteor-platform::meteor-platform:index:Platform${volume}::data", {})
    nested = Resource(volume, "deeper", f"urn:pulumi:production::meteor-platform::{probe}$my:index:Thing${volume}::deeper", {})
    found = list(stateful_protected_in_production([disposable, other, nested], Options(environment="production")))
    assert [r.name for r, _ in found] == ["data", "deeper"]


def test_the_policy_pack_reports_each_rule_through_pulumi_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    import pulumi.runtime
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, Secret, StackValidationArgs

    from policy import pack

    # The stack's config as `pulumi preview --policy-pack` hands it over; not whatever program an
    # earlier test in this worker ran (its environment would decide otherwise).
    monkeypatch.setattr(pulumi.runtime, "get_config", lambda key: "production" if key == "meteor-platform:environment" else None)

    def policy_resource(r: Resource, props: dict[str, Any]) -> PolicyResource:
        opts = PolicyResourceOptions(r.protect, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])
        return PolicyResource(r.type, props, r.urn, r.name, opts, None, None, [], {})

    database = _resource("digitalocean:index/databaseCluster:DatabaseCluster", {"name": "db"})
    leaky = _deployment({"env": [{"name": "API_TOKEN", "value": "x"}]})
    leaky_props = json.loads(json.dumps(leaky.inputs))
    leaky_props["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] = Secret("hunter2")
    resources = [policy_resource(database, dict(database.inputs)), policy_resource(leaky, leaky_props)]
    assert pack.resource(resources[1]).inputs["spec"]["template"]["spec"]["containers"][0]["env"][0]["value"] == "[secret]"
    reported: dict[str, list[tuple[str, str | None]]] = {}
    for policy in pack.policies():
        found = reported.setdefault(policy.name, [])
        policy.validate(StackValidationArgs(resources, {}), lambda message, urn=None, found=found: found.append((message, urn)))  # type: ignore[misc]
    assert {name for name, found in reported.items() if found} == {"stateful-protected-in-production", "secrets-by-reference"}
    assert reported["stateful-protected-in-production"] == [("a managed database in production without `protect`", database.urn)]
    assert all("hunter2" not in message for found in reported.values() for message, _ in found)


def test_an_image_built_at_up_is_not_judged_before_it_exists() -> None:
    """During a preview a build's digest is unknown (it is pushed at `pulumi up`): no false violation."""
    pending = _deployment({"image": "[unknown]"})
    assert check([pending], options=Options(environment="staging")) == []


# -- the stack's environment: one derivation for the policy pack and the offline plan -------------

_PACK_RUN = """
import json, os, sys
sys.path.insert(0, "policy")
from google.protobuf import struct_pb2
from pulumi.runtime import config, proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
import pack

servicer = _PolicyAnalyzerServicer(pack.NAME, "0.0.1", pack.policies(), EnforcementLevel.MANDATORY)
found = {}
for case in json.load(sys.stdin):
    config.CONFIG.get().clear()  # each preview starts a pack process of its own
    # What `pulumi preview --policy-pack policy` gives the pack process (analyzer_plugin.go
    # constructEnv): the stack's config as PULUMI_CONFIG, its project and stack.
    os.environ.update(
        PULUMI_CONFIG=json.dumps(case["config"]), PULUMI_PROJECT="meteor-platform", PULUMI_STACK=case["stack"], PULUMI_DRY_RUN="true"
    )
    request = proto.AnalyzeStackRequest()
    for r in case["resources"]:
        properties = struct_pb2.Struct()
        properties.update(r["inputs"])
        options = proto.AnalyzerResourceOptions(protect=r["protect"])
        request.resources.append(proto.AnalyzerResource(urn=r["urn"], type=r["type"], name=r["name"], properties=properties, options=options))
    response = servicer.AnalyzeStack(request, None)
    resources = [pack.rules.Resource(type=r["type"], name=r["name"], urn=r["urn"], inputs={}) for r in case["resources"]]
    found[case["key"]] = {
        "environment": pack.options_for(resources).environment,
        "violations": sorted({d.policyName for d in response.diagnostics}),
    }
print(json.dumps(found))
"""


def _cli_config(config: dict[str, Any]) -> dict[str, str]:
    """The stack's config as the CLI serialises it for a policy pack: every value a string (objects as JSON)."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in config.items()}


def test_the_policy_pack_and_the_offline_plan_derive_every_stacks_environment_alike() -> None:
    """`aws-staging` and `byoc` are staging by their config, not production by their names: a real
    preview through pulumi_policy's own servicer passes them, as the offline plan does."""
    import subprocess
    import sys

    import yaml

    from offline_plan.policy_check import options

    cases: list[dict[str, Any]] = []
    configured: dict[str, str] = {}
    offline: dict[str, str] = {}
    for stack in STACKS:
        stack_config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        configured[stack] = stack_config["meteor-platform:environment"]
        plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text())
        offline[stack] = options(plan).environment
        resources = [{k: r[k] for k in ("urn", "type", "name", "inputs", "protect")} for r in plan["resources"]]
        cases.append({"key": stack, "stack": stack, "config": _cli_config(stack_config), "resources": resources})
        if stack in ("aws-staging", "byoc"):
            without = {k: v for k, v in stack_config.items() if k != "meteor-platform:environment"}
            cases.append({"key": f"{stack} without environment", "stack": stack, "config": _cli_config(without), "resources": resources})
    # A process of its own, as the pack runs: no runtime config left over from the programs run here.
    proc = subprocess.run(
        [sys.executable, "-c", _PACK_RUN], cwd=ROOT, input=json.dumps(cases), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    found: dict[str, dict[str, Any]] = json.loads(proc.stdout)
    assert {"aws-staging", "byoc"} <= {s for s, e in configured.items() if e == "staging"}
    assert offline == configured
    assert {stack: found[stack]["environment"] for stack in STACKS} == configured
    assert {stack: found[stack]["violations"] for stack in STACKS} == {stack: [] for stack in STACKS}, "every shipped stack passes"
    # Without the config, the name decides: neither name is an environment, so production refuses them.
    for stack in ("aws-staging", "byoc"):
        assert found[f"{stack} without environment"] == {"environment": "production", "violations": ["stateful-protected-in-production"]}


def test_without_an_environment_config_the_stacks_name_decides_then_production() -> None:
    from policy.rules import stack_environment

    assert stack_environment("dev", "production").environment == "dev", "the config comes first"
    assert stack_environment(None, "staging").environment == "staging"
    assert stack_environment(None, "aws-staging").environment == "production"
    assert stack_environment("qa", "dev").environment == "dev", "a value that names no environment is ignored"
