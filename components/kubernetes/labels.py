"""Labels and selectors shared by every Kubernetes object the platform makes.

NetworkPolicies admit traffic by these labels, so they live in one place (policies in
`network_policy`, pod defaults in `pods`).
"""

from __future__ import annotations

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
