"""What a plan costs per month: the resources of a plan (plans/*.json) priced with prices.yaml.

Pure functions over a plan document and a `PriceTable`; `python -m offline_plan <stack> --cost`
prints `cost_text(price_plan(plan, load_prices()))`. A range (low..high) appears where a count
autoscales (DOKS node pools, EKS node groups); usage-based prices (traffic, GB stored) are listed
with their unit price and never added to the total. A type or selector value the table does not
know raises `UnpricedError` naming it: the table cannot silently rot.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Self, cast

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

PRICES = Path(__file__).resolve().parent / "prices.yaml"
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"


class UnpricedError(ValueError):
    """A resource the price table cannot price (unknown type, selector value or input)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Sourced(_Model):
    """Where a price comes from: `source` (URL or repo path@commit) and the date it was `read`."""

    source: str = Field(min_length=1)
    read: str = Field(min_length=1)
    unverified: bool = False
    why: str | None = None
    note: str | None = None

    @model_validator(mode="after")
    def _unverified_says_why(self) -> Self:
        if self.unverified and not self.why:
            raise ValueError("an unverified price says why (`why`)")
        return self


class Price(Sourced):
    """One price: exactly one of monthly, hourly (x hoursPerMonth) or perGiB (x the size input)."""

    monthly: float | None = Field(default=None, ge=0)
    hourly: float | None = Field(default=None, ge=0)
    per_gib: float | None = Field(default=None, ge=0, alias="perGiB")

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if sum(amount is not None for amount in (self.monthly, self.hourly, self.per_gib)) != 1:
            raise ValueError("a price has exactly one of monthly, hourly, perGiB")
        return self

    def per_month(self, hours_per_month: int, size: float) -> float:
        if self.monthly is not None:
            return self.monthly
        if self.hourly is not None:
            return self.hourly * hours_per_month
        return cast(float, self.per_gib) * size


class Count(_Model):
    """How many the charge is for: `min`/`max` input paths (autoscaling) or a `fixed` one."""

    fixed: str | None = None
    min: str | None = None
    max: str | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if (self.min is None) != (self.max is None) or (self.min is None and self.fixed is None):
            raise ValueError("a count has min and max, or fixed, or all three")
        return self


_PRICE_FIELDS = ("monthly", "hourly", "perGiB", "source", "read", "unverified", "why", "note")


class Link(_Model):
    """Another resource of the plan whose inputs select the price: `id` is the input holding its id."""

    type: str = Field(min_length=1)
    id: str = Field(min_length=1)


class Charge(_Model):
    """One line of what a resource costs: a flat price, or a price chosen `by` an input."""

    what: str = Field(min_length=1)
    when: dict[str, Any] = Field(default_factory=dict[str, Any])
    by: str | None = None
    prices: dict[str, Price] = Field(default_factory=dict[str, Price])
    price: Price | None = None
    size: str | None = None
    factor: float = Field(default=1.0, gt=0)
    factor_source: str | None = Field(default=None, alias="factorSource")
    factor_read: str | None = Field(default=None, alias="factorRead")
    count: Count | None = None
    once: bool = False
    link: Link | None = Field(default=None, alias="from")

    @model_validator(mode="before")
    @classmethod
    def _inline_price(cls, data: Any) -> Any:
        fields = cast(dict[str, Any], data) if isinstance(data, dict) else None
        if fields is not None and "by" not in fields:
            inline = {key: fields[key] for key in _PRICE_FIELDS if key in fields}
            rest = {key: value for key, value in fields.items() if key not in _PRICE_FIELDS}
            return {**rest, "price": inline}
        return cast(Any, data)

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if (self.by is None) == (self.price is None):
            raise ValueError(f"{self.what}: a charge has a price, or `by` with `prices`")
        if self.by is not None and not self.prices:
            raise ValueError(f"{self.what}: `by` needs `prices`")
        candidates = [self.price] if self.price is not None else list(self.prices.values())
        if any(p.per_gib is not None for p in candidates) and self.size is None:
            raise ValueError(f"{self.what}: a perGiB price needs `size` (the input holding the size)")
        if self.factor != 1.0 and not (self.factor_source and self.factor_read):
            raise ValueError(f"{self.what}: a factor names its factorSource and factorRead")
        return self


class UsageItem(Sourced):
    """A usage-based price the plan cannot turn into money (traffic, GB stored)."""

    what: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    price: float | None = Field(default=None, ge=0)


