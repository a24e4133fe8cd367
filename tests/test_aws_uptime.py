"""Route 53 health checks per public domain, their us-east-1 alarms, and the Slack forwarder of every AWS alarm."""

from __future__ import annotations

import io
import json
import sys
import types
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_config
from components.config.aws import AWS_REGIONS
from components.config.names import MAX_STACK_NAME
from components.observability import alert_destinations, public_endpoints
from components.observability import aws_slack_handler as forwarder
from tests.harness import ROOT, Run, run_config, shipped, with_committed_plans

AWS_STACKS = ("aws-staging", "aws-production", "aws-hosts")
HEALTH_CHECK = "aws:route53/healthCheck:HealthCheck"
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
WEBHOOK_CIPHERTEXT = "AAABAKq2y1mnJ5C4X2y3Zp8rXhUuQ2tq0kQ="


def _stack_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in document.items()}


def _run(tmp_path: Path, stack: str, **alerts: Any) -> Run:
    config = _stack_config(stack)
    config["alerts"] = alerts or "none"
    with_committed_plans(tmp_path, "aws-staging")
    return run_config(tmp_path, config, stack=stack)


# -- health checks and alarms ---------------------------------------------------------------------------


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_domain_of_an_aws_stack_has_a_health_check_and_alarms_in_us_east_1(stack: str) -> None:
    run = shipped(stack)
    endpoints = public_endpoints(parse_config(_stack_config(stack), set(), project_dir=ROOT))
    assert endpoints, "every shipped AWS stack serves a public domain"
    checks = {c["name"]: c for c in run.resources(HEALTH_CHECK)}
    assert set(checks) == {f"meteor-uptime-{e.app}" for e in endpoints}
    [topic] = [t for t in run.resources("aws:sns/topic:Topic") if t["inputs"].get("region") == "us-east-1"]
    topic_arn = run.state(topic)["arn"]
    for endpoint in endpoints:
        check = checks[f"meteor-uptime-{endpoint.app}"]["inputs"]
        assert (check["fqdn"], check["resourcePath"]) == (endpoint.domain, endpoint.health_path)
        assert (check["type"], check["port"], check["enableSni"]) == (("HTTPS", 443, True) if endpoint.tls else ("HTTP", 80, False))
        assert check["measureLatency"] is True and len(set(check["regions"])) >= 3
        health_check_id = run.state(checks[f"meteor-uptime-{endpoint.app}"])["id"]
        alarms = {a["name"]: a["inputs"] for a in run.resources(ALARM) if a["inputs"]["dimensions"] == {"HealthCheckId": health_check_id}}
        down, slow = alarms[f"meteor-uptime-{endpoint.app}-down"], alarms[f"meteor-uptime-{endpoint.app}-slow"]
        for alarm in (down, slow):
            assert alarm["region"] == "us-east-1" and alarm["namespace"] == "AWS/Route53"
            assert alarm["alarmActions"] == alarm["okActions"] == [topic_arn]
        assert (down["metricName"], down["statistic"], down["comparisonOperator"], down["threshold"]) == (
            "HealthCheckStatus",
            "Minimum",
            "LessThanThreshold",
            1,
        )
        # A new check's first silent minutes are INSUFFICIENT_DATA, told as such, never a false "down".
        assert down["treatMissingData"] == "missing" and down["insufficientDataActions"] == [topic_arn]
        # Route 53 fails a check slower than 2 s: the default threshold stays below that.
        assert (slow["metricName"], slow["comparisonOperator"], slow["threshold"]) == ("TimeToFirstByte", "GreaterThanThreshold", 1500)
        assert slow["treatMissingData"] == "notBreaching" and "unit" not in slow and not slow.get("insufficientDataActions")


def test_the_production_domain_is_checked_over_https_on_its_health_path() -> None:
    check = shipped("aws-production").one(HEALTH_CHECK, "meteor-uptime-todos")["inputs"]
    assert (check["type"], check["fqdn"], check["resourcePath"]) == ("HTTPS", "todos.aws.example.com", "/")


