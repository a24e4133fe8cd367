"""What pulumi-random answers for a password: generated, recorded so tests can prove it never leaks."""

from __future__ import annotations

from typing import Any

from offline_plan.fakes.answers import Answer, FakeContext
from offline_plan.fakes.deterministic import digest


def _password(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    result = mocks.secret(name, int(state.get("length", 16)))
    return "none", {"result": result, "bcryptHash": "$2a$10$" + digest("bcrypt", name)[:53]}


OUTPUTS: dict[str, Answer] = {"random:index/randomPassword:RandomPassword": _password}
