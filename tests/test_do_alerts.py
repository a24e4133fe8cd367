"""DigitalOcean uptime checks per public domain, their alerts, and monitor alerts on droplets and databases."""

from __future__ import annotations

import copy
import json
import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import parse_config
from components.observability import public_endpoints
from components.observability.volume_probe import PROBE_PATH, PROBE_USER, probe_script
from offline_plan.changes import plan_changes
from offline_plan.wire import SECRET_SIG
from tests.harness import IMAGE, ROOT, Run, run_config, run_shipped, shipped, with_committed_plans

CHECK = "digitalocean:index/uptimeCheck:UptimeCheck"
UPTIME_ALERT = "digitalocean:index/uptimeAlert:UptimeAlert"
MONITOR_ALERT = "digitalocean:index/monitorAlert:MonitorAlert"
DROPLET = "digitalocean:index/droplet:Droplet"
SECURE_WEBHOOK = {"secure": "v1:aG9va3Muc2xhY2suY29tL3NlcnZpY2VzL1QvQi9Y"}
DO_STACKS = ("production", "staging", "droplets", "byoc")


def shipped_config(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items()}


def run_changed(tmp_path: Path, stack: str, **changes: Any) -> Run:
    config = copy.deepcopy(shipped_config(stack))
    config.update(changes)
    with_committed_plans(tmp_path, "staging", "aws-staging")
    return run_config(tmp_path, config, stack=stack)


def by_name(run: Run, type_: str) -> dict[str, dict[str, Any]]:
    return {r["name"]: r for r in run.resources(type_)}


@pytest.mark.parametrize("stack", DO_STACKS)
def test_every_public_domain_gets_a_check_and_its_alerts(stack: str) -> None:
    run = shipped(stack)
    endpoints = public_endpoints(parse_config(shipped_config(stack)))
    assert endpoints, "every DigitalOcean stack shipped has a public domain"
    checks = {n: c for n, c in by_name(run, CHECK).items() if n != "meteor-do-alerts-data-volume"}
    assert {n: c["inputs"]["target"] for n, c in checks.items()} == {f"meteor-do-alerts-{e.app}": e.url for e in endpoints}
    alerts = by_name(run, UPTIME_ALERT)
    for endpoint in endpoints:
        check = checks[f"meteor-do-alerts-{endpoint.app}"]
        assert check["inputs"]["type"] == endpoint.scheme == "https"
        assert check["inputs"]["enabled"] is True and len(check["inputs"]["regions"]) >= 3
        check_id = run.result.ids[check["urn"]]
        kinds = {n.removeprefix(f"meteor-do-alerts-{endpoint.app}-"): a for n, a in alerts.items() if a["inputs"]["checkId"] == check_id}
        assert set(kinds) == {"down", "latency", "certificate"}
        assert kinds["latency"]["inputs"] | {"notifications": None} == {
            "checkId": check_id,
            "name": f"meteor-{stack}-{endpoint.app}-latency",
            "type": "latency",
            "threshold": 3000,
            "comparison": "greater_than",
            "period": "5m",
            "notifications": None,
        }
        assert kinds["down"]["inputs"]["type"] == "down"
        assert kinds["certificate"]["inputs"]["type"] == "ssl_expiry"
        assert kinds["certificate"]["inputs"]["comparison"] == "less_than" and kinds["certificate"]["inputs"]["threshold"] == 14
        for alert in kinds.values():
            assert alert["inputs"]["notifications"] == [{"emails": ["ops@example.com"], "slacks": []}]


def test_the_check_requests_the_apps_health_path_on_its_domain(tmp_path: Path) -> None:
    apps = copy.deepcopy(shipped_config("droplets")["apps"])
    apps[0]["healthPath"] = "/healthz"
    run = run_changed(tmp_path, "droplets", apps=apps)
    assert run.one(CHECK, "meteor-do-alerts-todos")["inputs"]["target"] == "https://todos.example.org/healthz"


