"""What a change costs: the delta arithmetic, the flag from `costReview`, and the comment and report that show it."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_config
from components.config.review import cost_review
from offline_plan.cost_delta import CostChange, ResourceDelta, cost_change, delta_text, movers, price_change, summary_cells
from offline_plan.pricing import ChargeCost, ResourceCost, StackCost, load_prices, money
from offline_plan.render import StackReport, comment
from tests.harness import DIGEST, ROOT

TABLE = load_prices()
DAY = datetime.date(2026, 11, 30)


def _stack(*resources: tuple[str, float, float]) -> StackCost:
    """A priced stack: (name, low, high) per resource, all of one type."""
    priced = [
        ResourceCost("digitalocean:index/droplet:Droplet", name, f"urn:{name}", [ChargeCost("droplet", low, high, "", False)], [])
        for name, low, high in resources
    ]
    return StackCost("s", DAY, "USD", priced)


def _by_name(change: CostChange) -> dict[str, ResourceDelta]:
    return {d.name: d for d in change.moved}


def test_the_delta_is_after_minus_before_at_each_end_of_the_range() -> None:
    change = cost_change(_stack(("web", 24, 24), ("nodes", 96, 192)), _stack(("web", 48, 48), ("nodes", 96, 384)))
    assert change.before_total == (120, 216)
    assert change.after_total == (144, 432)
    assert change.delta == (24, 216)
    assert money(change.delta or (0, 0), signed=True) == "+24.00\N{EN DASH}+216.00"


def test_added_removed_and_changed_resources_move_it_and_unchanged_ones_do_not() -> None:
    change = cost_change(
        _stack(("kept", 5, 5), ("gone", 12, 12), ("resized", 24, 24)), _stack(("kept", 5, 5), ("new", 1, 1), ("resized", 48, 48))
    )
    moved = _by_name(change)
    assert set(moved) == {"gone", "new", "resized"}
    assert (moved["gone"].action, moved["gone"].delta) == ("removed", (-12, -12))
    assert (moved["new"].action, moved["new"].delta) == ("added", (1, 1))
    assert (moved["resized"].action, moved["resized"].before, moved["resized"].after) == ("changed", (24, 24), (48, 48))
    assert [d.name for d in change.moved] == ["resized", "gone", "new"]  # biggest move first
    assert change.delta == (13, 13)


def test_resources_are_matched_by_urn_not_by_name() -> None:
    before = _stack(("web", 24, 24))
    after = StackCost("s", DAY, "USD", [ResourceCost(r.type, r.name, "urn:other-parent$web", r.charges, []) for r in before.resources])
    assert {d.action for d in cost_change(before, after).moved} == {"added", "removed"}


def test_a_new_stack_adds_everything() -> None:
    change = cost_change(None, _stack(("web", 24, 24)))
    assert change.before_total == (0, 0)
    assert change.delta == (24, 24)
    assert _by_name(change)["web"].action == "added"


def test_an_unpriced_base_has_no_delta_and_says_why() -> None:
    change = cost_change(None, _stack(("web", 24, 24)), threshold=0, unpriced_base="aws:x/y:Z: not in prices.yaml")
    assert change.delta is None
    assert not change.flagged
    assert summary_cells(change) == ("not priced", "24.00", "n/a")
    assert "the base plan is not priced (aws:x/y:Z: not in prices.yaml)" in delta_text(change)


@pytest.mark.parametrize(
    ("before", "after", "threshold", "flagged"),
    [
        ((100, 100), (151, 151), 50, True),
        ((100, 100), (150, 150), 50, False),  # exactly the threshold is not more than it
        ((100, 200), (100, 260), 50, True),  # the upper end (autoscaling) moves past it
        ((100, 200), (160, 200), 50, True),  # the lower end does
        ((300, 300), (100, 100), 0, False),  # a saving is never flagged
        ((100, 100), (500, 500), None, False),  # no threshold set
    ],
)
def test_the_flag_is_an_increase_above_the_threshold_at_either_end(
    before: tuple[float, float], after: tuple[float, float], threshold: float | None, flagged: bool
) -> None:
    change = cost_change(_stack(("r", *before)), _stack(("r", *after)), threshold=threshold)
    assert change.flagged is flagged
    assert ("**" in summary_cells(change)[2]) is flagged


def test_movers_beyond_the_limit_are_summed_in_one_row() -> None:
    after = _stack(*((f"r{i}", float(i), float(i)) for i in range(1, 11)))
    rows = movers(cost_change(_stack(), after), limit=3)
    assert [r[1] for r in rows[:3]] == ["Droplet r10", "Droplet r9", "Droplet r8"]
    assert rows[3] == ("+28.00", "7 more resource(s)", "")  # 1 + ... + 7


def test_a_change_that_does_not_move_the_price_reads_unchanged() -> None:
    change = cost_change(_stack(("web", 24, 24)), _stack(("web", 24, 24)), threshold=0)
    assert change.unchanged and not change.flagged and change.moved == []
    assert delta_text(change) == "s: cost: 24.00 USD/month, unchanged\n"


def _production(change: Any = None) -> dict[str, Any]:
    plan = json.loads((ROOT / "plans" / "production.json").read_text(encoding="utf-8"))
    if change is not None:
        cluster = next(r for r in plan["resources"] if r["type"] == "digitalocean:index/databaseCluster:DatabaseCluster")
        change(cluster["inputs"])
    return plan


def test_production_database_one_size_up_costs_three_nodes_of_the_difference() -> None:
    bigger = _production(lambda inputs: inputs.update(size="db-s-4vcpu-8gb"))
    after, change = price_change(bigger, _production(), TABLE, 100)
    assert change is not None
    (moved,) = change.moved
    assert (moved.name, moved.before, moved.after) == ("meteor-mongo-cluster", (180, 180), (360, 360))
    assert change.delta == (180, 180)
    assert change.flagged
    assert after.high - after.low == 336  # the DOKS node range (3..10 x 48) is unchanged


def test_the_comment_shows_before_after_delta_the_movers_and_the_table_date() -> None:
    bigger = _production(lambda inputs: inputs.update(size="db-s-4vcpu-8gb"))
    estimate, change = price_change(bigger, _production(), TABLE, 100)
    report = StackReport(stack="production", changes=None, estimate=estimate, cost=change)
    text = comment([report])
    assert "list prices of 2026-11-30 from `offline_plan/prices.yaml`" in text
    assert "| `production` | 402.00\N{EN DASH}738.00 | 582.00\N{EN DASH}918.00 | **+180.00** :warning: |" in text
    assert "> **Cost:** `production`: this change adds +180.00 USD/month, more than this stack's" in text
    assert "| +180.00 | DatabaseCluster meteor-mongo-cluster | changed: 180.00 \N{RIGHTWARDS ARROW} 360.00 |" in text


def test_a_stack_without_baseline_shows_its_estimate_only() -> None:
    estimate, change = price_change(_production(), None, TABLE, 100)
    assert change is None
    text = comment([StackReport(stack="production", changes=None, estimate=estimate)])
    assert "| `production` (no baseline) | n/a | 402.00\N{EN DASH}738.00 | n/a |" in text


def test_the_comment_says_which_resources_sit_in_regions_the_table_does_not_price() -> None:
    estimate = _stack(("web", 24, 24))
    estimate.other_regions["us-west-2"] = 3
    text = comment([StackReport(stack="s", changes=None, estimate=estimate)])
    assert "_`s`: resources in regions the table does not price, at its prices: us-west-2 (3)._" in text


def test_without_cost_the_comment_has_no_money() -> None:
    assert "Monthly estimate" not in comment([StackReport(stack="production", changes=None)])


# --- costReview in the stack config

BASE: dict[str, Any] = {
    "environment": "staging",
    "target": "docker",
    "docker": {"hosts": "local", "acmeEmail": "ops@example.com"},
    "apps": [{"name": "todos", "image": f"ghcr.io/acme/todos@{DIGEST}", "domain": "todos.example.com"}],
}


def _errors(raw: dict[str, Any]) -> list[str]:
    try:
        parse_config(raw, set())
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines()[1:]]
    return []


@pytest.mark.parametrize(
    ("section", "key"),
    [
        ({"flagIncreaseAbove": -1}, "meteor-platform:costReview.flagIncreaseAbove"),
        ({"flagIncreaseAbove": "lots"}, "meteor-platform:costReview.flagIncreaseAbove"),
        ({"flagAbove": 10}, "meteor-platform:costReview.flagAbove"),
    ],
)
def test_a_bad_cost_review_names_the_key(section: dict[str, Any], key: str) -> None:
    (line,) = _errors({**BASE, "costReview": section})
    assert line.startswith(f"{key}:")


def test_the_threshold_is_read_from_the_stack_values_and_absent_means_never_flagged() -> None:
    assert cost_review({"meteor-platform:costReview": '{"flagIncreaseAbove": 25}'}).flag_increase_above == 25
    assert cost_review({}).flag_increase_above is None
    assert _errors({**BASE, "costReview": {"flagIncreaseAbove": 25}}) == []


def test_every_shipped_stack_sets_a_threshold() -> None:
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(stack_file.read_text(encoding="utf-8"))["config"]
        assert config["meteor-platform:costReview"]["flagIncreaseAbove"] > 0, stack_file.name


# --- the command line, on a copy of the project whose production database is one size up


@pytest.fixture(scope="module")
def bigger_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from offline_plan.readme_sample import PROJECT_FILES

    root = tmp_path_factory.mktemp("project")
    for name in PROJECT_FILES:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, root / name, ignore=shutil.ignore_patterns("node_modules", "local", "__pycache__"))
        else:
            shutil.copy2(source, root / name)
    document = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text(encoding="utf-8"))
    document["config"]["meteor-platform:mongo"]["size"] = "db-s-4vcpu-8gb"
    (root / "Pulumi.production.yaml").write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return root


def _cli(root: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "offline_plan",
            "production",
            "--root",
            str(root),
            "--diff",
            str(ROOT / "plans" / "production.json"),
            *flags,
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_report_prints_the_estimate_then_the_delta(bigger_database: Path) -> None:
    proc = _cli(bigger_database, "--cost")
    assert proc.returncode == 3, proc.stderr
    assert "Cost of production, USD/month at list prices of 2026-11-30" in proc.stdout
    assert "production: cost: 402.00\N{EN DASH}738.00 \N{RIGHTWARDS ARROW} 582.00\N{EN DASH}918.00 USD/month (+180.00)" in proc.stdout
    assert "production: !! adds +180.00 USD/month, more than this stack's" in proc.stdout
    assert "+180.00  DatabaseCluster meteor-mongo-cluster (changed: 180.00 \N{RIGHTWARDS ARROW} 360.00)" in proc.stdout


def test_cli_comment_carries_the_money(bigger_database: Path) -> None:
    proc = _cli(bigger_database, "--cost", "--markdown")
    assert proc.returncode == 3, proc.stderr
    assert "| `production` | 402.00\N{EN DASH}738.00 | 582.00\N{EN DASH}918.00 | **+180.00** :warning: |" in proc.stdout
