"""Checks and alerts in the plan, the uptime policy and the pull-request report.

Asserted on the shipped plans (plans/*.json, what the observability components really create). A
case no shipped plan can show (a production domain without a check, a Slack destination, a value
the plan could not read) is built from a copy of a shipped plan.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline_plan.__main__ import main
from offline_plan.changes import plan_changes
from offline_plan.policy_check import plan_resources
from offline_plan.render import StackReport, comment, stack_text
from offline_plan.watching import as_resource, watch_lines, watch_summary
from policy.rules import (
    CLUSTER_WATCH,
    SECRET,
    UNKNOWN,
    UPTIME_RULE,
    WATCH_TYPES,
    Options,
    check,
    public_domains,
    watch_of,
)
from tests.harness import ROOT, run_config, with_committed_plans

SLACK_URL = "https://hooks.slack.com/services/T0000/B0000/not-a-real-hook"
PUBLIC_STACKS = ["production", "staging", "byoc", "droplets", "aws-production", "aws-staging", "aws-hosts"]
DO_CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
R53_CHECK = "aws:route53/healthCheck:HealthCheck"


def shipped(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def without(plan: dict[str, Any], *types: str) -> dict[str, Any]:
    """A copy of `plan` without the resources of `types`."""
    out = copy.deepcopy(plan)
    out["resources"] = [r for r in out["resources"] if r["type"] not in types]
    return out


def unwatched(plan: dict[str, Any]) -> dict[str, Any]:
    """A copy of `plan` as it was before the stack had checks, alerts or destinations."""
    out = copy.deepcopy(plan)
    out["resources"] = [r for r in out["resources"] if watch_of(as_resource(r)) is None]
    return out


def count(plan: dict[str, Any], type_: str) -> int:
    return sum(r["type"] == type_ for r in plan["resources"])


def watched(plan: dict[str, Any]) -> int:
    return sum(watch_of(as_resource(r)) is not None for r in plan["resources"])


def test_one_table_classifies_every_check_alert_and_destination() -> None:
    roles = {t: w.role for t, w in WATCH_TYPES.items()}
    assert roles == {
        DO_CHECK: "check",
        R53_CHECK: "check",
        "digitalocean:index/uptimeAlert:UptimeAlert": "alert",
        "digitalocean:index/monitorAlert:MonitorAlert": "alert",
        "aws:cloudwatch/metricAlarm:MetricAlarm": "alert",
        "aws:sns/topic:Topic": "destination",
        "aws:sns/topicSubscription:TopicSubscription": "destination",
    }
    (watcher,) = [r for r in shipped("staging")["resources"] if r["type"] == "kubernetes:batch/v1:CronJob"]
    assert watch_of(as_resource(watcher)) == CLUSTER_WATCH
    other = copy.deepcopy(watcher)
    other["inputs"]["metadata"]["labels"] = {}
    assert watch_of(as_resource(other)) is None


# -- the shipped plans --------------------------------------------------------------------------


@pytest.mark.parametrize("stack", PUBLIC_STACKS)
def test_every_public_domain_of_a_shipped_stack_is_checked(stack: str) -> None:
    plan = shipped(stack)
    summary = watch_summary(plan)
    domains = set(public_domains(plan_resources(plan)))
    assert domains
    assert summary.unchecked == []
    assert domains <= {domain for domain, _ in summary.checks}
    assert uptime_violations(plan) == []


@pytest.mark.parametrize("stack", ["production", "staging", "byoc", "droplets"])
def test_digitalocean_alerts_follow_from_the_checks_hosts_databases_and_cluster(stack: str) -> None:
    plan = shipped(stack)
    alerts = Counter(dict(watch_summary(plan).alerts))
    domains = len(public_domains(plan_resources(plan)))
    # Each app domain: one check with down, latency and certificate alerts; the data-volume probe
    # (Docker hosts with a data volume): one more check with a down alert.
    probes = count(plan, "digitalocean:index/volume:Volume")
    assert count(plan, DO_CHECK) == domains + probes
    assert alerts["DigitalOcean uptime alert (latency)"] == alerts["DigitalOcean uptime alert (ssl_expiry)"] == domains
    assert alerts["DigitalOcean uptime alert (down)"] == domains + probes
    hosts = count(plan, "digitalocean:index/droplet:Droplet") + count(plan, "digitalocean:index/kubernetesCluster:KubernetesCluster")
    databases = count(plan, "digitalocean:index/databaseCluster:DatabaseCluster")
    for metric in ("cpu", "memory_utilization_percent", "disk_utilization_percent"):
        assert alerts[f"DigitalOcean monitor alert (v1/insights/droplet/{metric})"] == (1 if hosts else 0)  # one per host tag
    for metric in ("cpu_alerts", "memory_utilization_alerts", "disk_utilization_alerts"):
        assert alerts[f"DigitalOcean monitor alert (v1/dbaas/alerts/{metric})"] == databases
    clusters = any(r["type"].startswith("kubernetes:") for r in plan["resources"])
    assert alerts["in-cluster watcher"] == (1 if clusters else 0)
    assert sum(alerts.values()) + count(plan, DO_CHECK) == watched(plan)


@pytest.mark.parametrize("stack", ["aws-production", "aws-staging", "aws-hosts"])
def test_aws_alarms_follow_from_the_checks_instances_and_cluster(stack: str) -> None:
    plan = shipped(stack)
    alerts = Counter(dict(watch_summary(plan).alerts))
    checks = count(plan, R53_CHECK)
    assert checks == len(public_domains(plan_resources(plan)))
    assert alerts["CloudWatch alarm (HealthCheckStatus)"] == alerts["CloudWatch alarm (TimeToFirstByte)"] == checks
    instances = count(plan, "aws:ec2/instance:Instance")
    for metric in ("CPUUtilization", "StatusCheckFailed_System", "StatusCheckFailed_Instance", "mem_used_percent"):
        assert alerts[f"CloudWatch alarm ({metric})"] == instances
    # the root disk and the data volume of each host
    assert alerts["CloudWatch alarm (disk_used_percent)"] == instances + count(plan, "aws:ebs/volume:Volume")
    eks = count(plan, "aws:eks/cluster:Cluster")
    for metric in ("cluster_failed_node_count", "node_filesystem_utilization", "pod_container_status_waiting_reason_crash_loop_back_off"):
        assert alerts[f"CloudWatch alarm ({metric})"] == eks
    # one topic in the stack's region, one in us-east-1 (where Route 53 publishes its metrics), an email subscription on each
    assert count(plan, "aws:sns/topic:Topic") == 2
    assert watch_summary(plan).destinations == ["email ops@example.com", "2 SNS topics"]
    assert sum(alerts.values()) + checks + 2 + count(plan, "aws:sns/topicSubscription:TopicSubscription") == watched(plan)


def test_the_plan_lists_checks_per_domain_alert_counts_and_destinations() -> None:
    assert watch_lines(watch_summary(shipped("droplets"))) == [
        "  uptime check: todos.example.org: DigitalOcean uptime check https://todos.example.org/",
        "  uptime check: todos.example.org: DigitalOcean uptime check https://todos.example.org/.well-known/meteor-platform/data-volume",
        "  alerts: DigitalOcean monitor alerts (3): v1/insights/droplet/cpu, v1/insights/droplet/disk_utilization_percent, "
        "v1/insights/droplet/memory_utilization_percent",
        "  alerts: DigitalOcean uptime alerts (4): down \N{MULTIPLICATION SIGN}2, latency, ssl_expiry",
        "  destinations: email ops@example.com",
    ]


def test_a_slack_destination_shows_its_channel_never_its_webhook() -> None:
    plan = shipped("production")
    for r in plan["resources"]:
        for block in r["inputs"].get("notifications") or []:
            block["slacks"] = [{"channel": "#ops", "url": SLACK_URL}]
    lines = watch_lines(watch_summary(plan))
    assert lines[-1] == "  destinations: email ops@example.com, Slack #ops"
    assert SLACK_URL not in "\n".join(lines)


def test_slack_on_aws_shows_as_slack_through_its_forwarder_never_its_webhook(tmp_path: Path) -> None:
    """The forwarder's `lambda` subscriptions (one per topic region) are the Slack destination; at preview
    their endpoint is the function's unknown ARN. Another `lambda` subscription stays an SNS subscription."""
    config = {k.split(":", 1)[1]: v for k, v in yaml.safe_load((ROOT / "Pulumi.aws-production.yaml").read_text())["config"].items()}
    config["alerts"] = {"emails": ["ops@example.com"], "slack": {"webhook": {"secure": "v1:aG9va3Muc2xhY2suY29t"}, "channel": "#ops"}}
    with_committed_plans(tmp_path, "aws-staging")
    plan = run_config(tmp_path, config, stack="aws-production").plan
    forwarded = [
        r for r in plan["resources"] if r["type"] == "aws:sns/topicSubscription:TopicSubscription" and r["inputs"]["protocol"] == "lambda"
    ]
    assert len(forwarded) == 2
    forwarded[0]["inputs"]["endpoint"] = UNKNOWN
    assert watch_summary(plan).destinations == ["email ops@example.com", "Slack (AWS forwarder)", "2 SNS topics"]
    other = copy.deepcopy(forwarded[1])
    other["urn"] = other["urn"].replace("observability:SlackForwarder$", "observability:AlertTopics$") + "-other"
    plan["resources"].append(other)
    assert watch_summary(plan).destinations[-2:] == ["1 SNS lambda subscription", "2 SNS topics"]
    https = copy.deepcopy(forwarded[1])
    https["inputs"]["protocol"], https["urn"] = "https", https["urn"] + "-https"
    plan["resources"].append(https)
    assert "1 SNS https subscription" in watch_summary(plan).destinations
    assert "hooks.slack.com" not in "\n".join(watch_lines(watch_summary(plan)))


