"""`kubernetes`: the cluster Kubernetes objects go to — an existing one, or DOKS."""

import hashlib
import re
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from components import catalogue
from components.config.aws import InstanceType
from components.config.errors import Problems
from components.config.networks import admin_network_problems
from components.config.unions import tagged
from components.config.values import Cidr, DropletSize, Hostname, Model, TimeOfDay
from components.secrets import SecretValue


class AddonsConfig(Model):
    """Cluster add-ons the platform installs (Helm charts pinned in components/versions.py)."""

    ingress_controller: bool | None = Field(
        default=None, description="Install Traefik as the ingress controller (its Service a load balancer); default: on DOKS only."
    )
    cert_manager: bool | None = Field(
        default=None,
        description="Install cert-manager with its CRDs and the ACME ClusterIssuer `ingress.clusterIssuer`; default: on DOKS only.",
    )
    metrics_server: bool | None = Field(default=None, description="Install metrics-server (autoscaling reads it); default: on DOKS only.")


class ExistingKubernetesConfig(Model):
    """A cluster reached through a kubeconfig (bring your own cluster)."""

    provider: Literal["existing"] = Field(
        default="existing",
        description="Cluster implementation: `existing` (a cluster reached through a kubeconfig) or `doks` (DigitalOcean Kubernetes).",
    )
    context: str | None = Field(default=None, description="kubeconfig context to use; the current context when unset.")
    kubeconfig: SecretValue | None = Field(
        default=None,
        description="kubeconfig contents (secret); the ambient ~/.kube/config or $KUBECONFIG when unset.",
    )
    cluster_domain: Hostname = Field(default="cluster.local", description="The cluster's DNS domain, used in in-cluster service URLs.")
    addons: AddonsConfig = Field(
        default_factory=AddonsConfig.model_construct, description="Add-ons to install; none by default on an existing cluster."
    )
    front_proxies: int = Field(
        default=0,
        ge=0,
        le=4,
        description="HTTP proxies in front of the cluster's ingress controller that add to X-Forwarded-For (an HTTP load balancer: 1; "
        "a TCP or PROXY-protocol one: 0); apps get HTTP_FORWARDED_COUNT = this + 1 (the ingress controller).",
    )


def _check_doks_version_prefix(value: str) -> str:
    match = re.fullmatch(r"(1\.\d+)\.", value)
    if match is None:
        raise ValueError("expected a minor version prefix such as 1.36. (with the trailing dot)")
    offered = ", ".join(f"{m}." for m in catalogue.DOKS_MINORS)
    if match.group(1) not in catalogue.DOKS_MINORS:
        known = catalogue.KUBERNETES_MINORS.get(match.group(1))
        why = (
            f"Kubernetes {known.minor} reached upstream end of life on {known.end_of_life}" if known else "not a minor DigitalOcean offers"
        )
        raise ValueError(f"expected a minor DigitalOcean offers: {offered} ({why}; components/catalogue.py, {catalogue.AS_OF})")
    return value


