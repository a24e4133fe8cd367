"""The AWS stacks are previewed, deployed and drift-checked by workflows that hold no AWS key: each job
that needs AWS assumes a role through GitHub's OIDC provider, and only those jobs may mint the token.
(actionlint and zizmor run over these files in tests/test_workflows.py.)"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
AWS_STACKS = sorted(p.name.removeprefix("Pulumi.").removesuffix(".yaml") for p in ROOT.glob("Pulumi.aws-*.yaml"))
CONFIGURE_AWS = "aws-actions/configure-aws-credentials@e6de054238d6b7531b4efff3b6587d9aade6a06c"
"""aws-actions/configure-aws-credentials tag v6.2.3 (also `v6`), the newest release the project checked."""
DEPLOY_RUNNER = """${{ fromJSON(vars.DEPLOY_RUNNER_LABELS || '["self-hosted", "meteor-platform-deploy"]') }}"""
PREVIEW_RUNNER = """${{ fromJSON(vars.PREVIEW_RUNNER_LABELS || '["self-hosted", "meteor-platform-preview"]') }}"""
"""The runner convention (README, "CI on AWS" and the CI section): runners whose egress is in the admin networks."""
STORED_KEYS = ("aws-access-key-id", "aws-secret-access-key", "aws-session-token", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def _script_module(path: Path) -> ModuleType:
    """scripts/ is not a package: load the workflows' helper from its file."""
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


aws_ci = _script_module(ROOT / "scripts" / "aws_ci.py")


def _load(name: str) -> dict[Any, Any]:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def _uses(step: dict[str, Any], action: str) -> bool:
    return str(step.get("uses", "")).startswith(action + "@")


def _jobs() -> list[tuple[str, str, dict[str, Any]]]:
    return [(p.name, name, job) for p in sorted(WORKFLOWS.glob("*.yml")) for name, job in _load(p.name)["jobs"].items()]


def _pulumi(job: dict[str, Any]) -> dict[str, Any]:
    [step] = [s for s in job["steps"] if _uses(s, "pulumi/actions")]
    return step


def _stacks(job: dict[str, Any]) -> list[str]:
    return list(job.get("strategy", {}).get("matrix", {}).get("stack", []))


# -- every AWS stack, in every workflow ------------------------------------------------------------------


def test_the_aws_stacks_are_the_shipped_ones() -> None:
    assert AWS_STACKS == ["aws-hosts", "aws-production", "aws-staging"]


