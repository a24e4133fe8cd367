"""IAM roles for AWS services, and the managed policies attached to them, built one way."""

from __future__ import annotations

import pulumi
import pulumi_aws.iam as iam

from components.aws.iam import MANAGED, trust


def service_role(
    name: str, service: str, *, parent: pulumi.Resource, tag_session: bool = False, tags: dict[str, str] | None = None
) -> iam.Role:
    """A role only `service` may assume (`tag_session`: EKS Pod Identity tags the session)."""
    return iam.Role(name, assume_role_policy=trust(service, tag_session=tag_session), tags=tags, opts=pulumi.ResourceOptions(parent=parent))


def attach_managed(name: str, role: iam.Role, policy: str, *, parent: pulumi.Resource) -> iam.RolePolicyAttachment:
    """The AWS managed policy `policy` (its path below arn:aws:iam::aws:policy/) attached to `role`."""
    return iam.RolePolicyAttachment(name, role=role.name, policy_arn=f"{MANAGED}/{policy}", opts=pulumi.ResourceOptions(parent=parent))
