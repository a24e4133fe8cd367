"""EKS nodes and pods (issue 18, items 3 to 5): no pod reaches the node role, NetworkPolicies are
enforced and still let pods fetch their Pod Identity credentials, nodes scale and their bounds apply."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import catalogue, versions
from components.endpoints import POD_IDENTITY_AGENT
from components.kubernetes.aws_nodes import AUTOSCALER_NAME, AUTOSCALER_NAMESPACE, NODE_BOUNDS
from offline_plan.changes import plan_changes
from offline_plan.report import plan_text
from offline_plan.runtime import run_program
from tests.harness import ROOT, Run, shipped

EKS_STACKS = ("aws-staging", "aws-production")
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
WORKLOADS = ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet", "kubernetes:batch/v1:Job", "kubernetes:batch/v1:CronJob")


@pytest.fixture(scope="module", params=EKS_STACKS)
def eks(request: pytest.FixtureRequest) -> Run:
    return shipped(str(request.param))


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("aws-staging")


def _config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in document.items()}


# -- item 3: no pod reaches the node role ------------------------------------------------------------


def test_nodes_answer_no_pod_on_the_instance_metadata(eks: Run) -> None:
    """Hop limit 1 (IMDSv2 token responses die one hop from the node; AL2023 managed nodes default to it,
    awsdocs/amazon-eks-user-guide al2023.adoc): pods cannot act as the node role."""
    [template] = eks.resources("aws:ec2/launchTemplate:LaunchTemplate")
    assert template["inputs"]["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required", "httpPutResponseHopLimit": 1}


def test_what_needs_aws_in_a_pod_has_a_pod_identity(eks: Run) -> None:
    """With the metadata out of reach, every pod that calls AWS gets its role from Pod Identity: the EBS
    CSI controller, the cluster autoscaler (which also gets its region, never asking the metadata), the apps."""
    addons = {a["inputs"]["addonName"]: a["inputs"] for a in eks.resources("aws:eks/addon:Addon")}
    assert addons["aws-ebs-csi-driver"]["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"
    bound = {(a["inputs"]["namespace"], a["inputs"]["serviceAccount"]) for a in eks.resources(ASSOCIATION)}
    assert (AUTOSCALER_NAMESPACE, AUTOSCALER_NAME) in bound
    assert ("todos", "todos") in bound
    autoscaler = _release(eks, "cluster-autoscaler")["inputs"]
    assert autoscaler["values"]["awsRegion"] == _config(eks.result.stack)["aws"]["region"]


# -- item 4: NetworkPolicies are enforced, and pods still reach the Pod Identity agent ----------------


def test_the_vpc_cni_is_managed_with_network_policy_on(eks: Run) -> None:
    [cni] = [a for a in eks.resources("aws:eks/addon:Addon") if a["inputs"]["addonName"] == "vpc-cni"]
    inputs = cni["inputs"]
    # The add-on's schema takes the string "true" (eks-networking-add-ons.adoc, `{"enableNetworkPolicy": "true"}`).
    assert json.loads(inputs["configurationValues"]) == {"enableNetworkPolicy": "true"}
    # EKS installed aws-node itself: creating the add-on adopts it and takes the add-on's settings.
    assert inputs["resolveConflictsOnCreate"] == "OVERWRITE" and inputs["resolveConflictsOnUpdate"] == "OVERWRITE"
    # Deleting the add-on (a removed or renamed resource) keeps aws-node: pods keep their network
    # (pinned pulumi-aws eks/addon.py, `preserve`: "preserve the created resources when deleting the EKS add-on").
    assert inputs["preserve"] is True
    groups = eks.resources("aws:eks/nodeGroup:NodeGroup")
    assert groups and all(cni["urn"] in group["dependencies"] for group in groups), "nodes join with the configured CNI"


def _selects(policy: dict[str, Any], namespace: str, pod_labels: dict[str, str]) -> bool:
    metadata, spec = policy["inputs"]["metadata"], policy["inputs"]["spec"]
    wanted = spec["podSelector"].get("matchLabels", {})
    return metadata.get("namespace") == namespace and all(pod_labels.get(k) == v for k, v in wanted.items())


def _pods(run: Run) -> list[tuple[str, dict[str, str], str | None]]:
    """(namespace, labels, service account) of every pod template the plan runs."""
    pods: list[tuple[str, dict[str, str], str | None]] = []
    for type_ in WORKLOADS:
        for workload in run.resources(type_):
            spec = workload["inputs"]["spec"]
            template = spec["jobTemplate"]["spec"]["template"] if type_.endswith("CronJob") else spec["template"]
            namespace = workload["inputs"]["metadata"]["namespace"]
            pods.append((namespace, template["metadata"].get("labels", {}), template["spec"].get("serviceAccountName")))
    return pods


def _reaches_the_agent(policy: dict[str, Any]) -> bool:
    return any(
        {"ipBlock": {"cidr": "169.254.170.23/32"}} in rule.get("to", []) and {"port": 80, "protocol": "TCP"} in rule.get("ports", [])
        for rule in policy["inputs"]["spec"].get("egress", [])
    )


def test_pods_with_a_pod_identity_reach_the_agent_through_their_policies(eks: Run) -> None:
    """Once policies bite, a pod whose egress is restricted gets no credentials unless its policy lets it
    reach the agent (169.254.170.23:80, a host-network DaemonSet): every such policy does."""
    bound = {(a["inputs"]["namespace"], a["inputs"]["serviceAccount"]) for a in eks.resources(ASSOCIATION)}
    policies = [p for p in eks.resources(NETWORK_POLICY) if "Egress" in p["inputs"]["spec"]["policyTypes"]]
    checked = 0
    reaching: set[str] = set()
    for namespace, pod_labels, account in _pods(eks):
        if (namespace, account) not in bound:
            continue
        selecting = [p for p in policies if _selects(p, namespace, pod_labels)]
        assert selecting, (namespace, pod_labels, "a pod with an AWS identity and no NetworkPolicy")
        for policy in selecting:
            assert _reaches_the_agent(policy), policy["name"]
            reaching.add(policy["urn"])
            checked += 1
    assert checked >= 2, "the app and its migration job"
    # The replica set's pods have no AWS identity (only the backup job's do): no route to the agent.
    others = [
        p for p in eks.resources(NETWORK_POLICY) if p["inputs"]["metadata"]["namespace"] == "meteor-mongo" and p["urn"] not in reaching
    ]
    assert others and not any(_reaches_the_agent(p) for p in others), "MongoDB's pods have no AWS identity: no route to the agent"


def test_the_planned_policies_validate_strict(eks: Run) -> None:
    policies = eks.resources(NETWORK_POLICY)
    assert any(_reaches_the_agent(p) for p in policies)
    for policy in policies:
        kubernetes_validate.validate(policy["inputs"], "1.33.0", strict=True)


def test_no_agent_route_off_eks() -> None:
    """DigitalOcean has no Pod Identity agent: its apps' policies open no route to the link-local address."""
    run = shipped("staging")
    policies = run.resources(NETWORK_POLICY)
    assert policies and not any(_reaches_the_agent(p) for p in policies)


