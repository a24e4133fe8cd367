"""What pulumi-command's commands print: a promotion's copy step its target reference, a remote host its Docker version."""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false

from __future__ import annotations

from typing import Any

from offline_plan.fakes.answers import Answer, FakeContext
from offline_plan.fakes.deterministic import digest
from offline_plan.wire import SECRET_SIG, SECRET_VALUE_SIG


def _local_command(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A promotion copy step prints the target reference (repository@digest); other local commands print nothing."""
    env = state.get("environment") or {}
    if isinstance(env, dict) and env.get(SECRET_SIG) == SECRET_VALUE_SIG:  # a map holding a secret arrives wrapped
        env = env.get("value") or {}
    source, target = env.get("SOURCE_REF"), env.get("TARGET_REPOSITORY")
    stdout = f"{target}@{str(source).split('@', 1)[1]}" if isinstance(source, str) and "@" in source and isinstance(target, str) else ""
    return f"{name}-{digest('local', name)[:8]}", {"stdout": stdout, "stderr": ""}


def _remote_command(_mocks: FakeContext, name: str, _state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return f"{name}-{digest('cmd', name)[:8]}", {"stdout": "28.2.2", "stderr": ""}


OUTPUTS: dict[str, Answer] = {
    "command:local:Command": _local_command,
    "command:remote:Command": _remote_command,
}
