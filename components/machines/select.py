"""Cloud machines from the stack's `machines` section: EC2 instances, droplets, or none."""

from __future__ import annotations

from typing import TYPE_CHECKING

from components.config import PlatformConfig
from components.config.machines import AwsMachinesConfig, DigitalOceanMachinesConfig
from components.machines import StackMachines
from components.network import PrivateNetwork
from components.network.select import StackNetworks
from components.scope import Scope
from components.units import gibibytes

if TYPE_CHECKING:
    from components.machines.digitalocean import DigitalOceanMachines


def machines(
    config: PlatformConfig, scope: Scope, networks: StackNetworks, *, wait_for_docker: bool, cloudwatch_namespace: str | None
) -> StackMachines | None:
    """`wait_for_docker`: the machines are the stack's Docker hosts (they serve its apps and keep a data volume).
    `cloudwatch_namespace`: EC2 hosts run the CloudWatch agent, reporting there."""
    m = config.machines
    if isinstance(m, AwsMachinesConfig):
        from components.machines.aws import AwsMachines, AwsMachinesArgs

        assert networks.aws is not None, "EC2 hosts join the stack's AWS VPC (network/select.py needs_aws_vpc)"
        hosts = AwsMachines(
            f"{scope.name}-machines",
            AwsMachinesArgs(
                name=scope.prefix,
                stack=scope.stack,
                zone=config.aws.vpc.availability_zones[0],
                subnet_ids=networks.aws.public_subnet_ids,
                vpc_id=networks.aws.network_id,
                ssh_public_key=m.ssh_public_key,
                admin_cidrs=list(m.admin_cidrs),
                count=m.count,
                instance_type=m.instance_type,
                distro=m.distro,
                access=m.access,
                deploy_user=m.deploy_user,
                root_volume_gib=m.root_volume_gib,
                data_volume_gib=int(gibibytes(m.data_volume_size)) if wait_for_docker else None,
                serve_traffic=wait_for_docker,
                protect=config.protect_stateful,
                wait_for_docker=wait_for_docker,
                cloudwatch_namespace=cloudwatch_namespace,
            ),
            config.aws.region,
            opts=scope.child(),
        )
        volume = hosts.data_volume
        # Its own Name tag (unique per stack): whatever machines/aws.py names it.
        volume_name = volume.tags.apply(lambda tags: (tags or {})["Name"]) if volume is not None else None
        from components.observability import Ec2Hosts

        watched = Ec2Hosts(hosts.role.name, hosts.instances, hosts.data_volume is not None)
        return StackMachines(hosts, instance_role_name=hosts.role.name, data_volume_name=volume_name, ec2_hosts=watched)
    if isinstance(m, DigitalOceanMachinesConfig):
        assert networks.digitalocean is not None, "droplets make the stack use DigitalOcean (config.uses_digitalocean)"
        from components.observability import TaggedDroplets

        fleet = droplets(config, m, scope, networks.digitalocean, wait_for_docker=wait_for_docker)
        # The firewall names the machines' tag: once it exists, so does the tag.
        return StackMachines(fleet, droplets=TaggedDroplets(fleet.tag, [fleet.firewall]), droplet_data_volume=fleet.data_volume)
    return None


def droplets(
    config: PlatformConfig, m: DigitalOceanMachinesConfig, scope: Scope, network: PrivateNetwork, *, wait_for_docker: bool
) -> DigitalOceanMachines:
    from components.machines.digitalocean import DigitalOceanMachines, DigitalOceanMachinesArgs, LoadBalancerSpec

    load_balancer = None
    if wait_for_docker and m.count > 1:
        # Apps on several hosts: one entry point, sticky per host, TLS terminated there.
        load_balancer = LoadBalancerSpec(
            domains=[a.domain for a in config.apps if a.domain],
            tls=config.ingress.serves_tls,
            session_cookie=config.ingress.session_cookie,
            idle_timeout_seconds=config.ingress.idle_timeout_seconds,
            certificate_name=m.load_balancer_certificate,
        )
    return DigitalOceanMachines(
        f"{scope.name}-machines",
        DigitalOceanMachinesArgs(
            name=f"{scope.prefix}-docker",
            region=network.region,
            vpc_id=network.network_id,
            ssh_public_key=m.ssh_public_key,
            existing_ssh_key=m.existing_ssh_key,
            admin_cidrs=m.admin_cidrs,
            count=m.count,
            size=m.size,
            image=m.image,
            deploy_user=m.deploy_user,
            serve_traffic=m.serve_traffic if m.serve_traffic is not None else wait_for_docker,
            reserved_ip=m.reserved_ip,
            wait_for_docker=wait_for_docker,
            # Apps' services keep their data on a block-storage volume of the first host.
            data_volume_gib=max(1, round(gibibytes(m.data_volume_size))) if wait_for_docker else None,
            protect=config.protect_stateful,
            load_balancer=load_balancer,
        ),
        opts=scope.child(),
    )
