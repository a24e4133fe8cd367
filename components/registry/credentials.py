"""Registry logins from a `.dockerconfigjson`: what BuildKit and crane need as user and password."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any, cast


@dataclass(frozen=True)
class RegistryLogin:
    address: str
    username: str
    password: str


def login_from_dockerconfig(document: str) -> RegistryLogin:
    """The one registry login in a `.dockerconfigjson` (`auths.<address>.auth` is base64 `user:password`)."""
    parsed = cast(dict[str, Any], json.loads(document))
    auths = cast(dict[str, dict[str, str]], parsed.get("auths") or {})
    if len(auths) != 1:
        raise ValueError(f"expected credentials for one registry, got {len(auths)}")
    address, entry = next(iter(auths.items()))
    if "username" in entry and "password" in entry:
        return RegistryLogin(address, entry["username"], entry["password"])
    username, _, password = base64.b64decode(entry["auth"]).decode().partition(":")
    return RegistryLogin(address, username, password)
