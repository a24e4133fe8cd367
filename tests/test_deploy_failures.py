"""A failed Docker-host deploy says why: the planned readiness and migration steps, run against a
recording stand-in `docker` (and `ssh`) that replays a container, fail with its state, its health
checks and the last lines of its log, and never touch a healthy container."""

from __future__ import annotations

import copy
import itertools
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from components.app.docker_specs import HEALTHY_WITHIN_SECONDS
from components.docker.steps import REPORT_LINES
from offline_plan.changes import plan_changes
from tests.harness import Run, base_config, run_config, shipped

CONTAINER = "docker:index/container:Container"
COMMAND = "command:local:Command"

# A stand-in `docker`: records every call in $CALLS, answers `inspect` from $STATUS (the health
# status) and the fixed state below, `logs --tail N` with the last N of 80 numbered lines, `wait`
# with $EXIT_CODE. A `{{json .State.Health}}` inspect gets a health log with a probe's output.
FAKE_DOCKER = r"""#!/bin/sh
printf '%s\n' "$*" >> "$CALLS"
case "$1" in
  inspect)
    case "$3" in
      *'json .State.Health'*) echo '{"Status":"unhealthy","FailingStreak":4,"Log":[{"ExitCode":1,"Output":"connect ECONNREFUSED 127.0.0.1:3000"}]}' ;;
      *RestartCount*) echo "restarting, health $STATUS, restarted 6 times, last exit code 1, OOM killed: false" ;;
      *OOMKilled*) echo "OOM killed: true" ;;
      *) echo "$STATUS" ;;
    esac ;;
  logs)
    n=$3
    i=$((80 - n + 1))
    while [ "$i" -le 80 ]; do echo "app line $i"; i=$((i + 1)); done
    echo "Error: MONGO_URL must be set" >&2 ;;
  start) echo "$2" ;;
  wait) echo "$EXIT_CODE" ;;
  *) echo "unexpected docker $*" >&2; exit 99 ;;
esac
"""
# A stand-in `ssh`: records its arguments, then runs the remote command (its last argument) here.
FAKE_SSH = '#!/bin/sh\necho ssh >> "$CALLS"\nprintf "%s\\n" "$@" > "$SSH_ARGS"\nfor last; do :; done\nexec sh -c "$last"\n'


@pytest.fixture(scope="module")
def droplets() -> Run:
    return shipped("droplets")


def stand_ins(tmp_path: Path) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, text in (("docker", FAKE_DOCKER), ("ssh", FAKE_SSH), ("sleep", '#!/bin/sh\necho slept >> "$CALLS"\n')):
        (bin_dir / tool).write_text(text)
        (bin_dir / tool).chmod(0o755)
    return bin_dir


def run_step(state: dict[str, Any], tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """The step's planned `create`, with its planned environment, against the stand-ins."""
    bin_dir = tmp_path / "bin" if (tmp_path / "bin").exists() else stand_ins(tmp_path)
    calls = tmp_path / "calls"
    calls.write_text("")
    environment = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "SSH_ARGS": str(tmp_path / "ssh-args"),
        **state["environment"],
        **env,
    }
    result = subprocess.run(["sh", "-c", state["create"]], capture_output=True, text=True, env=environment, timeout=60, check=False)
    return result, calls.read_text().splitlines()


def app_containers(run: Run) -> list[dict[str, Any]]:
    return [c for c in run.resources(CONTAINER) if c["name"].startswith("todos-") and "migrate" not in c["name"]]


def test_every_app_and_canary_container_has_a_readiness_step_instead_of_the_providers_wait(droplets: Run) -> None:
    containers = app_containers(droplets)
    assert {c["name"] for c in containers} >= {"todos-host0-0", "todos-canary-host0-0"}
    for container in containers:
        assert "wait" not in container["inputs"] and "waitTimeout" not in container["inputs"], container["name"]
        ready = droplets.one(COMMAND, f"{container['name']}-healthy")
        state = droplets.state(ready)
        container_id = droplets.result.ids[container["urn"]]
        # A new container is checked again; a failed check stores nothing, so the next `up` checks again.
        assert state["triggers"] == [container_id] and ready["replaceOnChanges"] == ["triggers[*]"]
        assert "update" not in state and "delete" not in state
        assert container_id in state["create"] and "HEALTH_WAIT" in state["environment"]
        assert container["urn"] in ready["dependencies"]
        assert state["addPreviousOutputInEnv"] is False and ready["additionalSecretOutputs"] == ["stderr", "stdout"]
        assert state["logging"] == "none", "the error carries the report; no second copy while it runs"


