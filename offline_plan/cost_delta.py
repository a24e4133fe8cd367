"""What a change does to a stack's monthly estimate: before -> after, the delta, the resources that move it.

Both plans are priced with the same (current) price table, so the delta is what the change
does, never a price that moved. Resources are matched by URN. A change is flagged when it raises
either end of the estimate's range by more than the stack's `costReview.flagIncreaseAbove`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

import yaml
from pydantic import ValidationError

from offline_plan.pricing import PriceTable, ResourceCost, StackCost, UnpricedError, money, price_plan, short_type

Money = tuple[float, float]
"""A monthly amount as (low, high): equal unless autoscaling makes it a range."""

ZERO: Money = (0.0, 0.0)
ARROW = "\N{RIGHTWARDS ARROW}"


def _of(resource: ResourceCost | None) -> Money:
    return ZERO if resource is None else (resource.low, resource.high)


def _detail(resource: ResourceCost | None) -> str:
    """What selects the resource's price: `db-s-2vcpu-4gb x3`, the charges' details joined."""
    return "; ".join(c.detail for c in resource.charges if c.detail) if resource is not None else ""


def _usage(resource: ResourceCost | None) -> set[str]:
    return {item.what for item in resource.usage} if resource is not None else set()


@dataclass(frozen=True)
class ResourceDelta:
    """One resource whose monthly price, or whose usage-based prices, differ between the two plans."""

    type: str
    name: str
    action: Literal["added", "removed", "changed"]
    before: Money
    after: Money
    before_detail: str = ""
    after_detail: str = ""
    unverified: bool = False
    """A price on either side is marked unverified in prices.yaml."""
    usage_added: tuple[str, ...] = ()
    usage_removed: tuple[str, ...] = ()

    @property
    def delta(self) -> Money:
        return (self.after[0] - self.before[0], self.after[1] - self.before[1])

    @property
    def short_type(self) -> str:
        return short_type(self.type)

    @property
    def how(self) -> str:
        """`changed: 180.00 → 360.00 (db-s-2vcpu-4gb x3 → db-s-4vcpu-8gb x3)`, plus usage-based prices it adds or drops."""
        if self.action == "added":
            text = f"added: {money(self.after)}" + (f" ({self.after_detail})" if self.after_detail else "")
        elif self.action == "removed":
            text = f"removed: {money(self.before)}" + (f" ({self.before_detail})" if self.before_detail else "")
        else:
            text = f"changed: {money(self.before)} {ARROW} {money(self.after)}"
            if self.before_detail != self.after_detail:
                text += f" ({self.before_detail or '-'} {ARROW} {self.after_detail or '-'})"
        if self.unverified:
            text += ", unverified price"
        if self.usage_added:
            text += f"; usage-based, not in the total: {', '.join(self.usage_added)}"
        if self.usage_removed:
            text += f"; usage-based prices gone: {', '.join(self.usage_removed)}"
        return text


@dataclass(frozen=True)
class CostChange:
    """A stack's estimate before and after a change. `before` is None when the base could not be priced."""

    stack: str
    after: StackCost
    before: StackCost | None
    moved: list[ResourceDelta] = field(default_factory=list[ResourceDelta])
    threshold: float | None = None
    """The stack's `costReview.flagIncreaseAbove` (USD/month) that applies; None: never flagged."""
    unpriced_base: str = ""
    """Why the base plan has no estimate (a type the current table does not price)."""
    threshold_note: str = ""
    """Why the threshold applied is not the one this change sets (it raises or removes it)."""
    base_prices_delta: Money | None = None
    """The delta with the base branch's price table, when this change edits prices.yaml: a change
    cannot lower a price to hide its own increase."""

    @property
    def after_total(self) -> Money:
        return (self.after.low, self.after.high)

    @property
    def before_total(self) -> Money | None:
        return None if self.before is None else (self.before.low, self.before.high)

    @property
    def delta(self) -> Money | None:
        before = self.before_total
        return None if before is None else (self.after.low - before[0], self.after.high - before[1])

    @property
    def unchanged(self) -> bool:
        """Neither end of the estimate moves and no resource adds or drops a price (usage-based included)."""
        return self.delta is not None and is_zero(self.delta) and not self.moved

    @property
    def flagged(self) -> bool:
        """The change raises either end of the estimate by more than the stack's threshold, priced with
        this change's price table or with the base branch's."""
        deltas = [d for d in (self.delta, self.base_prices_delta) if d is not None]
        return self.threshold is not None and any(round(max(d), 2) > self.threshold for d in deltas)


