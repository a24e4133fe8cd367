"""Docker hosts on day 2: a rolled host runs everything again, failed steps fail (and are retried),
containers cannot read the host's secrets, and setup containers are as locked down as services."""

from __future__ import annotations

import copy
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.docker.identity import MACHINE_LABEL, machine_tag
from components.docker.proxy import bridge_name
from components.docker.services import retry_wrapper
from components.machines.cloud_init import INSTANCE_ROLE_BRIDGE_PREFIX, METADATA_ADDRESS
from offline_plan.changes import plan_changes
from tests.harness import ROOT, Run, base_config, run_config, shipped, unwrap, with_committed_plans

CONTAINER = "docker:index/container:Container"
NETWORK = "docker:index/network:Network"
IMAGE = "docker:index/remoteImage:RemoteImage"
VOLUME = "docker:index/volume:Volume"
DROPLET = "digitalocean:index/droplet:Droplet"
INSTANCE = "aws:ec2/instance:Instance"


@pytest.fixture(scope="module")
def dev() -> Run:
    return shipped("dev")


@pytest.fixture(scope="module")
def droplets() -> Run:
    return shipped("droplets")


@pytest.fixture(scope="module")
def aws_hosts() -> Run:
    return shipped("aws-hosts")


def shipped_config(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items()}


def user_data(run: Run, resource: dict[str, Any]) -> dict[str, Any]:
    return yaml.safe_load(run.state(resource)["userData"].split("\n", 1)[1])


def written(document: dict[str, Any], path: str) -> str:
    [entry] = [f for f in document["write_files"] if f["path"] == path]
    return str(entry["content"])


def on_host(run: Run, provider_name: str, *types: str) -> list[dict[str, Any]]:
    [provider] = [p for p in run.resources("pulumi:providers:docker") if p["name"] == provider_name]
    return [r for t in types for r in run.resources(t) if r.get("provider") == provider["urn"]]


# -- item 3: rolling a host brings its containers back ---------------------------------------------


def assert_everything_on_the_host_follows_it(before: Run, changes: dict[str, Any]) -> list[dict[str, Any]]:
    """Every container, network and image on host 0 is replaced for the new id of its machine; its
    Docker volumes (on the data volume, which is kept) are untouched. Returns what ran on the host."""
    things = on_host(before, "meteor-host0-docker", CONTAINER, NETWORK, IMAGE)
    assert {t["type"] for t in things} == {CONTAINER, NETWORK, IMAGE} and len(things) > 10
    for thing in things:
        change = changes.get(thing["name"])
        assert change is not None and change.action == "replace", thing["name"]
        assert any("new id of meteor-machines-0" in reason for reason in change.replace_reasons), thing["name"]
    for volume in on_host(before, "meteor-host0-docker", VOLUME):
        assert volume["name"] not in changes, volume["name"]
    return things


def test_a_replaced_droplet_replaces_everything_that_ran_on_it_in_the_same_up(droplets: Run, tmp_path: Path) -> None:
    config = shipped_config("droplets")
    config["machines"] = {**config["machines"], "image": "ubuntu-22-04-x64"}  # forces a new droplet
    rolled = run_config(tmp_path, config, stack="droplets")
    changes = {c.name: c for c in plan_changes(droplets.plan, rolled.plan).resources}
    assert changes["meteor-machines-0"].action == "replace" and changes["meteor-machines-0"].type == DROPLET
    # The data volumes come back with the block-storage volume: nothing protected is touched but the droplet.
    assert_everything_on_the_host_follows_it(droplets, changes)
    assert [c.name for c in plan_changes(droplets.plan, rolled.plan).refused] == ["meteor-machines-0"]
    assert "meteor-host0-docker" not in changes or changes["meteor-host0-docker"].action == "update"


