"""The SNS topics AWS alarms notify: one in the stack's region, one in us-east-1 for Route 53's metrics."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.harness import ROOT, run_config, shipped, with_committed_plans


def test_a_stack_outside_us_east_1_that_checks_domains_gets_a_topic_there_too() -> None:
    run = shipped("aws-production")
    topics = {r["name"]: r for r in run.resources("aws:sns/topic:Topic")}
    assert set(topics) == {"meteor-alerts", "meteor-alerts-us-east-1"}
    assert topics["meteor-alerts"]["inputs"].get("region") is None, "the stack's region comes from its provider"
    assert topics["meteor-alerts-us-east-1"]["inputs"]["region"] == "us-east-1"
    subscriptions = run.resources("aws:sns/topicSubscription:TopicSubscription")
    assert sorted((s["inputs"]["protocol"], s["inputs"]["endpoint"], s["inputs"].get("region", "")) for s in subscriptions) == [
        ("email", "ops@example.com", ""),
        ("email", "ops@example.com", "us-east-1"),
    ]
    for policy in run.resources("aws:sns/topicPolicy:TopicPolicy"):
        statement = json.loads(policy["inputs"]["policy"])["Statement"][0]
        assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
        assert statement["Action"] == "sns:Publish" and statement["Resource"] == policy["inputs"]["arn"]
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}


def test_no_topic_without_destinations(tmp_path: Path) -> None:
    config = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "Pulumi.aws-production.yaml").read_text())["config"].items()}
    config["alerts"] = "none"
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-production")
    assert run.resources("aws:sns/topic:Topic") == []


def test_removing_one_address_keeps_the_others_subscriptions(tmp_path: Path) -> None:
    """Subscriptions are named by address: dropping the first of two leaves the second's untouched
    (a re-created email subscription would wait for its confirmation click again)."""
    from offline_plan.changes import plan_changes

    config = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "Pulumi.aws-production.yaml").read_text())["config"].items()}
    with_committed_plans(tmp_path, "aws-staging")
    config["alerts"] = {"emails": ["ops@example.com", "oncall@example.com"]}
    before = run_config(tmp_path, config, stack="aws-production")
    config["alerts"] = {"emails": ["oncall@example.com"]}
    after = run_config(tmp_path, config, stack="aws-production")
    changes = {c.name: c.action for c in plan_changes(before.plan, after.plan).resources if "TopicSubscription" in c.type}
    assert changes == {"meteor-alerts-ops@example.com": "delete", "meteor-alerts-us-east-1-ops@example.com": "delete"}


def _do_config(stack: str, **alerts: object) -> dict[str, object]:
    config = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"].items()}
    config["alerts"] = {"emails": ["ops@example.com"], **alerts}
    config["aws"] = {"region": "eu-central-1"}
    return config


def test_a_digitalocean_stack_with_route_53_checks_gets_only_the_us_east_1_topic(tmp_path: Path) -> None:
    """Nothing in the stack's region alarms on DigitalOcean droplets: no topic there, no second confirmation
    mail per address; the us-east-1 topic (and the Slack forwarder) keeps its name."""
    with_committed_plans(tmp_path, "staging", "aws-staging")
    webhook = {"webhook": {"secure": "v1:aG9va3Muc2xhY2suY29tL3NlcnZpY2VzL1QvQi9Y"}, "channel": "#ops"}
    run = run_config(tmp_path, _do_config("droplets", uptimeChecks="aws", slack=webhook), stack="droplets")
    assert [(t["name"], t["inputs"].get("region")) for t in run.resources("aws:sns/topic:Topic")] == [
        ("meteor-alerts-us-east-1", "us-east-1")
    ]
    subscriptions = {s["name"]: s["inputs"]["protocol"] for s in run.resources("aws:sns/topicSubscription:TopicSubscription")}
    assert subscriptions == {"meteor-alerts-us-east-1-ops@example.com": "email", "meteor-slack-us-east-1": "lambda"}
    assert [f["inputs"].get("region") for f in run.resources("aws:lambda/function:Function")] == ["us-east-1"]


def test_an_existing_cluster_with_route_53_checks_gets_only_the_us_east_1_topic(tmp_path: Path) -> None:
    with_committed_plans(tmp_path, "staging", "aws-staging")
    run = run_config(tmp_path, _do_config("byoc", uptimeChecks="aws"), stack="byoc")
    assert [t["name"] for t in run.resources("aws:sns/topic:Topic")] == ["meteor-alerts-us-east-1"]


def test_eks_and_ec2_hosts_keep_the_stack_region_topic() -> None:
    for stack in ("aws-hosts", "aws-staging"):
        names = {t["name"] for t in shipped(stack).resources("aws:sns/topic:Topic")}
        assert "meteor-alerts" in names, stack
