"""The platform's policies (`policy/rules.py`) run on an offline plan: a fork's pull request,
which has no credentials for `pulumi preview --policy-pack`, sees the same violations."""

from __future__ import annotations

from typing import Any

from policy.rules import ENVIRONMENTS, Options, Resource, Violation, check


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


def violations(plan: dict[str, Any]) -> list[Violation]:
    environment = plan.get("outputs", {}).get("environment")
    return check(plan_resources(plan), options=Options(environment=environment if environment in ENVIRONMENTS else "production"))
