"""A stack file's config as the engine hands it to the program: `secure:` values not decrypted."""

# Stack files and mock inputs are untyped: their values are handled as Any here.
# pyright: reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from components.secrets import UNKNOWN_SECURE
from components.stackfile import read_stack_file, stack_file_path
from offline_plan.redaction import secret_digest

PROJECT = "meteor-platform"


@dataclass
class StackConfig:
    values: dict[str, str] = field(default_factory=lambda: {})
    secret_keys: list[str] = field(default_factory=lambda: [])
    secure_digests: dict[str, str] = field(default_factory=lambda: {})
    """Per `secure:` leaf (`<namespace>:<key path>`), a digest of its ciphertext: shows a changed
    secret in a diff without decrypting it."""


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _replace_secure(value: Any, position: str, found: dict[str, str]) -> Any:
    """Swap each `{secure: ...}` for the not-decrypted stand-in, noting its position and ciphertext."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:  # pyright: ignore[reportUnknownArgumentType]
            found[position] = secret_digest(value["secure"])
            return UNKNOWN_SECURE
        return {str(k): _replace_secure(v, f"{position}.{k}", found) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_replace_secure(v, f"{position}[{i}]", found) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return value


def read_stack_config(root: Path, stack: str) -> StackConfig:
    """The config of `Pulumi.<stack>.yaml` as the engine would hand it to the program (raises StackFileError)."""
    stack_file = read_stack_file(stack_file_path(root, stack))
    config = StackConfig()
    for key, value in stack_file.config.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        found: dict[str, str] = {}
        config.values[full_key] = _encode(_replace_secure(value, full_key, found))
        if found:
            config.secret_keys.append(full_key)
            config.secure_digests.update(found)
    return config
