"""The GitHub workflows lint clean (actionlint) and audit clean (zizmor, offline)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.harness import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"
BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN)) or shutil.which(name)
    assert found, f"{name} is pinned in requirements-dev.txt: bash scripts/setup"
    return found


def test_workflows_pass_actionlint() -> None:
    proc = subprocess.run([_tool("actionlint"), "-no-color"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_workflows_pass_zizmor_with_no_findings() -> None:
    proc = subprocess.run(
        [_tool("zizmor"), "--offline", "--no-progress", str(WORKFLOWS)], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings to report" in proc.stdout


def test_every_action_is_pinned_by_commit() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for line in path.read_text().splitlines():
            if "uses:" in line:
                ref = line.split("uses:", 1)[1].split("#")[0].strip()
                assert "@" in ref and len(ref.split("@")[1]) == 40, f"{path.name}: {ref} is not pinned to a commit SHA"


def test_the_comment_is_posted_without_running_pull_request_code() -> None:
    poster = yaml.safe_load((WORKFLOWS / "preview-comment.yml").read_text())
    steps = [s for job in poster["jobs"].values() for s in job["steps"]]
    assert not any("run" in s or str(s.get("uses", "")).startswith("actions/checkout") for s in steps)
    preview = yaml.safe_load((WORKFLOWS / "preview.yml").read_text())
    assert preview["permissions"] == {"contents": "read"}
    assert "secrets." not in (WORKFLOWS / "preview.yml").read_text()


def test_checkouts_keep_no_credentials() -> None:
    for path in WORKFLOWS.glob("*.yml"):
        for job in yaml.safe_load(path.read_text())["jobs"].values():
            for step in job["steps"]:
                if str(step.get("uses", "")).startswith("actions/checkout@"):
                    assert step.get("with", {}).get("persist-credentials") is False, f"{path.name}: checkout persists the token"


def test_dependabot_keeps_every_pin_current() -> None:
    config = yaml.safe_load((ROOT / ".github" / "dependabot.yml").read_text())
    ecosystems = {(u["package-ecosystem"], u["directory"]) for u in config["updates"]}
    assert ecosystems == {("pip", "/"), ("pip", "/policy"), ("github-actions", "/")}
    assert all(u["schedule"]["interval"] == "weekly" and u.get("groups") for u in config["updates"])


def test_delivery_staging_on_merge_production_by_hand_behind_reviewers() -> None:
    staging = yaml.safe_load((WORKFLOWS / "deploy-staging.yml").read_text())
    assert staging[True] == {"push": {"branches": ["main"]}}  # PyYAML reads the `on:` key as True
    [up] = [s for s in staging["jobs"]["up"]["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert (up["with"]["command"], up["with"]["stack-name"]) == ("up", "staging")
    production = yaml.safe_load((WORKFLOWS / "promote-production.yml").read_text())
    assert list(production[True]) == ["workflow_dispatch"], "started by hand only"
    job = production["jobs"]["up"]
    assert job["environment"] == "production", "gated by the environment's required reviewers"
    [promote] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert (promote["with"]["command"], promote["with"]["stack-name"]) == ("up", "production")
    assert not any("buildx" in str(s.get("uses", "")) for s in job["steps"]), "production never builds"


def test_the_drift_check_expects_no_changes_and_keeps_one_issue_per_stack() -> None:
    drift = yaml.safe_load((WORKFLOWS / "drift.yml").read_text())
    assert "schedule" in drift[True]
    job = drift["jobs"]["preview"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    [preview] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert preview["with"]["expect-no-changes"] is True and preview["with"]["refresh"] is True
    [report] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    script = report["with"]["script"]
    assert "issues.update" in script and "issues.create" in script, "one issue per stack, updated in place"
    assert "${{" not in script, "run data reaches the script through env, never by template expansion"


DOCTL_VERSION = "1.166.0"
"""digitalocean/doctl tag v1.166.0 (2026-07-31), the newest release the project checked."""


def test_every_workflow_that_runs_pulumi_on_doks_installs_doctl_first() -> None:
    """The DOKS provider's kubeconfig runs `doctl kubernetes cluster kubeconfig exec-credential`."""
    for name in ("drift.yml", "deploy-staging.yml", "promote-production.yml", "pulumi-preview.yml"):
        workflow = yaml.safe_load((WORKFLOWS / name).read_text())
        for job in workflow["jobs"].values():
            uses = [str(s.get("uses", "")) for s in job["steps"]]
            pulumi_steps = [i for i, u in enumerate(uses) if u.startswith("pulumi/actions@")]
            doctl_steps = [i for i, u in enumerate(uses) if u.startswith("digitalocean/action-doctl@")]
            assert pulumi_steps and doctl_steps and doctl_steps[0] < pulumi_steps[0], name
            for i in doctl_steps:
                # The action installs `latest` unless told: a release, the same in every workflow.
                assert job["steps"][i]["with"].get("version") == DOCTL_VERSION, name
            for i in pulumi_steps:
                env = job["steps"][i]["env"]
                assert env["DIGITALOCEAN_ACCESS_TOKEN"] == env["DIGITALOCEAN_TOKEN"], name
