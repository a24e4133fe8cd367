"""CloudWatch alarms on AWS hosts and clusters: what each watches, that the agents publish exactly
that, that they follow a rolled host, and that EKS ships container logs only when asked."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any, Literal

import pytest
import yaml

from components import versions
from components.machines.cloud_init import DockerHostUserData, docker_host_user_data
from components.observability.aws_hosts import recoverable
from components.observability.cloudwatch_agent import (
    AGENT_CONFIG_PATH,
    INSTALLER_PATH,
    CloudWatchAgentSetup,
    agent_config,
    installer_script,
)
from offline_plan.changes import plan_changes
from tests.harness import IMAGE, ROOT, Run, run_config, shipped, with_committed_plans
from tests.test_cloud_init import KEY, schema_check

ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
INSTANCE = "aws:ec2/instance:Instance"
TOPIC_ARN = "arn:aws:sns:eu-central-1:123456789012:meteor-aws-hosts-alerts"


@pytest.fixture(scope="module")
def aws_hosts() -> Run:
    return shipped("aws-hosts")


def shipped_config(stack: str) -> dict[str, Any]:
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items()}


def alarms(run: Run) -> dict[str, dict[str, Any]]:
    """The host and cluster alarms (the domains' uptime alarms are tests/test_aws_uptime.py's)."""
    return {r["name"]: run.state(r) for r in run.resources(ALARM) if r["inputs"].get("namespace") != "AWS/Route53"}


def user_data(run: Run, name: str) -> dict[str, Any]:
    return yaml.safe_load(run.state(run.one(INSTANCE, name))["userData"].split("\n", 1)[1])


def written(document: dict[str, Any], path: str) -> str:
    [entry] = [f for f in document["write_files"] if f["path"] == path]
    return str(entry["content"])


# -- EC2 Docker hosts -----------------------------------------------------------------------------


def test_each_host_alarms_on_status_checks_cpu_memory_and_its_disks(aws_hosts: Run) -> None:
    found = alarms(aws_hosts)
    instance = aws_hosts.result.ids[aws_hosts.one(INSTANCE, "meteor-machines-0")["urn"]]
    prefix = "meteor-host-alarms-host0-"
    assert set(found) == {prefix + k for k in ("system-check", "instance-check", "cpu", "memory", "disk-root", "disk-data")}
    expected = {
        "system-check": ("AWS/EC2", "StatusCheckFailed_System", {}, "Maximum", 1, "GreaterThanOrEqualToThreshold", 2),
        "instance-check": ("AWS/EC2", "StatusCheckFailed_Instance", {}, "Maximum", 1, "GreaterThanOrEqualToThreshold", 5),
        "cpu": ("AWS/EC2", "CPUUtilization", {}, "Average", 85, "GreaterThanThreshold", 5),
        "memory": ("meteor-aws-hosts", "mem_used_percent", {}, "Average", 90, "GreaterThanThreshold", 5),
        "disk-root": (
            "meteor-aws-hosts",
            "disk_used_percent",
            {"path": "/", "fstype": "ext4"},
            "Maximum",
            85,
            "GreaterThanThreshold",
            5,
        ),
        "disk-data": (
            "meteor-aws-hosts",
            "disk_used_percent",
            {"path": "/var/lib/docker/volumes", "fstype": "ext4"},
            "Maximum",
            85,
            "GreaterThanThreshold",
            5,
        ),
    }
    for kind, (namespace, metric, dimensions, statistic, threshold, operator, periods) in expected.items():
        alarm = found[prefix + kind]
        assert alarm["name"] == f"meteor-aws-hosts-host0-{kind}"
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (namespace, metric, {"InstanceId": instance, **dimensions})
        assert (alarm["statistic"], alarm["threshold"], alarm["comparisonOperator"]) == (statistic, threshold, operator), kind
        assert (alarm["period"], alarm["evaluationPeriods"], alarm["treatMissingData"]) == (60, periods, "missing"), kind
        assert alarm["okActions"] == [TOPIC_ARN], kind
        # The agent's own metrics: no data for the whole evaluation range (agent dead, install failed) is reported.
        agent_fed = kind in ("memory", "disk-root", "disk-data")
        assert alarm.get("insufficientDataActions", []) == ([TOPIC_ARN] if agent_fed else []), kind
        # t3.medium, EBS only: a failed system check recovers the instance (same id, addresses, volumes).
        recover = ["arn:aws:automate:eu-central-1:ec2:recover"] if kind == "system-check" else []
        assert alarm["alarmActions"] == [TOPIC_ARN, *recover], kind


def test_thresholds_come_from_the_config(tmp_path: Path) -> None:
    config = shipped_config("aws-hosts")
    config["alerts"] = {**config["alerts"], "thresholds": {"cpuPercent": 70, "diskPercent": 60, "memoryPercent": 75, "minutes": 10}}
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-hosts")
    found = alarms(run)
    assert found["meteor-host-alarms-host0-cpu"]["threshold"] == 70
    assert found["meteor-host-alarms-host0-memory"]["threshold"] == 75
    assert found["meteor-host-alarms-host0-disk-data"]["threshold"] == 60
    assert found["meteor-host-alarms-host0-cpu"]["evaluationPeriods"] == 10


def test_only_instance_types_ec2_recovers_get_the_recover_action() -> None:
    assert recoverable("t3.medium") and recoverable("m5.large") and recoverable("c6i.xlarge") and recoverable("t4g.small")
    # Instance store (`d`), bare metal and families outside the documented list notify only.
    assert not recoverable("m5d.large") and not recoverable("c6id.xlarge") and not recoverable("i3.large")
    assert not recoverable("m5.metal") and not recoverable("g5.xlarge")


def test_an_instance_store_type_alarms_without_the_recover_action(tmp_path: Path) -> None:
    config = shipped_config("aws-hosts")
    config["machines"] = {**config["machines"], "instanceType": "m5d.large"}
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-hosts")
    assert alarms(run)["meteor-host-alarms-host0-system-check"]["alarmActions"] == [TOPIC_ARN]


def test_the_agent_publishes_exactly_what_the_alarms_watch(aws_hosts: Run) -> None:
    """The agent's configuration on the host names the alarms' namespace, metrics and dimension sets:
    `<plugin>_<measurement>` names, InstanceId appended, `device` dropped, one sample per alarmed path."""
    agent = json.loads(written(user_data(aws_hosts, "meteor-machines-0"), AGENT_CONFIG_PATH))
    metrics = agent["metrics"]
    found = alarms(aws_hosts)
    agent_alarms = [a for a in found.values() if a["namespace"] == metrics["namespace"]]
    assert len(agent_alarms) == 3
    assert metrics["append_dimensions"] == {"InstanceId": "${aws:InstanceId}"}
    collected = metrics["metrics_collected"]
    assert set(collected) == {"mem", "disk"}
    published = {f"mem_{m.removeprefix('mem_')}" for m in collected["mem"]["measurement"]} | {
        f"disk_{m}" for m in collected["disk"]["measurement"]
    }
    assert {a["metricName"] for a in agent_alarms} == published
    assert collected["disk"]["drop_device"] is True
    assert sorted(collected["disk"]["resources"]) == sorted(a["dimensions"]["path"] for a in agent_alarms if "path" in a["dimensions"])
    for alarm in agent_alarms:
        extra = set(alarm["dimensions"]) - {"InstanceId"}
        assert extra == (set() if alarm["metricName"] == "mem_used_percent" else {"path", "fstype"})
    # The data volume is formatted ext4, as the alarm's fstype says.
    assert user_data(aws_hosts, "meteor-machines-0")["fs_setup"][0]["filesystem"] == "ext4"
    assert agent["agent"]["run_as_user"] == "cwagent"


def test_the_agent_namespace_is_the_platform_prefix(tmp_path: Path) -> None:
    """`<platform>-<stack>`, the prefix of every name the stack owns (its alarms' too): the role's namespace
    condition confines each stack's hosts to their own metrics."""
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, shipped_config("aws-hosts"), stack="hosts2")
    agent = json.loads(written(user_data(run, "meteor-machines-0"), AGENT_CONFIG_PATH))
    assert agent["metrics"]["namespace"] == "meteor-hosts2"
    policy = json.loads(run.one("aws:iam/rolePolicy:RolePolicy", "meteor-machines-cloudwatch-agent")["inputs"]["policy"])
    assert policy["Statement"][0]["Condition"] == {"StringEquals": {"cloudwatch:namespace": "meteor-hosts2"}}
    agent_alarms = [a for a in alarms(run).values() if a["metricName"] in ("mem_used_percent", "disk_used_percent")]
    assert agent_alarms and {a["namespace"] for a in agent_alarms} == {"meteor-hosts2"}
    assert all(a["name"].startswith("meteor-hosts2-host") for a in agent_alarms)


