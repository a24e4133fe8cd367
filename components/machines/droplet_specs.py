"""Pure builders of the DigitalOcean Docker hosts (machines/digitalocean.py): the firewall's rules, the
options that decide how a droplet is replaced, the load balancer's rules. Functions of values only.
"""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as do

from components.machines.cloud_init import DockerHostUserData, docker_host_user_data

DATA_LABEL = "meteor-data"
ANYWHERE = ["0.0.0.0/0", "::/0"]
WEB_PORTS = ("80", "443")
FIREWALL_OUTBOUND: list[do.FirewallOutboundRuleArgsDict] = [
    {"protocol": "tcp", "port_range": "1-65535", "destination_addresses": ANYWHERE},
    {"protocol": "udp", "port_range": "1-65535", "destination_addresses": ANYWHERE},
    {"protocol": "icmp", "destination_addresses": ANYWHERE},
]
LOAD_BALANCER_HEALTHCHECK: do.LoadBalancerHealthcheckArgsDict = {
    "protocol": "tcp",
    "port": 80,
    "check_interval_seconds": 10,
    "healthy_threshold": 3,
    "unhealthy_threshold": 3,
}
LOAD_BALANCER_IDLE_MAX_SECONDS = 600
"""Websockets and long polls: DigitalOcean allows at most 600 s."""


def firewall_inbound(
    admin_cidrs: list[str], *, load_balancer: pulumi.Input[str] | None, serve_traffic: bool
) -> list[do.FirewallInboundRuleArgsDict]:
    """SSH from the admin networks, ping from anywhere; the web ports from the load balancer alone
    when there is one (it alone is open to the world), else from anywhere when the hosts serve."""
    inbound: list[do.FirewallInboundRuleArgsDict] = [
        {"protocol": "tcp", "port_range": "22", "source_addresses": list(admin_cidrs)},
        {"protocol": "icmp", "source_addresses": ANYWHERE},
    ]
    if load_balancer is not None:
        for port in WEB_PORTS:
            inbound.append({"protocol": "tcp", "port_range": port, "source_load_balancer_uids": [load_balancer]})
    elif serve_traffic:
        for port in WEB_PORTS:
            inbound.append({"protocol": "tcp", "port_range": port, "source_addresses": ANYWHERE})
    return inbound


def droplet_options(*, holds_data: bool, protect: bool, parent: pulumi.Resource) -> pulumi.ResourceOptions:
    """How a droplet is replaced. The host holding protected data never is by a change of its user data or
    keys: roll it on purpose (README: rolling a host), the data volume comes back with it. A volume is
    attached to one droplet at a time: the old one goes first. Any other host: new user data means a new
    machine, created before the old one goes."""
    if holds_data and protect:
        return pulumi.ResourceOptions(parent=parent, protect=True, ignore_changes=["userData", "sshKeys"], delete_before_replace=True)
    if holds_data:
        return pulumi.ResourceOptions(parent=parent, replace_on_changes=["userData"], delete_before_replace=True)
    return pulumi.ResourceOptions(parent=parent, replace_on_changes=["userData"])


def droplet_user_data(deploy_user: str, ssh_public_key: str, host_key: tuple[str, str], holds_data: bool) -> str:
    """The cloud-init user data of one droplet (`host_key`: its private and public halves)."""
    private, public = host_key
    return docker_host_user_data(
        DockerHostUserData(
            deploy_user=deploy_user,
            ssh_public_keys=[ssh_public_key],
            host_key=(private, public.strip()),
            data_label=DATA_LABEL if holds_data else None,
        )
    )


def forwarding_rules(certificate: pulumi.Input[str] | None) -> list[do.LoadBalancerForwardingRuleArgsDict]:
    """HTTP to the hosts' port 80; with a certificate, HTTPS terminated here to the same port."""
    rules: list[do.LoadBalancerForwardingRuleArgsDict] = [
        {"entry_protocol": "http", "entry_port": 80, "target_protocol": "http", "target_port": 80}
    ]
    if certificate is not None:
        rules.append(
            {"entry_protocol": "https", "entry_port": 443, "target_protocol": "http", "target_port": 80, "certificate_name": certificate}
        )
    return rules


def sticky_sessions(session_cookie: str) -> do.LoadBalancerStickySessionsArgsDict:
    """A DDP client (and its uploads) stays on one host; the host's proxy keeps it on one container."""
    return {"type": "cookies", "cookie_name": f"{session_cookie}-host", "cookie_ttl_seconds": 86400}
