"""Names the program derives, checked where they land: Kubernetes, DigitalOcean, Docker.

The stack name becomes a Kubernetes label value (`meteor-platform/stack`) and part of every
DigitalOcean name (`meteor-<stack>-vpc`, `-k8s`, `-mongo`, `-docker-<i>`, the registry
`meteor-<stack>` and the bucket `meteor-platform-<stack>-files`, at most 63 characters, lowercase,
no `_`). App names become namespaces, Services, label values, database names and, on Docker
hosts, network aliases beside the platform's own services.
"""

from __future__ import annotations

import re

from components.config.errors import Problems
from components.config.mongo import ContainerMongoConfig, DigitalOceanMongoConfig, InClusterMongoConfig
from components.config.platform import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig
from components.config.storage import MinioConfig

MAX_STACK_NAME = 40
_STACK = rf"[a-z]([-a-z0-9]{{0,{MAX_STACK_NAME - 2}}}[a-z0-9])?"

# Namespaces the cluster or its add-ons own: a stack must never create, label or delete them.
CLUSTER_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease", "cert-manager"})

# Network aliases the platform's own containers take on a Docker host's apps network.
DOCKER_SERVICE_ALIASES = {"mongo": "MongoDB (mongo.provider 'container')", "minio": "MinIO (storage.provider 'minio')"}


def stack_name_problems(stack: str, problems: Problems) -> None:
    if not re.fullmatch(_STACK, stack):
        problems.raw(
            f"stack {stack!r}: not usable in the names this stack derives (the Kubernetes label meteor-platform/stack, "
            f"DigitalOcean names such as meteor-{stack.lower()}-vpc and the bucket meteor-platform-<stack>-files); "
            f"expected lowercase letters, digits and '-', starting with a letter, at most {MAX_STACK_NAME} characters"
        )


# DigitalOcean names a managed MongoDB's hosts after the cluster: `<name>-<8 hex>.mongo.ondigitalocean.com`
# and, inside the VPC (the host the apps use), `private-<name>-<8 hex>.mongo...` (the connection
# strings DigitalOcean issues, e.g. db-mongodb-nyc3-06588-53e12b7f.mongo.ondigitalocean.com). That
# first label must stay a DNS label, at most 63 characters (RFC 1035, 2.3.4).
DNS_LABEL_MAX = 63
MANAGED_MONGO_HOST_EXTRA = len("private-") + len("-53e12b7f")
MANAGED_MONGO_NAME_MAX = DNS_LABEL_MAX - MANAGED_MONGO_HOST_EXTRA


def managed_mongo_name(stack: str, isolated_app: str | None = None) -> str:
    """The database cluster name the platform gives a stack's (or an isolated app's) managed MongoDB."""
    return f"meteor-{stack}-mongo" + (f"-{isolated_app}" if isolated_app else "")


def derived_name_problems(cfg: PlatformConfig, stack: str, problems: Problems) -> None:
    _managed_mongo_name_problems(cfg, stack, problems)
    if isinstance(cfg, DockerPlatformConfig):
        taken = {
            "mongo": isinstance(cfg.mongo, ContainerMongoConfig),
            "minio": isinstance(cfg.storage, MinioConfig),
        }
        for i, app in enumerate(cfg.apps):
            if taken.get(app.name):
                problems.bad(
                    ["apps", i, "name"],
                    app.name,
                    f"expected a name other than {app.name!r}: {DOCKER_SERVICE_ALIASES[app.name]} answers to it on the hosts' apps network",
                )
    else:
        _namespace_ownership(cfg, problems)


def _managed_mongo_name_problems(cfg: PlatformConfig, stack: str, problems: Problems) -> None:
    mongo = cfg.mongo
    if not isinstance(mongo, DigitalOceanMongoConfig):
        return
    why = (
        f"its private host private-<name>-<8 hex>.mongo.ondigitalocean.com must start with a DNS label of at most {DNS_LABEL_MAX} "
        f"characters, so the cluster name is at most {MANAGED_MONGO_NAME_MAX}"
    )
    shared = managed_mongo_name(stack)
    if len(shared) > MANAGED_MONGO_NAME_MAX:
        problems.raw(
            f"stack {stack!r}: the managed MongoDB would be named {shared!r} ({len(shared)} characters); {why}: expected a shorter stack name"
        )
        return
    for j, app in enumerate(mongo.isolated_apps):
        name = managed_mongo_name(stack, app)
        if len(name) > MANAGED_MONGO_NAME_MAX:
            problems.bad(
                ["mongo", "isolatedApps", j],
                app,
                f"expected an app whose database cluster name {name!r} ({len(name)} characters) fits: {why} (shorter app or stack name)",
            )


def _namespace_ownership(cfg: KubernetesPlatformConfig, problems: Problems) -> None:
    ingress = cfg.ingress.effective_namespace
    owned = CLUSTER_NAMESPACES | {ingress}

    def reason(namespace: str) -> str:
        owner = "the ingress controller" if namespace == ingress else "the cluster"
        return (
            f"expected a namespace of the stack's own: {namespace!r} belongs to {owner} (the stack would label it and delete it on destroy)"
        )

    for i, app in enumerate(cfg.apps):
        if app.k8s_namespace in owned:
            key = "namespace" if app.namespace else "name"
            problems.bad(["apps", i, key], getattr(app, key), reason(app.k8s_namespace))
    if isinstance(cfg.mongo, InClusterMongoConfig) and cfg.mongo.namespace in owned:
        problems.bad(["mongo", "namespace"], cfg.mongo.namespace, reason(cfg.mongo.namespace))
