"""The stack's networks, from its config: a DigitalOcean VPC for every stack that uses DigitalOcean,
an AWS VPC for EC2 hosts or an EKS cluster. Each is built once here and handed to what joins it."""

from __future__ import annotations

from dataclasses import dataclass

from components.config import KubernetesPlatformConfig, PlatformConfig
from components.config.machines import AwsMachinesConfig
from components.network import PrivateNetwork, SubnettedNetwork
from components.scope import Scope


@dataclass(frozen=True)
class StackNetworks:
    digitalocean: PrivateNetwork | None = None
    aws: SubnettedNetwork | None = None

    @property
    def network(self) -> PrivateNetwork | None:
        """The stack's network (its AWS VPC when it has one)."""
        return self.aws or self.digitalocean


def needs_aws_vpc(config: PlatformConfig) -> bool:
    """EC2 hosts and EKS nodes join the stack's AWS VPC; nothing else of the stack lives in one."""
    from components.config.kubernetes import EksConfig

    on_eks = isinstance(config, KubernetesPlatformConfig) and isinstance(config.kubernetes, EksConfig)
    return on_eks or isinstance(config.machines, AwsMachinesConfig)


def networks(config: PlatformConfig, scope: Scope) -> StackNetworks:
    # Every DigitalOcean stack gets its VPC, whether or not its first resource needs it.
    return StackNetworks(
        digitalocean=digitalocean_network(config, scope) if config.uses_digitalocean else None,
        aws=aws_network(config, scope) if needs_aws_vpc(config) else None,
    )


def digitalocean_network(config: PlatformConfig, scope: Scope) -> PrivateNetwork:
    from components.network.digitalocean import DigitalOceanNetwork, DigitalOceanNetworkArgs

    do_config = config.digitalocean
    return DigitalOceanNetwork(
        f"{scope.name}-network",
        DigitalOceanNetworkArgs(name=f"{scope.prefix}-vpc", region=do_config.region, ip_range=do_config.vpc_ip_range),
        opts=scope.child(),
    )


def aws_network(config: PlatformConfig, scope: Scope) -> SubnettedNetwork:
    """The stack's AWS VPC, created or looked up by id (`aws.vpc.existing`)."""
    from components.network.aws import AwsNetwork, AwsNetworkArgs

    vpc = config.aws.vpc
    existing = vpc.existing
    return AwsNetwork(
        f"{scope.name}-aws-network",
        AwsNetworkArgs(
            name=scope.prefix,
            region=config.aws.region,
            cidr=vpc.cidr,
            zones=list(vpc.availability_zones),
            nat_per_zone=vpc.nat_gateways == "perZone",
            existing_vpc_id=existing.vpc_id if existing else None,
            existing_public_subnet_ids=list(existing.public_subnet_ids) if existing else None,
            existing_private_subnet_ids=list(existing.private_subnet_ids) if existing else None,
        ),
        opts=scope.child(),
    )
