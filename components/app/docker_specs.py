"""Pure builders of a Meteor app's containers on Docker hosts: plain values in, container settings out.

The same contract as on Kubernetes (rollout.py: the canary's share, the drain time): instances
spread round-robin over the hosts, each behind Traefik with sticky sessions, healthy before the
next is replaced.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict

import pulumi
import pulumi_docker as docker

from components.app.environment import AppEnvironment
from components.app.one_off import one_off
from components.app.rollout import InstanceCounts, termination_grace_seconds
from components.config import DockerAppConfig, ImageFlavor
from components.config.apps import MigrationConfig
from components.docker import DockerHost
from components.docker.hardening import ServiceContainerDefaults, only_capabilities, service_container_defaults
from components.docker.proxy import traefik_labels

if TYPE_CHECKING:
    from components.observability.aws_logs import ContainerLogDriver

# Every MeteorD-style image has node; node 0.10 (legacy MeteorD) has no arrow functions.
HEALTH_SCRIPT = (
    "require('http').get('http://127.0.0.1:' + process.env.PORT + '{path}', function (r) {{"
    " process.exit(r.statusCode < 500 ? 0 : 1); }}).on('error', function () {{ process.exit(1); }});"
)
HEALTHY_WITHIN_SECONDS = 300
"""How long a new app container has to become healthy: its health check's start period (120 s) and
three failed probes fit well inside."""
STABLE, CANARY = "stable", "canary"


def internal_url(app: DockerAppConfig) -> str:
    """How other containers on the apps network reach the app (its network alias)."""
    return f"http://{app.name}:{app.container_port}"


def placement(replicas: int, hosts: Sequence[DockerHost]) -> list[tuple[DockerHost, int]]:
    """(host, index on that host) for each of the app's instances, round-robin over the hosts."""
    return [(hosts[i % len(hosts)], i // len(hosts)) for i in range(replicas)]


@dataclass(frozen=True)
class Instance:
    """One container of the app: which version, on which host, under which names."""

    track: str
    """`stable` or `canary`."""
    host: DockerHost
    resource_name: str
    hostname: str
    """Its --hostname and network alias (what CLUSTER_ENDPOINT_URL names)."""


def instances(name: str, app: DockerAppConfig, counts: InstanceCounts, hosts: Sequence[DockerHost]) -> list[Instance]:
    """The stable instances, then the canary's, each version round-robin over the hosts."""
    out: list[Instance] = []
    for track, count in ((STABLE, counts.stable), (CANARY, counts.canary)):
        infix = "" if track == STABLE else "-canary"
        for host, index in placement(count, hosts):
            out.append(Instance(track, host, f"{name}{infix}-{host.name}-{index}", f"{app.name}{infix}-{host.name}-{index}"))
    return out


def image_resource_name(name: str, host: DockerHost, track: str) -> str:
    """The pulled image of one version on one host."""
    return f"{name}-{host.name}{'' if track == STABLE else f'-{track}'}-image"


def container_env(environment: AppEnvironment, port: int, hostname: str) -> pulumi.Output[list[str]]:
    """The container's `KEY=value` lines (a secret): CLUSTER_ENDPOINT_URL names this container directly."""
    plain = dict(environment.plain)
    if "CLUSTER_ENDPOINT_URL" in plain:
        plain["CLUSTER_ENDPOINT_URL"] = f"http://{hostname}:{port}"
    lines = [f"{k}={v}" for k, v in sorted(plain.items())]
    secret_names = sorted(environment.secret)
    values = pulumi.Output.all(*[environment.secret[k] for k in secret_names])
    return pulumi.Output.secret(values.apply(lambda vs: lines + [f"{k}={v}" for k, v in zip(secret_names, vs, strict=True)]))


def app_capabilities(flavor: ImageFlavor) -> docker.ContainerCapabilitiesArgsDict:
    """None but what the image needs: legacy MeteorD binds port 80 as root."""
    return only_capabilities(*(["CAP_NET_BIND_SERVICE"] if flavor is ImageFlavor.METEORD else []))


@dataclass(frozen=True)
class Routing:
    """How the hosts' Traefik serves the app."""

    tls: bool
    """Users reach the domain over HTTPS."""
    session_cookie: str
    behind_load_balancer: bool
    """A load balancer in front terminates TLS: the hosts' Traefik serves plain HTTP."""


def instance_labels(app: DockerAppConfig, instance: Instance, routing: Routing) -> list[docker.ContainerLabelArgsDict]:
    """The app's labels on the instance's host (Traefik reaches it on that host's edge network); with a
    canary, which version it runs."""
    labels: dict[str, pulumi.Input[str]] = {
        "meteor-platform/app": app.name,
        **traefik_labels(
            app.name,
            domain=app.domain,
            port=app.container_port,
            tls=routing.tls,
            cookie=routing.session_cookie,
            health_path=app.health_path,
            edge_network=instance.host.names.edge,
            terminates_tls=routing.tls and not routing.behind_load_balancer,
        ),
    }
    if app.canary is not None:
        labels["meteor-platform/track"] = instance.track
    return [{"label": k, "value": v} for k, v in sorted(labels.items())]


def instance_networks(app: DockerAppConfig, instance: Instance, *, instance_role: bool) -> list[docker.ContainerNetworksAdvancedArgsDict]:
    """The edge network (Traefik), the apps network under the app's name (siblings; Docker's DNS answers
    container names and network aliases, not a --hostname, moby/moby#36333: the hostname
    CLUSTER_ENDPOINT_URL names is an alias too), and on EC2 hosts, for an app whose storage uses the
    instance role, the instance-role network as the default gateway: its requests to the metadata
    service leave through the one bridge the host lets through. Docker Engine 28+: "the network with
    the highest gw-priority provides the default gateway" (docs.docker.com/engine/network/
    #connecting-to-multiple-networks, docker/docs#21612; the pinned SDK's gw_priority docstring)."""
    host = instance.host
    networks: list[docker.ContainerNetworksAdvancedArgsDict] = [
        {"name": host.names.edge},
        {"name": host.names.apps, "aliases": [app.name, *([instance.hostname] if app.cluster.enabled else [])]},
    ]
    if instance_role and host.instance_role_bridges is not None:
        networks.append({"name": host.names.instance_role, "gw_priority": 1})
    return networks


def healthcheck(app: DockerAppConfig) -> docker.ContainerHealthcheckArgsDict:
    """node asks the app's health path; a slow first start (the bundle unpacks) is allowed."""
    return {
        "tests": ["CMD", "node", "-e", HEALTH_SCRIPT.format(path=app.health_path)],
        "interval": "10s",
        "timeout": "5s",
        "retries": 3,
        "start_period": "120s",
    }


def container_defaults(app: DockerAppConfig, log_driver: ContainerLogDriver | None, instance: str) -> ServiceContainerDefaults:
    """The shared defaults, logging to `log_driver` when the stack ships its logs."""
    defaults = service_container_defaults()
    if log_driver is not None:
        defaults["log_driver"] = log_driver.driver
        defaults["log_opts"] = log_driver.for_instance(app.name, instance)
    return defaults


def user(app: DockerAppConfig) -> str | None:
    return str(app.user_id) if app.user_id is not None else None


class AppContainer(TypedDict):
    """What an app instance's `docker.Container` gets besides its image, limits, defaults and options."""

    envs: pulumi.Output[list[str]]
    hostname: str
    labels: list[docker.ContainerLabelArgsDict]
    networks_advanced: list[docker.ContainerNetworksAdvancedArgsDict]
    restart: str
    healthcheck: docker.ContainerHealthcheckArgsDict
    memory_reservation: int
    user: str | None
    read_only: bool
    tmpfs: dict[str, str]
    capabilities: docker.ContainerCapabilitiesArgsDict
    init: bool
    destroy_grace_seconds: int
    must_run: bool


def app_container(
    app: DockerAppConfig, instance: Instance, *, environment: AppEnvironment, routing: Routing, instance_role: bool, memory_request_mib: int
) -> AppContainer:
    """One instance: restarted unless stopped, health-checked, a bounded /tmp, an init forwarding signals,
    the drain time (rollout.py) before it is killed."""
    return {
        "envs": container_env(environment, app.container_port, instance.hostname),
        "hostname": instance.hostname,
        "labels": instance_labels(app, instance, routing),
        "networks_advanced": instance_networks(app, instance, instance_role=instance_role),
        "restart": "unless-stopped",
        "healthcheck": healthcheck(app),
        "memory_reservation": memory_request_mib,
        "user": user(app),
        "read_only": app.read_only_root,
        "tmpfs": {"/tmp": "rw,noexec,nosuid,size=512m"},
        "capabilities": app_capabilities(app.flavor),
        "init": True,
        "destroy_grace_seconds": termination_grace_seconds(app.pre_stop_seconds),
        # Not pulumi-docker's `wait`: its timeout says nothing of why (steps.py, wait_healthy).
        "must_run": True,
    }


class MigrationContainer(TypedDict):
    """What a migration's `docker.Container` gets besides its image, limits, defaults and options."""

    entrypoints: list[str] | None
    command: list[str] | None
    init: bool
    envs: pulumi.Output[list[str]]
    networks_advanced: list[docker.ContainerNetworksAdvancedArgsDict]
    user: str | None
    capabilities: docker.ContainerCapabilitiesArgsDict
    restart: str
    start: bool
    must_run: bool


def migration_container(
    app: DockerAppConfig, migrate: MigrationConfig, *, environment: AppEnvironment, apps_network: pulumi.Input[str]
) -> MigrationContainer:
    """The app's image prepared as it prepares its app (one_off.py), then the command instead of the app;
    created only: its run (steps.py) starts and waits for it, and the next `up` retries a failed one."""
    invocation = one_off(app.flavor, migrate.command)
    return {
        "entrypoints": invocation.entrypoint,
        "command": invocation.arguments or None,
        # node as PID 1 ignores SIGTERM: an init forwards it, except where tini already is the ENTRYPOINT.
        "init": invocation.entrypoint is not None,
        "envs": container_env(environment, app.container_port, f"{app.name}-migrate"),
        "networks_advanced": [{"name": apps_network}],
        "user": user(app),
        "capabilities": app_capabilities(app.flavor),
        "restart": "no",
        "start": False,
        "must_run": False,
    }


def migration_instance(track: str) -> str:
    """The migration's instance name in log options."""
    return "migrate" if track == STABLE else "canary-migrate"
