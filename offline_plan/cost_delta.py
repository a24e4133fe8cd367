"""What a change does to a stack's monthly estimate: before -> after, the delta, the resources that move it.

Both plans are priced with the same (current) price table, so the delta is what the change
does, never a price that moved. Resources are matched by URN. A change is flagged when it raises
either end of the estimate's range by more than the stack's `costReview.flagIncreaseAbove`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from offline_plan.pricing import PriceTable, ResourceCost, StackCost, UnpricedError, money, price_plan

Money = tuple[float, float]
"""A monthly amount as (low, high): equal unless autoscaling makes it a range."""

ZERO: Money = (0.0, 0.0)
ARROW = "\N{RIGHTWARDS ARROW}"


def _of(resource: ResourceCost | None) -> Money:
    return ZERO if resource is None else (resource.low, resource.high)


@dataclass(frozen=True)
class ResourceDelta:
    """One resource whose monthly price differs between the two plans."""

    type: str
    name: str
    action: Literal["added", "removed", "changed"]
    before: Money
    after: Money

    @property
    def delta(self) -> Money:
        return (self.after[0] - self.before[0], self.after[1] - self.before[1])

    @property
    def short_type(self) -> str:
        return self.type.rsplit(":", 1)[-1]


@dataclass(frozen=True)
class CostChange:
    """A stack's estimate before and after a change. `before` is None when the base could not be priced."""

    stack: str
    after: StackCost
    before: StackCost | None
    moved: list[ResourceDelta] = field(default_factory=list[ResourceDelta])
    threshold: float | None = None
    """`costReview.flagIncreaseAbove` of the stack (USD/month); None: never flagged."""
    unpriced_base: str = ""
    """Why the base plan has no estimate (a type the current table does not price)."""

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
        return self.delta is not None and all(round(d, 2) == 0 for d in self.delta)

    @property
    def flagged(self) -> bool:
        """The change raises either end of the estimate by more than the stack's threshold."""
        delta = self.delta
        return self.threshold is not None and delta is not None and round(max(delta), 2) > self.threshold


def cost_change(before: StackCost | None, after: StackCost, *, threshold: float | None = None, unpriced_base: str = "") -> CostChange:
    """`before` None with `unpriced_base` empty: a new stack (nothing before, so everything is added)."""
    base = before if before is not None or unpriced_base else StackCost(after.stack, after.as_of, after.currency)
    old = {r.urn: r for r in base.resources} if base is not None else {}
    new = {r.urn: r for r in after.resources}
    moved: list[ResourceDelta] = []
    for urn in sorted(old.keys() | new.keys()) if base is not None else []:
        was, now = old.get(urn), new.get(urn)
        shown = new[urn] if urn in new else old[urn]
        action: Literal["added", "removed", "changed"] = "added" if was is None else "removed" if now is None else "changed"
        moved_by = ResourceDelta(shown.type, shown.name, action, _of(was), _of(now))
        if _rounded(moved_by.delta) != ZERO:
            moved.append(moved_by)
    moved.sort(key=lambda d: (-max(abs(d.delta[0]), abs(d.delta[1])), d.type, d.name))
    return CostChange(after.stack, after, base, moved, threshold, unpriced_base)


def price_change(
    plan: dict[str, Any], earlier: dict[str, Any] | None, table: PriceTable, threshold: float | None
) -> tuple[StackCost, CostChange | None]:
    """The plan's estimate and, given the baseline plan, what the change does to it.

    Raises UnpricedError when the plan has what the table does not price; a baseline the table
    cannot price (a type since removed from the table) gives a change without a `before`.
    """
    after = price_plan(plan, table)
    if earlier is None:
        return after, None
    try:
        before, unpriced = price_plan(earlier, table), ""
    except UnpricedError as err:
        before, unpriced = None, str(err)
    return after, cost_change(before, after, threshold=threshold, unpriced_base=unpriced)


def _rounded(amount: Money) -> Money:
    return (round(amount[0], 2) + 0.0, round(amount[1], 2) + 0.0)


MOVERS_SHOWN = 8
"""At most this many resources are listed per stack, the biggest movers first."""


def summary_cells(change: CostChange) -> tuple[str, str, str]:
    """(before, after, delta) for the comment's cost table; the delta bold and marked when flagged."""
    after = money(change.after_total)
    before, delta = change.before_total, change.delta
    if before is None or delta is None:
        return ("not priced", after, "n/a")
    shown = "0.00" if change.unchanged else money(delta, signed=True)
    if change.flagged:
        shown = f"**{shown}** :warning:"
    return (money(before), after, shown)


def flag_line(change: CostChange) -> str:
    """Why the change is flagged (empty when it is not)."""
    if not change.flagged or change.delta is None:
        return ""
    return (
        f"adds {money(change.delta, signed=True)} USD/month, more than this stack's costReview.flagIncreaseAbove ({change.threshold:,.2f})"
    )


def movers(change: CostChange, *, limit: int = MOVERS_SHOWN) -> list[tuple[str, str, str]]:
    """(delta, resource, how) per resource that moves the estimate, biggest first; the rest summed in one row."""
    rows = [
        (money(d.delta, signed=True), f"{d.short_type} {d.name}", f"{d.action}: {money(d.before)} {ARROW} {money(d.after)}")
        for d in change.moved[:limit]
    ]
    if len(change.moved) > limit:
        rest = change.moved[limit:]
        total = (sum(d.delta[0] for d in rest), sum(d.delta[1] for d in rest))
        rows.append((money(total, signed=True), f"{len(rest)} more resource(s)", ""))
    return rows


def delta_text(change: CostChange) -> str:
    """The terminal report's cost lines of one stack against its baseline."""
    stack = change.stack
    if change.before_total is None:
        return f"{stack}: cost: {money(change.after_total)} USD/month; the base plan is not priced ({change.unpriced_base})\n"
    before, after = money(change.before_total), money(change.after_total)
    if change.unchanged:
        return f"{stack}: cost: {after} USD/month, unchanged\n"
    lines = [f"{stack}: cost: {before} {ARROW} {after} USD/month ({money(change.delta or ZERO, signed=True)})"]
    if change.flagged:
        lines.append(f"{stack}: !! {flag_line(change)}")
    lines += [f"   {amount:>14}  {resource}" + (f" ({how})" if how else "") for amount, resource, how in movers(change)]
    return "\n".join(lines) + "\n"
