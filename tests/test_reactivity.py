"""Each app's reactivity follows its Meteor release and its MongoDB: change streams from 3.5 on (with
MONGO_OPLOG_URL unset: it would turn them off), oplog tailing before where MongoDB offers the oplog,
polling where it does not; the plan says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline_plan.report import tree
from tests.harness import DIGEST, Run, base_config, env_of, run_config, run_shipped

DEPLOYMENT = "kubernetes:apps/v1:Deployment"


def _secret_names(run: Run, app: str) -> set[str]:
    return set(run.one("kubernetes:core/v1:Secret", f"{app}-env")["inputs"]["stringData"])


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = base_config()
    config["apps"] = [
        {"name": "fresh", "image": f"ghcr.io/acme/fresh@{DIGEST}", "meteorRelease": "3.5"},
        {"name": "older", "image": f"ghcr.io/acme/older@{DIGEST}", "meteorRelease": "3.4"},
        {"name": "unknown", "image": f"ghcr.io/acme/unknown@{DIGEST}"},
    ]
    return run_config(tmp_path_factory.mktemp("releases"), config)


def test_meteor_3_5_gets_change_streams_without_the_oplog_url(releases: Run) -> None:
    assert "MONGO_OPLOG_URL" not in _secret_names(releases, "fresh")
    assert "MONGO_OPLOG_URL" not in env_of(releases.one(DEPLOYMENT, "fresh-deployment"))
    assert "MONGO_URL" in _secret_names(releases, "fresh")
    assert releases.plan["outputs"]["reactivity"]["fresh"].startswith("change streams (Meteor 3.5;")


def test_before_3_5_an_app_tails_the_oplog_the_replica_set_offers(releases: Run) -> None:
    assert "MONGO_OPLOG_URL" in _secret_names(releases, "older")
    assert releases.plan["outputs"]["reactivity"]["older"].startswith("oplog tailing (Meteor 3.4")


def test_an_unknown_release_keeps_the_oplog_url_and_the_plan_asks_for_the_release(releases: Run) -> None:
    assert "MONGO_OPLOG_URL" in _secret_names(releases, "unknown")
    summary = releases.plan["outputs"]["reactivity"]["unknown"]
    assert summary.startswith("oplog tailing (Meteor release unknown") and "set apps[2].meteorRelease" in summary


def test_on_digitalocean_managed_mongodb_an_app_before_3_5_polls_and_the_plan_says_so() -> None:
    staging = run_shipped("staging")
    summary = staging.plan["outputs"]["reactivity"]["todos"]
    assert summary == "polling (Meteor 3.1.2, before change streams in 3.5: DigitalOcean managed MongoDB gives no oplog access)"
    assert "MONGO_OPLOG_URL" not in _secret_names(staging, "todos")
    lines = tree(staging.plan).splitlines()
    assert lines[-2] == "reactivity (how each app's live queries follow MongoDB):"
    assert lines[-1] == f"  todos: {summary}"


def test_an_external_mongodb_without_an_oplog_url_says_why(tmp_path: Path) -> None:
    config: dict[str, Any] = base_config(mongo={"provider": "external", "url": {"secure": "v1:bm90LWRlY3J5cHRlZA=="}})
    summary = run_config(tmp_path, config).plan["outputs"]["reactivity"]["todos"]
    assert summary == (
        "change streams on Meteor 3.5+, polling before (mongo.oplogUrl is not set; Meteor release unknown: "
        "set apps[0].meteorRelease to decide)"
    )


@pytest.mark.parametrize(("promoted", "source"), [("production", "staging"), ("aws-production", "aws-staging")])
def test_a_promoted_stack_names_the_release_its_source_builds(promoted: str, source: str) -> None:
    # A promoted image carries no .meteor/release: the stack file says it, and must say what the source builds.
    assert run_shipped(promoted).plan["outputs"]["reactivity"] == run_shipped(source).plan["outputs"]["reactivity"]
