"""The example app builds: the `meteor` Dockerfile runs `meteor npm ci`, which refuses a lockfile out of
sync with package.json."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.harness import ROOT

TODOS = ROOT / "examples" / "todos"


def _read(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def test_the_lockfile_pins_every_dependency_of_package_json() -> None:
    """What `npm ci` checks, without npm: the lockfile's root lists package.json's dependencies and
    every package it installs is resolved to a version and a tarball checksum."""
    manifest = _read(TODOS / "package.json")
    lock = _read(TODOS / "package-lock.json")
    assert lock["lockfileVersion"] == 3
    packages: dict[str, dict[str, Any]] = lock["packages"]
    wanted = {**manifest.get("dependencies", {}), **manifest.get("devDependencies", {})}
    root = packages[""]
    assert {**root.get("dependencies", {}), **root.get("devDependencies", {})} == wanted
    for name, version in manifest["dependencies"].items():
        assert packages[f"node_modules/{name}"]["version"] == version, f"{name}: package.json pins {version}"
    for path, entry in packages.items():
        if path and not entry.get("inBundle"):
            assert entry.get("version") and entry.get("integrity"), f"{path} has no version and checksum"
            assert entry.get("resolved", "").startswith("https://registry.npmjs.org/"), f"{path} does not come from the npm registry"
        for dependency in entry.get("dependencies", {}):
            assert _resolve(packages, path, dependency), f"{path or 'the root'} needs {dependency}, which the lockfile lacks"


def _resolve(packages: dict[str, Any], path: str, dependency: str) -> bool:
    """Node's lookup: the package's own node_modules, then each ancestor's, up to the root."""
    while True:
        if f"{path}/node_modules/{dependency}".lstrip("/") in packages:
            return True
        if not path:
            return False
        path = path.rpartition("/node_modules/")[0] if "/node_modules/" in path else ""


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed; the structural check above still runs")
def test_npm_ci_accepts_the_lockfile(tmp_path: Path) -> None:
    for name in ("package.json", "package-lock.json"):
        shutil.copy(TODOS / name, tmp_path / name)
    proc = subprocess.run(
        ["npm", "ci", "--ignore-scripts", "--dry-run", "--offline", "--no-audit", "--no-fund"],
        cwd=tmp_path,
        env={"PATH": str(Path(shutil.which("npm") or "npm").parent), "HOME": str(tmp_path), "npm_config_cache": str(tmp_path / "cache")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
