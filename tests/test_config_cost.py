"""What every stack pays for the config layer: no work at import or load that the stack's own config does not need."""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from typing import Any

from pydantic import BaseModel

import components.config
from components import units
from components.config.values import Model


def sections(cls: type[Model] = Model) -> Iterator[type[Model]]:
    for sub in cls.__subclasses__():
        if sub.__module__.startswith("components.config."):
            yield sub
        yield from sections(sub)


SECTIONS = sorted(set(sections()), key=lambda c: f"{c.__module__}.{c.__qualname__}")
DEFAULT_FACTORIES: list[tuple[str, Callable[..., Any]]] = [
    (f"{cls.__name__}.{name}", field.default_factory)
    for cls in SECTIONS
    for name, field in cls.model_fields.items()
    if field.default_factory is not None
]


def test_the_walk_finds_the_sections_and_their_defaults() -> None:
    assert len(SECTIONS) > 40
    assert components.config.DockerPlatformConfig in SECTIONS
    assert {"PlatformBase.aws", "DockerPlatformConfig.mongo", "AppConfig.env"} <= {name for name, _ in DEFAULT_FACTORIES}


def test_a_default_is_made_without_a_validator_or_signature_of_its_own() -> None:
    # Calling a section class builds that section's own validator (a second schema build beside the
    # stack's config validator); `list`/`dict` make pydantic parse a builtin's text signature.
    assert [name for name, factory in DEFAULT_FACTORIES if isinstance(factory, type)] == []


def test_a_default_section_is_the_section_an_empty_mapping_validates_to() -> None:
    checked = 0
    for name, factory in DEFAULT_FACTORIES:
        value = factory()
        if isinstance(value, BaseModel):
            validated = type(value).model_validate({})
            assert value == validated, name
            assert value.model_fields_set == validated.model_fields_set == set(), name
            checked += 1
    assert checked > 20


def test_no_pattern_of_the_config_layer_is_compiled_at_import() -> None:
    # `re` compiles a pattern string on first use: a stack pays only for the patterns its values meet.
    # (components.units' quantity patterns are the components' too, used by every stack.)
    compiled = [
        f"{name}.{attr}"
        for name, module in sys.modules.items()
        if name.startswith("components.config")
        for attr, value in vars(module).items()
        if isinstance(value, re.Pattern) and value is not getattr(units, attr, None)
    ]
    assert compiled == []


def test_section_annotations_are_evaluated_where_written() -> None:
    # A string annotation (`from __future__ import annotations`) is compiled and evaluated again by
    # pydantic when it creates the class: every stack pays that at import.
    strings = [
        f"{section.__name__}.{key}"
        for section in SECTIONS
        for key, annotation in vars(section).get("__annotations__", {}).items()
        if isinstance(annotation, str)
    ]
    assert strings == []
