"""Amazon EKS: the cluster, a managed node group in each private subnet (one per zone), the EBS CSI driver and
EKS Pod Identity add-ons, and the explicit Kubernetes provider (authenticating with
`aws eks get-token`, so a kubeconfig never holds a long-lived credential).

Authentication mode `API` (access entries; the identity that creates the cluster gets admin, and
so does each `kubernetes.adminPrincipals` entry),
the public endpoint limited to the admin networks, secrets encrypted with a KMS key of the
stack's own, control-plane logs on. Nodes: IMDSv2 required with a hop limit of 1 (no pod reaches
the node role: pods get credentials from EKS Pod Identity), an encrypted gp3 root volume, ECR read
through the node role. The VPC CNI is a managed add-on with NetworkPolicy enforcement on.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.ec2 as ec2
import pulumi_aws.eks as eks
import pulumi_aws.iam as iam
import pulumi_aws.kms as kms
import pulumi_command as command
import pulumi_kubernetes as k8s

from components.aws.iam import MANAGED
from components.aws.log_groups import retained_log_group
from components.aws.pod_identity import association_settled
from components.aws.roles import attach_managed, service_role
from components.catalogue import cluster_autoscaler_tag
from components.config.kubernetes import admin_entry_key
from components.kubernetes.aws_nodes import NodeAutoscaler, autoscaler_identity, node_group_bounds, zone_bounds
from components.kubernetes.eks_specs import (
    EBS_CSI_SERVICE_ACCOUNT,
    NODE_METADATA_OPTIONS,
    NODE_POLICIES,
    cluster_tags,
    cluster_vpc_config,
    node_block_devices,
    node_instance_tags,
    node_scaling,
)
from components.kubernetes.kubeconfig import plugin_kubeconfig


@dataclass(frozen=True)
class EksClusterArgs:
    name: str
    stack: str
    """The stack's name: the node instances' `meteor-platform/stack` tag (default tags never reach them)."""
    region: str
    version: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
    admin_cidrs: list[str]
    node_instance_type: str = "t3.large"
    min_nodes: int = 2
    max_nodes: int = 5
    node_disk_gib: int = 50
    support_type: str = "STANDARD"
    tags: dict[str, str] = field(default_factory=lambda: {})
    admin_principals: list[str] = field(default_factory=lambda: [])
    """IAM role/user ARNs given cluster admin through access entries (besides the creator's)."""
    control_plane_log_retention_days: int = 30
    """How long CloudWatch Logs keeps the control plane's logs (`logs.retentionDays`)."""


CONTROL_PLANE_LOG_TYPES = ["api", "audit", "authenticator"]
"""The control-plane logs EKS sends to CloudWatch Logs (not controllerManager, scheduler: their volume
is high and they rarely say why an app failed)."""


def control_plane_log_group(cluster_name: str) -> str:
    """The group EKS writes its control-plane logs to: `/aws/eks/<cluster>/cluster`
    (docs.aws.amazon.com/eks/latest/userguide/control-plane-logs.html, "Viewing cluster control plane
    logs"). Left to EKS it creates the group itself, with no retention (kept forever)."""
    return f"/aws/eks/{cluster_name}/cluster"


def kubeconfig(name: pulumi.Input[str], endpoint: pulumi.Input[str], ca_data: pulumi.Input[str], region: str) -> pulumi.Output[str]:
    """A kubeconfig whose user runs `aws eks get-token` (the AWS CLI, with the deployer's credentials)."""

    def render(values: list[str]) -> str:
        cluster, server, ca = values
        args = ["eks", "get-token", "--cluster-name", cluster, "--region", region, "--output", "json"]
        return plugin_kubeconfig(cluster, f"{cluster}-aws", server, ca, "aws", args)

    return pulumi.Output.all(name, endpoint, ca_data).apply(render)


CLUSTER_ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"


def admin_access(
    prefix: str, cluster: eks.Cluster, principal: str, tags: dict[str, str], opts: pulumi.ResourceOptions
) -> eks.AccessPolicyAssociation:
    """Cluster admin for one IAM principal: its access entry and the admin policy associated cluster-wide.

    Named by the principal (admin_entry_key), never its index: adding or removing a principal leaves
    every other entry as it is (an entry's principal "can't be changed after access entry creation"
    and a principal is in one access entry only: EKS API, CreateAccessEntry `principalArn`). The
    association takes the entry's own `principal_arn` output, so it is created after the entry (EKS
    associates access policies with an existing access entry: AssociateAccessPolicy). The policy ARN
    has the form of the SDK's example (`arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy`,
    pulumi_aws/eks/access_policy_association.py); scope `cluster` ("Valid values are `namespace` or
    `cluster`", pulumi_aws/eks/_inputs.py AccessPolicyAssociationAccessScopeArgs).
    """
    key = admin_entry_key(principal)
    # Delete-first: EKS holds one access entry per principal (a second CreateAccessEntry for it fails
    # with ResourceInUseException), and a create-first association would associate the policy the old
    # one holds (AssociateAccessPolicy on an existing association) and then disassociate it. Every
    # attribute of both forces a replacement (terraform-provider-aws internal/service/eks
    # access_entry.go, access_policy_association.go: ForceNew, no Update for the association).
    delete_first = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(delete_before_replace=True))
    entry = eks.AccessEntry(
        f"{prefix}-{key}", cluster_name=cluster.name, principal_arn=principal, type="STANDARD", tags=tags, opts=delete_first
    )
    return eks.AccessPolicyAssociation(
        f"{prefix}-{key}",
        cluster_name=cluster.name,
        principal_arn=entry.principal_arn,
        policy_arn=CLUSTER_ADMIN_POLICY,
        access_scope={"type": "cluster"},
        opts=delete_first,
    )


