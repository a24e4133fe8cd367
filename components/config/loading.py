"""Reading and validating a stack's `meteor-platform:*` values: the only place that reads `pulumi.Config`.

Two passes: pydantic checks every value's shape (tagged unions decide which keys exist), then
the rules that span values run. Either pass ends in one `ConfigError` listing every problem.
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Iterator, Mapping, Set
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import pulumi
import pulumi.runtime
from pulumi.runtime import config as runtime_config
from pydantic import BaseModel, TypeAdapter, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from components.config.errors import NAMESPACE, ConfigError, Loc, Problems, key_path, show
from components.config.names import derived_name_problems, stack_name_problems
from components.config.platform import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig, PlatformSection
from components.config.release import release_problems
from components.config.rules import cross_section_problems
from components.config.unions import Variants, annotation_members, other_scopes, variants_of
from components.config.values import Model
from components.secrets import SecretValue, SecureLeaf, mark_secure_leaves
from components.stackfile import SecurePath, StackFileError, read_stack_file, stack_file_path

TARGETS: dict[str, type[KubernetesPlatformConfig] | type[DockerPlatformConfig]] = {
    "kubernetes": KubernetesPlatformConfig,
    "docker": DockerPlatformConfig,
}


@functools.cache
def _adapter(target: str | None) -> TypeAdapter[PlatformConfig]:
    """The validator of one target's config (schemas are built on first use, for that target only:
    a stack pays for the models it uses), or of the whole union for a target that is not one."""
    if target in TARGETS:
        return TypeAdapter(TARGETS[target])
    return TypeAdapter(PlatformSection)


def parse_config(
    raw: Mapping[str, Any],
    secret_keys: Set[str] = frozenset(),
    *,
    stack: str | None = None,
    secure_paths: Set[SecurePath] | None = None,
    other_keys: Iterable[str] = (),
    project_dir: Path | None = None,
) -> PlatformConfig:
    """Validate the `meteor-platform:*` values (already JSON-decoded, keys without the prefix).

    `secret_keys` holds the full keys (`meteor-platform:apps`) the engine marked secret;
    `secure_paths` the `secure:` leaves of the stack file when it could be read (then secrecy is
    checked per leaf); `other_keys` the full keys of other namespaces; `stack` the stack name;
    `project_dir` where build contexts are (they are checked when it is given).
    Raises ConfigError naming every bad key.
    """
    problems = Problems()
    _namespace_problems(other_keys, problems)
    if stack is not None:
        stack_name_problems(stack, problems)
    data = {key: mark_secure_leaves(value) for key, value in raw.items()}
    target = data.get("target", "kubernetes")
    chosen = target if isinstance(target, str) and target in TARGETS else None
    try:
        cfg = _adapter(chosen).validate_python(data)
    except ValidationError as exc:
        errors = exc.errors()
        if chosen is not None:
            # Locations as the whole union reports them (the target's tag first), for one error format.
            errors = [_under(chosen, e) for e in errors]
        raise ConfigError([*problems.lines, *(format_error(e) for e in errors)]) from None
    _plain_text_secrets(cfg, secret_keys, secure_paths, problems)
    own_rule_problems(cfg, [], problems)
    cross_section_problems(cfg, problems)
    release_problems(cfg, project_dir, problems)
    if stack is not None:
        derived_name_problems(cfg, stack, problems)
    if problems:
        raise ConfigError(problems.lines)
    return cfg


# Provider packages whose config a stack may carry beside this project's.
PROVIDER_NAMESPACES = ("pulumi", "digitalocean", "kubernetes", "docker", "random", "command")

AWS_CREDENTIAL_KEYS = frozenset(
    {
        "profile",
        "accessKey",
        "secretKey",
        "token",
        "assumeRoles",
        "assumeRoleWithWebIdentity",
        "sharedCredentialsFiles",
        "sharedConfigFiles",
    }
)
"""`aws:*` keys of the default provider's credentials (pulumi_aws/config/vars.py)."""


def _under(tag: str, err: ErrorDetails) -> ErrorDetails:
    moved = err.copy()
    moved["loc"] = (tag, *err["loc"])
    return moved


def _namespace_problems(other_keys: Iterable[str], problems: Problems) -> None:
    """A key of no known namespace is a typo (`meteor-platfrom:protect`), not something to ignore."""
    for full_key in sorted(other_keys):
        namespace, _, key = full_key.partition(":")
        if namespace in PROVIDER_NAMESPACES:
            continue
        if namespace == "aws":
            problems.raw(_aws_key_problem(full_key, key))
            continue
        close = difflib.get_close_matches(namespace, [NAMESPACE, *PROVIDER_NAMESPACES], n=1)
        hint = f" (did you mean '{close[0]}:{key}'?)" if close else ""
        problems.raw(
            f"{full_key}: unknown key: namespace {namespace!r} is not this project's{hint}; "
            f"expected '{NAMESPACE}:<key>' or a provider's namespace ({', '.join(PROVIDER_NAMESPACES)})"
        )


