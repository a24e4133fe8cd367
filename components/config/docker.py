"""`docker`: the Docker-host target — apps as containers behind a Traefik proxy on each host."""

from ipaddress import IPv4Address
from typing import TYPE_CHECKING, Literal

from pydantic import Field, IPvAnyAddress

from components import versions
from components.config.errors import Problems
from components.config.unions import tagged
from components.config.values import DnsLabel, ImageRef, Model

SSH_PORT = 22


class DockerHostsBase(Model):
    hosts: str
    acme_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Let's Encrypt account email; required unless ingress.tls is `off`.",
    )
    http_port: int = Field(
        default=80,
        ge=1,
        le=65535,
        description="Host port of the proxy's HTTP entrypoint: 80 with TLS (HTTP-01) and on machines (their firewall opens 80/443); never 22.",
    )
    https_port: int = Field(
        default=443, ge=1, le=65535, description="Host port of the proxy's HTTPS entrypoint: 443 on machines; never 22 or the HTTP port."
    )
    name_prefix: DnsLabel | None = Field(
        default=None,
        description="Prefix of every container, network and volume name on the engine; default `meteor-<stack>`, so stacks can "
        "share one engine. Stacks deployed before names carried the stack set `meteor` to keep their volumes.",
    )
    proxy_image: ImageRef = Field(default=versions.TRAEFIK_IMAGE, description="Traefik image of the reverse proxy.")

    def own_problems(self, problems: Problems) -> None:
        if self.http_port == self.https_port:
            problems.bad(["httpsPort"], self.https_port, "expected a port other than docker.httpPort (both are published on the host)")
        for key, port in (("httpPort", self.http_port), ("httpsPort", self.https_port)):
            if port == SSH_PORT:
                problems.bad([key], port, "expected a port other than 22: SSH listens there on the host")


class LocalDockerConfig(DockerHostsBase):
    """The Docker engine on this machine (the dev stack)."""

    hosts: Literal["local"] = Field(  # pyright: ignore[reportIncompatibleVariableOverride]
        default="local", description="`local` (the engine at `localHost`) or `machines` (the cloud machines, over ssh)."
    )
    bind_address: IPvAnyAddress = Field(
        default=IPv4Address("127.0.0.1"),
        description="Host address the proxy's ports are published on: this machine only by default (0.0.0.0 to share it on the network).",
    )
    local_host: str = Field(default="unix:///var/run/docker.sock", pattern=r"^(unix|tcp|ssh|npipe)://\S+$", description="Docker endpoint.")


class MachineDockerConfig(DockerHostsBase):
    """The stack's cloud machines, reached over ssh as their deploy user."""

    hosts: Literal["machines"]  # pyright: ignore[reportIncompatibleVariableOverride]


if TYPE_CHECKING:
    DockerSection = LocalDockerConfig | MachineDockerConfig
else:
    DockerSection = tagged("docker", "hosts", "local", {"local": LocalDockerConfig, "machines": MachineDockerConfig})
