"""Item 7 of issue 19: the daily drift check (`pulumi preview --refresh --expect-no-changes`) reports
nothing on an unchanged stack.

What a provider mints anew on every run (a DigitalOcean kubeconfig download's token and expiry,
pulumi/pulumi-digitalocean#78; an ECR authorization token and its expiry, pulumi/pulumi-docker#952)
must reach no input the program plans: a second run, with every per-run answer of the mocks varied
(`token_round`), plans exactly what the first did, for every shipped stack.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pulumi.runtime.mocks import MockCallArgs, MockResourceArgs

from offline_plan.runtime import PlanMocks
from tests.harness import run_shipped

ROOT = Path(__file__).resolve().parent.parent
SHIPPED_STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.*.yaml"))


def test_every_shipped_stack_is_checked() -> None:
    assert SHIPPED_STACKS == ["aws-hosts", "aws-production", "aws-staging", "byoc", "dev", "droplets", "production", "staging"]


def test_the_mocks_answer_every_per_run_value_anew_each_round() -> None:
    """Without this the second-run test would prove nothing: each round's tokens and expiries differ."""
    ecr = MockCallArgs("aws:ecr/getAuthorizationToken:getAuthorizationToken", {}, "")
    first, second = (PlanMocks(ROOT, token_round=r).call(ecr)[0] for r in (0, 1))
    for key in ("authorizationToken", "password", "expiresAt"):
        assert first[key] != second[key], key
    doks = MockResourceArgs("digitalocean:index/kubernetesCluster:KubernetesCluster", "meteor-cluster-doks", {"name": "c"})
    configs = [PlanMocks(ROOT, token_round=r).new_resource(doks)[1]["kubeConfigs"][0] for r in (0, 1)]
    for key in ("rawConfig", "token", "expiresAt"):
        assert configs[0][key] != configs[1][key], key


@pytest.mark.parametrize("stack", SHIPPED_STACKS)
def test_a_second_run_with_every_per_run_answer_varied_plans_the_same(stack: str) -> None:
    first, again = run_shipped(stack), run_shipped(stack, token_round=1)
    assert again.plan == first.plan