def test_a_domain_served_without_tls_is_checked_over_http_on_its_own_health_path(tmp_path: Path) -> None:
    config = _stack_config("aws-production")
    # Plain HTTP only in dev (the config refuses it elsewhere).
    config |= {"environment": "dev", "ingress": {**config["ingress"], "tls": "off"}, "alerts": {"emails": ["ops@example.com"]}}
    config["apps"][0]["healthPath"] = "/healthz"
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-production")
    check = run.one(HEALTH_CHECK, "meteor-uptime-todos")["inputs"]
    assert (check["type"], check["port"], check["enableSni"]) == ("HTTP", 80, False)
    assert (check["fqdn"], check["resourcePath"]) == ("todos.aws.example.com", "/healthz")
    assert "http://todos.aws.example.com/healthz" in run.one(ALARM, "meteor-uptime-todos-down")["inputs"]["alarmDescription"]


def test_thresholds_from_config_reach_the_alarms(tmp_path: Path) -> None:
    run = _run(tmp_path, "aws-production", emails=["ops@example.com"], thresholds={"latencyMs": 1200, "minutes": 10})
    slow = run.one(ALARM, "meteor-uptime-todos-slow")["inputs"]
    assert (slow["threshold"], slow["evaluationPeriods"], slow["datapointsToAlarm"], slow["period"]) == (1200, 10, 10, 60)
    assert run.one(ALARM, "meteor-uptime-todos-down")["inputs"]["evaluationPeriods"] == 10


def test_alerts_none_keeps_the_health_checks_without_alarms(tmp_path: Path) -> None:
    run = _run(tmp_path, "aws-production")
    assert [c["name"] for c in run.resources(HEALTH_CHECK)] == ["meteor-uptime-todos"]
    assert run.resources(ALARM) == [] and run.resources("aws:sns/topic:Topic") == []


def test_uptime_checks_elsewhere_plan_no_health_check(tmp_path: Path) -> None:
    config = _stack_config("aws-production")
    config["alerts"] = {"emails": ["ops@example.com"], "uptimeChecks": "none"}
    config["environment"] = "staging"  # production refuses unchecked public domains
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-production")
    assert run.resources(HEALTH_CHECK) == []
    assert not [a for a in run.resources(ALARM) if a["inputs"].get("namespace") == "AWS/Route53"], "the cluster's own alarms stay"


def _config_errors(config: dict[str, Any]) -> list[str]:
    try:
        parse_config(config, set(), project_dir=ROOT)
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines()[1:]]
    return []


@pytest.mark.parametrize("latency", [2000, 5000])
def test_a_latency_threshold_route_53_cannot_report_is_refused_on_aws(latency: int) -> None:
    config = _stack_config("aws-production") | {"alerts": {"emails": ["ops@example.com"], "thresholds": {"latencyMs": latency}}}
    [line] = _config_errors(config)
    assert line.startswith("meteor-platform:alerts.thresholds.latencyMs:") and "expected less than 2000" in line and "Route 53" in line


def test_a_latency_threshold_below_route_53s_limit_or_on_digitalocean_is_accepted() -> None:
    aws = _stack_config("aws-production") | {"alerts": {"emails": ["ops@example.com"], "thresholds": {"latencyMs": 1999}}}
    assert _config_errors(aws) == []
    # The same AWS stack with DigitalOcean checking its domains: DigitalOcean's limit is not Route 53's.
    elsewhere = aws | {"alerts": {"emails": ["ops@example.com"], "thresholds": {"latencyMs": 5000}, "uptimeChecks": "digitalocean"}}
    assert _config_errors(elsewhere) == []


@pytest.mark.parametrize(("stack", "expected"), [("aws-production", 1500), ("production", 3000)])
def test_the_default_latency_threshold_is_the_checking_clouds(stack: str, expected: int) -> None:
    config = _stack_config(stack) | {"alerts": {"emails": ["ops@example.com"]}}
    destinations = alert_destinations(parse_config(config, set(), project_dir=ROOT))
    assert destinations is not None and destinations.latency_ms == expected


