"""What watches a stack, as the plan and the pull-request report show it: its uptime checks per
domain, its alerts by kind, where they go. Resources are classified by `policy.rules.WATCH_TYPES`
(the table the uptime policy uses too); secret inputs (a Slack webhook) are never read.
"""

# Resource inputs are JSON-shaped (Any): their members are checked at run time, not typed.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from offline_plan.changes import PlanChanges
from policy.rules import SECRET, UNKNOWN, Resource, as_list, as_map, checked_domain, public_domains, watch_of


def as_resource(planned: Mapping[str, Any]) -> Resource:
    """A plan's resource as the rules take it."""
    return Resource(
        type=str(planned["type"]),
        name=str(planned["name"]),
        urn=str(planned["urn"]),
        inputs=as_map(planned.get("inputs")),
        protect=bool(planned.get("protect")),
        dependencies=tuple(planned.get("dependencies", [])),
    )


@dataclass(frozen=True)
class WatchSummary:
    checks: list[tuple[str, str]]
    """(domain, what requests it) for each uptime check."""
    unchecked: list[str]
    """Public domains no uptime check requests."""
    alerts: list[tuple[str, int]]
    """Each kind of alert and how many the stack has."""
    destinations: list[str]
    """Where alerts go: addresses, Slack channels, topics; never a secret."""

    @property
    def empty(self) -> bool:
        return not (self.checks or self.unchecked or self.alerts or self.destinations)


def _shown(value: Any) -> str | None:
    return value if isinstance(value, str) and value and value not in (SECRET, UNKNOWN) else None


def _requested(r: Resource, label: str) -> str:
    if r.type == "aws:route53/healthCheck:HealthCheck":
        kind, path = _shown(r.inputs.get("type")) or "", _shown(r.inputs.get("resourcePath")) or "/"
        return f"{label} {kind} {path}".replace("  ", " ")
    target = _shown(r.inputs.get("target"))
    return f"{label} {target}" if target else label


SLACK_FORWARDER = "meteor-platform:observability:SlackForwarder"
"""The component type of components/observability/aws_slack.py: its `lambda` subscriptions deliver to Slack."""


def _to_slack_forwarder(r: Resource) -> bool:
    """An SNS subscription of the Slack forwarder: protocol `lambda`, directly under a SlackForwarder (its
    URN's type chain `...$<parent type>$<type>::<name>`, as policy.rules `_disposable` reads it). The
    endpoint is not needed: at preview it is the function's unknown ARN, and the webhook is never read."""
    chain = r.urn.split("::")[2].split("$") if r.urn.count("::") >= 3 else []
    return _shown(r.inputs.get("protocol")) == "lambda" and len(chain) >= 2 and chain[-2] == SLACK_FORWARDER


def _notified(r: Resource) -> list[Mapping[str, Any]]:
    """The notification blocks of a DigitalOcean alert (UptimeAlert `notifications`, MonitorAlert `alerts`)."""
    if r.type == "digitalocean:index/uptimeAlert:UptimeAlert":
        return [as_map(block) for block in as_list(r.inputs.get("notifications"))]
    if r.type == "digitalocean:index/monitorAlert:MonitorAlert":
        return [as_map(r.inputs.get("alerts"))]
    return []


def watch_summary(plan: Mapping[str, Any]) -> WatchSummary:
    resources = [as_resource(r) for r in plan["resources"]]
    checks: list[tuple[str, str]] = []
    alerts: Counter[str] = Counter()
    emails: set[str] = set()
    channels: set[str] = set()
    others: Counter[str] = Counter()
    for r in resources:
        watch = watch_of(r)
        if watch is None:
            continue
        if watch.role == "check":
            domain = checked_domain(r)
            checks.append((domain or "(unknown domain)", _requested(r, watch.label)))
        elif watch.role == "alert":
            detail = _shown(r.inputs.get(watch.detail)) if watch.detail else None
            alerts[f"{watch.label} ({detail})" if detail else watch.label] += 1
        elif r.type == "aws:sns/topicSubscription:TopicSubscription":
            protocol = _shown(r.inputs.get("protocol")) or "unknown"
            endpoint = _shown(r.inputs.get("endpoint"))
            if protocol == "email" and endpoint:
                emails.add(endpoint)
            elif _to_slack_forwarder(r):
                channels.add("(AWS forwarder)")  # one Lambda function per topic region, one Slack webhook
            else:
                others[f"SNS {protocol} subscription"] += 1  # its endpoint may be a secret URL: not shown
        else:
            others[watch.label] += 1
        for block in _notified(r):
            emails.update(e for e in as_list(block.get("emails")) if _shown(e))
            channels.update(c for s in as_list(block.get("slacks")) if (c := _shown(as_map(s).get("channel"))))
    checked = {domain for domain, _ in checks}
    destinations = [f"email {e}" for e in sorted(emails)] + [f"Slack {c}" for c in sorted(channels)]
    destinations += [f"{n} {kind}{'s' if n != 1 else ''}" for kind, n in sorted(others.items())]
    return WatchSummary(
        checks=sorted(checks),
        unchecked=sorted(set(public_domains(resources)) - checked),
        alerts=sorted(alerts.items()),
        destinations=destinations,
    )


TIMES = "\N{MULTIPLICATION SIGN}"


def _alert_groups(alerts: list[tuple[str, int]]) -> list[str]:
    """`DigitalOcean uptime alerts (4): down \N{MULTIPLICATION SIGN}2, latency, ssl_expiry`: one line per kind, what each watches."""
    groups: dict[str, list[tuple[str | None, int]]] = {}
    for kind, n in alerts:
        label, _, detail = kind.partition(" (")
        groups.setdefault(label, []).append((detail.removesuffix(")") or None, n))
    lines: list[str] = []
    for label, members in groups.items():
        total = sum(n for _, n in members)
        details = [d + (f" {TIMES}{n}" if n > 1 else "") for d, n in members if d]
        lines.append(f"{label}{'s' if total != 1 else ''} ({total})" + (f": {', '.join(details)}" if details else ""))
    return lines


def watch_lines(summary: WatchSummary) -> list[str]:
    """The "Checks and alerts" section: one line per check, then alert counts and destinations."""
    lines = [f"  uptime check: {domain}: {what}" for domain, what in summary.checks]
    lines += [f"  no uptime check: {domain}" for domain in summary.unchecked]
    lines += [f"  alerts: {group}" for group in _alert_groups(summary.alerts)] or ["  alerts: none"]
    lines.append("  destinations: " + (", ".join(summary.destinations) or "none"))
    return lines


@dataclass(frozen=True)
class WatchChanges:
    added: int
    removed: int
    changed: int
    """Updated or replaced in place: still there afterwards."""

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def line(self) -> str:
        """`checks and alerts: +N \N{MINUS SIGN}M ~K`: N, M and K count every resource `watch_of` classifies (uptime checks and
        alerts, but also SNS topics and subscriptions, and the in-cluster watcher's CronJob)."""
        changed = f" ~{self.changed}" if self.changed else ""
        return f"checks and alerts: +{self.added} \N{MINUS SIGN}{self.removed}{changed}"


def watch_changes(changes: PlanChanges) -> WatchChanges:
    """How many checks, alerts and destinations (SNS topics and subscriptions; the in-cluster watcher counts as an
    alert) a change adds, removes, or changes."""
    counts: Counter[str] = Counter()
    for change in changes.resources:
        if watch_of(as_resource(change.current)) is not None:
            counts[change.action] += 1
    return WatchChanges(added=counts["create"], removed=counts["delete"], changed=counts["update"] + counts["replace"])
