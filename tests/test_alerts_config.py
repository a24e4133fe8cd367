"""`alerts` and `logs`: production says where alerts go (or `none`), and every value is checked."""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError, parse_config
from components.observability import alert_destinations, public_endpoints, uptime_cloud
from tests.harness import DIGEST

PRODUCTION_DOCKER: dict[str, Any] = {
    "environment": "production",
    "target": "docker",
    "docker": {"hosts": "local", "acmeEmail": "ops@example.com"},
    "apps": [{"name": "todos", "image": f"ghcr.io/acme/todos@{DIGEST}", "domain": "todos.example.com", "healthPath": "/healthz"}],
}


def errors(raw: dict[str, Any], secret_keys: set[str] | None = None) -> list[str]:
    try:
        parse_config(raw, secret_keys or set())
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines()[1:]]
    return []


def test_production_without_alerts_is_refused_with_how_to_add_one() -> None:
    (line,) = errors(PRODUCTION_DOCKER)
    assert line.startswith("meteor-platform:alerts: missing;")
    assert "pulumi config set --path 'alerts.emails[0]'" in line
    assert "'none'" in line


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_other_environments_may_leave_alerts_out(environment: str) -> None:
    assert errors({**PRODUCTION_DOCKER, "environment": environment}) == []


def test_production_may_say_none_explicitly() -> None:
    cfg = parse_config({**PRODUCTION_DOCKER, "alerts": "none"})
    assert cfg.alerts is not None and cfg.alerts.explicitly_none
    assert alert_destinations(cfg) is None


@pytest.mark.parametrize(
    ("alerts", "key", "expected"),
    [
        ("nobody", "meteor-platform:alerts:", "expected alert destinations (emails, slack) or the string 'none'"),
        ({"emails": []}, "meteor-platform:alerts.emails:", "expected at least one destination"),
        ({"emails": ["ops@example.com", "ops"]}, "meteor-platform:alerts.emails[1]:", "expected an email address"),
        ({"emails": ["ops@example.com", "ops@example.com"]}, "meteor-platform:alerts.emails[1]:", "expected each address once"),
        ({"emails": ["ops@example.com"], "thresholds": {"diskPercent": 100}}, "meteor-platform:alerts.thresholds.diskPercent:", "99"),
        ({"emails": ["ops@example.com"], "uptimeChecks": "pingdom"}, "meteor-platform:alerts.uptimeChecks:", "'digitalocean'"),
        (
            {"slack": {"webhook": "https://hooks.slack.com/services/T/B/x", "channel": "#ops"}},
            "meteor-platform:alerts.slack.webhook:",
            "expected a secret (set it with: pulumi config set --secret --path 'alerts.slack.webhook'",
        ),
        (
            {"emails": ["ops@example.com"], "mailUrl": "smtp://u:p@mail.example.com:587"},
            "meteor-platform:alerts.mailUrl:",
            "expected a secret",
        ),
    ],
)
def test_bad_alerts_name_the_key(alerts: object, key: str, expected: str) -> None:
    lines = errors({**PRODUCTION_DOCKER, "alerts": alerts})
    assert any(line.startswith(key) and expected in line for line in lines), lines
    assert all("hooks.slack.com" not in line and "u:p@" not in line for line in lines)


def test_a_secret_slack_webhook_becomes_a_destination() -> None:
    cfg = parse_config(
        {**PRODUCTION_DOCKER, "alerts": {"slack": {"webhook": "https://hooks.slack.com/services/T/B/x", "channel": "#ops"}}},
        {"meteor-platform:alerts"},
    )
    destinations = alert_destinations(cfg)
    assert destinations is not None and destinations.slack_channel == "#ops" and destinations.emails == ()
    assert destinations.slack_webhook is not None


def test_log_retention_is_a_value_cloudwatch_accepts() -> None:
    (line,) = errors({**PRODUCTION_DOCKER, "alerts": "none", "logs": {"ship": True, "retentionDays": 31}})
    assert line.startswith("meteor-platform:logs.retentionDays: got 31; expected one of the retention periods")


