"""The shape of a provider fake: what it may ask of the run and what it answers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol


class FakeContext(Protocol):
    """What a fake may ask of the mocks of this run: which round of tokens, a recorded credential."""

    token_round: int
    doks_deployed_version: str | None

    def secret(self, name: str, length: int = 32) -> str: ...


Answer = Callable[[FakeContext, str, dict[str, Any]], tuple[str, dict[str, Any]]]
"""A fake for one resource type: (context, logical name, inputs) -> (id, outputs the provider adds)."""
