"""Checks and alerts in the plan, the uptime policy and the pull-request report.

The real check and alert resources come from the observability components; these tests build small
ones of the same type tokens and inputs (the pinned SDKs' names) into copies of shipped plans.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from offline_plan.__main__ import main
from offline_plan.changes import plan_changes
from offline_plan.policy_check import plan_resources
from offline_plan.render import StackReport, comment, stack_text
from offline_plan.watching import as_resource, watch_lines, watch_summary
from policy.rules import CLUSTER_WATCH, UPTIME_RULE, WATCH_TYPES, Options, check, watch_of
from tests.harness import ROOT

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/not-a-real-hook"


def shipped(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def planned(plan: dict[str, Any], type_: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    stack = plan["stack"]
    return {
        "custom": True,
        "dependencies": [],
        "id": f"{name}-id",
        "inputs": inputs,
        "name": name,
        "parent": f"urn:pulumi:{stack}::meteor-platform::meteor-platform:index:Platform::meteor",
        "protect": False,
        "retainOnDelete": False,
        "type": type_,
        "urn": f"urn:pulumi:{stack}::meteor-platform::meteor-platform:index:Platform${type_}::{name}",
    }


def do_watched(plan: dict[str, Any], domain: str = "todos.example.com") -> dict[str, Any]:
    """`plan` with a DigitalOcean uptime check of `domain`, its alerts and a droplet alert."""
    notify = {"emails": ["ops@example.com"], "slacks": [{"channel": "#ops", "url": SLACK_URL}]}
    watched = copy.deepcopy(plan)
    watched["resources"] += [
        planned(
            plan, "digitalocean:index/uptimeCheck:UptimeCheck", "todos-uptime", {"target": f"https://{domain}/healthz", "type": "https"}
        ),
        planned(plan, "digitalocean:index/uptimeAlert:UptimeAlert", "todos-down", {"type": "down", "notifications": [notify]}),
        planned(plan, "digitalocean:index/uptimeAlert:UptimeAlert", "todos-latency", {"type": "latency", "notifications": [notify]}),
        planned(plan, "digitalocean:index/monitorAlert:MonitorAlert", "host0-cpu", {"type": "v1/insights/droplet/cpu", "alerts": notify}),
    ]
    return watched


def test_one_table_classifies_every_check_alert_and_destination() -> None:
    roles = {t: w.role for t, w in WATCH_TYPES.items()}
    assert roles == {
        "digitalocean:index/uptimeCheck:UptimeCheck": "check",
        "aws:route53/healthCheck:HealthCheck": "check",
        "digitalocean:index/uptimeAlert:UptimeAlert": "alert",
        "digitalocean:index/monitorAlert:MonitorAlert": "alert",
        "aws:cloudwatch/metricAlarm:MetricAlarm": "alert",
        "aws:sns/topic:Topic": "destination",
        "aws:sns/topicSubscription:TopicSubscription": "destination",
    }
    plan = shipped("staging")
    cron = {"kind": "CronJob", "metadata": {"labels": {"app.kubernetes.io/component": "cluster-watch"}}, "spec": {}}
    watcher = as_resource(planned(plan, "kubernetes:batch/v1:CronJob", "cluster-watch", cron))
    other = as_resource(planned(plan, "kubernetes:batch/v1:CronJob", "backup", {**cron, "metadata": {"labels": {}}}))
    assert watch_of(watcher) == CLUSTER_WATCH
    assert watch_of(other) is None


def test_the_plan_lists_checks_per_domain_alert_counts_and_destinations_but_no_secret() -> None:
    plan = do_watched(shipped("production"))
    plan["resources"].append(
        planned(plan, "aws:sns/topicSubscription:TopicSubscription", "slack", {"protocol": "https", "endpoint": SLACK_URL})
    )
    lines = watch_lines(watch_summary(plan))
    assert lines == [
        "  uptime check: todos.example.com: DigitalOcean uptime check https://todos.example.com/healthz",
        "  alerts: 1 DigitalOcean monitor alert (v1/insights/droplet/cpu), 1 DigitalOcean uptime alert (down), "
        "1 DigitalOcean uptime alert (latency)",
        "  destinations: email ops@example.com, Slack #ops, 1 SNS https subscription",
    ]
    assert SLACK_URL not in "\n".join(lines)


def test_route_53_checks_name_their_domain_and_path() -> None:
    plan = copy.deepcopy(shipped("aws-production"))
    plan["resources"] += [
        planned(
            plan,
            "aws:route53/healthCheck:HealthCheck",
            "todos-health",
            {"fqdn": "todos.aws.example.com", "type": "HTTPS", "resourcePath": "/healthz"},
        ),
        planned(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "todos-down", {"metricName": "HealthCheckStatus"}),
        planned(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "todos-latency", {"metricName": "TimeToFirstByte"}),
    ]
    summary = watch_summary(plan)
    assert summary.checks == [("todos.aws.example.com", "Route 53 health check HTTPS /healthz")]
    assert summary.unchecked == []
    assert summary.alerts == [("CloudWatch alarm (HealthCheckStatus)", 1), ("CloudWatch alarm (TimeToFirstByte)", 1)]
    assert summary.destinations == ["email ops@example.com", "2 SNS topics"]


def test_the_offline_plan_shows_the_section(capsys: pytest.CaptureFixture[str]) -> None:
    """Through the real program: aws-production has its SNS topics and email subscription, and no check yet."""
    assert main(["aws-production"]) == 0
    out = capsys.readouterr().out
    assert (
        "aws-production: checks and alerts:\n"
        "  no uptime check: todos.aws.example.com\n"
        "  alerts: none\n"
        "  destinations: email ops@example.com, 2 SNS topics\n"
    ) in out
    assert main(["aws-production", "--markdown"]) == 0
    body = capsys.readouterr().out
    assert "**Checks and alerts**\n\n- no uptime check: todos.aws.example.com\n- alerts: none\n" in body


# -- the policy ---------------------------------------------------------------------------------


def uptime_violations(plan: dict[str, Any], environment: str = "production") -> list[str]:
    return [v.message for v in check(plan_resources(plan), [UPTIME_RULE], Options(environment=environment))]


@pytest.mark.parametrize(("stack", "domain"), [("production", "todos.example.com"), ("droplets", "todos.example.org")])
def test_a_production_domain_without_an_uptime_check_is_refused(stack: str, domain: str) -> None:
    """An Ingress host on Kubernetes, a Traefik router rule on Docker hosts."""
    (message,) = uptime_violations(shipped(stack))
    assert message.startswith(f"public domain {domain} has no uptime check")
    assert "alerts.uptimeChecks" in message


def test_a_checked_domain_passes_whichever_cloud_checks_it() -> None:
    assert uptime_violations(do_watched(shipped("production"))) == []
    plan = copy.deepcopy(shipped("droplets"))
    plan["resources"].append(planned(plan, "aws:route53/healthCheck:HealthCheck", "todos-health", {"fqdn": "TODOS.example.org."}))
    assert uptime_violations(plan) == []


def test_a_check_of_another_domain_does_not_count() -> None:
    (message,) = uptime_violations(do_watched(shipped("production"), domain="other.example.com"))
    assert "todos.example.com" in message


def test_only_production_is_held_to_it() -> None:
    assert uptime_violations(shipped("staging"), environment="staging") == []
    assert uptime_violations(shipped("production"), environment="staging") == []


# -- the pull-request report --------------------------------------------------------------------


def test_the_report_counts_added_and_removed_checks_and_alerts_from_a_base_without_alerts() -> None:
    base = shipped("production")
    assert watch_summary(base).checks == [] and watch_summary(base).alerts == []
    head = do_watched(base)
    added = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "production: checks and alerts: +4 \N{MINUS SIGN}0\n" in added
    assert "  + digitalocean:index/uptimeCheck:UptimeCheck  todos-uptime\n" in added
    assert "  + digitalocean:index/monitorAlert:MonitorAlert  host0-cpu\n" in added
    assert SLACK_URL not in added
    removed = plan_changes(head, base)
    assert "production: checks and alerts: +0 \N{MINUS SIGN}4\n" in stack_text(StackReport(stack="production", changes=removed))
    markdown = comment([StackReport(stack="production", changes=removed)])
    assert "**checks and alerts: +0 \N{MINUS SIGN}4**" in markdown
    assert SLACK_URL not in markdown


def test_a_change_that_touches_no_check_or_alert_says_nothing_about_them() -> None:
    base = shipped("production")
    head = copy.deepcopy(base)
    head["resources"] = [r for r in head["resources"] if r["type"] != "kubernetes:networking.k8s.io/v1:Ingress"]
    text = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "checks and alerts" not in text


def test_a_changed_alert_is_counted_as_changed() -> None:
    base = do_watched(shipped("production"))
    head = copy.deepcopy(base)
    for r in head["resources"]:
        if r["name"] == "host0-cpu":
            r["inputs"]["value"] = 90
    text = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "production: checks and alerts: +0 \N{MINUS SIGN}0 ~1\n" in text
