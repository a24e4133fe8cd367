"""The stack's Docker hosts from its `docker` section: the local engine or the cloud machines, each
with its Traefik proxy and the networks that proxy creates."""

from __future__ import annotations

from dataclasses import replace

from components.config import ConfigError, DockerPlatformConfig, key_path
from components.config.docker import LocalDockerConfig
from components.docker import DockerHost, DockerNames
from components.machines import DockerMachines
from components.registry import Registry
from components.scope import Scope


def docker_hosts(
    config: DockerPlatformConfig, scope: Scope, machines: DockerMachines | None, registry: Registry | None
) -> list[DockerHost]:
    from components.docker.hosts import local_docker_host, machine_docker_hosts

    d = config.docker
    names = DockerNames(d.name_prefix or scope.prefix)
    auth = None
    if registry is not None:
        from components.docker.hosts import registry_auth

        auth = registry_auth(registry.server.apply(lambda server: server.split("/", 1)[0]), registry.pull_credentials)
    if isinstance(d, LocalDockerConfig):
        hosts = local_docker_host(scope.name, d.local_host, names, scope.parent, auth)
    elif machines is not None:
        hosts = machine_docker_hosts(scope.name, machines, names, scope.parent, auth)
    else:  # config validation refuses this first, with the same message
        raise ConfigError([f"{key_path(['machines', 'provider'])}: missing; expected cloud machines because docker.hosts is 'machines'"])
    return [with_proxy(config, scope, host) for host in hosts]


def with_proxy(config: DockerPlatformConfig, scope: Scope, host: DockerHost) -> DockerHost:
    """`host` behind its Traefik proxy, with the networks the proxy created (its containers wait for them)."""
    from components.docker.proxy import TraefikProxy, TraefikProxyArgs

    d = config.docker
    behind_load_balancer = config.host_count > 1
    proxy = TraefikProxy(
        f"{scope.name}-{host.name}-proxy",
        TraefikProxyArgs(
            host=host,
            image=d.proxy_image,
            tls=config.ingress.serves_tls and not behind_load_balancer,
            acme_email=d.acme_email,
            http_port=d.http_port,
            https_port=d.https_port,
            idle_timeout_seconds=config.ingress.idle_timeout_seconds,
            protect=config.protect_stateful,
            bind_address=str(d.bind_address) if isinstance(d, LocalDockerConfig) else None,
            proxy_protocol_from=config.digitalocean.vpc_ip_range if behind_load_balancer else None,
        ),
        opts=scope.on_host(host),
    )
    networks = tuple(n for n in (proxy.edge_network, proxy.apps_network, proxy.instance_role_network) if n is not None)
    return replace(host, networks=networks)
