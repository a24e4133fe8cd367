"""Pulumi's Mocks for the plan: each resource and data source answered by its provider's fake."""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs, Mocks

from components import catalogue
from offline_plan.fakes import aws, command, digitalocean, docker, random, tls
from offline_plan.fakes.answers import Answer
from offline_plan.fakes.deterministic import digest, generated_password
from offline_plan.fakes.kubernetes import kubernetes_object

PROVIDER_OUTPUTS: dict[str, Answer] = {
    **random.OUTPUTS,
    **docker.OUTPUTS,
    **command.OUTPUTS,
    **tls.OUTPUTS,
    **digitalocean.OUTPUTS,
}
"""The fakes looked up by resource type; AWS and Kubernetes resources are answered by their type's prefix."""


class PlanMocks(Mocks):
    """Realistic provider answers, deterministic per resource name."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        token_round: int = 0,
        doks_minors: Sequence[str] = catalogue.DOKS_MINORS,
        doks_deployed_version: str | None = None,
        ami_round: int = 0,
    ) -> None:
        self.generated_secrets: list[str] = []
        self.ami_round = ami_round
        """Which image `most_recent` AMI look-ups find: AWS publishes newer ones between runs."""
        self.root = root
        self.token_round = token_round
        """Which API tokens the providers mint this run: a DigitalOcean kubeconfig download and an ECR
        authorization token are new every time."""
        self.doks_minors = tuple(doks_minors)
        """The Kubernetes minors the (mocked) DigitalOcean API offers."""
        self.doks_deployed_version = doks_deployed_version
        """The version a DOKS cluster already runs (its `version` output); None: a new cluster, what it was asked for."""
        self.aws_regions: dict[str, str] = {}
        """The region of each explicit AWS provider, by the provider reference its resources carry."""
        self.invokes: list[tuple[str, str]] = []
        """Every data-source call: its token and the provider reference it went through ('' for the default)."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(args.inputs.get("name") or args.resource_id or args.name))
        resource_id = f"{args.name}-{digest(args.typ, args.name)[:8]}"
        if args.typ in PROVIDER_OUTPUTS:
            resource_id, outputs = PROVIDER_OUTPUTS[args.typ](self, args.name, state)
            state.update(outputs)
        elif args.typ == "pulumi:providers:aws":
            self.aws_regions[resource_id] = str(state.get("region") or aws.DEFAULT_AWS_REGION)
        elif args.typ.startswith("aws:"):
            # pulumi-aws v7: a resource's own `region` overrides its provider's.
            region = str(state.get("region") or self.aws_region(args.provider))
            resource_id, outputs = aws.aws_resource(self, args.name, state, args.typ, region)
            state.update({k: v for k, v in outputs.items() if k not in state or k in ("arn", "id")})
        elif args.typ.startswith("kubernetes:") and "kind" in state:
            resource_id, state = kubernetes_object(args.name, state)
        return resource_id, state

    def _stack_reference(self, stack_name: str) -> tuple[str, dict[str, Any]]:
        """Another stack's outputs, as its committed plan (`plans/<stack>.json`) records them."""
        outputs: dict[str, Any] = {}
        short = stack_name.rsplit("/", 1)[-1]
        plan_file = (self.root or Path.cwd()) / "plans" / f"{short}.json"
        try:
            outputs = json.loads(plan_file.read_text()).get("outputs") or {}
        except (OSError, ValueError):
            outputs = {}  # no committed plan: the stack exports nothing (the program reports it)
        return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": []}

    def aws_region(self, provider: str | None) -> str:
        """The region of the AWS provider behind a reference (`<urn>::<id>`); the default provider's: eu-central-1."""
        return self.aws_regions.get((provider or "").rsplit("::", 1)[-1], aws.DEFAULT_AWS_REGION)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.invokes.append((args.token, str(args.provider or "")))
        if args.token == aws.GET_AMI:
            return aws.newest_ami(args.args, self.ami_round), []
        if args.token == aws.GET_CALLER_IDENTITY:
            return aws.caller_identity(), []
        if args.token == aws.GET_AUTHORIZATION_TOKEN:
            return aws.ecr_authorization_token(self, self.aws_region(args.provider)), []
        if args.token == digitalocean.KUBERNETES_VERSIONS:
            return digitalocean.kubernetes_versions(self.doks_minors, args.args), []
        return {}, []

    def secret(self, name: str, length: int = 32) -> str:
        """A generated credential; recorded so tests can prove it never leaks."""
        value = generated_password(name, length)
        self.generated_secrets.append(value)
        return value