def test_a_replaced_aws_data_host_goes_first_with_its_attachment_and_takes_everything_along(aws_hosts: Run, tmp_path: Path) -> None:
    """Rolling the EC2 data host: the instance and its volume attachment are deleted before they are
    replaced (EC2 attaches a volume to one instance at a time: VolumeInUse), everything that ran on
    it is replaced on the new one, the data volume stays (provider facts: aws:ec2/instance:Instance,
    aws:ec2/volumeAttachment:VolumeAttachment in offline_plan/provider_facts.yaml)."""
    config = shipped_config("aws-hosts")
    config["machines"] = {**config["machines"], "distro": "debian"}  # new user data (Docker's apt source): a new instance
    with_committed_plans(tmp_path, "aws-staging")
    rolled = run_config(tmp_path, config, stack="aws-hosts")
    plan = plan_changes(aws_hosts.plan, rolled.plan)
    changes = {c.name: c for c in plan.resources}
    host = changes["meteor-machines-0"]
    assert host.type == INSTANCE and host.action == "replace" and host.delete_before_replace
    assert any("userData" in reason for reason in host.replace_reasons)
    attachment = changes["meteor-machines-data"]
    assert attachment.type == "aws:ec2/volumeAttachment:VolumeAttachment" and attachment.action == "replace"
    assert attachment.delete_before_replace, "the old attachment goes before the new one is made"
    assert any("new id of meteor-machines-0" in reason for reason in attachment.replace_reasons)
    assert not [c.name for c in plan.resources if c.type == "aws:ebs/volume:Volume"], "the data volume is kept"
    things = assert_everything_on_the_host_follows_it(aws_hosts, changes)
    # Production protects the data host: `pulumi up` refuses until it is unprotected on purpose (README).
    assert [c.name for c in plan.refused] == ["meteor-machines-0"]
    # The old attachment is detached from a stopped instance (a running one keeps the volume mounted:
    # DetachVolume without Force waits for it), after everything that ran on the host is gone: each of
    # those follows the host's readiness (through its Docker provider), which follows the attachment, and
    # Pulumi deletes the dependents of a delete-first replacement before it.
    assert attachment.new is not None and attachment.new["inputs"]["stopInstanceBeforeDetaching"] is True
    assert attachment.urn in aws_hosts.one("command:remote:Command", "meteor-machines-0-docker-ready")["dependencies"]
    for thing in things:
        assert attachment.urn in _reaches(aws_hosts, thing), thing["name"]
    # aws-hosts wires its machines like droplets: everything on the host carries the instance's id.
    machine = aws_hosts.result.ids[aws_hosts.one(INSTANCE, "meteor-machines-0")["urn"]]
    for thing in on_host(aws_hosts, "meteor-host0-docker", CONTAINER, NETWORK):
        assert {"label": MACHINE_LABEL, "value": machine} in thing["inputs"]["labels"], thing["name"]


def _reaches(run: Run, resource: dict[str, Any]) -> set[str]:
    """Every URN `resource` depends on, through dependencies and providers (Pulumi's dependency graph)."""
    by_urn = {r["urn"]: r for r in run.plan["resources"]}
    seen: set[str] = set()
    todo = [resource]
    while todo:
        current = todo.pop()
        for urn in [*current.get("dependencies", []), current.get("provider")]:
            if urn not in seen and urn in by_urn:
                seen.add(urn)
                todo.append(by_urn[urn])
    return seen


def test_a_deployed_data_attachment_learns_to_stop_the_host_in_place(aws_hosts: Run) -> None:
    """stop_instance_before_detaching is neither ForceNew nor sent to AWS (ebs_volume_attachment.go: Optional,
    UpdateWithoutTimeout schema.NoopContext): a stack deployed without it updates the attachment in place."""
    deployed = copy.deepcopy(aws_hosts.plan)
    for resource in deployed["resources"]:
        if resource["type"] == "aws:ec2/volumeAttachment:VolumeAttachment":
            del resource["inputs"]["stopInstanceBeforeDetaching"]
    changes = plan_changes(deployed, aws_hosts.plan).resources
    assert [(c.name, c.action) for c in changes] == [("meteor-machines-data", "update")]


