"""What a new cluster needs before its apps: an ingress controller, cert-manager, metrics-server,
and on EKS the Cluster Autoscaler.

pulumi-kubernetes waits (10 minutes by default) for an Ingress to get a load-balancer address
and fails otherwise, so a cluster the stack creates gets Traefik (its Service a cloud load
balancer, forwarding client addresses), cert-manager with its CRDs and an ACME ClusterIssuer
(HTTP-01 through the ingress class), and metrics-server (the HorizontalPodAutoscaler reads it),
as Helm releases with the chart versions in `components/versions.py`. On a bring-your-own
cluster each add-on is opt-in. The Kubernetes provider reaches the children through `providers`.
On EKS the Cluster Autoscaler sizes the managed node group between its bounds (DOKS scales its
node pool itself): its AWS identity comes from components/kubernetes/aws_nodes.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.kubernetes.pods import SAFE_TO_EVICT_LOCAL_VOLUMES

if TYPE_CHECKING:
    from components.kubernetes.aws_nodes import NodeAutoscaler

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"
# DigitalOcean load balancers hand the client address to Traefik with the PROXY protocol
# (Traefik trusts it from the VPC only), so apps see one proxy: HTTP_FORWARDED_COUNT=1.
DO_PROXY_PROTOCOL = "service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol"


@dataclass(frozen=True)
class ClusterAddonsArgs:
    ingress_controller: bool
    cert_manager: bool
    metrics_server: bool
    ingress_class: str = "traefik"
    ingress_namespace: str = "traefik"
    cluster_issuer: str = "letsencrypt-prod"
    acme_email: str | None = None
    trusted_network: str | None = None
    """The VPC range the cloud load balancer speaks PROXY protocol from (DigitalOcean); None elsewhere."""
    aws_network_load_balancer: bool = False
    """EKS: expose Traefik through an internet-facing Network Load Balancer that keeps the client address."""
    redirect_to_https: bool = False
    """Apps are served over HTTPS: `http://` answers with a permanent redirect, as on Docker hosts."""
    idle_timeout_seconds: int = 3600
    """Read and idle timeout of the entry points (long uploads, websockets, long polls)."""
    max_body_bytes: int | None = None
    """`ingress.maxBodySize` when set: each app's router then buffers (components/app/kubernetes.py),
    so Traefik's /tmp, where Buffering spills, gets a size limit."""
    node_autoscaler: NodeAutoscaler | None = None
    """EKS: install the Cluster Autoscaler for this cluster's node group."""


# The in-tree AWS cloud provider creates an NLB for a LoadBalancer Service with this annotation;
# `externalTrafficPolicy: Local` keeps the client's address (no SNAT), so Traefik is the one proxy.
AWS_NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}


TMP_SIZE_FACTOR = 4
MIB = 1024**2
TMP_SIZE_FLOOR = 1024 * MIB


def tmp_size_limit(max_body_bytes: int) -> str:
    """Traefik's /tmp when apps buffer, in Mi: Buffering keeps 1 MiB of each request and each response
    in memory and spills the rest to a temporary file (vulcand/oxy v2 buffer/buffer.go:
    DefaultMemBodyBytes, "buffers large requests and responses to disk", through mailgun/multibuf),
    which is the chart's `tmp` emptyDir (templates/_podtemplate.tpl: `deployment.tmpVolume.emptyDir`), on the node's disk.
    Room for four bodies at the limit at once, at least 1 GiB. Responses spill here too, with no
    limit of their own (`maxResponseBodyBytes` would cut large downloads): past the bound the kubelet
    evicts the pod (kubernetes.io/docs, concepts/storage/volumes, emptyDir `sizeLimit`), dropping its
    connections, and the README says to size the limit for downloads as well."""
    return f"{-(-max(TMP_SIZE_FACTOR * max_body_bytes, TMP_SIZE_FLOOR) // MIB)}Mi"


