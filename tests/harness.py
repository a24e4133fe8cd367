"""Run the real program for an in-memory stack config under the plan's mocks."""

from __future__ import annotations

import copy
import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from offline_plan.report import plan_text
from offline_plan.runtime import PlanResult, run_program
from offline_plan.wire import SECRET_SIG

ROOT = Path(__file__).resolve().parent.parent
DIGEST = "sha256:" + "ab" * 32
IMAGE = f"ghcr.io/acme/todos@{DIGEST}"
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci"
KUBERNETES: dict[str, Any] = {
    "environment": "staging",
    "mongo": {"provider": "inCluster", "storageProvisioner": "dobs.csi.digitalocean.com"},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}
"""The smallest valid stack on an existing cluster (config values without the namespace)."""
DOCKER: dict[str, Any] = {
    "environment": "dev",
    "target": "docker",
    "ingress": {"tls": "off"},
    "apps": [{"name": "todos", "image": "ghcr.io/acme/todos:dev", "domain": "todos.localhost"}],
}
"""The smallest valid stack on the local Docker engine."""

BASE_CONFIG: dict[str, Any] = {
    "environment": "staging",
    "mongo": {"provider": "inCluster", "storageProvisioner": "dobs.csi.digitalocean.com"},
    "apps": [
        {"name": "todos", "image": f"ghcr.io/acme/todos@{DIGEST}", "domain": "todos.example.com"},
    ],
}


def base_config(**changes: Any) -> dict[str, Any]:
    config = copy.deepcopy(BASE_CONFIG)
    config.update(changes)
    return config


def unwrap(value: Any) -> Any:
    """Mock state with secret wrappers removed (tests may look at real values)."""
    if isinstance(value, dict):
        if SECRET_SIG in value and "value" in value:
            return unwrap(value["value"])
        return {k: unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [unwrap(v) for v in value]
    return value


@dataclass
class Run:
    result: PlanResult
    plan: dict[str, Any]

    def resources(self, type_: str) -> list[dict[str, Any]]:
        return [r for r in self.plan["resources"] if r["type"] == type_]

    def one(self, type_: str, name: str) -> dict[str, Any]:
        matches = [r for r in self.resources(type_) if r["name"] == name]
        assert len(matches) == 1, f"expected one {type_} named {name}, found {len(matches)}"
        return matches[0]

    def state(self, resource: dict[str, Any]) -> dict[str, Any]:
        return unwrap(self.result.states[resource["urn"]])


def run_config(tmp_path: Path, config: dict[str, Any], stack: str = "test", extra_yaml: str = "", **mock_options: Any) -> Run:
    """Plan `config` (values under the meteor-platform namespace) as stack `stack`.

    `mock_options` go to `run_program` (`token_round`, `doks_minors`): what the mocked providers answer.
    """
    document = {"config": {f"meteor-platform:{k}": v for k, v in config.items()}}
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document) + extra_yaml)
    main = tmp_path / "__main__.py"
    if not main.exists():
        main.write_text((ROOT / "__main__.py").read_text())
    result = run_program(tmp_path, stack, **mock_options)
    return Run(result=result, plan=json.loads(plan_text(result.as_json())))


def with_committed_plans(project: Path, *stacks: str) -> None:
    """Put the committed plans of `stacks` into `project`: a promoting stack (aws-hosts promotes
    aws-staging) reads its source stack's outputs from them offline."""
    (project / "plans").mkdir(exist_ok=True)
    for stack in stacks:
        (project / "plans" / f"{stack}.json").write_text((ROOT / "plans" / f"{stack}.json").read_text())


def run_shipped(stack: str, **mock_options: Any) -> Run:
    """Plan a stack file shipped in the repository: a run of its own (what it logs, what the mocks answer this time)."""
    result = run_program(ROOT, stack, **mock_options)
    return Run(result=result, plan=json.loads(plan_text(result.as_json())))


@functools.cache
def _shipped_once(stack: str) -> tuple[PlanResult, str]:
    result = run_program(ROOT, stack)
    return result, plan_text(result.as_json())


def shipped(stack: str) -> Run:
    """The plan of a shipped stack, planned once per test process, for tests that only read it.

    Each caller gets its own copy, so a test that edits it changes no other test's. A test about
    the run itself (what it logs, what it patches, answers of other mock rounds) uses `run_shipped`.
    """
    result, text = _shipped_once(stack)
    return Run(result=copy.deepcopy(result), plan=json.loads(text))


def env_of(deployment: dict[str, Any]) -> dict[str, dict[str, Any]]:
    container = deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e for e in container["env"]}