def test_each_service_port_is_its_container_port(eks: Run) -> None:
    """The VPC CNI's policies match a Service's port as the pod's (eks-networking-add-ons.adoc, network policy
    considerations: "the service port must be the same as the container port")."""
    containers: dict[tuple[str, str], int] = {}
    for type_ in ("kubernetes:apps/v1:Deployment", "kubernetes:apps/v1:StatefulSet"):
        for workload in eks.resources(type_):
            namespace = workload["inputs"]["metadata"]["namespace"]
            for container in workload["inputs"]["spec"]["template"]["spec"]["containers"]:
                for port in container.get("ports", []):
                    containers[(namespace, port["name"])] = port["containerPort"]
    services = eks.resources("kubernetes:core/v1:Service")
    assert services
    for service in services:
        namespace = service["inputs"]["metadata"]["namespace"]
        for port in service["inputs"]["spec"]["ports"]:
            target = port.get("targetPort", port["port"])
            assert containers.get((namespace, target), target) == port["port"], (service["name"], port)


def test_an_app_policy_with_the_agent_route_validates() -> None:
    from components.app.kubernetes_network_policy import network_policy_spec
    from components.endpoints import ANYWHERE, Endpoint
    from tests.test_specs import app, camel

    spec: Any = network_policy_spec(
        app(),
        selector={"app.kubernetes.io/name": "todos"},
        ingress_namespace="traefik",
        endpoints=[Endpoint(443, cidr=ANYWHERE), POD_IDENTITY_AGENT],
    )
    assert spec["egress"][-1] == {"to": [{"ip_block": {"cidr": "169.254.170.23/32"}}], "ports": [{"protocol": "TCP", "port": 80}]}
    document = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": "todos", "namespace": "todos"}}
    kubernetes_validate.validate({**document, "spec": camel(spec)}, "1.33.0", strict=True)


