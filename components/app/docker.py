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
from components.app.docker_specs import (
    HEALTHY_WITHIN_SECONDS,
    STABLE,
    Instance,
    Routing,
    app_container,
    container_defaults,
    image_resource_name,
    instances,
    internal_url,
    migration_container,
    migration_instance,
)
from components.app.environment import build_app_environment, public_url
from components.app.rollout import instance_counts
from components.config import DockerAppConfig
from components.config.apps import MigrationConfig
from components.docker import DockerHost
from components.docker.hardening import ContainerLimits, limits
from components.docker.steps import run_reporting, wait_healthy
from components.images import AppImage
from components.mongo import MongoConnection
from components.storage import StorageWiring
from components.units import docker_cpus, whole_mebibytes

if TYPE_CHECKING:
    from components.observability.aws_logs import ContainerLogDriver

__all__ = ["HEALTHY_WITHIN_SECONDS", "DockerApp", "DockerAppArgs", "internal_url"]


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
        self._name, self._args = name, args
        root_url = public_url(app.domain, args.tls) if app.domain else internal_url(app)
        self._environment = build_app_environment(
            app, root_url=root_url, endpoint_url=internal_url(app), mongo=args.mongo, storage=args.storage, siblings=args.siblings
        )
        self._limits: ContainerLimits = limits(whole_mebibytes(app.resources.memory_limit), docker_cpus(app.resources.cpu_limit))
        self._log_ready = list(args.log_driver.ready) if args.log_driver is not None else []
        self._images: dict[tuple[str, str], docker.RemoteImage] = {}
        self._run_instances(self._migrate())
        self.url = pulumi.Output.from_input(root_url)
        self.register_outputs({"url": self.url})

    def _on(self, host: DockerHost, *after: pulumi.Resource, delete_before_replace: bool | None = None) -> pulumi.ResourceOptions:
        """Options of a child on `host`: its provider, following its machine."""
        return pulumi.ResourceOptions(
            parent=self,
            provider=host.provider,
            transformations=host.follows_machine(),
            depends_on=list(after),
            delete_before_replace=delete_before_replace,
        )

    def _image_on(self, host: DockerHost, track: str, ref: pulumi.Input[str]) -> docker.RemoteImage:
        """One version's image, pulled once per host."""
        if (host.name, track) not in self._images:
            self._images[host.name, track] = docker.RemoteImage(
                image_resource_name(self._name, host, track),
                name=ref,
                keep_locally=True,
                opts=pulumi.ResourceOptions(
                    parent=self, provider=host.provider, depends_on=self._args.image.ready, transformations=host.follows_machine()
                ),
            )
        return self._images[host.name, track]

    def _ref(self, track: str) -> pulumi.Input[str]:
        canary = self._args.app.canary
        return self._args.image.ref if track == STABLE or canary is None else canary.image

    def _migrate(self) -> dict[str, list[pulumi.Resource]]:
        """Per version, the migration run its containers wait for. The canary's own (`canary.migrate`, as
        on Kubernetes) runs with the canary's image, after the current version's."""
        app = self._args.app
        self.migration = self.canary_migration = None
        migrated: dict[str, list[pulumi.Resource]] = {"stable": [], "canary": []}
        if app.migrate is not None:
            self.migration, run = self._migration("stable", app.migrate, [])
            migrated["stable"] = migrated["canary"] = [run]
        if app.canary is not None and app.canary.migrate is not None:
            self.canary_migration, canary_run = self._migration("canary", app.canary.migrate, migrated["stable"])
            migrated["canary"] = [*migrated["stable"], canary_run]
        return migrated

    def _migration(
        self, track: str, migrate: MigrationConfig, after: list[pulumi.Resource]
    ) -> tuple[docker.Container, command.local.Command]:
        """The migration of one image on the first host: created, then run to completion (steps.py)."""
        args = self._args
        first = args.hosts[0]
        prefix = self._name if track == STABLE else f"{self._name}-{track}"
        container = docker.Container(
            f"{prefix}-migrate",
            image=self._image_on(first, track, self._ref(track)).image_id,
            opts=self._on(first, *args.mongo.ready, *first.networks, *self._log_ready),
            **migration_container(args.app, migrate, environment=self._environment, apps_network=first.names.apps),
            **container_defaults(args.app, args.log_driver, migration_instance(track)),
            **self._limits,
        )
        # On failure, `pulumi up` shows its exit code and the last lines of its log (steps.py).
        run = run_reporting(f"{prefix}-migrate-run", container, first.shell, pulumi.ResourceOptions(parent=self, depends_on=after))
        return container, run

    def _run_instances(self, migrated: dict[str, list[pulumi.Resource]]) -> None:
        """Each instance after its version's migration, one at a time: the next is replaced only once this
        one is healthy; if not, `pulumi up` fails with the container's health checks and log tail."""
        args, app = self._args, self._args.app
        counts = instance_counts(app.replicas, app.canary.share if app.canary else None)
        routing = Routing(tls=args.tls, session_cookie=args.session_cookie, behind_load_balancer=args.behind_load_balancer)
        self.containers, self.canary_containers, self.readiness = [], [], []
        previous: list[pulumi.Resource] = []
        for instance in instances(self._name, app, counts, args.hosts):
            container = self._instance(
                instance,
                routing,
                after=[*args.mongo.ready, *instance.host.networks, *previous, *migrated[instance.track], *self._log_ready],
            )
            (self.containers if instance.track == STABLE else self.canary_containers).append(container)
            healthy = wait_healthy(
                f"{instance.resource_name}-healthy",
                container,
                instance.host.shell,
                pulumi.ResourceOptions(parent=self),
                timeout_seconds=HEALTHY_WITHIN_SECONDS,
            )
            self.readiness.append(healthy)
            previous = [healthy]

    def _instance(self, instance: Instance, routing: Routing, after: list[pulumi.Resource]) -> docker.Container:
        args, app = self._args, self._args.app
        return docker.Container(
            instance.resource_name,
            image=self._image_on(instance.host, instance.track, self._ref(instance.track)).image_id,
            # pulumi-docker replaces containers delete-first by default: the app would be down until the
            # new one is healthy. Create first, remove the old one last.
            opts=self._on(instance.host, *after, delete_before_replace=False),
            **app_container(
                app,
                instance,
                environment=self._environment,
                routing=routing,
                instance_role=args.storage.instance_role,
                memory_request_mib=whole_mebibytes(app.resources.memory_request),
            ),
            **container_defaults(app, args.log_driver, instance.hostname),
            **self._limits,
        )
