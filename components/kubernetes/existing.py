"""An existing cluster reached through a kubeconfig (bring your own cluster)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.secrets import SecretValue


@dataclass(frozen=True)
class ExistingClusterArgs:
    context: str | None = None
    """kubeconfig context; the current one when None."""
    kubeconfig: SecretValue | None = None
    """kubeconfig contents; the ambient ~/.kube/config or $KUBECONFIG when None."""
    cluster_domain: str = "cluster.local"
    """The cluster's DNS domain."""


class ExistingCluster(pulumi.ComponentResource):
    provider: k8s.Provider
    cluster_domain: str
    cluster_id: pulumi.Output[str] | None = None
    kubeconfig: pulumi.Output[str] | None = None

    def __init__(self, name: str, args: ExistingClusterArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:kubernetes:ExistingCluster", name, None, opts)
        self.cluster_domain = args.cluster_domain
        self.provider = k8s.Provider(
            f"{name}-provider",
            context=args.context,
            kubeconfig=args.kubeconfig.output() if args.kubeconfig else None,
            # Server-side apply lets several tools own fields of one object safely.
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({})
