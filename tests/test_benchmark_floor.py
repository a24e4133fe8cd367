"""The benchmark's floor is what it claims: the same resources as the platform's plan, registered
through the same command, with nothing of the platform loaded (benchmarks/stack_processes.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from benchmarks.stack_processes import floor_root, platform_imports
from tests.harness import ROOT


def test_the_floor_plans_the_platforms_resources_and_loads_nothing_of_it(tmp_path: Path) -> None:
    floor = floor_root("dev", under=tmp_path)
    command = [sys.executable, "-m", "offline_plan", "dev", "--quiet", "--root", str(floor)]
    assert platform_imports(command) == []
    planned = subprocess.run([*command[:-3], "--json", "-", "--root", str(floor)], cwd=ROOT, capture_output=True, text=True, check=True)
    urns = [r["urn"] for r in json.loads(planned.stdout)["resources"]]
    assert urns == [r["urn"] for r in json.loads((ROOT / "plans" / "dev.json").read_text())["resources"]]
