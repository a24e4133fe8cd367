"""What a Kubernetes API server answers: auto-named objects in a namespace, a Service's cluster IP."""

from __future__ import annotations

from typing import Any

from offline_plan.fakes.deterministic import digest, stable_uuid

KUBERNETES_READ_BACK = {"apiVersion", "kind", "metadata", "stringData", "data", "type"}
CLUSTER_SCOPED_KINDS = {"Namespace", "StorageClass", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def kubernetes_state(name: str, state: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = dict(state.get("metadata") or {})
    if not meta.get("name"):
        # Pulumi auto-names Kubernetes objects: logical name plus a random suffix.
        meta["name"] = f"{name}-{digest('autoname', name)[:8]}"
    if state["kind"] not in CLUSTER_SCOPED_KINDS:
        meta.setdefault("namespace", "default")
    meta["uid"] = str(stable_uuid(name))
    meta["resourceVersion"] = "1"
    meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
    state["metadata"] = meta
    if state["kind"] == "Service":
        spec = dict(state.get("spec") or {})
        if spec.get("clusterIP") != "None":
            value = int(digest("ip", name)[:4], 16)
            spec["clusterIP"] = f"10.96.{value // 256 % 256}.{value % 254 + 1}"
        state["spec"] = spec
    return state


def kubernetes_object(name: str, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The object's id (`<namespace>/<name>`, or the name when cluster-scoped) and what the program reads back."""
    state = kubernetes_state(name, inputs)
    meta = state["metadata"]
    resource_id = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
    # Answer what programs read from a Kubernetes object (its metadata, a Secret's keys, a
    # Service's address), not an echo of every input: the SDK deserializes whatever comes back.
    return resource_id, {k: v for k, v in state.items() if k in KUBERNETES_READ_BACK or (k == "spec" and state["kind"] == "Service")}