def test_the_agent_role_may_publish_into_the_stack_namespace_only(aws_hosts: Run) -> None:
    policy = json.loads(aws_hosts.one("aws:iam/rolePolicy:RolePolicy", "meteor-machines-cloudwatch-agent")["inputs"]["policy"])
    assert policy["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["cloudwatch:PutMetricData"],
            "Resource": ["*"],
            "Condition": {"StringEquals": {"cloudwatch:namespace": "meteor-aws-hosts"}},
        }
    ]
    from parliament import analyze_policy_string

    assert analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings == []


def test_a_rolled_host_moves_its_alarms_to_the_new_instance_in_the_same_up(aws_hosts: Run, tmp_path: Path) -> None:
    config = shipped_config("aws-hosts")
    config["machines"] = {**config["machines"], "distro": "debian"}  # new user data: a new instance
    with_committed_plans(tmp_path, "aws-staging")
    rolled = run_config(tmp_path, config, stack="aws-hosts")
    changes = {c.name: c for c in plan_changes(aws_hosts.plan, rolled.plan).resources}
    assert changes["meteor-machines-0"].action == "replace"
    for name in alarms(aws_hosts):
        change = changes.get(name)
        # Updated in place (PutMetricAlarm on the same name), not left on the dead id nor recreated.
        assert change is not None and change.action == "update", name
        assert [c.path for c in change.changes] == [("dimensions", "InstanceId")], name


