"""The README's sample pull-request comment, made by the real preview from committed inputs.

    python -m offline_plan.readme_sample            # print it
    python -m offline_plan.readme_sample --write    # refresh README.md (scripts/update-generated does)

The sample pull request (`SAMPLE_CHANGE`) adds an env var to staging's app, switches
production's file storage to GridFS and moves production's database one size up (the comment
shows what that costs, priced with `offline_plan/prices.yaml`). Each shipped stack's file, so changed, is planned in a
scratch copy of the project and compared with its committed `plans/<stack>.json`: what
`python -m offline_plan --all --base origin/main --markdown` comments on such a pull request
once `plans/` on the base branch is current (with `--cost`). `tests/test_readme_sample.py` fails when the
README's copy differs.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
START, END = "<!-- preview-sample:start -->\n", "<!-- preview-sample:end -->"
REFRESH = "python -m offline_plan.readme_sample --write (or bash scripts/update-generated)"


def _add_env_var(config: dict[str, Any]) -> None:
    app = config["meteor-platform:apps"][0]
    app["env"] = {**app.get("env", {}), "MAIL_FROM": "todos@staging.example.com"}


def _gridfs_and_a_bigger_database(config: dict[str, Any]) -> None:
    config["meteor-platform:storage"] = {"provider": "gridfs"}
    config["meteor-platform:mongo"] = {**config["meteor-platform:mongo"], "size": "db-s-4vcpu-8gb"}


SAMPLE_CHANGE: dict[str, Callable[[dict[str, Any]], None]] = {"staging": _add_env_var, "production": _gridfs_and_a_bigger_database}
"""What the sample pull request changes, per stack file (its `config`)."""

PROJECT_FILES = ("__main__.py", "plans", "examples", "dockerfiles")
"""What planning a stack reads beside its stack file: the program, the committed plans (promotion), the app sources (builds)."""


def scratch_project(root: Path, target: Path, changes: Mapping[str, Callable[[dict[str, Any]], None]] = SAMPLE_CHANGE) -> list[str]:
    """A copy of the project at `target` with `changes` (the sample change) applied to stack files; every stack's name."""
    for name in PROJECT_FILES:
        source = root / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("node_modules", "local", "__pycache__"))
        else:
            shutil.copy2(source, target / name)
    stacks: list[str] = []
    for stack_file in sorted(root.glob("Pulumi.*.yaml")):
        stack = stack_file.name[len("Pulumi.") : -len(".yaml")]
        stacks.append(stack)
        if stack not in changes:
            shutil.copy2(stack_file, target / stack_file.name)
            continue
        document = yaml.safe_load(stack_file.read_text(encoding="utf-8"))
        changes[stack](document["config"])
        (target / stack_file.name).write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return stacks


def sample(root: Path = ROOT) -> str:
    """The comment, resource trees left out (each is a stack's whole tree, collapsed in a real comment)."""
    from components.config.review import stack_flag_threshold
    from offline_plan.changes import plan_changes
    from offline_plan.cost_delta import applied_threshold, price_change
    from offline_plan.policy_check import violations
    from offline_plan.pricing import load_prices
    from offline_plan.render import StackReport, comment
    from offline_plan.report import plan_text, summarize
    from offline_plan.runtime import run_program

    prices = load_prices()

    reports: list[StackReport] = []
    with tempfile.TemporaryDirectory(prefix="readme-sample-") as scratch:
        for stack in scratch_project(root, Path(scratch)):
            plan = json.loads(plan_text(run_program(Path(scratch), stack).as_json()))
            committed = json.loads((root / "plans" / f"{stack}.json").read_text(encoding="utf-8"))
            found = [str(v) for v in violations(plan)]
            # The base branch's threshold is the committed stack file's (what --base reads with git).
            threshold, why = applied_threshold(stack_flag_threshold(Path(scratch), stack), stack_flag_threshold(root, stack))
            estimate, cost = price_change(plan, committed, prices, threshold, threshold_note=why)
            reports.append(
                StackReport(
                    stack=stack,
                    changes=plan_changes(committed, plan),
                    violations=found,
                    tree="",
                    planned=summarize(plan),
                    estimate=estimate,
                    cost=cost,
                )
            )
    return comment(reports)


def readme_copy(readme: str) -> str:
    """The sample as README.md holds it, between its markers."""
    return readme.split(START, 1)[1].split(END, 1)[0]


def write(readme: Path = README) -> None:
    text = readme.read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    readme.write_text(head + START + sample() + "\n" + END + rest.split(END, 1)[1], encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:
        write()
    elif sys.argv[1:]:
        print("usage: python -m offline_plan.readme_sample [--write]", file=sys.stderr)
        sys.exit(2)
    else:
        sys.stdout.write(sample())
