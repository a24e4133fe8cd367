"""The price table's rules beyond a flat price: list paths, conditional usage, what the cloud creates
from Kubernetes objects (load balancers, StatefulSet volumes), explicit Kubernetes types, regions."""

from __future__ import annotations

import copy
import json
from typing import Any

import pydantic
import pytest

from offline_plan.pricing import TIMES, PriceTable, StackCost, UnpricedError, cost_text, input_at, load_prices, price_plan
from tests.harness import ROOT

TABLE = load_prices()
DO_PROXY = {"service.beta.kubernetes.io/do-loadbalancer-enable-proxy-protocol": "true"}
AWS_NLB = {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
PROVIDER_URN = "urn:pulumi:t::p::pulumi:providers:aws::meteor-aws"


def _plan(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text(encoding="utf-8"))


def _r(type_: str, inputs: dict[str, Any], name: str = "r", **extra: Any) -> dict[str, Any]:
    return {"urn": f"urn:{type_}::{name}", "type": type_, "name": name, "inputs": inputs, **extra}


def _price(*resources: dict[str, Any]) -> StackCost:
    return price_plan({"stack": "t", "resources": list(resources)}, TABLE)


def _money(cost: StackCost) -> tuple[float, float]:
    return round(cost.low, 2), round(cost.high, 2)


def _usage(cost: StackCost) -> list[str]:
    return [item.what for resource in cost.resources for item in resource.usage]


# ---------------------------------------------------------------- paths


def test_a_path_is_dotted_or_a_list_of_segments_for_keys_with_dots() -> None:
    table = PriceTable.model_validate(
        {
            "asOf": "2026-11-30",
            "currency": "USD",
            "hoursPerMonth": 730,
            "freePrefixes": [],
            "types": {
                "x:index:Thing": {
                    "charges": [
                        {
                            "what": "by an annotation",
                            "by": ["metadata", "annotations", "example.com/size"],
                            "prices": {"big": {"monthly": 7.0, "source": "s", "read": "r"}},
                            "when": [{"path": "metadata.labels.tier", "is": "paid"}],
                        }
                    ]
                }
            },
        }
    )
    charge = table.types["x:index:Thing"].charges[0]
    assert charge.by == ("metadata", "annotations", "example.com/size")
    assert charge.when[0].path == ("metadata", "labels", "tier")
    inputs = {"metadata": {"annotations": {"example.com/size": "big"}, "labels": {"tier": "paid"}}}
    assert input_at(inputs, ("metadata", "annotations", "example.com/size")) == "big"
    cost = price_plan({"stack": "t", "resources": [_r("x:index:Thing", inputs)]}, table)
    assert _money(cost) == (7.0, 7.0)


# ---------------------------------------------------------------- usage `when`


def test_a_usage_line_is_listed_only_when_its_condition_holds() -> None:
    instance = {"instanceType": "t3.medium", "rootBlockDevice": {"volumeSize": 8, "volumeType": "gp3"}}
    plain = _usage(_price(_r("aws:ec2/instance:Instance", instance)))
    standard = _usage(_price(_r("aws:ec2/instance:Instance", {**instance, "creditSpecification": {"cpuCredits": "standard"}})))
    assert "T3 unlimited surplus CPU credits" in plain
    assert "T3 unlimited surplus CPU credits" not in standard


# ---------------------------------------------------------------- load balancers from Kubernetes


def _traefik(service: dict[str, Any], chart: str = "traefik") -> dict[str, Any]:
    return _r("kubernetes:helm.sh/v3:Release", {"chart": chart, "values": {"service": service}}, name="traefik")


def test_traefik_load_balancer_is_priced_by_the_cloud_its_annotations_name() -> None:
    do = _price(_traefik({"annotations": DO_PROXY}))
    assert _money(do) == (12.0, 12.0)
    bigger = {**DO_PROXY, "service.beta.kubernetes.io/do-loadbalancer-size-unit": "3"}
    assert _money(_price(_traefik({"annotations": bigger}))) == (36.0, 36.0)
    aws = _price(_traefik({"annotations": AWS_NLB, "spec": {"externalTrafficPolicy": "Local"}}))
    assert _money(aws) == (16.43, 16.43)  # 0.0225/h x 730 h
    assert "NLB capacity units (new/active connections, bytes processed)" in _usage(aws)
    assert "NLB capacity units (new/active connections, bytes processed)" not in _usage(do)


def test_a_traefik_release_no_load_balancer_charge_applies_to_is_refused_by_name() -> None:
    with pytest.raises(UnpricedError, match=r"Release traefik: none of its charges applies"):
        _price(_traefik({}))  # neither a DigitalOcean nor an AWS annotation
    with pytest.raises(UnpricedError, match=r"Release traefik: none of its charges applies"):
        _price(_traefik({"annotations": {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}}))
    with pytest.raises(UnpricedError, match=r"Release traefik: none of its charges applies"):
        _price(_traefik({"type": "ClusterIP", "annotations": DO_PROXY}))


def test_other_charts_are_free_and_an_unknown_chart_is_named() -> None:
    assert _price(_traefik({}, chart="cert-manager")).free == 1
    with pytest.raises(UnpricedError, match=r"no entry for chart='ingress-nginx' \(resource traefik\)"):
        _price(_traefik({}, chart="ingress-nginx"))


def test_a_load_balancer_service_is_priced_not_free() -> None:
    def service(type_: str | None, annotations: dict[str, str]) -> dict[str, Any]:
        spec = {"type": type_} if type_ else {}
        return _r("kubernetes:core/v1:Service", {"metadata": {"annotations": annotations}, "spec": spec}, name="edge")

    assert _price(service(None, {})).free == 1
    assert _price(service("ClusterIP", DO_PROXY)).free == 1
    assert _money(_price(service("LoadBalancer", DO_PROXY))) == (12.0, 12.0)
    assert _money(_price(service("LoadBalancer", AWS_NLB))) == (16.43, 16.43)
    with pytest.raises(UnpricedError, match=r"Service edge: none of its charges applies"):
        _price(service("LoadBalancer", {}))


# ---------------------------------------------------------------- StatefulSet volumes


def _class(provisioner: str, parameters: dict[str, str] | None = None, object_name: str = "fast-1a2b") -> dict[str, Any]:
    inputs: dict[str, Any] = {"provisioner": provisioner, **({"parameters": parameters} if parameters else {})}
    return _r("kubernetes:storage.k8s.io/v1:StorageClass", inputs, name="fast", id=f"id-{object_name}", objectName=object_name)


def _statefulset(storage: str, replicas: int = 3, class_name: str | None = "fast-1a2b") -> dict[str, Any]:
    spec: dict[str, Any] = {"resources": {"requests": {"storage": storage}}}
    if class_name:
        spec["storageClassName"] = class_name
    template = {"metadata": {"name": "data"}, "spec": spec}
    return _r("kubernetes:apps/v1:StatefulSet", {"spec": {"replicas": replicas, "volumeClaimTemplates": [template]}}, name="mongo")


def test_statefulset_volumes_are_priced_per_replica_from_the_class_it_names_by_object_name() -> None:
    ebs = _class("ebs.csi.aws.com", {"type": "gp3"})
    assert _money(_price(ebs, _statefulset("50Gi"))) == (12.0, 12.0)  # 3 x 50 GiB x 0.08
    assert _money(_price(_class("dobs.csi.digitalocean.com"), _statefulset("20Gi", replicas=1))) == (2.0, 2.0)
    assert _money(_price(ebs, _statefulset("1Ti", replicas=1))) == (81.92, 81.92)
    assert _money(_price(ebs, _statefulset("50G", replicas=1))) == (3.76, 3.76)  # 46.6 GiB, provisioned as 47
    # The link is the class's object name (auto-named, with a suffix), not its Pulumi name.
    named = _statefulset("50Gi", class_name="fast")
    assert "names no kubernetes:storage.k8s.io/v1:StorageClass" in _usage(_price(ebs, named))[0]


def test_a_size_that_is_no_quantity_is_refused_by_name() -> None:
    with pytest.raises(UnpricedError, match=r"StatefulSet mongo: input \$each.spec.resources.requests.storage is '20 GiB', not a size"):
        _price(_class("ebs.csi.aws.com", {"type": "gp3"}), _statefulset("20 GiB"))
    with pytest.raises(UnpricedError, match=r"no price for \$from.parameters.type='io2'"):
        _price(_class("ebs.csi.aws.com", {"type": "io2"}), _statefulset("20Gi"))


def test_a_class_outside_the_plan_or_another_provisioner_is_a_usage_line_never_zero() -> None:
    existing = _price(_statefulset("20Gi", replicas=2, class_name="do-block-storage"))
    assert _money(existing) == (0.0, 0.0)
    [line] = _usage(existing)
    assert line.startswith("volumes of its volumeClaimTemplates: the cluster's storage class decides the price")
    assert (
        f"$each.spec.storageClassName='do-block-storage' names no kubernetes:storage.k8s.io/v1:StorageClass in the plan; 20 GiB {TIMES}2"
        in line
    )
    default_class = _usage(_price(_statefulset("20Gi", class_name=None)))
    assert "$each.spec.storageClassName=None names no" in default_class[0]
    other = _usage(_price(_class("nfs.csi.k8s.io"), _statefulset("20Gi")))
    assert "$from.provisioner='nfs.csi.k8s.io'" in other[0]
    text = cost_text(existing)
    assert "StatefulSet: volumes of its volumeClaimTemplates: the cluster's storage class decides the price" in text
    assert "(price not sourced)" in text


# ---------------------------------------------------------------- explicit Kubernetes types


def test_a_new_kubernetes_type_is_not_free_by_prefix() -> None:
    plan = copy.deepcopy(_plan("aws-staging"))
    claim = {"spec": {"resources": {"requests": {"storage": "10Gi"}}, "storageClassName": "gp3"}}
    plan["resources"].append(_r("kubernetes:core/v1:PersistentVolumeClaim", claim, name="scratch"))
    with pytest.raises(UnpricedError, match=r"kubernetes:core/v1:PersistentVolumeClaim: not in prices.yaml \(resource scratch\)"):
        price_plan(plan, TABLE)
    assert not any(p.prefix.startswith("kubernetes") for p in TABLE.free_prefixes)


def test_an_ingress_of_another_class_is_not_free() -> None:
    ingress = _r("kubernetes:networking.k8s.io/v1:Ingress", {"spec": {"ingressClassName": "alb"}}, name="web")
    with pytest.raises(UnpricedError, match=r"no entry for spec.ingressClassName='alb' \(resource web\)"):
        _price(ingress)


# ---------------------------------------------------------------- regions


def _provider(region: str | None) -> dict[str, Any]:
    inputs = {"region": region} if region else {}
    return {"urn": PROVIDER_URN, "type": "pulumi:providers:aws", "name": "meteor-aws", "id": "meteor-aws-1", "inputs": inputs}


def _instance(provider: str | None, **inputs: Any) -> dict[str, Any]:
    base = {"instanceType": "t3.medium", "rootBlockDevice": {"volumeSize": 8, "volumeType": "gp3"}, **inputs}
    return _r("aws:ec2/instance:Instance", base, name="host", provider=provider)


def test_region_comes_from_the_resource_then_its_provider_else_unknown() -> None:
    def region(*resources: dict[str, Any]) -> str | None:
        return next(r.region for r in _price(*resources).resources if r.name == "host")

    assert region(_provider("eu-central-1"), _instance(PROVIDER_URN)) == "eu-central-1"
    assert region(_provider("us-west-2"), _instance(PROVIDER_URN)) == "us-west-2"
    assert region(_provider("us-west-2"), _instance(f"{PROVIDER_URN}::meteor-aws-1")) == "us-west-2"  # a `urn::id` reference
    assert region(_provider("us-west-2"), _instance(PROVIDER_URN, region="ap-south-1")) == "ap-south-1"
    assert region(_instance(None)) == "unknown"  # the default provider: its region is not in the plan
    assert region(_provider(None), _instance(PROVIDER_URN)) == "unknown"
    droplet = _r("digitalocean:index/droplet:Droplet", {"size": "s-2vcpu-4gb", "region": "nyc3"})
    assert _price(droplet).resources[0].region is None  # DigitalOcean prices are the same in every region


def test_resources_outside_the_priced_region_are_counted_and_said() -> None:
    cost = _price(_provider("us-west-2"), _instance(PROVIDER_URN), _instance(None) | {"name": "other", "urn": "o"})
    assert cost.other_regions == {"unknown": 1, "us-west-2": 1}
    text = cost_text(cost)
    assert "2 resource(s) in regions prices.yaml does not price (aws at eu-central-1): unknown (1), us-west-2 (1)" in text
    assert "Instance host (us-west-2)" in text
    assert _price(_provider("eu-central-1"), _instance(PROVIDER_URN)).other_regions == {}
    assert "regions prices.yaml does not price" not in cost_text(_price(_provider("eu-central-1"), _instance(PROVIDER_URN)))


def test_the_shipped_us_east_1_alarms_and_topics_use_us_east_1_prices() -> None:
    """Route 53 metrics live in us-east-1; the alarm and SNS numbers are us-east-1's (unverified for Frankfurt)."""
    for stack in ("aws-staging", "aws-production", "aws-hosts"):
        cost = price_plan(_plan(stack), TABLE)
        east = [r for r in cost.resources if r.region == "us-east-1"]
        assert sorted(r.type for r in east) == ["aws:cloudwatch/metricAlarm:MetricAlarm"] * 2 + ["aws:sns/topic:Topic"]
        assert cost.other_regions == {}
    alarm = _r("aws:cloudwatch/metricAlarm:MetricAlarm", {"region": "us-west-2", "period": 60}, name="a")
    assert _price(alarm).other_regions == {"us-west-2": 1}


def test_region_marks_are_enforced() -> None:
    price = {"monthly": 1.0, "source": "s", "read": "r"}
    table = {"asOf": "2026-11-30", "currency": "USD", "hoursPerMonth": 730, "freePrefixes": []}
    charge: dict[str, Any] = {"what": "w", **price, "region": "us-east-1"}
    with pytest.raises(pydantic.ValidationError, match="unverified for the table's region"):
        PriceTable.model_validate({**table, "types": {"x:a:B": {"charges": [charge]}}})
    PriceTable.model_validate({**table, "types": {"x:a:B": {"charges": [{**charge, "region": "all"}]}}})
    with pytest.raises(pydantic.ValidationError, match="exactly one of is, in"):
        PriceTable.model_validate(
            {**table, "types": {"x:a:B": {"charges": [{"what": "w", **price, "when": [{"path": "a", "is": 1, "in": [1]}]}]}}}
        )
    with pytest.raises(pydantic.ValidationError, match="`by` and `variants` go together"):
        PriceTable.model_validate({**table, "types": {"x:a:B": {"by": "a"}}})


# ---------------------------------------------------------------- review fixes (issue 21, review of 1b4d1f5)


def _shipped(stack: str, type_: str, name: str | None = None) -> dict[str, Any]:
    plan = _plan(stack)
    return next(r for r in plan["resources"] if r["type"] == type_ and (name is None or r["name"] == name))


def _mutated(stack: str, edit: Any) -> StackCost:
    """The shipped plan with one resource changed by `edit(plan)`, priced."""
    plan = copy.deepcopy(_plan(stack))
    edit(plan)
    return price_plan(plan, TABLE)


def _find(plan: dict[str, Any], type_: str, name: str | None = None) -> dict[str, Any]:
    return next(r for r in plan["resources"] if r["type"] == type_ and (name is None or r["name"] == name))


def _charges(cost: StackCost, name: str, type_: str | None = None) -> dict[str, tuple[float, float]]:
    resource = next(r for r in cost.resources if r.name == name and type_ in (None, r.type))
    return {c.what: (round(c.low, 2), round(c.high, 2)) for c in resource.charges}


ADDON = "aws:eks/addon:Addon"
INSTANCE = "aws:ec2/instance:Instance"
ENHANCED = "Container Insights with enhanced observability (observations)"


# A. money the program turns on


def test_eks_addons_are_priced_by_name_and_container_insights_by_its_configuration() -> None:
    shipped = _shipped("aws-production", ADDON, "meteor-insights-addon")
    [line] = _usage(_price(shipped))
    assert line == ENHANCED
    [item] = next(r for r in _price(shipped).resources).usage
    assert (item.price, item.unit) == (0.21, "USD/1M observations")
    config = json.loads(shipped["inputs"]["configurationValues"])
    config["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]["enhanced_container_insights"] = False
    standard = {**shipped, "inputs": {**shipped["inputs"], "configurationValues": json.dumps(config)}}
    assert _usage(_price(standard)) == ["Container Insights metrics (CloudWatch custom metrics, per metric)"]
    # Unset means on: the add-on enables enhanced observability by default.
    del config["agent"]["config"]["logs"]["metrics_collected"]["kubernetes"]["enhanced_container_insights"]
    default = {**shipped, "inputs": {**shipped["inputs"], "configurationValues": json.dumps(config)}}
    assert _usage(_price(default)) == [ENHANCED]
    assert _usage(_price({**shipped, "inputs": {k: v for k, v in shipped["inputs"].items() if k != "configurationValues"}})) == [ENHANCED]
    for name in ("vpc-cni", "aws-ebs-csi-driver", "eks-pod-identity-agent"):
        assert _price(_r(ADDON, {"addonName": name})).free == 1
    with pytest.raises(UnpricedError, match=r"no entry for addonName='aws-guardduty-agent'"):
        _price(_r(ADDON, {"addonName": "aws-guardduty-agent"}, name="guardduty"))


def test_a_host_pays_for_detailed_monitoring_and_its_agent_metrics() -> None:
    cost = price_plan(_plan("aws-hosts"), TABLE)
    host = _charges(cost, "meteor-machines-0", INSTANCE)
    assert host["EC2 detailed monitoring (monitoring: true; 10 free metrics per account, not subtracted)"] == (2.10, 2.10)
    agent = "CloudWatch agent custom metrics (one per alarm on mem_used_percent / disk_used_percent naming the host)"
    assert host[agent] == (0.90, 0.90)  # 3 metrics x 0.30
    quiet = _mutated("aws-hosts", lambda plan: _find(plan, "aws:ec2/instance:Instance")["inputs"].update(monitoring=False))
    assert "EC2 detailed monitoring (monitoring: true; 10 free metrics per account, not subtracted)" not in _charges(
        quiet, "meteor-machines-0", INSTANCE
    )

    def no_data_disk(plan: dict[str, Any]) -> None:
        plan["resources"] = [r for r in plan["resources"] if r["name"] != "meteor-host-alarms-host0-disk-data"]

    assert _charges(_mutated("aws-hosts", no_data_disk), "meteor-machines-0", INSTANCE)[agent] == (0.60, 0.60)

    def a_second_host(plan: dict[str, Any]) -> None:
        """Another host with its own three agent alarms: each host pays for its own metrics only."""
        host = _find(plan, INSTANCE)
        other = copy.deepcopy(host) | {"name": "meteor-machines-1", "urn": host["urn"] + "-1", "id": host["id"] + "-1"}
        alarms = [
            copy.deepcopy(r)
            for r in plan["resources"]
            if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm" and r["inputs"].get("dimensions", {}).get("InstanceId") == host["id"]
        ]
        for alarm in alarms:
            alarm["urn"] += "-1"
            alarm["name"] += "-1"
            alarm["inputs"]["dimensions"]["InstanceId"] = other["id"]
        plan["resources"] += [other, *alarms]

    two = _mutated("aws-hosts", a_second_host)
    assert _charges(two, "meteor-machines-0", INSTANCE)[agent] == (0.90, 0.90)
    assert _charges(two, "meteor-machines-1", INSTANCE)[agent] == (0.90, 0.90)


def test_the_agent_metric_count_is_what_the_agent_configuration_publishes() -> None:
    """The plan counts the host's alarms on agent metrics; the agent publishes exactly those metrics."""
    from components.machines.aws import DATA_MOUNT, ROOT_MOUNT
    from components.observability.cloudwatch_agent import CloudWatchAgentSetup, agent_config

    collected = json.loads(agent_config(CloudWatchAgentSetup("n", (ROOT_MOUNT, DATA_MOUNT))))["metrics"]["metrics_collected"]
    published = len(collected["mem"]["measurement"]) + len(collected["disk"]["measurement"]) * len(collected["disk"]["resources"])
    plan = _plan("aws-hosts")
    host_id = _find(plan, "aws:ec2/instance:Instance")["id"]
    alarms = [
        r
        for r in plan["resources"]
        if r["type"] == "aws:cloudwatch/metricAlarm:MetricAlarm"
        and r["inputs"].get("metricName") in ("mem_used_percent", "disk_used_percent")
        and r["inputs"]["dimensions"]["InstanceId"] == host_id
    ]
    assert published == len(alarms) == 3


# B. inputs that change the price are read or refused


def test_inputs_that_change_the_price_are_read_or_refused_on_shipped_plans() -> None:
    def instance(**root: Any) -> Any:
        return lambda plan: _find(plan, "aws:ec2/instance:Instance")["inputs"]["rootBlockDevice"].update(root)

    with pytest.raises(UnpricedError, match=r"no price for rootBlockDevice.volumeType='io2'"):
        _mutated("aws-hosts", instance(volumeType="io2"))
    with pytest.raises(UnpricedError, match=r"Instance meteor-machines-0: .* rootBlockDevice.iops as set"):
        _mutated("aws-hosts", instance(iops=16000))
    with pytest.raises(UnpricedError, match=r"Volume meteor-machines-data: .* throughput as set"):
        _mutated("aws-hosts", lambda plan: _find(plan, "aws:ebs/volume:Volume")["inputs"].update(throughput=1000))
    at_baseline = _mutated("aws-hosts", lambda plan: _find(plan, "aws:ebs/volume:Volume")["inputs"].update(iops=3000))
    assert _charges(at_baseline, "meteor-machines-data") == _charges(price_plan(_plan("aws-hosts"), TABLE), "meteor-machines-data")
    with pytest.raises(UnpricedError, match=r"LaunchTemplate meteor-cluster-nodes: .* blockDeviceMappings.0.ebs.iops as set"):
        _mutated(
            "aws-staging",
            lambda plan: _find(plan, "aws:ec2/launchTemplate:LaunchTemplate")["inputs"]["blockDeviceMappings"][0]["ebs"].update(iops=6000),
        )
    with pytest.raises(UnpricedError, match=r"StorageClass meteor-mongo-storage: .* parameters.iops as set"):
        _mutated(
            "aws-production",
            lambda plan: _find(plan, "kubernetes:storage.k8s.io/v1:StorageClass")["inputs"]["parameters"].update(iops="16000"),
        )

    def alarm(**inputs: Any) -> Any:
        return lambda plan: _find(plan, "aws:cloudwatch/metricAlarm:MetricAlarm", "meteor-host-alarms-host0-cpu")["inputs"].update(inputs)

    high = _mutated("aws-hosts", alarm(period=10))
    assert _charges(high, "meteor-host-alarms-host0-cpu") == {"high-resolution alarm (period 10, 20 or 30 s)": (0.30, 0.30)}
    with pytest.raises(UnpricedError, match=r"MetricAlarm meteor-host-alarms-host0-cpu: none of its charges applies"):
        _mutated("aws-hosts", alarm(period=45))
    with pytest.raises(UnpricedError, match=r"MetricAlarm meteor-host-alarms-host0-cpu: .* metricQueries as set"):
        _mutated("aws-hosts", alarm(metricQueries=[{"id": "m1"}, {"id": "m2"}, {"id": "e1"}]))

    parameter = "aws:ssm/parameter:Parameter"
    advanced = _mutated("aws-hosts", lambda plan: _find(plan, parameter)["inputs"].update(tier="Advanced"))
    assert _charges(advanced, "meteor-machines-0-host-key") == {"advanced parameter storage": (0.05, 0.05)}
    with pytest.raises(UnpricedError, match=r"no entry for tier='Intelligent-Tiering'"):
        _mutated("aws-hosts", lambda plan: _find(plan, parameter)["inputs"].update(tier="Intelligent-Tiering"))

    with pytest.raises(UnpricedError, match=r"no entry for capacityType='SPOT'"):
        _mutated("aws-staging", lambda plan: _find(plan, "aws:eks/nodeGroup:NodeGroup")["inputs"].update(capacityType="SPOT"))
    on_demand = _mutated("aws-staging", lambda plan: _find(plan, "aws:eks/nodeGroup:NodeGroup")["inputs"].update(capacityType="ON_DEMAND"))
    assert _money(on_demand) == _money(price_plan(_plan("aws-staging"), TABLE))


def test_digitalocean_inputs_that_change_the_price_are_read_or_refused() -> None:
    droplet = "digitalocean:index/droplet:Droplet"
    backups = "daily backups (30 % of the droplet)"
    daily = _mutated("droplets", lambda plan: _find(plan, droplet)["inputs"].update(backupPolicy={"plan": "daily", "hour": 4}))
    assert _charges(daily, "meteor-machines-0")[backups] == (7.20, 7.20)
    weekly = _mutated("droplets", lambda plan: _find(plan, droplet)["inputs"].update(backupPolicy={"plan": "weekly"}))
    assert _money(weekly) == _money(price_plan(_plan("droplets"), TABLE))
    with pytest.raises(UnpricedError, match=r"no entry for backupPolicy.plan='hourly'"):
        _mutated("droplets", lambda plan: _find(plan, droplet)["inputs"].update(backupPolicy={"plan": "hourly"}))
    with pytest.raises(UnpricedError, match=r"ReservedIp meteor-machines-reserved-ip: .* dropletId as set"):
        _mutated("droplets", lambda plan: _find(plan, "digitalocean:index/reservedIp:ReservedIp")["inputs"].pop("dropletId"))
    with pytest.raises(UnpricedError, match=r"DatabaseCluster meteor-mongo-cluster: .* storageSizeMib as set"):
        _mutated(
            "production",
            lambda plan: _find(plan, "digitalocean:index/databaseCluster:DatabaseCluster")["inputs"].update(storageSizeMib=512000),
        )

    def persistent(plan: dict[str, Any]) -> None:
        _find(plan, "kubernetes:helm.sh/v3:Release", "meteor-addons-traefik")["inputs"]["values"]["persistence"] = {
            "enabled": True,
            "size": "100Gi",
        }

    with pytest.raises(UnpricedError, match=r"Release meteor-addons-traefik: .* values.persistence.enabled as set"):
        _mutated("production", persistent)


# C. Route 53 health check types


def test_health_check_features_follow_the_type_prefix_and_suffix() -> None:
    basic = {"requestInterval": 30, "measureLatency": False}
    check = "aws:route53/healthCheck:HealthCheck"
    assert _money(_price(_r(check, {**basic, "type": "HTTP"}))) == (0.75, 0.75)
    assert _money(_price(_r(check, {**basic, "type": "HTTPS"}))) == (2.75, 2.75)
    assert _money(_price(_r(check, {**basic, "type": "HTTP_STR_MATCH"}))) == (2.75, 2.75)
    assert _money(_price(_r(check, {**basic, "type": "HTTPS_STR_MATCH"}))) == (4.75, 4.75)
    shipped = _mutated("aws-production", lambda plan: _find(plan, check)["inputs"].update(type="HTTPS_STR_MATCH"))
    assert round(shipped.low - price_plan(_plan("aws-production"), TABLE).low, 2) == 2.00


# D. NLB public IPv4 per elb-tagged subnet


def _subnet(name: str, role: str) -> dict[str, Any]:
    return _r("aws:ec2/subnet:Subnet", {"tags": {f"kubernetes.io/role/{role}": "1"}}, name=name)


IPV4 = "the NLB's public IPv4 addresses (one per subnet tagged kubernetes.io/role/elb)"


def test_an_internet_facing_nlb_pays_a_public_ipv4_per_elb_subnet() -> None:
    subnets = [_subnet("a", "elb"), _subnet("b", "elb"), _subnet("c", "internal-elb")]
    aws = _traefik({"annotations": AWS_NLB})
    assert _charges(_price(aws, *subnets), "traefik")[IPV4] == (7.30, 7.30)  # 2 x 0.005/h x 730 h
    internal = _traefik({"annotations": {**AWS_NLB, "service.beta.kubernetes.io/aws-load-balancer-internal": "true"}})
    assert IPV4 not in _charges(_price(internal, *subnets), "traefik")
    alone = _price(aws)  # no subnet in the plan: a usage line, never zero
    assert IPV4 not in _charges(alone, "traefik")
    assert any(line.startswith("public IPv4 address per Availability Zone the NLB spans") for line in _usage(alone))
    service = _r("kubernetes:core/v1:Service", {"metadata": {"annotations": AWS_NLB}, "spec": {"type": "LoadBalancer"}}, name="edge")
    assert _charges(_price(service, *subnets), "edge")[IPV4] == (7.30, 7.30)
    assert _charges(price_plan(_plan("aws-production"), TABLE), "meteor-addons-traefik")[IPV4] == (10.95, 10.95)
    assert _charges(price_plan(_plan("aws-staging"), TABLE), "meteor-addons-traefik")[IPV4] == (7.30, 7.30)


# E. an honest header


def test_the_header_dates_the_table_and_its_oldest_price_and_counts_other_region_prices() -> None:
    text = cost_text(price_plan(_plan("aws-staging"), TABLE))
    header = text.splitlines()[0]
    assert "at list prices of 2026-11-30 (the date prices.yaml was compiled; its oldest price used was read 2021-08-30, " in header
    assert "with no read date" in header  # the t3.large blog table is the oldest; m7i.large is undated
    assert "charge(s) use another region's price, none being sourced for their own: us-east-1 (" in text
    droplets = cost_text(price_plan(_plan("droplets"), TABLE))
    assert "its oldest price used was read 2018-11-27" in droplets.splitlines()[0]  # the Spaces staff answer
    assert "another region's price" not in droplets


def test_kubernetes_objects_on_eks_run_in_their_clusters_region() -> None:
    cost = price_plan(_plan("aws-production"), TABLE)
    assert next(r for r in cost.resources if r.name == "meteor-addons-traefik").region == "eu-central-1"
    assert next(r for r in cost.resources if r.name == "meteor-mongo-statefulset").region == "eu-central-1"

    def elsewhere(plan: dict[str, Any]) -> None:
        provider = _find(plan, "pulumi:providers:kubernetes", "meteor-cluster-provider")
        provider["inputs"]["clusterIdentifier"] = "arn:aws:eks:us-west-2:123456789012:cluster/x"

    moved = _mutated("aws-production", elsewhere)
    assert moved.other_regions == {"us-west-2": 2}  # the NLB (traefik) and the mongo volumes
    assert next(r for r in price_plan(_plan("production"), TABLE).resources if r.name == "meteor-addons-traefik").region is None


# F. usage lines


def test_egress_cross_az_and_t3_credit_lines_where_they_apply() -> None:
    egress = "data transfer out to the internet (first 10 TB per month; 100 GB free per account, not subtracted)"
    production = price_plan(_plan("aws-production"), TABLE)
    lines = {(r.name, item.what) for r in production.resources for item in r.usage}
    assert ("meteor-addons-traefik", egress) in lines
    assert any(name.startswith("meteor-aws-network-nat") and what.startswith("data transfer out to the internet") for name, what in lines)
    cross_az = "data transfer between Availability Zones (replication between replicas in different AZs), charged in each direction"
    assert ("meteor-mongo-statefulset", cross_az) in lines
    assert ("meteor-mongo-statefulset", cross_az) not in {
        (r.name, i.what) for r in price_plan(_plan("aws-staging"), TABLE).resources for i in r.usage
    }
    assert cross_az not in _usage(price_plan(_plan("byoc"), TABLE))  # DigitalOcean: no cross-AZ charge
    credits = "T3 unlimited surplus CPU credits (unlimited is T3's default; a launch template may say standard)"
    assert credits in _usage(price_plan(_plan("aws-staging"), TABLE))
    assert credits not in _usage(production)  # m7i.large
    assert egress in _usage(price_plan(_plan("aws-hosts"), TABLE))


# G. marks and duplication


def test_a_line_counted_once_elsewhere_is_not_an_unverified_charge() -> None:
    cost = price_plan(_plan("droplets"), TABLE)
    repeats = [c for r in cost.resources for c in r.charges if c.detail == "counted once per stack"]
    assert len(repeats) == 1 and not repeats[0].unverified
    assert "counted once per stack" in cost_text(cost)


def test_usage_lines_from_secondary_or_other_region_sources_are_marked() -> None:
    for stack in ("droplets", "aws-staging", "aws-hosts"):
        for resource in price_plan(_plan(stack), TABLE).resources:
            for item in resource.usage:
                if "2018" in item.read or "blogspot" in item.source or item.region not in (None, "all"):
                    assert item.unverified, (resource.type, item.what)


def test_each_shared_price_is_written_once() -> None:
    text = (ROOT / "offline_plan" / "prices.yaml").read_text(encoding="utf-8")
    assert text.count("price: 0.006") == 1  # NLCU
    assert text.count("perGiB: 0.08") == 1  # gp3
    assert text.count("price: 0.50\n") == 1  # log ingestion (SNS requests are another 0.50)
    assert text.count("price: 0.01\n") == 2  # DigitalOcean transfer and AWS cross-AZ


def test_a_stack_on_an_existing_cluster_says_its_cluster_is_not_in_the_estimate() -> None:
    cost = price_plan(_plan("byoc"), TABLE)
    cluster = next(r for r in cost.resources if r.type == "meteor-platform:kubernetes:ExistingCluster")
    assert [u.what for u in cluster.usage] == [
        "the existing cluster's nodes, control plane and load balancers (not created by this program)"
    ]
    assert "ExistingCluster: the existing cluster's nodes" in cost_text(cost)
