"""EKS nodes that scale: the Cluster Autoscaler's AWS identity, and the node group's bounds.

The Cluster Autoscaler (a Helm release among the cluster add-ons, components/kubernetes/addons.py)
moves the node group's desired size between `kubernetes.minNodes` and `kubernetes.maxNodes`. Its
pods get AWS credentials from EKS Pod Identity (nodes answer no pod on the instance metadata: hop
limit 1), through a role that may describe Auto Scaling groups and instance types and change the
size of this cluster's node group only.

One managed node group per zone (private subnet): the autoscaler builds a scale-up's template node from
one zone of a group, so a group spanning zones may never add a node where a Pending pod's zonal EBS
volume is; its AWS README: "either use a single AZ ASG for this use case, or an ASG-per-AZ while enabling
--balance-similar-node-groups" (kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md,
"Common Notes and Gotchas"). The groups are alike but for their zone, their EKS node group label, which
the AWS comparator ignores (processors/nodegroupset/aws_nodegroups.go: `eks.amazonaws.com/nodegroup`), and
their AMI once a group is created later (`eks.amazonaws.com/nodegroup-image`, which the autoscaler is told
to ignore: components/kubernetes/addons.py), so the balancing keeps them even.

The bounds: `eks.NodeGroup` sends its whole scaling config (min, max and desired) when any of it
changes (hashicorp/terraform-provider-aws, internal/service/eks/node_group.go, resourceNodeGroupUpdate:
`if d.HasChange("scaling_config") { input.ScalingConfig = expandNodegroupScalingConfig(...) }`), and EKS
refuses a desired size outside the bounds (terraform-aws-modules/terraform-aws-eks#944, #748: "Minimum
capacity 4 can't be greater than desired size 3"). Managing the desired size would
undo the autoscaler on every `up`; ignoring it (as before) made a raised minimum fail. So the node
group ignores its scaling config after creation, and `node_group_bounds` applies the configured
bounds with the desired size the group has now, clamped into them, in one UpdateNodegroupConfig
call (hashicorp/terraform-provider-aws#18310 asks the provider for exactly this).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws.eks as eks
import pulumi_aws.iam as iam
import pulumi_command as command

from components.aws.iam import output_document, trust
from components.aws.pod_identity import SHELL

AUTOSCALER_NAMESPACE = "kube-system"
AUTOSCALER_NAME = "cluster-autoscaler"
"""The release's `fullnameOverride`, hence its service account's name (the chart's
`cluster-autoscaler.serviceAccountName` defaults to the fullname), which Pod Identity binds."""

# Read-only calls the autoscaler makes to discover the group and the instances it would add: none of
# them takes a resource ARN (their IAM resource type is empty, parliament's IAM database), so `*`.
# From kubernetes/autoscaler cluster-autoscaler/cloudprovider/aws/README.md, "Full Cluster Autoscaler
# Features Policy", whose first block these are.
DISCOVERY_ACTIONS = [
    "autoscaling:DescribeAutoScalingGroups",
    "autoscaling:DescribeAutoScalingInstances",
    "autoscaling:DescribeLaunchConfigurations",
    "autoscaling:DescribeScalingActivities",
    "ec2:DescribeImages",
    "ec2:DescribeInstanceTypes",
    "ec2:DescribeLaunchTemplateVersions",
    "ec2:GetInstanceTypesFromInstanceRequirements",
]
SCALING_ACTIONS = ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]


@dataclass(frozen=True)
class NodeAutoscaler:
    """What the Cluster Autoscaler release needs from the EKS cluster."""

    cluster_name: pulumi.Output[str]
    """Its auto-discovery finds the groups tagged `k8s.io/cluster-autoscaler/<cluster name>`, which EKS
    sets on a managed node group's Auto Scaling group (awsdocs/amazon-eks-user-guide, managed-node-groups:
    "Nodes launched as part of a managed node group are automatically tagged for auto-discovery by the
    Kubernetes Cluster Autoscaler")."""
    region: str
    image_tag: str
    identity: pulumi.Resource
    """What its pods need before they start: the Pod Identity association, settled (`association_settled`;
    the webhook injects credentials at pod creation only)."""


def asg_arns(region: str, cluster_arn: str, groups: list[str]) -> list[str]:
    """ARNs of the node groups' Auto Scaling groups (`arn:<partition>:autoscaling:<region>:<account>:autoScalingGroup:
    <uuid>:autoScalingGroupName/<name>`, the form the autoscaler's README restricts the minimal policy to), in
    the cluster's partition and account (`arn:<partition>:eks:<region>:<account>:cluster/<name>`)."""
    _, partition, _, _, account, *_ = cluster_arn.split(":")
    return [f"arn:{partition}:autoscaling:{region}:{account}:autoScalingGroup:*:autoScalingGroupName/{group}" for group in groups]


def autoscaler_statements(region: str, cluster_arn: str, node_group_arns: list[str], groups: list[str]) -> list[dict[str, Any]]:
    """Discover anything (read-only calls without a resource), describe this cluster's node groups, size
    their Auto Scaling groups: the README's full-features policy with its second block restricted to
    this cluster's groups by ARN, as the README recommends."""
    return [
        {"Sid": "Discover", "Effect": "Allow", "Action": DISCOVERY_ACTIONS, "Resource": "*"},
        # Labels and taints of a managed node group at zero nodes (README: `eks:DescribeNodegroup`).
        {"Sid": "DescribeNodeGroup", "Effect": "Allow", "Action": ["eks:DescribeNodegroup"], "Resource": node_group_arns},
        {"Sid": "Scale", "Effect": "Allow", "Action": SCALING_ACTIONS, "Resource": asg_arns(region, cluster_arn, groups)},
    ]