VPC_CNI_CONFIGURATION = {"enableNetworkPolicy": "true"}
"""The `vpc-cni` add-on's configuration: NetworkPolicy enforcement on (awsdocs/amazon-eks-user-guide,
latest/ug/networking/eks-networking-add-ons.adoc, "Enable the network policy parameter for the add-on":
`{"enableNetworkPolicy": "true"}`, a string). aws/amazon-vpc-cni-k8s charts/aws-vpc-cni renders it into
the node agent's `--enable-network-policy` flag and the `amazon-vpc-cni` ConfigMap's
`enable-network-policy-controller`, which turns on the policy controller EKS runs in the control plane."""


def vpc_cni_addon(name: str, cluster_name: pulumi.Input[str], opts: pulumi.ResourceOptions) -> eks.Addon:
    """The VPC CNI as a managed add-on, before the nodes join (they start with NetworkPolicy enforced; the
    terraform-aws-modules/terraform-aws-eks examples order `vpc-cni` the same way, `before_compute = true`).

    EKS installs the CNI on every new cluster as a self-managed add-on (aws-node); creating the
    managed add-on adopts it. OVERWRITE on create: the adopted DaemonSet takes the add-on's settings
    instead of failing on fields the self-managed install set (CreateAddon `resolveConflicts`, pinned
    pulumi-aws docstring: "How to resolve field value conflicts when migrating a self-managed add-on").
    OVERWRITE on update: this configuration is the source of truth; a change made with kubectl to
    aws-node is reverted at the next add-on update. The CNI keeps the node role's AmazonEKS_CNI_Policy:
    aws-node runs on the host network, one hop from the instance metadata.

    `preserve`: deleting the add-on (removing or renaming this resource) leaves aws-node running
    ("Indicates if you want to preserve the created resources when deleting the EKS add-on", pinned
    pulumi-aws eks/addon.py; DeleteAddon `preserve`), so pods never lose their network to a refactor."""
    return eks.Addon(
        f"{name}-vpc-cni",
        cluster_name=cluster_name,
        addon_name="vpc-cni",
        configuration_values=json.dumps(VPC_CNI_CONFIGURATION),
        resolve_conflicts_on_create="OVERWRITE",
        resolve_conflicts_on_update="OVERWRITE",
        preserve=True,
        opts=opts,
    )


