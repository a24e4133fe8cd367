"""Kubernetes targets: where the platform's Kubernetes objects go.

    existing.py     a cluster reached through a kubeconfig (bring your own)
    digitalocean.py DOKS, created by the stack
    aws.py          EKS, created by the stack
    addons.py       ingress controller, cert-manager, metrics-server and the node autoscaler
    labels.py       labels and selectors every object shares
    pods.py         the pod template (security contexts, no API token) every workload starts from
    network_policy.py  NetworkPolicy peers and egress rules
    select.py       which cluster and add-ons a stack's config asks for

Every implementation exposes an explicit `provider` (never the ambient default).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi
    import pulumi_kubernetes as k8s

    from components.observability import DoksNodes, EksCluster


class KubernetesTarget(Protocol):
    """What the rest of the platform needs from a cluster."""

    provider: k8s.Provider
    """The explicit Kubernetes provider every Kubernetes resource uses."""
    cluster_domain: str
    """DNS domain for in-cluster service URLs."""

    @property
    def cluster_id(self) -> pulumi.Output[str] | None:
        """The cloud's id of a cluster the stack created (database firewalls admit it), or None."""
        ...

    @property
    def kubeconfig(self) -> pulumi.Output[str] | None:
        """The kubeconfig of a cluster the stack created, or None: its user runs the cloud's CLI (`doctl`, `aws`), so it holds no credential."""
        ...


class ClusterReadiness(Protocol):
    """What apps on a cluster wait for: the add-ons the platform installed (ClusterAddons)."""

    ingress_ready: list[pulumi.Resource]
    """Before an Ingress: the controller that gives it an address, the ClusterIssuer."""
    autoscaling_ready: list[pulumi.Resource]
    """Before a HorizontalPodAutoscaler: metrics-server."""


@dataclass(frozen=True)
class StackCluster:
    """The stack's cluster and add-ons, with what other capabilities learn of them as plain values."""

    target: KubernetesTarget
    addons: ClusterReadiness | None = None
    """None when no add-on is installed."""
    pod_identity_cluster: pulumi.Output[str] | None = None
    """EKS: the cluster's name, where storage binds the apps' service accounts to its role (Pod Identity)."""
    eks: EksCluster | None = None
    """EKS: the cluster Container Insights is added to."""
    doks_nodes: DoksNodes | None = None
    """DOKS: the cluster whose nodes alerts select by tag."""