def test_an_aws_host_deployed_without_a_public_address_at_launch_is_rolled(aws_hosts: Run) -> None:
    """associatePublicIpAddress is ForceNew in the pinned provider (provider facts): upgrading a deployed
    aws-hosts stack replaces its data host, delete-first with its attachment (README: AWS)."""
    deployed = copy.deepcopy(aws_hosts.plan)
    for resource in deployed["resources"]:
        if resource["type"] == INSTANCE:
            del resource["inputs"]["associatePublicIpAddress"]
    changes = {c.name: c for c in plan_changes(deployed, aws_hosts.plan).resources}
    host = changes["meteor-machines-0"]
    assert host.action == "replace" and host.delete_before_replace and host.replace_reasons == ["associatePublicIpAddress"]
    assert changes["meteor-machines-data"].action == "replace" and changes["meteor-machines-data"].delete_before_replace


def test_everything_on_a_machine_carries_its_id(droplets: Run, dev: Run) -> None:
    droplet = droplets.one(DROPLET, "meteor-machines-0")
    machine = droplets.result.ids[droplet["urn"]]
    for thing in on_host(droplets, "meteor-host0-docker", CONTAINER, NETWORK):
        assert {"label": MACHINE_LABEL, "value": machine} in thing["inputs"]["labels"], thing["name"]
    # A network's Docker name carries the machine's tag, and whatever names it uses that name.
    networks = {
        n["name"].removeprefix("meteor-host0-proxy-"): n["inputs"]["name"] for n in on_host(droplets, "meteor-host0-docker", NETWORK)
    }
    assert networks == {role: f"meteor-{role}-{machine_tag(machine)}" for role in ("edge", "apps", "docker-api")}
    traefik = droplets.one(CONTAINER, "meteor-host0-proxy-traefik")["inputs"]
    assert f"--providers.docker.network={networks['edge']}" in traefik["command"]
    assert [n["name"] for n in traefik["networksAdvanced"]] == [networks["edge"], networks["docker-api"]]
    app = droplets.one(CONTAINER, "todos-host0-0")["inputs"]
    assert {"label": "traefik.docker.network", "value": networks["edge"]} in app["labels"]
    assert [n["name"] for n in app["networksAdvanced"]] == [networks["edge"], networks["apps"]]
    for thing in on_host(droplets, "meteor-host0-docker", CONTAINER):
        for network in thing["inputs"].get("networksAdvanced") or []:
            assert network["name"] in networks.values(), thing["name"]
    for image in on_host(droplets, "meteor-host0-docker", IMAGE):
        assert image["inputs"]["triggers"] == {"machine": machine}, image["name"]
    # The local engine is no machine of ours: nothing changes there.
    for thing in dev.resources(CONTAINER) + dev.resources(NETWORK):
        assert MACHINE_LABEL not in {entry["label"] for entry in thing["inputs"].get("labels") or []}
    assert sorted(n["inputs"]["name"] for n in dev.resources(NETWORK)) == ["meteor-dev-apps", "meteor-dev-docker-api", "meteor-dev-edge"]


def test_upgrading_the_deployed_droplets_stack_replaces_its_networks_without_a_name_clash(droplets: Run) -> None:
    """From the plan deployed before day 2 (plans/droplets.json at main e3bf05f): every network is replaced
    create-first under a new name, and nothing is created while an old object of its name still exists."""
    deployed = json.loads((ROOT / "tests" / "deployed_plans" / "droplets.json").read_text())
    upgrade = plan_changes(deployed, droplets.plan)
    networks = [c for c in upgrade.resources if c.type == NETWORK]
    assert len(networks) == 3
    for change in networks:
        assert change.action == "replace" and not change.delete_before_replace, change.name
        assert change.old is not None and change.new is not None
        assert change.new["inputs"]["name"] != change.old["inputs"]["name"], change.name
    # Docker refuses two containers or two networks of one name: whatever is created (or replaced
    # create-first) must not take a name an old object still holds at that moment.
    still_there = {
        (c.type, c.old["provider"], c.old["inputs"].get("name"))
        for c in upgrade.resources
        if c.old is not None and not (c.action == "replace" and c.delete_before_replace)
    }
    unchanged = {(r["urn"]) for r in deployed["resources"]} - {c.urn for c in upgrade.resources}
    still_there |= {(r["type"], r.get("provider"), r["inputs"].get("name")) for r in deployed["resources"] if r["urn"] in unchanged}
    for change in upgrade.resources:
        if change.new is None or change.type not in (CONTAINER, NETWORK) or not change.new["inputs"].get("name"):
            continue
        if change.action == "create" or (change.action == "replace" and not change.delete_before_replace):
            assert (change.type, change.new["provider"], change.new["inputs"]["name"]) not in still_there, change.name
    assert not upgrade.refused, "no protected resource is replaced"


