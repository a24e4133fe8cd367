"""Docker hosts as a deploy target: each host with its own provider and networks.

hosts.py     a pulumi-docker provider per host (the local engine, or the cloud machines over ssh)
proxy.py     Traefik and the host's networks
hardening.py defaults every long-running service container shares
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi
    import pulumi_docker as docker

EDGE_NETWORK = "meteor-edge"
"""The network Traefik reaches the apps on."""
APPS_NETWORK = "meteor-apps"
DOCKER_API_NETWORK = "meteor-docker-api"
"""Internal network between Traefik and the Docker socket proxy: nothing else is on it."""
"""The private network apps, MongoDB and the object store talk on; nothing on it is published."""


@dataclass(frozen=True)
class DockerHost:
    name: str
    """Short name used in resource names (`local`, `host0`, ...)."""
    provider: docker.Provider
    """Explicit provider for everything on this host."""
    networks: tuple[pulumi.Resource, ...] = ()
    """The host's networks (edge, apps): containers on the host wait for them."""
