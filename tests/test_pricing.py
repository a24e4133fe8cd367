"""The monthly estimate: prices.yaml's shape, the pricing arithmetic, and a table that cannot rot."""

from __future__ import annotations

import copy
import json
from typing import Any

import pydantic
import pytest
import yaml

from offline_plan.pricing import DASH, PRICES, TIMES, PriceTable, StackCost, UnpricedError, cost_text, load_prices, price_plan
from tests.harness import ROOT

PLANS = sorted(p.stem for p in (ROOT / "plans").glob("*.json"))
TABLE = load_prices()


def _plan(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text(encoding="utf-8"))


def _one(type_: str, inputs: dict[str, Any], name: str = "r") -> StackCost:
    return price_plan({"stack": "t", "resources": [{"urn": "u", "type": type_, "name": name, "inputs": inputs}]}, TABLE)


def _money(cost: StackCost) -> tuple[float, float]:
    return round(cost.low, 2), round(cost.high, 2)


@pytest.mark.parametrize("stack", PLANS)
def test_every_shipped_type_and_selector_value_is_priced_free_or_usage(stack: str) -> None:
    """The 'cannot silently rot' test: price_plan raises, naming the type or value, when the table lacks it."""
    cost = price_plan(_plan(stack), TABLE)
    assert cost.free + len(cost.resources) == len(_plan(stack)["resources"])


def test_shipped_plans_are_the_ones_with_stack_files() -> None:
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    assert stacks == PLANS


def test_an_unknown_type_is_named() -> None:
    plan = _plan("droplets")
    plan["resources"].append({"urn": "u", "type": "digitalocean:index/loadBalancer:LoadBalancer", "name": "lb", "inputs": {}})
    with pytest.raises(UnpricedError, match=r"digitalocean:index/loadBalancer:LoadBalancer: not in prices.yaml \(resource lb\)"):
        price_plan(plan, TABLE)


def test_an_unknown_size_is_named() -> None:
    plan = copy.deepcopy(_plan("production"))
    cluster = next(r for r in plan["resources"] if r["type"] == "digitalocean:index/kubernetesCluster:KubernetesCluster")
    cluster["inputs"]["nodePool"]["size"] = "s-8vcpu-16gb"
    with pytest.raises(UnpricedError, match=r"KubernetesCluster: no price for nodePool.size='s-8vcpu-16gb'"):
        price_plan(plan, TABLE)


def test_a_missing_selector_input_is_named() -> None:
    with pytest.raises(UnpricedError, match=r"input instanceType is not set"):
        _one("aws:ec2/instance:Instance", {"rootBlockDevice": {"volumeSize": 8}})


def test_shipped_stack_totals() -> None:
    """Per stack, the sums prices-research.md section 5 gives, with what Kubernetes makes the cloud create."""
    totals = {stack: _money(price_plan(_plan(stack), TABLE)) for stack in PLANS}
    assert totals["droplets"] == (37.80, 37.80)
    # DOKS nodes 2..4 / 3..10 x 48 + MongoDB + Spaces 5 + uptime 1 (+ HA 40, registry 20 in production)
    # + the DigitalOcean load balancer traefik's Service gets: 1 size unit, 12.00.
    assert totals["staging"] == (144.00, 240.00)
    assert totals["production"] == (402.00, 738.00)
    # uptime check 1 + the mongo replica's 20 GiB DigitalOcean volume (2.00).
    assert totals["byoc"] == (3.00, 3.00)
    assert totals["dev"] == (0.00, 0.00)
    # EKS 73 + nodes (t3.large 70.08, m7i.large 73.584) and their 50 GiB gp3 roots (4.00) per node
    # + NATs 32.85 + EIPs 3.65 + KMS 1 + health check 4.75 + alarms 0.10 each
    # + traefik's NLB 16.425 and its public IPv4 per elb-tagged subnet 3.65 (staging 2, production 3)
    # + mongo volumes gp3 0.08/GiB (staging 1 x 20 GiB, production 3 x 50 GiB).
    assert totals["aws-staging"] == (289.24, 437.40)
    assert totals["aws-production"] == (460.88, 926.38)
    # + the host's detailed monitoring 7 x 0.30 and its CloudWatch agent's 3 custom metrics x 0.30.
    assert totals["aws-hosts"] == (91.14, 91.14)


