"""One message per bad stack: every problem on its own line, `<key>: got <value>; expected ...`.

`ConfigError` is a `pulumi.RunError`, which the Pulumi CLI prints without a Python traceback;
the offline plan prints the same message and exits with status 2.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.secrets import SecretValue, SecureLeaf

NAMESPACE = "meteor-platform"

Loc = Sequence[str | int]


class ConfigError(pulumi.RunError):
    """Bad stack configuration; the message lists every problem, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid stack configuration:" + "".join(f"\n  {p}" for p in problems))


def key_path(loc: Loc) -> str:
    """`('apps', 0, 'replicas')` -> `meteor-platform:apps[0].replicas`."""
    text = NAMESPACE + ":"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if i == 0 else f".{part}"
    return text


# Shapes of credentials people paste where they do not belong: passwords in URLs, private keys,
# well-known token formats (AWS, GitHub, GitLab, Slack, DigitalOcean, Stripe, Google, JWTs).
_CREDENTIAL = (
    r"\b[a-z][a-z0-9+.-]{0,30}://[^/\s:@]{1,256}:[^/\s@]{1,256}@"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"
    r"|\bgh[pousr]_[A-Za-z0-9]{20,}|\bgithub_pat_[A-Za-z0-9_]{20,}|\bglpat-[A-Za-z0-9_-]{20,}"
    r"|\bxox[abprs]-[A-Za-z0-9-]{10,}|\bdop_v1_[a-f0-9]{20,}|\b[sr]k_live_[A-Za-z0-9]{16,}|\bAIza[0-9A-Za-z_-]{35}"
    r"|\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\."
)


def looks_like_credential(value: Any) -> bool:
    """Whether a value (or anything inside it) has the shape of a password, key or token."""
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return bool(re.search(_CREDENTIAL, text, re.IGNORECASE))


def show(value: Any) -> str:
    """A given value as the error shows it: secrets and credential-shaped values never, long values cut."""
    if isinstance(value, SecureLeaf | SecretValue):
        return "a secret"
    if looks_like_credential(value):
        return "a value that looks like a credential (hidden)"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class Problem:
    """One problem: `text` about `loc` (None: a line that names its subject itself)."""

    loc: Loc | None
    text: str

    def line(self) -> str:
        return self.text if self.loc is None else f"{key_path(self.loc)}: {self.text}"


class Problems:
    """Collects the problems of one validation pass, or those one model finds about itself (locations relative to it)."""

    def __init__(self) -> None:
        self.found: list[Problem] = []

    @property
    def lines(self) -> list[str]:
        return [p.line() for p in self.found]

    def bad(self, loc: Loc, given: Any, expected: str) -> None:
        """A value that is present but wrong."""
        self.found.append(Problem(loc, f"got {show(given)}; {expected}"))

    def missing(self, loc: Loc, expected: str) -> None:
        """A value that is required here but absent."""
        self.found.append(Problem(loc, f"missing; {expected}"))

    def raw(self, text: str) -> None:
        """A line that names its subject itself (a stack name, a key of another namespace)."""
        self.found.append(Problem(None, text))

    def line(self, loc: Loc, text: str) -> None:
        """Anything else about `loc` (e.g. a secret whose content must not be echoed)."""
        self.found.append(Problem(loc, text))

    def add_under(self, loc: Loc, found: Problems) -> None:
        """The problems a model found about itself (locations relative to it), placed where the model sits."""
        self.found.extend(Problem(None if p.loc is None else [*loc, *p.loc], p.text) for p in found.found)

    def __bool__(self) -> bool:
        return bool(self.found)
