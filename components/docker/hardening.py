"""Defaults every long-running service container on a Docker host shares (apps, MongoDB, MinIO, Traefik)."""

from __future__ import annotations

from typing import TypedDict


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
