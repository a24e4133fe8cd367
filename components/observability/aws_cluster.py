"""EKS: Container Insights through the `amazon-cloudwatch-observability` add-on, its alarms, and (opt-in)
container logs shipped to CloudWatch Logs.

The add-on (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/install-CloudWatch-Observability-EKS-addon.html)
runs the CloudWatch agent (Container Insights with enhanced observability) and Fluent Bit as DaemonSets in
the `amazon-cloudwatch` namespace, both under the `cloudwatch-agent` service account
(aws-observability/helm-charts charts/amazon-cloudwatch-observability templates/linux/fluent-bit-daemonset.yaml
`serviceAccountName: cloudwatch-agent.serviceAccountName`), which gets AWS credentials from EKS Pod Identity
("Option 1", add-on 3.1.0 or later: `--pod-identity-associations serviceAccount=cloudwatch-agent,roleArn=...`).
Its configuration (the add-on's advanced configuration, same doc, "(Optional) Additional configuration"):
- `agent.config`: Container Insights with enhanced observability only, without the default's Application
  Signals ("Use a custom CloudWatch agent configuration": the default is `application_signals` plus
  `kubernetes.enhanced_container_insights`), and `accelerated_compute_metrics: false` (no GPUs here);
- `manager.applicationSignals.autoMonitor.monitorAllServices: false` ("Opt out of Application Signals"):
  the operator never injects an OpenTelemetry agent into the apps (APM is `apps[].apm`'s job);
- `containerLogs.enabled`: `logs.ship` ("Opt out of collecting container logs":
  `{ "containerLogs": { "enabled": false } }`; the chart renders no Fluent Bit at all then:
  templates/linux/fluent-bit-daemonset.yaml `{{- if .Values.containerLogs.enabled }}`).

Log groups: Fluent Bit writes `/aws/containerinsights/<cluster>/{application,dataplane,host}` with
`auto_create_group true` and the agent its EMF `/aws/containerinsights/<cluster>/performance` (chart
values.yaml `log_group_name`; CloudWatch-Agent-container-insights docs), created without retention if
missing. This component creates all four first, with `logs.retentionDays`, and the add-on after them, so
nothing is ever kept forever. They are retained on delete (aws_logs.py says why): when the component goes
away (alerts `none` and `logs.ship` off) what was shipped stays until it expires; while it exists,
turning shipping off keeps the groups in the stack.

NetworkPolicy: the platform's policies live in the apps' and MongoDB's namespaces and select their pods;
the agent and Fluent Bit run in `amazon-cloudwatch` on the host network (chart values `agent.hostNetwork:
true`; fluent-bit-daemonset.yaml `hostNetwork: true`), which pod policies do not govern, and they reach
only the kubelet, the API server and AWS endpoints.

Alarms (namespace `ContainerInsights`, dimension sets exactly as the agent's EMF declarations publish them:
aws/amazon-cloudwatch-agent translator/translate/otel/exporter/awsemf/kubernetes.go):
- `cluster_failed_node_count` {ClusterName} (getClusterMetricDeclarations; also without enhanced observability);
- `pod_container_status_waiting_reason_crash_loop_back_off` {ClusterName} (getPodMetricDeclarations, only
  with enhanced observability): the largest number of crash-looping containers of any pod;
- `node_filesystem_utilization` {ClusterName} (getNodeFilesystemMetricDeclarations): the fullest node disk.
MongoDB's EBS volumes have no fullness metric there: for PersistentVolumes the agent publishes only claim
counts and states (getVolumesMetricDeclarations: persistent_volume_claim_status_bound/lost/pending,
persistent_volume_claim_count, persistent_volume_count), and AWS/EBS metrics are I/O, not filesystem use.
README (Host and cluster alerts on AWS) says what covers it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.eks as eks
import pulumi_aws.iam as iam

from components.aws.iam import output_document
from components.aws.log_groups import retained_log_group
from components.aws.roles import service_role
from components.config.observability import AlertThresholds
from components.observability.aws_alarms import AlarmSpec, metric_alarm

ADDON = "amazon-cloudwatch-observability"
SERVICE_ACCOUNT = "cloudwatch-agent"
NAMESPACE = "amazon-cloudwatch"
METRICS_NAMESPACE = "ContainerInsights"
LOG_GROUPS = ("application", "dataplane", "host", "performance")
"""`/aws/containerinsights/<cluster>/<kind>`: Fluent Bit's three and the agent's performance log events."""


def log_group_name(cluster: str, kind: str) -> str:
    return f"/aws/containerinsights/{cluster}/{kind}"


def addon_configuration(ship_logs: bool) -> dict[str, Any]:
    """The add-on's configuration values (module docstring says where each key is documented)."""
    return {
        "agent": {
            "config": {
                "logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True, "accelerated_compute_metrics": False}}}
            }
        },
        "containerLogs": {"enabled": ship_logs},
        "manager": {"applicationSignals": {"autoMonitor": {"monitorAllServices": False}}},
    }


