"""The stack's one AWS provider: the region `aws.region` names, the stack's tags on every resource.

Without it every AWS resource would go through the default provider, which takes its region from
`aws:region`, then `AWS_REGION`, then the profile (no stack sets `aws:region`): with none set `up`
fails, with another set the subnets pinned to `aws.vpc.availabilityZones` fail and the apps get a
region their bucket and cluster are not in. The platform passes this provider to its whole tree
(`providers=`), so every resource and every data source (an invoke with `parent=` takes its
parent's provider: pulumi/runtime/invoke.py `_invoke`) uses it. It reads no `aws:*` stack key, so
the config refuses them (components/config/loading.py) rather than let one be silently ignored.

Tags: `default_tags` reach every taggable resource (`tags_all`); a key that also appears in a
resource's own `tags` gives perpetual diffs on some resources (hashicorp/terraform-provider-aws
#18311, #29747, #31826), so the keys below are never set on a resource itself (a test checks it).
They do not reach what the provider does not tag itself: instances a launch template starts
(its `tag_specifications`) and the volumes a CSI driver creates.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

STACK_TAG = "meteor-platform/stack"
ENVIRONMENT_TAG = "meteor-platform/environment"


def default_tags(stack: str, environment: str) -> dict[str, str]:
    return {STACK_TAG: stack, ENVIRONMENT_TAG: environment}


def aws_provider(name: str, *, region: str, stack: str, environment: str) -> aws.Provider:
    """The explicit provider: `region` is the validated `aws.region` (components/config/aws.py)."""
    return aws.Provider(
        name,
        region=region,
        default_tags=aws.ProviderDefaultTagsArgs(tags=default_tags(stack, environment)),
    )


def caller_account(provider: pulumi.ProviderResource) -> str:
    """The account `pulumi up` deploys into (`aws.get_caller_identity`), known while the program runs:
    the Python SDK's non-Output invoke returns its result (pulumi_aws/get_caller_identity.py,
    `pulumi.runtime.invoke(...).value`), so names built from it stay plain strings."""
    return aws.get_caller_identity(opts=pulumi.InvokeOptions(provider=provider)).account_id
