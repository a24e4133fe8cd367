"""The policy pack's adapter: each rule of `rules.py` as a mandatory Pulumi stack policy, run
on the same resources the offline plan checks. The rules depend on the stack's environment (dev,
staging, production), derived as the offline plan derives it (`rules.stack_environment`): the
stack's `meteor-platform:environment` config, then its name, else production (the strictest).
"""

# Resource inputs are JSON-shaped (Any): their members are checked at run time, not typed.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi.runtime
from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import proxy as policy_proxy

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rules

NAME = "meteor-platform"


# pulumi_policy 1.21 hands a policy its resources' props wrapped in an unknown-checking proxy (policy.py:
# `props = unknown_checking_proxy(deserialized)`): reading an unknown value through it raises UnknownValueError, which
# the analyzer turns into an advisory "can't run policy ... during preview" (policy.py:1012-1017), so every rule
# would be skipped at preview. `proxy["__target"]` returns the wrapped dict or list without the check (proxy.py
# _DictProxy/_ListProxy.__getitem__), as pulumi_policy's own deserialize.py `_serialize_property` unwraps them;
# an unknown is then its sentinel string (proxy.py UNKNOWN_*_VALUE, `_is_unknown`).
_PROXIES = (policy_proxy._DictProxy, policy_proxy._ListProxy)  # pyright: ignore[reportPrivateUsage]
_UNKNOWNS = frozenset(
    {
        policy_proxy.UNKNOWN_BOOLEAN_VALUE,
        policy_proxy.UNKNOWN_NUMBER_VALUE,
        policy_proxy.UNKNOWN_STRING_VALUE,
        policy_proxy.UNKNOWN_ARRAY_VALUE,
        policy_proxy.UNKNOWN_ASSET_VALUE,
        policy_proxy.UNKNOWN_ARCHIVE_VALUE,
        policy_proxy.UNKNOWN_OBJECT_VALUE,
    }
)


def plain(value: Any) -> Any:
    """Values as the rules expect them: a secret as `[secret]`, never its value; a value unknown during preview as
    `[unknown]` (read around pulumi_policy's unknown-checking proxy, which would raise on it)."""
    if isinstance(value, _PROXIES):
        return plain(value["__target"])
    if isinstance(value, Secret):
        return rules.SECRET
    if isinstance(value, str) and value in _UNKNOWNS:
        return rules.UNKNOWN
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]  # pyright: ignore[reportUnknownVariableType]
    return value


def resource(policy_resource: PolicyResource) -> rules.Resource:
    return rules.Resource(
        type=policy_resource.resource_type,
        name=policy_resource.name,
        urn=policy_resource.urn,
        inputs=plain(policy_resource.props),
        protect=policy_resource.opts.protect,
        dependencies=tuple(d.urn for d in policy_resource.dependencies),
    )


def options_for(resources: list[rules.Resource]) -> rules.Options:
    """The stack's environment from its own config, as the CLI hands it to a policy pack.

    `pulumi preview --policy-pack` starts the pack with the stack's config in `PULUMI_CONFIG`
    (pulumi/pulumi sdk/go/common/resource/plugin/analyzer_plugin.go: NewPolicyAnalyzer ->
    constructEnv, "Config is passed as an environment variable ... similar to how config is
    passed to each language runtime plugin"), and the pinned pulumi_policy loads it into pulumi's
    runtime config before each validation (policy.py `_configure_runtime_settings`:
    `pulumi.runtime.get_config_env()` -> `set_config`). pulumi-policy's own integration test reads
    a `pulumi config set` value from a Python pack's stack validation
    (tests/integration/runtime_data/policy-pack-python/__main__.py). The pack runs in its own
    environment (policy/requirements.txt: no pydantic, no `components.config`), so it reads this
    one key and `stack_environment` accepts only dev, staging or production.
    """
    stack = resources[0].stack if resources else ""
    return rules.stack_environment(pulumi.runtime.get_config(rules.ENVIRONMENT_CONFIG), stack)


def _policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [resource(r) for r in args.resources]
        options = options_for(resources)
        for violation in rules.check(resources, [rule], options):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
    )


def policies() -> list[Policy]:
    return [_policy(rule) for rule in rules.RULES]
