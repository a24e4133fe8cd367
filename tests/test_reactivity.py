"""Each app's reactivity follows its Meteor release and its MongoDB: MONGO_OPLOG_URL wherever MongoDB
offers the oplog, on every release (Meteor 3.5 falls back to it for the cursors change streams cannot
serve); from 3.5 on (and for an unknown release) the order changeStreams,oplog,polling set explicitly
through METEOR_REACTIVITY_ORDER; polling where there is no oplog before 3.5. The plan says which."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from offline_plan.report import tree
from tests.harness import DIGEST, Run, base_config, env_of, run_config, shipped

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


def _plain_env(run: Run, app: str) -> dict[str, str]:
    container = run.one(DEPLOYMENT, f"{app}-deployment")["inputs"]["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e["value"] for e in container["env"] if "value" in e}


def test_meteor_3_5_keeps_the_oplog_url_and_sets_the_order_explicitly(releases: Run) -> None:
    # Sort+limit cursors cannot use change streams (mongo_connection.js): without the oplog they would poll.
    assert "MONGO_OPLOG_URL" in _secret_names(releases, "fresh")
    assert _plain_env(releases, "fresh")["METEOR_REACTIVITY_ORDER"] == "changeStreams,oplog,polling"
    assert releases.plan["outputs"]["reactivity"]["fresh"] == (
        "change streams (Meteor 3.5), oplog tailing for the cursors change streams cannot serve (ordered, skip/limit)"
    )


def test_before_3_5_an_app_tails_the_oplog_the_replica_set_offers(releases: Run) -> None:
    assert "MONGO_OPLOG_URL" in _secret_names(releases, "older")
    assert "METEOR_REACTIVITY_ORDER" not in env_of(releases.one(DEPLOYMENT, "older-deployment"))
    assert releases.plan["outputs"]["reactivity"]["older"].startswith("oplog tailing (Meteor 3.4")


def test_an_unknown_release_is_wired_for_every_release_and_the_plan_asks_for_it(releases: Run) -> None:
    assert "MONGO_OPLOG_URL" in _secret_names(releases, "unknown")
    assert _plain_env(releases, "unknown")["METEOR_REACTIVITY_ORDER"] == "changeStreams,oplog,polling"
    summary = releases.plan["outputs"]["reactivity"]["unknown"]
    assert summary == (
        "on Meteor 3.5+ change streams, oplog tailing for the cursors change streams cannot serve (ordered, skip/limit); "
        "oplog tailing before (Meteor release unknown: set apps[2].meteorRelease to say which)"
    )


def test_the_app_cannot_set_the_order_in_env_but_its_settings_still_win(tmp_path: Path) -> None:
    # Meteor reads settings.packages.mongo.reactivity before METEOR_REACTIVITY_ORDER: that is the app's knob.
    config = base_config()
    config["apps"][0]["env"] = {"METEOR_REACTIVITY_ORDER": "polling"}
    with pytest.raises(Exception, match=r"apps\[0\]\.env\.METEOR_REACTIVITY_ORDER: got 'polling'; expected it unset"):
        run_config(tmp_path, config)


def test_on_digitalocean_managed_mongodb_an_app_before_3_5_polls_and_the_plan_says_so() -> None:
    staging = shipped("staging")
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
        "on Meteor 3.5+ change streams, polling for the cursors change streams cannot serve (ordered, skip/limit) "
        "(mongo.oplogUrl is not set); polling before (Meteor release unknown: set apps[0].meteorRelease to say which)"
    )


@pytest.mark.parametrize(
    ("promoted", "source"), [("production", "staging"), ("aws-production", "aws-staging"), ("aws-hosts", "aws-staging")]
)
def test_a_promoted_stack_names_the_release_its_source_builds(promoted: str, source: str) -> None:
    # A promoted image carries no .meteor/release: the stack file says it, and must say what the source builds.
    assert shipped(promoted).plan["outputs"]["reactivity"] == shipped(source).plan["outputs"]["reactivity"]
