"""The stack's private network.

digitalocean.py one VPC every droplet, node and database joins
aws.py          a VPC with a public and a private subnet per zone (or an existing one's)
select.py       which networks a stack's config asks for, built once and passed on
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi


class PrivateNetwork(Protocol):
    network_id: pulumi.Output[str]
    """The cloud's id of the network (VPC)."""
    ip_range: str
    region: str


class SubnettedNetwork(PrivateNetwork, Protocol):
    """A network whose machines and nodes join one of its subnets (AWS)."""

    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]
