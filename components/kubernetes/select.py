"""The stack's cluster from its `kubernetes` section (EKS, DOKS or an existing one) and the add-ons
installed on it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config import KubernetesPlatformConfig
from components.kubernetes import ClusterReadiness, KubernetesTarget, StackCluster
from components.network.select import StackNetworks
from components.scope import Scope

if TYPE_CHECKING:
    from components.kubernetes.aws_nodes import NodeAutoscaler


def cluster(config: KubernetesPlatformConfig, scope: Scope, networks: StackNetworks) -> StackCluster:
    from components.config.kubernetes import DoksConfig, EksConfig

    k = config.kubernetes
    if isinstance(k, EksConfig):
        from components.kubernetes.aws import EksCluster, EksClusterArgs

        assert networks.aws is not None, "EKS nodes join the stack's AWS VPC (network/select.py needs_aws_vpc)"
        eks = EksCluster(
            f"{scope.name}-cluster",
            EksClusterArgs(
                name=f"{scope.prefix}-eks",
                stack=scope.stack,
                region=config.aws.region,
                version=k.cluster_version,
                public_subnet_ids=networks.aws.public_subnet_ids,
                private_subnet_ids=networks.aws.private_subnet_ids,
                admin_cidrs=list(k.admin_cidrs),
                node_instance_type=k.node_instance_type,
                min_nodes=k.min_nodes,
                max_nodes=k.max_nodes,
                node_disk_gib=k.node_disk_gib,
                support_type=k.support_type,
                admin_principals=list(k.admin_principals),
                control_plane_log_retention_days=config.logs.retention_days,
            ),
            opts=scope.child(),
        )
        from components.observability import EksCluster as WatchedEks

        # Container Insights waits for the nodes and the pod identity agent.
        watched = WatchedEks(eks.known_name, eks.cluster, [*eks.node_groups, eks.pod_identity_agent])
        return StackCluster(eks, addons(config, scope, eks, eks.node_autoscaler), pod_identity_cluster=eks.cluster_name, eks=watched)
    if isinstance(k, DoksConfig):
        from components.kubernetes.digitalocean import DoksCluster, DoksClusterArgs

        network = networks.digitalocean
        assert network is not None, "DOKS makes the stack use DigitalOcean (config.uses_digitalocean)"
        doks = DoksCluster(
            f"{scope.name}-cluster",
            DoksClusterArgs(
                name=f"{scope.prefix}-k8s",
                region=network.region,
                vpc_id=network.network_id,
                version_prefix=k.version_prefix,
                node_size=k.node_size,
                min_nodes=k.min_nodes,
                max_nodes=k.max_nodes,
                ha=k.ha,
                maintenance_day=k.maintenance_day,
                maintenance_start=k.maintenance_start,
                kubeconfig_ttl_days=k.kubeconfig_ttl_days,
                tags=("meteor-platform", scope.stack),
                admin_cidrs=tuple(k.admin_cidrs),
            ),
            opts=scope.child(),
        )
        from components.observability import DoksNodes

        return StackCluster(doks, addons(config, scope, doks), doks_nodes=DoksNodes(doks.cluster.id, doks.cluster))
    from components.kubernetes.existing import ExistingCluster, ExistingClusterArgs

    existing = ExistingCluster(
        f"{scope.name}-cluster",
        ExistingClusterArgs(context=k.context, kubeconfig=k.kubeconfig, cluster_domain=k.cluster_domain),
        opts=scope.child(),
    )
    return StackCluster(existing, addons(config, scope, existing))


def addons(
    config: KubernetesPlatformConfig, scope: Scope, target: KubernetesTarget, node_autoscaler: NodeAutoscaler | None = None
) -> ClusterReadiness | None:
    """The add-ons `kubernetes.*` installs, and the node autoscaler a cluster the stack created brings."""
    from components.config.kubernetes import DoksConfig, EksConfig, installs

    k = config.kubernetes
    chosen = {addon: installs(k, addon) for addon in ("ingress_controller", "cert_manager", "metrics_server")}
    if not any(chosen.values()) and node_autoscaler is None:
        return None
    from components.config.values import quantity_value
    from components.kubernetes.addons import ClusterAddons, ClusterAddonsArgs

    ingress = config.ingress
    return ClusterAddons(
        f"{scope.name}-addons",
        ClusterAddonsArgs(
            **chosen,
            ingress_class=ingress.effective_class_name,
            ingress_namespace=ingress.effective_namespace,
            cluster_issuer=ingress.cluster_issuer,
            acme_email=ingress.acme_email,
            trusted_network=config.digitalocean.vpc_ip_range if isinstance(k, DoksConfig) else None,
            aws_network_load_balancer=isinstance(k, EksConfig),
            redirect_to_https=ingress.serves_tls,
            idle_timeout_seconds=ingress.idle_timeout_seconds,
            max_body_bytes=None if ingress.body_limit is None else int(quantity_value(ingress.body_limit)),
            node_autoscaler=node_autoscaler,
        ),
        opts=scope.child(target.provider),
    )
