"""DigitalOcean Kubernetes (DOKS), created by the stack, as a KubernetesTarget.

The version is the newest patch DigitalOcean offers for the configured minor version (a data
source, not a hard-coded slug). The Kubernetes provider is keyed by the cluster id
(`cluster_identifier`), so a rotated kubeconfig token does not replace it and every object under it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s


@dataclass(frozen=True)
class DoksClusterArgs:
    name: str
    """Cluster name in DigitalOcean."""
    region: str
    vpc_id: pulumi.Input[str]
    """VPC the nodes join (shared with the database and droplets)."""
    version_prefix: str = "1.33."
    node_size: str = "s-4vcpu-8gb"
    min_nodes: int = 2
    max_nodes: int = 5
    ha: bool = False
    maintenance_day: str = "sunday"
    maintenance_start: str = "03:00"
    kubeconfig_ttl_days: int = 90
    tags: tuple[str, ...] = ()
    admin_cidrs: tuple[str, ...] = ()
    """Networks the control-plane firewall admits (the nodes are admitted by DigitalOcean)."""


class DoksCluster(pulumi.ComponentResource):
    """A DOKS cluster and the explicit Kubernetes provider built from it."""

    cluster: do.KubernetesCluster
    provider: k8s.Provider
    kubeconfig: pulumi.Output[str]
    cluster_domain: str = "cluster.local"
    cluster_id: pulumi.Output[str]

    def __init__(self, name: str, args: DoksClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:kubernetes:DoksCluster", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        versions = do.get_kubernetes_versions_output(version_prefix=args.version_prefix, opts=pulumi.InvokeOutputOptions(parent=self))
        self.cluster = do.KubernetesCluster(
            f"{name}-doks",
            name=args.name,
            region=args.region,
            version=versions.latest_version,
            vpc_uuid=args.vpc_id,
            ha=args.ha,
            auto_upgrade=True,
            surge_upgrade=True,
            maintenance_policy={"day": args.maintenance_day, "start_time": args.maintenance_start},
            node_pool={
                "name": f"{args.name}-pool",
                "size": args.node_size,
                "auto_scale": True,
                "min_nodes": args.min_nodes,
                "max_nodes": args.max_nodes,
                "tags": list(args.tags),
                "labels": {"meteor-platform/pool": "default"},
            },
            kubeconfig_expire_seconds=args.kubeconfig_ttl_days * 86400,
            control_plane_firewall={"enabled": True, "allowed_addresses": list(args.admin_cidrs)},
            tags=list(args.tags),
            # Auto-upgrade moves the patch version; do not fight it on the next `pulumi up`.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["version"]),
        )
        self.cluster_id = self.cluster.id
        # The cluster resource's kubeconfig is the one from creation time (its token expires after
        # `kubeconfigTtlDays`); the data source is read again on every `pulumi up`/`preview`, so the
        # provider always gets a current token without a manual refresh.
        current = do.get_kubernetes_cluster_output(
            name=self.cluster.name,
            kubeconfig_expire_seconds=args.kubeconfig_ttl_days * 86400,
            opts=pulumi.InvokeOutputOptions(parent=self, depends_on=[self.cluster]),
        )
        self.kubeconfig = pulumi.Output.secret(current.kube_configs[0].raw_config.apply(lambda c: c or ""))
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            cluster_identifier=self.cluster.id,
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs({"cluster_id": self.cluster.id, "endpoint": self.cluster.endpoint})
