"""CloudWatch alarms on the EC2 Docker hosts: status checks, CPU, memory, and the use of each disk.

Per host (named by its index, as the instances are: `meteor-machines-<i>`), notifying the stack
region's alert topic (aws_topics.py) when the alarm fires and when it clears:
- `StatusCheckFailed_System` and `StatusCheckFailed_Instance` (AWS/EC2, dimension InstanceId, 0 or 1 per
  minute: docs.aws.amazon.com/AWSEC2/latest/UserGuide/viewing_metrics_with_cloudwatch.html, "Status
  check metrics"). A failed system check (AWS's hardware or network) also recovers the instance
  (`arn:aws:automate:<region>:ec2:recover`: same id, private and Elastic IP, EBS volumes, so these alarms
  stay valid) when its type supports it: EBS-only storage (our hosts have no instance store volumes
  mapped, but a `d` type carries them) and a supported family (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
  ec2-instance-recover.html, "Requirements"); elsewhere the alarm only notifies. A failed instance check
  (the host's own kernel, memory, network config) is not something recovery fixes: notify only.
- `CPUUtilization` (AWS/EC2, InstanceId; 1-minute datapoints, the instances have detailed monitoring)
  above `alerts.thresholds.cpuPercent` for `minutes`.
- `mem_used_percent` and `disk_used_percent` from the CloudWatch agent (cloudwatch_agent.py says which
  dimensions it publishes), above memoryPercent / diskPercent: `/` on every host, the data volume's
  mount on the host that holds it.

A rolled host gets a new instance id: every alarm takes `instance.id` as a dimension, so the same `up`
updates it in place to the new id (PutMetricAlarm overwrites an alarm of the same name; only its name
forces a replacement: offline_plan/provider_facts.yaml), and none is left on the dead id. Missing data
(a stopped or replaced host, the agent not yet started) does not fire the alarm (`missing`: "If all data
points in the alarm evaluation range are missing, the alarm transitions to INSUFFICIENT_DATA",
docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/alarms-and-missing-data.html). The
agent-fed alarms (memory, disks) notify the topic on that transition too (insufficient_data_actions): a
dead or never-installed agent says so instead of leaving the alarm silently without data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.ec2 as ec2

from components.config.observability import AlertThresholds
from components.observability.aws_alarms import AlarmSpec, metric_alarm
from components.observability.cloudwatch_agent import DISK_METRIC, FILESYSTEM, MEMORY_METRIC

EC2_NAMESPACE = "AWS/EC2"
RECOVER_FAMILIES = ("a1", "c4", "c5", "c6", "c7", "m4", "m5", "m6", "m7", "r4", "r5", "r6", "r7", "t2", "t3", "t4", "x1")
"""Instance classes and generations EC2 recovers (ec2-instance-recover.html, "Requirements"), read as
class+generation; a `d` among the attributes (c5d, m6id) means instance store volumes: not recovered."""


def recoverable(instance_type: str) -> bool:
    """Whether a CloudWatch recover action applies to an instance of this type."""
    match = re.fullmatch(r"([a-z]+\d+)([a-z-]*)\.[a-z0-9]+", instance_type)
    if match is None:
        return False
    family, attributes = match.groups()
    return family in RECOVER_FAMILIES and "d" not in attributes and not instance_type.endswith(".metal")


@dataclass(frozen=True)
class HostDisk:
    """A mount point the agent reports on."""

    kind: str
    """What the alarm's name says: `root` or `data`."""
    path: str


@dataclass(frozen=True)
class HostAlarmsArgs:
    name: str
    """Alarm name prefix (`<platform>-<stack>`)."""
    region: str
    topic_arn: pulumi.Input[str]
    thresholds: AlertThresholds
    instance_type: str
    agent_namespace: str
    instances: list[ec2.Instance]
    disks: list[list[HostDisk]]
    """Per host (same order as `instances`), the mounts whose use alarms."""


