"""AWS: one explicit provider from `aws.region` for every resource and data source, its default
tags, a second run that changes nothing (the ECR login), the EKS upgrade policy and the default
bucket name."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.aws.provider import ENVIRONMENT_TAG, STACK_TAG
from offline_plan.fakes.aws import AWS_ACCOUNT
from tests.harness import IMAGE, ROOT, Run, env_of, run_config, run_shipped, shipped, with_committed_plans

AWS_STACKS = ("aws-staging", "aws-production", "aws-hosts")
PROVIDER = "pulumi:providers:aws"
PLANS = sorted(p.stem for p in (ROOT / "plans").glob("*.json"))


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    return {stack: shipped(stack) for stack in AWS_STACKS}


def _stack_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}


def _aws_resources(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"].startswith("aws:")]


# -- item 1: the region in config is the region used ------------------------------------------------


@pytest.mark.parametrize("stack", PLANS)
def test_every_aws_resource_in_every_plan_uses_the_one_explicit_provider(stack: str) -> None:
    """Without it, the default provider takes `aws:region`, `AWS_REGION` or the profile's region
    (components/aws/provider.py): an `up` with none fails, with another builds in the wrong region."""
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text())
    providers = [r["urn"] for r in plan["resources"] if r["type"] == PROVIDER]
    resources = _aws_resources(plan)
    if not resources:
        assert providers == [], f"{stack} creates no AWS resource, yet an AWS provider"
        return
    assert len(providers) == 1, providers
    assert {r["provider"] for r in resources} == {providers[0]}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_aws_resource_and_data_source_of_the_program_goes_through_it(runs: dict[str, Run], stack: str) -> None:
    """The program as it runs now (the test above reads the committed plans)."""
    run = runs[stack]
    [provider] = run.resources(PROVIDER)
    assert {r["provider"] for r in _aws_resources(run.plan)} == {provider["urn"]}
    calls = [(token, ref) for token, ref in run.result.invokes if token.startswith("aws:")]
    assert calls, f"{stack} reads no AWS data source: this test would prove nothing"
    assert all(ref.rsplit("::", 1)[0] == provider["urn"] for _, ref in calls), calls


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_the_provider_has_the_region_and_the_stacks_default_tags(runs: dict[str, Run], stack: str) -> None:
    inputs = runs[stack].one(PROVIDER, "meteor-aws")["inputs"]
    config = _stack_config(stack)
    assert inputs["region"] == config["aws"]["region"]
    assert json.loads(inputs["defaultTags"]) == {"tags": {STACK_TAG: stack, ENVIRONMENT_TAG: config["environment"]}}


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_no_resource_repeats_a_default_tag(runs: dict[str, Run], stack: str) -> None:
    """A key in both a resource's `tags` and the provider's default tags gives perpetual diffs on some
    resources (hashicorp/terraform-provider-aws#18311, #31826)."""
    tagged = [r for r in _aws_resources(runs[stack].plan) if isinstance(r["inputs"].get("tags"), dict)]
    assert tagged
    for resource in tagged:
        assert not {STACK_TAG, ENVIRONMENT_TAG} & set(resource["inputs"]["tags"]), resource["urn"]


def test_another_region_in_config_is_the_region_everything_uses(tmp_path: Path) -> None:
    config = _stack_config("aws-hosts")
    config["aws"] = {"region": "us-east-1", "vpc": {"cidr": "10.132.0.0/16", "availabilityZones": ["us-east-1a", "us-east-1b"]}}
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-hosts")
    [provider] = run.resources(PROVIDER)
    assert provider["inputs"]["region"] == "us-east-1"
    assert {r["provider"] for r in _aws_resources(run.plan)} == {provider["urn"]}
    # What AWS answers through it (the mocks follow the provider's region): the registry is in us-east-1.
    repository = run.one("aws:ecr/repository:Repository", "meteor-registry-todos")
    assert ".dkr.ecr.us-east-1.amazonaws.com/" in run.state(repository)["repositoryUrl"]
    subnets = run.resources("aws:ec2/subnet:Subnet")
    assert {s["inputs"]["availabilityZone"] for s in subnets} == {"us-east-1a", "us-east-1b"}


# -- item 10: the second `up` with nothing changed does nothing -----------------------------------------


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_a_second_run_with_another_ecr_token_plans_the_same(runs: dict[str, Run], stack: str) -> None:
    """ECR's authorization token is new on every call (pulumi/pulumi-docker#952; the mocks answer
    another one per `token_round`): nothing the program plans may carry it."""
    again = run_shipped(stack, token_round=1)
    assert again.plan == runs[stack].plan


def test_docker_hosts_and_builds_log_in_to_ecr_through_the_credential_helper(runs: dict[str, Run]) -> None:
    hosts = runs["aws-hosts"]
    [docker] = hosts.resources("pulumi:providers:docker")
    [auth] = json.loads(hosts.state(docker)["registryAuth"])
    server = f"{AWS_ACCOUNT}.dkr.ecr.eu-central-1.amazonaws.com"
    assert auth["address"] == server
    assert json.loads(auth["configFileContent"]) == {"credHelpers": {server: "ecr-login"}}
    [image] = runs["aws-staging"].resources("docker-build:index:Image")
    assert image["inputs"]["registries"] == []  # the Docker config where `pulumi up` runs logs it in
    copies = [c for c in runs["aws-production"].resources("command:local:Command") if "SOURCE_REF" in c["inputs"].get("environment", {})]
    assert copies
    for copy in copies:
        assert sorted(copy["inputs"]["environment"]) == ["SOURCE_REF", "TARGET_REPOSITORY"]
        # crane logs in through the copied Docker config (its credHelpers), never with a token.
        assert "crane copy" in copy["inputs"]["create"] and "crane auth login" not in copy["inputs"]["create"]


# -- item 9: EKS standard support, a default bucket name unique per account --------------------------


def test_eks_is_on_standard_support_unless_config_says_otherwise(runs: dict[str, Run], tmp_path: Path) -> None:
    """Unset, EKS puts a cluster on EXTENDED support, billed extra past standard support (EKS API
    reference, UpgradePolicyRequest)."""
    for stack in ("aws-staging", "aws-production"):
        cluster = runs[stack].one("aws:eks/cluster:Cluster", "meteor-cluster-eks")
        assert cluster["inputs"]["upgradePolicy"] == {"supportType": "STANDARD"}
    config = _stack_config("aws-staging")
    config["apps"][0] = {**{k: v for k, v in config["apps"][0].items() if k != "build"}, "image": IMAGE}
    config["kubernetes"]["supportType"] = "EXTENDED"
    extended = run_config(tmp_path, config, stack="aws-staging")
    assert extended.one("aws:eks/cluster:Cluster", "meteor-cluster-eks")["inputs"]["upgradePolicy"] == {"supportType": "EXTENDED"}


def test_a_bad_support_type_names_the_key() -> None:
    from components.config import ConfigError, parse_config

    config = _stack_config("aws-staging")
    config["kubernetes"]["supportType"] = "LONG"
    with pytest.raises(ConfigError, match=r"meteor-platform:kubernetes\.supportType: .*LONG.*STANDARD.*EXTENDED"):
        parse_config(config, set(), project_dir=ROOT)


def test_the_default_bucket_is_named_after_the_stack_and_the_account(runs: dict[str, Run], tmp_path: Path) -> None:
    """S3 names are global: `meteor-platform-<stack>-files` would collide between two teams' `aws-staging`."""
    for stack in ("aws-staging", "aws-production", "aws-hosts"):
        [bucket] = runs[stack].resources("aws:s3/bucket:Bucket")
        assert bucket["inputs"]["bucket"] == f"meteor-{stack}-{AWS_ACCOUNT}"
    staging = runs["aws-staging"]
    env = env_of(staging.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert env["S3_BUCKET"]["value"] == f"meteor-aws-staging-{AWS_ACCOUNT}"
    # A stack deployed with the earlier default keeps its bucket by naming it.
    config = _stack_config("aws-hosts")
    config["storage"]["bucket"] = "meteor-platform-aws-hosts-files"
    with_committed_plans(tmp_path, "aws-staging")
    pinned = run_config(tmp_path, config, stack="aws-hosts")
    [bucket] = pinned.resources("aws:s3/bucket:Bucket")
    assert bucket["inputs"]["bucket"] == "meteor-platform-aws-hosts-files"


def test_a_stack_mixing_aws_and_digitalocean_gives_the_aws_provider_to_aws_resources_only(tmp_path: Path) -> None:
    """EKS with the team's DigitalOcean registry: the platform's providers are per package."""
    config = _stack_config("aws-staging")
    config["apps"][0] = {**{k: v for k, v in config["apps"][0].items() if k != "build"}, "image": IMAGE}
    config["registry"] = {"provider": "digitalocean", "name": "meteor-team", "existing": True}
    run = run_config(tmp_path, config, stack="mixed")
    [provider] = run.resources(PROVIDER)
    assert {r["provider"] for r in _aws_resources(run.plan)} == {provider["urn"]}
    digitalocean = [r for r in run.plan["resources"] if r["type"].startswith("digitalocean:")]
    assert digitalocean and all(r["provider"] is None or "providers:aws" not in r["provider"] for r in digitalocean)


def test_a_changed_bucket_name_shows_as_a_replacement(runs: dict[str, Run], tmp_path: Path) -> None:
    """S3 bucket names never change in place (ForceNew on `bucket`, terraform-provider-aws
    internal/service/s3/bucket.go): the offline preview says so, and the README's upgrade path pins the old name."""
    from offline_plan.changes import plan_changes

    config = _stack_config("aws-hosts")
    config["storage"]["bucket"] = "meteor-platform-aws-hosts-files"
    with_committed_plans(tmp_path, "aws-staging")
    renamed = run_config(tmp_path, config, stack="aws-hosts")
    [bucket] = [c for c in plan_changes(runs["aws-hosts"].plan, renamed.plan).resources if c.urn.endswith("meteor-storage-bucket")]
    assert bucket.action == "replace" and bucket.replace_reasons == ["bucket"]
    # An explicit bucket name (pulumi-aws autonames `bucket`, not `name`): the engine deletes first
    # (pulumi-terraform-bridge nameRequiresDeleteBeforeReplace), so the preview says so.
    assert bucket.delete_before_replace is True
