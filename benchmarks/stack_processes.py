"""Benchmark: each shipped stack's whole offline-plan process against its floor.

    .venv/bin/python benchmarks/stack_processes.py [--stacks dev byoc ...] [--repeat 7]

The floor of a stack is a bare program (`benchmarks/floor.py`) that registers the same resources
(the SDKs' own classes, the same names, parents and inputs, from the committed plan) under the
same command (`python -m offline_plan <stack> --quiet --root <floor>`): the command's own work
(reading the stack file, the mocks, the plan, the policy checks) is on both sides, and nothing of
the platform is. The difference is what the platform's own code costs: config validation,
components, and any SDK it imports without needing it. The script checks that the floor imports
no module of the platform's packages beyond the command's own, nor the libraries only the
platform's work needs (pydantic: the command loads it only for --cost), and says which if it does.

Runs are interleaved and paired (platform and floor back to back, alternating which goes first),
each in a fresh process. The measure is CPU time (user + system) of each process, which a machine
shared with other work disturbs far less than wall time; the script prints min / median / max
CPU seconds, the paired CPU ratios, the median paired wall-time ratio, and peak RSS.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.floor import FLOOR_PROGRAM  # noqa: E402

PLATFORM_PACKAGE = "components"
COMMAND_READS = {"components", "components.stackfile", "components.secrets", "components.catalogue"}
"""The platform's modules that the command itself imports on both sides: the stack-file reader, the
`secure:` stand-in it hands the program, the versions its mocks answer with."""
PLATFORM_LIBRARIES = {"pydantic", "pydantic_core"}
"""Libraries only the platform's own work needs (config validation): a floor that loaded one would
hide its cost (the command loads pydantic only for --cost's price table)."""


def floor_root(stack: str, under: Path | None = None) -> Path:
    """A project directory whose program is `stack`'s floor (in a new temporary directory under `under`)."""
    root = Path(tempfile.mkdtemp(prefix=f"floor-{stack}-", dir=under))
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


@dataclass(frozen=True)
class Run:
    cpu: float
    """User + system seconds of the process."""
    wall: float
    rss: float
    """Peak resident set, MiB."""


def timed(command: list[str]) -> Run:
    """CPU and wall seconds and peak RSS of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=CHILD_ENV)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"{' '.join(command)} failed: {process.stderr.read().decode() if process.stderr else ''}")
    return Run(cpu=usage.ru_utime + usage.ru_stime, wall=wall, rss=usage.ru_maxrss / 1024)


def platform_imports(command: list[str]) -> list[str]:
    """The platform's modules that `command` (a Python process) imports beyond the command's own, and
    the platform's own libraries it loads."""
    python, *rest = command
    result = subprocess.run([python, "-X", "importtime", *rest], cwd=ROOT, capture_output=True, text=True, env=CHILD_ENV, check=True)
    names = [line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    modules = {n for n in names if n.split(".")[0] == PLATFORM_PACKAGE} - COMMAND_READS
    return sorted(modules | ({n.split(".")[0] for n in names} & PLATFORM_LIBRARIES))


def summary(values: list[float]) -> str:
    return f"{min(values):6.3f} {statistics.median(values):6.3f} {max(values):6.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    stacks = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
    parser.add_argument("--stacks", nargs="+", default=stacks)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()

    python = sys.executable
    print("platform: `python -m offline_plan <stack> --quiet`; floor: the same resources registered by a bare program, same command.")
    print(f"{args.repeat} paired runs per stack, order alternating; CPU seconds (user + system) as min median max.\n")
    width = max(len("stack"), *(len(s) for s in args.stacks))
    print(
        f"{'stack':<{width}} {'platform CPU s':>20} {'floor CPU s':>20} {'CPU ratio (paired)':>20} {'wall ratio':>10} "
        f"{'RSS MiB':>8} {'floor RSS':>9}"
    )
    impure: dict[str, list[str]] = {}
    for stack in args.stacks:
        floor = floor_root(stack)
        platform_cmd = [python, "-m", "offline_plan", stack, "--quiet"]
        floor_cmd = [python, "-m", "offline_plan", stack, "--quiet", "--root", str(floor)]
        for command in (platform_cmd, floor_cmd):  # warm the file cache and the bytecode
            timed(command)
        if imported := platform_imports(floor_cmd):
            impure[stack] = imported
        runs: dict[str, list[Run]] = {"platform": [], "floor": []}
        for i in range(args.repeat):
            order = [("platform", platform_cmd), ("floor", floor_cmd)]
            for kind, command in order if i % 2 == 0 else reversed(order):
                runs[kind].append(timed(command))
        platform, base = runs["platform"], runs["floor"]
        cpu_ratios = [p.cpu / f.cpu for p, f in zip(platform, base, strict=True)]
        wall_ratio = statistics.median(p.wall / f.wall for p, f in zip(platform, base, strict=True))
        shutil.rmtree(floor)
        print(
            f"{stack:<{width}} {summary([r.cpu for r in platform]):>20} {summary([r.cpu for r in base]):>20} "
            f"{summary(cpu_ratios):>20} {wall_ratio:>10.3f} {max(r.rss for r in platform):>8.0f} {max(r.rss for r in base):>9.0f}",
            flush=True,
        )
    print()
    if impure:
        for stack, imported in impure.items():
            print(f"the {stack} floor loads what only the platform needs: {', '.join(imported)}")
    else:
        print(
            f"no floor imports a module of the platform ({PLATFORM_PACKAGE}/) beyond the command's own ({', '.join(sorted(COMMAND_READS))}),"
            f" nor {', '.join(sorted(PLATFORM_LIBRARIES))}."
        )


if __name__ == "__main__":
    main()
