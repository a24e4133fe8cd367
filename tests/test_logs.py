"""Where each target's logs go and for how long: rotated local logs on every Docker host, CloudWatch
Logs for the app containers of EC2 hosts with `logs.ship`, and EKS control-plane logs with retention."""

from __future__ import annotations

import copy
import json
import re
import shlex
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.kubernetes.aws import CONTROL_PLANE_LOG_TYPES
from components.machines.cloud_init import DOCKER_DAEMON
from offline_plan.changes import plan_changes
from tests.harness import ROOT, Run, run_config, shipped, with_committed_plans

CONTAINER = "docker:index/container:Container"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
ROTATED = {"max-file": "5", "max-size": "20m"}


def shipped_config(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items()}


@pytest.fixture(scope="module")
def aws_hosts() -> Run:
    return shipped("aws-hosts")


def app_and_migration_containers(run: Run) -> list[dict[str, Any]]:
    return [c for c in run.resources(CONTAINER) if c["name"].startswith("todos-")]


@pytest.mark.parametrize("stack", ["dev", "droplets"])
def test_every_container_on_a_docker_host_keeps_rotated_local_logs(stack: str) -> None:
    """`local` driver, 20 MB x 5 files per container (docs.docker.com/engine/logging/drivers/local/)."""
    run = shipped(stack)
    containers = run.resources(CONTAINER)
    assert len(containers) > 5
    for container in containers:
        assert (container["inputs"]["logDriver"], container["inputs"]["logOpts"]) == ("local", ROTATED), container["name"]


def test_the_cloud_hosts_daemon_rotates_whatever_else_runs_there() -> None:
    daemon = json.loads(DOCKER_DAEMON)
    assert daemon["log-driver"] == "local" and daemon["log-opts"] == ROTATED


def test_shipped_app_containers_log_to_the_stacks_group_without_blocking(aws_hosts: Run) -> None:
    [group] = aws_hosts.resources(LOG_GROUP)
    assert group["inputs"] == {"name": "/meteor-aws-hosts/containers", "retentionInDays": 30}
    # Turning shipping off drops the group from the stack, not its logs: they expire by retention.
    assert group["retainOnDelete"] is True
    policy = aws_hosts.one(ROLE_POLICY, "meteor-container-logs-write")
    containers = app_and_migration_containers(aws_hosts)
    assert {c["name"] for c in containers} >= {"todos-host0-0", "todos-migrate"}
    for container in containers:
        options = container["inputs"]["logOpts"]
        assert container["inputs"]["logDriver"] == "awslogs", container["name"]
        assert options["awslogs-group"] == "/meteor-aws-hosts/containers" and options["awslogs-region"] == "eu-central-1"
        assert options["awslogs-create-group"] == "false", "the program owns the group (and its retention)"
        assert options["mode"] == "non-blocking" and options["max-buffer-size"] == "4m", "CloudWatch down never stops an app"
        assert options["tag"].startswith("todos/") and options["tag"].endswith("/{{.ID}}"), "one stream per container"
        assert group["urn"] in container["dependencies"] and policy["urn"] in container["dependencies"], container["name"]
    assert len({c["inputs"]["logOpts"]["tag"] for c in containers}) == len(containers)
    # The platform's own containers (Traefik, MongoDB, backups, setup steps) keep their local logs.
    for container in aws_hosts.resources(CONTAINER):
        if container not in containers:
            assert container["inputs"]["logDriver"] == "local", container["name"]


def test_the_docker_daemon_may_only_write_streams_of_that_group(aws_hosts: Run) -> None:
    policy = aws_hosts.one(ROLE_POLICY, "meteor-container-logs-write")
    document = json.loads(aws_hosts.state(policy)["policy"])
    group = aws_hosts.state(aws_hosts.one(LOG_GROUP, "meteor-container-logs-group"))
    [statement] = document["Statement"]
    assert statement["Effect"] == "Allow" and sorted(statement["Action"]) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert statement["Resource"] == f"{group['arn']}:log-stream:*"
    assert group["arn"] == "arn:aws:logs:eu-central-1:123456789012:log-group:/meteor-aws-hosts/containers"
    role = aws_hosts.state(aws_hosts.one("aws:iam/role:Role", "meteor-machines-role"))
    assert aws_hosts.state(policy)["role"] == role["name"], "the hosts' instance role, which the daemon uses"


def hosts_with(tmp_path: Path, logs: dict[str, Any] | None) -> Run:
    config = shipped_config("aws-hosts")
    if logs is None:
        config.pop("logs")
    else:
        config["logs"] = logs
    with_committed_plans(tmp_path, "aws-staging")
    return run_config(tmp_path, config, stack="aws-hosts")


def test_without_shipping_nothing_leaves_the_hosts(tmp_path: Path) -> None:
    run = hosts_with(tmp_path, None)
    assert not run.resources(LOG_GROUP)
    assert not [p for p in run.resources(ROLE_POLICY) if "logs" in p["name"]]
    assert all(c["inputs"]["logDriver"] == "local" for c in run.resources(CONTAINER))


