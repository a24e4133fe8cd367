"""EKS Pod Identity: what runs under an association waits until the association is in effect.

The webhook injects a pod's credentials when the pod is admitted, never later (aws/amazon-eks-pod-identity-webhook
#264), so a pod created right after its association can run without any AWS credentials until it is
recreated: the Cluster Autoscaler exits (it cannot fall back to the node's metadata: hop limit 1), an app
silently gets no S3 access. Hence a short settle step between each association and its workloads.
"""

from __future__ import annotations

import pulumi
import pulumi_aws.eks as eks
import pulumi_command as command

SHELL = ["/bin/sh", "-c"]
"""The interpreter of the AWS components' shell commands: pulumi-command defaults to `cmd /C` on Windows
("On Windows, defaults to: `["cmd", "/C"]`", pinned pulumi_command/local/command.py `interpreter`)."""

ASSOCIATION_SETTLE_SECONDS = 30


def association_settled(name: str, association: eks.PodIdentityAssociation, parent: pulumi.Resource) -> command.local.Command:
    """Waits after the association is created (or replaced) before what runs under it starts. Associations
    "are eventually consistent, and may take several seconds to be effective after the initial API call
    returns successfully" (EKS API reference, CreatePodIdentityAssociation); a pod admitted before that gets
    no credentials (aws/amazon-eks-pod-identity-webhook#264, terraform-aws-modules/terraform-aws-eks-pod-identity#8)
    and the autoscaler, which cannot fall back to the node's metadata (hop limit 1), exits until Helm's
    atomic timeout rolls the release back. `create` runs once, and again when a trigger changes (pinned
    pulumi-command docstring, `triggers`): the association's id, new when it is replaced."""
    return command.local.Command(
        f"{name}-settled",
        create=f"sleep {ASSOCIATION_SETTLE_SECONDS}",
        interpreter=SHELL,
        triggers=[association.id],
        opts=pulumi.ResourceOptions(parent=parent),
    )
