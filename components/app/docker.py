"""One Meteor service as containers on Docker hosts, to the same contract as on Kubernetes.

`replicas` is the app's total number of instances, spread round-robin over the hosts (instance
i runs on host i mod n); with a canary, its share of them run the next version, behind the same
Traefik service (same labels, sticky cookie included). A migration runs once per image, as a
one-shot container on the first host, before any instance of that image starts (the canary's
image runs its own, after the current one's); its failure fails `pulumi up`, and the next `up`
runs it again (components/docker/steps.py). Containers are auto-named and replaced create-before-delete, one after
another (each waits until the previous one is healthy); the old containers are removed at the end,
and Traefik routes only to healthy ones, so a rollout never drops traffic. A container that never
becomes healthy fails `pulumi up` with its health checks and the last lines of its log, and a
failed migration with its exit code and log tail (steps.py: wait_healthy, run_reporting).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.app import Sibling
from components.app.environment import build_app_environment, public_url
from components.app.one_off import one_off
from components.config import DockerAppConfig, ImageFlavor, quantity_value
from components.config.apps import MigrationConfig
from components.config.values import docker_cpus
from components.docker import DockerHost
from components.docker.hardening import ServiceContainerDefaults, limits, only_capabilities, service_container_defaults
from components.docker.proxy import traefik_labels
from components.docker.steps import run_reporting, wait_healthy
from components.images import AppImage
from components.mongo import MongoConnection
from components.storage import StorageWiring

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


def internal_url(app: DockerAppConfig) -> str:
    """How other containers on the apps network reach the app (its network alias)."""
    return f"http://{app.name}:{app.container_port}"


def placement(replicas: int, hosts: list[DockerHost]) -> list[tuple[DockerHost, int]]:
    """(host, index on that host) for each of the app's instances, round-robin over the hosts."""
    return [(hosts[i % len(hosts)], i // len(hosts)) for i in range(replicas)]


@dataclass(frozen=True)
class DockerAppArgs:
    app: DockerAppConfig
    hosts: list[DockerHost]
    """Hosts to spread the app's instances over."""
    mongo: MongoConnection
    storage: StorageWiring
    image: AppImage
    """The image the app runs (built, prebuilt or promoted)."""
    tls: bool
    """Serve the domain over HTTPS (Let's Encrypt through Traefik)."""
    siblings: list[Sibling] = field(default_factory=lambda: [])
    session_cookie: str = "meteor-affinity"
    behind_load_balancer: bool = False
    """A load balancer in front terminates TLS: the hosts' Traefik serves plain HTTP."""
    log_driver: ContainerLogDriver | None = None
    """Where the app's containers log instead of the hosts' rotated local files (`logs.ship` on EC2)."""


class DockerApp(pulumi.ComponentResource):
    containers: list[docker.Container]
    canary_containers: list[docker.Container]
    readiness: list[command.local.Command]
    """Per app and canary container, the step that waits until it is healthy (steps.py, wait_healthy)."""
    migration: docker.Container | None
    canary_migration: docker.Container | None
    url: pulumi.Output[str]

    def __init__(self, name: str, args: DockerAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:app:DockerApp", name, None, opts)
        app = args.app
        port = app.container_port
        root_url = public_url(app.domain, args.tls) if app.domain else internal_url(app)
        environment = build_app_environment(
            app, root_url=root_url, endpoint_url=internal_url(app), mongo=args.mongo, storage=args.storage, siblings=args.siblings
        )
        secret_names = sorted(environment.secret)
        secret_values = pulumi.Output.all(*[environment.secret[k] for k in secret_names])

        def envs_for(hostname: str) -> pulumi.Output[list[str]]:
            plain = dict(environment.plain)
            if "CLUSTER_ENDPOINT_URL" in plain:
                plain["CLUSTER_ENDPOINT_URL"] = f"http://{hostname}:{port}"  # this container, directly
            lines = [f"{k}={v}" for k, v in sorted(plain.items())]
            return pulumi.Output.secret(
                secret_values.apply(lambda values: lines + [f"{k}={v}" for k, v in zip(secret_names, values, strict=True)])
            )

        def labels_on(host: DockerHost) -> dict[str, pulumi.Input[str]]:
            """The app's labels on `host`: Traefik reaches it on that host's edge network."""
            return {
                "meteor-platform/app": app.name,
                **traefik_labels(
                    app.name,
                    domain=app.domain,
                    port=port,
                    tls=args.tls,
                    cookie=args.session_cookie,
                    health_path=app.health_path,
                    edge_network=host.names.edge,
                    terminates_tls=args.tls and not args.behind_load_balancer,
                ),
            }

        def instance_role_on(host: DockerHost) -> list[docker.ContainerNetworksAdvancedArgsDict]:
            """EC2 hosts, an app whose storage uses the instance role: the instance-role network, as the
            container's default gateway, so its requests to the metadata service leave through the one
            bridge the host lets through. Docker Engine 28+: "the network with the highest gw-priority
            provides the default gateway" (docs.docker.com/engine/network/#connecting-to-multiple-networks,
            docker/docs#21612; the pinned SDK's gw_priority docstring); the others have priority 0."""
            if not args.storage.instance_role or host.instance_role_bridges is None:
                return []
            return [{"name": host.names.instance_role, "gw_priority": 1}]

        # Legacy MeteorD binds port 80 as root.
        capabilities = only_capabilities(*(["CAP_NET_BIND_SERVICE"] if app.flavor is ImageFlavor.METEORD else []))

        images: dict[tuple[str, str], docker.RemoteImage] = {}

        def image_on(host: DockerHost, track: str, ref: pulumi.Input[str]) -> docker.RemoteImage:
            if (host.name, track) not in images:
                suffix = "" if track == "stable" else f"-{track}"
                images[host.name, track] = docker.RemoteImage(
                    f"{name}-{host.name}{suffix}-image",
                    name=ref,
                    keep_locally=True,
                    opts=pulumi.ResourceOptions(
                        parent=self, provider=host.provider, depends_on=args.image.ready, transformations=host.follows_machine()
                    ),
                )
            return images[host.name, track]

        memory_mib = int(quantity_value(app.resources.memory_limit) / 2**20)
        log_ready = list(args.log_driver.ready) if args.log_driver is not None else []

        def container_defaults(instance: str) -> ServiceContainerDefaults:
            """The shared defaults, logging to `log_driver` when the stack ships its logs."""
            defaults = service_container_defaults()
            if args.log_driver is not None:
                defaults["log_driver"] = args.log_driver.driver
                defaults["log_opts"] = args.log_driver.for_instance(app.name, instance)
            return defaults

        def migration(
            track: str, ref: pulumi.Input[str], migrate: MigrationConfig, after: list[pulumi.Resource]
        ) -> tuple[docker.Container, command.local.Command]:
            """The migration of one image on the first host: created, then run to completion (steps.py)."""
            first = args.hosts[0]
            prefix = name if track == "stable" else f"{name}-{track}"
            on_first = pulumi.ResourceOptions(parent=self, provider=first.provider, transformations=first.follows_machine())
            invocation = one_off(app.flavor, migrate.command)
            container = docker.Container(
                f"{prefix}-migrate",
                image=image_on(first, track, ref).image_id,
                # Prepared as the image prepares its app, then the command instead of the app (one_off.py).
                entrypoints=invocation.entrypoint,
                command=invocation.arguments or None,
                # node as PID 1 ignores SIGTERM: an init forwards it, except where tini already is the ENTRYPOINT.
                init=invocation.entrypoint is not None,
                envs=envs_for(f"{app.name}-migrate"),
                networks_advanced=[{"name": first.names.apps}],
                user=str(app.user_id) if app.user_id is not None else None,
                capabilities=capabilities,
                restart="no",
                # Created only: started (and waited for) by its run, which the next `up` retries.
                start=False,
                must_run=False,
                opts=pulumi.ResourceOptions.merge(
                    on_first, pulumi.ResourceOptions(depends_on=[*args.mongo.ready, *first.networks, *log_ready])
                ),
                **container_defaults("migrate" if track == "stable" else "canary-migrate"),
                **limits(memory_mib, docker_cpus(app.resources.cpu_limit)),
            )
            # On failure, `pulumi up` shows its exit code and the last lines of its log (steps.py).
            run = run_reporting(f"{prefix}-migrate-run", container, first.shell, pulumi.ResourceOptions(parent=self, depends_on=after))
            return container, run

        self.migration = None
        self.canary_migration = None
        # Per track: the migration run its containers wait for.
        migrated: dict[str, list[pulumi.Resource]] = {"stable": [], "canary": []}
        if app.migrate is not None:
            self.migration, run = migration("stable", args.image.ref, app.migrate, [])
            migrated["stable"] = migrated["canary"] = [run]
        if app.canary is not None and app.canary.migrate is not None:
            # The next version's own migration (`canary.migrate`, as on Kubernetes): it runs with the
            # canary's image, after the current version's, before any canary container starts.
            self.canary_migration, canary_run = migration("canary", app.canary.image, app.canary.migrate, migrated["stable"])
            migrated["canary"] = [*migrated["stable"], canary_run]

        canary_count = 0
        if app.canary is not None:
            canary_count = min(app.replicas - 1, max(1, round(app.replicas * app.canary.share / 100)))
        self.containers = []
        self.canary_containers = []
        self.readiness = []
        previous: list[pulumi.Resource] = []
        for track, ref, count in (
            ("stable", args.image.ref, app.replicas - canary_count),
            ("canary", app.canary.image if app.canary else "", canary_count),
        ):
            for host, index in placement(count, args.hosts):
                on_host = pulumi.ResourceOptions(parent=self, provider=host.provider, transformations=host.follows_machine())
                hostname = f"{app.name}-{host.name}-{index}" if track == "stable" else f"{app.name}-canary-{host.name}-{index}"
                labels = labels_on(host)
                container_labels: dict[str, pulumi.Input[str]] = {**labels, "meteor-platform/track": track} if app.canary else {**labels}
                waits_for = migrated[track]
                container_name = f"{name}-{host.name}-{index}" if track == "stable" else f"{name}-canary-{host.name}-{index}"
                container = docker.Container(
                    container_name,
                    image=image_on(host, track, ref).image_id,
                    envs=envs_for(hostname),
                    hostname=hostname,
                    labels=[{"label": k, "value": v} for k, v in sorted(container_labels.items())],
                    networks_advanced=[
                        {"name": host.names.edge},
                        # Siblings reach the app by its name on the private network. Docker's DNS answers
                        # container names and network aliases, not a --hostname (moby/moby#36333): the
                        # hostname CLUSTER_ENDPOINT_URL names is an alias too.
                        {"name": host.names.apps, "aliases": [app.name, *([hostname] if app.cluster.enabled else [])]},
                        *instance_role_on(host),
                    ],
                    restart="unless-stopped",
                    healthcheck={
                        "tests": ["CMD", "node", "-e", HEALTH_SCRIPT.format(path=app.health_path)],
                        "interval": "10s",
                        "timeout": "5s",
                        "retries": 3,
                        "start_period": "120s",
                    },
                    memory_reservation=int(quantity_value(app.resources.memory_request) / 2**20),
                    user=str(app.user_id) if app.user_id is not None else None,
                    read_only=app.read_only_root,
                    tmpfs={"/tmp": "rw,noexec,nosuid,size=512m"},
                    capabilities=capabilities,
                    init=True,
                    destroy_grace_seconds=app.pre_stop_seconds + 20,
                    # Not pulumi-docker's `wait`: its timeout says nothing of why (steps.py, wait_healthy).
                    must_run=True,
                    opts=pulumi.ResourceOptions.merge(
                        on_host,
                        pulumi.ResourceOptions(
                            depends_on=[*args.mongo.ready, *host.networks, *previous, *waits_for, *log_ready],
                            # pulumi-docker replaces containers delete-first by default: the app would be
                            # down until the new one is healthy. Create first, remove the old one last.
                            delete_before_replace=False,
                        ),
                    ),
                    **container_defaults(hostname),
                    **limits(memory_mib, docker_cpus(app.resources.cpu_limit)),
                )
                (self.containers if track == "stable" else self.canary_containers).append(container)
                # Healthy before the next instance is replaced and the old containers are removed; if not,
                # `pulumi up` fails with the container's health checks and log tail.
                healthy = wait_healthy(
                    f"{container_name}-healthy",
                    container,
                    host.shell,
                    pulumi.ResourceOptions(parent=self),
                    timeout_seconds=HEALTHY_WITHIN_SECONDS,
                )
                self.readiness.append(healthy)
                # One instance at a time: the next is replaced only once this one is healthy.
                previous = [healthy]
        self.url = pulumi.Output.from_input(root_url)
        self.register_outputs({"url": self.url})
