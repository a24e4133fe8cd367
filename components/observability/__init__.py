"""Observability contracts: where alerts go and what the uptime checks watch.

    __init__.py   AlertDestinations and PublicEndpoint (neutral: no provider SDK imported)
    digitalocean.py  uptime checks and alerts, droplet, volume and database alerts
    aws.py           SNS fan-out, Route 53 health checks and CloudWatch alarms
    cluster_watch.py nodes not ready and pods crash-looping, on clusters whose cloud has no alerting
    volume_probe.py  the first DigitalOcean host's data-volume fill level, answered for an uptime check

Every uptime check requests `PublicEndpoint.url` (the app's domain and its health path, over the
scheme users reach it at), so the plan, the policies and the README read one definition.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import pulumi

if TYPE_CHECKING:
    from collections.abc import Sequence

    import pulumi_aws.ec2 as ec2
    import pulumi_aws.eks as eks

    from components.config import PlatformConfig
    from components.config.observability import AlertThresholds
    from components.docker import DockerHost

UptimeCloud = Literal["digitalocean", "aws"]


@dataclass(frozen=True)
class AlertDestinations:
    """Every alert of a stack goes to these (config `alerts`)."""

    emails: tuple[str, ...]
    slack_channel: str | None
    slack_webhook: pulumi.Output[str] | None
    """The Slack incoming webhook URL, a secret."""
    mail_url: pulumi.Output[str] | None
    """SMTP URL (secret) for the in-cluster watcher, when the stack gives one."""
    mail_from: str | None
    """The watcher's sender address (alerts.mailFrom)."""
    thresholds: AlertThresholds
    latency_ms: int
    """The latency alert's threshold: `alerts.thresholds.latencyMs`, else the default of the cloud that checks the domains."""


@dataclass(frozen=True)
class PublicEndpoint:
    """A public domain of an app, as its uptime check requests it."""

    app: str
    domain: str
    health_path: str
    tls: bool

    @property
    def scheme(self) -> Literal["https", "http"]:
        return "https" if self.tls else "http"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.domain}{self.health_path}"


def alert_destinations(config: PlatformConfig) -> AlertDestinations | None:
    """Where the stack's alerts go, or None (no `alerts`, or `alerts: none`)."""
    a = config.alerts
    if a is None or not a.has_destinations:  # `alerts: none` has none
        return None
    return AlertDestinations(
        emails=tuple(a.emails),
        slack_channel=a.slack.channel if a.slack else None,
        slack_webhook=a.slack.webhook.output() if a.slack else None,
        mail_url=a.mail_url.output() if a.mail_url else None,
        mail_from=a.mail_from,
        thresholds=a.thresholds,
        latency_ms=a.thresholds.latency_ms_on(uptime_cloud(config)),
    )


def public_endpoints(config: PlatformConfig) -> list[PublicEndpoint]:
    """Each app domain users reach from the internet (not a special-use name such as .localhost)."""
    from components.config.docker import LocalDockerConfig
    from components.config.platform import SPECIAL_USE_SUFFIXES, DockerPlatformConfig

    if isinstance(config, DockerPlatformConfig) and isinstance(config.docker, LocalDockerConfig):
        return []  # a developer's own Docker engine
    return [
        PublicEndpoint(app=a.name, domain=a.domain, health_path=a.health_path, tls=config.ingress.serves_tls)
        for a in config.apps
        if a.domain and not any(a.domain == s or a.domain.endswith("." + s) for s in SPECIAL_USE_SUFFIXES)
    ]


def uptime_cloud(config: PlatformConfig) -> UptimeCloud | None:
    """Which cloud runs the stack's uptime checks: `alerts.uptimeChecks`, else the stack's own cloud
    (decided in the config, whose rules depend on it: components/config/platform.py)."""
    from components.config.platform import uptime_cloud as chosen

    return chosen(config)


# What the observability components need to know of the machines, clusters and databases they
# watch, as values: each capability's select module fills them in where it knows its implementation.


@dataclass(frozen=True)
class Ec2Hosts:
    """The EC2 Docker hosts, as their alarms and log shipping see them."""

    role_name: pulumi.Input[str]
    """The hosts' instance role: the container log driver writes with it."""
    instances: Sequence[ec2.Instance]
    first_has_data_volume: bool
    """The first host mounts the apps' data volume (its disk is watched too)."""


@dataclass(frozen=True)
class EksCluster:
    """The stack's EKS cluster, which Container Insights is added to."""

    name: str
    cluster: eks.Cluster
    ready: Sequence[pulumi.Resource]
    """What the add-on waits for: the node groups and the pod identity agent."""


@dataclass(frozen=True)
class TaggedDroplets:
    """DigitalOcean Docker hosts: the tag they all carry, and what creates it."""

    tag: pulumi.Input[str]
    created_by: Sequence[pulumi.Resource]


@dataclass(frozen=True)
class DoksNodes:
    """The nodes of the stack's DOKS cluster (DOKS tags each `k8s:<cluster id>`)."""

    cluster_id: pulumi.Input[str]
    cluster: pulumi.Resource


@dataclass(frozen=True)
class DataVolumeHost:
    """A DigitalOcean Docker host with the apps' data volume, which the agent does not report."""

    host: DockerHost
    volume: pulumi.Resource