def test_a_plain_http_domain_is_checked_over_http_without_a_certificate_alert(tmp_path: Path) -> None:
    run = run_changed(tmp_path, "droplets", environment="dev", ingress={"tls": "off"})
    check = run.one(CHECK, "meteor-do-alerts-todos")
    assert check["inputs"]["type"] == "http" and check["inputs"]["target"] == "http://todos.example.org/"
    assert {a["name"]: a["inputs"]["type"] for a in run.resources(UPTIME_ALERT)} == {
        "meteor-do-alerts-todos-down": "down",
        "meteor-do-alerts-todos-latency": "latency",
        "meteor-do-alerts-data-volume-full": "down",
    }
    probe = run.one(CHECK, "meteor-do-alerts-data-volume")
    assert probe["inputs"]["type"] == "http" and probe["inputs"]["target"] == f"http://todos.example.org{PROBE_PATH}"


def test_alerts_go_to_the_emails_and_the_slack_webhook_as_a_secret(tmp_path: Path) -> None:
    alerts = {"emails": ["ops@example.com", "oncall@example.com"], "slack": {"webhook": SECURE_WEBHOOK, "channel": "#ops"}}
    run = run_changed(tmp_path, "droplets", alerts=alerts)
    plan_text = json.dumps(run.plan)
    notified = [a["inputs"]["notifications"][0] for a in run.resources(UPTIME_ALERT)]
    notified += [a["inputs"]["alerts"] for a in run.resources(MONITOR_ALERT)]
    assert len(notified) == 7
    for notification in notified:
        assert notification["emails"] == ["ops@example.com", "oncall@example.com"]
        (slack,) = notification["slacks"]
        assert slack["channel"] == "#ops" and slack["url"] == "[secret]"
    for alert in [*run.resources(UPTIME_ALERT), *run.resources(MONITOR_ALERT)]:
        state = run.result.states[alert["urn"]]
        notification = state["notifications"] if "notifications" in state else state["alerts"]
        assert SECRET_SIG in repr(notification), "the webhook reaches the provider as a secret Output"
    assert "not-decrypted" not in plan_text


def test_alerts_none_keeps_the_checks_and_drops_every_alert(tmp_path: Path) -> None:
    run = run_changed(tmp_path, "production", alerts="none")
    assert [c["inputs"]["target"] for c in run.resources(CHECK)] == ["https://todos.example.com/"]
    assert run.resources(UPTIME_ALERT) == [] and run.resources(MONITOR_ALERT) == []


def test_no_alert_without_destinations(tmp_path: Path) -> None:
    config = shipped_config("droplets")
    del config["alerts"]
    config["environment"] = "staging"  # production must name its destinations
    run = run_config(tmp_path, config, stack="droplets")
    assert [c["name"] for c in run.resources(CHECK)] == ["meteor-do-alerts-todos"], "the domain is still checked"
    assert run.resources(UPTIME_ALERT) == [] and run.resources(MONITOR_ALERT) == []
    # The data volume's probe only feeds an alert: without destinations neither its container nor its check.
    assert not [c for c in run.resources("docker:index/container:Container") if "data-volume-probe" in c["name"]]


def test_docker_hosts_alert_on_cpu_memory_and_disk_by_their_tag() -> None:
    run = shipped("droplets")
    alerts = by_name(run, MONITOR_ALERT)
    assert {n: (a["inputs"]["type"], a["inputs"]["value"]) for n, a in alerts.items()} == {
        "meteor-do-alerts-hosts-cpu": ("v1/insights/droplet/cpu", 85),
        "meteor-do-alerts-hosts-memory": ("v1/insights/droplet/memory_utilization_percent", 90),
        "meteor-do-alerts-hosts-disk": ("v1/insights/droplet/disk_utilization_percent", 85),
    }
    droplets = run.resources(DROPLET)
    assert droplets and all(d["inputs"]["monitoring"] is True for d in droplets), "the metrics agent feeds these alerts"
    for alert in alerts.values():
        assert alert["inputs"]["compare"] == "GreaterThan" and alert["inputs"]["window"] == "5m"
        assert "entities" not in alert["inputs"], "never droplet ids: a replaced droplet would fall out"
        for droplet in droplets:
            assert alert["inputs"]["tags"] == run.state(droplet)["tags"]