def test_values_the_plan_cannot_read_are_skipped_not_crashed_on() -> None:
    """A secret or unknown list or block (`[secret]`, `[unknown]`) where a list or mapping is expected."""
    plan = shipped("production")
    for r in plan["resources"]:
        inputs = r["inputs"]
        if r["type"] == "digitalocean:index/uptimeAlert:UptimeAlert":
            inputs["notifications"] = [{"emails": SECRET, "slacks": UNKNOWN}, UNKNOWN] if inputs["type"] == "down" else SECRET
        elif r["type"] == "digitalocean:index/monitorAlert:MonitorAlert":
            inputs["alerts"] = UNKNOWN if "cpu" in inputs["type"] else {"emails": ["ops@example.com"], "slacks": [UNKNOWN, SECRET]}
        elif r["type"] == "kubernetes:batch/v1:CronJob":
            inputs["metadata"] = {"labels": UNKNOWN}
        elif r["type"] == "kubernetes:networking.k8s.io/v1:Ingress":
            inputs["spec"] = {"rules": [UNKNOWN, {"host": "todos.example.com"}]}
    summary = watch_summary(plan)
    assert summary.destinations == ["email ops@example.com"]
    assert summary.unchecked == []
    droplets = shipped("droplets")
    for r in droplets["resources"]:
        if r["type"] == "docker:index/container:Container":
            r["inputs"]["labels"] = SECRET
    assert public_domains(plan_resources(droplets)) == {}
    kube = without(shipped("production"), DO_CHECK)
    for r in kube["resources"]:
        if r["type"] == "kubernetes:networking.k8s.io/v1:Ingress":
            r["inputs"]["spec"] = UNKNOWN
    assert public_domains(plan_resources(kube)) == {}