def host_alarm_specs(args: HostAlarmsArgs, index: int, instance_id: pulumi.Input[str], disks: list[HostDisk]) -> dict[str, AlarmSpec]:
    """Host `index`'s alarms by kind: its status checks, CPU, memory, and each disk's use. The names are
    fixed by host index and kind, never by the instance id, so a roll updates them in place."""
    t = args.thresholds
    host = f"host{index}"
    recover = [f"arn:aws:automate:{args.region}:ec2:recover"] if recoverable(args.instance_type) else []
    by_id: dict[str, pulumi.Input[str]] = {"InstanceId": instance_id}
    ec2_metric, agent_metric = (EC2_NAMESPACE, by_id), (args.agent_namespace, by_id)

    def alarm(
        kind: str,
        description: str,
        source: tuple[str, dict[str, pulumi.Input[str]]],
        metric: str,
        statistic: str,
        threshold: int,
        periods: int,
        *,
        comparison: str = "GreaterThanThreshold",
        extra_actions: Sequence[str] = (),
    ) -> AlarmSpec:
        namespace, dimensions = source
        # The agent's metrics have no other witness: their absence (agent dead, install failed) is news.
        agent_fed = namespace == args.agent_namespace
        return AlarmSpec(
            name=f"{args.name}-{host}-{kind}",
            description=description,
            namespace=namespace,
            metric=metric,
            dimensions=dimensions,
            statistic=statistic,
            comparison=comparison,
            threshold=threshold,
            evaluation_periods=periods,
            treat_missing_data="missing",
            alarm_actions=[args.topic_arn, *extra_actions],
            ok_actions=[args.topic_arn],
            insufficient_data_actions=[args.topic_arn] if agent_fed else [],
        )

    at_least = "GreaterThanOrEqualToThreshold"
    system = f"{host}: EC2 system status check failed (AWS hardware or network)" + ("; EC2 recovers the instance" if recover else "")
    instance = f"{host}: EC2 instance status check failed (the host's kernel, memory or network)"
    specs = {
        "system-check": alarm(
            "system-check", system, ec2_metric, "StatusCheckFailed_System", "Maximum", 1, 2, comparison=at_least, extra_actions=recover
        ),
        "instance-check": alarm(
            "instance-check", instance, ec2_metric, "StatusCheckFailed_Instance", "Maximum", 1, t.minutes, comparison=at_least
        ),
        "cpu": alarm(
            "cpu",
            f"{host}: CPU above {t.cpu_percent}% for {t.minutes} minutes",
            ec2_metric,
            "CPUUtilization",
            "Average",
            t.cpu_percent,
            t.minutes,
        ),
        "memory": alarm(
            "memory",
            f"{host}: memory use above {t.memory_percent}% for {t.minutes} minutes",
            agent_metric,
            MEMORY_METRIC,
            "Average",
            t.memory_percent,
            t.minutes,
        ),
    }
    for disk in disks:
        mount = (args.agent_namespace, {**by_id, "path": disk.path, "fstype": FILESYSTEM})
        description = f"{host}: {disk.path} above {t.disk_percent}% full"
        specs[f"disk-{disk.kind}"] = alarm(f"disk-{disk.kind}", description, mount, DISK_METRIC, "Maximum", t.disk_percent, t.minutes)
    return specs


class HostAlarms(pulumi.ComponentResource):
    """The alarms of every EC2 Docker host of the stack."""

    alarms: dict[str, cloudwatch.MetricAlarm]
    """By resource name: `<name>-host<i>-<kind>`."""

    def __init__(self, name: str, args: HostAlarmsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:HostAlarms", name, None, opts)
        self.alarms = {}
        for i, (instance, disks) in enumerate(zip(args.instances, args.disks, strict=True)):
            for kind, spec in host_alarm_specs(args, i, instance.id, disks).items():
                resource = f"{name}-host{i}-{kind}"
                self.alarms[resource] = metric_alarm(resource, spec, pulumi.ResourceOptions(parent=self))
        self.register_outputs({"alarms": {n: a.name for n, a in self.alarms.items()}})
