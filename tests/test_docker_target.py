"""The Docker-host target: dev on the local engine and a droplet behind Traefik with TLS."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_config
from components.mongo.replica_set import INIT_SCRIPT
from components.storage.minio import bucket_policy
from tests.harness import ROOT, Run, base_config, env_of, run_config, shipped

CONTAINER = "docker:index/container:Container"


@pytest.fixture(scope="module")
def dev() -> Run:
    return shipped("dev")


@pytest.fixture(scope="module")
def droplets() -> Run:
    return shipped("droplets")


def labels_of(container: dict[str, Any]) -> dict[str, str]:
    return {entry["label"]: entry["value"] for entry in container["inputs"]["labels"]}


def env_list(run: Run, container: dict[str, Any]) -> dict[str, str]:
    return dict(line.split("=", 1) for line in run.state(container)["envs"])


def test_dev_needs_no_cloud_and_uses_the_local_engine(dev: Run) -> None:
    providers = dev.resources("pulumi:providers:docker")
    assert [p["inputs"]["host"] for p in providers] == ["unix:///var/run/docker.sock"]
    assert not [r for r in dev.plan["resources"] if r["type"].startswith(("digitalocean:", "kubernetes:"))]
    assert all(r["provider"] == providers[0]["urn"] for r in dev.plan["resources"] if r["type"].startswith("docker:"))
    assert dev.plan["outputs"]["urls"] == {"todos": "http://todos.localhost"}


def test_proxy_sticky_sessions_and_websocket_friendly_timeouts(dev: Run) -> None:
    labels = labels_of(dev.one(CONTAINER, "todos-local-0"))
    lb = "traefik.http.services.todos.loadbalancer"
    assert labels[f"{lb}.sticky.cookie"] == "true"
    assert labels[f"{lb}.sticky.cookie.name"] == "meteor-affinity"
    assert labels[f"{lb}.sticky.cookie.httponly"] == "true"
    assert labels[f"{lb}.server.port"] == "3000"
    assert labels["traefik.http.routers.todos.rule"] == "Host(`todos.localhost`)"
    assert labels["traefik.http.routers.todos.entrypoints"] == "web"
    command = dev.one(CONTAINER, "meteor-local-proxy-traefik")["inputs"]["command"]
    assert "--entrypoints.web.transport.respondingTimeouts.readTimeout=3600s" in command
    assert "--entrypoints.web.transport.respondingTimeouts.idleTimeout=3600s" in command
    assert "--providers.docker.exposedbydefault=false" in command
    assert not any("certificatesresolvers" in c for c in command)  # plain HTTP in dev


def test_droplet_proxy_serves_tls_with_lets_encrypt(droplets: Run) -> None:
    labels = labels_of(droplets.one(CONTAINER, "todos-host0-0"))
    assert labels["traefik.http.routers.todos.entrypoints"] == "websecure"
    assert labels["traefik.http.routers.todos.tls.certresolver"] == "letsencrypt"
    assert labels["traefik.http.services.todos.loadbalancer.sticky.cookie.secure"] == "true"
    traefik = droplets.one(CONTAINER, "meteor-host0-proxy-traefik")["inputs"]
    assert "--certificatesresolvers.letsencrypt.acme.email=ops@example.com" in traefik["command"]
    assert "--entrypoints.web.http.redirections.entrypoint.to=websecure" in traefik["command"]
    assert {p["external"] for p in traefik["ports"]} == {80, 443}
    volume = droplets.one("docker:index/volume:Volume", "meteor-host0-proxy-certificates")
    assert volume["protect"] is True


def test_droplet_host_reached_over_ssh_as_the_deploy_user(droplets: Run) -> None:
    [provider] = droplets.resources("pulumi:providers:docker")
    reserved = droplets.result.states[droplets.resources("digitalocean:index/reservedIp:ReservedIp")[0]["urn"]]["ipAddress"]
    assert provider["inputs"]["host"] == f"ssh://deploy@{reserved}"
    assert droplets.plan["outputs"]["docker_hosts"] == [f"ssh://deploy@{reserved}"]


def test_zero_downtime_replacement(dev: Run) -> None:
    for i in (0, 1):
        app = dev.one(CONTAINER, f"todos-local-{i}")["inputs"]
        assert "name" not in app  # auto-named: the new container is created before the old one goes
        # Waited on until healthy by its own step (tests/test_deploy_failures.py), not by the provider.
        assert "wait" not in app and app["mustRun"] is True
        assert dev.one("command:local:Command", f"todos-local-{i}-healthy")
        assert app["healthcheck"]["tests"][:3] == ["CMD", "node", "-e"]
    labels = labels_of(dev.one(CONTAINER, "todos-local-0"))
    assert labels["traefik.http.services.todos.loadbalancer.healthcheck.path"] == "/"


def test_rollout_creates_before_deleting_one_instance_at_a_time(dev: Run) -> None:
    first, second = dev.one(CONTAINER, "todos-local-0"), dev.one(CONTAINER, "todos-local-1")
    # pulumi-docker's default for containers is delete-before-replace: overridden on every app container.
    assert first["deleteBeforeReplace"] is False and second["deleteBeforeReplace"] is False
    first_healthy = dev.one("command:local:Command", "todos-local-0-healthy")
    assert first["urn"] in first_healthy["dependencies"]
    assert first_healthy["urn"] in second["dependencies"], "the second instance is replaced only after the first is healthy"
    assert second["urn"] not in first["dependencies"]


def test_app_containers_hardened_and_limited(dev: Run) -> None:
    app = dev.one(CONTAINER, "todos-local-0")["inputs"]
    assert app["user"] == "1000"
    assert app["capabilities"] == {"drops": ["ALL"]}
    assert app["securityOpts"] == ["no-new-privileges:true"]
    assert app["memory"] == 1024 and app["cpus"] == "1"
    assert app["logDriver"] == "local" and app["logOpts"] == {"max-file": "5", "max-size": "20m"}
    assert app["restart"] == "unless-stopped"
    assert app["readOnly"] is False
    assert [n["name"] for n in app["networksAdvanced"]] == ["meteor-dev-edge", "meteor-dev-apps"]
    assert app["envs"] == "[secret]"


def test_replica_set_initiated_automatically(dev: Run) -> None:
    mongod = dev.one(CONTAINER, "meteor-mongo-mongod")["inputs"]
    assert mongod["command"] == ["--replSet", "rs0", "--bind_ip_all", "--keyFile", "/etc/mongo/keyfile"]
    [keyfile] = mongod["uploads"]
    assert (keyfile["owner"], keyfile["group"], keyfile["permissions"], keyfile["content"]) == ("999", "999", "0400", "[secret]")
    init = dev.one(CONTAINER, "meteor-mongo-init")
    assert init["inputs"]["uploads"] == [{"file": "/scripts/init.js", "content": INIT_SCRIPT.lstrip()}]
    assert mongod and dev.one(CONTAINER, "meteor-mongo-mongod")["urn"] in init["dependencies"]
    spec = json.loads(env_list(dev, init)["RS_SPEC"])
    assert spec == {
        "replicaSet": "rs0",
        "hosts": ["mongo:27017"],
        "users": [{"database": "todos", "passwordEnv": "APP_PASSWORD_TODOS", "user": "todos"}],
    }
    env = env_list(dev, dev.one(CONTAINER, "todos-local-0"))
    assert env["MONGO_URL"].endswith("@mongo:27017/todos?replicaSet=rs0&authSource=todos")
    assert env["MONGO_OPLOG_URL"].endswith("@mongo:27017/local?replicaSet=rs0&authSource=todos")


def test_volumes_kept_outside_dev(dev: Run, droplets: Run) -> None:
    assert dev.one("docker:index/volume:Volume", "meteor-mongo-data")["protect"] is False
    kept = droplets.one("docker:index/volume:Volume", "meteor-mongo-data")
    assert kept["protect"] is True and kept["retainOnDelete"] is True
    mongod = droplets.one(CONTAINER, "meteor-mongo-mongod")["inputs"]
    assert mongod["volumes"] == [{"containerPath": "/data/db", "volumeName": "meteor-mongo-data"}]


def test_minio_bucket_and_a_key_scoped_to_it(dev: Run) -> None:
    setup = dev.one(CONTAINER, "meteor-storage-setup")
    env = env_list(dev, setup)
    assert env["BUCKET"] == "meteor-dev-files"
    assert json.loads(env["BUCKET_POLICY"]) == json.loads(bucket_policy("meteor-dev-files"))
    resources = [r for s in json.loads(env["BUCKET_POLICY"])["Statement"] for r in s["Resource"]]
    assert resources == ["arn:aws:s3:::meteor-dev-files", "arn:aws:s3:::meteor-dev-files/*"]
    app = env_list(dev, dev.one(CONTAINER, "todos-local-0"))
    assert app["S3_ENDPOINT"] == "http://minio:9000" and app["S3_BUCKET"] == "meteor-dev-files"
    assert app["S3_ACCESS_KEY_ID"] == env["APP_ACCESS_KEY"]
    assert app["S3_SECRET_ACCESS_KEY"] == env["APP_SECRET_KEY"]
    assert dev.one("docker:index/volume:Volume", "meteor-storage-data")["inputs"]["name"] == "meteor-dev-minio-data"


def test_one_environment_contract_for_both_targets(tmp_path: Path) -> None:
    app: dict[str, Any] = {"name": "todos", "image": "ghcr.io/acme/todos:dev", "domain": "todos.localhost"}
    (tmp_path / "k").mkdir()
    (tmp_path / "d").mkdir()
    kube = run_config(tmp_path / "k", base_config(environment="dev", apps=[app], ingress={"tls": "off"}), stack="k")
    docker_config = base_config(environment="dev", apps=[app], target="docker", mongo={"provider": "container"}, ingress={"tls": "off"})
    dock = run_config(tmp_path / "d", docker_config, stack="d")
    kube_env = set(env_of(kube.one("kubernetes:apps/v1:Deployment", "todos-deployment"))) - {"POD_IP"}
    docker_env = env_list(dock, dock.one(CONTAINER, "todos-local-0"))
    assert set(docker_env) == kube_env
    assert docker_env["PORT"] == "3000" and docker_env["ROOT_URL"] == "http://todos.localhost"
    assert docker_env["HTTP_FORWARDED_COUNT"] == "1", "the hosts' Traefik is the one proxy that adds X-Forwarded-For"


def test_the_cluster_endpoint_is_a_name_dockers_dns_resolves(tmp_path: Path) -> None:
    # meteorhacks:cluster needs Meteor before 3.0 and a MongoDB before 5.1 (external): config refuses the rest.
    app: dict[str, Any] = {
        "name": "todos",
        "image": "ghcr.io/acme/todos:dev",
        "domain": "todos.localhost",
        "meteorRelease": "2.16",
        "cluster": {"enabled": True},
    }
    mongo = {"provider": "external", "url": {"secure": "v1:bm90LWRlY3J5cHRlZA=="}}
    run = run_config(tmp_path, base_config(environment="dev", apps=[app], target="docker", mongo=mongo, ingress={"tls": "off"}))
    container = run.one(CONTAINER, "todos-local-0")["inputs"]
    # CLUSTER_ENDPOINT_URL names the hostname; Docker's DNS answers container names and network aliases only.
    assert container["hostname"] == "todos-local-0"
    networks = container["networksAdvanced"]
    assert [n["aliases"] for n in networks if n.get("aliases")] == [["todos", "todos-local-0"]]


def test_read_only_root_where_the_image_allows(tmp_path: Path) -> None:
    app = {"name": "web", "image": "ghcr.io/acme/web:dev", "flavor": "meteor", "readOnlyRoot": True}
    config = base_config(environment="dev", apps=[app], target="docker", mongo={"provider": "container"}, ingress={"tls": "off"})
    run = run_config(tmp_path, config)
    inputs = run.one(CONTAINER, "web-local-0")["inputs"]
    assert inputs["readOnly"] is True and "/tmp" in inputs["tmpfs"]
    # zodern/meteor's entry script writes nvm's default alias (and may unpack the bundle) at start.
    zodern = base_config(environment="dev", apps=[{**app, "flavor": "zodern"}], target="docker", mongo={"provider": "container"})
    with pytest.raises(ConfigError, match=r"meteor-platform:apps\[0\]\.readOnlyRoot: got true; expected false with flavor 'zodern'"):
        parse_config(zodern)
    assert labels_of(run.one(CONTAINER, "web-local-0")) == {"meteor-platform/app": "web", "traefik.enable": "false"}
    kube = run_config(tmp_path, base_config(environment="dev", apps=[app]), stack="kube")
    container = kube.one("kubernetes:apps/v1:Deployment", "web-deployment")["inputs"]["spec"]["template"]["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True


def test_deploys_wait_until_cloud_init_has_installed_docker(droplets: Run) -> None:
    [ready] = droplets.resources("command:remote:Command")
    assert "cloud-init status --wait" in ready["inputs"]["create"]
    assert ready["inputs"]["connection"] == "[secret]"  # pulumi-command keeps connections secret
    connection = droplets.state(ready)["connection"]
    assert connection["user"] == "deploy"
    assert connection["host"] == droplets.plan["outputs"]["host_addresses"][0]
    [provider] = droplets.resources("pulumi:providers:docker")
    assert ready["urn"] in provider["dependencies"]
    staging = shipped("staging")  # machines not used as Docker targets: no ssh at deploy time
    assert not staging.resources("command:remote:Command")


def test_minio_data_kept_when_protected(tmp_path: Path) -> None:
    config = {
        "environment": "dev",
        "target": "docker",
        "protect": True,
        "ingress": {"tls": "off"},
        "storage": {"provider": "minio"},
        "apps": [{"name": "todos", "image": "ghcr.io/acme/todos:dev"}],
    }
    kept = run_config(tmp_path, config).one("docker:index/volume:Volume", "meteor-storage-data")
    assert kept["protect"] is True and kept["retainOnDelete"] is True
    dev = run_config(tmp_path, {**config, "protect": False}, stack="unprotected").one("docker:index/volume:Volume", "meteor-storage-data")
    assert dev["protect"] is False and dev["retainOnDelete"] is False


def test_app_starts_after_its_database_user_and_the_host_networks(dev: Run) -> None:
    init = dev.one("command:local:Command", "meteor-mongo-init-run")["urn"]
    networks = {
        r["urn"] for r in dev.resources("docker:index/network:Network") if r["inputs"]["name"] in ("meteor-dev-edge", "meteor-dev-apps")
    }
    assert len(networks) == 2
    for name in ("todos-local-0", "todos-local-1"):
        dependencies = set(dev.one(CONTAINER, name)["dependencies"])
        assert init in dependencies
        assert networks <= dependencies


def test_replicas_are_instances_in_total_spread_over_the_hosts(tmp_path: Path) -> None:
    config = {
        "environment": "production",
        "alerts": "none",
        "target": "docker",
        "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
        "machines": {
            "provider": "digitalocean",
            "count": 2,
            "adminCidrs": ["198.51.100.0/24"],
            "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
        },
        "mongo": {"provider": "digitalocean", "nodes": 3},
        "storage": {"provider": "spaces"},
        "apps": [{"name": "todos", "image": base_config()["apps"][0]["image"], "domain": "todos.example.com", "replicas": 3}],
    }
    run = run_config(tmp_path, config)
    providers = {r["name"]: r["urn"] for r in run.resources("pulumi:providers:docker")}
    placed = {r["name"]: r["provider"] for r in run.resources(CONTAINER) if r["name"].startswith("todos-")}
    assert placed == {
        "todos-host0-0": providers["meteor-host0-docker"],
        "todos-host1-0": providers["meteor-host1-docker"],
        "todos-host0-1": providers["meteor-host0-docker"],
    }
    # Each host's containers wait for that host's own networks.
    app_networks = [r for r in run.resources("docker:index/network:Network") if r["name"].endswith(("-proxy-edge", "-proxy-apps"))]
    assert len(app_networks) == 4
    host1_networks = {r["urn"] for r in app_networks if r["name"].startswith("meteor-host1-")}
    host0_networks = {r["urn"] for r in app_networks if r["name"].startswith("meteor-host0-")}
    dependencies = set(run.one(CONTAINER, "todos-host1-0")["dependencies"])
    assert host1_networks <= dependencies and not host0_networks & dependencies


@pytest.mark.parametrize(("cloud_init_status", "ready"), [(0, True), (2, True), (1, False)])
def test_docker_ready_accepts_recoverable_warnings_only(tmp_path: Path, cloud_init_status: int, ready: bool) -> None:
    """cloud-init 23.4+ exits 2 for "done with recoverable warnings": the host is ready; 1 is a failure."""
    import os
    import subprocess

    from components.machines.cloud_init import DOCKER_READY

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "cloud-init").write_text(f"#!/bin/sh\nexit {cloud_init_status}\n")
    (bin_dir / "docker").write_text("#!/bin/sh\necho 28.2.2\n")
    for tool in bin_dir.iterdir():
        tool.chmod(0o755)
    proc = subprocess.run(
        ["sh", "-c", DOCKER_READY], env={**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin"}, capture_output=True, text=True
    )
    assert (proc.returncode == 0) is ready
    assert ("28.2.2" in proc.stdout) is ready


def test_no_password_on_any_command_line() -> None:
    """Process arguments are readable in /proc: credentials go through environment or files only.

    Oracle: every credential the mocks generated, and password options or URLs with credentials,
    against every command, argument and health check the shipped stacks would run."""
    import re

    def commands(inputs: dict[str, Any]) -> list[str]:
        found: list[str] = []
        for key in ("command", "entrypoints", "create"):
            value = inputs.get(key)
            found += value if isinstance(value, list) else [value] if isinstance(value, str) else []
        found += (inputs.get("healthcheck") or {}).get("tests", [])
        spec = inputs.get("spec") or {}
        pod = spec.get("template", {}).get("spec", {}) or spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
        for container in [*(pod.get("containers") or []), *(pod.get("initContainers") or [])]:
            found += [*(container.get("command") or []), *(container.get("args") or [])]
        return [str(a) for a in found]

    for stack in ("byoc", "dev", "droplets", "staging", "production"):
        run = shipped(stack)
        for resource in run.plan["resources"]:
            for argument in commands(run.state(resource)):
                assert not any(secret in argument for secret in run.result.generated_secrets), (stack, resource["name"])
                # `--password-stdin` reads the password from standard input: the safe form.
                assert not re.search(r"--password(?!-stdin)|://[^/\s:@$]+:[^/\s@$]+@", argument), (stack, resource["name"], argument)


def test_the_minio_setup_prints_no_key(tmp_path: Path) -> None:
    """Its output is the run's output (and a failed run's error): a stand-in `mc` prints what the real one does."""
    from components.storage.minio import SETUP_SCRIPT

    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mc").write_text(
        "#!/bin/sh\n"
        'case "$1 $2 $3" in\n'
        '  "admin user add") echo "Added user \\`$5\\` successfully." ;;\n'
        '  "admin policy attach") echo "Attached Policies: [$5]"; echo "To User: $7" ;;\n'
        '  *) echo "ok: $*" ;;\n'
        "esac\n"
    )
    (bin_dir / "mc").chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "BUCKET": "files",
        "BUCKET_POLICY": "{}",
        "APP_ACCESS_KEY": "AKEYOFTHEAPP",
        "APP_SECRET_KEY": "secret-of-the-app",
        "TMPDIR": str(tmp_path),
    }
    result = subprocess.run(
        ["sh", "-c", SETUP_SCRIPT.replace("/tmp/", f"{tmp_path}/")], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 0, result.stderr
    assert "ok: mb --ignore-existing local/files" in result.stdout
    assert "AKEYOFTHEAPP" not in result.stdout + result.stderr and "secret-of-the-app" not in result.stdout + result.stderr


def test_every_container_is_limited(dev: Run, droplets: Run) -> None:
    for run in (dev, droplets):
        for container in run.resources(CONTAINER):
            inputs = container["inputs"]
            assert inputs["memory"] > 0 and float(inputs["cpus"]) > 0, container["name"]
            assert {"name": "nproc", "soft": 4096, "hard": 4096} in inputs["ulimits"], container["name"]


def test_traefik_never_touches_the_docker_socket(dev: Run, droplets: Run) -> None:
    for run in (dev, droplets):
        [traefik] = [c for c in run.resources(CONTAINER) if str(c["inputs"].get("name")).endswith("-traefik")]
        inputs = traefik["inputs"]
        assert not any("docker.sock" in str(v) for v in inputs.get("volumes", []))
        assert inputs["user"] == "65534:65534" and inputs["capabilities"] == {"drops": ["ALL"]} and inputs["readOnly"] is True
        assert "--providers.docker.endpoint=tcp://docker-api:2375" in inputs["command"]
        [proxy] = [c for c in run.resources(CONTAINER) if str(c["inputs"].get("name")).endswith("-docker-api")]
        assert proxy["inputs"]["volumes"] == [
            {"containerPath": "/var/run/docker.sock", "hostPath": "/var/run/docker.sock", "readOnly": True}
        ]
        allowed = {e.split("=")[0] for e in proxy["inputs"]["envs"] if e.endswith("=1")}
        assert allowed == {"CONTAINERS", "EVENTS", "PING", "VERSION"}, "read calls only: no POST, EXEC, IMAGES, ..."
        [api] = [n for n in run.resources("docker:index/network:Network") if n["name"].endswith("-docker-api")]
        assert api["inputs"]["internal"] is True
        assert [net["name"] for net in proxy["inputs"]["networksAdvanced"]] == [api["inputs"]["name"]]


def test_dev_listens_on_this_machine_only(dev: Run, droplets: Run) -> None:
    [traefik] = [c for c in dev.resources(CONTAINER) if c["inputs"].get("name") == "meteor-dev-traefik"]
    assert {p["ip"] for p in traefik["inputs"]["ports"]} == {"127.0.0.1"}
    [public] = [c for c in droplets.resources(CONTAINER) if c["inputs"].get("name") == "meteor-traefik"]  # namePrefix: meteor
    assert all("ip" not in p or p["ip"] == "0.0.0.0" for p in public["inputs"]["ports"])
    assert {p["external"] for p in public["inputs"]["ports"]} == {80, 443}


def test_two_stacks_share_one_engine_without_name_clashes(tmp_path: Path, dev: Run) -> None:
    config = base_config(
        environment="dev", target="docker", mongo={"provider": "container"}, storage={"provider": "minio"}, ingress={"tls": "off"}
    )
    config["apps"][0].update(image="ghcr.io/acme/todos:dev", domain="todos2.localhost")
    other = run_config(tmp_path, config, stack="review")

    def engine_names(run: Run) -> set[str]:
        kinds = ("docker:index/container:Container", "docker:index/network:Network", "docker:index/volume:Volume")
        return {str(r["inputs"]["name"]) for kind in kinds for r in run.resources(kind) if r["inputs"].get("name")}

    assert engine_names(dev) and engine_names(other)
    assert not engine_names(dev) & engine_names(other)
    assert all(name.startswith("meteor-review-") for name in engine_names(other))


def test_data_lives_on_a_protected_block_volume_of_the_first_host(droplets: Run) -> None:
    volume = droplets.one("digitalocean:index/volume:Volume", "meteor-machines-data")
    assert volume["protect"] is True and volume["retainOnDelete"] is True
    assert volume["inputs"]["initialFilesystemType"] == "ext4" and volume["inputs"]["initialFilesystemLabel"] == "meteor-data"
    droplet = droplets.one("digitalocean:index/droplet:Droplet", "meteor-machines-0")
    assert droplet["inputs"]["volumeIds"] == [droplets.result.ids[volume["urn"]]]
    user_data = yaml.safe_load(droplets.state(droplet)["userData"].removeprefix("#cloud-config\n"))
    assert user_data["mounts"] == [["LABEL=meteor-data", "/var/lib/docker/volumes", "ext4", "defaults,nofail,discard,noatime", "0", "2"]]


def test_a_host_holding_data_is_never_replaced_by_a_user_data_change_in_production(droplets: Run, tmp_path: Path) -> None:
    droplet = droplets.one("digitalocean:index/droplet:Droplet", "meteor-machines-0")
    assert droplet["protect"] is True and droplet["inputs"]["backups"] is True
    assert droplet["ignoreChanges"] == ["sshKeys", "userData"] and "replaceOnChanges" not in droplet
    assert droplet["deleteBeforeReplace"] is True, "its volume attaches to one droplet at a time"
    config = yaml.safe_load((ROOT / "Pulumi.droplets.yaml").read_text())["config"]
    staging_like = {k.split(":", 1)[1]: v for k, v in config.items()}
    staging_like.update(environment="staging", protect=False)
    run = run_config(tmp_path, staging_like, stack="review")
    unprotected = run.one("digitalocean:index/droplet:Droplet", "meteor-machines-0")
    assert unprotected["protect"] is False and unprotected["replaceOnChanges"] == ["userData"]
    assert unprotected["inputs"]["backups"] is False


def test_ssh_trusts_exactly_the_host_key_the_program_installed(droplets: Run) -> None:
    key = droplets.one("tls:index/privateKey:PrivateKey", "meteor-machines-0-host-key")
    assert key["inputs"]["algorithm"] == "ED25519" and key["protect"] is True
    public = droplets.state(key)["publicKeyOpenssh"].strip()
    droplet = droplets.one("digitalocean:index/droplet:Droplet", "meteor-machines-0")
    user_data = yaml.safe_load(droplets.state(droplet)["userData"].removeprefix("#cloud-config\n"))
    assert user_data["ssh_keys"]["ed25519_public"] == public and user_data["ssh_genkeytypes"] == ["ed25519"]
    provider = droplets.state(droplets.one("pulumi:providers:docker", "meteor-host0-docker"))
    options = json.loads(provider["sshOpts"]) if isinstance(provider["sshOpts"], str) else provider["sshOpts"]
    assert "StrictHostKeyChecking=yes" in options and f"KnownHostsCommand=/bin/echo %H {public}" in options
    assert not any("accept-new" in o for o in options)
    [ready] = droplets.resources("command:remote:Command")
    assert droplets.state(ready)["connection"]["hostKey"] == public


def test_container_mongodb_is_dumped_to_a_bucket_of_its_own(droplets: Run) -> None:
    bucket = droplets.one("digitalocean:index/spacesBucket:SpacesBucket", "meteor-storage-backups")
    assert bucket["inputs"]["name"] == "meteor-backups-droplets" and bucket["protect"] is True
    assert bucket["inputs"]["lifecycleRules"][0]["prefix"] == "mongo/"
    assert bucket["inputs"]["lifecycleRules"][0]["expiration"] == {"days": 14}
    key = droplets.one("digitalocean:index/spacesKey:SpacesKey", "meteor-storage-backups-key")
    assert key["inputs"]["grants"] == [{"bucket": "meteor-backups-droplets", "permission": "readwrite"}], "it can write there only"
    dump = droplets.one(CONTAINER, "meteor-mongo-backup-dump")
    script = dump["inputs"]["command"][0]
    assert "mongodump --config=/tmp/dump.yaml" in script and f"sleep {24 * 3600}" in script and "-mmin +" in script
    assert dump["inputs"]["envs"] == "[secret]"
    upload = droplets.one(CONTAINER, "meteor-mongo-backup-upload")
    command = upload["inputs"]["command"][0]
    assert "mc mirror --quiet" in command and "--watch" not in command and "--remove" not in command, "tests/test_backups.py"
    assert "MC_HOST_backup" in " ".join(droplets.state(upload)["envs"])
    init = droplets.one("command:local:Command", "meteor-mongo-init-run")["urn"]
    assert init in dump["dependencies"] and init in upload["dependencies"]
    volume = droplets.one("docker:index/volume:Volume", "meteor-mongo-backups")
    assert volume["protect"] is True