def test_public_endpoints_are_the_checked_domains_with_their_health_path() -> None:
    cfg = parse_config(
        {
            **PRODUCTION_DOCKER,
            "alerts": "none",
            "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
            "machines": {
                "provider": "digitalocean",
                "adminCidrs": ["198.51.100.0/24"],
                "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
            },
        }
    )
    (endpoint,) = public_endpoints(cfg)
    assert endpoint.url == "https://todos.example.com/healthz"
    assert uptime_cloud(cfg) == "digitalocean"


def test_a_local_docker_engine_has_no_public_endpoint() -> None:
    cfg = parse_config({**PRODUCTION_DOCKER, "alerts": "none"})
    assert public_endpoints(cfg) == []
    assert uptime_cloud(cfg) is None


def test_a_special_use_domain_is_never_checked_from_outside() -> None:
    cfg = parse_config(
        {
            **PRODUCTION_DOCKER,
            "environment": "dev",
            "ingress": {"tls": "off"},
            "apps": [{"name": "todos", "image": f"ghcr.io/acme/todos@{DIGEST}", "domain": "todos.test"}],
            "docker": {"hosts": "machines"},
            "machines": {
                "provider": "digitalocean",
                "adminCidrs": ["198.51.100.0/24"],
                "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
            },
        }
    )
    assert uptime_cloud(cfg) == "digitalocean"
    assert public_endpoints(cfg) == [], "no checker on the internet resolves .test"


BYOC_PRODUCTION: dict[str, Any] = {
    "environment": "production",
    "kubernetes": {"provider": "existing"},
    "mongo": {"provider": "inCluster", "storageClass": "standard"},
    "ingress": {"acmeEmail": "ops@example.com"},
    "apps": [{"name": "todos", "image": f"ghcr.io/acme/todos@{DIGEST}", "domain": "todos.example.com"}],
}


def test_production_domains_of_a_stack_without_a_cloud_need_a_checking_cloud() -> None:
    for alerts in ("none", {"emails": ["ops@example.com"]}, {"emails": ["ops@example.com"], "uptimeChecks": "none"}):
        lines = errors({**BYOC_PRODUCTION, "alerts": alerts})
        assert any(line.startswith("meteor-platform:alerts.uptimeChecks:") and "'digitalocean' or 'aws'" in line for line in lines), lines
    assert errors({**BYOC_PRODUCTION, "alerts": {"emails": ["ops@example.com"], "uptimeChecks": "digitalocean"}}) == []
    assert errors({**BYOC_PRODUCTION, "environment": "staging", "alerts": "none"}) == [], "outside production it is a choice"


SMTP = "smtp://alerts%40example.com:s3cret@mail.example.com:587"


def test_a_mail_url_nothing_would_use_is_refused_without_echo() -> None:
    docker = {**PRODUCTION_DOCKER, "alerts": {"emails": ["ops@example.com"], "mailUrl": SMTP}}
    lines = errors(docker, {"meteor-platform:alerts"})
    assert any(line.startswith("meteor-platform:alerts.mailUrl:") and "nothing would use" in line for line in lines), lines
    slack_only = {"slack": {"webhook": "https://hooks.slack.com/services/T/B/x", "channel": "#ops"}, "mailUrl": SMTP}
    lines = errors({**BYOC_PRODUCTION, "alerts": {**slack_only, "uptimeChecks": "digitalocean"}}, {"meteor-platform:alerts"})
    assert any(line.startswith("meteor-platform:alerts.mailUrl:") and "no alerts.emails" in line for line in lines), lines
    assert all("s3cret" not in line for line in lines)
    lines = errors({**BYOC_PRODUCTION, "alerts": {"emails": ["ops@example.com"], "mailFrom": "alerts@example.com"}})
    assert any(line.startswith("meteor-platform:alerts.mailFrom:") for line in lines), lines


def test_an_apps_mail_url_is_parsed_as_meteor_parses_it() -> None:
    """Meteor reads MAIL_URL with WHATWG URL (the last '@' ends the credentials): a Mailgun login with an '@'
    in it works there, so the app's key stays as lenient as before; only the watcher's is strict."""
    app = {**PRODUCTION_DOCKER["apps"][0], "mailUrl": "smtp://postmaster@mg.example.com:p@ss@smtp.mailgun.org:587"}
    assert errors({**PRODUCTION_DOCKER, "alerts": "none", "apps": [app]}, {"meteor-platform:apps"}) == []
