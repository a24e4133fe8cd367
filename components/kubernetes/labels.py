"""Labels, selectors and small building blocks shared by every Kubernetes object the platform makes.

NetworkPolicies admit traffic by these labels, so they live in one place.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from components.endpoints import ANYWHERE, Endpoint

PART_OF = "meteor-platform"
STACK_LABEL = "meteor-platform/stack"
ROLE_LABEL = "meteor-platform/role"
APP_ROLE = "app"
MONGO_ROLE = "mongo"
MONGO_INIT_ROLE = "mongo-init"
APP_LABEL = "meteor-platform/app"
"""The app a pod serves, on every version of it (stable and canary): what the app's Service selects with a canary."""
TRACK_LABEL = "meteor-platform/track"


def common(stack: str, name: str, role: str) -> dict[str, str]:
    """Labels for an object that belongs to component `name` of this stack."""
    return {
        "app.kubernetes.io/name": name,
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        STACK_LABEL: stack,
        ROLE_LABEL: role,
    }


def selector(stack: str, name: str, role: str) -> dict[str, str]:
    """The stable subset of `common` used in immutable selectors."""
    return {"app.kubernetes.io/name": name, STACK_LABEL: stack, ROLE_LABEL: role}


def namespace_labels(stack: str, pod_security: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/part-of": PART_OF,
        "app.kubernetes.io/managed-by": "pulumi",
        STACK_LABEL: stack,
        "pod-security.kubernetes.io/enforce": pod_security,
        "pod-security.kubernetes.io/warn": "restricted",
    }


def platform_apps_peer(stack: str) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    """A NetworkPolicy peer matching every Meteor app pod of this stack, in any namespace."""
    return {
        "namespace_selector": {"match_labels": {STACK_LABEL: stack}},
        "pod_selector": {"match_labels": {ROLE_LABEL: APP_ROLE, STACK_LABEL: stack}},
    }


def namespace_peer(namespace: str) -> k8s.networking.v1.NetworkPolicyPeerArgsDict:
    return {"namespace_selector": {"match_labels": {"kubernetes.io/metadata.name": namespace}}}


SAFE_TO_EVICT_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
"""A pod annotation listing the emptyDir volumes a node autoscaler may discard with the pod: without it the
Cluster Autoscaler never removes a node running a pod with local storage (kubernetes/autoscaler
cluster-autoscaler/FAQ.md, "What types of pods can prevent CA from removing a node?"). Set on pods whose
emptyDirs are scratch (the apps', Traefik's); Jobs (migrations, backups) and MongoDB keep the protection."""

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

RESTRICTED_CONTAINER: k8s.core.v1.SecurityContextArgsDict = {
    "allow_privilege_escalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccomp_profile": {"type": "RuntimeDefault"},
}


def secret_env(name: str, secret: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgsDict:
    """An environment variable read from a Secret (never a plain value)."""
    return {"name": name, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}


def egress_to(endpoint: Endpoint) -> k8s.networking.v1.NetworkPolicyEgressRuleArgsDict:
    """The egress rule that reaches `endpoint`: its pods when it runs in the cluster, else its address block."""
    peer: k8s.networking.v1.NetworkPolicyPeerArgsDict
    if endpoint.pods is not None:
        peer = {**namespace_peer(endpoint.pods.namespace), "pod_selector": {"match_labels": dict(endpoint.pods.labels)}}
    else:
        peer = {"ip_block": {"cidr": endpoint.cidr or ANYWHERE}}
    return {"to": [peer], "ports": [{"protocol": "TCP", "port": endpoint.port}]}
