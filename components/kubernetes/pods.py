"""The pod template every workload of the platform starts from: apps, migrations, MongoDB and backups.

No Kubernetes API token, the runtime's seccomp profile, a fixed non-root user when the image has
one, containers that drop every capability: what each workload adds is only what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

SAFE_TO_EVICT_LOCAL_VOLUMES = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
"""A pod annotation listing the emptyDir volumes a node autoscaler may discard with the pod: without it the
Cluster Autoscaler never removes a node running a pod with local storage (kubernetes/autoscaler
cluster-autoscaler/FAQ.md, "What types of pods can prevent CA from removing a node?"). Set on pods whose
emptyDirs are scratch (the apps', Traefik's); Jobs (migrations, backups) and MongoDB keep the protection."""

RESTRICTED_CONTAINER: k8s.core.v1.SecurityContextArgsDict = {
    "allow_privilege_escalation": False,
    "capabilities": {"drop": ["ALL"]},
    "seccomp_profile": {"type": "RuntimeDefault"},
}
READ_ONLY_CONTAINER: k8s.core.v1.SecurityContextArgsDict = {**RESTRICTED_CONTAINER, "read_only_root_filesystem": True}


def dump_mounts(name: str, *, read_only: bool = False) -> list[k8s.core.v1.VolumeMountArgsDict]:
    """The containers that move a MongoDB dump (backup, restore): its scratch volume at `/<name>`, a writable /tmp."""
    dump: k8s.core.v1.VolumeMountArgsDict = {"name": name, "mount_path": f"/{name}"}
    return [{**dump, "read_only": True} if read_only else dump, {"name": "tmp", "mount_path": "/tmp"}]


def dump_volumes(name: str) -> list[k8s.core.v1.VolumeArgsDict]:
    """The scratch volumes `dump_mounts` mounts: room for one compressed dump, and /tmp."""
    return [{"name": name, "empty_dir": {"size_limit": "20Gi"}}, {"name": "tmp", "empty_dir": {"size_limit": "64Mi"}}]


def secret_env(name: str, secret: pulumi.Input[str], key: str) -> k8s.core.v1.EnvVarArgsDict:
    """An environment variable read from a Secret (never a plain value)."""
    return {"name": name, "value_from": {"secret_key_ref": {"name": secret, "key": key}}}


def pod_security(user: int | None, sysctls: Sequence[k8s.core.v1.SysctlArgsDict] = ()) -> k8s.core.v1.PodSecurityContextArgsDict:
    """The runtime's seccomp profile; with `user`, every container runs as that user and group (and owns its volumes)."""
    security: k8s.core.v1.PodSecurityContextArgsDict = {"seccomp_profile": {"type": "RuntimeDefault"}}
    if user is not None:
        security |= {"run_as_non_root": True, "run_as_user": user, "run_as_group": user, "fs_group": user}
    if sysctls:
        security["sysctls"] = list(sysctls)
    return security


def pod_spec(
    *,
    containers: Sequence[k8s.core.v1.ContainerArgsDict],
    user: int | None,
    volumes: Sequence[k8s.core.v1.VolumeArgsDict],
    init_containers: Sequence[k8s.core.v1.ContainerArgsDict] = (),
    service_account: str | None = None,
    sysctls: Sequence[k8s.core.v1.SysctlArgsDict] = (),
) -> k8s.core.v1.PodSpecArgsDict:
    """The shared pod: no API token; with `service_account`, that identity (a cloud role, EKS Pod Identity)."""
    spec: k8s.core.v1.PodSpecArgsDict = {
        "automount_service_account_token": False,
        "security_context": pod_security(user, sysctls),
        "containers": list(containers),
        "volumes": list(volumes),
    }
    if init_containers:
        spec["init_containers"] = list(init_containers)
    if service_account is not None:
        # EKS Pod Identity mounts its own projected token (audience pods.eks.amazonaws.com) into every
        # container of a pod whose service account has an association, whatever automountServiceAccountToken
        # says (aws/amazon-eks-pod-identity-webhook pkg/handler/handler.go getPodSpecPatch): no API token.
        spec["service_account_name"] = service_account
    return spec


def api_spelling(value: Any) -> Any:
    """The SDK's snake_case keys as the Kubernetes API spells them (`run_as_user` -> `runAsUser`, `exec_` ->
    `exec`): for manifests created by kubectl. Only for specs whose own keys hold no underscores (no label maps)."""
    if isinstance(value, dict):
        spelled: dict[str, Any] = {}
        for key, item in value.items():  # pyright: ignore[reportUnknownVariableType]
            head, *rest = str(key).split("_")  # `exec_` -> `exec`: the trailing part is empty  # pyright: ignore[reportUnknownArgumentType]
            spelled[head + "".join(part[:1].upper() + part[1:] for part in rest)] = api_spelling(item)
        return spelled
    if isinstance(value, list):
        return [api_spelling(item) for item in value]  # pyright: ignore[reportUnknownVariableType]
    return value