def test_docker_never_starts_without_the_data_volume_mounted(droplets: Run, aws_hosts: Run) -> None:
    for run, machine in (
        (droplets, droplets.one(DROPLET, "meteor-machines-0")),
        (aws_hosts, aws_hosts.resources("aws:ec2/instance:Instance")[0]),
    ):
        document = user_data(run, machine)
        dropin = written(document, "/etc/systemd/system/docker.service.d/10-meteor-platform.conf")
        assert "RequiresMountsFor=/var/lib/docker/volumes" in dropin.splitlines()
        assert document["mounts"][0][1] == "/var/lib/docker/volumes"


def test_hosts_without_data_have_no_mount_requirement(tmp_path: Path) -> None:
    from components.machines.cloud_init import DockerHostUserData, docker_host_config

    document = docker_host_config(DockerHostUserData(deploy_user="deploy", ssh_public_keys=["ssh-ed25519 AAAA k"]))
    dropin = written(document, "/etc/systemd/system/docker.service.d/10-meteor-platform.conf")
    assert "RequiresMountsFor" not in dropin and "mounts" not in document


# -- item 4: a failed one-shot step fails the `up` -------------------------------------------------


def run_wrapper(tmp_path: Path, script: str, attempts: int = 3) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["sh", "-c", retry_wrapper(attempts, 0), "one-shot", script], capture_output=True, text=True, timeout=30, cwd=tmp_path
    )


def test_one_shot_steps_never_restart_and_retry_inside_a_bounded_number_of_times(dev: Run, tmp_path: Path) -> None:
    for name in ("meteor-mongo-init", "meteor-storage-setup"):
        inputs = dev.one(CONTAINER, name)["inputs"]
        assert inputs["restart"] == "no" and "maxRetryCount" not in inputs, name
        assert inputs["start"] is False and inputs["mustRun"] is False and "attach" not in inputs, "created; its run starts it"
        assert inputs["entrypoints"] == ["sh", "-c"] and inputs["command"][0] == retry_wrapper(10, 6), name
    flaky = run_wrapper(tmp_path, "n=$(cat count 2>/dev/null || echo 0); echo $((n + 1)) > count; [ $n -ge 1 ]")
    assert flaky.returncode == 0 and (tmp_path / "count").read_text().strip() == "2", "retried until it succeeded"
    broken = run_wrapper(tmp_path, "echo try >> tries; exit 3")
    assert broken.returncode == 3, "the container stops with the step's own exit code"
    assert (tmp_path / "tries").read_text().count("try") == 3 and "gave up after 3 attempts" in broken.stderr
    strict = run_wrapper(tmp_path, "set -e; false; echo reached", attempts=1)
    assert strict.returncode != 0 and "reached" not in strict.stdout, "the step's `set -e` holds inside the retries"


# Every one-shot step: (run, its container, not logged while it runs). Steps handling credentials
# are quiet; so are the migrations, which report in the error instead (tests/test_deploy_failures.py).
ONE_SHOTS = [
    ("dev", "meteor-mongo-init", True),
    ("dev", "meteor-storage-setup", True),
    ("droplets", "meteor-mongo-init", True),
    ("droplets", "meteor-host0-proxy-certificates-owner", False),
    ("droplets", "todos-migrate", True),
    ("droplets", "todos-canary-migrate", True),
]