# -- Slack --------------------------------------------------------------------------------------------


def _slack_run(tmp_path: Path) -> Run:
    return _run(
        tmp_path, "aws-production", emails=["ops@example.com"], slack={"webhook": {"secure": WEBHOOK_CIPHERTEXT}, "channel": "#ops"}
    )


def test_without_a_webhook_there_is_no_forwarder() -> None:
    run = shipped("aws-production")
    assert run.resources("aws:lambda/function:Function") == [] and run.resources("aws:ssm/parameter:Parameter") == []


def test_each_topic_region_has_a_forwarder_subscribed_to_its_topic(tmp_path: Path) -> None:
    run = _slack_run(tmp_path)
    topics = {t["inputs"].get("region") or "eu-central-1": run.state(t)["arn"] for t in run.resources("aws:sns/topic:Topic")}
    assert set(topics) == {"eu-central-1", "us-east-1"}
    functions = {f["inputs"].get("region") or "eu-central-1": f for f in run.resources("aws:lambda/function:Function")}
    assert set(functions) == set(topics)
    [parameter] = run.resources("aws:ssm/parameter:Parameter")
    assert parameter["inputs"]["type"] == "SecureString" and parameter["inputs"].get("region") is None
    for region, function in functions.items():
        inputs = function["inputs"]
        assert inputs["runtime"] == "python3.13" and inputs["handler"] == "index.handler"
        # The webhook is never in the function's configuration: only where to read it.
        assert inputs["environment"]["variables"] == {"WEBHOOK_PARAMETER": parameter["inputs"]["name"], "WEBHOOK_REGION": "eu-central-1"}
        name = inputs["name"]
        # One name in every region (a function name is unique per region): the log group of this region's.
        [logs] = [
            g
            for g in run.resources("aws:cloudwatch/logGroup:LogGroup")
            if g["inputs"]["name"] == f"/aws/lambda/{name}" and g["inputs"].get("region") == inputs.get("region")
        ]
        assert logs["inputs"]["retentionInDays"] == 30 and logs["urn"] in function["dependencies"]
        arn = run.state(function)["arn"]
        [subscription] = [
            s
            for s in run.resources("aws:sns/topicSubscription:TopicSubscription")
            if s["inputs"]["protocol"] == "lambda" and s["inputs"]["topic"] == topics[region]
        ]
        assert subscription["inputs"]["endpoint"] == arn and subscription["inputs"].get("region") == function["inputs"].get("region")
        [permission] = [p for p in run.resources("aws:lambda/permission:Permission") if p["inputs"]["sourceArn"] == topics[region]]
        assert (permission["inputs"]["principal"], permission["inputs"]["action"], permission["inputs"]["function"]) == (
            "sns.amazonaws.com",
            "lambda:InvokeFunction",
            name,
        )
        assert permission["urn"] in subscription["dependencies"]
    assert WEBHOOK_CIPHERTEXT not in json.dumps(run.plan) and "hooks.slack.com" not in json.dumps(run.plan)


def test_a_failing_forwarder_alarms_its_regions_topic(tmp_path: Path) -> None:
    run = _slack_run(tmp_path)
    topics = {t["inputs"].get("region") or "eu-central-1": run.state(t)["arn"] for t in run.resources("aws:sns/topic:Topic")}
    errors = {
        a["inputs"].get("region") or "eu-central-1": a["inputs"] for a in run.resources(ALARM) if a["inputs"]["namespace"] == "AWS/Lambda"
    }
    assert set(errors) == set(topics)
    for function in run.resources("aws:lambda/function:Function"):
        region = function["inputs"].get("region") or "eu-central-1"
        alarm = errors[region]
        assert (alarm["metricName"], alarm["statistic"], alarm["comparisonOperator"], alarm["threshold"]) == (
            "Errors",
            "Sum",
            "GreaterThanThreshold",
            0,
        )
        assert alarm["dimensions"] == {"FunctionName": function["inputs"]["name"]} and alarm["treatMissingData"] == "notBreaching"
        # ALARM only: an OK notification would invoke the failing forwarder again, and flap for as long as it fails.
        assert alarm["alarmActions"] == [topics[region]] and not alarm.get("okActions") and not alarm.get("insufficientDataActions")