def test_no_agent_and_no_alarms_without_destinations(tmp_path: Path) -> None:
    config = shipped_config("aws-hosts")
    config["alerts"] = "none"
    with_committed_plans(tmp_path, "aws-staging")
    run = run_config(tmp_path, config, stack="aws-hosts")
    assert run.resources(ALARM) == []
    assert not [r for r in run.resources("aws:iam/rolePolicy:RolePolicy") if r["name"].endswith("cloudwatch-agent")]
    assert INSTALLER_PATH not in {f["path"] for f in user_data(run, "meteor-machines-0")["write_files"]}


@pytest.mark.parametrize("distro", ["ubuntu", "debian"])
def test_user_data_with_the_agent_passes_cloud_init_schema(tmp_path: Path, distro: Literal["ubuntu", "debian"]) -> None:
    spec = DockerHostUserData(
        deploy_user="deploy",
        ssh_public_keys=[KEY],
        distro=distro,
        cloudwatch_agent=CloudWatchAgentSetup("meteor-platform/test", ("/", "/var/lib/docker/volumes")),
    )
    text = docker_host_user_data(spec)
    result = schema_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr
    document = yaml.safe_load(text.split("\n", 1)[1])
    assert document["runcmd"][-1] == [INSTALLER_PATH], "after Docker is up"
    assert {"curl", "gnupg"} <= set(document["packages"])


# The installer against stand-ins for curl, gpg, gpgconf, dpkg and the agent's ctl that record what
# they are asked (gpg reports the key's and the signer's fingerprints it is given, and its GNUPGHOME).
STANDINS = {
    "curl": 'echo "curl $*" >> "$LOG"; out=""; while [ $# -gt 0 ]; do [ "$1" = -o ] && out=$2; shift; done; echo data > "$out"',
    "gpg": (
        'case "$*" in *--show-keys*) printf "pub:-:\\nfpr:::::::::$KEY_FPR:\\n";; *--verify*) '
        'echo "[GNUPG:] VALIDSIG AAAA 2024-01-01 0 0 4 0 1 10 00 $SIG_FPR";; esac; echo "gpg $* home=$GNUPGHOME" >> "$LOG"'
    ),
    "gpgconf": 'echo "gpgconf $* home=$GNUPGHOME" >> "$LOG"',
    "dpkg": 'echo "dpkg $*" >> "$LOG"',
    "ctl": 'echo "ctl $*" >> "$LOG"',
}
AGENT_KEY = versions.CLOUDWATCH_AGENT_KEY_FINGERPRINT


