"""Values derived from a hash of a resource's name: every run answers the same."""

from __future__ import annotations

import hashlib
import string


def digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def stable_uuid(name: str) -> str:
    h = digest("uid", name)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def generated_password(name: str, length: int) -> str:
    """What the mock answers for a RandomPassword: deterministic, alphanumeric, unmistakable."""
    alphabet = string.ascii_letters + string.digits
    seed = digest("password", name)
    out: list[str] = []
    while len(out) < length:
        seed = digest(seed)
        out.extend(alphabet[int(seed[i : i + 2], 16) % len(alphabet)] for i in range(0, 64, 2))
    return "".join(out[:length])
