"""Offline plan: what `pulumi up` would do for a stack, with no CLI, cloud or credentials.

    python -m offline_plan staging                          # resource tree
    python -m offline_plan staging --json plans/staging.json --manifests out/staging
    python -m offline_plan staging --diff plans/staging.json
    python -m offline_plan --all --base origin/main --markdown   # the pull-request comment
    python -m offline_plan production --cost                # plus the monthly estimate (prices.yaml)
    /path/to/project/scripts/plan staging                   # the same, from any directory

`python -m offline_plan` resolves the module from the current directory, so it runs from the
project directory; `scripts/plan` runs it from anywhere with the project's venv.

Runs the real program for `Pulumi.<stack>.yaml` under Pulumi's mock runtime. `secure:` values
are not decrypted: they are unknown secrets. Every stack's plan is also checked against the
platform's policies (`policy/`).

Without `--diff` or `--base` there is no baseline: the report shows the plan as created (what
it creates, what is protected, the policy result) and says so; it never says "no changes",
since it cannot see a change.

Exit status: 0 no changes against the baseline (without one: the plan was made and passes the
policies, which says nothing about changes), 3 changes, 4 a change that deletes or replaces
protected or retain-on-delete data (`pulumi up` would refuse or orphan it), 5 a policy violation
(with or without a baseline), 2 bad input (config, stack file, plan file, arguments). The most
serious one wins.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent

NO_CHANGES, BAD_INPUT, CHANGES, PROTECTED_DATA, POLICY_VIOLATION = 0, 2, 3, 4, 5
SEVERITY = [NO_CHANGES, CHANGES, POLICY_VIOLATION, PROTECTED_DATA, BAD_INPUT]
READABLE_PLAN_FORMATS = {1, 2}


class InputError(Exception):
    """A mistake in what the command was given: one line, exit status 2."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m offline_plan",
        description=(__doc__ or "").split("\n\n")[0],
        epilog=(
            "exit status: 0 no changes (without --diff/--base: planned, policies passed), 3 changes, "
            "4 protected data deleted or replaced, 5 policy violation, 2 bad input"
        ),
    )
    parser.add_argument("stacks", nargs="*", metavar="STACK", help="stack name(s): plans Pulumi.<stack>.yaml")
    parser.add_argument("--all", action="store_true", help="every stack with a Pulumi.<stack>.yaml in the project")
    parser.add_argument("--root", type=Path, default=ROOT, metavar="DIR", help="project directory (Pulumi.<stack>.yaml, __main__.py)")
    parser.add_argument("--json", metavar="PATH", help="write the full desired state as JSON ('-' for standard output); one stack")
    parser.add_argument("--manifests", type=Path, metavar="DIR", help="write every Kubernetes object as YAML; one stack")
    base = parser.add_mutually_exclusive_group()
    base.add_argument("--diff", type=Path, metavar="OLD.json", help="show changes against an earlier JSON plan; one stack")
    base.add_argument("--base", metavar="REF", help="show changes against plans/<stack>.json at git revision REF (e.g. origin/main)")
    parser.add_argument("--markdown", action="store_true", help="print one pull-request comment for every stack given")
    parser.add_argument("--output", type=Path, metavar="FILE", help="write the report to FILE instead of standard output")
    parser.add_argument(
        "--cost",
        action="store_true",
        help="also price each stack per month from offline_plan/prices.yaml; with --diff/--base, before -> after and what moves it",
    )
    parser.add_argument("--quiet", action="store_true", help="print nothing when there is no diff to show")
    return parser


def _available_stacks(root: Path) -> list[str]:
    return sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in root.glob("Pulumi.*.yaml"))


def _stacks(args: argparse.Namespace) -> list[str]:
    available = _available_stacks(args.root)
    if not args.root.is_dir():
        raise InputError(f"--root {args.root}: not a directory")
    stacks: list[str] = available if args.all else list(dict.fromkeys(args.stacks))
    if not stacks:
        raise InputError(f"name a stack or give --all; the stacks in {args.root} are: {', '.join(available) or 'none'}")
    for stack in stacks:
        if not (args.root / f"Pulumi.{stack}.yaml").exists():
            raise InputError(
                f"no stack {stack!r} (no Pulumi.{stack}.yaml in {args.root}); the stacks here are: {', '.join(available) or 'none'}"
            )
    single = [flag for flag, value in (("--json", args.json), ("--manifests", args.manifests), ("--diff", args.diff)) if value]
    if single and len(stacks) > 1:
        raise InputError(f"{', '.join(single)} take one stack; {len(stacks)} were given")
    return stacks


