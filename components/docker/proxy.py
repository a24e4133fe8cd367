"""Traefik as the reverse proxy on each Docker host.

Why Traefik: it discovers app containers from their Docker labels and only routes to
containers whose health check passes, so a replacement container takes traffic as soon as it is
healthy and the old one leaves after — zero downtime without reloading any config. It supports
cookie-based sticky sessions per service, websockets with no extra settings, and ACME (Let's
Encrypt) certificates. Caddy would need a config reload per container change and has no
health-aware Docker discovery of its own.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components import versions
from components.docker import DockerHost
from components.docker.hardening import limits, service_container_defaults
from components.docker.services import one_shot
from components.protection import stateful

CERT_RESOLVER = "letsencrypt"

# Docker's bridge driver option naming the network's Linux bridge (docs.docker.com/engine/network/
# drivers/bridge/#options: "com.docker.network.bridge.name: Interface name to use when creating the
# Linux bridge"); an interface name has at most 15 characters (IFNAMSIZ 16 with its NUL).
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
IFNAME_MAX = 15


def bridge_name(prefix: str, network_name: str) -> str:
    """The bridge of the network named `network_name`: `prefix` and a digest of the name, so a
    network replaced under a new name (created before the old one goes) gets a bridge of its own."""
    return prefix + hashlib.sha256(network_name.encode()).hexdigest()[: IFNAME_MAX - len(prefix)]


@dataclass(frozen=True)
class TraefikProxyArgs:
    """The host's provider reaches the children through the component's `providers` option."""

    host: DockerHost
    """The host it runs on: the stack's names there, and its shell (for the one-shot step)."""
    image: str
    tls: bool
    """Serve HTTPS with Let's Encrypt certificates (HTTP redirects to it)."""
    acme_email: str | None = None
    http_port: int = 80
    https_port: int = 443
    idle_timeout_seconds: int = 3600
    """Read/idle timeout for websockets and long polling."""
    protect: bool = False
    """Keep the certificate volume (rate limits make re-issuing costly)."""
    bind_address: str | None = None
    """Host address the ports are published on (127.0.0.1 for a dev machine); every address when None."""
    proxy_protocol_from: str | None = None
    """A load balancer in front speaks PROXY protocol from this network (the VPC): trust it there only."""
    socket_proxy_image: str = versions.DOCKER_SOCKET_PROXY_IMAGE


TRAEFIK_USER = "65534:65534"  # nobody: Traefik needs no privileges once it listens above 1024
SOCKET_PROXY_ALIAS = "docker-api"
HTTP_INSIDE, HTTPS_INSIDE = 8000, 8443


SOCKET_PROXY_ENVS = ["CONTAINERS=1", "EVENTS=1", "PING=1", "VERSION=1", "LOG_LEVEL=warning"]
"""The read calls Traefik's Docker provider makes; everything else (POST, EXEC, IMAGES, ...) stays off: the proxy answers 403."""
CERTIFICATES = "/certificates"
TRAEFIK_HEALTHCHECK: docker.ContainerHealthcheckArgsDict = {
    "tests": ["CMD", "traefik", "healthcheck", "--ping"],
    "interval": "10s",
    "timeout": "5s",
    "retries": 3,
}


def traefik_command(
    edge_network: pulumi.Input[str], *, idle_timeout_seconds: int, proxy_protocol_from: str | None, acme_email: str | None, tls: bool
) -> list[pulumi.Input[str]]:
    """Traefik's flags: Docker discovery through the socket proxy on the edge network, the entry points and
    their timeouts, and with TLS the HTTPS entry point, the redirect to it and the ACME resolver."""
    timeout = f"{idle_timeout_seconds}s"
    command: list[pulumi.Input[str]] = [
        "--providers.docker=true",
        f"--providers.docker.endpoint=tcp://{SOCKET_PROXY_ALIAS}:2375",
        "--providers.docker.exposedbydefault=false",
        # The edge network's own name (on a machine it carries the machine's tag: DockerNames).
        pulumi.Output.from_input(edge_network).apply(lambda edge: f"--providers.docker.network={edge}"),
        f"--entrypoints.web.address=:{HTTP_INSIDE}",
        f"--entrypoints.web.transport.respondingTimeouts.readTimeout={timeout}",
        f"--entrypoints.web.transport.respondingTimeouts.idleTimeout={timeout}",
        *([f"--entrypoints.web.proxyProtocol.trustedIPs={proxy_protocol_from}"] if proxy_protocol_from else []),
        "--ping=true",
        "--log.level=INFO",
        "--accesslog=true",
    ]
    if tls:
        command += [
            f"--entrypoints.websecure.address=:{HTTPS_INSIDE}",
            f"--entrypoints.websecure.transport.respondingTimeouts.readTimeout={timeout}",
            f"--entrypoints.websecure.transport.respondingTimeouts.idleTimeout={timeout}",
            "--entrypoints.web.http.redirections.entrypoint.to=websecure",
            "--entrypoints.web.http.redirections.entrypoint.scheme=https",
            f"--certificatesresolvers.{CERT_RESOLVER}.acme.email={acme_email}",
            f"--certificatesresolvers.{CERT_RESOLVER}.acme.storage={CERTIFICATES}/acme.json",
            f"--certificatesresolvers.{CERT_RESOLVER}.acme.httpchallenge.entrypoint=web",
        ]
    return command


