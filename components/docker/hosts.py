"""Docker hosts as deploy targets: one explicit pulumi-docker provider per host.

`local` is the engine on this machine (the dev stack); `machines` are the cloud machines,
reached over ssh as their non-root deploy user. With a private registry, each provider carries
its read-only credentials (`registry_auth`), so images are pulled without a login on the host.
"""

from __future__ import annotations

from dataclasses import replace

import pulumi
import pulumi_docker as docker

from components.docker import DockerHost, DockerNames, HostShell
from components.machines import DockerMachines

RegistryAuth = list[docker.ProviderRegistryAuthArgs] | None


def registry_auth(address: pulumi.Input[str], dockerconfigjson: pulumi.Input[str]) -> list[docker.ProviderRegistryAuthArgs]:
    """A Docker provider's login to one registry, from a `.dockerconfigjson` (secret).

    The args class, not a dict: the SDK sends provider config as JSON (`pulumi.runtime.to_json`),
    which spells an args class's properties as the provider reads them (`configFileContent`) but
    leaves a dict's keys as written.
    """
    return [docker.ProviderRegistryAuthArgs(address=address, config_file_content=pulumi.Output.secret(dockerconfigjson))]


def local_docker_host(name: str, endpoint: str, names: DockerNames, parent: pulumi.Resource, auth: RegistryAuth = None) -> list[DockerHost]:
    provider = docker.Provider(f"{name}-local-docker", host=endpoint, registry_auth=auth, opts=pulumi.ResourceOptions(parent=parent))
    return [DockerHost(name="local", provider=provider, names=names, shell=HostShell(docker_host=endpoint))]


def machine_docker_hosts(
    name: str, machines: DockerMachines, names: DockerNames, parent: pulumi.Resource, auth: RegistryAuth = None
) -> list[DockerHost]:
    hosts: list[DockerHost] = []
    for i, (url, ready, host_key, machine_id) in enumerate(
        zip(machines.docker_host_urls, machines.docker_ready, machines.host_public_keys, machines.machine_ids, strict=True)
    ):
        # The host key is the one the program installed: trust exactly it, never a key seen first.
        ssh_options = host_key.apply(lambda key: pinned_ssh_options(key, machines.ssh_proxy_command))
        provider = docker.Provider(
            f"{name}-host{i}-docker",
            host=url,
            ssh_opts=ssh_options,
            registry_auth=auth,
            opts=pulumi.ResourceOptions(parent=parent, depends_on=[ready]),
        )
        shell = HostShell(docker_host=url, ssh_options=ssh_options)
        hosts.append(
            DockerHost(
                name=f"host{i}",
                provider=provider,
                names=replace(names, machine=machine_id),
                shell=shell,
                machine_id=machine_id,
                instance_role_bridges=machines.instance_role_bridges,
            )
        )
    return hosts


def pinned_ssh_options(host_key: str, proxy_command: str | None = None) -> list[str]:
    """ssh options that accept only `host_key` (OpenSSH 8.5+ on the machine running `pulumi up`),
    through `proxy_command` when the hosts have no inbound ssh (AWS Session Manager)."""
    proxy = ["-o", f"ProxyCommand={proxy_command}"] if proxy_command else []
    return [
        *proxy,
        "-o",
        "StrictHostKeyChecking=yes",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        f"KnownHostsCommand=/bin/echo %H {host_key}",
        "-o",
        "ServerAliveInterval=30",
    ]