def entry_point_values(args: ClusterAddonsArgs) -> dict[str, dict[str, Any]]:
    """`web` and `websecure` as the Docker edge sets them (components/docker/proxy.py): the same
    read and idle timeouts (the read timeout bounds reading a whole request and defaults to 60 s
    since Traefik v2.11.2, which cuts long uploads: doc.traefik.io/traefik/v2.11/migration/v2/,
    "entryPoint.transport.respondingTimeouts.readTimeout"), and with TLS a redirect from `web` to
    `websecure` (permanent by default). No middleware on the entry points: the body limit is the
    apps' own, and only when `ingress.maxBodySize` is set (Buffering holds every response whole:
    traefik/traefik#12869)."""
    timeout = f"{args.idle_timeout_seconds}s"
    ports: dict[str, dict[str, Any]] = {
        entry: {"transport": {"respondingTimeouts": {"readTimeout": timeout, "idleTimeout": timeout}}} for entry in ("web", "websecure")
    }
    if args.redirect_to_https:
        # The redirect router's default priority is the highest (traefik/traefik#7851), which would
        # also redirect cert-manager's HTTP-01 solver; priority 1 lets the solver's routes answer on
        # `web` first (traefik/traefik-helm-chart#934).
        ports["web"]["http"] = {"redirections": {"entryPoint": {"to": "websecure", "scheme": "https", "priority": 1}}}
    if args.trusted_network is not None:
        trusted = {"trustedIPs": [args.trusted_network]}
        for entry in ports.values():
            entry |= {"proxyProtocol": trusted, "forwardedHeaders": trusted}
    return ports


def traefik_values(args: ClusterAddonsArgs) -> dict[str, Any]:
    """Helm values for the Traefik chart (checked against its values schema, and rendered with the
    pinned chart in the tests)."""
    values: dict[str, Any] = {
        # The chart's defaults we rely on (the render test shows them): an IngressClass, and the
        # Ingress status gets the load balancer's address (publishedService), which pulumi-kubernetes waits for.
        "ingressClass": {"isDefaultClass": False, "name": args.ingress_class},
        "podDisruptionBudget": {"enabled": True, "maxUnavailable": 1},
        # `data` and `tmp` are the chart's emptyDirs, scratch here (certificates come from cert-manager):
        # a node autoscaler may remove Traefik's node (components/kubernetes/labels.py).
        "deployment": {"replicas": 2, "podAnnotations": {SAFE_TO_EVICT_LOCAL_VOLUMES: "data,tmp"}},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "ports": entry_point_values(args),
    }
    if args.max_body_bytes is not None:
        values["deployment"]["tmpVolume"] = {"emptyDir": {"sizeLimit": tmp_size_limit(args.max_body_bytes)}}
    if args.trusted_network is not None:
        values["service"] = {"annotations": {DO_PROXY_PROTOCOL: "true"}}
    if args.aws_network_load_balancer:
        values["service"] = {"annotations": dict(AWS_NLB), "spec": {"externalTrafficPolicy": "Local"}}
    return values


def cert_manager_values() -> dict[str, Any]:
    # The chart keeps its CRDs when the release goes (`crds.keep` defaults to true): deleting them
    # would delete every Certificate and Issuer with them.
    return {"crds": {"enabled": True}}


def cluster_autoscaler_values(autoscaler: NodeAutoscaler) -> dict[str, Any]:
    """Helm values for the cluster-autoscaler chart (names checked against its values.yaml at
    cluster-autoscaler-chart-9.59.0; rendered with the pinned chart in the tests). Its defaults we rely
    on: `cloudProvider: aws`, auto-discovery by the tags `k8s.io/cluster-autoscaler/enabled` and
    `k8s.io/cluster-autoscaler/<autoDiscovery.clusterName>`, a ServiceAccount named after the fullname,
    priority class system-cluster-critical."""
    from components.kubernetes.aws_nodes import AUTOSCALER_NAME

    return {
        "autoDiscovery": {"clusterName": autoscaler.cluster_name},
        # AWS_REGION: the autoscaler reads it before asking the instance metadata, which pods cannot
        # reach (cloudprovider/aws/aws_sdk_provider.go, getRegion).
        "awsRegion": autoscaler.region,
        # One node group per zone: scale-ups and removals keep their sizes even, so a Pending pod bound to
        # a zone (its EBS volume) finds a group there (cloudprovider/aws/README.md, "Common Notes and
        # Gotchas"). The chart merges this into its own `extraArgs` defaults (values.yaml).
        # Managed nodes carry their AMI (`eks.amazonaws.com/nodegroup-image`), which the AWS comparator does not
        # ignore (processors/nodegroupset/aws_nodegroups.go at cluster-autoscaler-1.35.2): a group created later
        # on a newer AMI would stop being balanced with the others. The chart strips the `_1` suffix
        # (templates/deployment.yaml `mustRegexFind "^[^_]+"`), so flags can repeat.
        # Likewise the launch template version a node came from, which differs between the zones' groups while
        # they roll one after another (awsdocs/amazon-eks-user-guide#411).
        "extraArgs": {
            "balance-similar-node-groups": True,
            "balancing-ignore-label_1": "eks.amazonaws.com/nodegroup-image",
            "balancing-ignore-label_2": "eks.amazonaws.com/sourceLaunchTemplateVersion",
        },
        "fullnameOverride": AUTOSCALER_NAME,
        "image": {"tag": autoscaler.image_tag},
        "resources": {"requests": {"cpu": "100m", "memory": "300Mi"}, "limits": {"memory": "600Mi"}},
    }