def traefik_ports(args: TraefikProxyArgs) -> list[docker.ContainerPortArgsDict]:
    """HTTP, and HTTPS with TLS, published on the host's ports (on `bind_address` only, when set)."""
    ports = [published(HTTP_INSIDE, args.http_port, args.bind_address)]
    if args.tls:
        ports.append(published(HTTPS_INSIDE, args.https_port, args.bind_address))
    return ports


class TraefikProxy(pulumi.ComponentResource):
    """The edge and app networks of one host, a read-only Docker API proxy, and Traefik listening on them.

    Traefik faces the internet, so it never touches the Docker socket: a socket proxy that allows
    only the read calls Traefik's Docker provider makes (containers, events, version, ping) sits
    between them on an internal network. Traefik runs as `nobody` with no capabilities, listening
    on 8000/8443 inside the container, published on the host's HTTP and HTTPS ports.
    """

    edge_network: docker.Network
    apps_network: docker.Network
    docker_api_network: docker.Network
    instance_role_network: docker.Network | None
    """EC2 hosts: the app containers that use the instance role join it (machines/cloud_init.py lets
    its bridge, and no other, through to the metadata service)."""
    socket_proxy: docker.Container
    container: docker.Container

    def __init__(self, name: str, args: TraefikProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:docker:TraefikProxy", name, None, opts)
        on_host = pulumi.ResourceOptions(parent=self)
        self._networks(name, args)
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        self.socket_proxy = self._socket_proxy(name, args)
        volumes: list[docker.ContainerVolumeArgsDict] = []
        ready: list[pulumi.Resource] = [self.socket_proxy]
        if args.tls:
            certificates, owner = self._certificates(name, args, image)
            # Traefik starts only once the certificates belong to it (a failed step fails `pulumi up`).
            ready.append(owner)
            volumes.append({"volume_name": certificates.name, "container_path": CERTIFICATES})
        self.container = docker.Container(
            f"{name}-traefik",
            name=args.host.names.of("traefik"),
            image=image.image_id,
            command=traefik_command(
                self.edge_network.name,
                idle_timeout_seconds=args.idle_timeout_seconds,
                proxy_protocol_from=args.proxy_protocol_from,
                acme_email=args.acme_email,
                tls=args.tls,
            ),
            ports=traefik_ports(args),
            volumes=volumes,
            networks_advanced=[{"name": self.edge_network.name}, {"name": self.docker_api_network.name}],
            restart="unless-stopped",
            healthcheck=TRAEFIK_HEALTHCHECK,
            user=TRAEFIK_USER,
            capabilities={"drops": ["ALL"]},
            read_only=True,
            wait=True,
            opts=pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(depends_on=ready)),
            **service_container_defaults(),
            **limits(256, "1"),
        )
        self.register_outputs({})

    def _networks(self, name: str, args: TraefikProxyArgs) -> None:
        """The edge network (Traefik and the apps it routes to), the apps' own, the socket proxy's internal
        one, and on EC2 hosts the instance-role network."""
        on_host = pulumi.ResourceOptions(parent=self)
        names = args.host.names
        self.edge_network = docker.Network(f"{name}-edge", name=names.edge, driver="bridge", opts=on_host)
        # Apps, MongoDB and the object store talk here; nothing on it is published to the host.
        self.apps_network = docker.Network(f"{name}-apps", name=names.apps, driver="bridge", internal=False, opts=on_host)
        self.docker_api_network = docker.Network(f"{name}-docker-api", name=names.docker_api, driver="bridge", internal=True, opts=on_host)
        self.instance_role_network = None
        prefix = args.host.instance_role_bridges
        if prefix is not None:
            self.instance_role_network = docker.Network(
                f"{name}-instance-role",
                name=names.instance_role,
                driver="bridge",
                options=pulumi.Output.from_input(names.instance_role).apply(lambda n: {BRIDGE_NAME_OPTION: bridge_name(prefix, n)}),
                opts=on_host,
            )

    def _socket_proxy(self, name: str, args: TraefikProxyArgs) -> docker.Container:
        """The read-only Docker API Traefik discovers the apps through, on the internal network only."""
        on_host = pulumi.ResourceOptions(parent=self)
        proxy_image = docker.RemoteImage(f"{name}-socket-proxy-image", name=args.socket_proxy_image, keep_locally=True, opts=on_host)
        return docker.Container(
            f"{name}-socket-proxy",
            name=args.host.names.of("docker-api"),
            image=proxy_image.image_id,
            envs=SOCKET_PROXY_ENVS,
            volumes=[{"host_path": "/var/run/docker.sock", "container_path": "/var/run/docker.sock", "read_only": True}],
            networks_advanced=[{"name": self.docker_api_network.name, "aliases": [SOCKET_PROXY_ALIAS]}],
            restart="unless-stopped",
            capabilities={"drops": ["ALL"]},
            read_only=True,
            tmpfs={"/run": "rw,noexec,nosuid,size=16m", "/tmp": "rw,noexec,nosuid,size=16m"},
            opts=on_host,
            **service_container_defaults(),
            **limits(64, "0.25"),
        )

    def _certificates(self, name: str, args: TraefikProxyArgs, image: docker.RemoteImage) -> tuple[docker.Volume, pulumi.Resource]:
        """The ACME account and certificates' volume, and the one-shot step that hands it to Traefik's user."""
        on_host = pulumi.ResourceOptions(parent=self)
        certificates = docker.Volume(
            f"{name}-certificates",
            name=args.host.names.of("traefik-certificates"),
            opts=stateful(args.protect, parent=self),
        )
        # A new volume belongs to root: hand it to the user Traefik runs as (ACME account and certificates).
        owner = one_shot(
            f"{name}-certificates-owner",
            image=image.image_id,
            script=f"chown -R {TRAEFIK_USER} {CERTIFICATES} && chmod 0700 {CERTIFICATES}",
            envs=[],
            after=self.socket_proxy,
            host=args.host,
            volumes=[{"volume_name": certificates.name, "container_path": CERTIFICATES}],
            # root without capabilities may not enter the directory once it is nobody's (0700),
            # nor hand files over or chmod them: exactly these three, nothing else.
            capabilities=["CAP_CHOWN", "CAP_DAC_READ_SEARCH", "CAP_FOWNER"],
            opts=on_host,
        )
        return certificates, owner.run