# -- item 5: nodes scale, and changed bounds apply ----------------------------------------------------


def _release(run: Run, chart: str) -> dict[str, Any]:
    [release] = [r for r in run.resources(RELEASE) if r["inputs"]["chart"] == chart]
    return release


def test_the_cluster_autoscaler_runs_the_release_of_the_clusters_minor(eks: Run) -> None:
    release = _release(eks, "cluster-autoscaler")
    inputs = release["inputs"]
    chart = versions.CLUSTER_AUTOSCALER_CHART
    assert (inputs["version"], inputs["repositoryOpts"], inputs["namespace"]) == (chart.version, {"repo": chart.repo}, "kube-system")
    [cluster] = eks.resources("aws:eks/cluster:Cluster")
    values = inputs["values"]
    assert values["image"]["tag"] == "v1.33.6", "the shipped stacks run Kubernetes 1.33"
    assert values["autoDiscovery"] == {"clusterName": cluster["inputs"]["name"]}, "the tags EKS puts on the node group's ASG"
    assert values["fullnameOverride"] == AUTOSCALER_NAME, "its service account, which Pod Identity binds"
    [association] = [a for a in eks.resources(ASSOCIATION) if a["inputs"]["namespace"] == AUTOSCALER_NAMESPACE]
    # Its pods start with credentials (injected at pod creation), once the association is effective: they
    # "may take several seconds to be effective" (EKS API reference, CreatePodIdentityAssociation).
    [settled] = [c for c in eks.resources("command:local:Command") if c["name"] == "meteor-cluster-autoscaler-settled"]
    assert settled["urn"] in release["dependencies"]
    assert settled["inputs"]["triggers"] == [eks.result.ids[association["urn"]]], "waits again when the association is replaced"
    assert association["urn"] in settled["dependencies"]
    assert settled["inputs"]["create"] == "sleep 30" and settled["inputs"]["interpreter"] == ["/bin/sh", "-c"]
    assert association["inputs"]["clusterName"] == cluster["inputs"]["name"]
    [provider] = eks.resources("pulumi:providers:kubernetes")
    assert release["provider"] == provider["urn"]


def _empty_dirs(pod: dict[str, Any]) -> set[str]:
    return {v["name"] for v in pod.get("volumes", []) if "emptyDir" in v}


def test_scratch_volumes_do_not_pin_nodes_and_jobs_and_databases_stay(eks: Run) -> None:
    """The autoscaler never removes a node running a pod with an emptyDir unless the pod lists its volumes as
    safe to evict (cluster-autoscaler FAQ.md): the apps' do (scratch /tmp), Jobs and MongoDB's do not."""
    key = "cluster-autoscaler.kubernetes.io/safe-to-evict-local-volumes"
    deployments = eks.resources("kubernetes:apps/v1:Deployment")
    assert deployments
    for deployment in deployments:
        template = deployment["inputs"]["spec"]["template"]
        listed = set(template["metadata"]["annotations"][key].split(","))
        assert listed == _empty_dirs(template["spec"]), deployment["name"]
    kept = [*eks.resources("kubernetes:batch/v1:Job"), *eks.resources("kubernetes:apps/v1:StatefulSet")]
    assert kept
    for workload in kept:
        assert key not in (workload["inputs"]["spec"]["template"]["metadata"].get("annotations") or {}), workload["name"]
    traefik = _release(eks, "traefik")["inputs"]["values"]["deployment"]["podAnnotations"]
    assert traefik == {key: "data,tmp"}, "the chart's two emptyDirs (the render test checks them)"


