"""Which observability components a stack gets (components/observability/select.py), decided from its
config, alert destinations and what else it runs: called directly, without building anything."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
import yaml

from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig, parse_config
from components.config.kubernetes import DoksConfig
from components.config.machines import DigitalOceanMachinesConfig
from components.config.mongo import DigitalOceanMongoConfig
from components.observability import alert_destinations
from components.observability.select import (
    Choice,
    DataVolumeHost,
    DoksNodes,
    TaggedDroplets,
    WatchFacts,
    choose,
    host_agent_namespace,
    region_alarms,
)
from tests.harness import ROOT

STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
COMPONENTS = {
    "container_logs": "ContainerLogShipping",
    "alert_topics": "AlertTopics",
    "aws_uptime": "AwsUptimeChecks",
    "slack_forwarder": "SlackForwarder",
    "host_alarms": "HostAlarms",
    "cluster_insights": "ClusterInsights",
    "data_volume_probe": "DataVolumeProbe",
    "digitalocean_alerts": "DigitalOceanAlerts",
    "cluster_watch": "ClusterWatch",
}
"""Each choice and the type (`meteor-platform:observability:<type>`) of the component it builds."""
STAND_IN = cast(Any, object())
"""A resource or host where only its presence matters to the choice."""
SLACK = {"channel": "#ops", "webhook": "https://hooks.slack.com/services/T/B/x"}


def stack_raw(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in document.items()}


def parse(raw: dict[str, Any]) -> PlatformConfig:
    return parse_config(raw, {"meteor-platform:alerts"}, project_dir=ROOT)


def facts_of(config: PlatformConfig) -> WatchFacts:
    """What the platform hands the selection for `config`: stand-ins for the DigitalOcean resources it runs."""
    on_docker_droplets = isinstance(config, DockerPlatformConfig) and isinstance(config.machines, DigitalOceanMachinesConfig)
    return WatchFacts(
        name="meteor",
        prefix="meteor-test",
        stack="test",
        droplets=TaggedDroplets("meteor-test-docker", ()) if isinstance(config.machines, DigitalOceanMachinesConfig) else None,
        doks_nodes=DoksNodes("cluster-id", STAND_IN)
        if isinstance(config, KubernetesPlatformConfig) and isinstance(config.kubernetes, DoksConfig)
        else None,
        managed_databases={"": "database-id"} if isinstance(config.mongo, DigitalOceanMongoConfig) else None,
        data_volume_host=DataVolumeHost(STAND_IN, STAND_IN) if on_docker_droplets else None,
    )


def chosen(config: PlatformConfig, facts: WatchFacts | None = None) -> set[str]:
    choice = choose(config, alert_destinations(config), facts or facts_of(config))
    return {name for name in COMPONENTS if getattr(choice, name)}


def choice_for(raw: dict[str, Any], facts: WatchFacts | None = None) -> Choice:
    config = parse(raw)
    return choose(config, alert_destinations(config), facts or facts_of(config))


@pytest.mark.parametrize("stack", STACKS)
def test_each_shipped_stack_gets_the_components_its_committed_plan_has(stack: str) -> None:
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text())
    built = {r["type"].rsplit(":", 1)[1] for r in plan["resources"] if r["type"].startswith("meteor-platform:observability:")}
    assert {COMPONENTS[name] for name in chosen(parse(stack_raw(stack)))} == built


@pytest.mark.parametrize(
    ("stack", "expected"),
    [
        ("dev", set[str]()),
        ("aws-hosts", {"container_logs", "alert_topics", "aws_uptime", "host_alarms"}),
        ("aws-staging", {"alert_topics", "aws_uptime", "cluster_insights"}),
        ("droplets", {"data_volume_probe", "digitalocean_alerts"}),
        ("staging", {"digitalocean_alerts", "cluster_watch"}),
        ("byoc", {"digitalocean_alerts", "cluster_watch"}),
    ],
)
def test_what_each_kind_of_stack_is_watched_with(stack: str, expected: set[str]) -> None:
    assert chosen(parse(stack_raw(stack))) == expected


# -- one decision for the stack region's alarms and its topic ------------------------------------


@pytest.mark.parametrize(
    ("stack", "alarms"), [("aws-hosts", "ec2-hosts"), ("aws-staging", "eks"), ("staging", None), ("byoc", None), ("droplets", None)]
)
def test_what_alarms_in_the_stack_region(stack: str, alarms: str | None) -> None:
    config = parse(stack_raw(stack))
    assert region_alarms(config, alert_destinations(config)) == alarms
    assert region_alarms(config, None) is None, "without destinations nothing alarms"


@pytest.mark.parametrize("stack", ["aws-hosts", "aws-staging"])
def test_the_stack_region_topic_exists_exactly_when_its_alarms_do(stack: str) -> None:
    alerting = choice_for(stack_raw(stack))
    assert alerting.region_topic and alerting.region_alarms is not None
    silent = choice_for({**stack_raw(stack), "environment": "staging", "alerts": {"emails": ["ops@example.com"], "uptimeChecks": "none"}})
    assert silent.region_topic, "the hosts' or cluster's alarms still notify it"
    assert not silent.route53_topic and not silent.aws_uptime


def test_a_stack_without_destinations_gets_health_checks_but_no_topic() -> None:
    choice = choice_for({**stack_raw("aws-hosts"), "environment": "staging", "alerts": "none"})
    assert choice.aws_uptime
    assert not choice.alert_topics, "a topic nothing notifies would only mail confirmation links"
    assert not choice.host_alarms and not choice.slack_forwarder


def test_eks_without_destinations_still_ships_logs_through_container_insights() -> None:
    choice = choice_for({**stack_raw("aws-staging"), "alerts": "none", "logs": {"ship": True}})
    assert choice.cluster_insights and choice.region_alarms is None
    assert not choice_for({**stack_raw("aws-staging"), "alerts": "none", "logs": {"ship": False}}).cluster_insights


def test_the_slack_forwarder_follows_the_topics_and_the_webhook() -> None:
    assert choice_for({**stack_raw("aws-hosts"), "alerts": {"slack": SLACK}}).slack_forwarder
    assert not choice_for(stack_raw("aws-hosts")).slack_forwarder, "email only"
    droplets = choice_for({**stack_raw("droplets"), "alerts": {"slack": SLACK}})
    assert not droplets.slack_forwarder, "no AWS alarm to forward"


# -- the hosts' agent and logs ---------------------------------------------------------------------


def test_ec2_docker_hosts_run_the_agent_only_when_they_alert() -> None:
    config = parse(stack_raw("aws-hosts"))
    assert host_agent_namespace(config, alert_destinations(config), "meteor-aws-hosts") == "meteor-aws-hosts"
    assert host_agent_namespace(config, None, "meteor-aws-hosts") is None
    eks = parse(stack_raw("aws-staging"))
    assert host_agent_namespace(eks, alert_destinations(eks), "meteor-aws-staging") is None


def test_container_logs_ship_from_ec2_docker_hosts_only() -> None:
    assert choice_for(stack_raw("aws-hosts")).container_logs
    assert not choice_for({**stack_raw("aws-hosts"), "logs": {"ship": False}}).container_logs
    assert not choice_for({**stack_raw("droplets"), "logs": {"ship": True}}).container_logs


# -- DigitalOcean and the clusters without cloud alerting ------------------------------------------


def test_the_cluster_watcher_runs_where_the_cloud_does_not_alert() -> None:
    assert choice_for(stack_raw("staging")).cluster_watch
    assert choice_for(stack_raw("byoc")).cluster_watch
    assert not choice_for({**stack_raw("byoc"), "alerts": "none"}).cluster_watch
    assert not choice_for(stack_raw("aws-staging")).cluster_watch, "EKS is watched by CloudWatch alarms"


def test_digitalocean_checks_the_domains_without_destinations_and_alerts_on_droplets_with_them() -> None:
    raw = {**stack_raw("staging"), "alerts": "none"}
    assert choice_for(raw).digitalocean_alerts, "the uptime checks run with `alerts: none` too"
    unchecked = {**stack_raw("staging"), "alerts": {"emails": ["ops@example.com"], "uptimeChecks": "none"}}
    config = parse(unchecked)
    assert choice_for(unchecked).digitalocean_alerts, "the nodes' and database's alerts"
    nothing_to_watch = WatchFacts(name="meteor", prefix="meteor-test", stack="test")
    assert not choose(config, alert_destinations(config), nothing_to_watch).digitalocean_alerts
    internal = [{k: v for k, v in app.items() if k != "domain"} for app in raw["apps"]]
    assert not choice_for({**raw, "apps": internal}).digitalocean_alerts, "no domain to check, nobody to tell"


def test_the_data_volume_probe_needs_one_host_a_destination_and_a_digitalocean_check() -> None:
    single = choice_for(stack_raw("droplets"))
    assert single.data_volume_probe and single.uptime_endpoints and not single.unwatched_data_volume
    assert not choice_for({**stack_raw("droplets"), "environment": "staging", "alerts": "none"}).data_volume_probe
    raw = stack_raw("droplets")
    two_hosts = {**raw, "machines": {**raw["machines"], "count": 2, "reservedIp": False}, "mongo": {"provider": "digitalocean", "nodes": 3}}
    assert not choice_for(two_hosts).data_volume_probe, "behind the load balancer a request reaches any host"
    off_digitalocean = choice_for({**raw, "alerts": {**raw["alerts"], "uptimeChecks": "aws"}})
    assert not off_digitalocean.data_volume_probe and off_digitalocean.unwatched_data_volume