class TypeEntry(_Model):
    """How one resource type is priced: free (with source), charges, usage, or both of the latter."""

    free: bool = False
    source: str | None = None
    read: str | None = None
    unverified: bool = False
    why: str | None = None
    note: str | None = None
    charges: list[Charge] = Field(default_factory=list[Charge])
    usage: list[UsageItem] = Field(default_factory=list[UsageItem])

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        if self.free == bool(self.charges or self.usage):
            raise ValueError("a type is `free: true`, or has charges and/or usage")
        if self.free and not (self.source and self.read):
            raise ValueError("a free type names its source and read date")
        if self.unverified and not self.why:
            raise ValueError("an unverified mark says why (`why`)")
        return self


class FreePrefix(_Model):
    prefix: str = Field(min_length=2)
    why: str = Field(min_length=1)


class PriceTable(_Model):
    as_of: datetime.date = Field(alias="asOf")
    currency: Literal["USD"]
    hours_per_month: int = Field(alias="hoursPerMonth", gt=0)
    free_prefixes: list[FreePrefix] = Field(alias="freePrefixes")
    shared: dict[str, Any] = Field(default_factory=dict[str, Any])
    types: dict[str, TypeEntry]

    def entry(self, type_: str) -> TypeEntry | FreePrefix | None:
        if type_ in self.types:
            return self.types[type_]
        return next((p for p in self.free_prefixes if type_.startswith(p.prefix)), None)


def load_prices(path: Path = PRICES) -> PriceTable:
    return PriceTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


_MISSING = object()


