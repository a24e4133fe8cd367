"""Benchmark: offline-plan cost for 1, 10 and 50 Meteor apps against a bare-Pulumi baseline.

    .venv/bin/python benchmarks/plan_scaling.py [--apps 1 10 50] [--repeat 3]

For each size it runs, each in a fresh subprocess (so imports and caches do not leak between
runs): the real program for a generated stack with N apps, and a bare program that registers
the same number of plain Kubernetes ConfigMaps under the same mocks and recording monitor.
It prints median wall time of the program run, peak Python memory (tracemalloc, on a second run),
peak RSS of the process, the platform/baseline ratio and the per-app cost.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DIGEST = "sha256:" + "cd" * 32

REPLAY_PROGRAM = """
import json
import pulumi

# The same resources the platform registers, with the same inputs, without any of its code.
plan = json.loads(open(pulumi.Config("bench").require("plan")).read())
for r in plan["resources"]:
    if r["custom"] and not r["type"].startswith("pulumi:providers:"):
        pulumi.CustomResource(r["type"], r["name"], props=r["inputs"])
"""

BASELINE_PROGRAM = """
import pulumi
import pulumi_kubernetes as k8s

count = int(pulumi.Config("bench").require("count"))
provider = k8s.Provider("provider")
for i in range(count):
    k8s.core.v1.ConfigMap(f"plain-{i}", data={"index": str(i)}, opts=pulumi.ResourceOptions(provider=provider))
"""


def platform_stack(apps: int) -> dict[str, Any]:
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
                }
                for i in range(apps)
            ],
        }
    }


def worker(kind: str, apps: int, resources: int) -> dict[str, Any]:
    from offline_plan.report import plan_text
    from offline_plan.runtime import run_program

    root = Path(tempfile.mkdtemp(prefix=f"bench-{kind}-"))
    if kind == "platform":
        (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump(platform_stack(apps)))
        (root / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    elif kind == "replay":
        plan_file = root / "plan.json"
        plan_file.write_text(plan_text(_planned(apps)))
        (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": {"bench:plan": str(plan_file)}}))
        (root / "__main__.py").write_text(REPLAY_PROGRAM)
    else:
        (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump({"config": {"bench:count": str(resources)}}))
        (root / "__main__.py").write_text(BASELINE_PROGRAM)
    # Import what the program uses first: the figures are about planning, not interpreter start-up.
    import importlib

    import components.platform  # noqa: F401

    for group in ("core.v1", "apps.v1", "networking.v1", "policy.v1", "batch.v1", "autoscaling.v2", "storage.v1"):
        importlib.import_module(f"pulumi_kubernetes.{group}")
    start = time.perf_counter()
    result = run_program(root, "bench")
    wall = time.perf_counter() - start
    # Memory is measured on a second run: tracemalloc slows allocation-heavy code several times.
    tracemalloc.start()
    run_program(root, "bench")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "wall": wall,
        "peak_python_mib": peak / 2**20,
        "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "resources": len(result.resources),
    }


def _planned(apps: int) -> dict[str, Any]:
    """The platform's plan for `apps` apps, computed in a child process so this one stays cold."""
    out = subprocess.run(
        [sys.executable, __file__, "--worker", "plan-json", str(apps), "0"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return json.loads(out.stdout)


def measure(kind: str, apps: int, resources: int, repeat: int) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, __file__, "--worker", kind, str(apps), str(resources)],
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return {key: statistics.median(r[key] for r in runs) for key in runs[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--apps", type=int, nargs="+", default=[1, 10, 50])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--worker", nargs=3, metavar=("KIND", "APPS", "RESOURCES"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, apps, resources = args.worker
        if kind == "plan-json":
            from offline_plan.runtime import run_program

            root = Path(tempfile.mkdtemp(prefix="bench-plan-"))
            (root / "Pulumi.bench.yaml").write_text(yaml.safe_dump(platform_stack(int(apps))))
            (root / "__main__.py").write_text((ROOT / "__main__.py").read_text())
            print(json.dumps(run_program(root, "bench").as_json()))
            return
        print(json.dumps(worker(kind, int(apps), int(resources))))
        return

    print("platform: the real program; replay: a bare program registering the same resources with the same inputs;")
    print("plain: a bare program registering as many small ConfigMaps. Times are medians of --repeat runs.\n")
    print(
        f"{'apps':>5} {'resources':>9} {'platform s':>10} {'replay s':>9} {'plain s':>8} {'vs replay':>9} {'vs plain':>8} "
        f"{'py MiB':>7} {'replay MiB':>10} {'RSS MiB':>8}"
    )
    rows: list[tuple[int, dict[str, Any], dict[str, Any], dict[str, Any]]] = []
    for apps in args.apps:
        platform = measure("platform", apps, 0, args.repeat)
        replay = measure("replay", apps, 0, args.repeat)
        plain = measure("plain", apps, int(platform["resources"]), args.repeat)
        rows.append((apps, platform, replay, plain))
        print(
            f"{apps:>5} {int(platform['resources']):>9} {platform['wall']:>10.3f} {replay['wall']:>9.3f} {plain['wall']:>8.3f} "
            f"{platform['wall'] / replay['wall']:>9.2f} {platform['wall'] / plain['wall']:>8.2f} "
            f"{platform['peak_python_mib']:>7.1f} {replay['peak_python_mib']:>10.1f} {platform['peak_rss_mib']:>8.0f}"
        )
    if len(rows) >= 2:
        (a1, p1, r1, b1), (a2, p2, r2, b2) = rows[0], rows[-1]

        def per_app(first: dict[str, Any], last: dict[str, Any]) -> float:
            return (last["wall"] - first["wall"]) / (a2 - a1)

        print(
            f"\nmarginal cost per app: platform {1000 * per_app(p1, p2):.1f} ms, replay {1000 * per_app(r1, r2):.1f} ms "
            f"(ratio {per_app(p1, p2) / per_app(r1, r2):.2f}), plain {1000 * per_app(b1, b2):.1f} ms "
            f"(ratio {per_app(p1, p2) / per_app(b1, b2):.2f})"
        )
        print(
            f"growth {a1}->{a2} apps: platform time x{p2['wall'] / p1['wall']:.1f}, "
            f"memory x{p2['peak_python_mib'] / p1['peak_python_mib']:.1f}, resources x{p2['resources'] / p1['resources']:.1f}"
        )


if __name__ == "__main__":
    main()
