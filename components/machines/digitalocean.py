"""DigitalOcean droplets booted as hardened Docker hosts.

Exposes what the Docker-host target needs: each host's addresses and an `ssh://` Docker host
URL for the deploy user.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do
import pulumi_tls as tls

from components.machines.droplet_specs import (
    DATA_LABEL,
    FIREWALL_OUTBOUND,
    LOAD_BALANCER_HEALTHCHECK,
    LOAD_BALANCER_IDLE_MAX_SECONDS,
    droplet_options,
    droplet_user_data,
    firewall_inbound,
    forwarding_rules,
    sticky_sessions,
)
from components.machines.host_keys import host_keys, public_keys, ssh_urls
from components.machines.readiness import ReachableHost, docker_ready_over_ssh
from components.protection import stateful


@dataclass(frozen=True)
class LoadBalancerSpec:
    """A DigitalOcean load balancer in front of the hosts: the only way in from the internet."""

    domains: list[str]
    """The apps' public domains (its certificate covers them)."""
    tls: bool
    """Terminate HTTPS here (HTTP redirects to it); the hosts' proxies then serve plain HTTP."""
    session_cookie: str
    """Sticky sessions: a DDP client stays on one host."""
    idle_timeout_seconds: int
    certificate_name: str | None = None
    """An existing DigitalOcean certificate; else a Let's Encrypt one for `domains` (their DNS on DigitalOcean)."""


@dataclass(frozen=True)
class DigitalOceanMachinesArgs:
    name: str
    """Prefix of droplet names; also the tag that firewalls and the database firewall match."""
    region: str
    vpc_id: pulumi.Input[str]
    ssh_public_key: str
    admin_cidrs: list[str]
    """Networks allowed to reach SSH; nothing else may."""
    existing_ssh_key: str | None = None
    """Fingerprint of the same key already uploaded to the account (by another stack)."""
    count: int = 1
    size: str = "s-2vcpu-4gb"
    image: str = "ubuntu-24-04-x64"
    deploy_user: str = "deploy"
    serve_traffic: bool = True
    """Open 80/443 to the internet (hosts running the reverse proxy)."""
    reserved_ip: bool = False
    """Attach a reserved IP to the first host."""
    wait_for_docker: bool = False
    """Wait over ssh until cloud-init finished and Docker answers (when apps deploy to these hosts)."""
    data_volume_gib: int | None = None
    """Size of the block-storage volume holding the first host's Docker volumes (MongoDB, MinIO, certificates)."""
    protect: bool = False
    """Protect the data volume, and the host holding it (whose user data and keys then never replace it)."""
    load_balancer: LoadBalancerSpec | None = None
    """Put a load balancer in front of the hosts (several hosts serving apps)."""