@pytest.mark.parametrize(("stack", "step", "quiet"), ONE_SHOTS)
def test_every_one_shot_step_is_run_to_completion_by_a_command_the_next_up_retries(stack: str, step: str, quiet: bool) -> None:
    run = shipped(stack)
    container = run.one(CONTAINER, step)
    assert (container["inputs"]["start"], container["inputs"]["mustRun"], container["inputs"]["restart"]) == (False, False, "no")
    runner = run.one("command:local:Command", f"{step}-run")
    state = run.state(runner)
    container_id = run.result.ids[container["urn"]]
    assert state["triggers"] == [container_id], "a new container (image, environment) runs again"
    assert runner["replaceOnChanges"] == ["triggers[*]"]
    if step.endswith("-migrate"):  # reports its exit code and log tail instead (tests/test_deploy_failures.py)
        assert state["create"].endswith(f'"sh -c $MIGRATION_REPORT {step}-run {container_id} 50"')
    else:
        assert (
            state["create"].endswith(f"docker start --attach {container_id}'") or state["create"] == f"docker start --attach {container_id}"
        )
    assert "update" not in state and "delete" not in state, "a retry runs `create` again"
    assert state["addPreviousOutputInEnv"] is False, "a long log would not fit the next run's environment"
    assert container["urn"] in runner["dependencies"]
    # Its output lives in the state: secret, and not logged while a quiet step runs.
    assert runner["additionalSecretOutputs"] == ["stderr", "stdout"]
    assert state.get("logging") == ("none" if quiet else None)


def test_what_needs_a_step_waits_for_its_run(dev: Run, droplets: Run) -> None:
    for run in (dev, droplets):
        init = run.one("command:local:Command", "meteor-mongo-init-run")["urn"]
        apps = [c for c in run.resources(CONTAINER) if c["name"].startswith("todos-") and "migrate" not in c["name"]]
        assert apps and all(init in c["dependencies"] for c in apps)
        for migrate in (c for c in run.resources(CONTAINER) if c["name"].endswith("-migrate")):
            assert init in migrate["dependencies"]
    setup = dev.one("command:local:Command", "meteor-storage-setup-run")["urn"]
    assert all(setup in dev.one(CONTAINER, f"todos-local-{i}")["dependencies"] for i in (0, 1)), "they hold the key it created"
    owner = droplets.one("command:local:Command", "meteor-host0-proxy-certificates-owner-run")["urn"]
    assert owner in droplets.one(CONTAINER, "meteor-host0-proxy-traefik")["dependencies"]
    init = droplets.one("command:local:Command", "meteor-mongo-init-run")["urn"]
    for backup in ("meteor-mongo-backup-dump", "meteor-mongo-backup-upload"):
        assert init in droplets.one(CONTAINER, backup)["dependencies"]


# -- item 5: a failed migration can be retried ------------------------------------------------------


def test_a_migration_is_run_from_pulumi_up_so_a_failure_is_retried(droplets: Run) -> None:
    migrate = droplets.one(CONTAINER, "todos-migrate")
    assert (migrate["inputs"]["start"], migrate["inputs"]["restart"]) == (False, "no")
    run = droplets.one("command:local:Command", "todos-migrate-run")
    state = droplets.state(run)
    container_id = droplets.result.ids[migrate["urn"]]
    assert state["triggers"] == [container_id], "a new container (image, environment) runs again"
    assert (
        state["environment"]["DOCKER_HOST"]
        == "ssh://deploy@"
        + droplets.state(droplets.one("digitalocean:index/reservedIp:ReservedIp", "meteor-machines-reserved-ip"))["ipAddress"]
    )
    assert state["create"].endswith(f'"$DOCKER_HOST" "sh -c $MIGRATION_REPORT todos-migrate-run {container_id} 50"')
    assert "StrictHostKeyChecking=yes" in state["create"] and "KnownHostsCommand=/bin/echo %H ssh-ed25519 " in state["create"]
    assert "update" not in state and "delete" not in state, "a retry runs `create` again"