def test_every_aws_stack_gets_a_real_preview_on_pull_requests() -> None:
    workflow = _load("aws-preview.yml")
    assert list(workflow[True]) == ["pull_request"]  # PyYAML reads the `on:` key as True
    job = workflow["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository", "forks get no credentials"
    assert sorted(_stacks(job)) == AWS_STACKS
    step = _pulumi(job)
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("preview", "${{ matrix.stack }}")
    assert step["with"]["policyPacks"] == "policy"


def test_aws_staging_deploys_on_every_merge() -> None:
    workflow = _load("aws-deploy-staging.yml")
    assert workflow[True] == {"push": {"branches": ["main"]}}
    job = workflow["jobs"]["up"]
    assert job["environment"] == "staging"
    assert (_pulumi(job)["with"]["command"], _pulumi(job)["with"]["stack-name"]) == ("up", "aws-staging")
    assert job["env"]["STACK"] == "aws-staging"
    assert any(_uses(s, "docker/setup-buildx-action") for s in job["steps"]), "staging builds"


def test_aws_production_stacks_deploy_by_hand_behind_the_production_reviewers() -> None:
    workflow = _load("aws-promote-production.yml")
    assert list(workflow[True]) == ["workflow_dispatch"], "started by hand only"
    stack = workflow[True]["workflow_dispatch"]["inputs"]["stack"]
    assert stack["type"] == "choice" and sorted(stack["options"]) == ["aws-hosts", "aws-production"]
    job = workflow["jobs"]["up"]
    assert job["environment"] == "production", "gated by the environment's required reviewers"
    step = _pulumi(job)
    assert (step["with"]["command"], step["with"]["stack-name"]) == ("up", "${{ inputs.stack }}")
    assert not any("buildx" in str(s.get("uses", "")) for s in job["steps"]), "production never builds"
    # Both promote what aws-staging exports (their stack files say so): staging's deploy feeds them.
    for name in stack["options"]:
        config = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
        assert config["meteor-platform:promotion"]["fromStack"].endswith("/aws-staging"), name


def test_every_aws_stack_is_in_a_deploy_workflow() -> None:
    deployed = {"aws-staging"} | set(_load("aws-promote-production.yml")[True]["workflow_dispatch"]["inputs"]["stack"]["options"])
    assert sorted(deployed) == AWS_STACKS


def test_the_aws_drift_check_expects_no_changes_on_every_aws_stack() -> None:
    workflow = _load("aws-drift.yml")
    assert "schedule" in workflow[True]
    job = workflow["jobs"]["preview"]
    assert sorted(_stacks(job)) == AWS_STACKS
    assert job["environment"] == "drift"
    assert "command" not in _pulumi(job)["with"], "the action only installs the CLI: the drift check runs the preview"
    [preview] = [s for s in job["steps"] if "scripts/drift_check.py" in s.get("run", "")]
    # The same script as drift.yml (tests/test_drift_check.py): refresh, expect no changes, clean/drift/failed.
    assert preview["run"] == '.venv/bin/python scripts/drift_check.py --stack "$STACK" --out "$RUNNER_TEMP/drift.json"'
    assert preview["env"] == {"PULUMI_ACCESS_TOKEN": "${{ secrets.PULUMI_ACCESS_TOKEN }}"}
    [report] = [s for s in job["steps"] if _uses(s, "actions/github-script")]
    assert report["if"] == "steps.preview.outputs.outcome != ''"
    assert "issues.update" in report["with"]["script"] and "issues.create" in report["with"]["script"]
    assert "${{" not in report["with"]["script"], "run data reaches the script through env"


def test_concurrency_never_cancels_a_deploy_and_each_stack_has_its_own_group() -> None:
    groups = {name: _load(name)["concurrency"] for name in ("aws-deploy-staging.yml", "aws-promote-production.yml", "aws-drift.yml")}
    assert all(g["cancel-in-progress"] is False for g in groups.values())
    assert groups["aws-deploy-staging.yml"]["group"] == "deploy-aws-staging"
    assert groups["aws-promote-production.yml"]["group"] == "deploy-${{ inputs.stack }}"
    # Not the DigitalOcean workflows' groups: a group holds one running and one pending run, and a newly queued
    # run cancels the pending one (GitHub docs, "Control the concurrency of workflows and jobs"), so a shared
    # group would cancel one stack's pending deploy for another's.
    existing = {_load(n)["concurrency"]["group"] for n in ("deploy-staging.yml", "promote-production.yml", "drift.yml")}
    assert not existing & {g["group"] for g in groups.values()}


# -- OIDC: short-lived credentials, only where a role is assumed -------------------------------------------


def test_only_jobs_that_assume_a_role_may_mint_an_oidc_token() -> None:
    assuming = []
    for path in sorted(WORKFLOWS.glob("*.yml")):
        assert "id-token" not in json.dumps(_load(path.name).get("permissions", {})), f"{path.name}: id-token at workflow level"
    for workflow, name, job in _jobs():
        assumes = any(_uses(s, "aws-actions/configure-aws-credentials") for s in job["steps"])
        assert (job.get("permissions", {}).get("id-token") == "write") == assumes, (workflow, name)
        if assumes:
            assuming.append(workflow)
    assert sorted(assuming) == ["aws-deploy-staging.yml", "aws-drift.yml", "aws-preview.yml", "aws-promote-production.yml"]


ROLE_PER_WORKFLOW = {
    "aws-deploy-staging.yml": ("staging", "AWS_DEPLOY_ROLE_ARN"),
    "aws-promote-production.yml": ("production", "AWS_DEPLOY_ROLE_ARN"),
    "aws-drift.yml": ("drift", "AWS_DRIFT_ROLE_ARN"),
    "aws-preview.yml": ("preview", "AWS_PREVIEW_ROLE_ARN"),
}
"""Each role is a variable of the job's GitHub environment, whose name is the `sub` its trust policy requires."""


@pytest.mark.parametrize("workflow", sorted(ROLE_PER_WORKFLOW))
def test_each_aws_job_assumes_its_environments_role_before_anything_reaches_aws(workflow: str) -> None:
    environment, variable = ROLE_PER_WORKFLOW[workflow]
    [job] = _load(workflow)["jobs"].values()
    assert job["environment"] == environment
    # Inside the admin networks (the EKS endpoint, the hosts); pull-request code on runners of its own.
    assert job["runs-on"] == (PREVIEW_RUNNER if environment == "preview" else DEPLOY_RUNNER)
    uses = [str(s.get("uses", "")) for s in job["steps"]]
    runs = [str(s.get("run", "")) for s in job["steps"]]
    [configure] = [i for i, u in enumerate(uses) if u.startswith("aws-actions/configure-aws-credentials@")]
    assert uses[configure] == CONFIGURE_AWS
    step = job["steps"][configure]
    assert step["with"]["role-to-assume"] == f"${{{{ vars.{variable} }}}}"
    assert step["with"]["aws-region"] == "${{ steps.stack.outputs.region }}"
    assert not set(step["with"]) & set(STORED_KEYS)
    [region] = [i for i, s in enumerate(job["steps"]) if s.get("id") == "stack"]
    [tools] = [i for i, r in enumerate(runs) if r.startswith("bash scripts/ci-aws-tools ")]
    # The step that runs Pulumi: pulumi/actions with a command, or the drift check's script.
    [pulumi] = [i for i, s in enumerate(job["steps"]) if "command" in s.get("with", {}) or "scripts/drift_check.py" in s.get("run", "")]
    assert region < configure < tools < pulumi, "region, then the role, then the tools (the Docker config names its account), then Pulumi"
    go = next(i for i, u in enumerate(uses) if u.startswith("actions/setup-go@"))
    assert go < tools and re.fullmatch(r"1\.[0-9]+\.[0-9]+", job["steps"][go]["with"]["go-version"]), "an exact Go release"
    assert job["steps"][go]["with"]["cache"] is False, "no module cache carried between runs"
    # AWS comes from the role only; a preview's Pulumi token is the Read one of its own environment.
    token = "PREVIEW_PULUMI_ACCESS_TOKEN" if environment == "preview" else "PULUMI_ACCESS_TOKEN"
    assert job["steps"][pulumi]["env"] == {"PULUMI_ACCESS_TOKEN": f"${{{{ secrets.{token} }}}}"}, "AWS comes from the role only"


def test_no_workflow_stores_an_aws_key() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        text = path.read_text()
        assert not [k for k in STORED_KEYS if k in text], path.name


def test_the_ssh_deploy_key_reaches_only_aws_hosts_jobs_outside_pull_requests() -> None:
    assert "DEPLOY_SSH_KEY" not in (WORKFLOWS / "aws-preview.yml").read_text(), "pull-request code never holds the hosts' key"
    for name, condition in (
        ("aws-promote-production.yml", "inputs.stack == 'aws-hosts'"),
        ("aws-drift.yml", "matrix.stack == 'aws-hosts'"),
    ):
        [job] = _load(name)["jobs"].values()
        [agent] = [s for s in job["steps"] if "DEPLOY_SSH_KEY" in json.dumps(s)]
        assert agent["if"] == condition and "$DEPLOY_SSH_KEY" in agent["run"] and "${{" not in agent["run"]


# -- the tools and what the workflows compute ------------------------------------------------------------------


def test_each_workflow_takes_the_region_from_the_stack_file() -> None:
    for stack in AWS_STACKS:
        config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
        assert aws_ci.stack_region(stack) == config["meteor-platform:aws"]["region"]
    proc = subprocess.run([sys.executable, "scripts/aws_ci.py", "region", "aws-hosts"], cwd=ROOT, capture_output=True, text=True)
    assert (proc.returncode, proc.stdout) == (0, "eu-central-1\n")
    with pytest.raises(SystemExit, match=r"sets no meteor-platform:aws\.region"):
        aws_ci.stack_region("staging")


def test_the_docker_config_names_the_credential_helper_for_the_accounts_registry() -> None:
    config = aws_ci.docker_config("123456789012", "eu-central-1")
    assert config == {"credHelpers": {"123456789012.dkr.ecr.eu-central-1.amazonaws.com": "ecr-login"}}
    assert "auths" not in json.dumps(config), "no credential in it"
    for account, region in (("12345678901", "eu-central-1"), ("123456789012", "eu-central-1.evil.com")):
        with pytest.raises(SystemExit):
            aws_ci.docker_config(account, region)


def test_the_tools_are_pinned_and_verified() -> None:
    script = (ROOT / "scripts" / "ci-aws-tools").read_text()
    [sha] = re.findall(r"^AWS_CLI_SHA256=([0-9a-f]+)$", script, re.MULTILINE)
    assert len(sha) == 64
    assert "sha256sum --check --strict" in script
    assert re.search(r"awscli-exe-linux-x86_64-\$\{AWS_CLI_VERSION\}\.zip", script), "a release, not the moving latest"
    modules = re.findall(r"^[A-Z_]+_MODULE=(\S+)$", script, re.MULTILINE)
    assert len(modules) == 2 and all(re.search(r"@v[0-9]+\.[0-9]+\.[0-9]+$", m) for m in modules)
    assert "GOSUMDB=sum.golang.org" in script and "GONOSUMDB= " in script and "GOPRIVATE= " in script and "GOINSECURE= " in script
    assert "scripts/aws_ci.py docker-config" in script and '"$HOME/.docker/config.json"' in script
    subprocess.run(["bash", "-n", str(ROOT / "scripts" / "ci-aws-tools")], check=True)


def test_a_download_that_fails_its_checksum_installs_nothing(tmp_path: Path) -> None:
    """A tampered AWS CLI zip stops the script before anything is unpacked, run or configured."""
    if os.uname().machine != "x86_64":
        pytest.skip("the pinned AWS CLI is the x86_64 build")
    fakes = tmp_path / "bin"
    fakes.mkdir()
    calls = tmp_path / "calls"
    for name in ("unzip", "go", "aws", "crane"):
        (fakes / name).write_text(f'#!/bin/sh\necho {name} >> "{calls}"\n')
    # curl "downloads" bytes that are not the release: `-o <file>` gets them.
    (fakes / "curl").write_text('#!/bin/sh\nwhile [ $# -gt 0 ]; do if [ "$1" = -o ]; then printf tampered > "$2"; shift; fi; shift; done\n')
    for fake in fakes.iterdir():
        fake.chmod(0o755)
    env = {"PATH": f"{fakes}:/usr/bin:/bin", "HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        ["bash", str(ROOT / "scripts" / "ci-aws-tools"), "aws-staging"], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode != 0 and "FAILED" in proc.stdout + proc.stderr
    assert not calls.exists(), calls.read_text()
    assert not (tmp_path / "home" / ".docker").exists()


# -- IAM: the trust policy the README documents ------------------------------------------------------------------


def _readme_trust_policy() -> dict[str, Any]:
    readme = (ROOT / "README.md").read_text()
    [block] = re.findall(r"<!-- trust-policy -->\n```json\n(.*?)```", readme, re.DOTALL)
    return json.loads(block)


def test_the_readme_trust_policy_is_the_rendered_one() -> None:
    assert _readme_trust_policy() == aws_ci.trust_policy("123456789012", "acme/meteor-platform", "production")
    proc = subprocess.run(
        [sys.executable, "scripts/aws_ci.py", "trust-policy", "123456789012", "acme/meteor-platform", "production"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert json.loads(proc.stdout) == _readme_trust_policy()


@pytest.mark.parametrize("environment", sorted({e for e, _ in ROLE_PER_WORKFLOW.values()}))
def test_the_trust_policy_admits_one_repository_in_one_environment(environment: str) -> None:
    [statement] = aws_ci.trust_policy("123456789012", "acme/meteor-platform", environment)["Statement"]
    assert statement["Effect"] == "Allow" and statement["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert statement["Principal"] == {"Federated": "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"}
    # Exact matches only (no StringLike, no wildcard, no ForAllValues:), on both the audience and the subject.
    assert statement["Condition"] == {
        "StringEquals": {
            "token.actions.githubusercontent.com:aud": "sts.amazonaws.com",
            "token.actions.githubusercontent.com:sub": f"repo:acme/meteor-platform:environment:{environment}",
        }
    }
    assert "*" not in json.dumps(statement)


def test_the_audience_is_the_one_the_action_requests() -> None:
    """configure-aws-credentials asks GitHub for `sts.amazonaws.com` unless told (its `audience` input)."""
    for name in ROLE_PER_WORKFLOW:
        [job] = _load(name)["jobs"].values()
        [step] = [s for s in job["steps"] if _uses(s, "aws-actions/configure-aws-credentials")]
        assert step["with"].get("audience", aws_ci.AUDIENCE) == aws_ci.AUDIENCE


def test_readme_names_every_role_variable_and_the_admin_principals() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### CI on AWS", 1)[1].split("\n## ", 1)[0]
    for environment, variable in ROLE_PER_WORKFLOW.values():
        assert f"`{variable}`" in section and f"`{environment}`" in section
    assert "kubernetes.adminPrincipals" in section and "DEPLOY_SSH_KEY" in section