def test_the_offline_plan_shows_the_section(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["aws-production"]) == 0
    out = capsys.readouterr().out
    assert (
        "aws-production: checks and alerts:\n"
        "  uptime check: todos.aws.example.com: Route 53 health check HTTPS /\n"
        "  alerts: CloudWatch alarms (5): HealthCheckStatus, TimeToFirstByte, cluster_failed_node_count, "
        "node_filesystem_utilization, pod_container_status_waiting_reason_crash_loop_back_off\n"
        "  destinations: email ops@example.com, 2 SNS topics\n"
    ) in out
    assert main(["aws-production", "--markdown"]) == 0
    body = capsys.readouterr().out
    assert "**Checks and alerts**\n\n- uptime check: todos.aws.example.com: Route 53 health check HTTPS /\n- alerts: " in body


# -- the policy ---------------------------------------------------------------------------------


def uptime_violations(plan: dict[str, Any], environment: str = "production") -> list[str]:
    return [v.message for v in check(plan_resources(plan), [UPTIME_RULE], Options(environment=environment))]


@pytest.mark.parametrize(
    ("stack", "domain", "checks"),
    [
        ("production", "todos.example.com", DO_CHECK),
        ("droplets", "todos.example.org", DO_CHECK),
        ("aws-hosts", "todos.example.net", R53_CHECK),
    ],
)
def test_a_production_domain_without_an_uptime_check_is_refused(stack: str, domain: str, checks: str) -> None:
    """An Ingress host on Kubernetes, a Traefik router rule on Docker hosts; the checks removed."""
    plan = without(shipped(stack), checks)
    (message,) = uptime_violations(plan)
    assert message.startswith(f"public domain {domain} has no uptime check")
    assert "alerts.uptimeChecks" in message
    assert watch_summary(plan).unchecked == [domain]
    assert f"  no uptime check: {domain}" in watch_lines(watch_summary(plan))