def published(inside: int, outside: int, bind_address: str | None) -> docker.ContainerPortArgsDict:
    port: docker.ContainerPortArgsDict = {"internal": inside, "external": outside}
    if bind_address:
        port["ip"] = bind_address
    return port


def traefik_labels(
    service: str,
    *,
    domain: str | None,
    port: int,
    tls: bool,
    cookie: str,
    health_path: str,
    edge_network: pulumi.Input[str],
    terminates_tls: bool | None = None,
) -> dict[str, pulumi.Input[str]]:
    """Docker labels that route `domain` to the containers of `service` with sticky sessions.

    `tls`: users reach the app over HTTPS (secure cookies); `terminates_tls` (default: `tls`): this
    Traefik holds the certificate, rather than a load balancer in front of it."""
    terminates = tls if terminates_tls is None else terminates_tls
    if domain is None:
        return {"traefik.enable": "false"}
    router = f"traefik.http.routers.{service}"
    lb = f"traefik.http.services.{service}.loadbalancer"
    labels: dict[str, pulumi.Input[str]] = {
        "traefik.enable": "true",
        "traefik.docker.network": edge_network,
        f"{router}.rule": f"Host(`{domain}`)",
        f"{router}.entrypoints": "websecure" if terminates else "web",
        f"{router}.service": service,
        f"{lb}.server.port": str(port),
        f"{lb}.sticky.cookie": "true",
        f"{lb}.sticky.cookie.name": cookie,
        f"{lb}.sticky.cookie.secure": str(tls).lower(),
        f"{lb}.sticky.cookie.httponly": "true",
        f"{lb}.sticky.cookie.samesite": "lax",
        f"{lb}.healthcheck.path": health_path,
        f"{lb}.healthcheck.interval": "10s",
    }
    if terminates:
        labels[f"{router}.tls"] = "true"
        labels[f"{router}.tls.certresolver"] = CERT_RESOLVER
    return labels
