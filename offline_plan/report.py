"""Renderings of an offline plan: resource tree, JSON, Kubernetes manifests, diff, markdown."""

# The mock runtime and deepdiff are untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

PLAN_FORMAT = 1


def plan_text(plan: dict[str, Any]) -> str:
    """The plan JSON, byte-for-byte deterministic."""
    return json.dumps({"format": PLAN_FORMAT, **plan}, indent=2, sort_keys=True) + "\n"


def tree(plan: dict[str, Any]) -> str:
    """Resources indented under their parents, sorted by name."""
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


@dataclass
class PlanDiff:
    added: list[dict[str, Any]] = field(default_factory=lambda: [])
    removed: list[dict[str, Any]] = field(default_factory=lambda: [])
    changed: list[tuple[dict[str, Any], list[str]]] = field(default_factory=lambda: [])

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _path(parts: list[Any]) -> str:
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= 120 else text[:117] + "..."


def diff_plans(old: dict[str, Any], new: dict[str, Any]) -> PlanDiff:
    from deepdiff import DeepDiff  # only a diff needs it (~50 ms to import)

    before = {r["urn"]: r for r in old["resources"]}
    after = {r["urn"]: r for r in new["resources"]}
    result = PlanDiff(
        added=[after[u] for u in sorted(after.keys() - before.keys())],
        removed=[before[u] for u in sorted(before.keys() - after.keys())],
    )
    for urn in sorted(after.keys() & before.keys()):
        delta = DeepDiff(before[urn], after[urn], view="tree", ignore_order=False)
        if not delta:
            continue
        changes: list[str] = []
        for kind, levels in sorted(delta.items()):
            for level in sorted(levels, key=lambda lv: str(lv.path())):
                where = _path(level.path(output_format="list"))
                if kind.endswith("_added"):
                    changes.append(f"+ {where}: {_short(level.t2)}")
                elif kind.endswith("_removed"):
                    changes.append(f"- {where}: {_short(level.t1)}")
                else:
                    changes.append(f"~ {where}: {_short(level.t1)} => {_short(level.t2)}")
        result.changed.append((after[urn], changes))
    return result


def diff_text(diff: PlanDiff) -> str:
    if diff.empty:
        return "no changes\n"
    lines = [f"{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to remove"]
    lines += [f"+ {r['type']}  {r['name']}" for r in diff.added]
    lines += [f"- {r['type']}  {r['name']}" for r in diff.removed]
    for r, changes in diff.changed:
        lines.append(f"~ {r['type']}  {r['name']}")
        lines += [f"    {c}" for c in changes]
    return "\n".join(lines) + "\n"


def markdown(plan: dict[str, Any], diff: PlanDiff | None) -> str:
    resources = plan["resources"]
    counts = Counter(r["type"] for r in resources)
    out = [f"### Offline plan: `{plan['project']}` / `{plan['stack']}`", ""]
    if diff is not None:
        if diff.empty:
            out += ["**No infrastructure changes.**", ""]
        else:
            out += [
                f"**{len(diff.added)} to add, {len(diff.changed)} to change, {len(diff.removed)} to remove**",
                "",
                "| | type | name |",
                "|---|---|---|",
            ]
            out += [f"| + | `{r['type']}` | `{r['name']}` |" for r in diff.added]
            out += [f"| - | `{r['type']}` | `{r['name']}` |" for r in diff.removed]
            out += [f"| ~ | `{r['type']}` | `{r['name']}` |" for r, _ in diff.changed]
            out.append("")
            if diff.changed:
                out += ["<details><summary>Property changes</summary>", "", "```diff"]
                for r, changes in diff.changed:
                    out.append(f"@@ {r['type']} {r['name']} @@")
                    out += changes
                out += ["```", "</details>", ""]
    if plan.get("outputs"):
        out += [
            "<details><summary>Outputs</summary>",
            "",
            "```json",
            json.dumps(plan["outputs"], indent=2, sort_keys=True),
            "```",
            "</details>",
            "",
        ]
    protected = sum(1 for r in resources if r["protect"])
    out += [f"{len(resources)} resources, {protected} protected.", "", "| type | count |", "|---|---:|"]
    out += [f"| `{t}` | {n} |" for t, n in sorted(counts.items())]
    out += ["", "<details><summary>Resource tree</summary>", "", "```", tree(plan).rstrip(), "```", "</details>", ""]
    return "\n".join(out)
