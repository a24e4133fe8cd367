"""Cloud machines booted as hardened Docker hosts (the Docker Machine idea).

cloud_init.py   the user data every cloud boots its Docker hosts with
readiness.py    waiting until a new host's Docker answers
host_keys.py    what every cloud's hosts share: ssh host keys made here, ssh:// URLs
digitalocean.py droplets (droplet_specs.py: its pure builders)
aws.py          EC2 instances (ec2_specs.py: its pure builders)
ssm_host_key.py run on an EC2 host at boot: its ssh host key from SSM, unless already installed
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi

    from components.observability import Ec2Hosts, TaggedDroplets


class DockerMachines(Protocol):
    """What the Docker-host target and the database firewalls need from a set of machines."""

    tag: str
    """Tag every machine carries (firewalls admit it)."""
    public_addresses: list[pulumi.Output[str]]
    machine_ids: list[pulumi.Output[str]]
    """Per host: the droplet or instance id (a new id is a new machine)."""
    docker_host_urls: list[pulumi.Output[str]]
    """`ssh://<user>@<address>` per host, for a pulumi-docker provider."""
    docker_ready: list[pulumi.Resource]
    """Per host: done once the host finished booting and Docker answers (empty unless asked for)."""
    host_public_keys: list[pulumi.Output[str]]
    """Per host: its ssh host key (`ssh-ed25519 AAAA...`), which clients pin instead of trusting on first use."""
    ssh_proxy_command: str | None
    """An ssh ProxyCommand to reach the hosts (AWS Session Manager), or None for direct ssh."""
    instance_role_bridges: str | None
    """EC2: the bridge-name prefix of the networks whose containers may reach the metadata service
    (and with it the instance role); None where no container may (cloud_init.py)."""


@dataclass(frozen=True)
class StackMachines:
    """The machines a stack runs, with what other capabilities learn of them as plain values."""

    machines: DockerMachines
    instance_role_name: pulumi.Output[str] | None = None
    """EC2: the hosts' instance role, the identity storage grants its bucket to; None elsewhere."""
    data_volume_name: pulumi.Output[str] | None = None
    """EC2: the `Name` tag of the first host's data volume (the scheduled snapshots select it); None elsewhere."""
    ec2_hosts: Ec2Hosts | None = None
    """EC2: the hosts as their alarms and log shipping see them."""
    droplets: TaggedDroplets | None = None
    """DigitalOcean: the tag every host carries (alerts select by it)."""
    droplet_data_volume: pulumi.Resource | None = None
    """DigitalOcean: the first host's data volume, when it has one (the agent does not report it)."""
