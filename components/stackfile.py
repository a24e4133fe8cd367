"""Reading a stack file (`Pulumi.<stack>.yaml`) safely: one clear message per defect, bounded cost.

The offline plan reads the whole file with it; `pulumi up` reads it only to learn which config
leaves are `secure:` (the engine marks a whole top-level key secret when any leaf under it is).
Refused, each with the file (and line) named: a path that is not a regular file, bytes that are
not UTF-8, YAML syntax errors, YAML tags (`!!python/...`, `!!binary`), anchors and aliases (the
alias-bomb shape), nesting deeper than MAX_DEPTH, more than MAX_NODES nodes or MAX_BYTES bytes, a
document or `config:` that is not a mapping, keys that are not strings, and values that are not
JSON (dates, NaN, infinities).
"""

from __future__ import annotations

import datetime
import difflib
import hashlib
import math
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pulumi
import yaml

MAX_BYTES = 1 << 20
MAX_DEPTH = 32
MAX_NODES = 50_000
TOP_LEVEL_KEYS = ("config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment")
STACK_NAME = re.compile(r"[A-Za-z0-9_.-]{1,100}")
"""What Pulumi accepts as a stack name: alphanumerics, '-', '_' and '.'."""


class StackFileError(pulumi.RunError):
    """A stack file (or stack name) that cannot be read as a stack's configuration."""

    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        super().__init__(f"{where}: {problem}")


SecurePath = tuple[str | int, ...]


@dataclass
class StackFile:
    path: Path
    config: dict[str, Any] = field(default_factory=lambda: {})
    """Full key (`meteor-platform:apps`) -> value; a `secure:` leaf is kept as `{"secure": ...}`."""
    secure_paths: set[SecurePath] = field(default_factory=lambda: set())
    """Paths of the `secure:` leaves: (full key, then list indexes and map keys)."""


def check_stack_name(stack: str) -> None:
    if not STACK_NAME.fullmatch(stack) or stack in (".", ".."):
        raise StackFileError(f"stack {stack!r}", "not a stack name; expected letters, digits, '-', '_' or '.', at most 100 characters")


def stack_file_path(root: Path, stack: str) -> Path:
    check_stack_name(stack)
    return root / f"Pulumi.{stack}.yaml"


def read_stack_file(path: Path) -> StackFile:
    """Parse and check one stack file (raises StackFileError). The same text read again (the
    offline plan and the config both read the file) is not parsed again."""
    text = _read_text(path)
    key = (str(path), hashlib.sha256(text.encode()).hexdigest())
    if key not in _PARSED:
        parsed = _parse_stack_file(text, path)
        _PARSED.clear()  # one stack at a time: keep the last file only
        _PARSED[key] = parsed
    return _PARSED[key]


_PARSED: dict[tuple[str, str], StackFile] = {}


def _parse_stack_file(text: str, path: Path) -> StackFile:
    name = path.name
    _check_events(text, name)
    try:
        document: Any = yaml.load(text, Loader=_JsonishLoader)
    except yaml.YAMLError as err:
        raise StackFileError(_where(name, err), _yaml_problem(err)) from None
    if document is None:
        raise StackFileError(name, "the file is empty; expected a mapping with a `config:` section")
    if not isinstance(document, dict):
        raise StackFileError(name, f"the document is {_kind(document)}; expected a mapping with a `config:` section")
    top = cast(dict[Any, Any], document)
    for key in top:
        if key not in TOP_LEVEL_KEYS:
            hint = difflib.get_close_matches(str(key), TOP_LEVEL_KEYS, n=1)
            suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
            raise StackFileError(name, f"unknown top-level key {str(key)!r}{suggestion}; expected one of: {', '.join(TOP_LEVEL_KEYS)}")
    config: Any = top.get("config")
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise StackFileError(name, f"`config:` is {_kind(config)}; expected a mapping of `namespace:key` to values")
    stack_file = StackFile(path=path)
    for key, value in cast(dict[Any, Any], config).items():
        if not isinstance(key, str) or not re.fullmatch(r"[^:\s]+(:[^:\s]+)?", key):
            raise StackFileError(name, f"config key {key!r} is not a config key; expected `namespace:key` (text without spaces)")
        _check_value(value, name, key)
        stack_file.config[key] = value
        _collect_secure(value, (key,), stack_file.secure_paths)
    return stack_file