def cost_change(
    before: StackCost | None,
    after: StackCost,
    *,
    threshold: float | None = None,
    unpriced_base: str = "",
    threshold_note: str = "",
) -> CostChange:
    """`before` None with `unpriced_base` empty: a new stack (nothing before, so everything is added)."""
    base = before if before is not None or unpriced_base else StackCost(after.stack, after.as_of, after.currency)
    old = {r.urn: r for r in base.resources} if base is not None else {}
    new = {r.urn: r for r in after.resources}
    moved: list[ResourceDelta] = []
    for urn in sorted(old.keys() | new.keys()) if base is not None else []:
        was, now = old.get(urn), new.get(urn)
        shown = new[urn] if urn in new else old[urn]
        action: Literal["added", "removed", "changed"] = "added" if was is None else "removed" if now is None else "changed"
        unverified = any(c.unverified for r in (was, now) if r is not None for c in r.charges)
        usage_added, usage_removed = sorted(_usage(now) - _usage(was)), sorted(_usage(was) - _usage(now))
        delta = ResourceDelta(
            shown.type,
            shown.name,
            action,
            _of(was),
            _of(now),
            _detail(was),
            _detail(now),
            unverified,
            tuple(usage_added),
            tuple(usage_removed),
        )
        if any(abs(d) > 1e-9 for d in delta.delta) or usage_added or usage_removed:
            moved.append(delta)
    moved.sort(key=lambda d: (-max(abs(d.delta[0]), abs(d.delta[1])), d.type, d.name))
    return CostChange(after.stack, after, base, moved, threshold, unpriced_base, threshold_note)


def price_change(
    plan: dict[str, Any],
    earlier: dict[str, Any] | None,
    table: PriceTable,
    threshold: float | None,
    *,
    threshold_note: str = "",
    base_table: PriceTable | None = None,
) -> tuple[StackCost, CostChange | None]:
    """The plan's estimate and, given the baseline plan, what the change does to it.

    Raises UnpricedError when the plan has what the table does not price; a baseline the table
    cannot price (a type since removed from the table) gives a change without a `before`.
    `base_table`: the base branch's price table when this change edits it; the delta is also
    taken with it (either delta can raise the flag).
    """
    after = price_plan(plan, table)
    if earlier is None:
        return after, None
    try:
        before, unpriced = price_plan(earlier, table), ""
    except UnpricedError as err:
        before, unpriced = None, str(err)
    change = cost_change(before, after, threshold=threshold, unpriced_base=unpriced, threshold_note=threshold_note)
    if base_table is None:
        return after, change
    try:
        then, now = price_plan(earlier, base_table), price_plan(plan, base_table)
    except UnpricedError:
        return after, change  # the base's table cannot price the change's new types: its own table decides
    return after, replace(change, base_prices_delta=(now.low - then.low, now.high - then.high))


def base_price_table(base: bytes | None, current: bytes, ref: str) -> tuple[PriceTable | None, str]:
    """The base branch's price table when this change edits prices.yaml (else None), and the comment's note on it."""
    if base == current:
        return None, ""
    if base is None:
        return None, f"{ref} has no `offline_plan/prices.yaml`: both plans are priced with this change's table."
    try:
        table = PriceTable.model_validate(yaml.safe_load(base))
    except (yaml.YAMLError, ValidationError):
        return (
            None,
            f"This change edits `offline_plan/prices.yaml`; {ref}'s cannot be read: both plans are priced with this change's table.",
        )
    return (
        table,
        "This change edits `offline_plan/prices.yaml`: each delta is also taken with the base branch's table, and either raises the flag.",
    )