def run_installer(tmp_path: Path, key_fpr: str = AGENT_KEY, sig_fpr: str = AGENT_KEY) -> tuple[subprocess.CompletedProcess[str], str]:
    """The installer, with gpg's stand-in showing a key of fingerprint `key_fpr` and a signature by `sig_fpr`."""
    tmp_path.mkdir()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, text in STANDINS.items():
        (bin_dir / name).write_text(f"#!/bin/sh\n{text}\n")
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "log"
    log.touch()
    script = installer_script().replace("/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl", str(bin_dir / "ctl"))
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "KEY_FPR": key_fpr, "SIG_FPR": sig_fpr}
    env.pop("GNUPGHOME", None)
    result = subprocess.run(["sh", "-c", script], capture_output=True, text=True, env=env, timeout=60)
    return result, log.read_text()


def test_the_installer_installs_the_latest_package_only_when_signed_by_the_pinned_key(tmp_path: Path) -> None:
    result, log = run_installer(tmp_path / "good")
    assert result.returncode == 0, result.stderr
    base = "https://amazoncloudwatch-agent.s3.amazonaws.com"
    package = f"{base}/debian/amd64/latest/amazon-cloudwatch-agent.deb"
    downloads = [line.split()[-2:] for line in log.splitlines() if line.startswith("curl ")]
    assert downloads == [
        ["agent.deb", package],
        ["agent.deb.sig", f"{package}.sig"],
        ["agent.gpg", f"{base}/assets/amazon-cloudwatch-agent.gpg"],
    ]
    lines = log.splitlines()
    assert lines[-3:-1] == ["dpkg -i -E agent.deb", f"ctl -a fetch-config -m ec2 -s -c file:{AGENT_CONFIG_PATH}"]
    # Every gpg call in one fresh GNUPGHOME inside the work directory, its agent stopped, then removed.
    homes = {line.rsplit(" home=", 1)[1] for line in lines if line.startswith(("gpg ", "gpgconf "))}
    [home] = homes
    assert home.endswith("/gnupg") and not Path(home).parent.exists()
    assert [line for line in lines if line.startswith("gpgconf ")] == [lines[-1]] == [f"gpgconf --kill all home={home}"]
    assert any(line.startswith("gpg --batch --quiet --import agent.gpg ") for line in lines)

    # Another key is refused before it is imported, whatever the signature check would say.
    result, log = run_installer(tmp_path / "other-key", key_fpr="0" * 40)
    assert result.returncode != 0 and "unexpected CloudWatch agent key: " + "0" * 40 in result.stderr
    assert "--import" not in log and "dpkg" not in log and "ctl " not in log and "gpgconf --kill all" in log

    result, log = run_installer(tmp_path / "other-signer", sig_fpr="1" * 40)
    assert result.returncode != 0 and "not signed by its key" in result.stderr
    assert "dpkg" not in log and "ctl " not in log and "gpgconf --kill all" in log


def test_the_download_outlasts_a_few_minutes_of_s3_errors(tmp_path: Path) -> None:
    """curl retries every error, HTTP ones included, with backoff for up to ten minutes (curl >= 7.71),
    for the package, its signature and the key alike."""
    _, log = run_installer(tmp_path / "run")
    curls = [line.split() for line in log.splitlines() if line.startswith("curl ")]
    assert len(curls) == 3
    for curl in curls:
        assert curl[curl.index("--retry") + 1] == "10" and "--retry-all-errors" in curl
        assert curl[curl.index("--retry-max-time") + 1] == "600"
        assert "-fsSL" in curl and curl[curl.index("--proto") + 1] == "=https"


