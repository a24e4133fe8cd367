"""The stack's private network on DigitalOcean: one VPC every droplet, node and database joins."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do


@dataclass(frozen=True)
class DigitalOceanNetworkArgs:
    name: str
    """VPC name (unique per account and region)."""
    region: str
    ip_range: str
    """Private range, e.g. 10.120.0.0/20."""


class DigitalOceanNetwork(pulumi.ComponentResource):
    vpc: do.Vpc
    network_id: pulumi.Output[str]
    ip_range: str
    region: str

    def __init__(self, name: str, args: DigitalOceanNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:digitalocean:Network", name, None, opts)
        self.ip_range = args.ip_range
        self.region = args.region
        self.vpc = do.Vpc(
            f"{name}-vpc",
            name=args.name,
            region=args.region,
            ip_range=args.ip_range,
            description="meteor-platform private network",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.network_id = self.vpc.id
        self.register_outputs({"vpc_id": self.vpc.id})
