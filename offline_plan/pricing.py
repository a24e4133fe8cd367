"""What a plan costs per month: the resources of a plan (plans/*.json) priced with prices.yaml.

Pure functions over a plan document and a `PriceTable`; `python -m offline_plan <stack> --cost`
prints `cost_text(price_plan(plan, load_prices()))`. A range (low..high) appears where a count
autoscales (DOKS node pools, EKS node groups); usage-based prices (traffic, GB stored) are listed
with their unit price and never added to the total. A type or selector value the table does not
know raises `UnpricedError` naming it: the table cannot silently rot.

Besides the plan's own resources, the table prices what the cloud creates from Kubernetes objects
of the plan (the load balancer of a LoadBalancer Service, the volumes of a StatefulSet's claim
templates). AWS prices are for one region (`regions`); a resource elsewhere is counted in
`StackCost.other_regions` unless every price it uses names its region.
"""

from __future__ import annotations

import datetime
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, Self, cast

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

PRICES = Path(__file__).resolve().parent / "prices.yaml"
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
UNSET = "<unset>"
"""The `variants` key a type entry uses for an input that is not set."""
ALL_REGIONS = "all"
"""A price's `region` when the provider charges it the same everywhere."""
UNKNOWN_REGION = "unknown"
"""The region of a resource whose region the plan does not record (the default provider's)."""


