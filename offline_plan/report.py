"""Renderings of an offline plan: resource tree, JSON, Kubernetes manifests (diffs: `changes` and `render`)."""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

PLAN_FORMAT = 2


def plan_text(plan: dict[str, Any]) -> str:
    """The plan JSON, byte-for-byte deterministic."""
    return json.dumps({"format": PLAN_FORMAT, **plan}, indent=2, sort_keys=True) + "\n"


@dataclass(frozen=True)
class PlanSummary:
    """What a plan creates, for a report with no baseline to diff against: it shows no changes."""

    resources: int
    by_type: list[tuple[str, int]]
    """Each resource type and how many the plan holds, most first."""
    protected: list[tuple[str, str]]
    """(type, name) of each protected resource: `pulumi up` refuses to delete or replace it."""
    retained: list[tuple[str, str]]
    """(type, name) of each retain-on-delete resource: deleting it leaves the cloud object behind."""


def summarize(plan: dict[str, Any]) -> PlanSummary:
    resources: list[dict[str, Any]] = plan["resources"]
    counts = Counter(str(r["type"]) for r in resources)
    return PlanSummary(
        resources=len(resources),
        by_type=sorted(counts.items(), key=lambda item: (-item[1], item[0])),
        protected=sorted((str(r["type"]), str(r["name"])) for r in resources if r.get("protect")),
        retained=sorted((str(r["type"]), str(r["name"])) for r in resources if r.get("retainOnDelete")),
    )


def tree(plan: dict[str, Any]) -> str:
    """Resources indented under their parents, sorted by name; then each app's reactivity."""
    resources: list[dict[str, Any]] = plan["resources"]
    children: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    urns = {r["urn"] for r in resources}
    for r in resources:
        children[r["parent"] if r["parent"] in urns else None].append(r)
    lines = [f"{plan['project']} ({plan['stack']}): {len(resources)} resources"]

    def walk(parent: str | None, depth: int) -> None:
        for r in sorted(children.get(parent, []), key=lambda x: (x["type"], x["name"])):
            flags = " [protected]" if r["protect"] else ""
            flags += " [retained on delete]" if r.get("retainOnDelete") else ""
            lines.append(f"{'  ' * depth}+ {r['type']}  {r['name']}{flags}")
            walk(r["urn"], depth + 1)

    walk(None, 1)
    reactivity: dict[str, str] = plan.get("outputs", {}).get("reactivity") or {}
    if reactivity:
        lines.append("reactivity (how each app's live queries follow MongoDB):")
        lines += [f"  {app}: {summary}" for app, summary in sorted(reactivity.items())]
    return "\n".join(lines) + "\n"


def kubernetes_objects(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Every Kubernetes object as the provider would apply it (auto-names filled in)."""
    objects: list[dict[str, Any]] = []
    for r in plan["resources"]:
        inputs = r["inputs"]
        if not r["type"].startswith("kubernetes:") or "kind" not in inputs:
            continue
        obj = json.loads(json.dumps(inputs))
        meta = obj.setdefault("metadata", {})
        if r.get("objectName"):
            meta["name"] = r["objectName"]
        if r.get("objectNamespace") and "namespace" not in meta:
            meta["namespace"] = r["objectNamespace"]
        objects.append(obj)
    return sorted(objects, key=lambda o: (o["kind"], o["metadata"].get("namespace", ""), o["metadata"]["name"]))


def write_manifests(plan: dict[str, Any], directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.glob("*.yaml"):
        old.unlink()
    written: list[Path] = []
    for obj in kubernetes_objects(plan):
        meta = obj["metadata"]
        stem = "-".join(p for p in (obj["kind"].lower(), meta.get("namespace"), meta["name"]) if p)
        path = directory / f"{stem}.yaml"
        path.write_text(yaml.safe_dump(obj, sort_keys=True, default_flow_style=False))
        written.append(path)
    return written
