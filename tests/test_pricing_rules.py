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
    instance = {"instanceType": "t3.medium", "rootBlockDevice": {"volumeSize": 8}}
    monitored = _usage(_price(_r("aws:ec2/instance:Instance", {**instance, "monitoring": True})))
    plain = _usage(_price(_r("aws:ec2/instance:Instance", {**instance, "monitoring": False})))
    assert "detailed monitoring metrics (monitoring: true)" in monitored
    assert "detailed monitoring metrics (monitoring: true)" not in plain
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
    base = {"instanceType": "t3.medium", "rootBlockDevice": {"volumeSize": 8}, **inputs}
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
    alarm = _r("aws:cloudwatch/metricAlarm:MetricAlarm", {"region": "us-west-2"}, name="a")
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
