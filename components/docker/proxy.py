"""Traefik as the reverse proxy on each Docker host.

Why Traefik: it discovers app containers from their Docker labels and only routes to
containers whose health check passes, so a replacement container takes traffic as soon as it is
healthy and the old one leaves after — zero downtime without reloading any config. It supports
cookie-based sticky sessions per service, websockets with no extra settings, and ACME (Let's
Encrypt) certificates. Caddy would need a config reload per container change and has no
health-aware Docker discovery of its own.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker import APPS_NETWORK, EDGE_NETWORK
from components.docker.hardening import service_container_defaults
from components.protection import stateful

CERT_RESOLVER = "letsencrypt"


@dataclass(frozen=True)
class TraefikProxyArgs:
    """The host's provider reaches the children through the component's `providers` option."""

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


class TraefikProxy(pulumi.ComponentResource):
    """The edge and app networks of one host, and Traefik listening on them."""

    edge_network: docker.Network
    apps_network: docker.Network
    container: docker.Container

    def __init__(self, name: str, args: TraefikProxyArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:docker:TraefikProxy", name, None, opts)
        on_host = pulumi.ResourceOptions(parent=self)
        self.edge_network = docker.Network(f"{name}-edge", name=EDGE_NETWORK, driver="bridge", opts=on_host)
        # Apps, MongoDB and the object store talk here; nothing on it is published to the host.
        self.apps_network = docker.Network(f"{name}-apps", name=APPS_NETWORK, driver="bridge", internal=False, opts=on_host)
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        timeout = f"{args.idle_timeout_seconds}s"
        command = [
            "--providers.docker=true",
            "--providers.docker.exposedbydefault=false",
            f"--providers.docker.network={EDGE_NETWORK}",
            "--entrypoints.web.address=:80",
            f"--entrypoints.web.transport.respondingTimeouts.readTimeout={timeout}",
            f"--entrypoints.web.transport.respondingTimeouts.idleTimeout={timeout}",
            "--ping=true",
            "--log.level=INFO",
            "--accesslog=true",
        ]
        ports: list[docker.ContainerPortArgsDict] = [{"internal": 80, "external": args.http_port}]
        volumes: list[docker.ContainerVolumeArgsDict] = [
            {"host_path": "/var/run/docker.sock", "container_path": "/var/run/docker.sock", "read_only": True}
        ]
        if args.tls:
            certificates = docker.Volume(
                f"{name}-certificates",
                name="meteor-traefik-certificates",
                opts=pulumi.ResourceOptions.merge(on_host, stateful(args.protect)),
            )
            command += [
                "--entrypoints.websecure.address=:443",
                f"--entrypoints.websecure.transport.respondingTimeouts.readTimeout={timeout}",
                f"--entrypoints.websecure.transport.respondingTimeouts.idleTimeout={timeout}",
                "--entrypoints.web.http.redirections.entrypoint.to=websecure",
                "--entrypoints.web.http.redirections.entrypoint.scheme=https",
                f"--certificatesresolvers.{CERT_RESOLVER}.acme.email={args.acme_email}",
                f"--certificatesresolvers.{CERT_RESOLVER}.acme.storage=/certificates/acme.json",
                f"--certificatesresolvers.{CERT_RESOLVER}.acme.httpchallenge.entrypoint=web",
            ]
            ports.append({"internal": 443, "external": args.https_port})
            volumes.append({"volume_name": certificates.name, "container_path": "/certificates"})
        self.container = docker.Container(
            f"{name}-traefik",
            name="meteor-traefik",
            image=image.image_id,
            command=command,
            ports=ports,
            volumes=volumes,
            networks_advanced=[{"name": self.edge_network.name}],
            restart="unless-stopped",
            healthcheck={"tests": ["CMD", "traefik", "healthcheck", "--ping"], "interval": "10s", "timeout": "5s", "retries": 3},
            capabilities={"drops": ["ALL"], "adds": ["NET_BIND_SERVICE"]},
            read_only=True,
            wait=True,
            opts=on_host,
            **service_container_defaults(),
        )
        self.register_outputs({})


def traefik_labels(service: str, *, domain: str | None, port: int, tls: bool, cookie: str, health_path: str) -> dict[str, str]:
    """Docker labels that route `domain` to the containers of `service` with sticky sessions."""
    if domain is None:
        return {"traefik.enable": "false"}
    router = f"traefik.http.routers.{service}"
    lb = f"traefik.http.services.{service}.loadbalancer"
    labels = {
        "traefik.enable": "true",
        "traefik.docker.network": EDGE_NETWORK,
        f"{router}.rule": f"Host(`{domain}`)",
        f"{router}.entrypoints": "websecure" if tls else "web",
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
    if tls:
        labels[f"{router}.tls"] = "true"
        labels[f"{router}.tls.certresolver"] = CERT_RESOLVER
    return labels
