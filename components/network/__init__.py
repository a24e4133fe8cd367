"""The stack's private network.

digitalocean.py one VPC every droplet, node and database joins
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