class DoksConfig(Model):
    """DigitalOcean Kubernetes, created by the stack."""

    provider: Literal["doks"]
    admin_cidrs: list[Cidr] = Field(
        ..., min_length=1, description="Networks allowed to reach the control plane (its firewall); include where `pulumi up` runs."
    )
    addons: AddonsConfig = Field(default_factory=AddonsConfig.model_construct, description="Add-ons to install; all by default on DOKS.")
    version_prefix: Annotated[str, AfterValidator(_check_doks_version_prefix)] = Field(
        default=catalogue.DOKS_DEFAULT_VERSION_PREFIX,
        description=f"Kubernetes minor version prefix, one DigitalOcean offers ({', '.join(f'{m}.' for m in catalogue.DOKS_MINORS)} "
        f"as of {catalogue.AS_OF}); the newest patch its versions data source offers is used.",
    )
    node_size: DropletSize = Field(default="s-4vcpu-8gb", description="Droplet size of the node pool.")
    min_nodes: int = Field(default=2, ge=1, le=100, description="Autoscaler lower bound.")
    max_nodes: int = Field(default=5, ge=1, le=100, description="Autoscaler upper bound.")
    ha: bool = Field(default=False, description="Highly available control plane.")
    maintenance_day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        default="sunday", description="Day of the weekly maintenance window (auto-upgrades, surge upgrades)."
    )
    maintenance_start: TimeOfDay = Field(default="03:00", description="Maintenance window start, UTC HH:MM.")
    # 7: no longer than the credential doctl fetches (the API's default expiry). Changing it is an
    # update in place, state only (terraform-provider-digitalocean: `kubeconfig_expire_seconds` has
    # no ForceNew and the update sends nothing for it; the read re-mints the token once the stored
    # one has expired, with this lifetime).
    kubeconfig_ttl_days: int = Field(
        default=7,
        ge=1,
        le=365,
        description="Lifetime of the token in the kubeconfig DigitalOcean issues with the cluster resource and Pulumi keeps "
        "in the stack's state (re-issued by a refresh after it expires); the platform's Kubernetes provider does not use "
        "it (it authenticates through `doctl`).",
    )

    @property
    def cluster_domain(self) -> str:
        return "cluster.local"

    def own_problems(self, problems: Problems) -> None:
        _node_bounds_problems(self.min_nodes, self.max_nodes, problems)
        admin_network_problems(self.admin_cidrs, problems)


# An IAM role (its ARN may include a path) or user of any account; never an STS session, which
# "is a temporary principal for each session" and cannot have an access entry (EKS API,
# CreateAccessEntry `principalArn`; EKS user guide, "Create access entries").
_IAM_PRINCIPAL = r"arn:aws:iam::(?P<account>\d{12}):(?P<kind>role|user)/(?P<name>(?:[\w+=,.@-]+/)*[\w+=,.@-]{1,64})"


def _check_iam_principal(value: str) -> str:
    if re.fullmatch(_IAM_PRINCIPAL, value) is None:
        session = " (an STS session cannot have an access entry: name its role)" if value.startswith("arn:aws:sts::") else ""
        raise ValueError(
            "expected an IAM role or user ARN: arn:aws:iam::<12-digit account>:role/<path/name> or "
            f"arn:aws:iam::<12-digit account>:user/<name>{session}"
        )
    return value


IamPrincipalArn = Annotated[str, AfterValidator(_check_iam_principal)]


def admin_entry_key(principal: str) -> str:
    """A resource-name suffix that is the principal's own (account, kind, path and name), never its place in the list.

    Readable, and one per ARN: `/` becomes `-` (`role/a/b` and `role/a-b` would then read alike), so
    8 hex of the ARN's SHA-256 end it.
    """
    match = re.fullmatch(_IAM_PRINCIPAL, principal)
    assert match is not None, "config validation accepts only IAM role and user ARNs"
    digest = hashlib.sha256(principal.encode()).hexdigest()[:8]
    return f"{match['account']}-{match['kind']}-{match['name'].replace('/', '-')}-{digest}"


def _check_eks_version(value: str) -> str:
    if value not in catalogue.EKS_VERSIONS:
        known = catalogue.EKS_CALENDAR.get(value)
        why = f"; EKS extended support for {value} ended on {known.extended_support_ends}" if known else ""
        raise ValueError(
            f"expected a Kubernetes version EKS offers: {', '.join(catalogue.EKS_VERSIONS)}{why} (components/catalogue.py, {catalogue.AS_OF})"
        )
    return value


