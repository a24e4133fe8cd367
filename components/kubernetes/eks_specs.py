"""Pure builders of the EKS cluster (kubernetes/aws.py): its network access, its nodes' launch template
and scaling. Functions of values only."""

from __future__ import annotations

import pulumi
import pulumi_aws.ec2 as ec2
import pulumi_aws.eks as eks

from components.aws.provider import STACK_TAG

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly")
"""The node role's managed policies (the VPC CNI keeps AmazonEKS_CNI_Policy: aws-node runs on the host network)."""
EBS_CSI_SERVICE_ACCOUNT = "ebs-csi-controller-sa"
NODE_METADATA_OPTIONS: ec2.LaunchTemplateMetadataOptionsArgsDict = {
    "http_tokens": "required",
    "http_endpoint": "enabled",
    # Hop limit 1: a pod's IMDSv2 token response dies one hop from the node, so no pod can act
    # as the node role (ECR read, the CNI's ENI actions). What runs in pods gets AWS credentials
    # from Pod Identity; what needs the node's metadata runs on the host network (aws-node,
    # eks-pod-identity-agent, kube-proxy). The default EKS launch template for AL2023 managed
    # nodes sets 1 too (awsdocs/amazon-eks-user-guide, latest/ug/nodes/al2023.adoc: "the default
    # hop count for managed node groups is set to 1 ... use Amazon EKS Pod Identity"); the EBS CSI
    # pods fall back to the Kubernetes API for their metadata (kubernetes-sigs/aws-ebs-csi-driver
    # docs/install.md, "Kubernetes Metadata": instance id from the Node's providerID, region and
    # zone from its topology labels, which EKS nodes carry).
    "http_put_response_hop_limit": 1,
}


def cluster_tags(cluster: str, tags: dict[str, str]) -> dict[str, str]:
    return {"meteor-platform/cluster": cluster, **tags}


def cluster_vpc_config(
    private_subnet_ids: list[pulumi.Output[str]], public_subnet_ids: list[pulumi.Output[str]], admin_cidrs: list[str]
) -> eks.ClusterVpcConfigArgsDict:
    """Both subnet tiers; the API endpoint private, and public to the admin networks only."""
    return {
        "subnet_ids": [*private_subnet_ids, *public_subnet_ids],
        "endpoint_private_access": True,
        "endpoint_public_access": True,
        "public_access_cidrs": list(admin_cidrs),
    }


def node_block_devices(disk_gib: int) -> list[ec2.LaunchTemplateBlockDeviceMappingArgsDict]:
    """The nodes' encrypted gp3 root volume."""
    return [
        {
            "device_name": "/dev/xvda",
            "ebs": {"volume_size": disk_gib, "volume_type": "gp3", "encrypted": "true", "delete_on_termination": "true"},
        }
    ]


def node_instance_tags(tags: dict[str, str], stack: str) -> list[ec2.LaunchTemplateTagSpecificationArgsDict]:
    """Instances a launch template starts get only its tag_specifications (the provider's default
    tags never reach them: components/aws/provider.py); the stack tag they always carried stays."""
    return [{"resource_type": "instance", "tags": {**tags, STACK_TAG: stack}}]


def node_scaling(min_nodes: int, max_nodes: int) -> eks.NodeGroupScalingConfigArgsDict:
    """A zone's group as created: its bounds, starting at the minimum."""
    return {"min_size": min_nodes, "max_size": max_nodes, "desired_size": min_nodes}
