"""Benchmark: the offline plan's cost per app, from 1 to 200 apps, against an honest floor.

    .venv/bin/python benchmarks/plan_scaling.py [--apps 1 10 50 100 200] [--repeat 3]

For each size, a generated Kubernetes stack with N apps and a realistic call graph (each app
calls up to three others, `connectsTo`), and its floor (`benchmarks/floor.py`: the same recorded
resources, typed classes, options, parents, dependencies and secrets, through the same runtime).
Both run as the real command (`python -m offline_plan bench --quiet`), each in a fresh process;
every repeat runs every variant of every size, in an order rotated from one repeat to the next,
so machine drift lands on both sides. Per-app cost is the slope between consecutive sizes,
computed per repeat; ratios are paired per repeat; figures print as min / median / max. Memory
is the peak RSS of the real command (no tracing rerun).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.floor import FLOOR_PROGRAM  # noqa: E402

DIGEST = "sha256:" + "cd" * 32
CALLS = 3
# As in stack_processes.py: children run with cached bytecode, as `pulumi up` does.
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def platform_stack(apps: int) -> dict[str, Any]:
    """N apps; app i calls the (up to) three apps before it."""
    return {
        "config": {
            "meteor-platform:environment": "staging",
            "meteor-platform:mongo": {"members": 3, "storageProvisioner": "dobs.csi.digitalocean.com"},
            "meteor-platform:apps": [
                {
                    "name": f"app{i}",
                    "image": f"ghcr.io/acme/app{i}@{DIGEST}",
                    "domain": f"app{i}.example.com",
                    "autoscaling": {"maxReplicas": 6},
                    "connectsTo": [f"app{j}" for j in range(max(0, i - CALLS), i)],
                }
                for i in range(apps)
            ],
        }
    }


def roots(apps: int) -> dict[str, Path]:
    """The platform's project for N apps, and its floor (from the platform's own plan)."""
    platform = Path(tempfile.mkdtemp(prefix=f"scale-{apps}-"))
    (platform / "Pulumi.bench.yaml").write_text(yaml.safe_dump(platform_stack(apps)))
    (platform / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    floor = Path(tempfile.mkdtemp(prefix=f"scale-floor-{apps}-"))
    plan = floor / "plan.json"
    subprocess.run(
        [sys.executable, "-m", "offline_plan", "bench", "--root", str(platform), "--json", str(plan), "--quiet"],
        cwd=ROOT,
        check=True,
        env=CHILD_ENV,
    )
    (floor / "Pulumi.bench.yaml").write_text(json.dumps({"config": {"bench:plan": str(plan)}}))
    (floor / "__main__.py").write_text(FLOOR_PROGRAM)
    return {"platform": platform, "floor": floor}


def timed(root: Path) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of the real command in a fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "offline_plan", "bench", "--root", str(root), "--quiet"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=CHILD_ENV,
    )
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{root} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return wall, usage.ru_maxrss / 1024


def spread(values: list[float], scale: float = 1.0, fmt: str = "{:7.1f}") -> str:
    return " ".join(fmt.format(v * scale) for v in (min(values), statistics.median(values), max(values)))


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[1, 10, 50, 100, 200])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = sorted(set(args.apps))
    projects = {n: roots(n) for n in sizes}
    # Warm-up: bytecode caches for both variants.
    for variant in ("platform", "floor"):
        timed(projects[sizes[0]][variant])
    runs: list[dict[tuple[int, str], tuple[float, float]]] = []
    jobs = [(n, v) for n in sizes for v in ("platform", "floor")]
    for repeat in range(args.repeat):
        shift = repeat % len(jobs)
        order = jobs[shift:] + jobs[:shift]
        runs.append({job: timed(projects[job[0]][job[1]]) for job in order})

    print((__doc__ or "").split("\n\n")[0])
    print(f"{args.repeat} interleaved repeats, order rotated; min / median / max.\n")
    print(f"{'apps':>5} {'platform s':>23} {'floor s':>23} {'ratio':>17} {'RSS MiB':>9} {'floor RSS':>9}")
    for n in sizes:
        platform = [r[n, "platform"][0] for r in runs]
        floor = [r[n, "floor"][0] for r in runs]
        ratio = [r[n, "platform"][0] / r[n, "floor"][0] for r in runs]
        rss = statistics.median(r[n, "platform"][1] for r in runs)
        floor_rss = statistics.median(r[n, "floor"][1] for r in runs)
        print(
            f"{n:>5} {spread(platform, fmt='{:7.3f}')} {spread(floor, fmt='{:7.3f}')} {spread(ratio, fmt='{:5.2f}')} {rss:>9.0f} {floor_rss:>9.0f}"
        )

    print(f"\n{'slice':>9} {'platform ms/app':>23} {'floor ms/app':>23} {'ratio':>17} {'RSS MiB/app':>12}")
    slices: dict[tuple[int, int], list[float]] = {}
    for a, b in itertools.pairwise(sizes):
        p = [(r[b, "platform"][0] - r[a, "platform"][0]) / (b - a) for r in runs]
        f = [(r[b, "floor"][0] - r[a, "floor"][0]) / (b - a) for r in runs]
        ratio = [pi / fi for pi, fi in zip(p, f, strict=True)]
        memory = statistics.median((r[b, "platform"][1] - r[a, "platform"][1]) / (b - a) for r in runs)
        slices[a, b] = p
        print(f"{a:>4}-{b:<4} {spread(p, 1000)} {spread(f, 1000)} {spread(ratio, fmt='{:5.2f}')} {memory:>12.2f}")
    whole_p = [(r[sizes[-1], "platform"][0] - r[sizes[0], "platform"][0]) / (sizes[-1] - sizes[0]) for r in runs]
    whole_f = [(r[sizes[-1], "floor"][0] - r[sizes[0], "floor"][0]) / (sizes[-1] - sizes[0]) for r in runs]
    print(
        f"\nper app over {sizes[0]}->{sizes[-1]}: platform {spread(whole_p, 1000)} ms, floor {spread(whole_f, 1000)} ms, "
        f"ratio {spread([a / b for a, b in zip(whole_p, whole_f, strict=True)], fmt='{:5.2f}')}"
    )
    if len(sizes) >= 3:
        low = [(r[min(50, sizes[-1]), "platform"][0] - r[sizes[0], "platform"][0]) / (min(50, sizes[-1]) - sizes[0]) for r in runs]
        high = [(r[sizes[-1], "platform"][0] - r[sizes[-2], "platform"][0]) / (sizes[-1] - sizes[-2]) for r in runs]
        linear = [h / lo for h, lo in zip(high, low, strict=True)]
        print(
            f"\nlinearity: the {sizes[-2]}->{sizes[-1]} slice costs {spread(linear, fmt='{:5.2f}')} x the "
            f"{sizes[0]}->{min(50, sizes[-1])} slice per app (flat is 1.0)"
        )


if __name__ == "__main__":
    main()