class EksConfig(Model):
    """Amazon EKS, created by the stack in the stack's VPC."""

    provider: Literal["eks"]
    # Required, never defaulted: `eks.Cluster.version` is applied in place ("configured and increased
    # to upgrade", pulumi_aws docstring) and EKS upgrades one minor at a time, so a default that moves
    # with the catalogue would upgrade (or break) every deployed cluster that relied on it.
    version: Annotated[str, AfterValidator(_check_eks_version)] | None = Field(
        default=None,
        description=f"**Required.** Kubernetes version: one EKS offers ({', '.join(catalogue.EKS_VERSIONS)} as of {catalogue.AS_OF}; "
        f"{catalogue.EKS_DEFAULT_VERSION} for a new cluster; past its standard support a version costs extra per cluster hour; "
        "raise it one minor per `up`).",
    )
    admin_cidrs: list[Cidr] = Field(
        ..., min_length=1, description="Networks allowed to reach the public API endpoint; include where `pulumi up` runs."
    )
    addons: AddonsConfig = Field(default_factory=AddonsConfig.model_construct, description="Add-ons to install; all by default on EKS.")
    node_instance_type: InstanceType = Field(default="t3.large", description="EC2 instance type of the managed node groups (one per zone).")
    min_nodes: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Nodes in all, lower bound: the Cluster Autoscaler never goes below it; raised above the current size, "
        "the next `up` adds nodes. Split evenly across the node groups, one per zone (at least one node each).",
    )
    max_nodes: int = Field(
        default=5,
        ge=1,
        le=100,
        description="Nodes in all, upper bound: the Cluster Autoscaler adds nodes up to it for Pending pods; lowered below "
        "the current size, the next `up` removes nodes. Split evenly across the node groups, one per zone.",
    )
    node_disk_gib: int = Field(default=50, ge=20, le=1000, description="Encrypted root volume of each node, GiB.")
    support_type: Literal["STANDARD", "EXTENDED"] = Field(
        default="STANDARD",
        description="At the end of a version's standard support: `STANDARD` upgrades the cluster to the next minor (EKS does it); "
        "`EXTENDED` keeps the version for up to 12 more months at extra cost per cluster hour (EKS's own default when unset).",
    )
    admin_principals: list[IamPrincipalArn] = Field(
        default_factory=lambda: [],
        description="IAM roles and users (ARNs) that get cluster admin (an EKS access entry with AmazonEKSClusterAdminPolicy, "
        "cluster-wide), e.g. CI's role; the identity that creates the cluster is admin already and must not be listed.",
    )

    @property
    def cluster_version(self) -> str:
        """`version`, which validation requires (`EksConfig.own_problems`)."""
        assert self.version is not None, "kubernetes.version is required on EKS"
        return self.version

    @property
    def cluster_domain(self) -> str:
        return "cluster.local"

    def own_problems(self, problems: Problems) -> None:
        _node_bounds_problems(self.min_nodes, self.max_nodes, problems)
        admin_network_problems(self.admin_cidrs, problems)
        # EKS takes one access entry per principal (CreateAccessEntry); resource names follow admin_entry_key.
        seen: dict[str, int] = {}
        for i, principal in enumerate(self.admin_principals):
            key = admin_entry_key(principal)
            if key in seen:
                problems.bad(
                    ["adminPrincipals", i],
                    principal,
                    f"expected each principal once (kubernetes.adminPrincipals[{seen[key]}] names it already)",
                )
            seen.setdefault(key, i)
        if self.version is None:
            problems.missing(
                ["version"],
                f"expected the cluster's Kubernetes version, {catalogue.EKS_DEFAULT_VERSION} for a new cluster (EKS offers "
                f"{', '.join(catalogue.EKS_VERSIONS)} as of {catalogue.AS_OF}); there is no default, since a default that moved "
                "would upgrade every deployed cluster relying on it (a deployed cluster: `aws eks describe-cluster --name <cluster> "
                "--query cluster.version`)",
            )


KubernetesConfig = ExistingKubernetesConfig | DoksConfig | EksConfig
if TYPE_CHECKING:
    KubernetesSection = ExistingKubernetesConfig | DoksConfig | EksConfig
else:
    KubernetesSection = tagged(
        "kubernetes", "provider", "existing", {"existing": ExistingKubernetesConfig, "doks": DoksConfig, "eks": EksConfig}
    )


def _node_bounds_problems(min_nodes: int, max_nodes: int, problems: Problems) -> None:
    if min_nodes > max_nodes:
        problems.bad(["minNodes"], min_nodes, f"expected at most kubernetes.maxNodes ({max_nodes})")


def installs(k: KubernetesConfig, addon: str) -> bool:
    """Whether the platform installs `addon` (ingress_controller, cert_manager, metrics_server) on this cluster."""
    chosen: bool | None = getattr(k.addons, addon)
    return chosen if chosen is not None else isinstance(k, DoksConfig | EksConfig)