# A migration's failure report: tests/test_deploy_failures.py.
@pytest.mark.parametrize("step", ["meteor-mongo-init", "meteor-host0-proxy-certificates-owner"])
def test_a_failed_step_fails_its_run_with_its_output(droplets: Run, tmp_path: Path, step: str) -> None:
    """The create script against a stand-in `ssh` that runs the remote command through a stand-in `docker`."""
    state = droplets.state(droplets.one("command:local:Command", f"{step}-run"))
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "ssh").write_text('#!/bin/sh\nprintf "%s\\n" "$@" > "$LOG"\nfor last; do :; done\nexec sh -c "$last"\n')
    (bin_dir / "docker").write_text('#!/bin/sh\necho "running $3"\necho "MongoServerError: not primary" >&2\nexit 7\n')
    for tool in ("ssh", "docker"):
        (bin_dir / tool).chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(tmp_path / "ssh.log"), **state["environment"]}
    result = subprocess.run(["sh", "-c", state["create"]], capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 7, "a failed step fails the run, so `pulumi up` fails (and shows this output)"
    assert "running" in result.stdout and "not primary" in result.stderr
    arguments = (tmp_path / "ssh.log").read_text().splitlines()
    assert arguments[-2] == state["environment"]["DOCKER_HOST"] and arguments[-1].startswith("docker start --attach ")
    assert any(a.startswith("KnownHostsCommand=/bin/echo %H ssh-ed25519 ") for a in arguments), "one argument, key included"


def test_the_local_engine_runs_the_migration_with_its_own_docker(tmp_path: Path) -> None:
    config = base_config(environment="dev", target="docker", mongo={"provider": "container"}, storage={"provider": "minio"})
    config["ingress"] = {"tls": "off"}
    config["apps"][0].update(image="ghcr.io/acme/todos:dev", migrate={"command": ["node", "migrate.js"]})
    run = run_config(tmp_path, config)
    state = run.state(run.one("command:local:Command", "todos-migrate-run"))
    migrate = run.one(CONTAINER, "todos-migrate")
    assert state["create"] == f'sh -c "sh -c $MIGRATION_REPORT todos-migrate-run {run.result.ids[migrate["urn"]]} 50"'
    assert state["environment"]["DOCKER_HOST"].startswith("unix://")


def test_a_canary_runs_its_own_migration_before_it_starts(droplets: Run) -> None:
    stable_run = droplets.one("command:local:Command", "todos-migrate-run")
    canary_run = droplets.one("command:local:Command", "todos-canary-migrate-run")
    canary_migrate = droplets.one(CONTAINER, "todos-canary-migrate")
    canary_image = droplets.one(IMAGE, "todos-host0-canary-image")
    assert unwrap(canary_migrate["inputs"]["image"]) == droplets.state(canary_image)["imageId"], "the canary's image"
    assert stable_run["urn"] in canary_run["dependencies"], "after the current version's migration"
    [canary] = [c for c in droplets.resources(CONTAINER) if c["name"].startswith("todos-canary-host")]
    assert canary_run["urn"] in canary["dependencies"]
    for stable in (c for c in droplets.resources(CONTAINER) if c["name"].startswith("todos-host")):
        assert canary_run["urn"] not in stable["dependencies"], "the current version does not wait for the next one's schema"
        assert stable_run["urn"] in stable["dependencies"]


# -- item 8: containers cannot read the host's secrets ----------------------------------------------


def test_containers_are_blocked_from_the_metadata_service_before_docker_starts(droplets: Run, aws_hosts: Run, tmp_path: Path) -> None:
    rule = f"DOCKER-USER -d {METADATA_ADDRESS}/32 -j REJECT --reject-with icmp-port-unreachable"
    exemption = f"DOCKER-USER -i {INSTANCE_ROLE_BRIDGE_PREFIX}+ -d {METADATA_ADDRESS}/32 -j RETURN"
    scripts: list[str] = []
    for run, machine in (
        (droplets, droplets.one(DROPLET, "meteor-machines-0")),
        (aws_hosts, aws_hosts.resources("aws:ec2/instance:Instance")[0]),
    ):
        document = user_data(run, machine)
        script = written(document, "/usr/local/sbin/meteor-block-metadata")
        unit = written(document, "/etc/systemd/system/meteor-block-metadata.service")
        dropin = written(document, "/etc/systemd/system/docker.service.d/10-meteor-platform.conf").splitlines()
        assert f"iptables -I {rule}" in script
        assert "Before=docker.service" in unit.splitlines() and "ExecStart=/usr/local/sbin/meteor-block-metadata" in unit
        assert {"Requires=meteor-block-metadata.service", "After=meteor-block-metadata.service"} <= set(dropin)
        scripts.append(script)
    droplet_script, ec2_script = scripts
    assert exemption not in droplet_script, "droplets let no container through"
    assert f"iptables -I {exemption}" in ec2_script, "EC2 hosts let the instance-role bridges through"
    # The script, against a stand-in iptables that knows the rules inserted so far (in $LOG).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "iptables").write_text(
        '#!/bin/sh\necho "$*" >> "$LOG"\ncase "$1" in -C) grep -qxF -- "-I ${*#-C }" "$LOG";; *) exit 0;; esac\n'
    )
    (bin_dir / "iptables").chmod(0o755)

    def inserts_of(script: str, log: Path) -> list[str]:
        (tmp_path / "block").write_text(script)
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log)}
        for _ in range(2):
            subprocess.run(["sh", str(tmp_path / "block")], check=True, env=env, timeout=30)
        calls = log.read_text().splitlines()
        assert calls[0] == "-N DOCKER-USER" or calls[1] == "-N DOCKER-USER", calls
        return [c for c in calls if c.startswith("-I ")]

    # A fresh host (or Docker's nftables backend, which never adds it): the rule and FORWARD's jump, once each.
    assert inserts_of(droplet_script, tmp_path / "fresh.log") == [f"-I {rule}", "-I FORWARD -j DOCKER-USER"]
    # Docker's iptables backend already jumps to DOCKER-USER: the jump is not doubled.
    (tmp_path / "docker.log").write_text("-I FORWARD -j DOCKER-USER\n")
    assert inserts_of(droplet_script, tmp_path / "docker.log") == ["-I FORWARD -j DOCKER-USER", f"-I {rule}"]
    # EC2: the exemption is inserted after the block (`-I` puts it on top), once, so it is matched first.
    assert inserts_of(ec2_script, tmp_path / "ec2.log") == [f"-I {rule}", f"-I {exemption}", "-I FORWARD -j DOCKER-USER"]