def test_node_group_root_volumes_come_from_its_launch_template() -> None:
    template = {
        "urn": "lt",
        "type": "aws:ec2/launchTemplate:LaunchTemplate",
        "name": "lt",
        "id": "lt-1",
        "inputs": {"blockDeviceMappings": [{"ebs": {"volumeSize": 100, "volumeType": "gp3"}}]},
    }
    group = {
        "urn": "ng",
        "type": "aws:eks/nodeGroup:NodeGroup",
        "name": "ng",
        "inputs": {
            "instanceTypes": ["t3.large"],
            "launchTemplate": {"id": "lt-1"},
            "scalingConfig": {"desiredSize": 2, "minSize": 2, "maxSize": 3},
        },
    }
    cost = price_plan({"stack": "t", "resources": [template, group]}, TABLE)
    disks = next(c for c in cost.resources[0].charges if c.what.startswith("node root volumes"))
    assert (round(disks.low, 2), round(disks.high, 2)) == (16.0, 24.0)
    group["inputs"]["launchTemplate"] = {"id": "lt-2"}
    with pytest.raises(UnpricedError, match=r"ng: launchTemplate.id names no aws:ec2/launchTemplate:LaunchTemplate in the plan"):
        price_plan({"stack": "t", "resources": [template, group]}, TABLE)


def test_autoscaling_node_pool_is_a_range_and_ha_adds_the_control_plane() -> None:
    pool = {"size": "s-4vcpu-8gb", "autoScale": True, "minNodes": 3, "maxNodes": 10}
    assert _money(_one("digitalocean:index/kubernetesCluster:KubernetesCluster", {"ha": True, "nodePool": pool})) == (184.0, 520.0)
    assert _money(_one("digitalocean:index/kubernetesCluster:KubernetesCluster", {"ha": False, "nodePool": pool})) == (144.0, 480.0)
    fixed = {"size": "s-4vcpu-8gb", "nodeCount": 2}
    assert _money(_one("digitalocean:index/kubernetesCluster:KubernetesCluster", {"nodePool": fixed})) == (96.0, 96.0)


def test_eks_node_group_counts_min_to_max_at_hours_per_month() -> None:
    plan = _plan("aws-staging")
    group = next(r for r in price_plan(plan, TABLE).resources if r.name == "meteor-cluster-nodes-0")
    nodes = next(c for c in group.charges if c.what == "on-demand nodes")
    assert (round(nodes.low, 2), round(nodes.high, 2)) == (70.08, 140.16)  # t3.large 0.096/h x 730 h, 1..2 nodes


def test_database_nodes_multiply_and_backups_are_a_share_of_the_droplet() -> None:
    assert _money(_one("digitalocean:index/databaseCluster:DatabaseCluster", {"size": "db-s-2vcpu-4gb", "nodeCount": 3})) == (180.0, 180.0)
    assert _money(_one("digitalocean:index/droplet:Droplet", {"size": "s-2vcpu-4gb", "backups": True})) == (28.8, 28.8)
    assert _money(_one("digitalocean:index/droplet:Droplet", {"size": "s-2vcpu-4gb", "backups": False})) == (24.0, 24.0)


def test_sizes_are_priced_per_gib() -> None:
    assert _money(_one("digitalocean:index/volume:Volume", {"size": 20})) == (2.0, 2.0)
    assert _money(_one("aws:ebs/volume:Volume", {"size": 50, "type": "gp3"})) == (4.0, 4.0)
    instance = _one("aws:ec2/instance:Instance", {"instanceType": "t3.medium", "rootBlockDevice": {"volumeSize": 30, "volumeType": "gp3"}})
    assert _money(instance) == (37.44, 37.44)