def _aws_key_problem(full_key: str, key: str) -> str:
    """`aws:*` configures the default AWS provider, which this program never uses: its one explicit provider
    (components/aws/provider.py) reads only what the program gives it, so such a key would be silently ignored."""
    if key == "region":
        where = f"set the region with 'pulumi config set --path aws.region <region>' ({NAMESPACE}:aws.region)"
    elif key in AWS_CREDENTIAL_KEYS:
        where = "give credentials through the environment (AWS_PROFILE, SSO, OIDC in CI) where `pulumi up` runs"
    else:
        where = f"the provider's settings come from {NAMESPACE}:aws (region) and the stack (default tags)"
    return (
        f"{full_key}: ignored: the program's AWS provider is explicit and reads no aws:* key; expected no aws:* key "
        f"({where}; then 'pulumi config rm {full_key}', or, where it comes from a Pulumi ESC environment the stack "
        "imports, remove it from that environment's pulumiConfig)"
    )


def _plain_text_secrets(cfg: PlatformConfig, secret_keys: Set[str], secure_paths: Set[SecurePath] | None, problems: Problems) -> None:
    """Secrets must arrive as secrets: set with `pulumi config set --secret`, leaf by leaf.

    The engine marks a whole top-level key secret when any leaf under it is `secure:`; where the
    stack file is readable its `secure:` leaves decide, so a plain leaf beside a secure one is refused.
    """
    for loc, secret in secret_values(cfg, []):
        if secret.marked_secure:
            continue
        full = (f"{NAMESPACE}:{loc[0]}", *loc[1:])
        if secure_paths is not None:
            if full in secure_paths:
                continue
        elif full[0] in secret_keys:
            continue
        dotted = key_path(loc).split(":", 1)[1]
        problems.line(loc, f"got a plain-text value; expected a secret (set it with: pulumi config set --secret --path '{dotted}' <value>)")


def own_rule_problems(value: Any, loc: list[str | int], problems: Problems) -> None:
    """Every section's rules about its own values (`Model.own_problems`), each placed where the section sits."""
    if isinstance(value, Model):
        found = Problems()
        value.own_problems(found)
        problems.add_under(loc, found)
    if isinstance(value, BaseModel):
        for name, field in type(value).model_fields.items():
            own_rule_problems(getattr(value, name), [*loc, field.alias or name], problems)
    elif isinstance(value, list):
        for i, item in enumerate(value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
            own_rule_problems(item, [*loc, i], problems)


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
    elif isinstance(value, dict):
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            yield from secret_values(item, [*prefix, str(key)])  # pyright: ignore[reportUnknownArgumentType]


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
    if kind == "secret_type" or SecretValue in annotation_members(annotation):
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


# ---------------------------------------------------------------------------------------------
# The running stack


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def raw_stack_config() -> tuple[dict[str, Any], set[str], list[str]]:
    """The raw `meteor-platform:*` values of the running stack, the keys marked secret, and the other namespaces' keys."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    others: list[str] = []
    for full_key in sorted(keys):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            others.append(full_key)
            continue
        raw[key] = _decode(config.get(key))
    secret_keys = {k for k in keys if pulumi.runtime.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    return raw, secret_keys, others


def _secure_paths(project_dir: Path | None, stack: str) -> set[SecurePath] | None:
    """The `secure:` leaves of the stack file, with full keys, or None when it cannot be read."""
    if project_dir is None:
        return None
    try:
        stack_file = read_stack_file(stack_file_path(project_dir, stack))
    except StackFileError:
        return None  # config from elsewhere (e.g. Pulumi ESC): secrecy is known per top-level key only
    return {(path[0] if ":" in str(path[0]) else f"{NAMESPACE}:{path[0]}", *path[1:]) for path in stack_file.secure_paths}


def load_config(project_dir: Path | None = None) -> PlatformConfig:
    """Read and validate this stack's configuration (raises ConfigError).

    `project_dir` is where `Pulumi.<stack>.yaml` lives; with it, secrecy is checked per leaf.
    """
    raw, secret_keys, others = raw_stack_config()
    stack = pulumi.get_stack()
    return parse_config(
        raw, secret_keys, stack=stack, secure_paths=_secure_paths(project_dir, stack), other_keys=others, project_dir=project_dir
    )
