"""Print the config reference (markdown) from the config models: `python -m offline_plan.config_reference`.

Tagged sections (`target`, `provider`, `hosts`) list every variant's keys once, each marked with
the variants it belongs to when that is not all of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from components.config import NAMESPACE, PlatformSection
from components.config.unions import Variants, annotation_members, variants_of
from components.secrets import SecretValue


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
    return {"JsonValue": "JSON", "SecretValue": "secret string"}.get(name, name)


def _default(info: FieldInfo) -> str:
    if info.default is PydanticUndefined and info.default_factory is None:
        return "**required**"
    if info.default_factory is not None:
        value = info.default_factory()  # pyright: ignore[reportCallIssue]
        return "" if isinstance(value, BaseModel) else f"`{value!r}`"
    value = info.default
    return "" if value is None else f"`{getattr(value, 'value', value)!r}`"


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


@dataclass
class Row:
    key: str
    kind: str
    default: str
    description: str
    conditions: dict[str, set[str]] = field(default_factory=lambda: {})


class Reference:
    def __init__(self) -> None:
        self.rows: dict[tuple[str, str, str, str], Row] = {}
        self.all_tags: dict[str, set[str]] = {}

    def add(self, key: str, kind: str, default: str, description: str, conditions: dict[str, str]) -> None:
        row = self.rows.setdefault((key, kind, default, description), Row(key, kind, default, description))
        for label, tag in conditions.items():
            row.conditions.setdefault(label, set()).add(tag)

    def walk(self, annotation: Any, prefix: str, conditions: dict[str, str]) -> None:
        variants = variants_of(annotation)
        if variants is not None:
            self._variants(variants, prefix, conditions)
            return
        model = _model_in(annotation)
        if model is None:
            return
        for name, info in model.model_fields.items():
            self.field(f"{prefix}{info.alias or name}", info, conditions)

    def field(self, key: str, info: FieldInfo, conditions: dict[str, str]) -> None:
        variants = next((m for m in info.metadata if isinstance(m, Variants)), None)
        if variants is not None:
            self.add(key, "object", "", info.description or "", conditions)
            self._variants(variants, f"{key}.", conditions)
            return
        annotation = info.annotation
        model = _model_in(annotation)
        secret = SecretValue in annotation_members(annotation)
        if secret:
            kind = "secret string"
        elif model is not None:
            kind = "list of objects" if get_origin(annotation) is list else "object"
        else:
            kind = _type_name(annotation)
        self.add(key, kind, _default(info), info.description or "", conditions)
        if model is not None and not secret:
            self.walk(model, f"{key}[]." if get_origin(annotation) is list else f"{key}.", conditions)

    def _variants(self, variants: Variants, prefix: str, conditions: dict[str, str]) -> None:
        label = f"{prefix}{variants.key}"
        self.all_tags.setdefault(label, set()).update(variants.models)
        first = next(iter(variants.models.values()))
        chooser = first.model_fields[next(n for n, f in first.model_fields.items() if (f.alias or n) == variants.key)]
        tags = " / ".join(f"`{t}`" for t in variants.models)
        self.add(label, tags, f"`{variants.default!r}`", chooser.description or "", conditions)
        for tag, model in variants.models.items():
            for name, info in model.model_fields.items():
                if (info.alias or name) != variants.key:
                    self.field(f"{prefix}{info.alias or name}", info, {**conditions, label: tag})

    def render(self) -> list[str]:
        lines: list[str] = []
        for row in self.rows.values():
            marks = [
                f"{label} " + "/".join(f"`{t}`" for t in sorted(tags))
                for label, tags in row.conditions.items()
                if tags != self.all_tags.get(label)
            ]
            note = f"*{'; '.join(marks)}:* " if marks else ""
            lines.append(f"| `{row.key}` | {row.kind} | {row.default} | {note}{row.description} |")
        return lines


def reference() -> str:
    header = [
        f"All keys live in the `{NAMESPACE}` namespace (`{NAMESPACE}:apps`, ...). Secret values must be set with",
        "`pulumi config set --secret --path '<key>' <value>`; plain text is refused. A key marked with a `target` or",
        "`provider` exists only there: anywhere else it is an unknown key.",
        "",
        "| key | type | default | description |",
        "|---|---|---|---|",
    ]
    ref = Reference()
    ref.walk(PlatformSection, "", {})
    return "\n".join(header + ref.render()) + "\n"


if __name__ == "__main__":
    print(reference(), end="")
