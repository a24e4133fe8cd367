"""Reading and validating a stack's `meteor-platform:*` values: the only place that reads `pulumi.Config`.

Two passes: pydantic checks every value's shape (tagged unions decide which keys exist), then
the rules that span values run. Either pass ends in one `ConfigError` listing every problem.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterator, Mapping
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pulumi
import pulumi.runtime
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from components.config.errors import NAMESPACE, ConfigError, Loc, Problems, key_path, show
from components.config.platform import PlatformConfig, PlatformSection, platform_problems
from components.config.unions import Variants, other_scopes, variants_of
from components.secrets import SecretValue, SecureLeaf, mark_secure_leaves

_ADAPTER: TypeAdapter[PlatformConfig] = TypeAdapter(PlatformSection)


def parse_config(raw: Mapping[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> PlatformConfig:
    """Validate the `meteor-platform:*` values (already JSON-decoded, keys without the prefix).

    `secret_keys` holds the full keys (`meteor-platform:apps`) the engine marked secret.
    Raises ConfigError naming every bad key.
    """
    data = {key: mark_secure_leaves(value) for key, value in raw.items()}
    try:
        cfg = _ADAPTER.validate_python(data)
    except ValidationError as exc:
        raise ConfigError([format_error(e) for e in exc.errors()]) from None
    problems = Problems()
    _plain_text_secrets(cfg, set(secret_keys), problems)
    platform_problems(cfg, problems)
    if problems:
        raise ConfigError(problems.lines)
    return cfg


def _plain_text_secrets(cfg: PlatformConfig, secret_keys: set[str], problems: Problems) -> None:
    """Secrets must arrive as secrets: set with `pulumi config set --secret`."""
    for loc, secret in secret_values(cfg, []):
        if secret.marked_secure or f"{NAMESPACE}:{loc[0]}" in secret_keys:
            continue
        dotted = key_path(loc).split(":", 1)[1]
        problems.line(loc, f"got a plain-text value; expected a secret (set it with: pulumi config set --secret --path '{dotted}' <value>)")


def secret_values(value: Any, prefix: list[str | int]) -> Iterator[tuple[list[str | int], SecretValue]]:
    """Every SecretValue in a validated config, with its key path."""
    if isinstance(value, SecretValue):
        yield prefix, value
    elif isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            yield from secret_values(getattr(value, name), [*prefix, field.alias or name])
    elif isinstance(value, list):
        for i, item in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            yield from secret_values(item, [*prefix, i])


# ---------------------------------------------------------------------------------------------
# Error lines


def format_error(err: ErrorDetails) -> str:
    loc, annotation, chosen = resolve(err["loc"])
    kind = err["type"]
    given = err.get("input")
    if kind == "unknown_variant":
        return _unknown_variant(loc, annotation, given)
    path = key_path(loc)
    if kind == "extra_forbidden":
        allowed = _keys_of(resolve(err["loc"][:-1])[1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        belongs = _belongs_elsewhere(loc, chosen)
        return f"{path}: unknown key{belongs}{suggestion}; expected one of: {', '.join(sorted(allowed))}"
    if kind == "missing":
        return f"{path}: missing; expected a value (this key is required)"
    if isinstance(given, SecureLeaf):
        return f"{path}: got a secure value; expected a plain value (this key is not secret)"
    if kind == "secret_type" or SecretValue in _flatten(annotation):
        return f"{path}: got a secret that is not valid; {_expectation(err)}"
    return f"{path}: got {show(given)}; {_expectation(err)}"


Chosen = list[tuple[list[str | int], Variants, str]]


def resolve(raw_loc: Loc) -> tuple[list[str | int], Any, Chosen]:
    """An error location without the union tags pydantic inserts; the annotation it ends at; the variants chosen on the way."""
    current: Any = PlatformSection
    clean: list[str | int] = []
    chosen: Chosen = []
    for part in raw_loc:
        current = _normalise(current)
        variants = variants_of(current)
        if variants is not None and isinstance(part, str) and part in variants.models:
            chosen.append((list(clean), variants, part))
            current = variants.models[part]
            continue
        clean.append(part)
        current = _step(current, part)
    return clean, _normalise(current), chosen


def _step(current: Any, part: str | int) -> Any:
    origin = get_origin(current)
    if origin is list:
        return get_args(current)[0]
    if origin is dict:
        return get_args(current)[1]
    if isinstance(current, type) and issubclass(current, BaseModel):
        field = _field(current, str(part))
        return _field_annotation(field) if field else None
    return None


def _normalise(annotation: Any) -> Any:
    """Strip `Annotated` (except a tagged union) and `X | None` down to what the key holds."""
    while True:
        if variants_of(annotation) is not None:
            return annotation
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _field(model: type[BaseModel], key: str) -> FieldInfo | None:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == key), None)


def _field_annotation(field: FieldInfo) -> Any:
    variants = next((m for m in field.metadata if isinstance(m, Variants)), None)
    return Annotated[field.annotation, variants] if variants else field.annotation


def _keys_of(annotation: Any) -> list[str]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [f.alias or n for n, f in annotation.model_fields.items()]
    return []


def _has_key(model: Any, rel: list[str | int]) -> bool:
    """Whether `rel` is a key path that exists under `model` (in any variant of nested unions)."""
    current = _normalise(model)
    for part in rel:
        variants = variants_of(current)
        if variants is not None:
            return any(_has_key(m, rel[rel.index(part) :]) for m in variants.models.values())
        if isinstance(current, type) and issubclass(current, BaseModel) and _field(current, str(part)) is None:
            return False
        current = _normalise(_step(current, part))
        if current is None:
            return False
    return True


def _label(section_loc: list[str | int], variants: Variants) -> str:
    return variants.key if not section_loc else f"{key_path(section_loc).split(':', 1)[1]}.{variants.key}"


def _belongs_elsewhere(loc: list[str | int], chosen: Chosen) -> str:
    """` for mongo.provider 'x' (it belongs to mongo.provider 'y')` when another variant has the key."""
    for section_loc, variants, tag in reversed(chosen):
        rel = loc[len(section_loc) :]
        owners = [other for other, model in variants.models.items() if other != tag and _has_key(model, rel)]
        if owners:
            label = _label(section_loc, variants)
            where = " or ".join(f"{label} '{o}'" for o in owners)
            return f" for {label} '{tag}' (it belongs to {where})"
    return ""


def _unknown_variant(loc: list[str | int], annotation: Any, given: Any) -> str:
    variants = variants_of(annotation)
    assert variants is not None  # an unknown_variant error only comes from a tagged union
    tag = given.get(variants.key) if isinstance(given, Mapping) else given  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    tags = [repr(t) for t in variants.models]
    expected = tags[0] if len(tags) == 1 else f"{', '.join(tags[:-1])} or {tags[-1]}"
    scope = f" {variants.scope}" if variants.scope else ""
    section = next((str(p) for p in reversed(loc) if isinstance(p, str)), "")
    elsewhere = other_scopes(section, str(tag), variants) if isinstance(tag, str) else []
    hint = f" ({tag!r} is available {' or '.join(elsewhere)})" if elsewhere else ""
    return f"{key_path([*loc, variants.key])}: got {show(tag)}; expected {expected}{scope}{hint}"


def _expectation(err: ErrorDetails) -> str:
    msg = err["msg"]
    if err["type"] == "string_pattern_mismatch":
        return f"expected a value matching the pattern {(err.get('ctx') or {}).get('pattern')}"
    for prefix in ("Value error, ", "Input should be ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
            break
    return msg if msg.startswith("expected") else f"expected {msg}"


def _flatten(annotation: Any) -> set[Any]:
    found = {annotation}
    for arg in getattr(annotation, "__args__", ()):
        found |= _flatten(arg)
    return found


# ---------------------------------------------------------------------------------------------
# The running stack


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def raw_stack_config() -> tuple[dict[str, Any], set[str]]:
    """The raw `meteor-platform:*` values of the running stack and the keys marked secret."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for full_key in sorted(keys):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        raw[key] = _decode(config.get(key))
    secret_keys = {k for k in keys if pulumi.runtime.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    return raw, secret_keys


def load_config() -> PlatformConfig:
    """Read and validate this stack's configuration (raises ConfigError)."""
    raw, secret_keys = raw_stack_config()
    return parse_config(raw, secret_keys)
