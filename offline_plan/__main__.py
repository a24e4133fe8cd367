"""Offline plan: what `pulumi up` would do for a stack, with no CLI, cloud or credentials.

    python -m offline_plan staging                     # resource tree
    python -m offline_plan staging --json plans/staging.json --manifests out/staging
    python -m offline_plan staging --diff plans/staging.json --markdown

Runs the real program for `Pulumi.<stack>.yaml` under Pulumi's mock runtime. `secure:` values
are not decrypted: they are unknown secrets. A bad config prints the same message `pulumi up`
shows and exits with status 2.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
from pathlib import Path

import pulumi

from offline_plan.report import diff_plans, diff_text, markdown, plan_text, tree, write_manifests
from offline_plan.runtime import run_program

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    # A short-lived process that allocates many small, mostly acyclic objects (config schemas,
    # resource registrations): collect cycles rarely instead of every 700 allocations.
    gc.set_threshold(100_000, 50, 50)
    parser = argparse.ArgumentParser(prog="python -m offline_plan", description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("stack", help="stack name: plans Pulumi.<stack>.yaml")
    parser.add_argument("--root", type=Path, default=ROOT, metavar="DIR", help="project directory (Pulumi.<stack>.yaml, __main__.py)")
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the full desired state as JSON")
    parser.add_argument("--manifests", type=Path, metavar="DIR", help="write every Kubernetes object as YAML")
    parser.add_argument("--diff", type=Path, metavar="OLD.json", help="show changes against an earlier JSON plan")
    parser.add_argument("--markdown", action="store_true", help="print a summary for a pull-request comment")
    parser.add_argument("--quiet", action="store_true", help="do not print the resource tree")
    args = parser.parse_args(argv)

    try:
        result = run_program(args.root, args.stack)
    except pulumi.RunError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    text = plan_text(result.as_json())
    plan = json.loads(text)

    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text)
    if args.manifests:
        written = write_manifests(plan, args.manifests)
        print(f"wrote {len(written)} manifests to {args.manifests}", file=sys.stderr)
    diff = None
    if args.diff:
        if not args.diff.exists():
            print(f"error: no earlier plan at {args.diff}", file=sys.stderr)
            return 2
        diff = diff_plans(json.loads(args.diff.read_text()), plan)
    if args.markdown:
        sys.stdout.write(markdown(plan, diff))
    elif diff is not None:
        sys.stdout.write(diff_text(diff))
    elif not args.quiet:
        sys.stdout.write(tree(plan))
    return 0


if __name__ == "__main__":
    sys.exit(main())