def _check_plan(document: Any, origin: str) -> dict[str, Any]:
    if not isinstance(document, dict):
        raise InputError(f"{origin}: not an offline plan (expected a JSON object with `stack` and `resources`, from --json)")
    plan = cast(dict[str, Any], document)
    resources = plan.get("resources")
    if not isinstance(resources, list) or "stack" not in plan:
        raise InputError(f"{origin}: not an offline plan (expected a JSON object with `stack` and `resources`, from --json)")
    if plan.get("format") not in READABLE_PLAN_FORMATS:
        raise InputError(f"{origin}: plan format {plan.get('format')!r}; this tool reads formats {sorted(READABLE_PLAN_FORMATS)}")
    for index, resource in enumerate(cast(list[Any], resources)):
        if not isinstance(resource, dict) or not {"urn", "type", "name", "inputs"} <= set(cast(dict[str, Any], resource)):
            raise InputError(f"{origin}: resources[{index}] is not a planned resource (expected urn, type, name, inputs)")
    return plan


def _read_plan_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"--diff {path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"--diff {path}: is a directory; expected a JSON plan") from None
    except (OSError, UnicodeDecodeError) as err:
        raise InputError(f"--diff {path}: cannot be read ({getattr(err, 'strerror', None) or err})") from None
    try:
        return _check_plan(json.loads(text), f"--diff {path}")
    except json.JSONDecodeError as err:
        raise InputError(f"--diff {path}: not JSON (line {err.lineno}, column {err.colno}: {err.msg})") from None


def _git_file(root: Path, ref: str, path: Path) -> bytes | None:
    """The bytes of `path` (in the project at `root`) at git revision `ref`; None when that revision has no such file."""
    if ref.startswith("-"):
        raise InputError(f"--base {ref}: not a git revision")
    try:
        top = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=root, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        raise InputError("--base needs git, which is not installed") from None
    if top.returncode != 0:
        raise InputError(f"--base {ref}: {root} is not in a git repository")
    relative = (root.resolve() / path).relative_to(Path(top.stdout.strip()).resolve())
    commit = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"], cwd=root, capture_output=True, text=True, check=False
    )
    if commit.returncode != 0:
        raise InputError(f"--base {ref}: no such git revision (fetch it first, e.g. git fetch origin main)")
    shown = subprocess.run(["git", "show", f"{commit.stdout.strip()}:{relative.as_posix()}"], cwd=root, capture_output=True, check=False)
    return shown.stdout if shown.returncode == 0 else None


def _read_base_plan(root: Path, ref: str, stack: str) -> dict[str, Any] | None:
    """The committed plan of `stack` at git revision `ref`; None when that revision has none."""
    path = Path("plans") / f"{stack}.json"
    shown = _git_file(root, ref, path)
    if shown is None:
        return None
    try:
        return _check_plan(json.loads(shown.decode("utf-8")), f"{ref}:{path.as_posix()}")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise InputError(f"{ref}:{path.as_posix()}: not JSON ({err})") from None


def _base_prices(root: Path, ref: str) -> tuple[Any, str]:
    """The base branch's price table when this change edits it (else None), and what the comment says.

    The table belongs to this tool (offline_plan/prices.yaml beside it), so it is read from the
    tool's own repository, and only when the project planned is that repository.
    """
    from offline_plan.cost_delta import base_price_table
    from offline_plan.pricing import PRICES

    if root.resolve() != ROOT:
        return None, ""
    return base_price_table(_git_file(ROOT, ref, PRICES.relative_to(ROOT)), PRICES.read_bytes(), ref)


def _write(target: str | Path, text: str, what: str) -> None:
    if str(target) == "-":
        sys.stdout.write(text)
        return
    path = Path(target)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except IsADirectoryError:
        raise InputError(f"{what} {path}: is a directory; expected a file path") from None
    except OSError as err:
        raise InputError(f"{what} {path}: cannot be written ({err.strerror or err})") from None


