"""`alerts` and `logs`: where every alert of the stack goes, and where its logs are kept.

`alerts` is either the destinations (emails, a Slack webhook, an SMTP URL for the in-cluster
watcher) or the string `none`, which says explicitly that the stack runs without alerts. Production
must say one or the other (components/config/rules.py).
"""

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, PrivateAttr

from components.config.errors import Problems
from components.config.values import AlertMailUrl, Model, mail_url_user, matching
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


# Route 53 counts an HTTP(S) check as failed unless the endpoint answers 2xx/3xx within two seconds of the
# connection (Route 53 Developer Guide, "How Amazon Route 53 determines whether a health check is healthy":
# docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html), so
# a TimeToFirstByte alarm at or above that could never fire: the down alarm speaks for slower answers.
ROUTE53_ANSWER_LIMIT_MS = 2000
AWS_LATENCY_MS = 1500
DIGITALOCEAN_LATENCY_MS = 3000


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
    latency_ms: int | None = Field(
        default=None,
        ge=100,
        le=30000,
        description="Response time of a public domain's health path; default 3000 where DigitalOcean checks the domains, "
        "1500 where Route 53 does (AWS; below 2000 there: Route 53 counts a slower answer as a failed check).",
    )
    minutes: int = Field(
        default=5, ge=5, le=60, description="How long a condition lasts before it alerts (DigitalOcean's shortest window is 5m)."
    )

    def latency_ms_on(self, uptime_cloud: str | None) -> int:
        """The latency alert's threshold where `uptime_cloud` checks the domains: as configured, else that cloud's default."""
        if self.latency_ms is not None:
            return self.latency_ms
        return AWS_LATENCY_MS if uptime_cloud == "aws" else DIGITALOCEAN_LATENCY_MS


class AlertsConfig(Model):
    """Where every alert of the stack goes: uptime, hosts, volumes, databases, clusters."""

    emails: list[EmailAddress] = Field(
        default_factory=lambda: [],
        max_length=50,
        description=(
            "Email addresses that receive every alert. On DigitalOcean each must be the verified email of a member of the "
            "team that owns the token (the API rejects any other address and `pulumi up` fails); otherwise use Slack."
        ),
    )
    slack: SlackConfig | None = Field(default=None, description="A Slack webhook that receives every alert.")
    mail_url: AlertMailUrl | None = Field(
        default=None,
        description="SMTP URL (secret) the in-cluster watcher sends its email through, on clusters whose cloud has no alerting of its own (DOKS, existing clusters); refused elsewhere (nothing would use it).",
    )
    mail_from: EmailAddress | None = Field(
        default=None,
        description="The sender of the watcher's email (plain config); required when mailUrl's user is not an address (SES, SendGrid `apikey`).",
    )
    thresholds: AlertThresholds = Field(
        default_factory=AlertThresholds.model_construct, description="When resource and latency alerts fire."
    )
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

    def own_problems(self, problems: Problems) -> None:
        if self.explicitly_none:
            return
        if not self.has_destinations:
            problems.missing(["emails"], "expected at least one destination (alerts.emails or alerts.slack), or set alerts to 'none'")
        for i, email in enumerate(self.emails):
            if email in self.emails[:i]:
                problems.bad(["emails", i], email, "expected each address once")
        if self.mail_from is not None and self.mail_url is None:
            problems.bad(["mailFrom"], self.mail_from, "expected it with alerts.mailUrl (the sender of its mail), or unset")
        if self.mail_url is not None and self.mail_url.known and self.mail_from is None:
            user = mail_url_user(self.mail_url)
            if user is None or "@" not in user:
                # SES and SendGrid refuse a sender they have not verified; the first recipient rarely is one.
                problems.missing(
                    ["mailFrom"],
                    "expected the sender address when alerts.mailUrl's user is not one (SES, SendGrid): "
                    "pulumi config set --path alerts.mailFrom alerts@example.com",
                )


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
