"""A failed Kubernetes rollout or migration says why: the app's last log lines reach the `pulumi up` error.

pulumi-kubernetes reports, for every unready pod of a Deployment or Job it awaits, the container's
`state.terminated.message` and `lastState.terminated.message` (provider/pkg/await/checker/pod/check.go);
with `terminationMessagePolicy: FallbackToLogsOnError` the kubelet fills that message with the tail of
the container's log when it exits with an error. The planned containers ask for it; a pod recorded from a
real cluster by the provider's maintainers (tests/fixtures/SOURCES.md) shows the kubelet putting what the
container printed into exactly the field the provider reads.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from components.app.kubernetes_specs import LOG_TAIL_ON_ERROR
from offline_plan.report import kubernetes_objects
from tests.harness import ROOT, Run, base_config, run_config, shipped

RECORDED = json.loads((ROOT / "tests" / "fixtures" / "pulumi-kubernetes-crashloop-fallback-to-logs.json").read_text())[0]
# What pulumi-kubernetes' own test expects its pod checker to report for RECORDED (checker/pod/check_test.go,
# "crashLoopBackoff with FallbackToLogsOnError", at 94977969): the last line is what the container printed.
PROVIDER_REPORTS = (
    "[Pod crashloop]: containers with unready status: "
    "[crash][CrashLoopBackOff] back-off 1m20s restarting failed "
    "container=crash pod=crashloop_default(0c5eddea-a859-4ee2-bb6a-4f4d0b786d85)\n"
    'container "crash" terminated at 2024-07-03T17:47:36Z (Error: exit code 1)\n'
    "see ya!\n"
)


def app_containers(run: Run) -> dict[str, dict[str, Any]]:
    """Every container of the apps' Deployments and migration Jobs, by `<kind>/<name>`."""
    found: dict[str, dict[str, Any]] = {}
    for obj in kubernetes_objects(run.plan):
        if obj["kind"] not in ("Deployment", "Job") or obj["metadata"].get("labels", {}).get("meteor-platform/role") != "app":
            continue
        for container in obj["spec"]["template"]["spec"]["containers"]:
            found[f"{obj['kind']}/{obj['metadata']['name']}/{container['name']}"] = container
    return found


@pytest.mark.parametrize("stack", ["production", "staging", "byoc"])
def test_app_canary_and_migration_containers_report_their_log_tail(stack: str) -> None:
    containers = app_containers(shipped(stack))
    assert containers
    kinds = {key.split("/")[0] for key in containers}
    assert "Deployment" in kinds and (stack == "byoc" or "Job" in kinds)
    for key, container in containers.items():
        assert container.get("terminationMessagePolicy") == "FallbackToLogsOnError", key


def test_a_canary_migration_reports_its_log_tail(tmp_path: Path) -> None:
    config = base_config()
    digest = "sha256:" + "cd" * 32
    config["apps"][0] |= {
        "replicas": 4,
        "migrate": {"command": ["node", "main.js", "--migrate-only"]},
        "canary": {"image": f"ghcr.io/acme/todos@{digest}", "share": 25, "migrate": {"command": ["node", "main.js", "--migrate-only"]}},
    }
    containers = app_containers(run_config(tmp_path, config))
    names = sorted(containers)
    assert any(n.startswith("Job/") and "canary" in n for n in names) and any(n.startswith("Deployment/todos-canary") for n in names), names
    assert all(c["terminationMessagePolicy"] == LOG_TAIL_ON_ERROR for c in containers.values())


def test_the_recorded_kubelet_puts_the_log_tail_where_the_provider_reads_it() -> None:
    [spec] = RECORDED["spec"]["containers"]
    [status] = RECORDED["status"]["containerStatuses"]
    # The recorded container asked what ours ask, printed one line and failed ...
    assert spec["terminationMessagePolicy"] == LOG_TAIL_ON_ERROR
    assert spec["command"] == ["bash", "-c", 'echo "see ya!" && exit 1']
    # ... and the kubelet made that line the termination message of the stopped container:
    # status.containerStatuses[].lastState.terminated.message, the field containerLastTerminationState reads.
    terminated = status["lastState"]["terminated"]
    assert (terminated["reason"], terminated["exitCode"], terminated["message"]) == ("Error", 1, "see ya!\n")
    assert PROVIDER_REPORTS.endswith(terminated["message"])
    assert (
        f'container "{status["name"]}" terminated at {terminated["finishedAt"]} ({terminated["reason"]}: exit code 1)' in PROVIDER_REPORTS
    )
