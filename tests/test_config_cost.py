"""What every stack pays for the config layer: no work at import or load that the stack's own config does not need."""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator

import pytest
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
DEFAULT_FACTORIES = [
    (f"{cls.__name__}.{name}", field.default_factory)
    for cls in SECTIONS
    for name, field in cls.model_fields.items()
    if field.default_factory is not None
]


def test_the_walk_finds_the_sections() -> None:
    assert len(SECTIONS) > 40
    assert components.config.DockerPlatformConfig in SECTIONS
    assert any(name == "PlatformBase.aws" for name, _ in DEFAULT_FACTORIES)


@pytest.mark.parametrize(("field", "factory"), DEFAULT_FACTORIES, ids=[name for name, _ in DEFAULT_FACTORIES])
def test_a_default_is_made_without_a_validator_or_signature_of_its_own(field: str, factory: object) -> None:
    # Calling a section class builds that section's own validator (a second schema build beside the
    # stack's config validator); `list`/`dict` make pydantic parse a builtin's text signature.
    assert not isinstance(factory, type), f"{field}: default_factory={factory!r}; use Section.model_construct or a lambda"


@pytest.mark.parametrize(("field", "factory"), DEFAULT_FACTORIES, ids=[name for name, _ in DEFAULT_FACTORIES])
def test_a_default_section_is_the_section_an_empty_mapping_validates_to(field: str, factory: object) -> None:
    value = factory()  # pyright: ignore[reportCallIssue, reportUnknownVariableType]
    if isinstance(value, BaseModel):
        validated = type(value).model_validate({})
        assert value == validated, field
        assert value.model_fields_set == validated.model_fields_set == set()


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


@pytest.mark.parametrize("section", SECTIONS, ids=[c.__name__ for c in SECTIONS])
def test_section_annotations_are_evaluated_where_written(section: type[Model]) -> None:
    # A string annotation (`from __future__ import annotations`) is compiled and evaluated again by
    # pydantic when it creates the class: every stack pays that at import.
    assert [k for k, v in vars(section).get("__annotations__", {}).items() if isinstance(v, str)] == []