def test_the_retention_follows_config(tmp_path: Path) -> None:
    run = hosts_with(tmp_path, {"ship": True, "retentionDays": 7})
    assert run.one(LOG_GROUP, "meteor-container-logs-group")["inputs"]["retentionInDays"] == 7


def test_digitalocean_hosts_have_no_log_service_to_ship_to(tmp_path: Path) -> None:
    config = shipped_config("droplets")
    config["logs"] = {"ship": True}
    run = run_config(tmp_path, config, stack="droplets")
    assert not run.resources(LOG_GROUP)
    assert not [r for r in run.plan["resources"] if "logsink" in r["type"].lower()]
    assert all(c["inputs"]["logDriver"] == "local" for c in run.resources(CONTAINER))


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_eks_sends_its_control_plane_logs_to_a_group_it_finds_with_retention(stack: str) -> None:
    run = shipped(stack)
    [cluster] = run.resources("aws:eks/cluster:Cluster")
    [group] = [g for g in run.resources(LOG_GROUP) if g["name"].endswith("-control-plane-logs")]
    assert group["inputs"]["name"] == f"/aws/eks/{cluster['inputs']['name']}/cluster"
    retention = shipped_config(stack).get("logs", {}).get("retentionDays", 30)
    assert group["inputs"]["retentionInDays"] == retention
    assert group["urn"] in cluster["dependencies"], "created before EKS creates it without retention"
    assert cluster["inputs"]["enabledClusterLogTypes"] == CONTROL_PLANE_LOG_TYPES
    # Removing the cluster leaves the group: its logs expire by retention instead of going with it.
    assert group["retainOnDelete"] is True


def test_changing_the_control_plane_logs_updates_the_cluster_in_place() -> None:
    staging = shipped("aws-staging")
    before = copy.deepcopy(staging.plan)
    [cluster] = [r for r in before["resources"] if r["type"] == "aws:eks/cluster:Cluster"]
    cluster["inputs"]["enabledClusterLogTypes"] = ["api"]
    changes = {c.name: c for c in plan_changes(before, staging.plan).resources}
    assert changes[cluster["name"]].action == "update"


def test_the_control_plane_retention_follows_config(tmp_path: Path) -> None:
    config = shipped_config("aws-production")
    config["logs"] = {"retentionDays": 90}
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-production")
    [group] = [g for g in run.resources(LOG_GROUP) if g["name"].endswith("-control-plane-logs")]
    assert group["inputs"]["retentionInDays"] == 90


def test_turning_shipping_off_replaces_the_app_and_migration_containers_and_runs_the_migration_again(
    aws_hosts: Run, tmp_path: Path
) -> None:
    """`log_driver` and `log_opts` are ForceNew (kreuzwerker resource_docker_container.go): a new
    migration container is a new trigger for its run (README, Logs)."""
    off = hosts_with(tmp_path, None)
    changes = {c.name: c for c in plan_changes(aws_hosts.plan, off.plan).resources}
    containers = app_and_migration_containers(aws_hosts)
    assert "todos-migrate" in {c["name"] for c in containers}
    for container in containers:
        assert changes[container["name"]].action == "replace", container["name"]
    assert changes["todos-migrate-run"].action == "replace", "the migration runs once more"
    assert changes["meteor-container-logs-group"].action == "delete"


def readme_import_command() -> list[str]:
    """The README's `pulumi import` of the control-plane group (Logs), as shell words."""
    readme = (ROOT / "README.md").read_text()
    [command] = re.findall(r"^ *(pulumi import -s aws-staging .*?)\n *```", readme, re.MULTILINE | re.DOTALL)
    return shlex.split(command.replace("\\\n", " "))


@pytest.mark.parametrize("stack", ["aws-staging", "aws-production"])
def test_the_readmes_import_adopts_the_control_plane_group_where_the_program_declares_it(stack: str) -> None:
    """A cluster deployed before the group was declared already has it (EKS made it): the README's
    import puts it at the program's URN, under the EksCluster component, through `meteor-aws`."""
    words = [w.replace("aws-staging", stack) for w in readme_import_command()]
    assert words[:2] == ["pulumi", "import"]
    options: dict[str, str] = {}
    positional: list[str] = []
    rest = iter(words[2:])
    for word in rest:
        if word.startswith("--") and "=" in word:
            key, value = word.split("=", 1)
            options[key] = value
        elif word.startswith("-"):
            options[word] = next(rest)
        else:
            positional.append(word)
    run = shipped(stack)
    [group] = [g for g in run.resources(LOG_GROUP) if g["name"].endswith("-control-plane-logs")]
    assert positional == [group["type"], group["name"], group["inputs"]["name"]]
    assert options["-s"] == stack and options["--protect"] == "false"
    parent = next(r for r in run.plan["resources"] if r["urn"] == group["parent"])
    provider = next(r for r in run.plan["resources"] if r["urn"] == group["provider"])
    assert options["--parent"] == f"{parent['name']}={parent['urn']}" and parent["type"] == "meteor-platform:kubernetes:EksCluster"
    assert options["--provider"] == f"{provider['name']}={provider['urn']}" and provider["name"] == "meteor-aws"
