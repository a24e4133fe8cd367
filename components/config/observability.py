"""`alerts` and `logs`: where every alert of the stack goes, and where its logs are kept.

`alerts` is either the destinations (emails, a Slack webhook, an SMTP URL for the in-cluster
watcher) or the string `none`, which says explicitly that the stack runs without alerts. Production
must say one or the other (`observability_problems`).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr

from components.config.errors import Problems
from components.config.values import MailUrl, Model, matching
from components.secrets import SecretValue

EmailAddress = Annotated[
    str,
    AfterValidator(
        matching(
            r"[^@\s\"'<>,;]{1,64}@[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)+",
            "expected an email address such as ops@example.com",
        )
    ),
]
SlackChannel = Annotated[
    str,
    AfterValidator(
        matching(r"#?[a-z0-9][a-z0-9._-]{0,79}", "expected a Slack channel name such as #ops (lowercase, at most 80 characters)")
    ),
]
# The values CloudWatch Logs accepts for a log group's retention (PutRetentionPolicy, retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def _check_retention(days: int) -> int:
    if days not in LOG_RETENTION_DAYS:
        raise ValueError(f"expected one of the retention periods CloudWatch Logs accepts: {', '.join(map(str, LOG_RETENTION_DAYS))}")
    return days


class SlackConfig(Model):
    """A Slack incoming webhook (https://api.slack.com/messaging/webhooks) and the channel it posts to."""

    webhook: SecretValue = Field(
        ...,
        description="The incoming webhook URL (secret): pulumi config set --secret --path alerts.slack.webhook https://hooks.slack.com/services/...",
    )
    channel: SlackChannel = Field(
        ..., description="The channel the webhook posts to, e.g. `#ops` (DigitalOcean's alerts name it beside the URL)."
    )


class AlertThresholds(Model):
    """When a resource alert fires (percent of capacity, sustained for `minutes`)."""

    cpu_percent: int = Field(default=85, ge=10, le=100, description="CPU use of a host or node.")
    memory_percent: int = Field(default=90, ge=10, le=100, description="Memory use of a host, node or managed database.")
    disk_percent: int = Field(
        default=85, ge=10, le=99, description="Use of a host's disks and data volumes, and of a managed database's disk."
    )
    latency_ms: int = Field(default=3000, ge=100, le=30000, description="Response time of a public domain's health path.")
    minutes: int = Field(
        default=5, ge=5, le=60, description="How long a condition lasts before it alerts (DigitalOcean's shortest window is 5m)."
    )


class AlertsConfig(Model):
    """Where every alert of the stack goes: uptime, hosts, volumes, databases, clusters."""

    emails: list[EmailAddress] = Field(
        default_factory=list,
        max_length=50,
        description=(
            "Email addresses that receive every alert. On DigitalOcean each must be the verified email of a member of the "
            "team that owns the token (the API rejects any other address and `pulumi up` fails); otherwise use Slack."
        ),
    )
    slack: SlackConfig | None = Field(default=None, description="A Slack webhook that receives every alert.")
    mail_url: MailUrl | None = Field(
        default=None,
        description="SMTP URL (secret) the in-cluster watcher sends its email through, on clusters whose cloud has no alerting of its own (DOKS, existing clusters).",
    )
    thresholds: AlertThresholds = Field(default_factory=AlertThresholds, description="When resource and latency alerts fire.")
    uptime_checks: Literal["digitalocean", "aws", "none"] | None = Field(
        default=None,
        description="Which cloud checks the public domains from outside: default the stack's own (AWS, else DigitalOcean); "
        "a stack on an existing cluster with no cloud names one (its token or credentials are then needed).",
    )
    _explicitly_none: bool = PrivateAttr(default=False)

    @property
    def explicitly_none(self) -> bool:
        """The stack said `alerts: none`: it runs without alerts, knowingly."""
        return self._explicitly_none

    @property
    def has_destinations(self) -> bool:
        return bool(self.emails) or self.slack is not None


def _none_or_section(value: Any) -> Any:
    if value == "none":
        off = AlertsConfig()
        off._explicitly_none = True  # pyright: ignore[reportPrivateUsage]
        return off
    if isinstance(value, str):
        raise ValueError("expected alert destinations (emails, slack) or the string 'none'")
    return value


AlertsSection = Annotated[AlertsConfig | None, BeforeValidator(_none_or_section)]


class LogsConfig(Model):
    """Where the apps' logs are kept beyond the hosts' rotated files (README: Observability)."""

    ship: bool = Field(
        default=False,
        description="Ship container logs to the cloud's log service where the pinned SDKs offer one (AWS: CloudWatch Logs); "
        "DigitalOcean has none, so its stacks keep rotated local logs.",
    )
    retention_days: Annotated[int, AfterValidator(_check_retention)] = Field(
        default=30, description="Days the log service keeps shipped logs (a CloudWatch Logs retention value)."
    )


def observability_problems(alerts: AlertsConfig | None, production: bool, problems: Problems) -> None:
    """Production says where alerts go, or says `alerts: none`."""
    if alerts is None:
        if production:
            problems.missing(
                ["alerts"],
                "expected alert destinations in production: pulumi config set --path 'alerts.emails[0]' ops@example.com "
                "(or a Slack webhook: README Observability), or set alerts to 'none' to run production without alerts",
            )
        return
    if alerts.explicitly_none:
        return
    if not alerts.has_destinations:
        problems.missing(
            ["alerts", "emails"],
            "expected at least one destination (alerts.emails or alerts.slack), or set alerts to 'none'",
        )
    for i, email in enumerate(alerts.emails):
        if email in alerts.emails[:i]:
            problems.bad(["alerts", "emails", i], email, "expected each address once")
