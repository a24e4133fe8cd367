"""`scripts/dev`: the dev stack up and down in one command, checked with a recording stand-in for `pulumi`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.harness import ROOT

FAKE_PULUMI = """#!/bin/sh
printf '%s|%s|%s\\n' "$*" "$PULUMI_BACKEND_URL" "${PULUMI_CONFIG_PASSPHRASE-unset}" >> "$CALLS"
case "$*" in
  "stack output urls --json --stack dev") echo '{"todos": "http://todos.localhost"}' ;;
esac
exit "${FAKE_PULUMI_STATUS:-0}"
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of what the script touches, so the test never writes into the repository."""
    root = tmp_path / "project"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "dev", root / "scripts" / "dev")
    (root / ".venv" / "bin").mkdir(parents=True)
    (root / ".venv" / "bin" / "python").symlink_to(sys.executable)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text(FAKE_PULUMI)
    (bin_dir / "docker").write_text("#!/bin/sh\nexit 0\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    return root


def run(project: Path, *args: str, **env: str) -> tuple[subprocess.CompletedProcess[str], list[list[str]]]:
    calls = project.parent / "calls.log"
    environment = {**os.environ, "PATH": f"{project.parent / 'bin'}:/usr/bin:/bin", "CALLS": str(calls), **env}
    environment.pop("PULUMI_CONFIG_PASSPHRASE", None)
    proc = subprocess.run(["bash", str(project / "scripts" / "dev"), *args], env=environment, capture_output=True, text=True, timeout=60)
    recorded = [line.split("|") for line in calls.read_text().splitlines()] if calls.exists() else []
    return proc, recorded


def test_up_creates_the_stack_without_prompts_and_prints_the_url(project: Path) -> None:
    proc, calls = run(project, "up")
    assert proc.returncode == 0, proc.stderr
    assert [c[0] for c in calls] == [
        "stack select dev --create --non-interactive",
        "up --yes --non-interactive --stack dev",
        "stack output urls --json --stack dev",
    ]
    state = f"file://{project}/.pulumi-state"
    assert all(c[1] == state for c in calls), "state stays inside the project, no account"
    assert all(c[2] == "" for c in calls), "an empty passphrase is set, so nothing prompts"
    assert "todos: http://todos.localhost" in proc.stdout
    assert (project / ".pulumi-state").is_dir()


def test_down_destroys_and_removes_the_stack_but_keeps_its_file(project: Path) -> None:
    proc, calls = run(project, "down")
    assert proc.returncode == 0, proc.stderr
    assert [c[0] for c in calls] == [
        "destroy --yes --non-interactive --stack dev",
        "stack rm dev --yes --preserve-config --non-interactive",
    ]


def test_a_failing_pulumi_stops_the_script(project: Path) -> None:
    proc, calls = run(project, "up", FAKE_PULUMI_STATUS="1")
    assert proc.returncode == 1
    assert len(calls) == 1 and "dev is up" not in proc.stdout


def test_without_the_cli_or_docker_it_says_what_is_missing(project: Path) -> None:
    (project.parent / "bin" / "pulumi").unlink()
    proc, _ = run(project, "up")
    assert proc.returncode == 2 and "Pulumi CLI" in proc.stderr
    (project.parent / "bin" / "pulumi").write_text(FAKE_PULUMI)
    (project.parent / "bin" / "pulumi").chmod(0o755)
    (project.parent / "bin" / "docker").write_text("#!/bin/sh\nexit 1\n")
    proc, calls = run(project, "up")
    assert proc.returncode == 2 and "Docker" in proc.stderr and calls == []


def test_the_urls_output_the_script_reads_exists() -> None:
    plan = json.loads((ROOT / "plans" / "dev.json").read_text())
    assert plan["outputs"]["urls"] == {"todos": "http://todos.localhost"}
