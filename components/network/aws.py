"""An AWS VPC across availability zones: public subnets (load balancers, Docker hosts, NAT) and
private subnets (EKS nodes) per zone, an internet gateway, and NAT gateways — one for the stack
(`single`) or one per zone (`perZone`, production: a zone outage keeps the others' egress).
Or an existing VPC and its subnets by id.

Imports only the `pulumi_aws.ec2` submodule.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
import pulumi_aws.ec2 as ec2

from components.config.aws import subnet_prefix


@dataclass(frozen=True)
class AwsNetworkArgs:
    name: str
    region: str
    cidr: str
    zones: list[str]
    nat_per_zone: bool = False
    existing_vpc_id: str | None = None
    existing_public_subnet_ids: list[str] | None = None
    existing_private_subnet_ids: list[str] | None = None
    tags: dict[str, str] | None = None


def subnet_ranges(cidr: str, zones: int) -> tuple[list[str], list[str]]:
    """Equal subnets: the first half public, the second private, one of each per zone."""
    network = ipaddress.ip_network(cidr)
    subnets = [str(s) for s in network.subnets(new_prefix=subnet_prefix(cidr, 2 * zones))]
    return subnets[:zones], subnets[zones : 2 * zones]


ELB_ROLE_TAGS = {"public": "kubernetes.io/role/elb", "private": "kubernetes.io/role/internal-elb"}
"""Where the AWS load balancer controller and the in-tree service controller place internet-facing
(public) and internal (private) NLBs."""


def subnet_tags(tags: dict[str, str], network: str, tier: str, zone: str) -> dict[str, str]:
    """A subnet's tags: `<network>-<tier>-<zone>`, and the load balancers' role of its tier."""
    return {**tags, "Name": f"{network}-{tier}-{zone}", ELB_ROLE_TAGS[tier]: "1"}


def has_nat(zone_index: int, nat_per_zone: bool) -> bool:
    """A NAT gateway in every zone's public subnet, or in the first zone's only."""
    return zone_index == 0 or nat_per_zone


def egress_route(nat_gateway_id: pulumi.Input[str]) -> list[ec2.RouteTableRouteArgsDict]:
    return [{"cidr_block": "0.0.0.0/0", "nat_gateway_id": nat_gateway_id}]


class AwsNetwork(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    ip_range: str
    region: str
    public_subnet_ids: list[pulumi.Output[str]]
    private_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:network:AwsNetwork", name, None, opts)
        self.ip_range, self.region = args.cidr, args.region
        child = pulumi.ResourceOptions(parent=self)
        tags = {"Name": args.name, **(args.tags or {})}
        if args.existing_vpc_id is not None:
            self.network_id = pulumi.Output.from_input(args.existing_vpc_id)
            self.public_subnet_ids = [pulumi.Output.from_input(s) for s in args.existing_public_subnet_ids or []]
            self.private_subnet_ids = [pulumi.Output.from_input(s) for s in args.existing_private_subnet_ids or []]
            self.register_outputs({"vpc_id": self.network_id})
            return
        vpc = ec2.Vpc(f"{name}-vpc", cidr_block=args.cidr, enable_dns_hostnames=True, enable_dns_support=True, tags=tags, opts=child)
        self.network_id = vpc.id
        public_ranges, private_ranges = subnet_ranges(args.cidr, len(args.zones))
        nats = self._public_subnets(name, args, vpc.id, public_ranges, tags)
        self.private_subnet_ids = []
        for i, zone in enumerate(args.zones):
            private = ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=private_ranges[i],
                availability_zone=zone,
                tags=subnet_tags(tags, args.name, "private", zone),
                opts=child,
            )
            nat = nats[i] if args.nat_per_zone else nats[0]
            table = ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, routes=egress_route(nat.id), tags=tags, opts=child)
            ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=private.id, route_table_id=table.id, opts=child)
            self.private_subnet_ids.append(private.id)
        self.register_outputs({"vpc_id": self.network_id})

    def _public_subnets(
        self, name: str, args: AwsNetworkArgs, vpc_id: pulumi.Output[str], ranges: list[str], tags: dict[str, str]
    ) -> list[ec2.NatGateway]:
        """The internet gateway, a public subnet per zone routed to it, and the NAT gateways in them."""
        child = pulumi.ResourceOptions(parent=self)
        gateway = ec2.InternetGateway(f"{name}-igw", vpc_id=vpc_id, tags=tags, opts=child)
        public_table = ec2.RouteTable(
            f"{name}-public", vpc_id=vpc_id, routes=[{"cidr_block": "0.0.0.0/0", "gateway_id": gateway.id}], tags=tags, opts=child
        )
        self.public_subnet_ids = []
        nats: list[ec2.NatGateway] = []
        for i, zone in enumerate(args.zones):
            public = ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc_id,
                cidr_block=ranges[i],
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags=subnet_tags(tags, args.name, "public", zone),
                opts=child,
            )
            ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=public.id, route_table_id=public_table.id, opts=child)
            self.public_subnet_ids.append(public.id)
            if has_nat(i, args.nat_per_zone):
                address = ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags=tags, opts=child)
                nat = ec2.NatGateway(
                    f"{name}-nat-{zone}",
                    subnet_id=public.id,
                    allocation_id=address.id,
                    tags=tags,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[gateway]),
                )
                nats.append(nat)
        return nats