def test_a_rolled_droplet_stays_covered_without_touching_its_alerts(tmp_path: Path) -> None:
    before = shipped("droplets")
    rolled = run_changed(tmp_path, "droplets", machines={**shipped_config("droplets")["machines"], "image": "ubuntu-22-04-x64"})
    changes = {c.name: c for c in plan_changes(before.plan, rolled.plan).resources}
    assert changes["meteor-machines-0"].action == "replace"
    for alert in rolled.resources(MONITOR_ALERT):
        assert alert["name"] not in changes
        for droplet in rolled.resources(DROPLET):
            assert alert["inputs"]["tags"] == rolled.state(droplet)["tags"], "the new droplet carries the tag the alert follows"


@pytest.mark.parametrize("stack", ["production", "staging"])
def test_doks_nodes_alert_by_the_tag_doks_puts_on_every_node_droplet(stack: str) -> None:
    run = shipped(stack)
    (cluster,) = run.resources("digitalocean:index/kubernetesCluster:KubernetesCluster")
    nodes = {n: a for n, a in by_name(run, MONITOR_ALERT).items() if "-doks-nodes-" in n}
    assert sorted(nodes) == [f"meteor-do-alerts-doks-nodes-{m}" for m in ("cpu", "disk", "memory")]
    for alert in nodes.values():
        assert alert["inputs"]["tags"] == [f"k8s:{run.result.ids[cluster['urn']]}"]
        assert cluster["urn"] in alert["dependencies"]


def test_each_managed_mongodb_cluster_alerts_on_cpu_memory_and_disk(tmp_path: Path) -> None:
    config = shipped_config("production")
    run = run_changed(
        tmp_path,
        "production",
        apps=[*config["apps"], {"name": "billing", "image": IMAGE, "domain": "billing.example.com"}],
        mongo={**config["mongo"], "isolatedApps": ["billing"]},
    )
    clusters = {c["name"]: run.result.ids[c["urn"]] for c in run.resources("digitalocean:index/databaseCluster:DatabaseCluster")}
    assert set(clusters) == {"meteor-mongo-cluster", "meteor-mongo-billing-cluster"}
    alerts = {n: a["inputs"] for n, a in by_name(run, MONITOR_ALERT).items() if "-mongo" in n}
    expected = {"cpu": "v1/dbaas/alerts/cpu_alerts", "memory": "v1/dbaas/alerts/memory_utilization_alerts"}
    expected["disk"] = "v1/dbaas/alerts/disk_utilization_alerts"
    for label, cluster in (("mongo", "meteor-mongo-cluster"), ("mongo-billing", "meteor-mongo-billing-cluster")):
        for metric, type_ in expected.items():
            alert = alerts[f"meteor-do-alerts-{label}-{metric}"]
            assert alert["type"] == type_ and alert["entities"] == [clusters[cluster]] and "tags" not in alert
    assert len(alerts) == 6
    assert {c["inputs"]["target"] for c in run.resources(CHECK)} == {"https://todos.example.com/", "https://billing.example.com/"}


@pytest.mark.parametrize(("minutes", "window", "period"), [(5, "5m", "5m"), (7, "10m", "10m"), (12, "30m", "15m"), (45, "1h", "1h")])
def test_windows_and_periods_are_the_shortest_allowed_that_last_the_configured_minutes(
    tmp_path: Path, minutes: int, window: str, period: str
) -> None:
    run = run_changed(tmp_path, "droplets", alerts={"emails": ["ops@example.com"], "thresholds": {"minutes": minutes}})
    assert {a["inputs"]["window"] for a in run.resources(MONITOR_ALERT)} == {window}
    assert {a["inputs"]["period"] for a in run.resources(UPTIME_ALERT)} == {period}


def test_aws_stacks_have_no_digitalocean_checks() -> None:
    run = shipped("aws-production")
    assert run.resources(CHECK) == [] and run.resources(MONITOR_ALERT) == []