def run(argv: list[str] | None, *, freeze_heap: bool = False) -> int:
    args = _parser().parse_args(argv)
    import pulumi

    from components.stackfile import check_stack_name

    for stack in args.stacks:
        try:
            check_stack_name(stack)
        except pulumi.RunError as err:
            raise InputError(str(err)) from None
    stacks = _stacks(args)

    from offline_plan.changes import PlanMismatchError, plan_changes
    from offline_plan.policy_check import violations
    from offline_plan.render import StackReport, comment, stack_cost_text, stack_text
    from offline_plan.report import plan_text, summarize, tree, write_manifests
    from offline_plan.runtime import run_program
    from offline_plan.watching import watch_summary

    reports: list[StackReport] = []
    prices, table_error, base_table, prices_note = None, "", None, ""
    if args.cost:
        # The price table (pydantic models) loads only with --cost: a plan without it pays nothing for it.
        import yaml
        from pydantic import ValidationError

        from offline_plan.pricing import load_prices

        try:
            prices = load_prices()
        except (OSError, yaml.YAMLError, ValidationError) as err:
            # A broken table must not take the plan diff and the protected-data report down with it.
            table_error = f"offline_plan/prices.yaml cannot be read: {str(err).splitlines()[0]}"
        if args.base:
            base_table, prices_note = _base_prices(args.root, args.base)
    status = NO_CHANGES
    for stack in stacks:
        try:
            result = run_program(args.root, stack, freeze_heap=freeze_heap)
        except pulumi.RunError as err:
            raise InputError(str(err)) from None
        text = plan_text(result.as_json())
        plan = json.loads(text)
        if args.json:
            _write(args.json, text, "--json")
        if args.manifests:
            try:
                written = write_manifests(plan, args.manifests)
            except OSError as err:
                raise InputError(f"--manifests {args.manifests}: cannot be written ({err.strerror or err})") from None
            print(f"wrote {len(written)} manifests to {args.manifests}", file=sys.stderr)
        report = StackReport(
            stack=stack,
            changes=None,
            violations=[str(v) for v in violations(plan)],
            tree=tree(plan),
            planned=summarize(plan),
            watching=watch_summary(plan),
        )
        if report.violations:
            status = max(status, POLICY_VIOLATION, key=SEVERITY.index)
        earlier: dict[str, Any] | None = None
        if args.diff:
            earlier = _read_plan_file(args.diff)
        elif args.base:
            earlier = _read_base_plan(args.root, args.base, stack)
            if earlier is None:
                earlier = {"project": plan["project"], "stack": stack, "resources": [], "outputs": {}}
                report.note = f"new stack: no plans/{stack}.json at {args.base}"
        if earlier is not None:
            try:
                report.changes = plan_changes(earlier, plan)
            except PlanMismatchError as err:
                raise InputError(f"{'--diff ' + str(args.diff) if args.diff else '--base ' + str(args.base)}: {err}") from None
            if report.changes.data_hits:
                status = max(status, PROTECTED_DATA, key=SEVERITY.index)
            elif not report.changes.empty:
                status = max(status, CHANGES, key=SEVERITY.index)
        if table_error:
            report.cost_error = table_error
        elif prices is not None:
            # The platform's config, for --cost only: a plan without it imports nothing of the config layer.
            from components.config.review import flag_threshold_in, stack_flag_threshold
            from offline_plan.cost_delta import applied_threshold, price_change
            from offline_plan.pricing import UnpricedError

            head = stack_flag_threshold(args.root, stack)
            base = flag_threshold_in(_git_file(args.root, args.base, Path(f"Pulumi.{stack}.yaml")) or b"") if args.base else None
            threshold, why = applied_threshold(head, base)
            try:
                report.estimate, report.cost = price_change(plan, earlier, prices, threshold, threshold_note=why, base_table=base_table)
            except UnpricedError as err:
                report.cost_error = str(err)
        reports.append(report)

    notes = [prices_note] if prices_note else []
    if args.markdown:
        output = comment(reports, cost_notes=[n for n in notes if n])
    elif args.quiet and all(r.changes is None for r in reports):
        output = "".join(stack_text(r) for r in reports if r.violations)
    else:
        output = "".join(stack_text(r) + stack_cost_text(r) for r in reports) + "".join(f"\n{n}\n" for n in notes if n)
    if args.output:
        _write(args.output, output, "--output")
    elif output and args.json != "-":
        sys.stdout.write(output)
    return status


def main(argv: list[str] | None = None, *, exiting: bool = False) -> int:
    """The command. `exiting`: the process ends after the report (the command line), so each run's
    heap is frozen out of the collector's reach; a caller that lives on (the tests) keeps its heap
    collectable, or every later run would hand the caller's whole heap back to a full collection."""
    # A short-lived process that allocates many small, mostly acyclic objects (config schemas,
    # resource registrations): collect cycles rarely instead of every 700 allocations.
    gc.set_threshold(100_000, 50, 50)
    try:
        return run(argv, freeze_heap=exiting)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return BAD_INPUT


def _missing_environment() -> str | None:
    """The first package of the project's environment this interpreter lacks (tells a missing
    environment from a bug). pulumi is imported (every plan needs it, and a dependency it lacks
    shows); pydantic and its core are only looked up: a plan without --cost may not load them."""
    import importlib.util

    try:
        import pulumi  # noqa: F401  # pyright: ignore[reportUnusedImport]
    except ModuleNotFoundError as missing:
        return missing.name
    return next((name for name in ("pydantic", "pydantic_core") if importlib.util.find_spec(name) is None), None)


if __name__ == "__main__":
    if (missing := _missing_environment()) is not None:
        print(
            f"error: {sys.executable} has no {missing!r}: run with the project's environment "
            "(bash scripts/setup, then .venv/bin/python -m offline_plan ...)",
            file=sys.stderr,
        )
        sys.exit(BAD_INPUT)
    sys.exit(main(exiting=True))