def input_at(inputs: dict[str, Any], path: str) -> Any:
    """The input at a dotted path (`nodePool.size`, `instanceTypes.0`); _MISSING when absent."""
    value: Any = inputs
    for part in path.split("."):
        if isinstance(value, dict) and part in value:
            value = cast(dict[str, Any], value)[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(cast(list[Any], value)):
            value = cast(list[Any], value)[int(part)]
        else:
            return _MISSING
    return value


@dataclass(frozen=True)
class ChargeCost:
    what: str
    low: float
    high: float
    detail: str
    unverified: bool


@dataclass(frozen=True)
class ResourceCost:
    type: str
    name: str
    urn: str
    charges: list[ChargeCost]
    usage: list[UsageItem]

    @property
    def low(self) -> float:
        return sum(c.low for c in self.charges)

    @property
    def high(self) -> float:
        return sum(c.high for c in self.charges)


@dataclass
class StackCost:
    stack: str
    as_of: datetime.date
    currency: str
    resources: list[ResourceCost] = field(default_factory=list[ResourceCost])
    free: int = 0

    @property
    def low(self) -> float:
        return sum(r.low for r in self.resources)

    @property
    def high(self) -> float:
        return sum(r.high for r in self.resources)


def _number(value: Any, type_: str, name: str, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnpricedError(f"{type_} {name}: input {path} is {value!r}, not a number")
    return float(value)


def _count(charge: Charge, inputs: dict[str, Any], type_: str, name: str) -> tuple[float, float, str]:
    if charge.count is None:
        return 1.0, 1.0, ""
    spec = charge.count
    low = input_at(inputs, spec.min) if spec.min else _MISSING
    high = input_at(inputs, spec.max) if spec.max else _MISSING
    if low is not _MISSING and high is not _MISSING:
        lo, hi = _number(low, type_, name, cast(str, spec.min)), _number(high, type_, name, cast(str, spec.max))
        return lo, hi, f"{TIMES}{lo:g}{DASH}{hi:g}" if lo != hi else f"{TIMES}{lo:g}"
    fixed = input_at(inputs, spec.fixed) if spec.fixed else _MISSING
    if fixed is _MISSING:
        paths = ", ".join(p for p in (spec.min, spec.max, spec.fixed) if p)
        raise UnpricedError(f"{type_} {name}: no count ({paths} not set)")
    n = _number(fixed, type_, name, cast(str, spec.fixed))
    return n, n, f"{TIMES}{n:g}"


def price_charge(
    charge: Charge, inputs: dict[str, Any], type_: str, name: str, hours_per_month: int, linked: dict[str, Any] | None = None
) -> ChargeCost | None:
    """One charge of one resource; None when its `when` does not hold.

    `linked`: the inputs of the resource the charge's `from` names; `when`, `by` and `size` read
    them, `count` reads the resource's own (a node group's count, its launch template's disk).
    """
    own = inputs
    inputs = linked if linked is not None else inputs
    if any(input_at(inputs, path) != value for path, value in charge.when.items()):
        return None
    detail: list[str] = []
    if charge.by is None:
        price = cast(Price, charge.price)
    else:
        selected = input_at(inputs, charge.by)
        if selected is _MISSING:
            raise UnpricedError(f"{type_} {name}: input {charge.by} is not set; prices.yaml prices {charge.what!r} by it")
        if str(selected) not in charge.prices:
            raise UnpricedError(f"{type_}: no price for {charge.by}={selected!r} ({charge.what}; resource {name}) in prices.yaml")
        price = charge.prices[str(selected)]
        detail.append(str(selected))
    size = 0.0
    if price.per_gib is not None:
        size = _number(input_at(inputs, cast(str, charge.size)), type_, name, cast(str, charge.size))
        detail.append(f"{size:g} GiB")
    low_n, high_n, times = _count(charge, own, type_, name)
    if times:
        detail.append(times)
    if charge.factor != 1.0:
        detail.append(f"{charge.factor:.0%}")
    unit = price.per_month(hours_per_month, size) * charge.factor
    return ChargeCost(charge.what, unit * low_n, unit * high_n, " ".join(detail), price.unverified)


def price_plan(plan: dict[str, Any], table: PriceTable) -> StackCost:
    """Every resource of the plan priced; raises UnpricedError for what the table lacks."""
    cost = StackCost(stack=str(plan.get("stack", "")), as_of=table.as_of, currency=table.currency)
    counted_once: set[tuple[str, str]] = set()
    resources = cast(list[dict[str, Any]], plan["resources"])
    by_id = {(str(r["type"]), r["id"]): cast(dict[str, Any], r.get("inputs") or {}) for r in resources if r.get("id")}
    for resource in resources:
        type_, name = str(resource["type"]), str(resource["name"])
        inputs = cast(dict[str, Any], resource.get("inputs") or {})
        entry = table.entry(type_)
        if entry is None:
            raise UnpricedError(f"{type_}: not in prices.yaml (resource {name}): price it, or mark it free or usage-based")
        if isinstance(entry, FreePrefix) or entry.free:
            cost.free += 1
            continue
        charges: list[ChargeCost] = []
        for charge in entry.charges:
            linked: dict[str, Any] | None = None
            if charge.link is not None:
                ref = input_at(inputs, charge.link.id)
                if (charge.link.type, ref) not in by_id:
                    raise UnpricedError(f"{type_} {name}: {charge.link.id} names no {charge.link.type} in the plan ({charge.what})")
                linked = by_id[(charge.link.type, ref)]
            priced = price_charge(charge, inputs, type_, name, table.hours_per_month, linked)
            if priced is None:
                continue
            if charge.once:
                if (type_, charge.what) in counted_once:
                    priced = ChargeCost(charge.what, 0.0, 0.0, "counted once per stack", priced.unverified)
                counted_once.add((type_, charge.what))
            charges.append(priced)
        cost.resources.append(ResourceCost(type_, name, str(resource["urn"]), charges, list(entry.usage)))
    return cost


def _money(low: float, high: float) -> str:
    return f"{low:,.2f}" if round(low, 2) == round(high, 2) else f"{low:,.2f}{DASH}{high:,.2f}"


def _short(type_: str) -> str:
    return type_.rsplit(":", 1)[-1]


def cost_text(cost: StackCost) -> str:
    """The --cost section of one stack: per resource, the stack total, the usage-based remainder."""
    lines = [f"Cost of {cost.stack}, {cost.currency}/month at list prices of {cost.as_of.isoformat()} (offline_plan/prices.yaml):"]
    unverified = 0
    for resource in sorted(cost.resources, key=lambda r: (-r.high, r.type, r.name)):
        if not resource.charges:
            continue
        lines.append(f"  {_money(resource.low, resource.high):>17}  {_short(resource.type)} {resource.name}")
        for charge in resource.charges:
            mark = " (unverified price)" if charge.unverified else ""
            unverified += charge.unverified
            detail = f" [{charge.detail}]" if charge.detail else ""
            lines.append(f"  {'':>17}    {_money(charge.low, charge.high)} {charge.what}{detail}{mark}")
    lines.append(f"  {_money(cost.low, cost.high):>17}  total per month ({cost.free} resources without a price of their own)")
    if unverified:
        lines.append(f"  {unverified} charge(s) use an unverified price: prices.yaml says why for each")
    usage: dict[tuple[str, str, str], str] = {}
    for resource in cost.resources:
        for item in resource.usage:
            amount = f"{item.price:g} {item.unit}" if item.price is not None else f"{item.unit} (price not sourced)"
            usage[(_short(resource.type), item.what, amount)] = ""
    if usage:
        lines.append("  usage-based, not in the total:")
        lines.extend(f"    {short}: {what}, {amount}" for short, what, amount in usage)
    return "\n".join(lines) + "\n"