# -- the data volume: DigitalOcean's agent does not report it, a probe on the host answers instead ------


def test_the_first_host_answers_how_full_its_data_volume_is_and_an_uptime_check_watches_it() -> None:
    run = shipped("droplets")
    [host0] = [p for p in run.resources("pulumi:providers:docker") if p["name"] == "meteor-host0-docker"]
    container = run.one("docker:index/container:Container", "meteor-host0-data-volume-probe-container")
    assert container["provider"] == host0["urn"]
    inputs = container["inputs"]
    assert inputs["volumes"] == [{"containerPath": "/probe", "readOnly": True, "volumeName": "meteor-data-volume-probe"}]
    assert inputs["readOnly"] is True and inputs["user"] == PROBE_USER and inputs["capabilities"] == {"drops": ["ALL"]}
    labels = {label["label"]: label["value"] for label in inputs["labels"]}
    assert labels["traefik.http.routers.meteor-data-volume-probe.rule"] == f"Host(`todos.example.org`) && Path(`{PROBE_PATH}`)"
    assert labels["traefik.http.routers.meteor-data-volume-probe.tls.certresolver"] == "letsencrypt"
    assert labels["traefik.docker.network"] == inputs["networksAdvanced"][0]["name"]
    (script,) = [e.split("=", 1)[1] for e in inputs["envs"] if e.startswith("PROBE_SCRIPT=")]
    assert script == probe_script(85), "alerts.thresholds.diskPercent"
    check = run.one(CHECK, "meteor-do-alerts-data-volume")
    assert check["inputs"]["target"] == f"https://todos.example.org{PROBE_PATH}"
    alert = run.one(UPTIME_ALERT, "meteor-do-alerts-data-volume-full")
    assert alert["inputs"]["type"] == "down" and alert["inputs"]["checkId"] == run.result.ids[check["urn"]]
    assert alert["inputs"]["notifications"] == [{"emails": ["ops@example.com"], "slacks": []}]


@pytest.mark.parametrize(("limit", "status", "word"), [(101, "200 OK", "ok"), (0, "503 Service Unavailable", "unavailable")])
def test_the_probe_answers_503_once_the_filesystem_reaches_the_limit_and_tells_nothing_more(
    tmp_path: Path, limit: int, status: str, word: str
) -> None:
    script = tmp_path / "data-volume"
    script.write_text(probe_script(limit).replace("df -P /probe", f"df -P {tmp_path}"))
    answer = subprocess.run(["sh", str(script)], capture_output=True, check=True).stdout.decode()
    headers, body = answer.split("\r\n\r\n", 1)
    assert headers.splitlines()[0] == f"Status: {status}"
    assert body == f"{word}\n", "no fill level, no threshold: the status is the whole answer"


def test_the_probe_runs_under_a_uid_of_its_own_behind_in_flight_and_rate_limits() -> None:
    run = shipped("droplets")
    containers = {c["name"]: c["inputs"] for c in run.resources("docker:index/container:Container")}
    probe = containers.pop("meteor-host0-data-volume-probe-container")
    others = {inputs.get("user") for inputs in containers.values()}
    assert "65534:65534" in others, "Traefik runs as nobody"
    assert probe["user"] == PROBE_USER and PROBE_USER.split(":")[0] not in {str(u).split(":")[0] for u in others}
    labels = {label["label"]: label["value"] for label in probe["labels"]}
    middlewares = "traefik.http.middlewares.meteor-data-volume-probe"
    assert labels["traefik.http.routers.meteor-data-volume-probe.middlewares"] == (
        "meteor-data-volume-probe-inflight,meteor-data-volume-probe-ratelimit,meteor-data-volume-probe-cgi"
    )
    assert labels[f"{middlewares}-inflight.inflightreq.amount"] == "4"
    assert (labels[f"{middlewares}-ratelimit.ratelimit.average"], labels[f"{middlewares}-ratelimit.ratelimit.burst"]) == ("2", "4")
    assert labels[f"{middlewares}-ratelimit.ratelimit.period"] == "1s"


