"""The infrastructure components' pure builders, called directly: machines, network, EKS, storage, the
Docker proxy and the alarms. (What the components register from them is pinned by the committed plans.)"""

from __future__ import annotations

import pulumi
import pytest
import yaml

from components.aws.iam import allow
from components.config.observability import AlertThresholds
from components.docker.proxy import HTTP_INSIDE, HTTPS_INSIDE, traefik_command
from components.kubernetes.eks_specs import cluster_vpc_config, node_instance_tags, node_scaling
from components.machines import droplet_specs, ec2_specs
from components.machines.host_keys import ssh_url
from components.network.aws import has_nat, subnet_tags
from components.observability import PublicEndpoint
from components.observability.aws_alarms import ROUTE53_METRICS_REGION
from components.observability.aws_cluster import cluster_alarm_specs
from components.observability.aws_hosts import HostAlarmsArgs, HostDisk, host_alarm_specs
from components.observability.aws_slack import LAMBDA_TRUST_POLICY, forwarder_error_alarm
from components.observability.aws_uptime import AlarmTarget, uptime_alarm_specs
from components.observability.cluster_watch import STATE_CONFIGMAP, STATE_RULES, ClusterWatchArgs, destination_secrets
from components.storage import DUMPS_PREFIX
from components.storage import digitalocean as spaces
from components.storage.s3_specs import S3_DUMPS_PREFIX, lifecycle_rules, tls_only_statements

ADMIN = ["203.0.113.0/24"]

# -- EC2 hosts --------------------------------------------------------------------------------------------


def test_ec2_hosts_admit_ssh_from_the_admin_networks_only_and_none_through_session_manager() -> None:
    ssh = ec2_specs.host_ingress("ssh", ADMIN, serve_traffic=True)
    assert [(r.get("from_port"), r.get("cidr_blocks")) for r in ssh] == [(22, ADMIN), (80, ["0.0.0.0/0"]), (443, ["0.0.0.0/0"])]
    assert all(r.get("from_port") != 22 for r in ec2_specs.host_ingress("ssm", ADMIN, serve_traffic=True))
    assert ec2_specs.host_ingress("ssm", ADMIN, serve_traffic=False) == []


def test_the_session_manager_policy_names_the_instances_and_reads_no_parameter() -> None:
    statements = ec2_specs.session_manager_statements(ec2_specs.instance_arns("eu-central-1", "123456789012"))
    assert statements[0] == allow(["ssm:UpdateInstanceInformation"], ["arn:aws:ec2:eu-central-1:123456789012:instance/*"])
    assert sorted(statements[1]["Action"]) == sorted(ec2_specs.SESSION_MANAGER_CHANNELS)
    assert not any(a.startswith("ssm:GetParameter") for s in statements for a in s["Action"])


def test_the_agent_publishes_into_its_namespace_only_and_host_keys_decrypt_through_ssm_only() -> None:
    [agent] = ec2_specs.cloudwatch_agent_statements("meteor/hosts")
    assert agent["Condition"] == {"StringEquals": {"cloudwatch:namespace": "meteor/hosts"}}
    read, decrypt = ec2_specs.host_key_statements(["arn:p0", "arn:p1"], "arn:key", "eu-central-1")
    assert read["Resource"] == ["arn:p0", "arn:p1"] and decrypt["Resource"] == ["arn:key"]
    assert decrypt["Condition"] == {"StringEquals": {"kms:ViaService": "ssm.eu-central-1.amazonaws.com"}}


def test_hosts_go_round_robin_over_the_subnets_and_the_data_host_into_the_first() -> None:
    subnets = ["a", "b"]
    assert [ec2_specs.host_subnet(i, subnets, holds_data=False) for i in range(3)] == ["a", "b", "a"]
    assert ec2_specs.host_subnet(1, subnets, holds_data=True) == "a"


