"""The plan diff as a reviewer reads it: a terminal report and a pull-request comment.

Both lead with what `pulumi up` would refuse (deleting or replacing protected data) and what it
would leave behind (retain-on-delete), then the counts, then each change. The comment carries
every stack in one body, trimmed to GitHub's comment limit with a note when it would not fit.

Without a baseline (no `--diff` or `--base`) there is nothing to compare: a stack's part says so
and shows the plan as created (resources by type, protected ones, the policy result), never
"no changes": a working tree that deletes a protected bucket would otherwise read as unchanged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from offline_plan.changes import KEPT_BY_DESIGN, PlanChanges, ResourceChange
from offline_plan.report import PlanSummary
from offline_plan.watching import WatchSummary, watch_changes, watch_lines

if TYPE_CHECKING:
    # The price table's modules (pydantic models) load only for a report that carries money (--cost).
    from offline_plan.cost_delta import CostChange
    from offline_plan.pricing import StackCost

# GitHub rejects issue and pull-request comments longer than this many characters.
GITHUB_COMMENT_LIMIT = 65536
COMMENT_MARKER = "<!-- meteor-platform:offline-preview -->"
FEW_CHANGES = 12
"""Up to this many property lines, a stack's property changes are shown open."""

_ORDER = {"replace": 0, "delete": 1, "update": 2, "create": 3}
LEGEND = "+ create   ~ update   +- replace (create, then delete)   -/+ replace (delete, then create)   - delete"
NO_BASELINE = "no baseline: this is the plan as created, not a diff; it cannot show what a change updates, replaces or deletes"
HOW_TO_DIFF = "give --base REF or --diff OLD.json to see the changes"


@dataclass
class StackReport:
    """One stack's part of a report: its changes (None when no base plan) and its policy findings."""

    stack: str
    changes: PlanChanges | None
    violations: list[str] = field(default_factory=lambda: [])
    tree: str = ""
    note: str = ""
    planned: PlanSummary | None = None
    """What the plan creates: shown instead of changes when there is no baseline."""
    watching: WatchSummary | None = None
    """The stack's checks and alerts, shown with the plan as created."""
    estimate: StackCost | None = None
    """The plan's monthly estimate (with --cost)."""
    cost: CostChange | None = None
    """What the change does to the estimate (with --cost and a baseline)."""
    cost_error: str = ""
    """Why the plan could not be priced (a type or value prices.yaml lacks): the rest of the report stands."""


def _policy_result(report: StackReport) -> str:
    return f"{len(report.violations)} policy violation(s)" if report.violations else "policies passed"


def _planned_line(planned: PlanSummary) -> str:
    return f"{planned.resources} resources, {len(planned.protected)} protected, {len(planned.retained)} retained on delete"


def _no_baseline_text(report: StackReport) -> list[str]:
    lines = [f"{report.stack}: {NO_BASELINE} ({HOW_TO_DIFF})"]
    summary = f"{_planned_line(report.planned)}; " if report.planned else ""
    lines.append(f"{report.stack}: {summary}{_policy_result(report)}")
    lines += [f"  ! {v}" for v in report.violations]
    if report.watching is not None:
        lines.append(f"{report.stack}: checks and alerts:")
        lines += watch_lines(report.watching)
    if report.tree:
        lines.append(f"{report.stack}: the plan below marks each resource `+`, as it would be created on an empty stack")
    return lines


def _ordered(changes: PlanChanges) -> list[ResourceChange]:
    return sorted(changes.resources, key=lambda r: (not (r.refused or r.leaves_data_behind), _ORDER[r.action], r.type, r.name))


def _why(change: ResourceChange) -> str:
    kept = f"the old one is {KEPT_BY_DESIGN[change.type]}" if change.kept_by_design else ""
    if change.action != "replace":
        return kept
    reasons = change.replace_reasons
    shown = ", ".join(reasons[:3]) + (f" and {len(reasons) - 3} more" if len(reasons) > 3 else "")
    return f"replaced: {shown}" + (f"; {kept}" if kept else "")


def _data_hits(changes: PlanChanges) -> list[tuple[ResourceChange, str]]:
    hits = [(r, f"protected: `pulumi up` refuses to {'delete' if r.action == 'delete' else 'replace'} it") for r in changes.refused]
    hits += [(r, "retain-on-delete: the old one and its data are left behind, no longer managed") for r in changes.left_behind]
    return hits


def _data_hit_lines(changes: PlanChanges) -> list[str]:
    return [f"{r.symbol} {r.type}  {r.name}  ({why})" for r, why in _data_hits(changes)]


