"""Migrations on Kubernetes: a failed Job is replaced by the next `up`, the wait outlasts the Job's
deadline, a canary's own migration runs with its image before it, and migration pods start under
a NetworkPolicy of their own."""

from __future__ import annotations

from typing import Any

import pytest

from tests.harness import DIGEST, Run, base_config, run_config
from tests.test_meteor_app import EXTERNAL_MONGO

JOB = "kubernetes:batch/v1:Job"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
CANARY_IMAGE = f"ghcr.io/acme/todos@sha256:{'cd' * 32}"


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = base_config()
    config["apps"][0].update(
        replicas=4,
        migrate={"command": ["node", "main.js", "--migrate-only"], "timeoutSeconds": 3600},
        canary={"image": CANARY_IMAGE, "share": 25, "migrate": {"command": ["node", "main.js", "--migrate-next"]}},
    )
    config["apps"].append({"name": "legacy", "image": f"meteorhacks/meteord@{DIGEST}", "flavor": "meteord"})
    config["apps"][0]["connectsTo"] = ["legacy"]
    return run_config(tmp_path_factory.mktemp("migrations"), config)


def _pod(job: dict[str, Any]) -> dict[str, Any]:
    return job["inputs"]["spec"]["template"]


@pytest.mark.parametrize("name", ["todos-migrate", "todos-canary-migrate"])
def test_a_failed_migration_is_replaced_by_the_next_up(run: Run, name: str) -> None:
    job = run.one(JOB, name)
    assert job["inputs"]["metadata"]["annotations"] == {"pulumi.com/replaceUnready": "true"}
    spec = job["inputs"]["spec"]
    assert spec["backoffLimit"] == 0, "one attempt per up: the retry is the next up"
    assert job["deleteBeforeReplace"] is True, "the old run is gone before the new one starts"


@pytest.mark.parametrize(("name", "deadline"), [("todos-migrate", 3600), ("todos-canary-migrate", 600)])
def test_the_wait_outlasts_the_jobs_deadline(run: Run, name: str, deadline: int) -> None:
    job = run.one(JOB, name)
    assert job["inputs"]["spec"]["activeDeadlineSeconds"] == deadline, "migrate.timeoutSeconds (default 600)"
    timeouts = job["customTimeouts"]
    assert timeouts == {"create": f"{deadline + 120}s", "update": f"{deadline + 120}s"}, (
        "past the deadline, so `up` reports the Job's DeadlineExceeded, not its own 10-minute default"
    )


def test_a_canary_runs_its_own_migration_with_its_image_first(run: Run) -> None:
    job = run.one(JOB, "todos-canary-migrate")
    [migrate] = _pod(job)["spec"]["containers"]
    # A zodern image: the one-off wrapper prepares the app, then runs the command (components/app/one_off.py).
    assert migrate["image"] == CANARY_IMAGE and migrate["args"] == ["node", "main.js", "--migrate-next"]
    canary = run.one(DEPLOYMENT, "todos-canary")
    stable = run.one(DEPLOYMENT, "todos-deployment")
    assert job["urn"] in canary["dependencies"], "the canary starts once its migration completed"
    assert run.one(JOB, "todos-migrate")["urn"] in canary["dependencies"]
    assert job["urn"] not in stable["dependencies"], "the stable version does not wait for the next one's migration"
    assert _pod(job)["metadata"]["labels"]["app.kubernetes.io/name"] == "todos-canary-migrate", "never behind the app's Service"


def test_a_canary_without_a_migration_has_no_job(tmp_path: Any) -> None:
    config = base_config()
    config["apps"][0].update(replicas=2, canary={"image": CANARY_IMAGE})
    assert not [job for job in run_config(tmp_path, config).resources(JOB) if job["name"].startswith("todos-")]


@pytest.mark.parametrize("name", ["todos-migrate", "todos-canary-migrate"])
def test_migration_pods_start_under_their_own_network_policy(run: Run, name: str) -> None:
    job = run.one(JOB, name)
    policy = run.one(POLICY, f"{name}-network-policy")
    assert policy["urn"] in job["dependencies"], "the policy exists before the first pod"
    spec = policy["inputs"]["spec"]
    pod_labels = _pod(job)["metadata"]["labels"]
    assert spec["podSelector"]["matchLabels"].items() <= pod_labels.items()
    assert spec["policyTypes"] == ["Ingress", "Egress"] and spec.get("ingress", []) == [], "nothing reaches a migration"
    app_policy = run.one(POLICY, "todos-network-policy")["inputs"]["spec"]
    assert not app_policy["podSelector"]["matchLabels"].items() <= pod_labels.items(), "the app's policy does not select it"
    # The same egress as the app: DNS, the in-cluster MongoDB, the app it calls (GridFS: no other store).
    assert spec["egress"] == app_policy["egress"]
    peers = [peer for rule in spec["egress"] for peer in rule["to"]]
    assert any(p.get("podSelector", {}).get("matchLabels", {}).get("meteor-platform/role") == "mongo" for p in peers)
    assert any(p.get("podSelector", {}).get("matchLabels", {}).get("app.kubernetes.io/name") == "legacy" for p in peers)