def test_the_next_container_waits_until_the_previous_one_is_healthy(droplets: Run) -> None:
    order = ["todos-host0-0", "todos-host0-1", "todos-host0-2", "todos-canary-host0-0"]
    for before, after in itertools.pairwise(order):
        ready = droplets.one(COMMAND, f"{before}-healthy")["urn"]
        assert ready in droplets.one(CONTAINER, after)["dependencies"], after


def test_an_unhealthy_container_fails_the_up_with_its_health_checks_and_log_tail(droplets: Run, tmp_path: Path) -> None:
    container = droplets.one(CONTAINER, "todos-host0-1")
    state = droplets.state(droplets.one(COMMAND, "todos-host0-1-healthy"))
    result, calls = run_step(state, tmp_path, STATUS="unhealthy")
    assert result.returncode != 0, "the step fails, so `pulumi up` fails with this output"
    output = result.stdout + result.stderr
    assert f"did not become healthy in {HEALTHY_WITHIN_SECONDS}s" in output
    assert "restarted 6 times, last exit code 1" in output, "the reason: its state"
    assert "connect ECONNREFUSED 127.0.0.1:3000" in output, "the reason: its health checks' output"
    first = 81 - REPORT_LINES  # the fake's log has 80 lines
    assert f"app line {first}\n" in output and "app line 80" in output and f"app line {first - 1}\n" not in output, "the last lines"
    assert "Error: MONGO_URL must be set" in output, "what the app printed on stderr too"
    container_id = droplets.result.ids[container["urn"]]
    assert calls.count("slept") == HEALTHY_WITHIN_SECONDS // 5, "it waited the whole timeout"
    assert f"logs --tail {REPORT_LINES} {container_id}" in calls
    # Never the environment or the configuration: only the container's state and its own output.
    assert all(c.startswith(("inspect --format {{", "logs --tail")) or c in ("slept", "ssh") for c in calls), calls
    assert not any(".Config" in c or "Env" in c for c in calls)
    assert calls.count("ssh") == 1, "one ssh connection to the host runs the whole check"
    ssh = (tmp_path / "ssh-args").read_text()
    assert f"\n{state['environment']['DOCKER_HOST']}\nsh -c '" in ssh and "KnownHostsCommand=/bin/echo %H ssh-ed25519 " in ssh


def test_a_healthy_container_is_only_inspected(droplets: Run, tmp_path: Path) -> None:
    state = droplets.state(droplets.one(COMMAND, "todos-canary-host0-0-healthy"))
    result, calls = run_step(state, tmp_path, STATUS="healthy")
    assert result.returncode == 0 and "is healthy" in result.stdout
    assert calls[0] == "ssh" and len(calls) == 2 and calls[1].startswith("inspect --format "), "never started, stopped or restarted"


def test_a_container_that_becomes_healthy_late_passes(droplets: Run, tmp_path: Path) -> None:
    state = droplets.state(droplets.one(COMMAND, "todos-host0-0-healthy"))
    stand_ins(tmp_path)
    # Healthy from the fourth probe on: the stand-in reads its status from a file the fake sleep advances.
    (tmp_path / "bin" / "sleep").write_text(
        '#!/bin/sh\necho slept >> "$CALLS"\nn=$(grep -c slept "$CALLS")\n[ "$n" -ge 3 ] && echo healthy > "$STATUS_FILE"\nexit 0\n'
    )
    docker = (tmp_path / "bin" / "docker").read_text().replace('*) echo "$STATUS" ;;', '*) cat "$STATUS_FILE" ;;')
    (tmp_path / "bin" / "docker").write_text(docker)
    (tmp_path / "status").write_text("starting\n")
    result, calls = run_step(state, tmp_path, STATUS_FILE=str(tmp_path / "status"))
    assert result.returncode == 0, result.stdout
    assert calls.count("slept") == 3 and not any(c.startswith("logs") for c in calls)


