"""Secret values from stack configuration.

A ``SecretValue`` is what a config field that must be secret holds. It never prints its
content, and it turns into a Pulumi secret Output for the components. The offline plan does
not decrypt ``secure:`` values: it hands them over as ``UNKNOWN_SECURE`` and they become
unknown secrets, exactly as an unresolved secret would look in a preview.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pulumi

if TYPE_CHECKING:
    # pydantic loads with the config layer; the plan command reads stack files with this module without it
    # (so `typing.get_type_hints` cannot resolve `__get_pydantic_core_schema__`; pydantic does not ask).
    from pydantic import GetCoreSchemaHandler
    from pydantic_core import core_schema

# The offline plan substitutes this for every `secure:` value in a stack file.
UNKNOWN_SECURE = "\x00meteor-platform:secure-value-not-decrypted\x00"


class SecureLeaf:
    """A `secure:` value seen by the offline plan; only secret fields accept it."""

    def __repr__(self) -> str:
        return "<secure value>"


class SecretValue:
    """A secret from config: its text (None when unknown offline) and whether it was marked secure."""

    __slots__ = ("_value", "marked_secure")

    def __init__(self, value: str | None, *, marked_secure: bool = False) -> None:
        self._value = value
        self.marked_secure = marked_secure

    @property
    def known(self) -> bool:
        return self._value is not None

    def reveal(self) -> str:
        if self._value is None:
            raise ValueError("secret value is unknown (not decrypted offline)")
        return self._value

    def output(self) -> pulumi.Output[str]:
        """The value as a Pulumi secret (an unknown secret when not decrypted)."""
        if self._value is None:
            return unknown_secret()
        return pulumi.Output.secret(self._value)

    def __repr__(self) -> str:
        return "SecretValue(***)"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SecretValue) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)

    @classmethod
    def __get_pydantic_core_schema__(cls, source: Any, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        from pydantic_core import core_schema

        return core_schema.no_info_plain_validator_function(
            _to_secret_value,
            serialization=core_schema.plain_serializer_function_ser_schema(lambda _v: "[secret]"),
        )


def _to_secret_value(value: Any) -> SecretValue:
    if isinstance(value, SecretValue):
        return value
    if isinstance(value, SecureLeaf):
        return SecretValue(None, marked_secure=True)
    if isinstance(value, str) and value:
        return SecretValue(value)
    from pydantic_core import PydanticCustomError

    raise PydanticCustomError("secret_type", "expected a non-empty secret string")


def unknown_secret() -> pulumi.Output[str]:
    """An Output that is secret and unknown, as a preview shows a value it cannot know yet."""
    loop = asyncio.get_event_loop()

    def done(value: Any) -> asyncio.Future[Any]:
        future: asyncio.Future[Any] = loop.create_future()
        future.set_result(value)
        return future

    return pulumi.Output(set(), done(None), done(False), done(True))


def mark_secure_leaves(value: Any) -> Any:
    """Replace the offline plan's `UNKNOWN_SECURE` stand-ins with `SecureLeaf` markers."""
    if isinstance(value, dict):
        return {k: mark_secure_leaves(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [mark_secure_leaves(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    if value == UNKNOWN_SECURE:
        return SecureLeaf()
    return value
