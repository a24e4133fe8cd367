"""Structural diff of two JSON values, as a reviewer reads it.

Lists of named things (env vars, containers, ports, volumes, rules) are matched by their name, so
adding one environment variable is one change and not a cascade of false renames; other lists
are aligned by their content (`difflib`), so an inserted argument is one insertion. A secret
is compared by its digest (recorded beside the plan, never its value) and shows as
`[secret changed]`.

A general-purpose differ (deepdiff) reports list changes by position and has no notion of the
plan's secret digests; the keyed matching and rendering are what this module is for.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, cast

SECRET = "[secret]"
SECRET_CHANGED = "[secret changed]"


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


@dataclass(frozen=True)
class Key:
    """A list element matched by the value of its naming field."""

    field: str
    value: str


Step = str | int | Key
Path = tuple[Step, ...]

# The fields that name an element, tried in order: the first one unique on both sides wins
# (volume mounts share a `name` across sub-paths, so `mountPath` is their fallback).
KEY_FIELDS = ("name", "mountPath", "containerPath", "containerPort", "internal", "port", "key", "host", "path", "label", "file", "target")


@dataclass(frozen=True)
class Change:
    path: Path
    old: Any
    new: Any
    old_position: tuple[str | int, ...] = ()
    new_position: tuple[str | int, ...] = ()

    @property
    def kind(self) -> str:
        if self.old is MISSING:
            return "+"
        if self.new is MISSING:
            return "-"
        return "~"

    def render(self) -> str:
        where = render_path(self.path)
        if self.kind == "+":
            return f"+ {where}: {short(self.new)}"
        if self.kind == "-":
            return f"- {where}: {short(self.old)}"
        if self.old == SECRET and self.new == SECRET:
            return f"~ {where}: {SECRET_CHANGED}"
        return f"~ {where}: {short(self.old)} => {short(self.new)}"


_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def render_path(path: Path) -> str:
    text = ""
    for step in path:
        if isinstance(step, int):
            text += f"[{step}]"
        elif isinstance(step, Key):
            text += f"[{step.value}]"
        else:
            part = step if _IDENTIFIER.match(step) else json.dumps(step)
            text += f".{part}" if text else part
    return text


def position_text(position: Sequence[str | int]) -> str:
    """A positional path as the plan's secret digests key it: `a.b[0].c`."""
    text = ""
    for step in position:
        text += f"[{step}]" if isinstance(step, int) else (f".{step}" if text else str(step))
    return text


def short(value: Any, limit: int = 240) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _naming_field(old: list[Any], new: list[Any]) -> str | None:
    items = old + new
    if not items or not all(isinstance(i, dict) for i in items):
        return None
    for field in KEY_FIELDS:
        for side in (old, new):
            values = [cast(dict[str, Any], i).get(field) for i in side]
            if any(not isinstance(v, str | int) or isinstance(v, bool) for v in values) or len(set(values)) != len(values):
                break
        else:
            return field
    return None


def _env_style_key(item: Any) -> str | None:
    """`NAME=value` strings (Docker `envs`) are named by NAME."""
    if isinstance(item, str) and "=" in item and _IDENTIFIER.match(item.split("=", 1)[0]):
        return item.split("=", 1)[0]
    return None


def diff_values(
    old: Any,
    new: Any,
    *,
    old_digests: dict[str, str] | None = None,
    new_digests: dict[str, str] | None = None,
) -> list[Change]:
    """Every change from `old` to `new`, in a stable reading order."""
    digests = (old_digests or {}, new_digests or {})
    return list(_walk(old, new, (), (), (), digests))


def _secret_changed(old_pos: tuple[str | int, ...], new_pos: tuple[str | int, ...], digests: tuple[dict[str, str], dict[str, str]]) -> bool:
    """Changed when both sides carry a digest and they differ (a plan without digests says nothing)."""
    before, after = digests[0].get(position_text(old_pos)), digests[1].get(position_text(new_pos))
    return before is not None and after is not None and before != after


def _walk(
    old: Any,
    new: Any,
    path: Path,
    old_pos: tuple[str | int, ...],
    new_pos: tuple[str | int, ...],
    digests: tuple[dict[str, str], dict[str, str]],
) -> Iterator[Change]:
    if isinstance(old, dict) and isinstance(new, dict):
        old_map, new_map = cast(dict[str, Any], old), cast(dict[str, Any], new)
        for key in sorted(old_map.keys() | new_map.keys()):
            yield from _walk(old_map.get(key, MISSING), new_map.get(key, MISSING), (*path, key), (*old_pos, key), (*new_pos, key), digests)
        return
    if isinstance(old, list) and isinstance(new, list):
        yield from _walk_list(cast(list[Any], old), cast(list[Any], new), path, old_pos, new_pos, digests)
        return
    if old is MISSING and new is MISSING:
        return
    if old == new:
        if old == SECRET and _secret_changed(old_pos, new_pos, digests):
            yield Change(path, old, new, old_pos, new_pos)
        return
    yield Change(path, old, new, old_pos, new_pos)


def _walk_list(
    old: list[Any],
    new: list[Any],
    path: Path,
    old_pos: tuple[str | int, ...],
    new_pos: tuple[str | int, ...],
    digests: tuple[dict[str, str], dict[str, str]],
) -> Iterator[Change]:
    field = _naming_field(old, new)
    if field is not None:
        yield from _walk_keyed(old, new, path, old_pos, new_pos, digests, lambda item: str(cast(dict[str, Any], item)[field]), field)
        return
    old_keys, new_keys = [_env_style_key(i) for i in old], [_env_style_key(i) for i in new]
    if old + new and None not in old_keys + new_keys and len(set(old_keys)) == len(old_keys) and len(set(new_keys)) == len(new_keys):
        yield from _walk_keyed(old, new, path, old_pos, new_pos, digests, lambda item: str(_env_style_key(item)), "")
        return
    matcher = difflib.SequenceMatcher(a=[_canonical(i) for i in old], b=[_canonical(i) for i in new], autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        if tag == "replace" and i2 - i1 == j2 - j1:
            for offset in range(i2 - i1):
                i, j = i1 + offset, j1 + offset
                yield from _walk(old[i], new[j], (*path, j), (*old_pos, i), (*new_pos, j), digests)
            continue
        for i in range(i1, i2):
            yield Change((*path, i), old[i], MISSING, (*old_pos, i), ())
        for j in range(j1, j2):
            yield Change((*path, j), MISSING, new[j], (), (*new_pos, j))


def _walk_keyed(
    old: list[Any],
    new: list[Any],
    path: Path,
    old_pos: tuple[str | int, ...],
    new_pos: tuple[str | int, ...],
    digests: tuple[dict[str, str], dict[str, str]],
    key_of: Callable[[Any], str],
    field: str,
) -> Iterator[Change]:
    old_index = {key_of(item): i for i, item in enumerate(old)}
    new_index = {key_of(item): j for j, item in enumerate(new)}
    ordered = [key_of(i) for i in new] + [k for k in (key_of(i) for i in old) if k not in new_index]
    for name in ordered:
        i, j = old_index.get(name), new_index.get(name)
        step = Key(field, name)
        before = old[i] if i is not None else MISSING
        after = new[j] if j is not None else MISSING
        if field == "" and before is not MISSING and after is not MISSING:
            # `NAME=value`: show the values, not the whole strings.
            before, after = str(before).split("=", 1)[1], str(after).split("=", 1)[1]
        yield from _walk(
            before,
            after,
            (*path, step),
            (*old_pos, i) if i is not None else (),
            (*new_pos, j) if j is not None else (),
            digests,
        )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