@pytest.mark.parametrize("volume", ["vol-0abc", None])
def test_only_the_data_host_boots_waiting_for_its_volume_and_reports_its_mount(volume: str | None) -> None:
    text = ec2_specs.ec2_host_user_data(
        deploy_user="deploy",
        ssh_public_key="ssh-ed25519 AAAA deploy",
        distro="ubuntu",
        region="eu-central-1",
        host_key_parameter="/meteor-platform/s/h-0/ssh-host-key",
        host_public_key="ssh-ed25519 BBBB\n",
        data_volume_id=volume,
        cloudwatch_namespace="meteor/hosts",
    )
    assert text.startswith("#cloud-config") and yaml.safe_load(text)
    assert (ec2_specs.ebs_device("vol-0abc") in text) is (volume is not None)
    assert ("/var/lib/docker/volumes" in text.split("amazon-cloudwatch-agent", 1)[-1]) is (volume is not None)


# -- droplets ----------------------------------------------------------------------------------------------


def test_behind_a_load_balancer_only_it_reaches_the_web_ports() -> None:
    behind = droplet_specs.firewall_inbound(ADMIN, load_balancer="lb-1", serve_traffic=True)
    web = [r for r in behind if r.get("port_range") in droplet_specs.WEB_PORTS]
    assert [r.get("source_load_balancer_uids") for r in web] == [["lb-1"], ["lb-1"]] and all("source_addresses" not in r for r in web)
    alone = droplet_specs.firewall_inbound(ADMIN, load_balancer=None, serve_traffic=True)
    assert [r.get("source_addresses") for r in alone if r.get("port_range") == "443"] == [droplet_specs.ANYWHERE]
    closed = droplet_specs.firewall_inbound(ADMIN, load_balancer=None, serve_traffic=False)
    assert [(r["protocol"], r.get("port_range")) for r in closed] == [("tcp", "22"), ("icmp", None)]
    assert closed[0].get("source_addresses") == ADMIN


def test_a_protected_data_host_is_never_replaced_by_new_user_data_and_others_are_created_first() -> None:
    parent = pulumi.ComponentResource.__new__(pulumi.ComponentResource)
    kept = droplet_specs.droplet_options(holds_data=True, protect=True, parent=parent)
    assert kept.protect and kept.ignore_changes == ["userData", "sshKeys"] and kept.delete_before_replace
    data = droplet_specs.droplet_options(holds_data=True, protect=False, parent=parent)
    assert data.replace_on_changes == ["userData"] and data.delete_before_replace and not data.protect
    other = droplet_specs.droplet_options(holds_data=False, protect=True, parent=parent)
    assert other.replace_on_changes == ["userData"] and not other.delete_before_replace and not other.protect


def test_the_load_balancer_terminates_https_only_with_a_certificate_and_keeps_clients_on_a_host() -> None:
    assert [r["entry_port"] for r in droplet_specs.forwarding_rules(None)] == [80]
    [_, https] = droplet_specs.forwarding_rules("cert")
    assert (https["entry_protocol"], https["target_port"], https.get("certificate_name")) == ("https", 80, "cert")
    assert droplet_specs.sticky_sessions("meteor").get("cookie_name") == "meteor-host"


def test_hosts_are_reached_as_the_deploy_user() -> None:
    assert ssh_url("deploy", "i-0abc") == "ssh://deploy@i-0abc"


# -- network and EKS ------------------------------------------------------------------------------------------


def test_subnets_carry_their_tiers_load_balancer_role_and_nat_gateways_go_per_zone_or_in_the_first() -> None:
    assert subnet_tags({"Name": "n"}, "n", "public", "z1") == {"Name": "n-public-z1", "kubernetes.io/role/elb": "1"}
    assert subnet_tags({"Name": "n"}, "n", "private", "z1")["kubernetes.io/role/internal-elb"] == "1"
    assert [has_nat(i, nat_per_zone=False) for i in range(3)] == [True, False, False]
    assert [has_nat(i, nat_per_zone=True) for i in range(3)] == [True, True, True]