class DigitalOceanMachines(pulumi.ComponentResource):
    """Droplets in the VPC with an SSH key, a Cloud Firewall, monitoring and Docker via cloud-init."""

    droplets: list[do.Droplet]
    firewall: do.Firewall
    reserved_ip: do.ReservedIp | None
    load_balancer: do.LoadBalancer | None
    tag: str
    public_addresses: list[pulumi.Output[str]]
    machine_ids: list[pulumi.Output[str]]
    docker_host_urls: list[pulumi.Output[str]]
    docker_ready: list[pulumi.Resource]
    data_volume: do.Volume | None
    host_keys: list[tls.PrivateKey]
    ssh_proxy_command: str | None = None
    instance_role_bridges: str | None = None
    host_public_keys: list[pulumi.Output[str]]

    def __init__(self, name: str, args: DigitalOceanMachinesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:machines:DigitalOceanMachines", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.tag = args.name
        tag = do.Tag(f"{name}-tag", name=args.name, opts=child)
        # A public key can be uploaded once per account: a second stack names the first one's by fingerprint.
        fingerprint: pulumi.Input[str]
        if args.existing_ssh_key is not None:
            fingerprint = args.existing_ssh_key
        else:
            fingerprint = do.SshKey(f"{name}-ssh-key", name=f"{args.name}-deploy", public_key=args.ssh_public_key, opts=child).fingerprint
        self.data_volume = self._data_volume(name, args) if args.data_volume_gib is not None else None
        self.host_keys = host_keys(name, args.count, protect=args.protect, parent=self)
        self.host_public_keys = public_keys(self.host_keys)
        self.droplets = [self._droplet(name, i, args, fingerprint, tag.id) for i in range(args.count)]
        self.load_balancer = self._load_balancer(name, args, tag.id) if args.load_balancer is not None else None
        self.firewall = do.Firewall(
            f"{name}-firewall",
            name=f"{args.name}-firewall",
            tags=[tag.id],
            inbound_rules=firewall_inbound(
                args.admin_cidrs,
                load_balancer=self.load_balancer.id if self.load_balancer is not None else None,
                serve_traffic=args.serve_traffic,
            ),
            outbound_rules=FIREWALL_OUTBOUND,
            opts=child,
        )
        self.reserved_ip = None
        if args.reserved_ip and self.droplets:
            self.reserved_ip = do.ReservedIp(
                f"{name}-reserved-ip", region=args.region, droplet_id=self.droplets[0].id.apply(int), opts=child
            )
        self.machine_ids = [d.id for d in self.droplets]
        self.public_addresses = [d.ipv4_address for d in self.droplets]
        if self.reserved_ip is not None:
            self.public_addresses[0] = self.reserved_ip.ip_address
        self.docker_host_urls = ssh_urls(args.deploy_user, self.public_addresses)
        # Docker arrives through cloud-init after boot: wait for it (over ssh, with the same agent
        # key pulumi-docker uses) before anything is deployed to the host.
        self.docker_ready = []
        if args.wait_for_docker:
            self.docker_ready = docker_ready_over_ssh(
                name,
                [
                    ReachableHost(machine_id=droplet.id, address=address, host_key=host_key)
                    for droplet, address, host_key in zip(self.droplets, self.public_addresses, self.host_public_keys, strict=True)
                ],
                args.deploy_user,
                pulumi.ResourceOptions(parent=self, depends_on=[self.firewall]),
            )
        self.register_outputs({"public_addresses": self.public_addresses, "docker_host_urls": self.docker_host_urls})

    def _data_volume(self, name: str, args: DigitalOceanMachinesArgs) -> do.Volume:
        """The data of the services on the first host lives on a block-storage volume, not on the
        droplet's own disk: a replaced droplet gets the same volume (and data) back."""
        return do.Volume(
            f"{name}-data",
            name=f"{args.name}-data",
            region=args.region,
            size=args.data_volume_gib or 0,
            initial_filesystem_type="ext4",
            initial_filesystem_label=DATA_LABEL,
            description="meteor-platform: Docker volumes of the first host (MongoDB, MinIO, certificates)",
            opts=stateful(args.protect, parent=self),
        )

    def _droplet(
        self, name: str, i: int, args: DigitalOceanMachinesArgs, fingerprint: pulumi.Input[str], tag: pulumi.Input[str]
    ) -> do.Droplet:
        holds_data = i == 0 and self.data_volume is not None
        key = self.host_keys[i]
        user_data = pulumi.Output.secret(
            pulumi.Output.all(key.private_key_openssh, key.public_key_openssh).apply(
                lambda keys, holds=holds_data: droplet_user_data(args.deploy_user, args.ssh_public_key, (str(keys[0]), str(keys[1])), holds)
            )
        )
        return do.Droplet(
            f"{name}-{i}",
            name=f"{args.name}-{i}",
            region=args.region,
            size=args.size,
            image=args.image,
            vpc_uuid=args.vpc_id,
            ssh_keys=[fingerprint],
            user_data=user_data,
            volume_ids=[self.data_volume.id] if holds_data and self.data_volume is not None else None,
            # Weekly DigitalOcean backups of machines whose data is protected (production).
            backups=args.protect,
            monitoring=True,
            ipv6=True,
            droplet_agent=True,
            graceful_shutdown=True,
            tags=[tag],
            opts=droplet_options(holds_data=holds_data, protect=args.protect, parent=self),
        )

    def _load_balancer(self, name: str, args: DigitalOceanMachinesArgs, tag: pulumi.Input[str]) -> do.LoadBalancer:
        spec = args.load_balancer
        assert spec is not None
        child = pulumi.ResourceOptions(parent=self)
        certificate: pulumi.Input[str] | None = None
        if spec.tls and spec.certificate_name is not None:
            certificate = spec.certificate_name
        elif spec.tls:
            certificate = do.Certificate(
                f"{name}-certificate", name=f"{args.name}-cert", type="lets_encrypt", domains=sorted(spec.domains), opts=child
            ).name
        return do.LoadBalancer(
            f"{name}-load-balancer",
            name=f"{args.name}-lb",
            region=args.region,
            vpc_uuid=args.vpc_id,
            droplet_tag=tag,
            forwarding_rules=forwarding_rules(certificate),
            redirect_http_to_https=spec.tls,
            sticky_sessions=sticky_sessions(spec.session_cookie),
            healthcheck=LOAD_BALANCER_HEALTHCHECK,
            # The client address reaches the hosts' Traefik by PROXY protocol (trusted from the VPC only).
            enable_proxy_protocol=True,
            http_idle_timeout_seconds=min(spec.idle_timeout_seconds, LOAD_BALANCER_IDLE_MAX_SECONDS),
            opts=child,
        )
