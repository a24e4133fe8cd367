"""Docker hosts as a deploy target: each host with its own provider, networks and names.

hosts.py     a pulumi-docker provider per host (the local engine, or the cloud machines over ssh)
proxy.py     Traefik behind a read-only Docker API proxy, and the host's networks
services.py  data volumes and one-shot setup steps of stateful services
hardening.py defaults and limits every container gets
identity.py  everything on a host follows its machine (a replaced machine runs it all again)
steps.py     a step run to completion from `pulumi up`, retried by the next `up` when it failed
select.py    the hosts a stack's `docker` section asks for, each with its Traefik
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi
    import pulumi_docker as docker


@dataclass(frozen=True)
class DockerNames:
    """The names the platform gives objects on a Docker engine, all under one prefix (`meteor-<stack>`),
    so several stacks can share one engine. On a cloud machine, network names end in a short form
    of the machine's id (`meteor-edge-1a2b3c4d`), so they follow the machine (identity.py)."""

    prefix: str
    machine: pulumi.Input[str] | None = None
    """The cloud machine's id; None for the local engine (its networks keep their plain names)."""

    @property
    def edge(self) -> pulumi.Input[str]:
        """The network Traefik reaches the apps on."""
        return self._network("edge")

    @property
    def apps(self) -> pulumi.Input[str]:
        """The private network apps, MongoDB and the object store talk on; nothing on it is published."""
        return self._network("apps")

    @property
    def instance_role(self) -> pulumi.Input[str]:
        """EC2 hosts: the network of the app containers that use the instance role (the only one whose
        containers reach the metadata service: machines/cloud_init.py)."""
        return self._network("instance-role")

    @property
    def docker_api(self) -> pulumi.Input[str]:
        """The internal network between Traefik and the Docker socket proxy."""
        return self._network("docker-api")

    def _network(self, role: str) -> pulumi.Input[str]:
        name = f"{self.prefix}-{role}"
        if self.machine is None:
            return name
        import pulumi

        from components.docker.identity import machine_tag

        return pulumi.Output.from_input(self.machine).apply(lambda machine: f"{name}-{machine_tag(machine)}")

    def of(self, thing: str) -> str:
        """A container or volume: `traefik`, `mongo`, `mongo-data`, ... (never tagged: volumes stay with the data)."""
        return f"{self.prefix}-{thing}"


@dataclass(frozen=True)
class HostShell:
    """How the machine running `pulumi up` reaches the host's Docker with its own tools: the
    `docker` CLI against the local engine, or `ssh` to the cloud machine (the pinned host key)."""

    docker_host: pulumi.Input[str]
    """The local engine's endpoint (DOCKER_HOST), or the machine's `ssh://user@address`."""
    ssh_options: pulumi.Input[Sequence[str]] | None = None
    """For a machine: the ssh options its Docker provider uses (host key pinned, proxy)."""


@dataclass(frozen=True)
class DockerHost:
    name: str
    """Short name used in resource names (`local`, `host0`, ...)."""
    provider: docker.Provider
    """Explicit provider for everything on this host."""
    names: DockerNames
    """The names of the platform's objects on this host."""
    shell: HostShell
    """Runs a command on the host from the machine running `pulumi up` (see steps.py)."""
    networks: tuple[pulumi.Resource, ...] = ()
    """The host's networks (edge, apps): containers on the host wait for them."""
    machine_id: pulumi.Input[str] | None = None
    """The cloud machine's id (None for the local engine): what runs on the host follows it."""
    instance_role_bridges: str | None = None
    """EC2: the bridge-name prefix the host lets through to the metadata service (DockerMachines)."""

    def follows_machine(self) -> list[pulumi.ResourceTransformation]:
        """For the `transformations` option of whatever runs on this host (see identity.py)."""
        from components.docker.identity import follow_machine

        return [] if self.machine_id is None else [follow_machine(self.machine_id)]
