"""DigitalOcean uptime checks and alerts per public domain; monitor alerts on droplets and databases.

Values the provider accepts, from pulumi-digitalocean 4.84.1's docstrings and
terraform-provider-digitalocean (digitalocean/uptime/resource_uptime_{check,alert}.go,
digitalocean/monitoring/resource_monitor_alert.go, whose `StringInSlice` validators are what a real
`up` enforces):

- UptimeCheck `type`: `ping`, `http`, `https`; `regions`: `us_east`, `us_west`, `eu_west`, `se_asia`
  (a set: order never shows as a diff).
- UptimeAlert `type`: `latency` (threshold in milliseconds), `down` (down from any region, no
  threshold), `down_global`, `ssl_expiry` (threshold in days: DigitalOcean API "Create a New Alert",
  also `doctl monitoring uptime alert create --help`); `comparison`: `greater_than`, `less_than`;
  `period`: 2m 3m 5m 10m 15m 30m 1h. The provider reads `comparison`, `threshold` and `period` back
  from the API (resourceDigitalOceanUptimeAlertRead), so every alert sets all three: an unset one
  would differ from what the API answers on every preview.
- MonitorAlert `window`: 5m 10m 30m 1h; `compare`: `GreaterThan`, `LessThan`; droplet types
  `v1/insights/droplet/{cpu,memory_utilization_percent,disk_utilization_percent}` (need the metrics
  agent: `monitoring=True` on the droplets, components/machines/digitalocean.py); database types
  `v1/dbaas/alerts/{cpu_alerts,memory_utilization_alerts,disk_utilization_alerts}` whose entities are
  database cluster UUIDs (API "Create Alert Policy", the entities column of its type table).
- Tags (`^[a-zA-Z0-9:\\-_]{1,255}$`, digitalocean/tag/tags.go): "When an included tag is added to a
  resource, the alert policy will apply to it" (monitor_alert docstring). Host alerts follow tags,
  never droplet ids: a rolled or autoscaled droplet carries the tag and stays covered without a new `up`.
  DOKS tags every node droplet `k8s:<cluster id>` (API node pool examples: `"tags": ["k8s",
  "k8s:<cluster uuid>", "k8s:worker"]`; the provider hides these automatic tags, FilterTags in
  digitalocean/kubernetes/kubernetes.go).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from components.observability import AlertDestinations, PublicEndpoint

UPTIME_REGIONS = ("us_east", "us_west", "eu_west", "se_asia")
UPTIME_PERIODS = {"2m": 2, "3m": 3, "5m": 5, "10m": 10, "15m": 15, "30m": 30, "1h": 60}
MONITOR_WINDOWS = {"5m": 5, "10m": 10, "30m": 30, "1h": 60}
CERTIFICATE_DAYS = 14
"""Alert this many days before a domain's certificate expires (Let's Encrypt renews at 30 days left)."""

DROPLET_METRICS = {
    "cpu": "v1/insights/droplet/cpu",
    "memory": "v1/insights/droplet/memory_utilization_percent",
    "disk": "v1/insights/droplet/disk_utilization_percent",
}
DATABASE_METRICS = {
    "cpu": "v1/dbaas/alerts/cpu_alerts",
    "memory": "v1/dbaas/alerts/memory_utilization_alerts",
    "disk": "v1/dbaas/alerts/disk_utilization_alerts",
}


def shortest_allowed(minutes: int, allowed: Mapping[str, int]) -> str:
    """The shortest allowed window that lasts at least `minutes` (the longest when none does)."""
    fitting = [(length, name) for name, length in allowed.items() if length >= minutes]
    return min(fitting)[1] if fitting else max((length, name) for name, length in allowed.items())[1]


@dataclass(frozen=True)
class WatchedDroplets:
    """Droplets that run the metrics agent, found by a tag they all carry (and every replacement too)."""

    name: str
    """What they are, for resource and alert names: `hosts` (the Docker hosts), `doks-nodes`."""
    tag: pulumi.Input[str]
    depends_on: Sequence[pulumi.Resource] = ()
    """What creates the tag (a tag must exist before a policy names it)."""


@dataclass(frozen=True)
class DigitalOceanAlertsArgs:
    name: str
    """Prefix of display names (`<platform>-<stack>`): an alert says which stack it belongs to."""
    endpoints: Sequence[PublicEndpoint]
    destinations: AlertDestinations | None
    """None: the uptime checks still run (visible in the control panel), nothing alerts."""
    droplets: Sequence[WatchedDroplets] = ()
    databases: Mapping[str, pulumi.Input[str]] | None = None
    """Managed database cluster ids by what they serve (`mongo`, `mongo-<app>`)."""
    data_volume_probe: str | None = None
    """The URL of the first host's data-volume probe (volume_probe.py): 503 when the volume is full
    (whether DigitalOcean counts a 503 as down is undocumented: README "Uptime and alerts on DigitalOcean")."""


class DigitalOceanAlerts(pulumi.ComponentResource):
    """An uptime check per public domain, its alerts, and resource alerts on droplets and databases."""

    uptime_checks: dict[str, do.UptimeCheck]
    """By app name, and `data-volume` for the data-volume probe."""
    uptime_alerts: dict[str, do.UptimeAlert]
    """By `<app>-<kind>`."""
    monitor_alerts: dict[str, do.MonitorAlert]
    """By `<what>-<metric>`."""

    def __init__(self, name: str, args: DigitalOceanAlertsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:DigitalOceanAlerts", name, None, opts)
        self._name = name
        self._args = args
        self.uptime_checks = {}
        self.uptime_alerts = {}
        self.monitor_alerts = {}
        for endpoint in args.endpoints:
            self._uptime(endpoint)
        if args.data_volume_probe is not None:
            self._data_volume(args.data_volume_probe)
        if args.destinations is not None:
            for droplets in args.droplets:
                self._droplet_alerts(droplets, args.destinations)
            for label, cluster_id in (args.databases or {}).items():
                self._database_alerts(label, cluster_id, args.destinations)
        self.register_outputs({"uptime_checks": {app: c.id for app, c in self.uptime_checks.items()}})

    def _uptime(self, endpoint: PublicEndpoint) -> None:
        # The check requests exactly the URL users reach: the app's domain (so SNI and the certificate
        # are the real ones, through the real DNS, load balancer or ingress) and its health path.
        check = do.UptimeCheck(
            f"{self._name}-{endpoint.app}",
            name=f"{self._args.name}-{endpoint.app}",
            target=endpoint.url,
            type=endpoint.scheme,
            regions=list(UPTIME_REGIONS),
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.uptime_checks[endpoint.app] = check
        d = self._args.destinations
        if d is None:
            return
        period = shortest_allowed(d.thresholds.minutes, UPTIME_PERIODS)
        kinds: dict[str, tuple[str, int, str, str]] = {
            # kind: (type, threshold, comparison, period)
            "down": ("down", 0, "greater_than", period),
            "latency": ("latency", d.latency_ms, "greater_than", period),
        }
        if endpoint.tls:
            kinds["certificate"] = ("ssl_expiry", CERTIFICATE_DAYS, "less_than", period)
        for kind, (type_, threshold, comparison, alert_period) in kinds.items():
            self.uptime_alerts[f"{endpoint.app}-{kind}"] = do.UptimeAlert(
                f"{self._name}-{endpoint.app}-{kind}",
                name=f"{self._args.name}-{endpoint.app}-{kind}",
                check_id=check.id,
                type=type_,
                threshold=threshold,
                comparison=comparison,
                period=alert_period,
                notifications=[_uptime_notification(d)],
                opts=pulumi.ResourceOptions(parent=self),
            )

    def _data_volume(self, url: str) -> None:
        check = do.UptimeCheck(
            f"{self._name}-data-volume",
            name=f"{self._args.name}-data-volume",
            target=url,
            type=url.split(":", 1)[0],
            regions=list(UPTIME_REGIONS),
            enabled=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.uptime_checks["data-volume"] = check
        d = self._args.destinations
        if d is None:
            return
        self.uptime_alerts["data-volume-full"] = do.UptimeAlert(
            f"{self._name}-data-volume-full",
            name=f"{self._args.name}-data-volume-full",
            check_id=check.id,
            type="down",
            threshold=0,
            comparison="greater_than",
            period=shortest_allowed(d.thresholds.minutes, UPTIME_PERIODS),
            notifications=[_uptime_notification(d)],
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _droplet_alerts(self, droplets: WatchedDroplets, d: AlertDestinations) -> None:
        self._resource_alerts(droplets.name, DROPLET_METRICS, d, tags=[droplets.tag], depends_on=list(droplets.depends_on))

    def _database_alerts(self, label: str, cluster_id: pulumi.Input[str], d: AlertDestinations) -> None:
        self._resource_alerts(label, DATABASE_METRICS, d, entities=[cluster_id])

    def _resource_alerts(
        self,
        label: str,
        metrics: Mapping[str, str],
        d: AlertDestinations,
        *,
        tags: list[pulumi.Input[str]] | None = None,
        entities: list[pulumi.Input[str]] | None = None,
        depends_on: list[pulumi.Resource] | None = None,
    ) -> None:
        """CPU, memory and disk above their thresholds, on droplets by tag or on resources by id."""
        limits = {"cpu": d.thresholds.cpu_percent, "memory": d.thresholds.memory_percent, "disk": d.thresholds.disk_percent}
        window = shortest_allowed(d.thresholds.minutes, MONITOR_WINDOWS)
        for metric, type_ in metrics.items():
            self.monitor_alerts[f"{label}-{metric}"] = do.MonitorAlert(
                f"{self._name}-{label}-{metric}",
                description=f"{self._args.name} {label}: {metric} above {limits[metric]}% for {window}",
                type=type_,
                compare="GreaterThan",
                value=float(limits[metric]),
                window=window,
                tags=tags,
                entities=entities,
                enabled=True,
                alerts=_monitor_notification(d),
                opts=pulumi.ResourceOptions(parent=self, depends_on=depends_on or []),
            )


def _slacks(d: AlertDestinations) -> list[do.UptimeAlertNotificationSlackArgsDict]:
    if d.slack_webhook is None or d.slack_channel is None:
        return []
    # The webhook URL stays a secret Output: the provider stores it encrypted in state, plans redact it.
    return [{"channel": d.slack_channel, "url": d.slack_webhook}]


def _uptime_notification(d: AlertDestinations) -> do.UptimeAlertNotificationArgsDict:
    return {"emails": list(d.emails), "slacks": _slacks(d)}


def _monitor_notification(d: AlertDestinations) -> do.MonitorAlertAlertsArgsDict:
    slacks: list[do.MonitorAlertAlertsSlackArgsDict] = [{"channel": s["channel"], "url": s["url"]} for s in _slacks(d)]
    return {"emails": list(d.emails), "slacks": slacks}