def test_comments_never_reach_the_user_data() -> None:
    """Every instance replaces on a user-data change: the rendered installer and configuration carry no
    comment a source edit could change (the shebang is not one)."""
    script = installer_script().splitlines()
    assert script[0] == "#!/bin/sh"
    assert not [line for line in script[1:] if line.lstrip().startswith("#")]
    json.loads(agent_config(CloudWatchAgentSetup("n", ("/",))))  # plain JSON: no comment syntax at all


# -- EKS: Container Insights ----------------------------------------------------------------------

ADDON = "aws:eks/addon:Addon"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"
STAGING_TOPIC = "arn:aws:sns:eu-central-1:123456789012:meteor-aws-staging-alerts"


@pytest.fixture(scope="module")
def aws_staging() -> Run:
    return shipped("aws-staging")


def staging(tmp_path: Path, **changes: Any) -> Run:
    """aws-staging with `changes`, its app from a prebuilt image (no build context outside the repository)."""
    config = {**shipped_config("aws-staging"), **changes}
    config["apps"] = [{**{k: v for k, v in config["apps"][0].items() if k != "build"}, "image": IMAGE}]
    return run_config(tmp_path, config, stack="aws-staging")


def insights_addon(run: Run) -> tuple[dict[str, Any], dict[str, Any]]:
    addon = run.one(ADDON, "meteor-insights-addon")
    return addon, json.loads(run.state(addon)["configurationValues"])


def test_the_cloudwatch_addon_runs_container_insights_only_under_its_own_pod_identity(aws_staging: Run) -> None:
    addon, configuration = insights_addon(aws_staging)
    state = aws_staging.state(addon)
    assert state["addonName"] == "amazon-cloudwatch-observability"
    assert state["clusterName"] == "meteor-aws-staging-eks"
    role = aws_staging.one("aws:iam/role:Role", "meteor-insights-agent")
    assert state["podIdentityAssociations"] == [{"roleArn": aws_staging.state(role)["arn"], "serviceAccount": "cloudwatch-agent"}]
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "pods.eks.amazonaws.com"}]
    # Enhanced observability (the crash-loop metric needs it), no Application Signals, no GPU metrics,
    # and no OpenTelemetry agent injected into the apps.
    assert configuration["agent"] == {
        "config": {
            "logs": {"metrics_collected": {"kubernetes": {"enhanced_container_insights": True, "accelerated_compute_metrics": False}}}
        }
    }
    assert configuration["manager"] == {"applicationSignals": {"autoMonitor": {"monitorAllServices": False}}}
    assert configuration["containerLogs"] == {"enabled": False}, "aws-staging does not ship logs"
    # After the nodes and the Pod Identity agent (its DaemonSets and its credentials), and after the log groups.
    needs = set(addon["dependencies"])
    for name in ("meteor-cluster-nodes-0", "meteor-cluster-nodes-1"):
        assert aws_staging.one("aws:eks/nodeGroup:NodeGroup", name)["urn"] in needs
    assert aws_staging.one(ADDON, "meteor-cluster-pod-identity")["urn"] in needs
    assert {g["urn"] for g in aws_staging.resources(LOG_GROUP) if g["name"].startswith("meteor-insights-")} <= needs


def test_cluster_alarms_watch_what_container_insights_publishes(aws_staging: Run) -> None:
    found = {n: a for n, a in alarms(aws_staging).items() if n.startswith("meteor-insights-")}
    expected = {
        "failed-nodes": ("cluster_failed_node_count", 0),
        "crash-loop": ("pod_container_status_waiting_reason_crash_loop_back_off", 0),
        "node-disk": ("node_filesystem_utilization", 85),
    }
    assert set(found) == {f"meteor-insights-{k}" for k in expected}
    for kind, (metric, threshold) in expected.items():
        alarm = found[f"meteor-insights-{kind}"]
        assert alarm["name"] == f"meteor-aws-staging-cluster-{kind}"
        assert (alarm["namespace"], alarm["metricName"], alarm["dimensions"]) == (
            "ContainerInsights",
            metric,
            {"ClusterName": "meteor-aws-staging-eks"},
        )
        assert (alarm["statistic"], alarm["threshold"], alarm["comparisonOperator"]) == ("Maximum", threshold, "GreaterThanThreshold")
        assert (alarm["period"], alarm["evaluationPeriods"]) == (60, 5)
        assert alarm["alarmActions"] == [STAGING_TOPIC] and alarm["okActions"] == [STAGING_TOPIC]