def test_the_forwarders_names_fit_lambdas_limit_with_the_longest_stack_and_region(tmp_path: Path) -> None:
    region = max(AWS_REGIONS, key=len)
    stack = "s" * MAX_STACK_NAME
    config = _stack_config("aws-production")
    config["aws"] = {
        **config["aws"],
        "region": region,
        "vpc": {**config["aws"]["vpc"], "availabilityZones": [f"{region}a", f"{region}b", f"{region}c"]},
    }
    config["alerts"] = {"emails": ["ops@example.com"], "slack": {"webhook": {"secure": WEBHOOK_CIPHERTEXT}, "channel": "#ops"}}
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack=stack)
    names = {f["inputs"].get("region") or region: f["inputs"]["name"] for f in run.resources("aws:lambda/function:Function")}
    assert set(names) == {region, "us-east-1"} and len(region) == 14
    assert all(stack in name and len(name) <= 64 for name in names.values()), names


def test_the_forwarder_role_may_only_write_its_logs_and_read_its_parameter(tmp_path: Path) -> None:
    from parliament import analyze_policy_string

    run = _slack_run(tmp_path)
    [role] = [r for r in run.resources("aws:iam/role:Role") if r["name"] == "meteor-slack-role"]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert trust == [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]
    [policy] = [p for p in run.resources("aws:iam/rolePolicy:RolePolicy") if p["name"] == "meteor-slack-role"]
    document = json.loads(policy["inputs"]["policy"])
    assert analyze_policy_string(json.dumps(document), include_community_auditors=True).findings == []
    [parameter] = run.resources("aws:ssm/parameter:Parameter")
    functions = sorted(f["inputs"]["name"] for f in run.resources("aws:lambda/function:Function"))
    logs, read = document["Statement"]
    assert logs["Action"] == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert sorted(r.split(":log-group:/aws/lambda/")[1].removesuffix(":*") for r in logs["Resource"]) == functions
    assert read == {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": [run.state(parameter)["arn"]]}


# -- the forwarder's own code -------------------------------------------------------------------

# The SNS event Lambda receives for a CloudWatch alarm (docs.aws.amazon.com/lambda/latest/dg/with-sns.html
# event shape; the Message is CloudWatch's alarm notification, AlarmThatSendsEmail.html).
ALARM_MESSAGE = {
    "AlarmName": "meteor-aws-production-todos-down",
    "AlarmDescription": "https://todos.aws.example.com/ failed Route 53's health checks for 5 minutes",
    "AWSAccountId": "123456789012",
    "AlarmConfigurationUpdatedTimestamp": "2026-11-29T23:10:02.204+0000",
    "NewStateValue": "ALARM",
    "NewStateReason": "Threshold Crossed: 5 out of the last 5 datapoints [0.0 (29/11/26 23:55:00)] were less than the threshold (1.0).",
    "StateChangeTime": "2026-11-30T00:00:36.552+0000",
    "Region": "US East (N. Virginia)",
    "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:meteor-aws-production-todos-down",
    "OldStateValue": "OK",
    "Trigger": {"MetricName": "HealthCheckStatus", "Namespace": "AWS/Route53", "Statistic": "MINIMUM"},
}
SNS_EVENT: dict[str, Any] = {
    "Records": [
        {
            "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:meteor-aws-production-alerts-us-east-1:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55",
            "EventSource": "aws:sns",
            "Sns": {
                "SignatureVersion": "1",
                "Timestamp": "2026-11-30T00:00:36.603Z",
                "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                "Message": json.dumps(ALARM_MESSAGE),
                "Type": "Notification",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:meteor-aws-production-alerts-us-east-1",
                "Subject": 'ALARM: "meteor-aws-production-todos-down" in US East (N. Virginia)',
            },
        }
    ]
}


class _Answer(io.BytesIO):
    def __init__(self, status: int) -> None:
        super().__init__(b"ok")
        self.status = status


@pytest.fixture
def posted(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[urllib.request.Request, float]]]:
    """Every request the handler sends, answered 200; the webhook read from a stand-in SSM client."""
    sent: list[tuple[urllib.request.Request, float]] = []

    def urlopen(request: urllib.request.Request, timeout: float) -> _Answer:
        sent.append((request, timeout))
        return _Answer(200)

    reads: list[dict[str, Any]] = []

    class _Ssm:
        def get_parameter(self, **kwargs: Any) -> dict[str, Any]:
            reads.append(kwargs)
            return {"Parameter": {"Value": "https://hooks.slack.com/services/T0/B0/x"}}

    fake_boto3 = types.ModuleType("boto3")
    fake_boto3.client = lambda service, region_name: _Ssm() if (service, region_name) == ("ssm", "eu-central-1") else None  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "boto3", fake_boto3)
    monkeypatch.setattr(urllib.request, "urlopen", urlopen)
    monkeypatch.setenv("WEBHOOK_PARAMETER", "/meteor-aws-production/alerts/slack-webhook")
    monkeypatch.setenv("WEBHOOK_REGION", "eu-central-1")
    yield sent
    assert reads == [{"Name": "/meteor-aws-production/alerts/slack-webhook", "WithDecryption": True}] * len(reads) and reads


