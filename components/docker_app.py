"""One Meteor service as containers on Docker hosts, to the same contract as MeteorApp.

The environment comes from the same `build_app_environment` as on Kubernetes. Containers are
auto-named, so a changed container is created (and waited on until healthy) before the old one
is removed; Traefik routes only to healthy containers, so replacements never drop traffic.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.app_environment import AppEnvironment
from components.config import AppConfig, ImageFlavor, quantity_value
from components.docker_hosts import DockerHost
from components.docker_proxy import APPS_NETWORK, EDGE_NETWORK, traefik_labels

# Every MeteorD-style image has node; node 0.10 (legacy MeteorD) has no arrow functions.
HEALTH_SCRIPT = (
    "require('http').get('http://127.0.0.1:' + process.env.PORT + '{path}', function (r) {{"
    " process.exit(r.statusCode < 500 ? 0 : 1); }}).on('error', function () {{ process.exit(1); }});"
)


@dataclass(frozen=True)
class DockerAppArgs:
    app: AppConfig
    hosts: list[DockerHost]
    """Hosts to run on: `app.replicas` containers on each."""
    environment: AppEnvironment
    """The app's environment, from `build_app_environment`."""
    tls: bool
    """Serve the domain over HTTPS (Let's Encrypt through Traefik)."""
    session_cookie: str = "meteor-affinity"
    ready: tuple[pulumi.Resource, ...] = ()
    """Resources to wait for (database users, buckets)."""


class DockerApp(pulumi.ComponentResource):
    containers: list[docker.Container]
    url: pulumi.Output[str]

    def __init__(self, name: str, args: DockerAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:app:DockerApp", name, None, opts)
        app = args.app
        port = app.container_port
        secret_names = sorted(args.environment.secret)
        secret_values = pulumi.Output.all(*[args.environment.secret[k] for k in secret_names])

        def envs_for(hostname: str) -> pulumi.Output[list[str]]:
            plain = dict(args.environment.plain)
            if "CLUSTER_ENDPOINT_URL" in plain:
                plain["CLUSTER_ENDPOINT_URL"] = f"http://{hostname}:{port}"  # this container, directly
            lines = [f"{k}={v}" for k, v in sorted(plain.items())]
            return pulumi.Output.secret(
                secret_values.apply(lambda values: lines + [f"{k}={v}" for k, v in zip(secret_names, values, strict=True)])
            )

        labels = {
            "meteor-platform/app": app.name,
            **traefik_labels(app.name, domain=app.domain, port=port, tls=args.tls, cookie=args.session_cookie, health_path=app.health_path),
        }
        capabilities: docker.ContainerCapabilitiesArgsDict = {"drops": ["ALL"]}
        if app.flavor is ImageFlavor.METEORD:
            capabilities["adds"] = ["NET_BIND_SERVICE"]  # legacy MeteorD binds port 80 as root
        memory_mib = int(quantity_value(app.resources.memory_limit) / 2**20)

        self.containers = []
        for host in args.hosts:
            on_host = pulumi.ResourceOptions(parent=self, provider=host.provider)
            image = docker.RemoteImage(f"{name}-{host.name}-image", name=app.image, keep_locally=True, opts=on_host)
            for i in range(app.replicas):
                hostname = f"{app.name}-{host.name}-{i}"
                self.containers.append(
                    docker.Container(
                        f"{name}-{host.name}-{i}",
                        image=image.image_id,
                        envs=envs_for(hostname),
                        hostname=hostname,
                        labels=[{"label": k, "value": v} for k, v in sorted(labels.items())],
                        networks_advanced=[
                            {"name": EDGE_NETWORK},
                            # Siblings reach the app by its name on the private network.
                            {"name": APPS_NETWORK, "aliases": [app.name]},
                        ],
                        restart="unless-stopped",
                        healthcheck={
                            "tests": ["CMD", "node", "-e", HEALTH_SCRIPT.format(path=app.health_path)],
                            "interval": "10s",
                            "timeout": "5s",
                            "retries": 3,
                            "start_period": "120s",
                        },
                        memory=memory_mib,
                        memory_reservation=int(quantity_value(app.resources.memory_request) / 2**20),
                        cpus=app.resources.cpu_limit,
                        user=str(app.user_id) if app.user_id is not None else None,
                        read_only=app.read_only_root,
                        tmpfs={"/tmp": "rw,noexec,nosuid,size=512m"},
                        capabilities=capabilities,
                        security_opts=["no-new-privileges:true"],
                        init=True,
                        log_driver="local",
                        log_opts={"max-size": "20m", "max-file": "5"},
                        destroy_grace_seconds=app.pre_stop_seconds + 20,
                        # Healthy before the old container is removed.
                        wait=True,
                        wait_timeout=300,
                        must_run=True,
                        opts=pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(depends_on=list(args.ready))),
                    )
                )
        scheme = "https" if args.tls else "http"
        self.url = pulumi.Output.from_input(f"{scheme}://{app.domain}" if app.domain else f"http://{app.name}:{port}")
        self.register_outputs({"url": self.url})
