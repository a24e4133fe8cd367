"""Pure builders of an app's NetworkPolicies: who may call it, and what it (and its migrations) may reach."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi_kubernetes as k8s

from components.config import KubernetesAppConfig
from components.endpoints import ANYWHERE, Endpoint, Pods
from components.kubernetes.network_policy import DNS_EGRESS, egress_to, namespace_peer

SMTP_PORTS = (25, 465, 587)


def network_policy_spec(
    app: KubernetesAppConfig,
    *,
    selector: Mapping[str, str],
    ingress_namespace: str,
    endpoints: Sequence[Endpoint],
    callers: Sequence[Pods] = (),
) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """In: the apps that declared they call this one (`connectsTo`), and the ingress controller for
    a public app. Out: DNS, the app's services (MongoDB, file storage, the apps it calls — each an
    endpoint), its own pods (cluster) and SMTP when it mails."""
    port = app.container_port
    ingress_rules: list[k8s.networking.v1.NetworkPolicyIngressRuleArgsDict] = []
    if callers:
        peers = [{**namespace_peer(c.namespace), "pod_selector": {"match_labels": dict(c.labels)}} for c in callers]
        ingress_rules.append({"from_": peers, "ports": [{"protocol": "TCP", "port": port}]})  # pyright: ignore[reportArgumentType]
    if app.domain:
        ingress_rules.append({"from_": [namespace_peer(ingress_namespace)], "ports": [{"protocol": "TCP", "port": port}]})
    egress = [DNS_EGRESS, *(egress_to(endpoint) for endpoint in endpoints)]
    if app.cluster.enabled:
        # meteorhacks:cluster peers call each other at `http://$(POD_IP):<port>` (CLUSTER_ENDPOINT_URL):
        # each end needs its rule, egress from the caller and ingress at the callee (NetworkPolicy
        # allows a connection only when both pods' policies allow it, kubernetes.io/docs,
        # concepts/services-networking/network-policies).
        own_pods: k8s.networking.v1.NetworkPolicyPeerArgsDict = {"pod_selector": {"match_labels": dict(selector)}}
        ingress_rules.append({"from_": [own_pods], "ports": [{"protocol": "TCP", "port": port}]})
        egress.append({"to": [own_pods], "ports": [{"protocol": "TCP", "port": port}]})
    egress += _mail_egress(app) + _apm_egress(app)
    return {
        "pod_selector": {"match_labels": dict(selector)},
        "policy_types": ["Ingress", "Egress"],
        "ingress": ingress_rules,
        "egress": egress,
    }


def _mail_egress(app: KubernetesAppConfig) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict]:
    if app.mail_url is None:
        return []
    return [{"to": [{"ip_block": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": p} for p in SMTP_PORTS]}]


LINK_LOCAL = "169.254.0.0/16"
"""Instance metadata (169.254.169.254: the node's cloud credentials and user data) and other node-local
services: never an APM engine. Kept out of the APM rule so an engine on port 80 does not open them; rules
add up, so the EKS Pod Identity agent's own rule (169.254.170.23/32) still applies."""


def _apm_egress(app: KubernetesAppConfig) -> list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict]:
    """The APM agent posts to its engine over HTTPS (an internet address: Monti APM's, or a self-hosted one's),
    anywhere but link-local (IPBlock `except`: "CIDRs that should not be included within an IPBlock", within `cidr`;
    pulumi_kubernetes networking/v1 IPBlockArgsDict)."""
    if app.apm is None:
        return []
    return [{"to": [{"ip_block": {"cidr": ANYWHERE, "except_": [LINK_LOCAL]}}], "ports": [{"protocol": "TCP", "port": app.apm.port}]}]


def migration_network_policy_spec(
    app: KubernetesAppConfig, *, selector: Mapping[str, str], endpoints: Sequence[Endpoint]
) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """A migration's pods: nothing in; out only what the app reaches (DNS, MongoDB, file storage, the
    apps it calls, SMTP when it mails), not the app's own pods: a migration joins no cluster."""
    return {
        "pod_selector": {"match_labels": dict(selector)},
        "policy_types": ["Ingress", "Egress"],
        "ingress": [],
        "egress": [DNS_EGRESS, *(egress_to(endpoint) for endpoint in endpoints), *_mail_egress(app), *_apm_egress(app)],
    }