class UnpricedError(ValueError):
    """A resource the price table cannot price (unknown type, selector value or input)."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _segments(value: Any) -> tuple[str, ...]:
    """A dotted path (`nodePool.size`) or a list of segments (`[metadata, annotations, "a.b/c"]`)."""
    if isinstance(value, str):
        parts = value.split(".")
    elif isinstance(value, list | tuple):
        parts = [str(part) for part in cast(Sequence[Any], value)]
    else:
        raise ValueError(f"an input path is a dotted string or a list of segments, not {value!r}")
    if not parts or any(not part for part in parts):
        raise ValueError(f"an input path has no empty segment: {value!r}")
    return tuple(parts)


InputPath = Annotated[tuple[str, ...], BeforeValidator(_segments)]
"""Where an input sits: every path of prices.yaml (`when`, `by`, `size`, `count`, `from.ref`, `each`)."""


def show(path: Sequence[str]) -> str:
    """A path as prices.yaml may spell it: dotted, or a list when a segment holds a dot."""
    return ".".join(path) if not any("." in part for part in path) else repr(list(path))


_MISSING = object()


def _decoded(value: Any) -> Any:
    """A string holding a JSON object or list (an add-on's `configurationValues`) as that object."""
    if isinstance(value, str) and value.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def input_at(inputs: dict[str, Any], path: Sequence[str]) -> Any:
    """The input at a path (segments; a number indexes a list; a path going on into a string that
    holds JSON reads the decoded document); _MISSING when absent."""
    value: Any = inputs
    for part in path:
        value = _decoded(value)
        if isinstance(value, dict) and part in value:
            value = cast(dict[str, Any], value)[part]
        elif isinstance(value, list) and part.isdigit() and int(part) < len(cast(list[Any], value)):
            value = cast(list[Any], value)[int(part)]
        else:
            return _MISSING
    return value


def _numeric(value: Any) -> float | None:
    """A number, or a string holding one (Kubernetes parameters are strings); else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"-?\d+(\.\d+)?", value.strip()):
        return float(value)
    return None


class Condition(_Model):
    """One test on an input: `is` (an unset input is null), `in`, `startsWith`, `endsWith`,
    `keyStartsWith`, `set`, `atLeast`, `above` (numbers; a numeric string counts; anything else fails)."""

    path: InputPath
    is_: Any = Field(default=None, alias="is")
    in_: list[Any] | None = Field(default=None, alias="in")
    starts_with: str | None = Field(default=None, alias="startsWith")
    ends_with: str | None = Field(default=None, alias="endsWith")
    key_starts_with: str | None = Field(default=None, alias="keyStartsWith")
    set_: bool | None = Field(default=None, alias="set")
    at_least: float | None = Field(default=None, alias="atLeast")
    above: float | None = None

    @model_validator(mode="after")
    def _one_test(self) -> Self:
        if len(self.model_fields_set - {"path"}) != 1:
            raise ValueError(
                f"a condition on {show(self.path)} has exactly one of is, in, startsWith, endsWith, keyStartsWith, set, atLeast, above"
            )
        return self

    def holds(self, view: dict[str, Any]) -> bool:
        found = input_at(view, self.path)
        value = None if found is _MISSING else found
        if "is_" in self.model_fields_set:
            return value == self.is_
        if self.in_ is not None:
            return value in self.in_
        if self.starts_with is not None:
            return isinstance(value, str) and value.startswith(self.starts_with)
        if self.ends_with is not None:
            return isinstance(value, str) and value.endswith(self.ends_with)
        if self.at_least is not None or self.above is not None:
            number = _numeric(value)
            if number is None:
                return False
            return number >= self.at_least if self.at_least is not None else number > cast(float, self.above)
        if self.key_starts_with is not None:
            prefix = self.key_starts_with
            return isinstance(value, dict) and any(str(key).startswith(prefix) for key in cast(dict[Any, Any], value))
        return (value not in (None, "", [], {})) == self.set_


def _conditions(value: Any) -> Any:
    """`when: {dotted.path: value}` (equality) or a list of conditions (`[{path, is|in|...}]`)."""
    if isinstance(value, dict):
        return [{"path": path, "is": expected} for path, expected in cast(dict[Any, Any], value).items()]
    return value


When = Annotated[tuple[Condition, ...], BeforeValidator(_conditions)]


def holds(when: Sequence[Condition], view: dict[str, Any]) -> bool:
    return all(condition.holds(view) for condition in when)


class Sourced(_Model):
    """Where a price comes from: `source` (URL or repo path@commit) and the date it was `read`.

    `region`: the region the number is for when it is not the table's (`regions`): a known
    other-region number (unverified for the table's region), or `all` when charged the same everywhere.
    """

    source: str = Field(min_length=1)
    read: str = Field(min_length=1)
    unverified: bool = False
    why: str | None = None
    note: str | None = None
    region: str | None = None

    @model_validator(mode="after")
    def _unverified_says_why(self) -> Self:
        if self.unverified and not self.why:
            raise ValueError("an unverified price says why (`why`)")
        if self.region not in (None, ALL_REGIONS) and not self.unverified:
            raise ValueError(f"a {self.region} price is unverified for the table's region (`unverified`, `why`)")
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


class Selection(_Model):
    """A price chosen by a further input (`by` + `prices`), inside another `prices` map."""

    by: InputPath
    prices: dict[str, Price | Selection] = Field(min_length=1)


def _leaves(prices: dict[str, Price | Selection]) -> list[Price]:
    return [leaf for node in prices.values() for leaf in ([node] if isinstance(node, Price) else _leaves(node.prices))]


class Match(_Model):
    """The counted resource's input at `path` equals this resource's at `equals` (`$id`: its provider id)."""

    path: InputPath
    equals: InputPath


class PlanCount(_Model):
    """Resources of the plan: those of `type` whose inputs meet `when` and, for each `match`, hold
    the same value as this resource (the elb-tagged subnets a load balancer spans, a host's alarms)."""

    type: str = Field(min_length=1)
    when: When = ()
    match: tuple[Match, ...] = ()


class Count(_Model):
    """How many the charge is for: `min`/`max` input paths (autoscaling) or a `fixed` one; `default` when unset
    (alone: always that many); or `resources`: how many resources of the plan match (none: the
    `otherwise` line, else no charge)."""

    fixed: InputPath | None = None
    min: InputPath | None = None
    max: InputPath | None = None
    default: float | None = Field(default=None, ge=0)
    resources: PlanCount | None = None

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.resources is not None:
            if self.model_fields_set != {"resources"}:
                raise ValueError("a count of plan `resources` stands alone")
            return self
        if self.model_fields_set == {"default"}:
            return self
        if (self.min is None) != (self.max is None) or (self.min is None and self.fixed is None):
            raise ValueError("a count has min and max, or fixed, or all three (each with a default), a default alone, or resources")
        return self


_PRICE_FIELDS = ("monthly", "hourly", "perGiB", "source", "read", "unverified", "why", "note", "region")


class Link(_Model):
    """Another resource of the plan the charge reads (as `$from.<path>`): the `type` whose `by`
    (its provider `id`, or its Kubernetes `objectName`) equals the input at `ref`."""

    type: str = Field(min_length=1)
    by: Literal["id", "objectName"]
    ref: InputPath


class UsageItem(Sourced):
    """A usage-based price the plan cannot turn into money (traffic, GB stored); listed only `when` it holds."""

    what: str = Field(min_length=1)
    unit: str = Field(min_length=1)
    price: float | None = Field(default=None, ge=0)
    when: When = ()


class Charge(_Model):
    """One line of what a resource costs: a flat price, or a price chosen `by` an input.

    Paths read the resource's inputs; `$from.<path>` the linked resource's (`from`), `$each.<path>`
    the list element the charge is repeated for (`each`). `otherwise`: the usage line listed instead
    when the link names nothing in the plan or the first `by` value has no price.
    """

    what: str = Field(min_length=1)
    when: When = ()
    by: InputPath | None = None
    prices: dict[str, Price | Selection] = Field(default_factory=dict[str, Price | Selection])
    price: Price | None = None
    size: InputPath | None = None
    factor: float = Field(default=1.0, gt=0)
    factor_source: str | None = Field(default=None, alias="factorSource")
    factor_read: str | None = Field(default=None, alias="factorRead")
    count: Count | None = None
    once: bool = False
    link: Link | None = Field(default=None, alias="from")
    each: InputPath | None = None
    otherwise: UsageItem | None = None

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
        candidates = [self.price] if self.price is not None else _leaves(self.prices)
        if any(p.per_gib is not None for p in candidates) and self.size is None:
            raise ValueError(f"{self.what}: a perGiB price needs `size` (the input holding the size)")
        if self.factor != 1.0 and not (self.factor_source and self.factor_read):
            raise ValueError(f"{self.what}: a factor names its factorSource and factorRead")
        counts_plan = self.count is not None and self.count.resources is not None
        if self.otherwise is not None and self.link is None and self.by is None and not counts_plan:
            raise ValueError(f"{self.what}: `otherwise` stands in for a missing link, an unpriced `by` value or no resource to count")
        return self


class Refusal(_Model):
    """An input setting the table does not price (provisioned IOPS, a chart's persistent volume): when
    `when` holds, UnpricedError names the resource and says `why`."""

    when: When = Field(min_length=1)
    why: str = Field(min_length=1)


class TypeEntry(_Model):
    """How one resource type is priced: free (with source), charges and/or usage, or `variants` by an input.

    `requireCharge`: the type exists for its charges; when none applies, UnpricedError names the
    resource (a load balancer whose annotations name no cloud the table prices). `refuse`: inputs
    that change the price in a way the table does not price raise instead (any kind of entry).
    """

    free: bool = False
    source: str | None = None
    read: str | None = None
    unverified: bool = False
    why: str | None = None
    note: str | None = None
    charges: list[Charge] = Field(default_factory=list[Charge])
    usage: list[UsageItem] = Field(default_factory=list[UsageItem])
    require_charge: bool = Field(default=False, alias="requireCharge")
    refuse: list[Refusal] = Field(default_factory=list[Refusal])
    by: InputPath | None = None
    variants: dict[str, TypeEntry] = Field(default_factory=dict[str, "TypeEntry"])

    @model_validator(mode="after")
    def _one_kind(self) -> Self:
        kinds = [self.free, bool(self.charges or self.usage), self.by is not None]
        if sum(kinds) != 1:
            raise ValueError("a type is `free: true`, has charges and/or usage, or `by` with `variants`")
        if (self.by is None) != (not self.variants):
            raise ValueError("`by` and `variants` go together")
        if self.free and not (self.source and self.read):
            raise ValueError("a free type names its source and read date")
        if self.unverified and not self.why:
            raise ValueError("an unverified mark says why (`why`)")
        if self.require_charge and not self.charges:
            raise ValueError("`requireCharge` needs charges")
        return self


class FreePrefix(_Model):
    prefix: str = Field(min_length=2)
    why: str = Field(min_length=1)


class PriceTable(_Model):
    as_of: datetime.date = Field(alias="asOf")
    currency: Literal["USD"]
    hours_per_month: int = Field(alias="hoursPerMonth", gt=0)
    regions: dict[str, str] = Field(default_factory=dict[str, str])
    """Per provider package (the type's first token, `aws`), the one region its prices are for."""
    free_prefixes: list[FreePrefix] = Field(alias="freePrefixes")
    shared: dict[str, Any] = Field(default_factory=dict[str, Any])
    types: dict[str, TypeEntry]

    def entry(self, type_: str) -> TypeEntry | FreePrefix | None:
        if type_ in self.types:
            return self.types[type_]
        return next((p for p in self.free_prefixes if type_.startswith(p.prefix)), None)


def load_prices(path: Path = PRICES) -> PriceTable:
    return PriceTable.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


@dataclass(frozen=True)
class ChargeCost:
    what: str
    low: float
    high: float
    detail: str
    unverified: bool
    region: str | None = None
    """The region the price is for (None: the table's; `all`: everywhere)."""
    read: str | None = None
    """When the price was read (prices.yaml `read`); None for a line that repeats one counted elsewhere."""


@dataclass(frozen=True)
class ResourceCost:
    type: str
    name: str
    urn: str
    charges: list[ChargeCost]
    usage: list[UsageItem]
    region: str | None = None
    """Where the resource runs, for a provider the table prices per region (`regions`); else None."""

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
    regions: dict[str, str] = field(default_factory=dict[str, str])
    """The table's region per provider package (`aws`: `eu-central-1`)."""
    other_regions: dict[str, int] = field(default_factory=dict[str, int])
    """Priced resources in a region the table does not price (by region): their prices may differ."""

    @property
    def low(self) -> float:
        return sum(r.low for r in self.resources)

    @property
    def high(self) -> float:
        return sum(r.high for r in self.resources)


def _number(value: Any, type_: str, name: str, path: Sequence[str], *, text: bool = False) -> float:
    if text and isinstance(value, str) and re.fullmatch(r"\d+(\.\d+)?", value):
        return float(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnpricedError(f"{type_} {name}: input {show(path)} is {value!r}, not a number")
    return float(value)


_EKS_ARN = re.compile(r"arn:aws[a-z-]*:eks:([a-z0-9-]+):")
_QUANTITY = re.compile(r"(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|Pi|Ei|k|M|G|T|P|E)?")
_SUFFIX_BYTES = {
    "": 1,
    **{suffix: 1024 ** (i + 1) for i, suffix in enumerate(("Ki", "Mi", "Gi", "Ti", "Pi", "Ei"))},
    **{suffix: 1000 ** (i + 1) for i, suffix in enumerate(("k", "M", "G", "T", "P", "E"))},
}


def gib(value: Any, type_: str, name: str, path: Sequence[str]) -> float:
    """A size in GiB: a number is GiB; a string is a Kubernetes quantity ("20Gi", "50G"), rounded up
    to whole GiB as the CSI drivers provision it. Anything else raises, naming it."""
    if not isinstance(value, str):
        return _number(value, type_, name, path)
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise UnpricedError(f"{type_} {name}: input {show(path)} is {value!r}, not a size (a number of GiB or a quantity like 20Gi)")
    size = Decimal(match.group(1)) * _SUFFIX_BYTES[match.group(2) or ""] / 1024**3
    return float(math.ceil(size))


def _count(charge: Charge, view: dict[str, Any], type_: str, name: str, plan: _Plan) -> tuple[float, float, str]:
    if charge.count is None:
        return 1.0, 1.0, ""
    spec = charge.count
    if spec.resources is not None:
        n = float(plan.count(spec.resources, view))
        return n, n, f"{TIMES}{n:g} {short_type(spec.resources.type)}"
    low = input_at(view, spec.min) if spec.min else _MISSING
    high = input_at(view, spec.max) if spec.max else _MISSING
    if low is not _MISSING and high is not _MISSING:
        lo = _number(low, type_, name, cast(tuple[str, ...], spec.min), text=True)
        hi = _number(high, type_, name, cast(tuple[str, ...], spec.max), text=True)
        return lo, hi, f"{TIMES}{lo:g}{DASH}{hi:g}" if lo != hi else f"{TIMES}{lo:g}"
    fixed = input_at(view, spec.fixed) if spec.fixed else _MISSING
    if fixed is _MISSING and spec.default is None:
        paths = ", ".join(show(p) for p in (spec.min, spec.max, spec.fixed) if p)
        raise UnpricedError(f"{type_} {name}: no count ({paths} not set)")
    n = spec.default if fixed is _MISSING else _number(fixed, type_, name, cast(tuple[str, ...], spec.fixed), text=True)
    return cast(float, n), cast(float, n), f"{TIMES}{n:g}"


@dataclass
class _Priced:
    charges: list[ChargeCost] = field(default_factory=list[ChargeCost])
    usage: list[UsageItem] = field(default_factory=list[UsageItem])


class _Plan:
    """The plan's resources indexed for links (`from`), counts (`count.resources`) and providers (regions)."""

    def __init__(self, resources: list[dict[str, Any]]) -> None:
        self.linked: dict[tuple[str, str, str], dict[str, Any]] = {}
        self.providers: dict[str, dict[str, Any]] = {}
        self.by_type: dict[str, list[dict[str, Any]]] = {}
        for resource in resources:
            inputs = cast(dict[str, Any], resource.get("inputs") or {})
            self.by_type.setdefault(str(resource["type"]), []).append({**inputs, "$id": resource.get("id")})
            for key in ("id", "objectName"):
                if resource.get(key):
                    self.linked[(str(resource["type"]), key, str(resource[key]))] = inputs
            if str(resource["type"]).startswith("pulumi:providers:"):
                self.providers[str(resource["urn"])] = {"type": resource["type"], **inputs}

    def count(self, spec: PlanCount, view: dict[str, Any]) -> int:
        """How many resources of the plan `spec` counts for the resource whose inputs are `view`."""
        return sum(
            1
            for theirs in self.by_type.get(spec.type, [])
            if holds(spec.when, theirs)
            and all((value := input_at(theirs, m.path)) is not _MISSING and value == input_at(view, m.equals) for m in spec.match)
        )

    def _provider(self, resource: dict[str, Any]) -> dict[str, Any] | None:
        reference = str(resource.get("provider") or "")
        # A provider reference is "<provider urn>::<provider id>"; plans record the URN alone.
        return self.providers.get(reference) or self.providers.get(reference.rsplit("::", 1)[0])

    def cluster_region(self, resource: dict[str, Any], package: str) -> str | None:
        """Where a Kubernetes object's cluster runs, when its explicit provider names an EKS cluster
        (`clusterIdentifier`, an ARN carrying the region) and `package` is `aws`; else None."""
        provider = self._provider(resource)
        if package != "aws" or provider is None or provider["type"] != "pulumi:providers:kubernetes":
            return None
        match = _EKS_ARN.match(str(provider.get("clusterIdentifier") or ""))
        return match.group(1) if match else None

    def region(self, resource: dict[str, Any], inputs: dict[str, Any], package: str) -> str:
        """The resource's own `region` input; else its explicit provider's; else unknown (the default
        provider's region is stack configuration the plan does not record)."""
        own = inputs.get("region")
        if isinstance(own, str) and own:
            return own
        provider = self._provider(resource)
        if provider is not None and provider["type"] == f"pulumi:providers:{package}":
            region = provider.get("region")
            if isinstance(region, str) and region:
                return region
        return UNKNOWN_REGION


def _otherwise(charge: Charge, reason: str, view: dict[str, Any], type_: str, name: str, plan: _Plan) -> UsageItem:
    item = cast(UsageItem, charge.otherwise)
    amount: list[str] = []
    if charge.size is not None and (size := input_at(view, charge.size)) is not _MISSING:
        amount.append(f"{gib(size, type_, name, charge.size):g} GiB")
    if charge.count is not None and charge.count.resources is None:
        amount.append(_count(charge, view, type_, name, plan)[2])
    detail = "; ".join([reason, " ".join(amount)] if amount else [reason])
    return item.model_copy(update={"what": f"{item.what} [{detail}]"})


def _price_charge(charge: Charge, inputs: dict[str, Any], type_: str, name: str, hours: int, plan: _Plan, out: _Priced) -> None:
    """One charge of one resource (once per `each` element): its costs, or its `otherwise` usage line."""
    if charge.each is None:
        elements: list[Any] = [_MISSING]
    else:
        found = input_at(inputs, charge.each)
        if found is not _MISSING and not isinstance(found, list):
            raise UnpricedError(f"{type_} {name}: input {show(charge.each)} is {found!r}, not a list ({charge.what})")
        elements = [] if found is _MISSING else cast(list[Any], found)
    for element in elements:
        view = dict(inputs)
        if element is not _MISSING:
            view["$each"] = element
        if charge.link is not None:
            link = charge.link
            ref = input_at(view, link.ref)
            linked = None if ref is _MISSING else plan.linked.get((link.type, link.by, str(ref)))
            if linked is None:
                reason = f"{show(link.ref)}={None if ref is _MISSING else ref!r} names no {link.type} in the plan"
                if charge.otherwise is not None:
                    out.usage.append(_otherwise(charge, reason, view, type_, name, plan))
                    continue
                raise UnpricedError(f"{type_} {name}: {show(link.ref)} names no {link.type} in the plan (by {link.by}; {charge.what})")
            view["$from"] = linked
        if not holds(charge.when, view):
            continue
        detail: list[str] = []
        node: Price | Selection = (
            charge.price if charge.price is not None else Selection(by=cast(tuple[str, ...], charge.by), prices=charge.prices)
        )
        first = True
        while isinstance(node, Selection):
            selected = input_at(view, node.by)
            if selected is _MISSING or str(selected) not in node.prices:
                if first and charge.otherwise is not None:
                    out.usage.append(
                        _otherwise(charge, f"{show(node.by)}={None if selected is _MISSING else selected!r}", view, type_, name, plan)
                    )
                    break
                if selected is _MISSING:
                    raise UnpricedError(f"{type_} {name}: input {show(node.by)} is not set; prices.yaml prices {charge.what!r} by it")
                raise UnpricedError(f"{type_}: no price for {show(node.by)}={selected!r} ({charge.what}; resource {name}) in prices.yaml")
            detail.append(str(selected))
            node, first = node.prices[str(selected)], False
        if not isinstance(node, Price):
            continue
        size = 0.0
        if node.per_gib is not None:
            size_path = cast(tuple[str, ...], charge.size)
            size = gib(input_at(view, size_path), type_, name, size_path)
            detail.append(f"{size:g} GiB")
        low_n, high_n, times = _count(charge, view, type_, name, plan)
        if charge.count is not None and charge.count.resources is not None and high_n == 0:
            if charge.otherwise is not None:
                out.usage.append(_otherwise(charge, f"no {charge.count.resources.type} in the plan to count", view, type_, name, plan))
            continue
        if times:
            detail.append(times)
        if charge.factor != 1.0:
            detail.append(f"{charge.factor:.0%}")
        unit = node.per_month(hours, size) * charge.factor
        out.charges.append(ChargeCost(charge.what, unit * low_n, unit * high_n, " ".join(detail), node.unverified, node.region, node.read))


def _refuse(entry: TypeEntry, inputs: dict[str, Any], type_: str, name: str) -> None:
    for refusal in entry.refuse:
        if holds(refusal.when, inputs):
            tests = ", ".join(show(c.path) for c in refusal.when)
            raise UnpricedError(f"{type_} {name}: prices.yaml does not price it with {tests} as set: {refusal.why}")


def _variant(entry: TypeEntry, inputs: dict[str, Any], type_: str, name: str) -> TypeEntry:
    _refuse(entry, inputs, type_, name)
    while entry.by is not None:
        value = input_at(inputs, entry.by)
        key = UNSET if value is _MISSING or value is None else str(value)
        if key not in entry.variants:
            raise UnpricedError(
                f"{type_}: no entry for {show(entry.by)}={None if value is _MISSING else value!r} (resource {name}) in prices.yaml: "
                "price it, or mark it free or usage-based"
            )
        entry = entry.variants[key]
        _refuse(entry, inputs, type_, name)
    return entry


def price_plan(plan: dict[str, Any], table: PriceTable) -> StackCost:
    """Every resource of the plan priced; raises UnpricedError for what the table lacks."""
    cost = StackCost(stack=str(plan.get("stack", "")), as_of=table.as_of, currency=table.currency, regions=dict(table.regions))
    counted_once: set[tuple[str, str]] = set()
    resources = cast(list[dict[str, Any]], plan["resources"])
    index = _Plan(resources)
    for resource in resources:
        type_, name = str(resource["type"]), str(resource["name"])
        inputs = {**cast(dict[str, Any], resource.get("inputs") or {}), "$id": resource.get("id")}
        found = table.entry(type_)
        if found is None:
            raise UnpricedError(f"{type_}: not in prices.yaml (resource {name}): price it, or mark it free or usage-based")
        if isinstance(found, FreePrefix):
            cost.free += 1
            continue
        entry = _variant(found, inputs, type_, name)
        if entry.free:
            cost.free += 1
            continue
        priced = _Priced()
        for charge in entry.charges:
            before = len(priced.charges)
            _price_charge(charge, inputs, type_, name, table.hours_per_month, index, priced)
            if charge.once:
                for i in range(before, len(priced.charges)):
                    if (type_, charge.what) in counted_once:
                        priced.charges[i] = ChargeCost(charge.what, 0.0, 0.0, "counted once per stack", False, priced.charges[i].region)
                    counted_once.add((type_, charge.what))
        if entry.require_charge and not priced.charges:
            whats = "; ".join(charge.what for charge in entry.charges)
            raise UnpricedError(f"{type_} {name}: none of its charges applies ({whats}): prices.yaml cannot price it")
        package = type_.split(":", 1)[0]
        region = index.region(resource, inputs, package) if package in table.regions else None
        if region is None:  # a Kubernetes object: what the cloud creates for it runs in its cluster's region
            package, region = next(
                ((p, r) for p in sorted(table.regions) if (r := index.cluster_region(resource, p)) is not None), (package, None)
            )
        usage = [item for item in entry.usage if holds(item.when, {**inputs, "$region": region})] + priced.usage
        if region is not None and region != table.regions[package]:
            used = [c.region for c in priced.charges] + [u.region for u in usage]
            if not all(r in (region, ALL_REGIONS) for r in used):
                cost.other_regions[region] = cost.other_regions.get(region, 0) + 1
        cost.resources.append(ResourceCost(type_, name, str(resource["urn"]), priced.charges, usage, region))
    return cost


def money(amount: tuple[float, float], *, signed: bool = False) -> str:
    """A monthly (low, high) amount: `12.00`, or a range joined by an en dash; signed: `+30.00`, `-4.00`."""
    low, high = (round(amount[0], 2) + 0.0, round(amount[1], 2) + 0.0)
    pattern = "{:+,.2f}" if signed else "{:,.2f}"
    return pattern.format(low) if low == high else f"{pattern.format(low)}{DASH}{pattern.format(high)}"


def short_type(type_: str) -> str:
    """`DatabaseCluster` for `digitalocean:index/databaseCluster:DatabaseCluster`."""
    return type_.rsplit(":", 1)[-1]


_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def read_dates(cost: StackCost) -> tuple[str | None, int]:
    """The oldest `read` date among the prices the estimate used (charges and usage lines), and how
    many of those prices have no date (`unknown (stored copy)`)."""
    reads = [c.read for r in cost.resources for c in r.charges if c.read is not None]
    reads += [item.read for r in cost.resources for item in r.usage]
    dates = [m.group(0) for read in reads if (m := _DATE.match(read))]
    return (min(dates) if dates else None), len(reads) - len(dates)


def other_region_prices(cost: StackCost) -> dict[str, int]:
    """Per region, the charges priced with that region's number on a resource running elsewhere
    (us-east-1 numbers in eu-central-1). A lower bound of the charges whose price may differ: a price
    without `region` is taken as the table region's, and resources outside it are `other_regions`."""
    found: dict[str, int] = {}
    for resource in cost.resources:
        for charge in resource.charges:
            if resource.region is not None and charge.region not in (None, ALL_REGIONS, resource.region) and charge.read is not None:
                found[charge.region] = found.get(charge.region, 0) + 1
    return found


def cost_text(cost: StackCost) -> str:
    """The --cost section of one stack: per resource, the stack total, the usage-based remainder."""
    oldest, undated = read_dates(cost)
    # "at list prices of <asOf>" is the table's compile date, not when its prices were read: said next to it.
    dates = [
        f"the date prices.yaml was compiled; its oldest price used was read {oldest}" if oldest else "the date prices.yaml was compiled"
    ]
    if undated:
        dates.append(f"{undated} with no read date")
    lines = [f"Cost of {cost.stack}, {cost.currency}/month at list prices of {cost.as_of.isoformat()} ({', '.join(dates)}):"]
    unverified = 0
    table_regions = set(cost.regions.values())
    for resource in sorted(cost.resources, key=lambda r: (-r.high, r.type, r.name)):
        if not resource.charges:
            continue
        where = f" ({resource.region})" if resource.region is not None and resource.region not in table_regions else ""
        lines.append(f"  {money((resource.low, resource.high)):>17}  {short_type(resource.type)} {resource.name}{where}")
        for charge in resource.charges:
            mark = " (unverified price)" if charge.unverified else ""
            unverified += charge.unverified
            detail = f" [{charge.detail}]" if charge.detail else ""
            lines.append(f"  {'':>17}    {money((charge.low, charge.high))} {charge.what}{detail}{mark}")
    lines.append(f"  {money((cost.low, cost.high)):>17}  total per month ({cost.free} resources without a price of their own)")
    if unverified:
        lines.append(f"  {unverified} charge(s) use an unverified price: prices.yaml says why for each")
    if borrowed := other_region_prices(cost):
        regions = ", ".join(f"{region} ({n})" for region, n in sorted(borrowed.items()))
        lines.append(
            f"  {sum(borrowed.values())} charge(s) use another region's price, none being sourced for their own: {regions}"
            " (a lower bound of the prices that may differ where the resources run)"
        )
    if cost.other_regions:
        priced = ", ".join(f"{package} at {region}" for package, region in sorted(cost.regions.items()))
        where = ", ".join(f"{region} ({n})" for region, n in sorted(cost.other_regions.items()))
        total = sum(cost.other_regions.values())
        lines.append(f"  {total} resource(s) in regions prices.yaml does not price ({priced}): {where}; their prices may differ")
    usage: dict[tuple[str, str, str], str] = {}
    for resource in cost.resources:
        for item in resource.usage:
            amount = f"{item.price:g} {item.unit}" if item.price is not None else f"{item.unit} (price not sourced)"
            usage[(short_type(resource.type), item.what, amount)] = ""
    if usage:
        lines.append("  usage-based, not in the total:")
        lines.extend(f"    {short}: {what}, {amount}" for short, what, amount in usage)
    return "\n".join(lines) + "\n"