def stack_text(report: StackReport) -> str:
    changes = report.changes
    lines: list[str] = []
    if report.note:
        lines.append(f"{report.stack}: {report.note}")
    if changes is None:
        return "\n".join([*lines, *_no_baseline_text(report), report.tree.rstrip()]).rstrip("\n") + "\n"
    if report.violations:
        lines.append(f"{report.stack}: {len(report.violations)} policy violation(s)")
        lines += [f"  ! {v}" for v in report.violations]
    if changes.empty:
        return "\n".join([*lines, f"{report.stack}: no changes"]) + "\n"
    lines.append(f"{report.stack}: {changes.headline()}")
    watched = watch_changes(changes)
    if not watched.empty:
        lines.append(f"{report.stack}: {watched.line()}")
    hits = _data_hit_lines(changes)
    if hits:
        lines.append("!! PROTECTED DATA: pulumi up would refuse or orphan these")
        lines += [f"   {h}" for h in hits]
    lines.append(f"   ({LEGEND})")
    for r in _ordered(changes):
        why = _why(r)
        lines.append(f"{r.symbol:>3} {r.type}  {r.name}" + (f"  ({why})" if why else ""))
        lines += [f"      {c.render()}" for c in r.changes]
    if changes.outputs:
        lines.append("outputs:")
        lines += [f"      {c.render()}" for c in changes.outputs]
    if changes.secure_config:
        lines.append("secure config:")
        lines += [f"      {c.render()}" for c in changes.secure_config]
    if changes.downstream:
        names = ", ".join(f"{r.name} (reads {', '.join(s)})" for r, s in changes.downstream)
        lines.append(f"may also change once replaced resources exist: {names}")
    return "\n".join(lines) + "\n"


def stack_cost_text(report: StackReport) -> str:
    """The terminal report's cost part of a stack (with --cost): its estimate, then the change against the baseline."""
    if report.cost_error:
        return f"\n{report.stack}: cost: not priced: {report.cost_error}\n"
    if report.estimate is None:
        return ""
    from offline_plan.cost_delta import delta_text
    from offline_plan.pricing import cost_text

    return "\n" + cost_text(report.estimate) + (delta_text(report.cost) if report.cost is not None else "")


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _stack_markdown(report: StackReport, *, details: bool, trees: bool) -> list[str]:
    changes = report.changes
    out = [f"### `{report.stack}`", ""]
    if report.note:
        out += [f"_{report.note}_", ""]
    if report.violations:
        out += [
            "> [!WARNING]",
            f"> **{len(report.violations)} policy violation(s)** (the same rules as `pulumi preview --policy-pack policy`):",
        ]
        out += [f"> - {_cell(v)}" for v in report.violations]
        out.append("")
    if changes is None:
        out += _no_baseline_markdown(report)
    elif changes.empty:
        out += ["No infrastructure changes.", ""]
    else:
        hits = _data_hits(changes)
        if hits:
            out += ["> [!CAUTION]", "> **Protected data:** `pulumi up` would refuse (protected) or orphan (retain-on-delete) these:"]
            out += [f"> - `{r.symbol}` `{r.type}` `{r.name}`: {why}" for r, why in hits]
            out.append("")
        watched = watch_changes(changes)
        out += [f"**{changes.headline()}**", ""]
        if not watched.empty:
            out += [f"**{watched.line()}**", ""]
        out += ["| | type | name | why |", "|---|---|---|---|"]
        for r in _ordered(changes):
            out.append(f"| `{r.symbol}` {r.action} | `{r.type}` | `{r.name}` | {_cell(_why(r))} |")
        out.append("")
        property_lines: list[str] = []
        for r in _ordered(changes):
            if r.changes:
                property_lines.append(f"@@ {r.symbol} {r.type} {r.name} @@")
                property_lines += [c.render() for c in r.changes]
        if changes.outputs:
            property_lines.append("@@ outputs @@")
            property_lines += [c.render() for c in changes.outputs]
        if changes.secure_config:
            property_lines.append("@@ secure config @@")
            property_lines += [c.render() for c in changes.secure_config]
        if property_lines and details:
            is_open = " open" if len(property_lines) <= FEW_CHANGES else ""
            out += [
                f"<details{is_open}><summary>Property changes ({len(property_lines)} lines)</summary>",
                "",
                "```diff",
                *property_lines,
                "```",
                "</details>",
                "",
            ]
        elif property_lines:
            out += [f"_{len(property_lines)} lines of property changes left out to fit the comment; see the workflow artifact._", ""]
        if changes.downstream:
            names = ", ".join(f"`{r.name}`" for r, _ in changes.downstream)
            out += [f"May also change once replaced resources exist: {names}.", ""]
    out += _cost_markdown(report) + _estimate_details(report)
    if trees and report.tree:
        out += ["<details><summary>Resource tree</summary>", "", "```", report.tree.rstrip(), "```", "</details>", ""]
    return out