def test_the_handler_posts_an_alarm_to_the_webhook(posted: list[tuple[urllib.request.Request, float]]) -> None:
    assert forwarder.handler(SNS_EVENT, None) == {"posted": 1}
    [(request, timeout)] = posted
    assert request.full_url == "https://hooks.slack.com/services/T0/B0/x" and request.get_method() == "POST"
    assert request.get_header("Content-type") == "application/json" and timeout == forwarder.POST_TIMEOUT_SECONDS
    assert isinstance(request.data, bytes)
    text = json.loads(request.data)["text"]
    assert text.splitlines() == [
        ":red_circle: *ALARM*: meteor-aws-production-todos-down",
        "https://todos.aws.example.com/ failed Route 53's health checks for 5 minutes",
        f"_{ALARM_MESSAGE['NewStateReason']}_",
        "US East (N. Virginia), 2026-11-30T00:00:36.552+0000",
    ]


def test_a_recovery_is_posted_green(posted: list[tuple[urllib.request.Request, float]]) -> None:
    event = json.loads(json.dumps(SNS_EVENT))
    event["Records"][0]["Sns"]["Message"] = json.dumps({**ALARM_MESSAGE, "NewStateValue": "OK", "OldStateValue": "ALARM"})
    forwarder.handler(event, None)
    [(request, _)] = posted
    assert isinstance(request.data, bytes)
    assert json.loads(request.data)["text"].startswith(":large_green_circle: *OK*: meteor-aws-production-todos-down")


def test_a_message_that_is_not_an_alarm_is_posted_as_is(posted: list[tuple[urllib.request.Request, float]]) -> None:
    event = json.loads(json.dumps(SNS_EVENT))
    event["Records"][0]["Sns"] |= {"Message": "hello", "Subject": "test"}
    forwarder.handler(event, None)
    [(request, _)] = posted
    assert isinstance(request.data, bytes)
    assert json.loads(request.data)["text"] == "*test*\nhello"


def test_a_refused_post_fails_the_invocation_so_lambda_retries(monkeypatch: pytest.MonkeyPatch, posted: list[Any]) -> None:
    monkeypatch.setattr(urllib.request, "urlopen", lambda request, timeout: _Answer(500))  # pyright: ignore[reportUnknownLambdaType]
    with pytest.raises(RuntimeError, match="Slack answered 500"):
        forwarder.handler(SNS_EVENT, None)
