"""Each app on the stack's target: a MeteorApp on the cluster or a DockerApp on the hosts, wired to
its image, its database connection (with its reactivity), its file storage and the apps it calls."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, TypeVar

from components.app import MeteorService, Sibling
from components.app.reactivity import Reactivity
from components.config import AppConfig, DockerPlatformConfig, KubernetesAppConfig, KubernetesPlatformConfig, PlatformConfig
from components.docker import DockerHost
from components.images import AppImage
from components.kubernetes import KubernetesTarget, StackCluster
from components.mongo import MongoDatabase
from components.registry import Registry
from components.scope import Scope
from components.storage import FileStorage

if TYPE_CHECKING:
    from pathlib import Path

    from components.endpoints import Pods
    from components.kubernetes import ClusterReadiness
    from components.observability.aws_logs import ContainerLogDriver

App = TypeVar("App", bound=AppConfig)


def with_forwarded_count(app: App, count: int) -> App:
    """The app with HTTP_FORWARDED_COUNT from the topology, unless its config sets one."""
    return app if app.http_forwarded_count is not None else app.model_copy(update={"http_forwarded_count": count})


def reactivities(config: PlatformConfig, project_dir: Path, mongo: MongoDatabase) -> dict[str, Reactivity]:
    """How each app's live queries follow `mongo`, from its Meteor release."""
    from components.app.reactivity import reactivity
    from components.config.release import app_release

    return {app.name: reactivity(i, app_release(app, project_dir), mongo.connection(app.name)) for i, app in enumerate(config.apps)}


def callers_of(apps: Sequence[KubernetesAppConfig], calling_pods: Mapping[str, Sequence[Pods]]) -> dict[str, list[Pods]]:
    """Per app, the pods of the apps that call it (`connectsTo`), callers in config order; in one pass."""
    callers: dict[str, list[Pods]] = {a.name: [] for a in apps}
    for caller in apps:
        for target in caller.connects_to:  # each once (config rule)
            callers[target].extend(calling_pods[caller.name])
    return callers


def serving_pods(app: KubernetesAppConfig, stack: str) -> tuple[Pods, ...]:
    """The pods serving `app`: its Deployment's, and its canary's."""
    return _pods(app, stack, [app.name, *([f"{app.name}-canary"] if app.canary else [])])


def calling_pods(app: KubernetesAppConfig, stack: str) -> tuple[Pods, ...]:
    """The pods through which `app` calls its siblings: its serving pods and its migrations' (a
    migration reaches what the app reaches, so the sibling must admit it too)."""
    from components.app.kubernetes import migration_component

    migrations = [
        *([migration_component(app, canary=False)] if app.migrate else []),
        *([migration_component(app, canary=True)] if app.canary and app.canary.migrate else []),
    ]
    return (*serving_pods(app, stack), *_pods(app, stack, migrations))


def _pods(app: KubernetesAppConfig, stack: str, components: Iterable[str]) -> tuple[Pods, ...]:
    from components.endpoints import Pods
    from components.kubernetes import labels

    return tuple(Pods(app.k8s_namespace, labels.selector(stack, c, labels.APP_ROLE)) for c in components)


def apps(
    config: PlatformConfig,
    scope: Scope,
    *,
    cluster: StackCluster | None,
    hosts: list[DockerHost],
    images: Mapping[str, AppImage],
    reactivity: Mapping[str, Reactivity],
    storage: FileStorage,
    registry: Registry | None,
    log_driver: ContainerLogDriver | None,
) -> dict[str, MeteorService]:
    """Each app with an image, on the stack's `cluster` or its Docker `hosts` (logging to `log_driver`)."""
    if isinstance(config, KubernetesPlatformConfig):
        assert cluster is not None, "a Kubernetes stack has its cluster before its apps"
        return kubernetes_apps(
            config, scope, cluster.target, addons=cluster.addons, images=images, reactivity=reactivity, storage=storage, registry=registry
        )
    return docker_apps(config, scope, hosts, images=images, reactivity=reactivity, storage=storage, log_driver=log_driver)


def kubernetes_apps(
    config: KubernetesPlatformConfig,
    scope: Scope,
    cluster: KubernetesTarget,
    *,
    addons: ClusterReadiness | None,
    images: Mapping[str, AppImage],
    reactivity: Mapping[str, Reactivity],
    storage: FileStorage,
    registry: Registry | None,
) -> dict[str, MeteorService]:
    from components.app.kubernetes import KubernetesSibling, MeteorApp, MeteorAppArgs, internal_url

    stack = scope.stack
    by_name = {
        a.name: KubernetesSibling(name=a.name, url=internal_url(a), port=a.container_port, pods=serving_pods(a, stack)) for a in config.apps
    }
    callers = callers_of(config.apps, {a.name: calling_pods(a, stack) for a in config.apps})
    pull_secret = registry.pull_credentials if registry is not None and not registry.nodes_pull_with_role else None
    return {
        app.name: MeteorApp(
            app.name,
            MeteorAppArgs(
                app=with_forwarded_count(app, config.http_forwarded_count),
                stack=stack,
                mongo=reactivity[app.name].connection,
                storage=storage.wiring(app.name),
                ingress=config.ingress,
                siblings=[by_name[target] for target in app.connects_to],
                callers=callers[app.name],
                image=images[app.name],
                image_pull_secret=pull_secret,
                ingress_ready=addons.ingress_ready if addons else [],
                autoscaling_ready=addons.autoscaling_ready if addons else [],
            ),
            opts=scope.child(cluster.provider),
        )
        for app in config.apps
        if app.name in images  # none yet while promotion.sourceReady is false (a bootstrap)
    }


def docker_apps(
    config: DockerPlatformConfig,
    scope: Scope,
    hosts: list[DockerHost],
    *,
    images: Mapping[str, AppImage],
    reactivity: Mapping[str, Reactivity],
    storage: FileStorage,
    log_driver: ContainerLogDriver | None,
) -> dict[str, MeteorService]:
    from components.app.docker import DockerApp, DockerAppArgs, internal_url

    by_name = {a.name: Sibling(name=a.name, url=internal_url(a), port=a.container_port) for a in config.apps}
    return {
        app.name: DockerApp(
            app.name,
            DockerAppArgs(
                app=with_forwarded_count(app, config.http_forwarded_count),
                hosts=hosts,
                mongo=reactivity[app.name].connection,
                storage=storage.wiring(app.name),
                image=images[app.name],
                tls=config.ingress.serves_tls,
                siblings=[by_name[target] for target in app.connects_to],
                session_cookie=config.ingress.session_cookie,
                behind_load_balancer=config.host_count > 1,
                log_driver=log_driver,
            ),
            opts=scope.child(),
        )
        for app in config.apps
        if app.name in images  # none yet while promotion.sourceReady is false (a bootstrap)
    }
