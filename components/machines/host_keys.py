"""What every cloud's Docker hosts share: ssh host keys made here (every client pins them) and `ssh://` URLs."""

from __future__ import annotations

import pulumi
import pulumi_tls as tls


def host_keys(name: str, count: int, *, protect: bool, parent: pulumi.Resource) -> list[tls.PrivateKey]:
    """Per host, `<name>-<i>-host-key`: its ed25519 host key, installed at boot."""
    return [
        tls.PrivateKey(f"{name}-{i}-host-key", algorithm="ED25519", opts=pulumi.ResourceOptions(parent=parent, protect=protect))
        for i in range(count)
    ]


def public_keys(keys: list[tls.PrivateKey]) -> list[pulumi.Output[str]]:
    """`ssh-ed25519 AAAA...` per key, as known_hosts pins it (no trailing newline)."""
    return [key.public_key_openssh.apply(lambda k: k.strip()) for key in keys]


def ssh_url(deploy_user: str, host: str) -> str:
    """The Docker host URL of a pulumi-docker provider reaching `host` as the deploy user."""
    return f"ssh://{deploy_user}@{host}"


def ssh_urls(deploy_user: str, hosts: list[pulumi.Output[str]]) -> list[pulumi.Output[str]]:
    return [host.apply(lambda h: ssh_url(deploy_user, h)) for host in hosts]