def test_only_the_app_containers_that_use_the_instance_role_reach_the_metadata_service(aws_hosts: Run, droplets: Run, dev: Run) -> None:
    for run in (droplets, dev):
        assert not [n["name"] for n in run.resources(NETWORK) if "instance-role" in n["name"]]
        for container in run.resources(CONTAINER):
            for network in container["inputs"].get("networksAdvanced") or []:
                assert "gwPriority" not in network, container["name"]
    # aws-hosts keeps its files in S3 through the instance role: its apps (and nothing else) join the
    # host's instance-role network, whose bridge is the one the host lets through, as default gateway.
    assert shipped_config("aws-hosts")["storage"]["provider"] == "s3"
    [role_network] = [n for n in aws_hosts.resources(NETWORK) if n["name"].endswith("-instance-role")]
    bridge = role_network["inputs"]["options"]["com.docker.network.bridge.name"]
    assert bridge.startswith(INSTANCE_ROLE_BRIDGE_PREFIX) and len(bridge) <= 15
    assert bridge == bridge_name(INSTANCE_ROLE_BRIDGE_PREFIX, role_network["inputs"]["name"])
    apps = {a["name"] for a in shipped_config("aws-hosts")["apps"]}
    on_role_network: list[str] = []
    for container in aws_hosts.resources(CONTAINER):
        for network in container["inputs"].get("networksAdvanced") or []:
            if network["name"] == role_network["inputs"]["name"]:
                assert network["gwPriority"] == 1, container["name"]
                on_role_network.append(container["name"])
            else:
                assert "gwPriority" not in network, container["name"]
    app_containers = [
        c["name"]
        for c in aws_hosts.resources(CONTAINER)
        if any({"label": "meteor-platform/app", "value": app} in (c["inputs"].get("labels") or []) for app in apps)
    ]
    assert app_containers and sorted(on_role_network) == sorted(app_containers)


def test_without_the_instance_role_no_container_joins_the_role_network(tmp_path: Path) -> None:
    config = shipped_config("aws-hosts")
    config.pop("storage")
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-hosts")
    for container in run.resources(CONTAINER):
        for network in container["inputs"].get("networksAdvanced") or []:
            assert "instance-role" not in str(network["name"]) and "gwPriority" not in network, container["name"]


# -- item 11: hardening ------------------------------------------------------------------------------


