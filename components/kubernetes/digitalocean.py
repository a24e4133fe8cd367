"""DigitalOcean Kubernetes (DOKS), created by the stack, as a KubernetesTarget.

The version is the newest patch DigitalOcean offers for the configured minor version (its versions
data source, read on every run; config validation already refused a minor the dated catalogue in
components/catalogue.py does not list). The Kubernetes provider is keyed by the cluster id
(`cluster_identifier`) and authenticates through `doctl` (an exec credential plugin), so its
kubeconfig is the same on every run: no per-run token, no diff, no token left behind.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s
import yaml

from components import catalogue


class DoksVersionError(pulumi.RunError):
    """DigitalOcean no longer offers the configured minor version."""


@dataclass(frozen=True)
class DoksClusterArgs:
    name: str
    """Cluster name in DigitalOcean."""
    region: str
    vpc_id: pulumi.Input[str]
    """VPC the nodes join (shared with the database and droplets)."""
    version_prefix: str = catalogue.DOKS_DEFAULT_VERSION_PREFIX
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


def offered_version(latest: str | None, prefix: str) -> str:
    """The data source's newest version for `prefix`, or a clear error when DigitalOcean offers none.

    The provider's data source leaves `latest_version` unset when no offered slug starts with the
    prefix (terraform-provider-digitalocean, datasource_digitalocean_kubernetes_versions.go:
    `if len(validVersions) > 0 { d.Set("latest_version", validVersions[0]) }`); an empty version
    would reach the cluster create call and fail there with a far less useful message.
    """
    if not latest:
        raise DoksVersionError(
            f"meteor-platform:kubernetes.versionPrefix: DigitalOcean offers no Kubernetes {prefix}x any more "
            f"(its versions data source returned none); expected a minor it offers: `doctl kubernetes options versions` "
            f"lists them. Update components/catalogue.py (DOKS_MINORS) and the stack's versionPrefix."
        )
    return latest


def exec_kubeconfig(cluster_id: str, name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig whose user runs `doctl kubernetes cluster kubeconfig exec-credential`.

    The shape `doctl kubernetes cluster kubeconfig save` writes (digitalocean/doctl,
    commands/kubernetes.go, writeOrAddToKubeconfig: an `exec` user with apiVersion
    client.authentication.k8s.io/v1beta1 and args `kubernetes cluster kubeconfig exec-credential
    --version=v1beta1 <cluster id>`). doctl authenticates with DIGITALOCEAN_ACCESS_TOKEN (or its
    current auth context) on the machine running `pulumi up` and caches the credential until it
    expires. Nothing in it is a credential: the endpoint, the cluster's CA certificate, its id.
    """
    user = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "doctl",
            "args": ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", cluster_id],
            "interactiveMode": "Never",
        }
    }
    context = f"do-{name}"
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": endpoint, "certificate-authority-data": ca_data}}],
            "users": [{"name": f"{context}-doctl", "user": user}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": f"{context}-doctl"}}],
            "current-context": context,
        },
        sort_keys=False,
    )


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
            version=versions.latest_version.apply(lambda latest: offered_version(latest, args.version_prefix)),
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
        # `kubeConfigs` is a secret output (additional_secret_outputs in the SDK) because it holds a
        # token; the CA certificate taken from it is not one, so the kubeconfig is left in the clear.
        ca_data = pulumi.Output.unsecret(
            self.cluster.kube_configs.apply(lambda configs: (configs[0].cluster_ca_certificate or "") if configs else "")
        )
        self.kubeconfig = pulumi.Output.all(self.cluster.id, self.cluster.name, self.cluster.endpoint, ca_data).apply(
            lambda values: exec_kubeconfig(*(str(v) for v in values))
        )
        # "the provider will _only_ be replaced when `clusterIdentifier` changes; all other changes to
        # provider configuration will be treated as updates" (pulumi-kubernetes Provider docstring): a
        # stack moving from the token kubeconfig to this one sees one update, nothing under it replaced.
        self.provider = k8s.Provider(
            f"{name}-provider",
            kubeconfig=self.kubeconfig,
            cluster_identifier=self.cluster.id,
            enable_server_side_apply=True,
            opts=child,
        )
        self.register_outputs({"cluster_id": self.cluster.id, "endpoint": self.cluster.endpoint})
