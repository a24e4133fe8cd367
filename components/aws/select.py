"""AWS pieces a stack's `aws` section asks for beside its capabilities: the stack's provider, daily EBS snapshots."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config import PlatformConfig
from components.scope import Scope

if TYPE_CHECKING:
    import pulumi


def stack_provider(config: PlatformConfig, name: str, stack: str) -> pulumi.ProviderResource | None:
    """The stack's one AWS provider (`aws.region`, default tags), when the stack uses AWS."""
    if not config.uses_aws:
        return None  # nothing of pulumi_aws is imported then (tests/test_aws.py: lean imports)
    from components.aws.provider import aws_provider

    return aws_provider(name, region=config.aws.region, stack=stack, environment=config.environment.value)


def snapshots(config: PlatformConfig, scope: Scope, data_volume_name: pulumi.Output[str] | None) -> pulumi.ComponentResource | None:
    """Daily EBS snapshots of the stack's data volumes (`aws.snapshots`), when on: MongoDB's volumes on
    EKS, or the EC2 host's data volume named `data_volume_name`."""
    from components.config.platform import snapshot_volumes, snapshots_on

    if not snapshots_on(config):
        return None
    from components.aws import SNAPSHOT_TAG
    from components.aws.snapshots import VolumeSnapshots, VolumeSnapshotsArgs

    target_tags: dict[str, pulumi.Input[str]]
    if snapshot_volumes(config) == "mongo":
        target_tags = {SNAPSHOT_TAG: scope.stack}  # components/mongo/kubernetes.py storage_class_parameters
    else:
        assert data_volume_name is not None, "host snapshots need the EC2 host's data volume (config snapshot_volumes)"
        target_tags = {"Name": data_volume_name}
    s = config.aws.snapshots
    return VolumeSnapshots(
        f"{scope.name}-snapshots",
        VolumeSnapshotsArgs(
            description=f"{scope.prefix} daily snapshots of the data volumes",
            target_tags=target_tags,
            retention_days=s.retention_days,
            time=s.time,
        ),
        opts=scope.child(),
    )
