"""CloudWatch log groups the stack creates before what writes to them, so they keep its retention."""

from __future__ import annotations

import pulumi
import pulumi_aws.cloudwatch as cloudwatch


def retained_log_group(
    resource_name: str, group: str, retention_days: int, *, parent: pulumi.Resource, tags: dict[str, str] | None = None
) -> cloudwatch.LogGroup:
    """Deleting a log group deletes its logs: retain_on_delete leaves the group when the stack lets go of
    it, and what it holds expires by its retention (observability/aws_logs.py)."""
    return cloudwatch.LogGroup(
        resource_name,
        name=group,
        retention_in_days=retention_days,
        tags=tags,
        opts=pulumi.ResourceOptions(parent=parent, retain_on_delete=True),
    )