def applied_threshold(head: float | None, base: float | None) -> tuple[float | None, str]:
    """The threshold that judges a change, and a note when it is not the head's.

    The lower of the base's and the change's own: a pull request cannot switch off its own flag
    by raising or removing `costReview.flagIncreaseAbove` along with the increase.
    """
    if base is None or (head is not None and head <= base):
        return head, ""
    was = f"{base:,.2f}"
    now = "removes it" if head is None else f"raises it to {head:,.2f}"
    return base, f"this change {now}; the base's {was} applies"


def _rounded(amount: Money) -> Money:
    return (round(amount[0], 2) + 0.0, round(amount[1], 2) + 0.0)


def is_zero(amount: Money) -> bool:
    """Both ends round to 0.00."""
    return _rounded(amount) == ZERO


MOVERS_SHOWN = 8
"""At most this many resources are listed per stack, the biggest movers first."""


def delta_words(delta: Money) -> str:
    """`+30.00`, or each end of a range on its own when they differ: `+10.00 low end, +60.00 high end`."""
    low, high = _rounded(delta)
    return f"{low:+,.2f}" if low == high else f"{low:+,.2f} low end, {high:+,.2f} high end"


def summary_cells(change: CostChange) -> tuple[str, str, str]:
    """(before, after, delta) for the comment's cost table; the delta bold and marked when flagged."""
    after = money(change.after_total)
    before, delta = change.before_total, change.delta
    if before is None or delta is None:
        return ("not priced", after, "n/a")
    shown = "0.00" if is_zero(delta) else delta_words(delta)
    if change.flagged:
        shown = f"**{shown}** :warning:"
    return (money(before), after, shown)


def flag_line(change: CostChange) -> str:
    """Why the change is flagged (empty when it is not)."""
    if not change.flagged or change.delta is None or change.threshold is None:
        return ""
    note = f"; {change.threshold_note}" if change.threshold_note else ""
    base = change.base_prices_delta
    with_base = (
        f" ({delta_words(base)} with the base branch's prices.yaml)"
        if base is not None and _rounded(base) != _rounded(change.delta)
        else ""
    )
    return (
        f"raises the monthly estimate by {delta_words(change.delta)} USD{with_base}, more than this stack's "
        f"`meteor-platform:costReview.flagIncreaseAbove` ({change.threshold:,.2f}{note})"
    )


def movers(change: CostChange, *, limit: int = MOVERS_SHOWN) -> list[tuple[str, ResourceDelta | None, str]]:
    """(delta, resource, how) per resource that moves the estimate, biggest first; the rest summed in one row (resource None)."""
    rows: list[tuple[str, ResourceDelta | None, str]] = [(money(d.delta, signed=True), d, d.how) for d in change.moved[:limit]]
    if len(change.moved) > limit:
        rest = change.moved[limit:]
        total = (sum(d.delta[0] for d in rest), sum(d.delta[1] for d in rest))
        rows.append((money(total, signed=True), None, f"{len(rest)} more resource(s)"))
    return rows


def delta_text(change: CostChange) -> str:
    """The terminal report's cost lines of one stack against its baseline."""
    stack = change.stack
    if change.before_total is None:
        return f"{stack}: cost: {money(change.after_total)} USD/month; the base plan is not priced ({change.unpriced_base})\n"
    before, after = money(change.before_total), money(change.after_total)
    if change.unchanged:
        return f"{stack}: cost: {after} USD/month, unchanged\n"
    lines = [f"{stack}: cost: {before} {ARROW} {after} USD/month ({delta_words(change.delta or ZERO)})"]
    if change.flagged:
        lines.append(f"{stack}: !! {flag_line(change)}")
    elif change.threshold_note:
        lines.append(f"{stack}: costReview.flagIncreaseAbove: {change.threshold_note}")
    for amount, resource, how in movers(change):
        lines.append(f"   {amount:>14}  " + (f"{resource.short_type} {resource.name} ({how})" if resource else how))
    return "\n".join(lines) + "\n"
