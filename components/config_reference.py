"""Print the config reference (markdown) from the config model: `python -m components.config_reference`."""

from __future__ import annotations

from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from components.config import NAMESPACE, PlatformConfig, _model_of  # pyright: ignore[reportPrivateUsage]


def _type_name(annotation: Any) -> str:
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Literal:
        return " / ".join(f"`{a}`" for a in args)
    if origin in (Union, UnionType):
        return " or ".join(_type_name(a) for a in args if a is not type(None))
    if origin is list:
        return f"list of {_type_name(args[0])}"
    if origin is dict:
        return f"map of {_type_name(args[1])}"
    if origin is Annotated:
        return _type_name(args[0])
    if isinstance(annotation, type) and issubclass(annotation, Enum):
        return " / ".join(f"`{m.value}`" for m in annotation)
    name = str(getattr(annotation, "__name__", None) or annotation)  # pyright: ignore[reportUnknownArgumentType]
    return {"JsonValue": "JSON", "SecretValue": "secret"}.get(name, name)


def _default(field: Any) -> str:
    if field.default is PydanticUndefined and field.default_factory is None:
        return "**required**"
    if field.default_factory is not None:
        value = field.default_factory()
        return "" if isinstance(value, BaseModel) else f"`{value!r}`"
    value = field.default
    return "" if value is None else f"`{getattr(value, 'value', value)!r}`"


def rows(model: type[BaseModel], prefix: str) -> list[str]:
    lines: list[str] = []
    for name, field in model.model_fields.items():
        key = f"{prefix}{field.alias or name}"
        sub = _model_of(field.annotation)
        secret = "SecretValue" in str(field.annotation)
        kind = "secret string" if secret else ("object" if sub else _type_name(field.annotation))
        if sub is not None and "list[" in str(field.annotation):
            kind = "list of objects"
        lines.append(f"| `{key}` | {kind} | {_default(field)} | {field.description or ''} |")
        if sub is not None:
            lines += rows(sub, f"{key}[].") if "list[" in str(field.annotation) else rows(sub, f"{key}.")
    return lines


def reference() -> str:
    header = [
        f"All keys live in the `{NAMESPACE}` namespace (`{NAMESPACE}:apps`, ...). Secret values must be set with",
        "`pulumi config set --secret --path '<key>' <value>`; plain text is refused.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    return "\n".join(header + rows(PlatformConfig, "")) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
