"""What a change costs: the delta arithmetic, the flag from `costReview`, and the comment and report that show it."""

from __future__ import annotations

import datetime
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.config import ConfigError, parse_config
from components.config.review import flag_threshold
from offline_plan.__main__ import main
from offline_plan.cost_delta import (
    CostChange,
    ResourceDelta,
    applied_threshold,
    base_price_table,
    cost_change,
    delta_text,
    delta_words,
    flag_line,
    movers,
    price_change,
    summary_cells,
)
from offline_plan.pricing import ChargeCost, ResourceCost, StackCost, load_prices, money
from offline_plan.readme_sample import scratch_project
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
    assert [r[1].name for r in rows[:3] if r[1]] == ["r10", "r9", "r8"]
    assert rows[3] == ("+28.00", None, "7 more resource(s)")  # 1 + ... + 7


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
    assert "list prices from `offline_plan/prices.yaml` compiled 2026-11-30, the oldest price read " in text
    assert "| `production` | 402.00\N{EN DASH}738.00 | 582.00\N{EN DASH}918.00 | **+180.00** :warning: |" in text
    assert "> **Cost:** `production`: this change raises the monthly estimate by +180.00 USD, more than this stack's" in text
    assert "| +180.00 | DatabaseCluster `meteor-mongo-cluster` | changed: 180.00 \N{RIGHTWARDS ARROW} 360.00 (db-s-2vcpu-4gb" in text


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
        ({"flagIncreaseAbove": True}, "meteor-platform:costReview.flagIncreaseAbove"),
        ({"flagAbove": 10}, "meteor-platform:costReview.flagAbove"),
    ],
)
def test_a_bad_cost_review_names_the_key(section: dict[str, Any], key: str) -> None:
    (line,) = _errors({**BASE, "costReview": section})
    assert line.startswith(f"{key}:")


def test_the_threshold_is_read_from_the_stack_values_and_absent_means_never_flagged() -> None:
    assert flag_threshold({"flagIncreaseAbove": 25}) == 25
    assert flag_threshold(None) is None
    assert flag_threshold({"flagIncreaseAbove": True}) is None, "an invalid section (of an older base) counts as absent"
    assert _errors({**BASE, "costReview": {"flagIncreaseAbove": 25}}) == []


def test_every_shipped_stack_sets_a_threshold() -> None:
    for stack_file in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(stack_file.read_text(encoding="utf-8"))["config"]
        assert config["meteor-platform:costReview"]["flagIncreaseAbove"] > 0, stack_file.name


# --- the command line, on a copy of the project whose production database is one size up


def _bigger_database_and_threshold(threshold: float) -> Any:
    def change(config: dict[str, Any]) -> None:
        config["meteor-platform:mongo"] = {**config["meteor-platform:mongo"], "size": "db-s-4vcpu-8gb"}
        config["meteor-platform:costReview"] = {"flagIncreaseAbove": threshold}

    return change


@pytest.fixture(scope="module")
def bigger_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Production one database size up (+180.00), its own threshold 200 (the shipped file says 100)."""
    root = tmp_path_factory.mktemp("project")
    scratch_project(ROOT, root, {"production": _bigger_database_and_threshold(200)})
    return root


def _cli(root: Path, capsys: pytest.CaptureFixture[str], *flags: str) -> tuple[int, str, str]:
    """The command's status, standard output and error for production against its committed plan."""
    status = main(["production", "--root", str(root), "--diff", str(ROOT / "plans" / "production.json"), *flags])
    out = capsys.readouterr()
    return status, out.out, out.err