class EksCluster(pulumi.ComponentResource):
    cluster: eks.Cluster
    control_plane_logs: cloudwatch.LogGroup
    """Where EKS sends the control plane's logs, with the stack's retention."""
    node_groups: list[eks.NodeGroup]
    node_role: iam.Role
    vpc_cni: eks.Addon
    pod_identity_agent: eks.Addon
    """EKS Pod Identity's agent (add-ons that take `pod_identity_associations` come after it)."""
    node_bounds: list[command.local.Command]
    node_autoscaler: NodeAutoscaler
    provider: k8s.Provider
    cluster_domain: str = "cluster.local"
    cluster_name: pulumi.Output[str]
    known_name: str
    """The cluster's name, known before it exists: the one source for what names it (its control-plane log
    group here; Container Insights' log groups and the `ClusterName` of its alarms, observability/aws_cluster.py)."""
    admin_entries: list[eks.AccessPolicyAssociation]
    _kubeconfig: pulumi.Output[str]

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:kubernetes:EksCluster", name, None, opts)
        tags = cluster_tags(args.name, args.tags)
        self.known_name = args.name
        self.cluster = self._cluster(name, args, tags)
        self.cluster_name = self.cluster.name
        child = pulumi.ResourceOptions(parent=self)
        self.admin_entries = [admin_access(f"{name}-admin", self.cluster, p, tags, child) for p in args.admin_principals]
        self.vpc_cni = vpc_cni_addon(name, self.cluster.name, pulumi.ResourceOptions(parent=self))
        self._node_groups(name, args, tags)
        self.pod_identity_agent = eks.Addon(
            f"{name}-pod-identity",
            cluster_name=self.cluster.name,
            addon_name="eks-pod-identity-agent",
            opts=pulumi.ResourceOptions(parent=self, depends_on=self.node_groups),
        )
        ebs_driver = self._ebs_csi_driver(name, tags)
        self.node_autoscaler = NodeAutoscaler(
            cluster_name=self.cluster.name,
            region=args.region,
            image_tag=cluster_autoscaler_tag(args.version),
            identity=association_settled(
                f"{name}-autoscaler",
                autoscaler_identity(name, cluster=self.cluster, node_groups=self.node_groups, region=args.region, tags=tags, parent=self),
                self,
            ),
        )
        self._kubeconfig = kubeconfig(self.cluster.name, self.cluster.endpoint, self.cluster.certificate_authority.data, args.region)
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self._kubeconfig,
            cluster_identifier=self.cluster.arn,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*self.node_groups, ebs_driver]),
        )
        self.register_outputs({"cluster_name": self.cluster.name, "endpoint": self.cluster.endpoint})

    def _cluster(self, name: str, args: EksClusterArgs, tags: dict[str, str]) -> eks.Cluster:
        """The control plane: its role, its secrets key, its log group, the cluster."""
        child = pulumi.ResourceOptions(parent=self)
        cluster_role = service_role(f"{name}-cluster-role", "eks.amazonaws.com", tag_session=True, tags=tags, parent=self)
        cluster_policy = iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.name, policy_arn=f"{MANAGED}/AmazonEKSClusterPolicy", opts=child
        )
        secrets_key = kms.Key(
            f"{name}-secrets-key",
            description=f"{args.name}: Kubernetes secrets",
            enable_key_rotation=True,
            deletion_window_in_days=30,
            tags=tags,
            opts=child,
        )
        # Created before the cluster, so EKS finds it and keeps to its retention. Changing
        # `enabled_cluster_log_types` later updates the cluster in place (UpdateClusterConfig `logging`;
        # not ForceNew in terraform-provider-aws internal/service/eks/cluster.go, offline_plan/provider_facts.yaml;
        # CloudFormation's AWS::EKS::Cluster Logging: "Update requires: No interruption").
        self.control_plane_logs = retained_log_group(
            f"{name}-control-plane-logs", control_plane_log_group(args.name), args.control_plane_log_retention_days, parent=self, tags=tags
        )
        return eks.Cluster(
            f"{name}-eks",
            name=args.name,
            version=args.version,
            role_arn=cluster_role.arn,
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            vpc_config=cluster_vpc_config(args.private_subnet_ids, args.public_subnet_ids, args.admin_cidrs),
            encryption_config={"resources": ["secrets"], "provider": {"key_arn": secrets_key.arn}},
            enabled_cluster_log_types=CONTROL_PLANE_LOG_TYPES,
            # Unset, EKS chooses EXTENDED (UpgradePolicyRequest, EKS API reference: "The default value is
            # EXTENDED"), billed extra per cluster hour past standard support; changed in place.
            upgrade_policy={"support_type": args.support_type},
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[cluster_policy, self.control_plane_logs]),
        )

    def _node_groups(self, name: str, args: EksClusterArgs, tags: dict[str, str]) -> None:
        """The node role, the launch template, and one managed node group per zone with its bounds."""
        child = pulumi.ResourceOptions(parent=self)
        self.node_role = service_role(f"{name}-node-role", "ec2.amazonaws.com", tags=tags, parent=self)
        node_policies = [attach_managed(f"{name}-node-{policy}", self.node_role, policy, parent=self) for policy in NODE_POLICIES]
        template = ec2.LaunchTemplate(
            f"{name}-nodes",
            metadata_options=NODE_METADATA_OPTIONS,
            block_device_mappings=node_block_devices(args.node_disk_gib),
            tag_specifications=node_instance_tags(tags, args.stack),
            tags=tags,
            opts=child,
        )
        # One group per zone, named by its subnet's position (aws.vpc.availabilityZones or
        # existing.privateSubnetIds order), bounds split from the totals (aws_nodes.py says why).
        self.node_groups = []
        self.node_bounds = []
        bounds = zone_bounds(args.min_nodes, args.max_nodes, len(args.private_subnet_ids))
        for i, (subnet, (min_nodes, max_nodes)) in enumerate(zip(args.private_subnet_ids, bounds, strict=True)):
            group = eks.NodeGroup(
                f"{name}-nodes-{i}",
                cluster_name=self.cluster.name,
                node_role_arn=self.node_role.arn,
                subnet_ids=[subnet],
                instance_types=[args.node_instance_type],
                scaling_config=node_scaling(min_nodes, max_nodes),
                update_config={"max_unavailable": 1},
                launch_template={"id": template.id, "version": template.latest_version.apply(str)},
                tags=tags,
                # The scaling config as created; later the cluster autoscaler moves the desired size and
                # `node_group_bounds` applies changed bounds (components/kubernetes/aws_nodes.py says why).
                # After the previous zone's group: the groups share the launch template, and a new version
                # would otherwise roll every zone at once (one node per zone draining together, more than
                # MongoDB's disruption budget lets go: EKS fails an update whose evictions stay blocked).
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[*node_policies, self.vpc_cni, *self.node_groups[-1:]], ignore_changes=["scalingConfig"]
                ),
            )
            self.node_groups.append(group)
            self.node_bounds.append(
                node_group_bounds(
                    f"{name}-nodes-{i}",
                    region=args.region,
                    cluster_name=self.cluster.name,
                    node_group=group,
                    min_nodes=min_nodes,
                    max_nodes=max_nodes,
                    parent=self,
                )
            )

    def _ebs_csi_driver(self, name: str, tags: dict[str, str]) -> eks.Addon:
        """The EBS CSI driver add-on, its controller under a Pod Identity role (after the agent)."""
        ebs_role = service_role(f"{name}-ebs-csi", "pods.eks.amazonaws.com", tag_session=True, tags=tags, parent=self)
        ebs_policy = attach_managed(f"{name}-ebs-csi", ebs_role, "service-role/AmazonEBSCSIDriverPolicy", parent=self)
        return eks.Addon(
            f"{name}-ebs-csi",
            cluster_name=self.cluster.name,
            addon_name="aws-ebs-csi-driver",
            pod_identity_associations=[{"role_arn": ebs_role.arn, "service_account": EBS_CSI_SERVICE_ACCOUNT}],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.pod_identity_agent, ebs_policy]),
        )

    @property
    def cluster_id(self) -> pulumi.Output[str] | None:
        return self.cluster.name

    @property
    def kubeconfig(self) -> pulumi.Output[str] | None:
        return self._kubeconfig
