"""The environment contract of a Meteor app, shared by every target (Kubernetes, Docker hosts).

One function decides what a MeteorD-style container receives: ROOT_URL, PORT, MONGO_URL,
METEOR_SETTINGS and the rest. Sensitive values are kept apart so each target delivers them
as secrets (a Kubernetes Secret with secretKeyRef, a Docker secret env) and never as plain text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
from pydantic import JsonValue

from components.app import Sibling
from components.config import AppConfig, ImageFlavor
from components.mongo import MongoConnection
from components.storage import StorageWiring
from components.units import mebibytes


@dataclass(frozen=True)
class AppEnvironment:
    plain: dict[str, str]
    """Variables safe to show in manifests and plans."""
    secret: dict[str, pulumi.Output[str]]
    """Variables delivered only as secrets."""


def public_url(domain: str, tls: bool) -> str:
    """The URL users reach an app's domain at: https unless TLS is off."""
    return f"{'https' if tls else 'http'}://{domain}"


def sibling_env_name(app: str) -> str:
    """`accounts-api` -> `ACCOUNTS_API_DDP_URL`: where an app finds a sibling over DDP."""
    return app.upper().replace("-", "_") + "_DDP_URL"


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        current = merged.get(key)
        if isinstance(current, Mapping) and isinstance(value, Mapping):
            merged[key] = deep_merge(current, value)  # pyright: ignore[reportUnknownArgumentType]
        else:
            merged[key] = value
    return merged


def meteor_settings(app: AppConfig, storage: StorageWiring) -> tuple[pulumi.Output[str] | None, bool]:
    """METEOR_SETTINGS as one JSON string, and whether it must be a secret.

    It is secret when it carries secret settings or any private (non-`public`) key of the app's own.
    """
    plain: dict[str, JsonValue] = deep_merge(app.settings, {"storage": storage.settings})
    secret_parts: list[pulumi.Output[str]] = []
    if app.secret_settings is not None:
        secret_parts.append(app.secret_settings.output())
    storage_secret_keys = sorted(storage.secret_settings)
    storage_secret_values = [storage.secret_settings[k] for k in storage_secret_keys]

    def render(values: list[Any]) -> str:
        merged: dict[str, Any] = dict(plain)
        stored = dict(zip(storage_secret_keys, values[: len(storage_secret_keys)], strict=True))
        merged = deep_merge(merged, {"storage": stored})
        for text in values[len(storage_secret_keys) :]:
            merged = deep_merge(merged, json.loads(text))
        return json.dumps(merged, sort_keys=True, separators=(",", ":"))

    private_keys = set(app.settings) - {"public"}
    sensitive = bool(secret_parts or storage_secret_values or private_keys)
    if not sensitive:
        return None, False  # plain settings: the caller renders them as a plain value
    if not (secret_parts or storage_secret_values):
        return pulumi.Output.secret(render([])), True
    combined = pulumi.Output.all(*storage_secret_values, *secret_parts).apply(render)
    return (pulumi.Output.secret(combined) if sensitive else combined), sensitive


def build_app_environment(
    app: AppConfig,
    *,
    root_url: str,
    endpoint_url: str,
    mongo: MongoConnection,
    storage: StorageWiring,
    siblings: Sequence[Sibling],
) -> AppEnvironment:
    """The full environment of `app`.

    `root_url` is the external URL; `endpoint_url` how one instance is reached directly (for
    meteorhacks:cluster); `siblings` are the other apps with their internal DDP URLs.
    """
    assert app.http_forwarded_count is not None, "the platform fills it from the topology (PlatformConfig.http_forwarded_count)"
    plain: dict[str, str] = {
        "ROOT_URL": root_url,
        "PORT": str(app.container_port),
        "BIND_IP": "0.0.0.0",
        "HTTP_FORWARDED_COUNT": str(app.http_forwarded_count),
    }
    secret: dict[str, pulumi.Output[str]] = {"MONGO_URL": mongo.url}
    if mongo.oplog_url is not None:
        secret["MONGO_OPLOG_URL"] = mongo.oplog_url
    if mongo.reactivity_order:
        plain["METEOR_REACTIVITY_ORDER"] = ",".join(mongo.reactivity_order)
    if app.mail_url is not None:
        secret["MAIL_URL"] = app.mail_url.output()
    for name, value in sorted(app.secret_env.items()):
        secret[name] = value.output()
    if app.flavor is not ImageFlavor.METEORD:
        # Let V8 use most of the memory limit before the kernel kills the container.
        heap_mib = int(mebibytes(app.resources.memory_limit) * 0.75)
        plain["NODE_OPTIONS"] = f"--max-old-space-size={heap_mib}"
    settings, settings_secret = meteor_settings(app, storage)
    if settings is not None and settings_secret:
        secret["METEOR_SETTINGS"] = settings
    else:
        plain["METEOR_SETTINGS"] = json.dumps(
            deep_merge(app.settings, {"storage": storage.settings}),
            sort_keys=True,
            separators=(",", ":"),
        )
    plain.update(storage.env)
    secret.update(storage.secret_env)
    for sibling in sorted(siblings, key=lambda s: s.name):
        plain[sibling_env_name(sibling.name)] = sibling.url
    if app.cluster.enabled:
        secret["CLUSTER_DISCOVERY_URL"] = mongo.url
        plain["CLUSTER_SERVICE"] = app.name
        plain["CLUSTER_ENDPOINT_URL"] = endpoint_url
        if app.cluster.workers is not None:
            # Unset means no workers (meteorhacks/cluster lib/server/balancer/workers.js: parseInt(unset) || 0);
            # each worker is a full Meteor process inside the same memory limit.
            plain["CLUSTER_WORKERS_COUNT"] = str(app.cluster.workers)
        if app.cluster.public_services:
            plain["CLUSTER_PUBLIC_SERVICES"] = ",".join(app.cluster.public_services)
    if app.apm is not None:
        variables = app.apm.variables
        plain[variables.app_id] = app.apm.app_id
        secret[variables.secret] = app.apm.secret.output()
        if app.apm.endpoint is not None:
            plain[variables.endpoint] = app.apm.endpoint
    plain.update(app.env)
    return AppEnvironment(plain=plain, secret=secret)
