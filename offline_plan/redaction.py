"""What leaves the process: secrets as `[secret]` with a digest, unknowns as `[unknown]`."""

# Serialized properties are untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import json
from typing import Any

from offline_plan.fakes.deterministic import digest
from offline_plan.wire import RESOURCE_SIG, SECRET_SIG, SECRET_VALUE_SIG, UNKNOWN

REDACTED = "[secret]"
UNKNOWN_TEXT = "[unknown]"


def secret_digest(value: Any) -> str:
    """A digest that tells a changed secret from an unchanged one without revealing it.

    Offline, secret values are the mocks' stand-ins (generated passwords, not-decrypted `secure:`
    values), never a real credential; the digest is of those.
    """
    return digest("meteor-platform/offline-plan/secret", json.dumps(value, sort_keys=True))[:16]


def redact(value: Any, position: str = "", digests: dict[str, str] | None = None) -> Any:
    """Secrets become `[secret]` (their digest kept in `digests` under their position), unknowns
    `[unknown]`, resource references their URN; whole floats ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE_SIG:
            if digests is not None:
                digests[position] = secret_digest(value.get("value"))
            return REDACTED
        if value.get(SECRET_SIG) == RESOURCE_SIG:
            return value.get("urn")
        return {k: redact(v, f"{position}.{k}" if position else k, digests) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [redact(v, f"{position}[{i}]", digests) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