def test_a_failed_migration_fails_the_up_with_its_exit_code_and_log_tail(droplets: Run, tmp_path: Path) -> None:
    migrate = droplets.one(CONTAINER, "todos-migrate")
    run = droplets.one(COMMAND, "todos-migrate-run")
    state = droplets.state(run)
    assert state["triggers"] == [droplets.result.ids[migrate["urn"]]] and "update" not in state, "a retry runs it again"
    result, calls = run_step(state, tmp_path, EXIT_CODE="3")
    container_id = droplets.result.ids[migrate["urn"]]
    assert result.returncode == 3, "the migration's own exit code fails the step"
    assert f"{container_id} failed with exit code 3 (OOM killed: true)" in result.stdout
    assert "app line 31\n" in result.stdout and "app line 80" in result.stdout and "app line 30\n" not in result.stdout
    assert calls[:3] == ["ssh", f"start {container_id}", f"wait {container_id}"]
    assert not any(".Config" in c or "Env" in c for c in calls)
    # Not streamed into the `up` output while it runs (nor on success): only a failure's error shows
    # the report, which the engine prints unmasked (pulumi/pulumi#15912); the outputs stay secret.
    assert state["logging"] == "none" and run["additionalSecretOutputs"] == ["stderr", "stdout"]
    assert "MIGRATION_REPORT" in state["environment"] and "docker logs" not in state["create"], "the script is not in the error"


def test_a_successful_migration_passes_and_keeps_its_tail(droplets: Run, tmp_path: Path) -> None:
    state = droplets.state(droplets.one(COMMAND, "todos-canary-migrate-run"))
    result, _ = run_step(state, tmp_path, EXIT_CODE="0")
    assert result.returncode == 0 and "finished" in result.stdout and "app line 80" in result.stdout


def test_the_local_engine_checks_with_its_own_docker(tmp_path: Path) -> None:
    config = base_config(environment="dev", target="docker", mongo={"provider": "container"}, storage={"provider": "minio"})
    config["ingress"] = {"tls": "off"}
    config["apps"][0].update(image="ghcr.io/acme/todos:dev", migrate={"command": ["node", "migrate.js"]})
    (tmp_path / "project").mkdir()
    run = run_config(tmp_path / "project", config)
    state = run.state(run.one(COMMAND, "todos-local-0-healthy"))
    assert state["create"].startswith('sh -c "sh -c $HEALTH_WAIT ') and state["environment"]["DOCKER_HOST"].startswith("unix://")
    result, calls = run_step(state, tmp_path, STATUS="unhealthy")
    assert "ssh" not in calls and f"logs --tail 50 {run.result.ids[run.one(CONTAINER, 'todos-local-0')['urn']]}" in calls
    assert result.returncode == 1 and "connect ECONNREFUSED" in result.stdout and "app line 80" in result.stdout
    assert not (tmp_path / "ssh-args").exists(), "no ssh for the local engine"
    migration = run.state(run.one(COMMAND, "todos-migrate-run"))
    failed, _ = run_step(migration, tmp_path, EXIT_CODE="1")
    assert failed.returncode == 1 and "failed with exit code 1" in failed.stdout


def test_moving_the_wait_to_the_readiness_step_restarts_no_running_container(droplets: Run) -> None:
    """A stack deployed with pulumi-docker's `wait` (as before this step existed): its app containers
    are updated in place, not replaced (`wait`, `wait_timeout` are not ForceNew and only steer Create:
    offline_plan/provider_facts.yaml); the readiness steps are created and find them healthy."""
    deployed = copy.deepcopy(droplets.plan)
    deployed["resources"] = [r for r in deployed["resources"] if not r["name"].endswith("-healthy")]
    for container in deployed["resources"]:
        if container["type"] == CONTAINER and container["name"] in {c["name"] for c in app_containers(droplets)}:
            container["inputs"].update(wait=True, waitTimeout=300)
    changes = {c.name: c for c in plan_changes(deployed, droplets.plan).resources}
    for container in app_containers(droplets):
        assert changes[container["name"]].action == "update", container["name"]
        assert changes[f"{container['name']}-healthy"].action == "create"