def cluster_alarm_specs(prefix: str, cluster_name: str, topic: pulumi.Input[str], t: AlertThresholds) -> dict[str, AlarmSpec]:
    """By kind: nodes not ready, pods crash-looping, a node's disk filling (Container Insights' metrics)."""
    metrics = {
        "failed-nodes": ("cluster_failed_node_count", 0, f"{cluster_name}: nodes not ready for {t.minutes} minutes"),
        "crash-loop": (
            "pod_container_status_waiting_reason_crash_loop_back_off",
            0,
            f"{cluster_name}: pods crash-looping for {t.minutes} minutes",
        ),
        "node-disk": ("node_filesystem_utilization", t.disk_percent, f"{cluster_name}: a node's disk above {t.disk_percent}% full"),
    }
    return {
        kind: AlarmSpec(
            name=f"{prefix}-cluster-{kind}",
            description=description,
            namespace=METRICS_NAMESPACE,
            metric=metric,
            dimensions={"ClusterName": cluster_name},
            statistic="Maximum",
            comparison="GreaterThanThreshold",
            threshold=threshold,
            evaluation_periods=t.minutes,
            treat_missing_data="missing",
            alarm_actions=[topic],
            ok_actions=[topic],
        )
        for kind, (metric, threshold, description) in metrics.items()
    }


@dataclass(frozen=True)
class ClusterInsightsArgs:
    name: str
    """Alarm name prefix (`<platform>-<stack>`)."""
    region: str
    account_id: pulumi.Input[str]
    cluster_name: str
    """The EKS cluster's name (known before it exists: the log groups and alarms name it)."""
    cluster: eks.Cluster
    after: Sequence[pulumi.Resource]
    """What the add-on waits for: the node groups (its DaemonSets need nodes) and the Pod Identity agent."""
    ship_logs: bool
    retention_days: int
    topic_arn: pulumi.Input[str] | None
    """The region's alert topic; None: the add-on without alarms (log shipping only)."""
    thresholds: AlertThresholds | None


class ClusterInsights(pulumi.ComponentResource):
    addon: eks.Addon
    role: iam.Role
    log_groups: dict[str, cloudwatch.LogGroup]
    alarms: dict[str, cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: ClusterInsightsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:ClusterInsights", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.log_groups = {
            kind: retained_log_group(f"{name}-{kind}", log_group_name(args.cluster_name, kind), args.retention_days, parent=self)
            for kind in LOG_GROUPS
        }
        self.role = service_role(f"{name}-agent", "pods.eks.amazonaws.com", tag_session=True, parent=self)
        policy = iam.RolePolicy(f"{name}-agent", role=self.role.name, policy=self._agent_policy(args), opts=child)
        self.addon = eks.Addon(
            f"{name}-addon",
            cluster_name=args.cluster.name,
            addon_name=ADDON,
            configuration_values=json.dumps(addon_configuration(args.ship_logs), sort_keys=True),
            pod_identity_associations=[{"role_arn": self.role.arn, "service_account": SERVICE_ACCOUNT}],
            # This configuration is the source of truth (as for the VPC CNI: components/kubernetes/aws.py).
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.after, policy, *self.log_groups.values()]),
        )
        self.alarms = {}
        if args.topic_arn is not None and args.thresholds is not None:
            self._alarms(name, args, args.topic_arn, args.thresholds)
        self.register_outputs({"addon": self.addon.arn})

    def _agent_policy(self, args: ClusterInsightsArgs) -> pulumi.Output[str]:
        """Least privilege for the agent and Fluent Bit, instead of CloudWatchAgentServerPolicy (every log
        group of the account, cloudwatch:PutMetricData in any namespace, ssm:GetParameter on AmazonCloudWatch-*):
        writing to this cluster's Container Insights log groups (the EMF performance events become the
        ContainerInsights metrics: no PutMetricData), and the two Describe calls the agent makes for EBS volume
        ids and instance tags, which take no resource (Service Authorization Reference, Amazon EC2)."""
        prefix = pulumi.Output.from_input(args.account_id).apply(
            lambda account: f"arn:aws:logs:{args.region}:{account}:log-group:/aws/containerinsights/{args.cluster_name}/"
        )
        return output_document(
            [
                {
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                    "Resource": [prefix.apply(lambda p: f"{p}*")],
                },
                {"Effect": "Allow", "Action": ["ec2:DescribeTags", "ec2:DescribeVolumes"], "Resource": ["*"]},
            ]
        )

    def _alarms(self, name: str, args: ClusterInsightsArgs, topic: pulumi.Input[str], t: AlertThresholds) -> None:
        for kind, spec in cluster_alarm_specs(args.name, args.cluster_name, topic, t).items():
            resource = f"{name}-{kind}"
            self.alarms[resource] = metric_alarm(resource, spec, pulumi.ResourceOptions(parent=self, depends_on=[self.addon]))
