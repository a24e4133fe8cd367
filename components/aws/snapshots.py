"""Scheduled EBS snapshots of the stack's data volumes by Amazon Data Lifecycle Manager.

One policy per stack: a snapshot a day at the configured time (UTC; DLM starts it within the hour
after), each kept for the retention. It targets volumes by tag: the EKS volumes the MongoDB
StorageClass provisions carry SNAPSHOT_TAG (components/mongo/kubernetes.py), the Docker host's data
volume is found by its Name tag. A snapshot copies the volume's tags (`copy_tags`), so it says which
stack and volume it came from. Restoring is creating a volume from a snapshot (README "Backups and
restore"): DLM never touches the volumes themselves.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_aws.dlm as dlm
import pulumi_aws.iam as iam

from components.aws.iam import MANAGED
from components.aws.roles import service_role

# The AWS managed policy for DLM's snapshot policies (pulumi_aws.iam.ManagedPolicy
# AWS_DATA_LIFECYCLE_MANAGER_SERVICE_ROLE; docs.aws.amazon.com/ebs/latest/userguide/service-role.html):
# the role DLM assumes (trust: dlm.amazonaws.com, the pinned SDK's LifecyclePolicy example).
DLM_SERVICE_POLICY = f"{MANAGED}/service-role/AWSDataLifecycleManagerServiceRole"
# What DLM accepts in a policy's description and a schedule's name (hashicorp/terraform-provider-aws
# internal/service/dlm/lifecycle_policy.go validates the description with it; the DLM API's
# CreateLifecyclePolicy and Schedule document the same pattern): no `:` or `,`.
DLM_TEXT = r"^[0-9A-Za-z _-]+$"
# The schedule's name never changes: "If you modify a schedule name, the snapshots or AMIs created under
# the old schedule name are no longer managed by the policy" (docs.aws.amazon.com/ebs/latest/userguide/
# modify.html): they would never expire. A new retention applies to snapshots made after the change only
# (same page), so the retention stays out of the name.
SCHEDULE_NAME = "daily"


@dataclass(frozen=True)
class VolumeSnapshotsArgs:
    description: str
    """Letters, digits, spaces, `_` and `-` only (DLM_TEXT)."""
    target_tags: Mapping[str, pulumi.Input[str]]
    """Volumes with any of these tags are snapshotted (LifecyclePolicyPolicyDetailsArgs.target_tags)."""
    retention_days: int
    time: str
    """hh:mm, UTC."""


class VolumeSnapshots(pulumi.ComponentResource):
    role: iam.Role
    policy: dlm.LifecyclePolicy

    def __init__(self, name: str, args: VolumeSnapshotsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:aws:VolumeSnapshots", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.role = service_role(f"{name}-role", "dlm.amazonaws.com", parent=self)
        permissions = iam.RolePolicyAttachment(f"{name}-role", role=self.role.name, policy_arn=DLM_SERVICE_POLICY, opts=child)
        self.policy = dlm.LifecyclePolicy(
            name,
            description=args.description,
            execution_role_arn=self.role.arn,
            state="ENABLED",
            policy_details={
                "policy_type": "EBS_SNAPSHOT_MANAGEMENT",
                "resource_types": ["VOLUME"],
                "target_tags": dict(args.target_tags),
                "schedules": [
                    {
                        "name": SCHEDULE_NAME,
                        "create_rule": {"interval": 24, "interval_unit": "HOURS", "times": args.time},
                        "retain_rule": {"interval": args.retention_days, "interval_unit": "DAYS"},
                        "copy_tags": True,
                    }
                ],
            },
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permissions]),
        )
        self.register_outputs({"policy": self.policy.arn})
