"""One shape for every CloudWatch metric alarm of the stack (hosts, cluster, uptime, the Slack forwarder):
a spec built by a pure function of values, and the one place that turns it into a `MetricAlarm`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.cloudwatch as cloudwatch

PERIOD_SECONDS = 60
"""Every alarm reads 1-minute data points."""

ROUTE53_METRICS_REGION = "us-east-1"
"""Route 53 publishes its health-check metrics in us-east-1 only: their alarms, and the topic those notify, live there."""


@dataclass(frozen=True)
class AlarmSpec:
    """A metric alarm's inputs; a field left None is not sent (the provider's default)."""

    name: str
    """The alarm's name, its identity (PutMetricAlarm overwrites by name; ForceNew in the provider)."""
    description: str
    namespace: str
    metric: str
    dimensions: Mapping[str, pulumi.Input[str]]
    statistic: str
    comparison: str
    threshold: float
    evaluation_periods: int
    treat_missing_data: str
    alarm_actions: Sequence[pulumi.Input[str]]
    ok_actions: Sequence[pulumi.Input[str]] | None = None
    insufficient_data_actions: Sequence[pulumi.Input[str]] | None = None
    datapoints_to_alarm: int | None = None
    region: str | None = None
    """Another region than the provider's (Route 53's metrics live in us-east-1)."""
    tags: Mapping[str, str] | None = None


def metric_alarm(resource_name: str, spec: AlarmSpec, opts: pulumi.ResourceOptions) -> cloudwatch.MetricAlarm:
    return cloudwatch.MetricAlarm(
        resource_name,
        name=spec.name,
        alarm_description=spec.description,
        namespace=spec.namespace,
        metric_name=spec.metric,
        dimensions=dict(spec.dimensions),
        statistic=spec.statistic,
        period=PERIOD_SECONDS,
        evaluation_periods=spec.evaluation_periods,
        datapoints_to_alarm=spec.datapoints_to_alarm,
        threshold=spec.threshold,
        comparison_operator=spec.comparison,
        treat_missing_data=spec.treat_missing_data,
        alarm_actions=list(spec.alarm_actions),
        ok_actions=None if spec.ok_actions is None else list(spec.ok_actions),
        insufficient_data_actions=None if spec.insufficient_data_actions is None else list(spec.insufficient_data_actions),
        region=spec.region,
        tags=None if spec.tags is None else dict(spec.tags),
        opts=opts,
    )
