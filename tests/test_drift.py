"""Item 7 of issue 19: the daily drift check (`pulumi preview --refresh --expect-no-changes`) reports
nothing on an unchanged stack.

What a provider mints anew on every run (a DigitalOcean kubeconfig download's token and expiry,
pulumi/pulumi-digitalocean#78; an ECR authorization token and its expiry, pulumi/pulumi-docker#952)
must reach no input the program plans: a second run, with every per-run answer of the mocks varied
(`token_round`), plans exactly what the first did, for every shipped stack.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from offline_plan.fakes.mocks import PlanMocks
from tests.harness import run_shipped, shipped

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))


def test_every_shipped_stack_is_checked() -> None:
    assert SHIPPED_STACKS == ["aws-hosts", "aws-production", "aws-staging", "byoc", "dev", "droplets", "production", "staging"]


def test_the_mocks_answer_every_per_run_value_anew_each_round() -> None:
    """Without this the second-run test would prove nothing: each round's tokens and expiries differ."""
    ecr = MockCallArgs("aws:ecr/getAuthorizationToken:getAuthorizationToken", {}, "")
    first, second = (PlanMocks(ROOT, token_round=r).call(ecr)[0] for r in (0, 1))
    for key in ("authorizationToken", "password", "expiresAt"):
        assert first[key] != second[key], key
    doks = MockResourceArgs("digitalocean:index/kubernetesCluster:KubernetesCluster", "meteor-cluster-doks", {"name": "c"})
    configs = [PlanMocks(ROOT, token_round=r).new_resource(doks)[1]["kubeConfigs"][0] for r in (0, 1)]
    for key in ("rawConfig", "token", "expiresAt"):
        assert configs[0][key] != configs[1][key], key


def as_a_preview_compares(plan: dict[str, Any]) -> dict[str, Any]:
    """The plan less each resource's `ignoreChanges` inputs: the engine ignores them "for purposes of
    updates or replacements" (pinned pulumi/resource.py, ResourceOptions.ignore_changes)."""
    compared = copy.deepcopy(plan)
    for resource in compared["resources"]:
        for key in resource.get("ignoreChanges", []):
            assert re.fullmatch(r"[A-Za-z0-9]+", key), f"a nested path ({key}): compare it here before relying on it"
            resource["inputs"].pop(key, None)
    return compared


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_a_second_run_with_every_per_run_answer_varied_plans_the_same(stack: str) -> None:
    """Other API tokens and expiries (`token_round`), a newer AMI matching the filters (`ami_round`)."""
    first, again = shipped(stack), run_shipped(stack, token_round=1, ami_round=1)
    assert as_a_preview_compares(again.plan) == as_a_preview_compares(first.plan)


def test_a_newer_ami_reaches_only_the_instances_ignored_ami() -> None:
    """Without this, the AMI variation could be absent and the test above would not notice."""
    first, again = shipped("aws-hosts"), run_shipped("aws-hosts", ami_round=1)
    moved = [b for b, a in zip(first.plan["resources"], again.plan["resources"], strict=True) if a != b]
    assert moved and all(r["type"] == "aws:ec2/instance:Instance" and "ami" in r["ignoreChanges"] for r in moved)
    assert as_a_preview_compares(again.plan) == as_a_preview_compares(first.plan)


def test_a_promoted_stack_moves_only_its_apps_when_the_source_deploys_new_images(tmp_path: Path) -> None:
    """Production reads staging's `images` through a StackReference at every preview: after staging
    deploys, production's apps differ until promoted (the drift check reports `promotion-pending`, no issue: scripts/drift_check.py),
    and nothing else in it moves."""
    import json

    from offline_plan.runtime import run_program
    from tests.harness import Run, plan_text

    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    (tmp_path / "Pulumi.production.yaml").write_text((ROOT / "Pulumi.production.yaml").read_text())
    staging = json.loads((ROOT / "plans" / "staging.json").read_text())
    (tmp_path / "plans").mkdir()
    (tmp_path / "plans" / "staging.json").write_text(json.dumps(staging))
    before = Run(result=(r := run_program(tmp_path, "production")), plan=json.loads(plan_text(r.as_json())))
    staging["outputs"]["images"] = {app: ref.split("@")[0] + "@sha256:" + "e" * 64 for app, ref in staging["outputs"]["images"].items()}
    (tmp_path / "plans" / "staging.json").write_text(json.dumps(staging))
    after = Run(result=(r := run_program(tmp_path, "production")), plan=json.loads(plan_text(r.as_json())))
    changed = {b["urn"] for b, a in zip(before.plan["resources"], after.plan["resources"], strict=True) if a != b}
    assert changed, "the new source images reach production's apps"
    moved = {urn.rsplit("$", 1)[-1] for urn in changed}
    assert moved == {
        "command:local:Command::meteor-promoted-todos",
        "kubernetes:apps/v1:Deployment::todos-deployment",
        "kubernetes:batch/v1:Job::todos-migrate",
    }, sorted(changed)


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_what_eks_and_its_autoscaler_move_is_no_input_a_refresh_compares(stack: str) -> None:
    """A refresh reads the node groups' desired size (moved by the cluster autoscaler) and the add-ons'
    versions; a preview compares inputs, so these must be ignored or left to EKS."""
    plan = shipped(stack).plan
    groups = [r for r in plan["resources"] if r["type"] == "aws:eks/nodeGroup:NodeGroup"]
    assert groups and all("scalingConfig" in g.get("ignoreChanges", []) for g in groups)
    addons = [r for r in plan["resources"] if r["type"] == "aws:eks/addon:Addon"]
    # Unset, `addon_version` is EKS's choice ("The version of the EKS add-on", optional in the pinned
    # pulumi_aws/eks/addon.py): the version a refresh reads back is compared with nothing.
    assert addons and not any("addonVersion" in a["inputs"] for a in addons)


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_what_doks_and_its_autoscaler_move_is_no_input_a_refresh_compares(stack: str) -> None:
    plan = shipped(stack).plan
    [cluster] = [r for r in plan["resources"] if r["type"] == "digitalocean:index/kubernetesCluster:KubernetesCluster"]
    # `node_count`, with auto-scaling, "should only be set if the desired result is to explicitly reset
    # the number of nodes" (pinned pulumi_digitalocean/_inputs.py); the autoscaler's count is `actualNodeCount`.
    pool = cluster["inputs"]["nodePool"]
    assert pool["autoScale"] is True and "nodeCount" not in pool and "actualNodeCount" not in pool
    assert "version" in cluster["ignoreChanges"], "DOKS auto-upgrades patch releases"