def autoscaling_group_names(node_groups: list[eks.NodeGroup]) -> pulumi.Output[list[str]]:
    """The Auto Scaling groups EKS created for the node groups (their `resources` outputs)."""
    names = [
        group.resources.apply(lambda resources: [g.name for r in resources for g in (r.autoscaling_groups or []) if g.name])
        for group in node_groups
    ]
    return pulumi.Output.all(*names).apply(lambda each: [name for group in each for name in group])


def zone_bounds(min_nodes: int, max_nodes: int, zones: int) -> list[tuple[int, int]]:
    """`kubernetes.minNodes`/`maxNodes` are totals, split evenly across the zones' node groups (the first
    groups take the remainder): 3..8 over two zones is 2..4 and 1..4. The configuration guarantees at
    least one node per zone (`minNodes` >= the zones, components/config/platform.py)."""
    return [(min_nodes // zones + (i < min_nodes % zones), max_nodes // zones + (i < max_nodes % zones)) for i in range(zones)]


def autoscaler_identity(
    name: str, *, cluster: eks.Cluster, node_groups: list[eks.NodeGroup], region: str, tags: dict[str, str], parent: pulumi.Resource
) -> eks.PodIdentityAssociation:
    """The autoscaler's role, bound by Pod Identity to its service account in kube-system."""
    child = pulumi.ResourceOptions(parent=parent)
    role = iam.Role(f"{name}-autoscaler", assume_role_policy=trust("pods.eks.amazonaws.com", tag_session=True), tags=tags, opts=child)
    arns = pulumi.Output.all(*(group.arn for group in node_groups))
    statements = pulumi.Output.all(cluster.arn, arns, autoscaling_group_names(node_groups)).apply(
        lambda v: autoscaler_statements(region, str(v[0]), [str(a) for a in v[1]], list(v[2]))
    )
    policy = iam.RolePolicy(f"{name}-autoscaler", role=role.id, policy=output_document(statements), opts=child)
    return eks.PodIdentityAssociation(
        f"{name}-autoscaler",
        cluster_name=cluster.name,
        namespace=AUTOSCALER_NAMESPACE,
        service_account=AUTOSCALER_NAME,
        role_arn=role.arn,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=[policy]),
    )


NODE_BOUNDS = """set -eu
scaling=$(aws eks describe-nodegroup --region "$REGION" --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \\
    --query 'nodegroup.scalingConfig.[minSize,maxSize,desiredSize]' --output text)
read -r min max desired <<EOF
$scaling
EOF
case "$min.$max.$desired" in
    *[!0-9.]* | .* | *..* | *.) echo "node group $NODEGROUP: unexpected scaling config '$scaling'" >&2; exit 1 ;;
esac
wanted=$desired
if [ "$wanted" -lt "$MIN_NODES" ]; then wanted=$MIN_NODES; fi
if [ "$wanted" -gt "$MAX_NODES" ]; then wanted=$MAX_NODES; fi
if [ "$min $max $desired" = "$MIN_NODES $MAX_NODES $wanted" ]; then
    echo "node group $NODEGROUP: $min..$max, desired $desired: nothing to change"
    exit 0
fi
aws eks update-nodegroup-config --region "$REGION" --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP" \\
    --scaling-config "minSize=$MIN_NODES,maxSize=$MAX_NODES,desiredSize=$wanted" --query update.id --output text
aws eks wait nodegroup-active --region "$REGION" --cluster-name "$CLUSTER" --nodegroup-name "$NODEGROUP"
echo "node group $NODEGROUP: $min..$max -> $MIN_NODES..$MAX_NODES, desired $desired -> $wanted"
"""
"""Apply the configured bounds and keep the desired size the autoscaler chose, clamped into them (the
AWS CLI, which `pulumi up` already needs for `aws eks get-token`). The describe's answer is captured by an assignment,
whose status is its command substitution's (POSIX Shell Command Language 2.9.1: "the exit status of the
command shall be that of the last command substitution performed"), so `set -e` stops at a failed
describe; a substitution inside a here-document hides it (dash: status 0, empty values, `desiredSize=`). Nothing is sent when the group
already has these bounds: EKS's UpdateNodegroupConfig is for changes."""


def node_group_bounds(
    name: str,
    *,
    region: str,
    cluster_name: pulumi.Input[str],
    node_group: eks.NodeGroup,
    min_nodes: int,
    max_nodes: int,
    parent: pulumi.Resource,
) -> command.local.Command:
    """Runs `NODE_BOUNDS` after the node group exists (NODEGROUP is its output) and again whenever the
    bounds or the group change."""
    return command.local.Command(
        f"{name}-bounds",
        create=NODE_BOUNDS,
        interpreter=SHELL,
        environment={
            "REGION": region,
            "CLUSTER": cluster_name,
            "NODEGROUP": node_group.node_group_name,
            "MIN_NODES": str(min_nodes),
            "MAX_NODES": str(max_nodes),
        },
        opts=pulumi.ResourceOptions(parent=parent),
    )
