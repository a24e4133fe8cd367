"""MongoDB the platform runs: the image a digest names, and on Kubernetes a read-only root with the
root credentials in files (never in the environment)."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from components import versions
from components.config import ConfigError, parse_config
from components.config.values import is_digest_pinned
from components.mongo.kubernetes_specs import ROOT_CREDENTIALS_DIR, backup_cron_job_spec, stateful_set_spec
from policy.rules import Options, Resource, secrets_by_reference
from tests.harness import DIGEST, shipped
from tests.test_specs import camel

IMAGE = f"ghcr.io/acme/todos@{DIGEST}"
PINNED_MONGO = f"mongo:7.0.16@{DIGEST}"


def statefulset() -> Any:
    return stateful_set_spec(
        image=versions.mongo_image(versions.MONGO_VERSION),
        members=3,
        service_name="mongo",
        credentials="creds",
        storage_class="retain",
        storage_size="10Gi",
        cpu="500m",
        memory="1Gi",
        pod_labels={"role": "mongo"},
        selector={"role": "mongo"},
    )


def test_the_default_mongodb_image_is_pinned_by_digest() -> None:
    image = versions.mongo_image(versions.MONGO_VERSION)
    assert image == f"mongo:{versions.MONGO_VERSION}@{versions.MONGO_DIGESTS[versions.MONGO_VERSION]}"
    assert is_digest_pinned(image)
    plan = shipped("droplets").plan
    [mongo] = [r for r in plan["resources"] if r["name"] == "meteor-mongo-image"]
    assert mongo["inputs"]["name"] == image


def test_mongod_reads_the_root_credentials_from_files_of_the_secret() -> None:
    spec = statefulset()
    pod = spec["template"]["spec"]
    [mongod] = pod["containers"]
    env = {e["name"]: e for e in mongod["env"]}
    assert set(env) == {"MONGO_INITDB_ROOT_USERNAME_FILE", "MONGO_INITDB_ROOT_PASSWORD_FILE"}, "no credential in the environment"
    assert env["MONGO_INITDB_ROOT_PASSWORD_FILE"]["value"] == f"{ROOT_CREDENTIALS_DIR}/root-password"
    mounts = {m["name"]: m for m in mongod["volume_mounts"]}
    assert mounts["root-credentials"] == {"name": "root-credentials", "mount_path": ROOT_CREDENTIALS_DIR, "read_only": True}
    volume = next(v for v in pod["volumes"] if v["name"] == "root-credentials")
    assert volume["secret"]["secret_name"] == "creds"
    assert {i["key"] for i in volume["secret"]["items"]} == {"root-username", "root-password"}
    # Readable by the mongodb group (fsGroup 999) only.
    assert volume["secret"]["default_mode"] == 0o440 and pod["security_context"]["fs_group"] == 999


def test_mongod_and_its_keyfile_step_run_on_a_read_only_root() -> None:
    spec = statefulset()
    pod = spec["template"]["spec"]
    [mongod] = pod["containers"]
    [keyfile] = pod["init_containers"]
    for container in (mongod, keyfile):
        assert container["security_context"]["read_only_root_filesystem"] is True
        assert container["security_context"]["capabilities"] == {"drop": ["ALL"]}
    # What the entrypoint, mongod and the probes write: the data, its socket and temp files, configdb.
    writable = {m["mount_path"] for m in mongod["volume_mounts"] if not m.get("read_only")}
    assert writable == {"/data/db", "/tmp", "/data/configdb"}
    document = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "mongo", "namespace": "db"}, "spec": camel(spec)}
    kubernetes_validate.validate(document, "1.33.0", strict=True)


def test_the_backup_job_runs_on_read_only_roots() -> None:
    spec: Any = backup_cron_job_spec(
        image="mongo:7.0.16",
        client_image="minio/mc",
        schedule="17 3 * * *",
        hosts=["mongo-0:27017"],
        credentials="creds",
        client_env=[{"name": "MC_HOST_backup", "value_from": {"secret_key_ref": {"name": "backup", "key": "mc-host"}}}],
        bucket="b",
        prefix="mongo/",
        job_labels={"r": "b"},
    )
    pod = spec["job_template"]["spec"]["template"]["spec"]
    for container in (*pod["init_containers"], *pod["containers"]):
        assert container["security_context"]["read_only_root_filesystem"] is True
        assert {m["mount_path"] for m in container["volume_mounts"]} >= {"/tmp", "/backup"}
    document = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "b", "namespace": "db"}, "spec": camel(spec)}
    kubernetes_validate.validate(document, "1.33.0", strict=True)


def mongo_stack(environment: str, **mongo: Any) -> dict[str, Any]:
    return {
        "environment": environment,
        **({"alerts": "none"} if environment == "production" else {}),
        "mongo": {"provider": "inCluster", "storageClass": "standard", **mongo},
        "apps": [{"name": "todos", "image": IMAGE}],
    }


@pytest.mark.parametrize(
    ("mongo", "key", "expected"),
    [
        ({"version": "7.0.12"}, "meteor-platform:mongo.version", "a version components/versions.py pins by digest (7.0.16)"),
        ({"version": "7.0.16", "image": "mongo:7.0.16"}, "meteor-platform:mongo.image", "pinned by @sha256: digest outside dev"),
    ],
)
def test_an_unpinned_mongodb_outside_dev_is_refused(mongo: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as refused:
        parse_config(mongo_stack("staging", **mongo))
    assert key in str(refused.value) and expected in str(refused.value)


def test_a_pinned_override_and_dev_tags_still_work() -> None:
    config: Any = parse_config(mongo_stack("production", version="7.0.16", image=PINNED_MONGO))
    assert config.mongo.effective_image == PINNED_MONGO
    dev: Any = parse_config(mongo_stack("dev", version="7.0.12"))
    assert dev.mongo.effective_image == "mongo:7.0.12"


def test_the_policy_tells_a_credential_file_from_a_credential() -> None:
    def deployment(env: dict[str, str]) -> Resource:
        container = {"name": "mongod", "env": [{"name": k, "value": v} for k, v in env.items()]}
        inputs = {"kind": "StatefulSet", "spec": {"template": {"spec": {"containers": [container]}}}}
        return Resource(type="kubernetes:apps/v1:StatefulSet", name="m", urn="urn:m", inputs=inputs, protect=True, dependencies=())

    options = Options(environment="production")
    files = deployment({"MONGO_INITDB_ROOT_PASSWORD_FILE": f"{ROOT_CREDENTIALS_DIR}/root-password"})
    assert not list(secrets_by_reference([files], options))
    for leaky in ({"MONGO_INITDB_ROOT_PASSWORD": "hunter2"}, {"DB_PASSWORD_FILE": "hunter2"}, {"URL_FILE": "mongodb://u:pw@h/db"}):
        assert list(secrets_by_reference([deployment(leaky)], options)), leaky
