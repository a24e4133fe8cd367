"""The policy pack's adapter: each rule of `rules.py` as a mandatory Pulumi stack policy, run
on the same resources the offline plan checks. The rules depend on the stack's environment (dev, staging, production): give it as
policy config, `--policy-pack-config` with `{"all": {"environment": "staging"}}`; without it a
stack named dev, staging or production is taken as that environment, any other as production
(the strictest).
"""

# Resource inputs are JSON-shaped (Any): their members are checked at run time, not typed.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    Secret,
    StackValidationArgs,
    StackValidationPolicy,
)

sys.path.insert(0, str(Path(__file__).resolve().parent))

import rules

NAME = "meteor-platform"


def plain(value: Any) -> Any:
    """Secrets as the rules expect them: `[secret]`, never their value."""
    if isinstance(value, Secret):
        return rules.SECRET
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


def options_for(config: Mapping[str, Any] | None, resources: list[rules.Resource]) -> rules.Options:
    configured = (config or {}).get("environment")
    if configured in rules.ENVIRONMENTS:
        return rules.Options(environment=str(configured))
    stack = resources[0].stack if resources else ""
    return rules.Options(environment=stack if stack in rules.ENVIRONMENTS else "production")


def _policy(rule: rules.Rule) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [resource(r) for r in args.resources]
        options = options_for(args.get_config(), resources)
        for violation in rules.check(resources, [rule], options):
            report_violation(violation.message, violation.urn)

    return StackValidationPolicy(
        name=rule.name,
        description=rule.description,
        enforcement_level=EnforcementLevel.MANDATORY,
        validate=validate,
        config_schema=PolicyConfigSchema(properties={"environment": {"type": "string", "enum": list(rules.ENVIRONMENTS)}}),
    )


def policies() -> list[Policy]:
    return [_policy(rule) for rule in rules.RULES]