def test_a_checked_domain_passes_whichever_cloud_checks_it() -> None:
    plan = without(shipped("droplets"), DO_CHECK)
    (route53,) = [r for r in shipped("aws-hosts")["resources"] if r["type"] == R53_CHECK]
    route53["inputs"]["fqdn"] = "TODOS.example.org."
    plan["resources"].append(route53)
    assert uptime_violations(plan) == []


def test_a_check_of_another_domain_does_not_count() -> None:
    plan = shipped("production")
    for r in plan["resources"]:
        if r["type"] == DO_CHECK:
            r["inputs"]["target"] = "https://other.example.com/"
    (message,) = uptime_violations(plan)
    assert "todos.example.com" in message


def test_only_production_is_held_to_it() -> None:
    assert uptime_violations(without(shipped("staging"), DO_CHECK), environment="staging") == []
    assert uptime_violations(without(shipped("production"), DO_CHECK), environment="staging") == []


# -- the pull-request report --------------------------------------------------------------------


def test_the_report_counts_added_and_removed_checks_alerts_destinations_and_the_watcher() -> None:
    head = shipped("production")
    base = unwatched(head)
    assert watch_summary(base).checks == [] and watch_summary(base).alerts == []
    # 1 uptime check, 3 uptime alerts, 3 node and 3 database monitor alerts, the in-cluster watcher
    assert watched(head) == 11
    added = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "production: checks and alerts: +11 \N{MINUS SIGN}0\n" in added
    assert "  + digitalocean:index/uptimeCheck:UptimeCheck  meteor-do-alerts-todos\n" in added
    assert "  + digitalocean:index/monitorAlert:MonitorAlert  meteor-do-alerts-mongo-cpu\n" in added
    removed = plan_changes(head, base)
    assert "production: checks and alerts: +0 \N{MINUS SIGN}11\n" in stack_text(StackReport(stack="production", changes=removed))
    assert "**checks and alerts: +0 \N{MINUS SIGN}11**" in comment([StackReport(stack="production", changes=removed)])
    aws = shipped("aws-hosts")
    # 1 health check, 2 uptime alarms, 6 host alarms, 2 SNS topics and 2 email subscriptions
    text = stack_text(StackReport(stack="aws-hosts", changes=plan_changes(unwatched(aws), aws)))
    assert "aws-hosts: checks and alerts: +13 \N{MINUS SIGN}0\n" in text