def test_a_clustered_apps_migration_does_not_reach_the_apps_pods(tmp_path: Any) -> None:
    config = base_config()
    # meteorhacks:cluster runs only on Meteor before 3.0 against a MongoDB before 5.1: an external one.
    config["apps"][0].update(migrate={"command": ["node", "migrate.js"]}, meteorRelease="2.16", cluster={"enabled": True})
    config["mongo"] = EXTERNAL_MONGO
    run = run_config(tmp_path, config)
    app_egress = run.one(POLICY, "todos-network-policy")["inputs"]["spec"]["egress"]
    migration_egress = run.one(POLICY, "todos-migrate-network-policy")["inputs"]["spec"]["egress"]
    [cluster_rule] = [rule for rule in app_egress if rule not in migration_egress]
    assert cluster_rule["to"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"] == "todos"
    assert migration_egress == [rule for rule in app_egress if rule != cluster_rule], "everything else the app reaches"
    # Peers call `http://$(POD_IP):<port>`: under enforcement a connection needs the caller's egress and
    # the callee's ingress (kubernetes.io/docs, concepts/services-networking/network-policies), so the
    # app's own pods are let in on its port too (the Deployment's pods carry the selector's labels).
    app_policy = run.one(POLICY, "todos-network-policy")["inputs"]["spec"]
    assert {"from": cluster_rule["to"], "ports": cluster_rule["ports"]} in app_policy["ingress"]
    assert cluster_rule["ports"] == [{"protocol": "TCP", "port": 3000}]
    assert run.one(POLICY, "todos-migrate-network-policy")["inputs"]["spec"]["ingress"] == [], "a migration joins no cluster"


def test_the_canary_migration_waits_for_the_stable_one(run: Run) -> None:
    stable = run.one(JOB, "todos-migrate")
    assert stable["urn"] in run.one(JOB, "todos-canary-migrate")["dependencies"], "never two migrations on one database at once"


@pytest.mark.parametrize("name", ["todos-migrate", "todos-canary-migrate"])
def test_the_apps_a_migration_calls_admit_it(run: Run, name: str) -> None:
    # todos calls legacy (connectsTo): its migrations reach legacy as the app does, and legacy lets them in.
    pod_labels = _pod(run.one(JOB, name))["metadata"]["labels"]
    legacy = run.one(POLICY, "legacy-network-policy")["inputs"]["spec"]
    admitted = [peer["podSelector"]["matchLabels"] for rule in legacy["ingress"] for peer in rule["from"] if "podSelector" in peer]
    assert any(selector.items() <= pod_labels.items() for selector in admitted), f"{name} is admitted by legacy"


def test_a_migration_that_calls_no_app_is_admitted_nowhere(run: Run) -> None:
    todos = run.one(POLICY, "todos-network-policy")["inputs"]["spec"]
    peers = [peer for rule in todos["ingress"] for peer in rule["from"] if "podSelector" in peer]
    assert peers == [], "nothing calls todos: no app pods, no migrations admitted"


def test_a_migration_fails_within_the_wait_even_after_its_pods_grace(tmp_path: Any) -> None:
    config = base_config()
    # The longest preStop the config allows: the app's pods get 140 s to terminate, a migration's do not.
    config["apps"][0].update(preStopSeconds=120, migrate={"command": ["node", "migrate.js"], "timeoutSeconds": 600})
    run = run_config(tmp_path, config)
    job = run.one(JOB, "todos-migrate")
    grace = _pod(job)["spec"]["terminationGracePeriodSeconds"]
    assert grace == 10, "no preStop hook to wait for"
    margin = int(job["customTimeouts"]["create"].removesuffix("s")) - job["inputs"]["spec"]["activeDeadlineSeconds"]
    assert margin > grace, "Failed is set only once the pod has terminated (Kubernetes 1.31+): the wait still sees it"
    assert "lifecycle" not in _pod(job)["spec"]["containers"][0]
