"""DigitalOcean Kubernetes (DOKS), created by the stack, as a KubernetesTarget.

The version is the newest patch DigitalOcean offers for the configured minor version (its versions
data source, read on every run; config validation already refused a minor the dated catalogue in
components/catalogue.py does not list). The Kubernetes provider is keyed by the cluster id
(`cluster_identifier`) and authenticates through `doctl` (an exec credential plugin), so its
kubeconfig is the same on every run: no per-run token in it, no diff. doctl still mints a token
per credential it fetches (the API's default lifetime, about 7 days), and the cluster resource's
state keeps the token DigitalOcean issued with it (`kubeconfig_ttl_days`, re-minted on the refresh
after it expires): the platform does not use that one.

The version is ignored once the cluster exists: DOKS upgrades a cluster only to a version its
`/upgrades` list offers (the next minor, after the current minor's patches; the provider's update
calls `Kubernetes.Upgrade`), so a minor is upgraded with `doctl kubernetes cluster upgrade` one at a
time, then the stack's versionPrefix follows (README, "Versions and what DigitalOcean offers").
The component warns when the cluster runs another minor than versionPrefix says.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_kubernetes as k8s

from components import catalogue
from components.kubernetes.kubeconfig import plugin_kubeconfig


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
    kubeconfig_ttl_days: int = 7
    tags: tuple[str, ...] = ()
    admin_cidrs: tuple[str, ...] = ()
    """Networks the control-plane firewall admits (the nodes are admitted by DigitalOcean)."""


def offered_version(latest: str | None, prefix: str) -> str:
    """The data source's newest version for `prefix`; empty, with a warning, when DigitalOcean offers none.

    The provider's data source leaves `latest_version` unset when no offered slug starts with the
    prefix (terraform-provider-digitalocean, datasource_digitalocean_kubernetes_versions.go:
    `if len(validVersions) > 0 { d.Set("latest_version", validVersions[0]) }`). A deployed cluster
    ignores its version input: the engine sets ignored inputs back to their old values before the
    provider checks them (pulumi pkg/resource/deploy/step_generator.go, `processIgnoreChanges(inputs,
    oldInputs, goal.IgnoreChanges)`), so the run goes on: failing here would stop every preview and
    drift check from the day DigitalOcean retires the minor. A NEW cluster then fails
    right after the warning: the provider refuses the empty version (`"version"`: Required,
    `validation.NoZeroValues`, resource_kubernetes_cluster.go).
    """
    if not latest:
        pulumi.log.warn(
            f"meteor-platform:kubernetes.versionPrefix: DigitalOcean offers no Kubernetes {prefix}x any more (its versions "
            "data source returned none). A deployed cluster keeps running (its version is not changed by the stack); a new "
            "cluster cannot be created. Upgrade with `doctl kubernetes cluster upgrade`, then set versionPrefix to a minor "
            "`doctl kubernetes options versions` lists and update components/catalogue.py (DOKS_MINORS)."
        )
        return ""
    return latest


def deployed_minor_warning(version: str | None, prefix: str) -> str | None:
    """The warning when the cluster runs another minor than `prefix` (`1.35.8-do.0` vs `1.36.`), else None."""
    if not version or version.startswith(prefix):
        return None
    running = ".".join(version.split(".")[:2])
    return (
        f"meteor-platform:kubernetes.versionPrefix: the cluster runs Kubernetes {version}, not {prefix}x; the stack does not "
        f"change a deployed cluster's version. Upgrade one minor at a time with `doctl kubernetes cluster upgrade <cluster> "
        f"--version <slug from doctl kubernetes cluster get-upgrades>`, or set versionPrefix to '{running}.' to state what runs."
    )


def exec_kubeconfig(cluster_id: str, name: str, endpoint: str, ca_data: str) -> str:
    """A kubeconfig whose user runs `doctl kubernetes cluster kubeconfig exec-credential`.

    The shape `doctl kubernetes cluster kubeconfig save` writes (digitalocean/doctl,
    commands/kubernetes.go, writeOrAddToKubeconfig: an `exec` user with apiVersion
    client.authentication.k8s.io/v1beta1 and args `kubernetes cluster kubeconfig exec-credential
    --version=v1beta1 <cluster id>`). doctl authenticates with DIGITALOCEAN_ACCESS_TOKEN (or its
    current auth context) on the machine running `pulumi up` and caches the credential until it
    expires. Nothing in it is a credential: the endpoint, the cluster's CA certificate, its id.
    """
    context = f"do-{name}"
    args = ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", cluster_id]
    return plugin_kubeconfig(context, f"{context}-doctl", endpoint, ca_data, "doctl", args)


def _warn(message: str | None, resource: pulumi.Resource) -> None:
    if message:
        pulumi.log.warn(message, resource)


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
            # Auto-upgrade moves the patch version; do not fight it on the next `pulumi up`. Nor can a
            # changed prefix upgrade the minor: DOKS upgrades only to a version `/upgrades` lists (the
            # next minor, after the current minor's patches; docs "How to Upgrade DOKS Clusters"), and
            # the provider's update would call `Kubernetes.Upgrade` with whatever was asked.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["version"]),
        )
        self.cluster_id = self.cluster.id
        self.cluster.version.apply(lambda version: _warn(deployed_minor_warning(version, args.version_prefix), self.cluster))
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
