"""Route 53 health checks on every public domain, with CloudWatch alarms in us-east-1.

A health check requests `PublicEndpoint.url` (the app's domain and health path, over HTTPS when the
ingress serves TLS) from three of Route 53's checker regions. Health checks are global; their
CloudWatch metrics exist in us-east-1 only (docs.aws.amazon.com/Route53/latest/DeveloperGuide/
monitoring-health-checks.html), and a CloudWatch alarm watches metrics of its own region only (an
alarm has no region in its metric, pulumi_aws/cloudwatch/metric_alarm.py), so both alarms of a
domain live in us-east-1 (pulumi-aws v7 per-resource `region`) and notify the us-east-1 topic.

Facts the arguments rely on (terraform-provider-aws internal/service/route53/health_check.go,
resourceHealthCheck):
- `type`, `measure_latency`, `request_interval`, `reference_name` are ForceNew. A health check has no
  name, so a replacement creates the new check first; its alarms then follow the new HealthCheckId in
  place (dimensions update through PutMetricAlarm), and the old check goes last: no unchecked gap.
  `fqdn`, `resource_path`, `port`, `enable_sni`, `failure_threshold`, `regions` update in place.
- `regions`: MinItems 3, values of HealthCheckRegion; "once set, removing it has no effect"
  (pulumi_aws/route53/health_check.py), so it is always set.
- `measure_latency` cannot change on an existing check ("You can't enable latency monitoring for
  existing health checks", docs.aws.amazon.com/Route53/latest/DeveloperGuide/monitoring-health-check-latency.html),
  and only with it does Route 53 publish TimeToFirstByte (ms), which the slow alarm reads.
- An HTTPS check does not validate the certificate (Route 53 Developer Guide, "Values that you specify
  when you create or update health checks", Protocol: health checkers don't validate SSL/TLS
  certificates, so an invalid or expired one still reads healthy). The README (Observability: Uptime
  and alerts on AWS) says what renews the certificates and how to watch their expiry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.route53 as route53

from components.config.observability import AlertThresholds
from components.observability import PublicEndpoint
from components.observability.aws_alarms import ROUTE53_METRICS_REGION, AlarmSpec, metric_alarm

# Three checker regions on three continents (HealthCheckRegion values, the SDK docstring's list); the
# minimum the API takes. Fewer checkers mean fewer requests on the health path (8 regions by default).
CHECKER_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-1")
REQUEST_INTERVAL_SECONDS = 30  # 10 or 30 (validation.IntInSlice); 10 is billed as a "fast" check
FAILURE_THRESHOLD = 3  # consecutive failures (1..10) before a checker calls the endpoint unhealthy


@dataclass(frozen=True)
class AlarmTarget:
    """Where the alarms go: the us-east-1 topic of `AlertTopics`, and when they fire."""

    topic_arn: pulumi.Input[str]
    thresholds: AlertThresholds
    latency_ms: int
    """The slow alarm's threshold (`AlertDestinations.latency_ms`: below 2000, config rule `_uptime_problems`)."""


@dataclass(frozen=True)
class AwsUptimeArgs:
    name: str
    """Name prefix of the alarms (`<platform>-<stack>`): alarm names are unique per account and region."""
    endpoints: Sequence[PublicEndpoint]
    alarms: AlarmTarget | None
    """None: health checks only (`alerts: none`)."""