def _no_baseline_markdown(report: StackReport) -> list[str]:
    out = ["> [!NOTE]", f"> **{NO_BASELINE[0].upper() + NO_BASELINE[1:]}** ({HOW_TO_DIFF}).", ""]
    result = f"**{_policy_result(report)}** (above)" if report.violations else _policy_result(report)
    planned = report.planned
    if planned is None:
        return [*out, f"Policies: {result}.", ""]
    out += [f"**Planned: {_planned_line(planned)}**; {result}.", ""]
    if report.watching is not None:
        out += ["**Checks and alerts**", "", *(f"- {line.strip()}" for line in watch_lines(report.watching)), ""]
    if planned.protected or planned.retained:
        out += ["Protected (`pulumi up` refuses to delete or replace them) and retain-on-delete resources:", ""]
        protected, retained = set(planned.protected), set(planned.retained)
        for t, n in sorted(protected | retained):
            flags = [flag for flag, holds in (("protected", (t, n) in protected), ("retained on delete", (t, n) in retained)) if holds]
            out.append(f"- `{t}` `{n}`: {', '.join(flags)}")
        out.append("")
    out += [f"<details><summary>Resources by type ({len(planned.by_type)} types)</summary>", "", "| type | count |", "|---|---:|"]
    out += [f"| `{t}` | {n} |" for t, n in planned.by_type]
    return [*out, "</details>", ""]


def _code(text: str) -> str:
    """A code span for any text (names come from stack config) in a table cell: no markup, no HTML, no column break."""
    body = text.replace("|", "\\|")
    fence, pad = ("``", " ") if "`" in body else ("`", "")
    return f"{fence}{pad}{body}{pad}{fence}"


def _cost_markdown(report: StackReport) -> list[str]:
    change = report.cost
    if change is None or change.unchanged:
        return []
    from offline_plan.cost_delta import ARROW, delta_words, flag_line, movers
    from offline_plan.pricing import money

    if change.before_total is None:
        return [f"_Monthly estimate {money(change.after_total)} USD; the base plan is not priced: {_cell(change.unpriced_base)}._", ""]
    delta = delta_words(change.delta or (0, 0))
    out = [f"**Monthly estimate: {money(change.before_total)} {ARROW} {money(change.after_total)} USD ({delta})**", ""]
    if change.flagged:
        out += ["> [!WARNING]", f"> This change {flag_line(change)}.", ""]
    elif change.threshold_note:
        out += [f"_`meteor-platform:costReview.flagIncreaseAbove`: {change.threshold_note}._", ""]
    out += ["| change | resource | how |", "|---:|---|---|"]
    for amount, resource, how in movers(change):
        name = f"{resource.short_type} {_code(resource.name)}" if resource else ""
        out.append(f"| {amount} | {name} | {_cell(how)} |")
    return [*out, ""]


def _estimate_details(report: StackReport) -> list[str]:
    """Without a baseline: the stack's estimate per resource, collapsed."""
    if report.estimate is None or report.cost is not None:
        return []
    from offline_plan.pricing import cost_text

    return [
        "<details><summary>Monthly estimate per resource</summary>",
        "",
        "```",
        cost_text(report.estimate).rstrip(),
        "```",
        "</details>",
        "",
    ]