def test_the_probes_empty_volume_is_disposable_even_in_production() -> None:
    run = shipped("droplets")
    assert shipped_config("droplets")["environment"] == "production"
    volumes = {v["name"]: v for v in run.resources("docker:index/volume:Volume")}
    probe = volumes.pop("meteor-host0-data-volume-probe-volume")
    assert not probe.get("protect") and not probe.get("retainOnDelete")
    assert volumes and all(v.get("protect") and v.get("retainOnDelete") for v in volumes.values()), "the other volumes hold data"


def test_a_second_host_drops_the_probe_without_a_refused_or_orphaned_volume(tmp_path: Path) -> None:
    """One host -> two (behind a load balancer): `up` deletes the probe, its container and its volume;
    nothing of it is protected (which would fail `up`) or kept on delete (which would orphan it)."""
    before = shipped("droplets")
    machines = {**shipped_config("droplets")["machines"], "count": 2, "reservedIp": False}
    after = run_changed(tmp_path, "droplets", machines=machines, mongo=shipped_config("production")["mongo"])
    changes = plan_changes(before.plan, after.plan)
    probe = {c.name: c for c in changes.resources if "data-volume-probe" in c.name}
    assert {n: c.action for n, c in probe.items()} == {
        "meteor-host0-data-volume-probe": "delete",
        "meteor-host0-data-volume-probe-container": "delete",
        "meteor-host0-data-volume-probe-image": "delete",
        "meteor-host0-data-volume-probe-volume": "delete",
    }
    assert not [c for c in changes.data_hits if "data-volume-probe" in c.name]


@pytest.mark.parametrize("elsewhere", ["aws", "none"])
def test_uptime_checks_off_digitalocean_drop_the_probe_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, elsewhere: str
) -> None:
    with caplog.at_level(logging.WARNING):
        # Production refuses unchecked public domains (`none`): the same stack as staging shows the warning.
        run = run_changed(
            tmp_path,
            "droplets",
            alerts={"emails": ["ops@example.com"], "uptimeChecks": elsewhere},
            aws={"region": "eu-central-1"},
            **({"environment": "staging"} if elsewhere == "none" else {}),
        )
    assert not [c for c in run.resources("docker:index/container:Container") if "data-volume-probe" in c["name"]]
    assert run.resources(CHECK) == []
    [warning] = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING and "data volume" in r.getMessage()]
    assert "unwatched" in warning and f"alerts.uptimeChecks: {elsewhere}" in warning


def test_the_shipped_probe_warns_of_nothing(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        run_shipped("droplets")
    assert not [r for r in caplog.records if r.levelno == logging.WARNING and "data volume" in r.getMessage()]


def test_behind_a_load_balancer_no_probe_is_routed(tmp_path: Path) -> None:
    machines = {**shipped_config("droplets")["machines"], "count": 2, "reservedIp": False}
    run = run_changed(tmp_path, "droplets", machines=machines, mongo=shipped_config("production")["mongo"])
    assert run.resources("digitalocean:index/loadBalancer:LoadBalancer")
    assert [c["name"] for c in run.resources(CHECK)] == ["meteor-do-alerts-todos"]
    assert not [c for c in run.resources("docker:index/container:Container") if "data-volume-probe" in c["name"]]


def test_a_stack_deployed_with_the_protected_probe_volume_only_lifts_the_protection() -> None:
    """Before this change production protected the probe's volume: the next `up` with one host only
    clears `protect`/`retainOnDelete` in place (nothing replaced), after which a second host can drop it."""
    now = shipped("droplets")
    deployed = copy.deepcopy(now.plan)
    for r in deployed["resources"]:
        if r["name"] == "meteor-host0-data-volume-probe-volume":
            r["protect"] = r["retainOnDelete"] = True
    changes = plan_changes(deployed, now.plan)
    assert [(c.name, c.action) for c in changes.resources] == [("meteor-host0-data-volume-probe-volume", "update")]
    assert not changes.data_hits
