"""Defaults every long-running service container on a Docker host shares (apps, MongoDB, MinIO, Traefik)."""

from __future__ import annotations

from typing import TypedDict

import pulumi_docker as docker


class ServiceContainerDefaults(TypedDict):
    log_driver: str
    log_opts: dict[str, str]
    security_opts: list[str]


def service_container_defaults() -> ServiceContainerDefaults:
    """Rotated local logs and no privilege escalation (`docker.Container(**service_container_defaults(), ...)`)."""
    return {
        "log_driver": "local",
        "log_opts": {"max-size": "20m", "max-file": "5"},
        "security_opts": ["no-new-privileges:true"],
    }


class ContainerLimits(TypedDict):
    memory: int
    cpus: str
    ulimits: list[docker.ContainerUlimitArgsDict]


MAX_PROCESSES = 4096
"""pulumi-docker 5.2 has no pids limit: RLIMIT_NPROC bounds fork bombs instead (it counts per UID on the host)."""


def limits(memory_mib: int, cpus: str) -> ContainerLimits:
    """Memory (MiB), CPU (cores) and process limits for a container: every container gets them."""
    return {"memory": memory_mib, "cpus": cpus, "ulimits": [{"name": "nproc", "soft": MAX_PROCESSES, "hard": MAX_PROCESSES}]}


def only_capabilities(*adds: str) -> docker.ContainerCapabilitiesArgsDict:
    """Every capability dropped but `adds`, written as Docker stores them (`CAP_CHOWN`, never `CHOWN`).

    The Docker client normalizes added and dropped capabilities to the `CAP_` form before it creates
    the container (`ALL` stays `ALL`: moby/moby client/container_create.go normalizeCapabilities, in
    the docker/docker v28.5.2 client kreuzwerker's go.mod pins), and the provider's Read stores what
    Docker returns (`"add": container.HostConfig.CapAdd`, kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go, read at v4.5.0 and 83c00e0b; pulumi-docker
    5.2.0 bundles v4.6.0 or newer) with no diff suppression on `capabilities`, which is ForceNew
    (resource_docker_container.go): a short name would differ from the state and replace the
    container on every `up` (kreuzwerker's own acceptance test expects `CAP_SYS_ADMIN` since 13998c12).
    """
    short = [name for name in adds if not name.startswith("CAP_")]
    if short:
        raise ValueError(f"capabilities {short}: write them as Docker stores them, with the CAP_ prefix")
    capabilities: docker.ContainerCapabilitiesArgsDict = {"drops": ["ALL"]}
    if adds:
        capabilities["adds"] = list(adds)
    return capabilities
