"""How a newcomer starts: `scripts/setup` (the main job's runtime requirements, with progress;
`--dev` for the tests) and `scripts/plan`, the offline plan from any directory."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.harness import ROOT

PLAN = ROOT / "scripts" / "plan"
SETUP = ROOT / "scripts" / "setup"


def _plan(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(PLAN), *args], cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def test_the_launcher_plans_from_any_directory_with_paths_relative_to_it(tmp_path: Path) -> None:
    # A directory that holds another `offline_plan` package: `python -m` there would run it.
    (tmp_path / "offline_plan").mkdir()
    (tmp_path / "offline_plan" / "__init__.py").write_text("")
    (tmp_path / "offline_plan" / "__main__.py").write_text("print('the wrong offline_plan')\n")
    proc = _plan("dev", "--json", "dev.json", "--quiet", cwd=tmp_path)
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")
    assert (tmp_path / "dev.json").read_text() == (ROOT / "plans" / "dev.json").read_text(), "this project's plan, written where I am"


def test_the_launchers_root_is_the_project_it_plans(tmp_path: Path) -> None:
    project = tmp_path / "checkout"
    project.mkdir()
    (project / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    document = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    document["config"]["meteor-platform:apps"][0]["env"] = {"MAIL_FROM": "todos@example.com"}
    (project / "Pulumi.dev.yaml").write_text(yaml.safe_dump(document))
    proc = _plan("dev", "--root", "checkout", "--diff", str(ROOT / "plans" / "dev.json"), cwd=tmp_path)
    assert proc.returncode == 3, proc.stderr
    assert "+- docker:index/container:Container  todos-local-1  (replaced: envs)" in proc.stdout, (
        "the checkout's stack file, not this one's"
    )


def test_the_launcher_fails_with_one_error_line(tmp_path: Path) -> None:
    for args in (["dev", "--root", "no-such-dir"], ["no-such-stack"]):
        proc = _plan(*args, cwd=tmp_path)
        assert proc.returncode == 2 and proc.stdout == ""
        assert proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    # A checkout without its venv says how to make it.
    (tmp_path / "project" / "scripts").mkdir(parents=True)
    shutil.copy2(PLAN, tmp_path / "project" / "scripts" / "plan")
    proc = subprocess.run(
        [str(tmp_path / "project" / "scripts" / "plan"), "dev"], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and proc.stderr.count("\n") == 1
    assert proc.stderr.startswith("error: ") and f"bash {tmp_path / 'project'}/scripts/setup" in proc.stderr


FAKE_PYTHON = """#!/usr/bin/env bash
# Stands in for python3 and for the venv's python: records each call, creates no real venv.
echo "$*" >> "{log}"
case "$1 $2" in
  "-m venv") mkdir -p "$3/bin" && ln -sf "{self}" "$3/bin/python" ;;
  "--version ") echo "Python 3.11.99" ;;
esac
"""


def _setup(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """scripts/setup in a copy of the project, with a python that only records what it is asked."""
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy2(SETUP, project / "scripts" / "setup")
    fake, log = tmp_path / "python3", tmp_path / "calls.log"
    fake.write_text(FAKE_PYTHON.format(log=log, self=fake))
    fake.chmod(0o755)
    env = {**os.environ, "PYTHON": str(fake)}
    proc = subprocess.run(["bash", str(project / "scripts" / "setup"), *args], env=env, capture_output=True, text=True, check=False)
    return proc, log.read_text().splitlines() if log.exists() else []


def test_setup_installs_the_runtime_requirements_visibly_and_dev_adds_the_tests(tmp_path: Path) -> None:
    proc, calls = _setup(tmp_path / "main")
    assert proc.returncode == 0, proc.stderr
    installs = [c for c in calls if c.startswith("-m pip install") and "--upgrade pip" not in c]
    assert installs == ["-m pip install --progress-bar on --no-color -r requirements.txt"], "no --quiet: pip shows each package"
    assert "== installing the runtime requirements" in proc.stdout
    proc, calls = _setup(tmp_path / "dev", "--dev")
    assert proc.returncode == 0, proc.stderr
    assert [c for c in calls if c.endswith("-r requirements-dev.txt")] == [
        "-m pip install --progress-bar on --no-color -r requirements-dev.txt"
    ]
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text(), "--dev installs the runtime requirements too"
    proc, calls = _setup(tmp_path / "typo", "--deV")
    assert (proc.returncode, calls) == (2, []), "a typo installs nothing"


def test_the_tests_set_up_installs_what_the_tests_need() -> None:
    for runner in (ROOT / ".ci" / "run", ROOT / ".github" / "workflows" / "ci.yml"):
        text = runner.read_text()
        assert "bash scripts/setup --dev" in text and text.index("bash scripts/setup --dev") < text.index("bash scripts/check"), runner
    runtime = {line.split("==")[0].lower() for line in (ROOT / "requirements.txt").read_text().splitlines() if "==" in line}
    assert not runtime & {"pytest", "pyright", "ruff"}, "the main job's set-up carries no test tools"


def test_every_option_of_the_command_is_in_the_readmes_table(tmp_path: Path) -> None:
    import re

    proc = _plan("--help", cwd=tmp_path)
    assert proc.returncode == 0
    options = set(re.findall(r"(?<![\w-])(--[a-z]+)\b", proc.stdout)) - {"--help"}
    assert {"--root", "--quiet", "--diff", "--base"} <= options
    readme = (ROOT / "README.md").read_text()
    assert [o for o in sorted(options) if not re.search(rf"^\|[^|\n]*`{o}\b", readme, re.MULTILINE)] == [], "README, The offline plan"