def test_mongodb_runs_as_the_mongodb_user_with_no_capabilities(dev: Run, droplets: Run) -> None:
    for run in (dev, droplets):
        [mongod] = [c for c in run.resources(CONTAINER) if c["name"] == "meteor-mongo-mongod"]
        assert mongod["inputs"]["user"] == "999:999"
        assert mongod["inputs"]["capabilities"] == {"drops": ["ALL"]}
        assert mongod["inputs"]["securityOpts"] == ["no-new-privileges:true"]


def test_one_shot_steps_keep_no_capabilities_and_have_log_limits_even_in_dev(dev: Run) -> None:
    for name in ("meteor-mongo-init", "meteor-storage-setup"):
        inputs = dev.one(CONTAINER, name)["inputs"]
        assert inputs["capabilities"] == {"drops": ["ALL"]}, name
        assert inputs["securityOpts"] == ["no-new-privileges:true"], name
        assert inputs["logDriver"] == "local" and inputs["logOpts"] == {"max-file": "5", "max-size": "20m"}, name


def test_the_certificates_owner_step_gets_exactly_the_capabilities_it_needs(droplets: Run) -> None:
    [owner] = [c for c in droplets.resources(CONTAINER) if c["name"].endswith("-certificates-owner")]
    # Written as Docker stores them (the provider compares its Read with these): see hardening.only_capabilities.
    assert owner["inputs"]["capabilities"] == {"adds": ["CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_FOWNER"], "drops": ["ALL"]}
    assert owner["inputs"]["securityOpts"] == ["no-new-privileges:true"]
    [traefik] = [c for c in droplets.resources(CONTAINER) if c["name"].endswith("-traefik")]
    assert droplets.one("command:local:Command", f"{owner['name']}-run")["urn"] in traefik["dependencies"], "starts once it ran"


def added_capabilities(run: Run) -> dict[str, list[str]]:
    return {c["name"]: c["inputs"]["capabilities"].get("adds", []) for c in run.resources(CONTAINER) if c["inputs"].get("capabilities")}


def test_every_added_capability_is_written_as_docker_stores_it(dev: Run, droplets: Run, aws_hosts: Run, tmp_path: Path) -> None:
    """Docker's client rewrites `CHOWN` to `CAP_CHOWN` and the provider's Read stores that: a short
    name would differ on every `up` and replace the container (capabilities are ForceNew)."""
    config = base_config(environment="dev", target="docker", mongo={"provider": "container"}, ingress={"tls": "off"})
    config["apps"] = [{"name": "legacy", "image": "ghcr.io/acme/legacy:1", "flavor": "meteord"}]
    meteord = run_config(tmp_path, config)
    assert added_capabilities(meteord)["legacy-local-0"] == ["CAP_NET_BIND_SERVICE"], "legacy MeteorD binds port 80"
    assert meteord.one(CONTAINER, "legacy-local-0")["inputs"]["capabilities"]["drops"] == ["ALL"]
    seen = 0
    for run in (dev, droplets, aws_hosts, meteord):
        for name, adds in added_capabilities(run).items():
            assert all(a.startswith("CAP_") for a in adds), (name, adds)
            seen += len(adds)
        for container in run.resources(CONTAINER):
            drops = (container["inputs"].get("capabilities") or {}).get("drops", [])
            assert all(d == "ALL" or d.startswith("CAP_") for d in drops), container["name"]
    assert seen >= 4


def test_the_gateway_priority_is_honoured_by_the_pinned_docker_engine(aws_hosts: Run) -> None:
    """The app containers that use the instance role get their default gateway (and so their way to the
    metadata service) from `gw_priority`, which Docker Engine 28 (API 1.48) introduced (moby/moby#48936,
    docs/api/version-history.md); an older engine ignores the field and picks the gateway by network name."""
    from components import versions

    prioritised = [
        container["name"]
        for container in aws_hosts.resources(CONTAINER)
        for network in container["inputs"].get("networksAdvanced") or []
        if network.get("gwPriority")
    ]
    assert prioritised, "aws-hosts has an app on the instance-role network"
    assert versions.DOCKER_ENGINE_MAJOR >= 28, (
        f"components/versions.py DOCKER_ENGINE_MAJOR={versions.DOCKER_ENGINE_MAJOR}: gw_priority needs Docker Engine 28+ "
        "(API 1.48, moby/moby#48936); older engines give the instance-role apps no route to their role"
    )