def test_alarms_and_log_groups_name_the_cluster_that_exists(aws_staging: Run) -> None:
    """One source for the cluster's name: what the alarms watch and the groups are named after is the
    name the EKS cluster is created with."""
    [cluster] = aws_staging.resources("aws:eks/cluster:Cluster")
    name = cluster["inputs"]["name"]
    insights = [a for n, a in alarms(aws_staging).items() if n.startswith("meteor-insights-")]
    assert insights and all(a["dimensions"] == {"ClusterName": name} for a in insights)
    groups = [aws_staging.state(g)["name"] for g in aws_staging.resources(LOG_GROUP) if g["name"].startswith("meteor-insights-")]
    assert len(groups) == 4 and all(g.startswith(f"/aws/containerinsights/{name}/") for g in groups)


def test_log_groups_exist_with_their_retention_before_anything_writes_to_them(aws_staging: Run, tmp_path: Path) -> None:
    groups = {
        aws_staging.state(g)["name"]: aws_staging.state(g)
        for g in aws_staging.resources(LOG_GROUP)
        if g["name"].startswith("meteor-insights-")
    }
    assert set(groups) == {
        f"/aws/containerinsights/meteor-aws-staging-eks/{k}" for k in ("application", "dataplane", "host", "performance")
    }
    assert {g["retentionInDays"] for g in groups.values()} == {30}
    # Turning the add-on off (or removing the cluster) leaves them, and what they hold expires by retention.
    assert all(g["retainOnDelete"] for g in aws_staging.resources(LOG_GROUP) if g["name"].startswith("meteor-insights-"))
    shipped = staging(tmp_path, logs={"ship": True, "retentionDays": 14})
    _, configuration = insights_addon(shipped)
    assert configuration["containerLogs"] == {"enabled": True}
    retention = {
        shipped.state(g)["name"]: shipped.state(g)["retentionInDays"]
        for g in shipped.resources(LOG_GROUP)
        if g["name"].startswith("meteor-insights-")
    }
    assert set(retention.values()) == {14} and len(retention) == 4


def test_the_agent_writes_only_to_this_clusters_log_groups(aws_staging: Run) -> None:
    policy = json.loads(aws_staging.one("aws:iam/rolePolicy:RolePolicy", "meteor-insights-agent")["inputs"]["policy"])
    [logs, describe] = policy["Statement"]
    assert logs["Resource"] == ["arn:aws:logs:eu-central-1:123456789012:log-group:/aws/containerinsights/meteor-aws-staging-eks/*"]
    assert all(a.startswith("logs:") for a in logs["Action"]) and "logs:DeleteLogGroup" not in logs["Action"]
    assert describe == {"Effect": "Allow", "Action": ["ec2:DescribeTags", "ec2:DescribeVolumes"], "Resource": ["*"]}
    from parliament import analyze_policy_string

    assert analyze_policy_string(json.dumps(policy), include_community_auditors=True).findings == []


def test_no_platform_network_policy_governs_the_agents_namespace(aws_staging: Run) -> None:
    policies = aws_staging.resources("kubernetes:networking.k8s.io/v1:NetworkPolicy")
    assert policies, "the apps have their policies"
    assert all(aws_staging.state(p)["metadata"]["namespace"] != "amazon-cloudwatch" for p in policies)


def test_without_alerts_the_addon_comes_only_for_log_shipping(tmp_path: Path) -> None:
    (tmp_path / "quiet").mkdir()
    quiet = staging(tmp_path / "quiet", alerts="none")
    assert [a for a in quiet.resources(ADDON) if a["name"] == "meteor-insights-addon"] == []
    assert quiet.resources(ALARM) == []
    (tmp_path / "logs").mkdir()
    logs_only = staging(tmp_path / "logs", alerts="none", logs={"ship": True})
    _, configuration = insights_addon(logs_only)
    assert configuration["containerLogs"] == {"enabled": True}
    assert logs_only.resources(ALARM) == []