def test_cli_report_prints_the_estimate_then_the_delta_judged_by_the_projects_own_threshold(
    bigger_database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = _cli(bigger_database, capsys, "--cost")
    assert status == 3, err
    assert "Cost of production, USD/month at list prices of 2026-11-30" in out
    assert "production: cost: 402.00\N{EN DASH}738.00 \N{RIGHTWARDS ARROW} 582.00\N{EN DASH}918.00 USD/month (+180.00)" in out
    assert "+180.00  DatabaseCluster meteor-mongo-cluster (changed: 180.00 \N{RIGHTWARDS ARROW} 360.00" in out
    assert "!!" not in out.split("production: cost:", 1)[1], "200 (the copy's threshold) is not exceeded"


def test_cli_comment_carries_the_money(bigger_database: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = _cli(bigger_database, capsys, "--cost", "--markdown")
    assert status == 3, err
    assert "| `production` | 402.00\N{EN DASH}738.00 | 582.00\N{EN DASH}918.00 | +180.00 |" in out


def test_quiet_without_a_baseline_prints_no_estimate(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["droplets", "--cost", "--quiet"]) == 0
    assert capsys.readouterr().out == ""


def test_a_plan_the_table_cannot_price_keeps_the_rest_of_the_report(
    bigger_database: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """An unpriced type must not take the protected-data and policy report down with it (nor change the status)."""
    import offline_plan.pricing as pricing

    types = {k: v for k, v in TABLE.types.items() if k != "digitalocean:index/databaseCluster:DatabaseCluster"}
    monkeypatch.setattr(pricing, "load_prices", lambda *_: TABLE.model_copy(update={"types": types}))
    status = main(["production", "--root", str(bigger_database), "--diff", str(ROOT / "plans" / "production.json"), "--cost", "--markdown"])
    out = capsys.readouterr().out
    assert status == 3
    assert "**0 to create, 1 to update, 0 to replace, 0 to delete**" in out
    assert "> **Cost:** `production` is not priced: digitalocean:index/databaseCluster:DatabaseCluster: not in prices.yaml" in out
    assert "| `production` | | not priced | n/a |" in out


def _git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=root,
        check=True,
        capture_output=True,
        env={"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t", "HOME": str(root)},
    )


def test_with_base_the_lower_threshold_applies_and_a_new_stack_adds_everything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pull request that raises its own threshold along with the increase is still flagged by the base's."""
    scratch_project(ROOT, tmp_path, {})
    (tmp_path / "offline_plan").mkdir()
    shutil.copy2(ROOT / "offline_plan" / "prices.yaml", tmp_path / "offline_plan" / "prices.yaml")
    _git(tmp_path, "init", "-q")
    _git(tmp_path, "add", "-A")
    _git(tmp_path, "commit", "-qm", "base")
    stack_file = tmp_path / "Pulumi.production.yaml"
    document = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
    _bigger_database_and_threshold(500)(document["config"])
    stack_file.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    shutil.copy2(tmp_path / "Pulumi.droplets.yaml", tmp_path / "Pulumi.droplets2.yaml")

    status = main(["production", "droplets2", "--root", str(tmp_path), "--base", "HEAD", "--cost", "--markdown"])
    out = capsys.readouterr().out
    assert status == 3
    assert "this change raises it to 500.00; the base's 100.00 applies" in out
    assert "| `production` | 402.00\N{EN DASH}738.00 | 582.00\N{EN DASH}918.00 | **+180.00** :warning: |" in out
    assert "| `droplets2` | 0.00 | 37.80 | **+37.80** :warning: |" in out
    assert "This change edits `offline_plan/prices.yaml`" not in out


def test_a_change_to_the_price_table_is_said_and_the_base_table_also_judges() -> None:
    current = (ROOT / "offline_plan" / "prices.yaml").read_bytes()
    assert base_price_table(current, current, "origin/main") == (None, "")
    assert base_price_table(None, current, "origin/main")[1].startswith("origin/main has no `offline_plan/prices.yaml`")
    assert "cannot be read" in base_price_table(b"asOf: [", current, "origin/main")[1]
    cheaper = current.replace(b"monthly: 120.00", b"monthly: 60.00")
    assert cheaper != current
    table, note = base_price_table(current, cheaper, "origin/main")
    assert table is not None and "each delta is also taken with the base branch's table" in note


def test_a_change_cannot_lower_a_price_to_hide_its_own_increase() -> None:
    """The change halves the bigger database's price in prices.yaml: priced with the base's table it still adds 180."""
    cheaper = TABLE.model_copy(deep=True)
    sizes = cheaper.types["digitalocean:index/databaseCluster:DatabaseCluster"].charges[0].prices
    sizes["db-s-4vcpu-8gb"] = sizes["db-s-4vcpu-8gb"].model_copy(update={"monthly": 60.0})
    bigger = _production(lambda inputs: inputs.update(size="db-s-4vcpu-8gb"))
    _, change = price_change(bigger, _production(), cheaper, 100, base_table=TABLE)
    assert change is not None
    assert change.delta == (0, 0)
    assert change.base_prices_delta == (180, 180)
    assert change.flagged
    assert "(+180.00 with the base branch's prices.yaml)" in flag_line(change)


def test_a_price_table_that_cannot_be_read_keeps_the_rest_of_the_report(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import offline_plan.pricing as pricing

    def broken(*_: object) -> None:
        raise yaml.YAMLError("mapping values are not allowed here")

    monkeypatch.setattr(pricing, "load_prices", broken)
    assert main(["droplets", "--diff", str(ROOT / "plans" / "droplets.json"), "--cost", "--markdown"]) == 0
    out = capsys.readouterr().out
    assert "No infrastructure changes." in out
    assert "> **Cost:** `droplets` is not priced: offline_plan/prices.yaml cannot be read: mapping values are not allowed here" in out


# --- markdown safety and wording


def test_resource_names_are_code_spans_in_the_movers_table() -> None:
    after = _stack(("a|b *x* <img src=x>", 5, 5))
    text = comment([StackReport(stack="s", changes=None, estimate=after, cost=cost_change(_stack(), after))])
    assert "| +5.00 | Droplet `a\\|b *x* <img src=x>` |" in text


def test_a_range_whose_ends_move_apart_says_each_end() -> None:
    change = cost_change(_stack(("r", 100, 400)), _stack(("r", 200, 300)), threshold=50)
    assert delta_words(change.delta or (0, 0)) == "+100.00 low end, -100.00 high end"
    assert change.flagged
    assert "raises the monthly estimate by +100.00 low end, -100.00 high end USD" in delta_text(change)


def test_sub_cent_moves_are_listed_when_they_add_up() -> None:
    change = cost_change(_stack(("a", 1, 1), ("b", 1, 1)), _stack(("a", 1.003, 1.003), ("b", 1.003, 1.003)), threshold=0)
    assert change.flagged
    assert {d.name for d in change.moved} == {"a", "b"}


def test_a_negative_zero_never_shows() -> None:
    assert money((-0.004, -0.004), signed=True) == "+0.00"
    assert money((-0.004, -0.004)) == "0.00"


def test_usage_based_prices_a_change_adds_are_a_move_even_at_zero() -> None:
    from offline_plan.pricing import UsageItem

    bucket = ResourceCost(
        "aws:s3/bucket:Bucket", "b", "urn:b", [], [UsageItem(what="storage", unit="USD/GB-month", price=0.0245, source="s", read="r")]
    )
    change = cost_change(_stack(), StackCost("s", DAY, "USD", [bucket]))
    assert not change.unchanged
    (moved,) = change.moved
    assert moved.usage_added == ("storage",)
    assert "usage-based, not in the total: storage" in moved.how


def test_the_how_column_says_what_selects_the_price() -> None:
    bigger = _production(lambda inputs: inputs.update(size="db-s-4vcpu-8gb"))
    _, change = price_change(bigger, _production(), TABLE, None)
    assert change is not None
    (moved,) = change.moved
    assert moved.how == (
        "changed: 180.00 \N{RIGHTWARDS ARROW} 360.00 (db-s-2vcpu-4gb \N{MULTIPLICATION SIGN}3 \N{RIGHTWARDS ARROW} "
        "db-s-4vcpu-8gb \N{MULTIPLICATION SIGN}3), unverified price"
    )


def test_an_unpriced_base_is_not_a_new_stack() -> None:
    base = _production()
    base["resources"].append({"urn": "urn:x", "type": "aws:x/gone:Gone", "name": "gone", "inputs": {}})
    _, change = price_change(_production(), base, TABLE, 0)
    assert change is not None
    assert change.before is None and change.delta is None
    assert "aws:x/gone:Gone" in change.unpriced_base


@pytest.mark.parametrize(
    ("head", "base", "applied", "note"),
    [
        (100, None, 100, ""),
        (50, 100, 50, ""),
        (500, 100, 100, "this change raises it to 500.00; the base's 100.00 applies"),
        (None, 100, 100, "this change removes it; the base's 100.00 applies"),
        (None, None, None, ""),
    ],
)
def test_the_lower_of_the_base_and_head_thresholds_applies(
    head: float | None, base: float | None, applied: float | None, note: str
) -> None:
    assert applied_threshold(head, base) == (applied, note)
