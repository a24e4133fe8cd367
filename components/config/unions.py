"""Tagged unions: a config section whose keys depend on one of its values (`provider`, `target`).

`tagged(...)` builds a pydantic discriminated union whose tag may be left out (the default
variant is used), so a key that belongs to another variant is an "unknown key" error by
construction. The error formatting walks the same structure to strip the tag pydantic puts into
an error's location and to say which variant a misplaced key belongs to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Union, cast, get_args, get_origin

from pydantic import BaseModel, Discriminator, Tag


@dataclass(frozen=True)
class Variants:
    """The variants of one tagged section: which key chooses, and the model of each choice."""

    key: str
    """The camelCase key that chooses (`provider`, `target`, `hosts`)."""
    models: Mapping[str, type[BaseModel]]
    default: str
    scope: str = ""
    """Where this set of variants applies, for hints (`with target 'docker'`)."""


_REGISTRY: list[tuple[str, Variants]] = []
"""Every tagged section by its key name (`mongo`), for 'only with target X' hints."""


def tagged(section: str, key: str, default: str, models: Mapping[str, type[BaseModel]], scope: str = "") -> Any:
    """An annotation for a section that is one of `models`, chosen by its `key` (default `default`)."""
    variants = Variants(key=key, models=dict(models), default=default, scope=scope)
    _REGISTRY.append((section, variants))

    def choose(value: Any) -> str | None:
        if isinstance(value, BaseModel):
            return _tag_of(value, variants)
        if isinstance(value, Mapping):
            chosen: Any = cast(Mapping[str, Any], value).get(key, default)
            return chosen if isinstance(chosen, str) else None
        return None

    members = tuple(Annotated[model, Tag(tag)] for tag, model in variants.models.items())
    return Annotated[
        Union[members],  # noqa: UP007 (a runtime-built union)  # pyright: ignore[reportInvalidTypeArguments]
        Discriminator(
            choose,
            custom_error_type="unknown_variant",
            custom_error_message=f"expected {key} to be one of {', '.join(repr(t) for t in variants.models)}",
        ),
        variants,
    ]


def _tag_of(value: BaseModel, variants: Variants) -> str | None:
    return next((tag for tag, model in variants.models.items() if isinstance(value, model)), None)


def annotation_members(annotation: Any) -> set[Any]:
    """An annotation and every type inside it (`SecretValue | None` -> {..., SecretValue, NoneType})."""
    found = {annotation}
    for arg in get_args(annotation):
        found |= annotation_members(arg)
    return found


def variants_of(annotation: Any) -> Variants | None:
    """The Variants of a tagged annotation (or None)."""
    if get_origin(annotation) is Annotated:
        return next((m for m in get_args(annotation)[1:] if isinstance(m, Variants)), None)
    return None


def other_scopes(section: str, tag: str, exclude: Variants) -> list[str]:
    """Scopes where `section` accepts `tag` (for 'only with target X' hints)."""
    return [v.scope for s, v in _REGISTRY if s == section and v is not exclude and tag in v.models and v.scope]
