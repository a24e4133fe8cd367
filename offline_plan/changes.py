"""What `pulumi up` would do to go from one plan to the next: create, update, replace, delete.

A changed resource is replaced when a changed property forces it (the providers' table in
`replace_table.json`, plus the program's own `replaceOnChanges`) or when a property that forces
it holds the id of a resource that is itself replaced (a new VPC means a new cluster). It is
deleted before it is replaced when the program says so or the provider must (a name that two
live copies cannot share). Changes under the program's `ignoreChanges` are dropped, as the
engine drops them. A delete or replace of a protected resource is refused by `pulumi up`; one of
a retain-on-delete resource leaves the old one behind; both are data hits the report leads with,
except where leaving it behind is the point (`KEPT_BY_DESIGN`): that is reported, not alarmed on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, Literal, cast

from offline_plan.diffing import SECRET, Change, diff_values

Action = Literal["create", "update", "replace", "delete"]
TABLE = Path(__file__).resolve().parent / "replace_table.json"

KEPT_BY_DESIGN = {
    # components/images/build.py: a promoted stack runs the digest this Image pushed.
    "docker-build:index:Image": "left in the registry: another stack may run this digest; the registry's retention policy removes it",
}
"""Retain-on-delete resources whose old copy is meant to outlive them: deleting one is no data hit."""


class PlanMismatchError(ValueError):
    """The two plans are not of the same project and stack."""


@dataclass
class ResourceChange:
    action: Action
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    changes: list[Change] = field(default_factory=lambda: [])
    replace_reasons: list[str] = field(default_factory=lambda: [])
    delete_before_replace: bool = False
    ignored: list[Change] = field(default_factory=lambda: [])

    @property
    def current(self) -> dict[str, Any]:
        return cast(dict[str, Any], self.new or self.old)

    @property
    def urn(self) -> str:
        return str(self.current["urn"])

    @property
    def type(self) -> str:
        return str(self.current["type"])

    @property
    def name(self) -> str:
        return str(self.current["name"])

    @property
    def protected(self) -> bool:
        return bool((self.old or {}).get("protect") or (self.new or {}).get("protect"))

    @property
    def retained(self) -> bool:
        return bool((self.old or {}).get("retainOnDelete"))

    @property
    def destroys(self) -> bool:
        return self.action in ("replace", "delete")

    @property
    def refused(self) -> bool:
        """`pulumi up` refuses to delete or replace a protected resource."""
        return self.destroys and self.protected

    @property
    def kept_by_design(self) -> bool:
        """Deleting or replacing it leaves the old one where something else still uses it, on purpose."""
        return self.destroys and self.retained and self.type in KEPT_BY_DESIGN

    @property
    def leaves_data_behind(self) -> bool:
        """Deleting or replacing a retain-on-delete resource orphans the old one (and its data)."""
        return self.destroys and self.retained and not self.protected and not self.kept_by_design

    @property
    def symbol(self) -> str:
        if self.action == "replace":
            return "-/+" if self.delete_before_replace else "+-"
        return {"create": "+", "update": "~", "delete": "-"}[self.action]


@dataclass
class PlanChanges:
    project: str
    stack: str
    resources: list[ResourceChange]
    outputs: list[Change]
    secure_config: list[Change]
    downstream: list[tuple[ResourceChange, list[str]]] = field(default_factory=lambda: [])
    """Resources that read outputs of a replaced resource (values only known after it is created)."""

    def of(self, action: Action) -> list[ResourceChange]:
        return [r for r in self.resources if r.action == action]

    @property
    def refused(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.refused]

    @property
    def left_behind(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.leaves_data_behind]

    @property
    def data_hits(self) -> list[ResourceChange]:
        return [r for r in self.resources if r.refused or r.leaves_data_behind]

    @property
    def empty(self) -> bool:
        return not (self.resources or self.outputs or self.secure_config)

    def headline(self) -> str:
        parts = [
            f"{len(self.of('create'))} to create",
            f"{len(self.of('update'))} to update",
            f"{len(self.of('replace'))} to replace",
            f"{len(self.of('delete'))} to delete",
        ]
        if self.data_hits:
            parts.append(f"{len(self.data_hits)} protected-data hit{'s' if len(self.data_hits) != 1 else ''}")
        return ", ".join(parts)


@cache
def replace_table() -> dict[str, Any]:
    return json.loads(TABLE.read_text())


def _steps(pattern: str) -> list[str]:
    return [s for s in pattern.replace("[", ".").replace("]", "").split(".") if s]


def _matches(pattern: str, position: tuple[str | int, ...]) -> bool:
    """A change at `position` touches `pattern` when one is a prefix of the other (`*` any step)."""
    steps = _steps(pattern)
    return all(want in ("*", str(have)) for want, have in zip(steps, position, strict=False))


def _position(change: Change) -> tuple[str | int, ...]:
    return change.new_position or change.old_position


def _kubernetes_rules(resource_type: str) -> list[str]:
    kubernetes = replace_table()["kubernetes"]
    _, group_version, kind = resource_type.split(":", 2)
    return [*kubernetes["everyObject"], *kubernetes["kinds"].get(f"{group_version}/{kind}", [])]


def forcing_paths(resource: dict[str, Any]) -> tuple[list[str], list[str] | None]:
    """(paths that force a replacement, paths that alone do not — None when not that kind of rule)."""
    resource_type = str(resource["type"])
    entry: dict[str, Any] = replace_table()["types"].get(resource_type, {})
    rules = [*entry.get("replaceOn", []), *resource.get("replaceOnChanges", [])]
    if resource_type.startswith("kubernetes:") and "kind" in resource["inputs"]:
        rules += _kubernetes_rules(resource_type)
    return rules, entry.get("replaceUnlessOnly")


def _replace_reasons(resource: dict[str, Any], changes: list[Change]) -> list[str]:
    rules, unless_only = forcing_paths(resource)
    reasons: list[str] = []
    for change in changes:
        position = _position(change)
        if (
            "*" in rules
            or any(_matches(rule, position) for rule in rules)
            or (
                unless_only is not None and not any(_matches(rule, position) and len(_steps(rule)) <= len(position) for rule in unless_only)
            )
        ):
            reasons.append(_describe(change))
    return reasons


def _describe(change: Change) -> str:
    from offline_plan.diffing import render_path

    return render_path(change.path)


def _delete_before_replace(resource: dict[str, Any]) -> bool:
    if "deleteBeforeReplace" in resource:
        return bool(resource["deleteBeforeReplace"])
    resource_type = str(resource["type"])
    inputs = resource["inputs"]
    if resource_type.startswith("kubernetes:") and "kind" in inputs:
        metadata = cast(dict[str, Any], inputs.get("metadata") or {})
        return bool(metadata.get("name"))
    entry = replace_table()["types"].get(resource_type, {})
    rule = entry.get("deleteBeforeReplace")
    if rule == "always":
        return True
    return rule == "explicitName" and bool(inputs.get(entry.get("nameInput", "name")))


def _ignored(resource: dict[str, Any], change: Change) -> bool:
    return any(
        _matches(pattern, _position(change)) and len(_steps(pattern)) <= len(_position(change))
        for pattern in resource.get("ignoreChanges", [])
    )


def _id_positions(value: Any, wanted: set[str], position: tuple[str | int, ...] = ()) -> list[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, dict):
        found: list[tuple[tuple[str | int, ...], str]] = []
        for key, item in cast(dict[str, Any], value).items():
            found += _id_positions(item, wanted, (*position, key))
        return found
    if isinstance(value, list):
        found = []
        for index, item in enumerate(cast(list[Any], value)):
            found += _id_positions(item, wanted, (*position, index))
        return found
    return [(position, value)] if isinstance(value, str) and value in wanted else []


def _check_same_stack(old: dict[str, Any], new: dict[str, Any]) -> None:
    for key in ("project", "stack"):
        if old.get(key) != new.get(key):
            raise PlanMismatchError(
                f"the earlier plan is of {key} {old.get(key)!r}, this one of {new.get(key)!r}: a diff between them means nothing"
            )


def plan_changes(old: dict[str, Any], new: dict[str, Any]) -> PlanChanges:
    """What `pulumi up` would do to a stack deployed as `old` to make it `new`."""
    _check_same_stack(old, new)
    before = {r["urn"]: r for r in old["resources"]}
    after = {r["urn"]: r for r in new["resources"]}
    matched: dict[str, str] = {}  # new urn -> old urn
    for urn, resource in after.items():
        if urn in before:
            matched[urn] = urn
        else:
            alias = next((a for a in resource.get("aliases", []) if a in before and a not in after), None)
            if alias:
                matched[urn] = alias
    results: dict[str, ResourceChange] = {}
    for urn, resource in after.items():
        if urn not in matched:
            results[urn] = ResourceChange("create", None, resource)
            continue
        previous = before[matched[urn]]
        changes = diff_values(
            previous["inputs"],
            resource["inputs"],
            old_digests=previous.get("secretDigests", {}),
            new_digests=resource.get("secretDigests", {}),
        )
        ignored = [c for c in changes if _ignored(resource, c)]
        changes = [c for c in changes if c not in ignored]
        changes += [
            Change((f"({option})",), previous.get(option, False), resource.get(option, False))
            for option in ("protect", "retainOnDelete", "provider")
            if previous.get(option, False) != resource.get(option, False)
        ]
        if not changes:
            continue
        reasons = _replace_reasons(resource, [c for c in changes if not str(c.path[0]).startswith("(")])
        action: Action = "replace" if reasons else "update"
        results[urn] = ResourceChange(
            action, previous, resource, changes, reasons, _delete_before_replace(resource) if reasons else False, ignored
        )
    deleted = sorted(set(before) - set(matched.values()))
    for urn in deleted:
        results[urn] = ResourceChange("delete", before[urn], None)

    downstream = _cascade(results, before, after, matched)
    ordered = sorted(results.values(), key=lambda r: r.urn)
    return PlanChanges(
        project=str(new["project"]),
        stack=str(new["stack"]),
        resources=ordered,
        outputs=diff_values(
            old.get("outputs", {}),
            new.get("outputs", {}),
            old_digests=old.get("outputSecretDigests", {}),
            new_digests=new.get("outputSecretDigests", {}),
        ),
        secure_config=_secure_config_changes(old.get("secureConfigDigests", {}), new.get("secureConfigDigests", {})),
        downstream=downstream,
    )


def _secure_config_changes(old: dict[str, str], new: dict[str, str]) -> list[Change]:
    """`secure:` config leaves added, removed or re-encrypted: by name, never by value."""
    return diff_values({k: SECRET for k in old}, {k: SECRET for k in new}, old_digests=old, new_digests=new)


def _cascade(
    results: dict[str, ResourceChange],
    before: dict[str, dict[str, Any]],
    after: dict[str, dict[str, Any]],
    matched: dict[str, str],
) -> list[tuple[ResourceChange, list[str]]]:
    """Replace (or update) what holds the id of a replaced resource; note what reads its outputs."""
    handled: set[tuple[str, str]] = set()
    while True:
        replaced = {urn for urn, r in results.items() if r.action == "replace"}
        ids = {
            str(before[matched[urn]].get("id")): urn
            for urn in replaced
            if urn in matched and len(str(before[matched[urn]].get("id") or "")) >= 6
        }
        grew = False
        for urn, resource in after.items():
            if urn not in matched or urn in replaced:
                continue
            held = [
                (position, ids[value])
                for position, value in _id_positions(resource["inputs"], set(ids))
                if (urn, ids[value]) not in handled
            ]
            if not held:
                continue
            handled.update((urn, source) for _, source in held)
            rules, unless_only = forcing_paths(resource)
            current = results.get(urn) or ResourceChange("update", before[matched[urn]], resource)
            for position, source in held:
                note = f"{'.'.join(str(p) for p in position)} (new id of {after[source]['name']})"
                forces = any(_matches(rule, position) for rule in rules) or (
                    unless_only is not None and not any(_matches(rule, position) for rule in unless_only)
                )
                current.changes.append(Change(tuple(position), "[id]", "[new id]", tuple(position), tuple(position)))
                if forces:
                    current.action = "replace"
                    current.delete_before_replace = _delete_before_replace(resource)
                    current.replace_reasons.append(note)
                    grew = True
            results[urn] = current
        for urn, resource in after.items():
            # The engine replaces every resource a replaced provider manages.
            provider = resource.get("provider")
            if urn in matched and urn not in replaced and provider in replaced and (urn, provider) not in handled:
                handled.add((urn, provider))
                current = results.get(urn) or ResourceChange("update", before[matched[urn]], resource)
                current.action = "replace"
                current.delete_before_replace = _delete_before_replace(resource)
                current.replace_reasons.append(f"its provider {after[provider]['name']} is replaced")
                results[urn] = current
                grew = True
        if not grew:
            break
    replaced = {urn for urn, r in results.items() if r.action == "replace"}
    downstream: list[tuple[ResourceChange, list[str]]] = []
    for urn, resource in after.items():
        if urn in replaced or urn not in matched:
            continue
        sources = sorted(after[d]["name"] for d in resource.get("dependencies", []) if d in replaced)
        if sources and results.get(urn) is None:
            downstream.append((ResourceChange("update", before[matched[urn]], resource), sources))
    return downstream
