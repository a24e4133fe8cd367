"""Deployed stacks' URNs are sacred: code that moves keeps type tokens and names, or aliases them.

`tests/deployed_urns/<stack>.txt` lists the URNs a deployed stack holds (engine form). Every one
must still be planned, or be an alias of a planned resource, so `pulumi up` after a refactor
plans no replacement. Remove a line only when the resource is meant to go away.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.harness import ROOT, run_config, shipped

DEPLOYED = sorted(p.stem for p in (ROOT / "tests" / "deployed_urns").glob("*.txt"))


def missing_urns(deployed: list[str], plan: dict[str, Any]) -> list[str]:
    """Deployed URNs that the plan neither keeps nor aliases (each would be deleted and recreated)."""
    kept = {r["urn"] for r in plan["resources"]}
    kept |= {alias for r in plan["resources"] for alias in r.get("aliases", [])}
    return [urn for urn in deployed if urn not in kept]


@pytest.mark.parametrize("stack", DEPLOYED)
def test_deployed_urns_are_kept_or_aliased(stack: str) -> None:
    deployed = (ROOT / "tests" / "deployed_urns" / f"{stack}.txt").read_text().split()
    plan = shipped(stack).plan
    assert missing_urns(deployed, plan) == []


def test_a_renamed_resource_without_alias_is_caught() -> None:
    plan = json.loads((ROOT / "plans" / "byoc.json").read_text())
    deployed = [r["urn"] for r in plan["resources"]]
    renamed = json.loads(json.dumps(plan))
    resource = next(r for r in renamed["resources"] if r["name"] == "todos-deployment")
    resource["urn"] = resource["urn"].replace("todos-deployment", "todos-workload")
    assert missing_urns(deployed, renamed) == [next(u for u in deployed if u.endswith("::todos-deployment"))]
    resource["aliases"] = [next(u for u in deployed if u.endswith("::todos-deployment"))]
    assert missing_urns(deployed, renamed) == []


def test_urns_carry_the_whole_parent_type_chain() -> None:
    """The engine qualifies a child's type with every ancestor's type (not only its parent's)."""
    plan = json.loads((ROOT / "plans" / "byoc.json").read_text())
    deployment = next(r for r in plan["resources"] if r["name"] == "todos-deployment")
    assert deployment["urn"] == (
        "urn:pulumi:byoc::meteor-platform::"
        "meteor-platform:index:Platform$meteor-platform:app:MeteorApp$kubernetes:apps/v1:Deployment::todos-deployment"
    )
    platform = next(r for r in plan["resources"] if r["type"] == "meteor-platform:index:Platform")
    assert platform["urn"] == "urn:pulumi:byoc::meteor-platform::meteor-platform:index:Platform::meteor"


def test_aliases_are_recorded_as_engine_urns(tmp_path: Any) -> None:
    """An alias given in code reaches the plan as the full URN the engine would look up."""
    run = run_config(
        tmp_path,
        {
            "environment": "dev",
            "target": "docker",
            "mongo": {"provider": "container"},
            "ingress": {"tls": "off"},
            "apps": [{"name": "todos", "image": "ghcr.io/acme/todos:1"}],
        },
    )
    # Every resource the platform aliases names a URN of this stack and project.
    for r in run.plan["resources"]:
        for alias in r.get("aliases", []):
            assert alias.startswith("urn:pulumi:test::meteor-platform::")