def _cost_table(reports: list[StackReport]) -> list[str]:
    priced = [r for r in reports if r.estimate is not None or r.cost_error]
    estimate = next((r.estimate for r in priced if r.estimate is not None), None)
    if not priced:
        return []
    from offline_plan.cost_delta import delta_words, is_zero, summary_cells
    from offline_plan.pricing import money, other_region_prices, read_dates

    estimates = [r.estimate for r in priced if r.estimate is not None]
    dated = [d for d in (read_dates(e)[0] for e in estimates) if d]
    borrowed = sum(n for e in estimates for n in other_region_prices(e).values())
    out = [
        "**Monthly estimate** ("
        + (f"{estimate.currency}, list prices from `offline_plan/prices.yaml` compiled {estimate.as_of.isoformat()}" if estimate else "")
        + (f", the oldest price read {min(dated)}" if dated else "")
        + (f"; {borrowed} charges use a price read for another region (us-east-1), a lower bound" if borrowed else "")
        + "; a range where nodes or replicas autoscale; traffic, requests and data stored are usage-based and not included)",
        "",
        "| stack | before | after | change |",
        "|---|---:|---:|---:|",
    ]
    for report in priced:
        if report.estimate is None:
            out.append(f"| `{report.stack}` | | not priced | n/a |")
        elif report.cost is None:
            out.append(f"| `{report.stack}` (no baseline) | n/a | {money((report.estimate.low, report.estimate.high))} | n/a |")
        else:
            before, after, delta = summary_cells(report.cost)
            out.append(f"| `{report.stack}` | {before} | {after} | {delta} |")
    changes = [r.cost for r in priced if r.cost is not None]
    if len(priced) > 1 and len(changes) == len(priced) and all(c.delta is not None for c in changes):
        before_total = (
            sum(c.before_total[0] for c in changes if c.before_total),
            sum(c.before_total[1] for c in changes if c.before_total),
        )
        after_total = (sum(c.after_total[0] for c in changes), sum(c.after_total[1] for c in changes))
        delta = (after_total[0] - before_total[0], after_total[1] - before_total[1])
        shown = "0.00" if is_zero(delta) else delta_words(delta)
        out.append(f"| **all stacks** | {money(before_total)} | {money(after_total)} | {shown} |")
    out.append("")
    for report in priced:
        elsewhere = report.estimate.other_regions if report.estimate else {}
        if elsewhere:
            where = ", ".join(f"{region} ({n})" for region, n in sorted(elsewhere.items()))
            out += [f"_`{report.stack}`: resources in regions the table does not price, at its prices: {where}._", ""]
    return out


def _summary_table(reports: list[StackReport]) -> list[str]:
    out = [
        "| stack | create | update | replace | delete | protected-data hits | policy violations |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for report in reports:
        c = report.changes
        if c is None:
            out.append(f"| `{report.stack}` (no baseline) | n/a | n/a | n/a | n/a | n/a | {len(report.violations)} |")
            continue
        counts = [len(c.of(a)) if c else 0 for a in ("create", "update", "replace", "delete")]
        hits = len(c.data_hits) if c else 0
        out.append(
            f"| `{report.stack}` | "
            + " | ".join(str(n) for n in counts)
            + f" | {'**' + str(hits) + '**' if hits else 0} | {len(report.violations)} |"
        )
    return out


def comment(
    reports: list[StackReport], *, limit: int = GITHUB_COMMENT_LIMIT, artifact: str = "offline-preview", cost_notes: Sequence[str] = ()
) -> str:
    """One pull-request comment for every stack, within GitHub's size limit.

    `cost_notes`: what the reader of the cost table must know (the price table itself changed).
    """
    head = [COMMENT_MARKER, "## Offline preview", ""]
    if any(r.changes and r.changes.data_hits for r in reports):
        head += ["> [!CAUTION]", "> This change deletes or replaces protected data: `pulumi up` would refuse it (see below).", ""]
    unbased = [r.stack for r in reports if r.changes is None]
    if unbased:
        names = ", ".join(f"`{s}`" for s in unbased)
        head += ["> [!NOTE]", f"> No baseline for {names}: the plan as created is shown, not what changes.", ""]
    flagged = [r.cost for r in reports if r.cost is not None and r.cost.flagged]
    unpriced = [r for r in reports if r.cost_error]
    if flagged or unpriced:
        from offline_plan.cost_delta import flag_line

        head += ["> [!WARNING]", *(f"> **Cost:** `{c.stack}`: this change {flag_line(c)}." for c in flagged)]
        head += [f"> **Cost:** `{r.stack}` is not priced: {_cell(r.cost_error)}" for r in unpriced]
        head += [*(f"> {note}" for note in cost_notes), ""]
    elif cost_notes:
        head += [*(f"_{note}_" for note in cost_notes), ""]
    head += [*_summary_table(reports), "", f"<sub>{LEGEND}</sub>", "", *_cost_table(reports)]
    quiet = [r.stack for r in reports if r.changes is not None and r.changes.empty and not r.violations and not r.note]
    if quiet and len(quiet) < len(reports):
        head += [f"No infrastructure changes in {', '.join(f'`{s}`' for s in quiet)}.", ""]
    shown = [r for r in reports if r.stack not in quiet] or reports
    for details, trees in ((True, True), (True, False), (False, False)):
        body = head + [line for r in shown for line in _stack_markdown(r, details=details, trees=trees)]
        if not (details and trees):
            body += [
                f"_Trimmed to fit GitHub's {limit:,}-character comment limit: the full preview is the `{artifact}` workflow artifact._",
                "",
            ]
        text = "\n".join(body)
        if len(text) <= limit:
            return text
    note = f"\n\n_Truncated to fit GitHub's {limit:,}-character comment limit: the full preview is the `{artifact}` workflow artifact._\n"
    return text[: limit - len(note)] + note