def _read_text(path: Path) -> str:
    name = path.name
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StackFileError(name, f"no such stack file in {path.parent}") from None
    except OSError as err:
        raise StackFileError(name, f"cannot be read ({err.strerror or err})") from None
    if stat.S_ISDIR(info.st_mode):
        raise StackFileError(name, "is a directory; expected a YAML stack file")
    if not stat.S_ISREG(info.st_mode):
        target = f" (a link to {path.resolve()})" if path.is_symlink() else ""
        raise StackFileError(name, f"is not a regular file{target}; expected a YAML stack file")
    if info.st_size > MAX_BYTES:
        raise StackFileError(name, f"is {info.st_size} bytes; expected at most {MAX_BYTES} (a stack file is small)")
    try:
        data = path.read_bytes()
    except OSError as err:
        raise StackFileError(name, f"cannot be read ({err.strerror or err})") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise StackFileError(f"{name}:{line}", f"not UTF-8 (byte 0x{data[err.start]:02x}); expected a UTF-8 text file") from None


def _check_events(text: str, name: str) -> None:
    """Walk the event stream (iterative: no recursion, no alias expansion) to bound what composing costs."""
    depth = 0
    nodes = 0
    try:
        events: Iterator[yaml.Event] = yaml.parse(text, Loader=_SAFE_LOADER)  # pyright: ignore[reportUnknownMemberType]
        for event in events:
            if isinstance(event, yaml.AliasEvent):
                raise StackFileError(
                    _at(name, event), f"YAML alias *{event.anchor}; expected plain values (anchors and aliases are not supported)"
                )
            if isinstance(event, yaml.NodeEvent):
                nodes += 1
                if nodes > MAX_NODES:
                    raise StackFileError(_at(name, event), f"more than {MAX_NODES} values; expected a stack file of reasonable size")
                if event.anchor is not None:
                    raise StackFileError(
                        _at(name, event), f"YAML anchor &{event.anchor}; expected plain values (anchors and aliases are not supported)"
                    )
                tag = getattr(event, "tag", None)
                implicit = getattr(event, "implicit", True)
                if tag is not None and not (implicit is True or (isinstance(implicit, tuple) and any(cast(tuple[bool, ...], implicit)))):
                    raise StackFileError(_at(name, event), f"YAML tag {tag}; expected plain values (tags are not supported)")
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise StackFileError(
                        _at(name, event), f"nested deeper than {MAX_DEPTH} levels; expected a stack file of reasonable shape"
                    )
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as err:
        raise StackFileError(_where(name, err), _yaml_problem(err)) from None


def _check_value(value: Any, name: str, path: str) -> None:
    if isinstance(value, dict):
        for key, item in cast(dict[Any, Any], value).items():
            if not isinstance(key, str):
                raise StackFileError(name, f"{path}: key {key!r} is not text; expected string keys")
            _check_value(item, name, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(cast(list[Any], value)):
            _check_value(item, name, f"{path}[{i}]")
    elif isinstance(value, datetime.date | datetime.datetime):
        raise StackFileError(name, f"{path}: got a date ({value}); expected a JSON value (quote it to use it as text)")
    elif isinstance(value, float) and not math.isfinite(value):
        raise StackFileError(name, f"{path}: got {value}; expected a finite number (NaN and infinities are not JSON)")
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise StackFileError(name, f"{path}: got a {type(value).__name__}; expected a JSON value")


def _collect_secure(value: Any, path: SecurePath, found: set[SecurePath]) -> None:
    if isinstance(value, dict):
        mapping = cast(dict[str, Any], value)
        if set(mapping) == {"secure"}:
            found.add(path)
            return
        for key, item in mapping.items():
            _collect_secure(item, (*path, key), found)
    elif isinstance(value, list):
        for i, item in enumerate(cast(list[Any], value)):
            _collect_secure(item, (*path, i), found)


# libyaml's parser when PyYAML has it (the wheels do): the same YAML, several times faster.
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # pyright: ignore[reportAssignmentType]


class _JsonishLoader(_SAFE_LOADER):  # type: ignore[valid-type, misc]
    """SafeLoader that keeps keys as given (duplicates refused)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key: Any = self.construct_object(key_node, deep=deep)  # pyright: ignore[reportUnknownMemberType]
            if isinstance(key, list | dict):
                raise yaml.constructor.ConstructorError(None, None, "a list or mapping used as a key", key_node.start_mark)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _at(name: str, event: yaml.Event) -> str:
    mark = event.start_mark
    return f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name


def _where(name: str, err: yaml.YAMLError) -> str:
    mark = getattr(err, "problem_mark", None) or getattr(err, "context_mark", None)
    return f"{name}:{mark.line + 1}:{mark.column + 1}" if mark is not None else name


def _yaml_problem(err: yaml.YAMLError) -> str:
    problem = getattr(err, "problem", None) or str(err).splitlines()[0]
    context = getattr(err, "context", None)
    text = f"{context}: {problem}" if context else str(problem)
    if "\\t" in text or "tab" in text:
        text += " (YAML indents with spaces, never tabs)"
    return f"invalid YAML: {text}"


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "text"
    return f"a {type(value).__name__}"
