"""NetworkPolicy building blocks: peers and egress rules every workload's policy is made of."""

from __future__ import annotations

import pulumi_kubernetes as k8s

from components.endpoints import ANYWHERE, Endpoint
from components.kubernetes.labels import APP_ROLE, ROLE_LABEL, STACK_LABEL


def platform_apps_peer(stack: str) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    """A NetworkPolicy peer matching every Meteor app pod of this stack, in any namespace."""
    return {
        "namespace_selector": {"match_labels": {STACK_LABEL: stack}},
        "pod_selector": {"match_labels": {ROLE_LABEL: APP_ROLE, STACK_LABEL: stack}},
    }


def namespace_peer(namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    return {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": namespace}}}


# Pods resolve names through the kube-dns Service: the VPC CNI's policy controller adds the ClusterIP of
# a Service whose pods a rule selects (aws/aws-network-policy-agent#166, a maintainer's answer), and EKS
# users report this very rule resolving under enforced policies (aws/aws-network-policy-agent#230).
DNS_EGRESS: k8s.networking.v1.NetworkPolicyEgressRuleArgsDict = {
    "to": [
        {
            "namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": "kube-system"}},
            "pod_selector": {"match_labels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}


def egress_to(endpoint: Endpoint) -> k8s.networking.v1.NetworkPolicyEgressRuleArgsDict:
    """The egress rule that reaches `endpoint`: its pods when it runs in the cluster, else its address block."""
    peer: k8s.networking.v1.NetworkPolicyPeerArgsDict
    if endpoint.pods is not None:
        peer = {**namespace_peer(endpoint.pods.namespace), "pod_selector": {"match_labels": dict(endpoint.pods.labels)}}
    else:
        peer = {"ip_block": {"cidr": endpoint.cidr or ANYWHERE}}
    return {"to": [peer], "ports": [{"protocol": "TCP", "port": endpoint.port}]}