def test_health_check_options_each_add_a_feature() -> None:
    basic = {"type": "HTTP", "requestInterval": 30, "measureLatency": False}
    assert _money(_one("aws:route53/healthCheck:HealthCheck", basic)) == (0.75, 0.75)
    assert _money(_one("aws:route53/healthCheck:HealthCheck", {**basic, "type": "HTTPS", "measureLatency": True})) == (4.75, 4.75)
    assert _money(_one("aws:route53/healthCheck:HealthCheck", {**basic, "requestInterval": 10})) == (2.75, 2.75)


def test_spaces_subscription_counts_once_per_stack() -> None:
    bucket = {"urn": "u", "type": "digitalocean:index/spacesBucket:SpacesBucket", "inputs": {}}
    cost = price_plan({"stack": "t", "resources": [{**bucket, "name": "a"}, {**bucket, "name": "b"}]}, TABLE)
    assert _money(cost) == (5.0, 5.0)


def test_cost_text_shows_the_date_ranges_and_usage() -> None:
    text = cost_text(price_plan(_plan("production"), TABLE))
    assert "at list prices of 2026-11-30 (the date prices.yaml was compiled; its oldest price used was read " in text
    assert f"402.00{DASH}738.00  total per month" in text
    assert f"144.00{DASH}480.00 worker nodes (priced as droplets) [s-4vcpu-8gb {TIMES}3{DASH}10] (unverified price)" in text
    assert "usage-based, not in the total:" in text
    assert "ContainerRegistry: storage beyond the tier's included amount (professional 100 GiB), 0.02 USD/GiB-month" in text


def _raw() -> dict[str, Any]:
    return yaml.safe_load(PRICES.read_text(encoding="utf-8"))


def _invalid(edit: Any) -> None:
    raw = _raw()
    edit(raw)
    with pytest.raises(pydantic.ValidationError):
        PriceTable.model_validate(raw)


def test_table_shape_is_enforced() -> None:
    PriceTable.model_validate(_raw())
    uptime = "digitalocean:index/uptimeCheck:UptimeCheck"
    _invalid(lambda raw: raw["types"][uptime]["charges"][0].update(unverified=True))  # no why
    _invalid(lambda raw: raw["types"][uptime]["charges"][0].update(hourly=0.001))  # two amounts
    _invalid(lambda raw: raw["types"][uptime]["charges"][0].pop("source"))
    _invalid(lambda raw: raw["types"][uptime]["charges"][0].pop("read"))
    _invalid(lambda raw: raw["types"]["digitalocean:index/firewall:Firewall"].pop("source"))  # free without source
    _invalid(lambda raw: raw["types"]["digitalocean:index/volume:Volume"]["charges"][0].pop("size"))  # perGiB, no size
    _invalid(lambda raw: raw["types"]["digitalocean:index/droplet:Droplet"]["variants"]["daily"]["charges"][1].pop("factorSource"))
    _invalid(lambda raw: raw["types"][uptime].update(free=True))  # free and charged
    _invalid(lambda raw: raw.update(currency="EUR"))
    _invalid(lambda raw: raw["types"][uptime]["charges"][0].update(typo=1))


def test_cli_cost_prints_after_the_plan_and_not_without_the_flag(capsys: pytest.CaptureFixture[str]) -> None:
    from offline_plan.__main__ import main

    def plan(*flags: str) -> str:
        assert main(["droplets", "--root", str(ROOT), *flags]) == 0
        return capsys.readouterr().out

    with_cost, without = plan("--cost"), plan()
    assert with_cost.startswith(without)
    assert "Cost of droplets, USD/month at list prices of 2026-11-30 (the date prices.yaml was compiled" in with_cost
    assert "37.80  total per month" in with_cost
    assert "Cost of" not in without