def test_the_cluster_api_is_public_to_the_admin_networks_only_and_nodes_carry_the_stack_tag() -> None:
    config = cluster_vpc_config([], [], ADMIN)
    assert config.get("public_access_cidrs") == ADMIN and config.get("endpoint_private_access")
    [spec] = node_instance_tags({"meteor-platform/cluster": "c"}, "aws-staging")
    assert spec.get("tags") == {"meteor-platform/cluster": "c", "meteor-platform/stack": "aws-staging"}
    assert node_scaling(1, 4) == {"min_size": 1, "max_size": 4, "desired_size": 1}


# -- storage --------------------------------------------------------------------------------------------------


def test_dumps_expire_by_a_rule_of_their_own_only_when_there_are_dumps() -> None:
    assert [r["id"] for r in lifecycle_rules(30, None)] == ["expire-noncurrent-versions"]
    [_, dumps] = lifecycle_rules(30, 14)
    assert dumps.get("filter") == {"prefix": S3_DUMPS_PREFIX} and dumps.get("expiration") == {"days": 14}
    [spaces_dumps] = spaces.dumps_lifecycle_rules(7)
    assert spaces_dumps.get("prefix") == DUMPS_PREFIX and spaces_dumps.get("expiration") == {"days": 7}


def test_the_bucket_denies_every_request_without_tls() -> None:
    [deny] = tls_only_statements("arn:aws:s3:::b")
    assert deny["Effect"] == "Deny" and deny["Resource"] == ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_spaces_cors_names_the_origins_in_a_stable_order() -> None:
    [rule] = spaces.cors_rules(["https://b.example", "https://a.example"])
    assert rule["allowed_origins"] == ["https://a.example", "https://b.example"]


# -- the Docker proxy -----------------------------------------------------------------------------------------


def test_traefik_listens_on_https_with_acme_only_with_tls_and_trusts_proxy_protocol_only_from_its_network() -> None:
    def flags(**options: object) -> list[str]:
        arguments = {"idle_timeout_seconds": 600, "proxy_protocol_from": None, "acme_email": None, "tls": False, **options}
        return [f for f in traefik_command("edge", **arguments) if isinstance(f, str)]  # pyright: ignore[reportArgumentType]

    plain = flags()
    assert f"--entrypoints.web.address=:{HTTP_INSIDE}" in plain and not any("websecure" in f or "acme" in f for f in plain)
    assert "--entrypoints.web.transport.respondingTimeouts.idleTimeout=600s" in plain
    secure = flags(tls=True, acme_email="ops@example.com")
    assert f"--entrypoints.websecure.address=:{HTTPS_INSIDE}" in secure
    assert "--certificatesresolvers.letsencrypt.acme.email=ops@example.com" in secure
    assert not any("proxyProtocol" in f for f in plain)
    assert "--entrypoints.web.proxyProtocol.trustedIPs=10.0.0.0/16" in flags(proxy_protocol_from="10.0.0.0/16")


# -- alarms ---------------------------------------------------------------------------------------------------

THRESHOLDS = AlertThresholds()


def _host_args(instance_type: str = "t3.medium") -> HostAlarmsArgs:
    return HostAlarmsArgs(
        name="meteor-s",
        region="eu-central-1",
        topic_arn="arn:topic",
        thresholds=THRESHOLDS,
        instance_type=instance_type,
        agent_namespace="meteor/hosts",
        instances=[],
        disks=[],
    )