def test_every_eks_minor_has_its_autoscaler_release() -> None:
    for minor in catalogue.EKS_CALENDAR:
        tag = catalogue.cluster_autoscaler_tag(minor)
        assert tag.startswith(f"v{minor}."), (minor, tag)


def test_the_autoscaler_may_resize_this_clusters_node_groups_only(eks: Run) -> None:
    [association] = [a for a in eks.resources(ASSOCIATION) if a["inputs"]["namespace"] == AUTOSCALER_NAMESPACE]
    role = next(r for r in eks.resources("aws:iam/role:Role") if eks.state(r)["arn"] == association["inputs"]["roleArn"])
    assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
    [policy] = [p for p in eks.resources("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == eks.result.ids[role["urn"]]]
    statements = {s["Sid"]: s for s in json.loads(policy["inputs"]["policy"])["Statement"]}
    groups = eks.resources("aws:eks/nodeGroup:NodeGroup")
    asgs = [g["name"] for group in groups for r in eks.state(group)["resources"] for g in r["autoscalingGroups"]]
    assert len(asgs) == len(groups) > 1, "one Auto Scaling group per zone's node group"
    assert statements["Scale"]["Action"] == ["autoscaling:SetDesiredCapacity", "autoscaling:TerminateInstanceInAutoScalingGroup"]
    assert statements["Scale"]["Resource"] == [
        f"arn:aws:autoscaling:eu-central-1:123456789012:autoScalingGroup:*:autoScalingGroupName/{asg}" for asg in asgs
    ]
    assert statements["DescribeNodeGroup"]["Resource"] == [eks.state(group)["arn"] for group in groups]
    assert all(a.split(":")[1].startswith(("Describe", "GetInstanceTypes")) for a in statements["Discover"]["Action"]), "read-only"


def test_one_node_group_per_zone_and_the_autoscaler_balances_them(eks: Run) -> None:
    """The autoscaler builds a scale-up's template from one zone of a group: a group spanning zones may never
    add a node where a Pending MongoDB member's EBS volume is. Its AWS README: "either use a single AZ ASG
    ... or an ASG-per-AZ while enabling --balance-similar-node-groups" (cloudprovider/aws/README.md)."""
    private = [eks.result.ids[s["urn"]] for s in eks.resources("aws:ec2/subnet:Subnet") if "-private-" in s["name"]]
    groups = eks.resources("aws:eks/nodeGroup:NodeGroup")
    assert len(private) > 1 and sorted(g["inputs"]["subnetIds"] for g in groups) == sorted([s] for s in private)
    assert [g["name"] for g in groups] == [f"meteor-cluster-nodes-{i}" for i in range(len(private))]
    values = _release(eks, "cluster-autoscaler")["inputs"]["values"]
    assert values["extraArgs"] == {
        "balance-similar-node-groups": True,
        "balancing-ignore-label_1": "eks.amazonaws.com/nodegroup-image",
        "balancing-ignore-label_2": "eks.amazonaws.com/sourceLaunchTemplateVersion",
    }


def test_the_node_groups_share_the_configured_totals_evenly(eks: Run) -> None:
    config = _config(eks.result.stack)["kubernetes"]
    sizes = [g["inputs"]["scalingConfig"] for g in eks.resources("aws:eks/nodeGroup:NodeGroup")]
    assert sum(s["minSize"] for s in sizes) == config["minNodes"] and sum(s["maxSize"] for s in sizes) == config["maxNodes"]
    assert max(s["maxSize"] for s in sizes) - min(s["maxSize"] for s in sizes) <= 1
    assert all(1 <= s["minSize"] == s["desiredSize"] <= s["maxSize"] for s in sizes), "a node in every zone from the start"


def test_zone_bounds_split_totals_evenly() -> None:
    from components.kubernetes.aws_nodes import zone_bounds

    assert zone_bounds(3, 8, 2) == [(2, 4), (1, 4)]
    assert zone_bounds(3, 9, 3) == [(1, 3), (1, 3), (1, 3)]
    assert zone_bounds(4, 5, 3) == [(2, 2), (1, 2), (1, 1)]


def test_each_node_group_keeps_the_autoscalers_size_and_a_command_applies_its_bounds(eks: Run) -> None:
    groups = eks.resources("aws:eks/nodeGroup:NodeGroup")
    commands = {c["name"]: c for c in eks.resources("command:local:Command")}
    for group in groups:
        assert group["ignoreChanges"] == ["scalingConfig"], "an update would send a stale desired size with new bounds"
        bounds = commands[f"{group['name']}-bounds"]
        environment = bounds["inputs"]["environment"]
        scaling = group["inputs"]["scalingConfig"]
        assert (environment["MIN_NODES"], environment["MAX_NODES"]) == (str(scaling["minSize"]), str(scaling["maxSize"]))
        assert environment["NODEGROUP"] == eks.state(group)["nodeGroupName"] and environment["REGION"] == "eu-central-1"
        assert group["urn"] in bounds["dependencies"]
        assert bounds["inputs"]["create"] == NODE_BOUNDS
        assert bounds["inputs"]["interpreter"] == ["/bin/sh", "-c"], "a POSIX script, also from Windows (where cmd /C is the default)"


def test_raising_the_minimum_updates_the_bounds_and_leaves_the_node_group_alone(tmp_path: Path) -> None:
    """A second `up` with minNodes raised above the current size: the node group's scaling config is
    ignored (no UpdateNodegroupConfig with a stale desired size, which EKS refuses), the bounds command
    runs again with the new bounds (its create runs on changed inputs: pinned pulumi-command docstring)."""
    import shutil

    document = yaml.safe_load((ROOT / "Pulumi.aws-staging.yaml").read_text())
    document["config"]["meteor-platform:kubernetes"] |= {"minNodes": 3, "maxNodes": 6}
    (tmp_path / "Pulumi.aws-staging.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    for directory in ("plans", "examples", "dockerfiles"):
        shutil.copytree(ROOT / directory, tmp_path / directory)
    raised = json.loads(plan_text(run_program(tmp_path, "aws-staging").as_json()))
    committed = json.loads((ROOT / "plans" / "aws-staging.json").read_text())
    changes = plan_changes(committed, raised)
    # 2..4 over two zones was 1..2 each; 3..6 is 2..3 and 1..3.
    assert sorted((r.action, r.name) for r in changes.resources) == [
        ("update", "meteor-cluster-nodes-0-bounds"),
        ("update", "meteor-cluster-nodes-1-bounds"),
    ]
    changed = {r.name: {(".".join(map(str, c.path)), c.new) for c in r.changes} for r in changes.resources}
    assert changed == {
        "meteor-cluster-nodes-0-bounds": {("environment.MIN_NODES", "2"), ("environment.MAX_NODES", "3")},
        "meteor-cluster-nodes-1-bounds": {("environment.MAX_NODES", "3")},
    }


FAKE_AWS = """#!/bin/sh
echo "$*" >> "$CALLS"
case "$2" in
    describe-nodegroup) [ -n "${DESCRIBE_FAILS:-}" ] && { echo "AccessDeniedException" >&2; exit 254; }; echo "$CURRENT" ;;
esac
"""


def _run_bounds(tmp_path: Path, current: str, wanted: tuple[int, int], **extra: str) -> tuple[subprocess.CompletedProcess[str], list[str]]:
    """Run NODE_BOUNDS with /bin/sh (dash on Debian) against a fake AWS CLI answering `current`; the calls it made."""
    (tmp_path / "aws").write_text(FAKE_AWS)
    (tmp_path / "aws").chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    env = {
        "PATH": f"{tmp_path}:{os.environ['PATH']}",
        "CALLS": str(calls),
        "CURRENT": current,
        "REGION": "eu-central-1",
        "CLUSTER": "c",
        "NODEGROUP": "ng",
        "MIN_NODES": str(wanted[0]),
        "MAX_NODES": str(wanted[1]),
        **extra,
    }
    done = subprocess.run(["/bin/sh", "-c", NODE_BOUNDS], env=env, check=False, capture_output=True, text=True)
    return done, [line for line in calls.read_text().splitlines() if not line.startswith("eks describe-nodegroup")]


def _bounds(tmp_path: Path, current: tuple[int, int, int], wanted: tuple[int, int]) -> list[str]:
    done, calls = _run_bounds(tmp_path, "\t".join(map(str, current)), wanted)
    assert done.returncode == 0, done.stderr
    return calls


def _update(min_nodes: int, max_nodes: int, desired: int) -> str:
    return (
        "eks update-nodegroup-config --region eu-central-1 --cluster-name c --nodegroup-name ng "
        f"--scaling-config minSize={min_nodes},maxSize={max_nodes},desiredSize={desired} --query update.id --output text"
    )


WAIT = "eks wait nodegroup-active --region eu-central-1 --cluster-name c --nodegroup-name ng"


@pytest.mark.parametrize(
    ("current", "wanted", "calls"),
    [
        ((2, 4, 2), (3, 6), [_update(3, 6, 3), WAIT]),  # the minimum above the size: the size rises to it
        ((2, 9, 7), (2, 5), [_update(2, 5, 5), WAIT]),  # the maximum below the size: the size falls to it
        ((2, 9, 5), (3, 9), [_update(3, 9, 5), WAIT]),  # within the new bounds: the autoscaler's size stays
        ((3, 9, 5), (3, 9), []),  # nothing changed: nothing sent (the first run, after the group's creation)
    ],
)
def test_the_bounds_command_keeps_the_autoscalers_size_within_the_bounds(
    tmp_path: Path, current: tuple[int, int, int], wanted: tuple[int, int], calls: list[str]
) -> None:
    assert _bounds(tmp_path, current, wanted) == calls


@pytest.mark.parametrize(
    ("current", "extra", "status"), [("2\t4\t2", {"DESCRIBE_FAILS": "1"}, 254), ("", {}, 1), ("None\tNone\tNone", {}, 1)]
)
def test_the_bounds_command_stops_when_it_cannot_read_the_group(tmp_path: Path, current: str, extra: dict[str, str], status: int) -> None:
    """A failed describe (credentials, throttling) stops the command with the CLI's status, before any update
    (the describe is captured by an assignment, whose status is the substitution's: POSIX Shell Command
    Language 2.9.1); an answer without sizes stops it too: `up` fails instead of sending `desiredSize=`."""
    done, calls = _run_bounds(tmp_path, current, (3, 6), **extra)
    assert (done.returncode, calls) == (status, []), done.stderr


def test_the_autoscaler_policy_names_the_groups_in_the_clusters_partition() -> None:
    from components.kubernetes.aws_nodes import asg_arns

    cluster = "arn:aws-cn:eks:cn-north-1:123456789012:cluster/meteor"
    assert asg_arns("cn-north-1", cluster, ["eks-a", "eks-b"]) == [
        f"arn:aws-cn:autoscaling:cn-north-1:123456789012:autoScalingGroup:*:autoScalingGroupName/{g}" for g in ("eks-a", "eks-b")
    ]


def test_an_apps_pods_start_once_its_pod_identity_association_is_in_effect(eks: Run) -> None:
    """The webhook injects credentials at admission only (aws/amazon-eks-pod-identity-webhook#264) and an
    association takes seconds to be effective (CreatePodIdentityAssociation): an app's Deployment and its
    migration Job created right after it would run without S3 credentials until recreated."""
    [association] = [a for a in eks.resources(ASSOCIATION) if a["inputs"]["serviceAccount"] == "todos"]
    [settled] = [c for c in eks.resources("command:local:Command") if c["name"] == "meteor-storage-todos-settled"]
    assert association["urn"] in settled["dependencies"]
    assert settled["inputs"]["triggers"] == [eks.result.ids[association["urn"]]], "waits again when the association is replaced"
    for type_, name in (("kubernetes:apps/v1:Deployment", "todos-deployment"), ("kubernetes:batch/v1:Job", "todos-migrate")):
        workload = eks.one(type_, name)
        assert settled["urn"] in workload["dependencies"], name


def test_the_zones_node_groups_roll_one_after_another(eks: Run) -> None:
    """They share one launch template: a new version updates every group, and EKS drains one node of each
    at once unless each group waits for the previous one (MongoDB's PDB lets one member go at a time)."""
    groups = sorted(eks.resources("aws:eks/nodeGroup:NodeGroup"), key=lambda g: g["name"])
    assert len(groups) >= 2
    for previous, group in itertools.pairwise(groups):
        assert previous["urn"] in group["dependencies"], group["name"]