def cluster_issuer_spec(args: ClusterAddonsArgs) -> dict[str, Any]:
    """An ACME ClusterIssuer answering HTTP-01 through the ingress class (checked against the CRD schema)."""
    return {
        "acme": {
            "email": args.acme_email,
            "server": LETS_ENCRYPT,
            "privateKeySecretRef": {"name": f"{args.cluster_issuer}-account-key"},
            "solvers": [{"http01": {"ingress": {"ingressClassName": args.ingress_class}}}],
        }
    }


def _release(name: str, chart: versions.Chart, namespace: str, values: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.helm.v3.Release:
    return k8s.helm.v3.Release(
        name,
        chart=chart.name,
        version=chart.version,
        repository_opts={"repo": chart.repo},
        namespace=namespace,
        create_namespace=True,
        values=values,
        atomic=True,
        cleanup_on_fail=True,
        timeout=600,
        opts=opts,
    )


class ClusterAddons(pulumi.ComponentResource):
    """The add-ons a cluster needs before apps; `ingress_ready`/`autoscaling_ready` are what apps wait for."""

    traefik: k8s.helm.v3.Release | None
    cert_manager: k8s.helm.v3.Release | None
    cluster_issuer: k8s.apiextensions.CustomResource | None
    metrics_server: k8s.helm.v3.Release | None
    cluster_autoscaler: k8s.helm.v3.Release | None
    ingress_ready: list[pulumi.Resource]
    autoscaling_ready: list[pulumi.Resource]

    def __init__(self, name: str, args: ClusterAddonsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:kubernetes:ClusterAddons", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.traefik = self.cert_manager = self.cluster_issuer = self.metrics_server = self.cluster_autoscaler = None
        self.ingress_ready = []
        self.autoscaling_ready = []
        if args.ingress_controller:
            self.traefik = _release(f"{name}-traefik", versions.TRAEFIK_CHART, args.ingress_namespace, traefik_values(args), child)
            self.ingress_ready.append(self.traefik)
        if args.cert_manager:
            self.cert_manager = _release(f"{name}-cert-manager", versions.CERT_MANAGER_CHART, "cert-manager", cert_manager_values(), child)
            self.cluster_issuer = k8s.apiextensions.CustomResource(
                f"{name}-cluster-issuer",
                api_version="cert-manager.io/v1",
                kind="ClusterIssuer",
                metadata={"name": args.cluster_issuer},
                spec=cluster_issuer_spec(args),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.cert_manager]),
            )
            self.ingress_ready.append(self.cluster_issuer)
        if args.metrics_server:
            self.metrics_server = _release(f"{name}-metrics-server", versions.METRICS_SERVER_CHART, "kube-system", {}, child)
            self.autoscaling_ready.append(self.metrics_server)
        if args.node_autoscaler is not None:
            from components.kubernetes.aws_nodes import AUTOSCALER_NAMESPACE

            self.cluster_autoscaler = _release(
                f"{name}-cluster-autoscaler",
                versions.CLUSTER_AUTOSCALER_CHART,
                AUTOSCALER_NAMESPACE,
                cluster_autoscaler_values(args.node_autoscaler),
                pulumi.ResourceOptions(parent=self, depends_on=[args.node_autoscaler.identity]),
            )
        self.register_outputs({})
