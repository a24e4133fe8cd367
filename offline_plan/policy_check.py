"""The platform's policies (`policy/rules.py`) run on an offline plan: a fork's pull request,
which has no credentials for `pulumi preview --policy-pack`, sees the same violations."""

from __future__ import annotations

from typing import Any

from policy.rules import Options, Resource, Violation, check, stack_environment


def plan_resources(plan: dict[str, Any]) -> list[Resource]:
    return [
        Resource(
            type=str(r["type"]),
            name=str(r["name"]),
            urn=str(r["urn"]),
            inputs=r["inputs"],
            protect=bool(r.get("protect")),
            dependencies=tuple(r.get("dependencies", [])),
        )
        for r in plan["resources"]
    ]


def options(plan: dict[str, Any]) -> Options:
    """The stack's environment as the policy pack derives it (`policy/pack.py`): the plan's
    `environment` output is the program's `meteor-platform:environment` config, validated
    (components/platform.py exports it); then the stack's name."""
    return stack_environment(plan.get("outputs", {}).get("environment"), str(plan["stack"]))


def violations(plan: dict[str, Any]) -> list[Violation]:
    return check(plan_resources(plan), options=options(plan))