class AwsUptimeChecks(pulumi.ComponentResource):
    """Per public domain, a Route 53 health check and, with destinations, its down and latency alarms."""

    health_checks: dict[str, route53.HealthCheck]
    """By app name."""
    alarms: dict[str, list[cloudwatch.MetricAlarm]]
    """By app name: down, then slow."""

    def __init__(self, name: str, args: AwsUptimeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:AwsUptimeChecks", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.health_checks = {}
        self.alarms = {}
        for endpoint in args.endpoints:
            # Named by the app (one domain per app), never by list position.
            check = route53.HealthCheck(
                f"{name}-{endpoint.app}",
                type="HTTPS" if endpoint.tls else "HTTP",
                fqdn=endpoint.domain,
                port=443 if endpoint.tls else 80,
                resource_path=endpoint.health_path,
                # SNI carries the domain in the TLS handshake, so the ingress presents that domain's certificate.
                enable_sni=endpoint.tls,
                # Without it Route 53 publishes no TimeToFirstByte (nor ConnectionTime, SSLHandshakeTime).
                measure_latency=True,
                request_interval=REQUEST_INTERVAL_SECONDS,
                failure_threshold=FAILURE_THRESHOLD,
                regions=list(CHECKER_REGIONS),
                tags={"Name": f"{args.name}-{endpoint.app}", "app": endpoint.app},
                opts=child,
            )
            self.health_checks[endpoint.app] = check
            if args.alarms is not None:
                self.alarms[endpoint.app] = _alarms(name, args.name, endpoint, check, args.alarms, child)
        self.register_outputs({"health_checks": {app: c.id for app, c in self.health_checks.items()}})


def uptime_alarm_specs(prefix: str, endpoint: PublicEndpoint, check_id: pulumi.Input[str], target: AlarmTarget) -> dict[str, AlarmSpec]:
    """The endpoint's down and slow alarms, on its health check's metrics (published in us-east-1)."""
    minutes = target.thresholds.minutes
    topic = target.topic_arn

    def alarm(kind: str, description: str, metric: str, statistic: str, comparison: str, threshold: int, missing: str) -> AlarmSpec:
        return AlarmSpec(
            name=f"{prefix}-{endpoint.app}-{kind}",
            description=description,
            namespace="AWS/Route53",
            metric=metric,
            dimensions={"HealthCheckId": check_id},
            statistic=statistic,
            comparison=comparison,
            threshold=threshold,
            evaluation_periods=minutes,
            datapoints_to_alarm=minutes,
            treat_missing_data=missing,
            alarm_actions=[topic],
            ok_actions=[topic],
            # Silence from a check that exists is still reported (below), as silence, never read as up.
            insufficient_data_actions=[topic] if kind == "down" else None,
            region=ROUTE53_METRICS_REGION,
            tags={"app": endpoint.app},
        )

    return {
        # HealthCheckStatus: 1 healthy, 0 unhealthy, one data point a minute for as long as the check exists.
        # A new or replaced check (first `up`, an app added, HTTP <-> HTTPS) has no data for its first
        # minutes, which `breaching` would report as the domain down. With `missing`, an evaluation range
        # without any data point moves the alarm to INSUFFICIENT_DATA (CloudWatch User Guide, "Configuring
        # how CloudWatch alarms treat missing data": docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
        # AlarmThatSendsEmail.html#alarms-and-missing-data), and that state notifies the topic too. A down
        # endpoint publishes 0s, not silence.
        "down": alarm(
            "down",
            f"{endpoint.url} failed Route 53's health checks for {minutes} minutes",
            "HealthCheckStatus",
            "Minimum",
            "LessThanThreshold",
            1,
            "missing",
        ),
        # TimeToFirstByte, in milliseconds, averaged over the checkers; published with measure_latency only.
        # No `unit`: an alarm whose unit differs from the metric's sees no data at all. A domain that does
        # not answer has no latency: the down alarm speaks for it, not this one.
        "slow": alarm(
            "slow",
            f"{endpoint.url} answered its first byte after more than {target.latency_ms} ms on average for {minutes} minutes",
            "TimeToFirstByte",
            "Average",
            "GreaterThanThreshold",
            target.latency_ms,
            "notBreaching",
        ),
    }


def _alarms(
    name: str, prefix: str, endpoint: PublicEndpoint, check: route53.HealthCheck, target: AlarmTarget, child: pulumi.ResourceOptions
) -> list[cloudwatch.MetricAlarm]:
    specs = uptime_alarm_specs(prefix, endpoint, check.id, target)
    return [metric_alarm(f"{name}-{endpoint.app}-{kind}", spec, child) for kind, spec in specs.items()]
