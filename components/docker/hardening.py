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
