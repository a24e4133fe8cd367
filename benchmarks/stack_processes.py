"""Benchmark: each shipped stack's whole offline-plan process against its floor.

    .venv/bin/python benchmarks/stack_processes.py [--stacks dev byoc ...] [--repeat 7]

The floor of a stack is a process that imports only what the stack needs (pulumi, the mock
runtime, and the provider SDK modules its resources come from) and registers the same resources
(the SDKs' own classes, the same names, parents and inputs, from the committed plan) under the
same mocks and the same plan command. The difference is what
the platform's own code costs: config validation, components, and any SDK it imports without
needing it. Runs are interleaved and paired (platform and floor back to back, alternating which
goes first), each in a fresh process; the script prints min / median / max wall time, peak RSS,
and the median of the paired ratios.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.floor import FLOOR_PROGRAM  # noqa: E402


def floor_root(stack: str) -> Path:
    root = Path(tempfile.mkdtemp(prefix=f"floor-{stack}-"))
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text())
    (root / "plan.json").write_text(json.dumps(plan))
    config = {"bench:plan": str(root / "plan.json")}
    (root / f"Pulumi.{stack}.yaml").write_text(json.dumps({"config": config}))
    (root / "__main__.py").write_text(FLOOR_PROGRAM)
    return root


# Both processes run as Python normally does: with cached bytecode (the warm-up run writes it). A
# PYTHONDONTWRITEBYTECODE in the environment would make every run recompile the project's sources,
# a cost `pulumi up` does not pay and the floor, with little code of its own, hardly has.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def timed(command: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def summary(values: list[float]) -> str:
    return f"{min(values):6.3f} {statistics.median(values):6.3f} {max(values):6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    parser.add_argument("--stacks", nargs="+", default=stacks)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    python = sys.executable
    print("platform: `python -m offline_plan <stack> --quiet`; floor: the same resources registered by a bare program.")
    print(f"{args.repeat} paired runs per stack, order alternating; times in seconds (min median max).\n")
    width = max(len("stack"), *(len(s) for s in args.stacks))
    print(f"{'stack':<{width}} {'platform s':>20} {'floor s':>20} {'ratio (paired)':>20} {'RSS MiB':>8} {'floor RSS':>9}")
    for stack in args.stacks:
        floor = floor_root(stack)
        platform_cmd = [python, "-m", "offline_plan", stack, "--quiet"]
        floor_cmd = [python, "-m", "offline_plan", stack, "--quiet", "--root", str(floor)]
        for command in (platform_cmd, floor_cmd):  # warm the file cache
            timed(command)
        runs: dict[str, list[tuple[float, float]]] = {"platform": [], "floor": []}
        for i in range(args.repeat):
            order = [("platform", platform_cmd), ("floor", floor_cmd)]
            for kind, command in order if i % 2 == 0 else reversed(order):
                runs[kind].append(timed(command))
        platform = [w for w, _ in runs["platform"]]
        base = [w for w, _ in runs["floor"]]
        ratios = [p / f for p, f in zip(platform, base, strict=True)]
        print(
            f"{stack:<{width}} {summary(platform):>20} {summary(base):>20} {summary(ratios):>20} "
            f"{max(r for _, r in runs['platform']):>8.0f} {max(r for _, r in runs['floor']):>9.0f}"
        )


if __name__ == "__main__":
    main()