def test_a_change_that_touches_no_check_or_alert_says_nothing_about_them() -> None:
    base = shipped("production")
    head = without(base, "kubernetes:networking.k8s.io/v1:Ingress")
    text = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "checks and alerts" not in text


def test_a_changed_alert_is_counted_as_changed() -> None:
    base = shipped("production")
    head = copy.deepcopy(base)
    for r in head["resources"]:
        if r["name"] == "meteor-do-alerts-doks-nodes-cpu":
            r["inputs"]["value"] = 95
    text = stack_text(StackReport(stack="production", changes=plan_changes(base, head)))
    assert "production: checks and alerts: +0 \N{MINUS SIGN}0 ~1\n" in text


_PREVIEW = """
import json, os, sys
sys.path.insert(0, "policy")
from google.protobuf import struct_pb2
from pulumi.runtime import proto
from pulumi_policy import EnforcementLevel
from pulumi_policy.policy import _PolicyAnalyzerServicer
import pack

os.environ.update(PULUMI_CONFIG=json.dumps({"meteor-platform:environment": "production"}), PULUMI_DRY_RUN="true")
servicer = _PolicyAnalyzerServicer(pack.NAME, "0.0.1", pack.policies(), EnforcementLevel.MANDATORY)
request = proto.AnalyzeStackRequest()
for r in json.load(sys.stdin):
    properties = struct_pb2.Struct()
    properties.update(r["inputs"])
    options = proto.AnalyzerResourceOptions(protect=r["protect"])
    request.resources.append(proto.AnalyzerResource(urn=r["urn"], type=r["type"], name=r["name"], properties=properties, options=options))
response = servicer.AnalyzeStack(request, None)
print(json.dumps([[d.policyName, d.enforcementLevel, d.message] for d in response.diagnostics]))
"""


def test_the_policy_pack_runs_every_rule_at_preview_despite_unknown_values() -> None:
    """At preview the engine sends a value not known yet as pulumi_policy's sentinel string (proxy.py
    UNKNOWN_STRING_VALUE), and pulumi_policy wraps the props in a proxy that raises on reading one: the
    pack reads around it (`[unknown]`), so the rules stay mandatory instead of "can't run policy"."""
    import subprocess
    import sys

    from pulumi.runtime import proto
    from pulumi_policy.proxy import UNKNOWN_OBJECT_VALUE, UNKNOWN_STRING_VALUE

    plan = without(shipped("production"), DO_CHECK)
    for r in plan["resources"]:
        if r["type"] == "kubernetes:apps/v1:Deployment":
            r["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] = UNKNOWN_STRING_VALUE  # built at `pulumi up`
        if r["type"] == "kubernetes:networking.k8s.io/v1:Ingress":
            r["inputs"]["metadata"]["annotations"] = UNKNOWN_OBJECT_VALUE
    resources = [{k: r[k] for k in ("urn", "type", "name", "inputs", "protect")} for r in plan["resources"]]
    proc = subprocess.run(
        [sys.executable, "-c", _PREVIEW], cwd=ROOT, input=json.dumps(resources), capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == 0, proc.stderr
    diagnostics: list[list[Any]] = json.loads(proc.stdout)
    assert [d for d in diagnostics if "can't run policy" in d[2]] == []
    (uptime,) = diagnostics
    assert uptime[0] == "public-domains-uptime-checked" and uptime[1] == proto.MANDATORY
    assert "\npublic domain todos.example.com has no uptime check" in uptime[2]
