"""Composition root: picks each capability's implementation from config and wires them.

    cluster  ->  MongoDB  ->  file storage  ->  Meteor apps (one MeteorApp per service)

Each capability sits behind a small protocol (KubernetesTarget, MongoDatabase, FileStorage),
so a new cloud is a new implementation chosen here, not a change to the apps.
"""

from __future__ import annotations

import pulumi

from components.app_environment import build_app_environment
from components.config import PlatformConfig
from components.kubernetes_target import ExistingCluster, ExistingClusterArgs, KubernetesTarget
from components.meteor_app import MeteorApp, MeteorAppArgs, Sibling
from components.mongo import (
    ExternalMongo,
    ExternalMongoArgs,
    InClusterMongo,
    InClusterMongoArgs,
    MongoAppUser,
    MongoDatabase,
)
from components.storage import FileStorage, GridFsStorage


class Platform(pulumi.ComponentResource):
    """Everything one stack runs."""

    cluster: KubernetesTarget
    mongo: MongoDatabase
    storage: FileStorage
    apps: dict[str, MeteorApp]

    def __init__(self, name: str, config: PlatformConfig, stack: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:index:Platform", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.cluster = self._cluster(name, config, child)
        self.mongo = self._mongo(name, config, stack, child)
        self.storage = GridFsStorage(config.storage.gridfs_bucket)

        self.apps = {}
        for app in config.apps:
            siblings = [
                Sibling(name=other.name, namespace=other.k8s_namespace, port=other.container_port)
                for other in config.apps
                if other.name != app.name
            ]
            connection = self.mongo.connection(app.name)
            storage = self.storage.wiring(app.name)
            environment = build_app_environment(
                app,
                root_url=_root_url(app.domain, config, app.name, app.k8s_namespace, app.container_port),
                endpoint_url=f"http://$(POD_IP):{app.container_port}",
                mongo=connection,
                storage=storage,
                siblings={s.name: f"http://{s.name}.{s.namespace}.svc:{s.port}" for s in siblings},
            )
            self.apps[app.name] = MeteorApp(
                app.name,
                MeteorAppArgs(
                    app=app,
                    provider=self.cluster.provider,
                    stack=stack,
                    environment=environment,
                    mongo=connection,
                    storage=storage,
                    ingress=config.ingress,
                    siblings=siblings,
                ),
                opts=child,
            )
        self.register_outputs({"urls": {n: a.url for n, a in self.apps.items()}})

    @staticmethod
    def _cluster(name: str, config: PlatformConfig, opts: pulumi.ResourceOptions) -> KubernetesTarget:
        k = config.kubernetes
        return ExistingCluster(
            f"{name}-cluster",
            ExistingClusterArgs(context=k.context, kubeconfig=k.kubeconfig, cluster_domain=k.cluster_domain),
            opts=opts,
        )

    def _mongo(self, name: str, config: PlatformConfig, stack: str, opts: pulumi.ResourceOptions) -> MongoDatabase:
        m = config.mongo
        if m.provider == "external":
            assert m.url is not None  # guaranteed by config validation
            return ExternalMongo(ExternalMongoArgs(url=m.url, oplog_url=m.oplog_url))
        return InClusterMongo(
            f"{name}-mongo",
            InClusterMongoArgs(
                provider=self.cluster.provider,
                stack=stack,
                users=[MongoAppUser(app=a.name, database=a.database) for a in config.apps],
                namespace=m.namespace,
                members=m.members,
                image=m.image or f"mongo:{m.version}",
                storage_size=m.storage_size,
                storage_class=m.storage_class,
                storage_provisioner=m.storage_provisioner,
                cpu=m.cpu,
                memory=m.memory,
                cluster_domain=self.cluster.cluster_domain,
                protect=config.protect_stateful,
            ),
            opts=opts,
        )


def _root_url(domain: str | None, config: PlatformConfig, name: str, namespace: str, port: int) -> str:
    if domain is None:
        return f"http://{name}.{namespace}.svc:{port}"
    return f"{'http' if config.ingress.tls == 'off' else 'https'}://{domain}"