def test_host_alarms_are_named_by_index_and_kind_and_agent_silence_is_news() -> None:
    specs = host_alarm_specs(_host_args(), 1, "i-0abc", [HostDisk("root", "/"), HostDisk("data", "/var/lib/docker/volumes")])
    assert list(specs) == ["system-check", "instance-check", "cpu", "memory", "disk-root", "disk-data"]
    assert {s.name for s in specs.values()} == {f"meteor-s-host1-{kind}" for kind in specs}
    for kind, spec in specs.items():
        agent_fed = kind == "memory" or kind.startswith("disk-")
        assert spec.insufficient_data_actions == (["arn:topic"] if agent_fed else [])
        assert spec.ok_actions == ["arn:topic"] and spec.dimensions["InstanceId"] == "i-0abc"
    assert specs["disk-data"].dimensions == {"InstanceId": "i-0abc", "path": "/var/lib/docker/volumes", "fstype": "ext4"}


def test_a_failed_system_check_recovers_the_instance_only_where_ec2_can() -> None:
    recovering = host_alarm_specs(_host_args("t3.medium"), 0, "i-0", [])["system-check"]
    assert recovering.alarm_actions == ["arn:topic", "arn:aws:automate:eu-central-1:ec2:recover"]
    assert host_alarm_specs(_host_args("m5d.large"), 0, "i-0", [])["system-check"].alarm_actions == ["arn:topic"]
    assert host_alarm_specs(_host_args("t3.medium"), 0, "i-0", [])["instance-check"].alarm_actions == ["arn:topic"]


def test_uptime_alarms_read_route53_in_us_east_1_and_only_down_reports_silence() -> None:
    endpoint = PublicEndpoint(app="todos", domain="todos.example.net", health_path="/health", tls=True)
    specs = uptime_alarm_specs("meteor-s", endpoint, "check-1", AlarmTarget("arn:topic", THRESHOLDS, 2000))
    assert {k: s.name for k, s in specs.items()} == {"down": "meteor-s-todos-down", "slow": "meteor-s-todos-slow"}
    assert all(s.region == ROUTE53_METRICS_REGION and s.datapoints_to_alarm == THRESHOLDS.minutes for s in specs.values())
    assert specs["down"].insufficient_data_actions == ["arn:topic"] and specs["slow"].insufficient_data_actions is None
    assert specs["slow"].threshold == 2000 and specs["slow"].treat_missing_data == "notBreaching"


def test_cluster_alarms_name_the_cluster_and_the_forwarder_alarm_has_no_ok_action() -> None:
    specs = cluster_alarm_specs("meteor-s", "meteor-s", "arn:topic", THRESHOLDS)
    assert set(specs) == {"failed-nodes", "crash-loop", "node-disk"}
    assert all(s.dimensions == {"ClusterName": "meteor-s"} for s in specs.values())
    assert specs["node-disk"].threshold == THRESHOLDS.disk_percent
    errors = forwarder_error_alarm("meteor-s-alerts-to-slack", "arn:topic", None)
    assert errors.ok_actions is None and errors.alarm_actions == ["arn:topic"] and errors.treat_missing_data == "notBreaching"
    assert '"lambda.amazonaws.com"' in LAMBDA_TRUST_POLICY


# -- the cluster watcher --------------------------------------------------------------------------------------


def test_the_watcher_keeps_only_the_destinations_that_are_set_and_writes_its_state_only() -> None:
    def args(slack: str | None, mail: str | None) -> ClusterWatchArgs:
        return ClusterWatchArgs(
            stack="s",
            cluster_name="c",
            namespace="n",
            emails=(),
            slack_webhook=slack,  # pyright: ignore[reportArgumentType]
            mail_url=mail,  # pyright: ignore[reportArgumentType]
            mail_from=None,
            not_ready_minutes=5,
            others_pods=False,
        )

    assert destination_secrets(args(None, None)) == {}
    assert destination_secrets(args("https://hooks", "smtp://m")) == {"slack-webhook": "https://hooks", "mail-url": "smtp://m"}
    [rule] = STATE_RULES
    assert rule.get("resource_names") == [STATE_CONFIGMAP] and rule.get("verbs") == ["get", "update"]
