"""The offline plan of every shipped stack: fresh, schema-valid, secret-free, diffable."""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components import catalogue
from offline_plan.changes import plan_changes
from offline_plan.render import StackReport, comment, stack_text
from offline_plan.report import kubernetes_objects, plan_text, tree, write_manifests
from offline_plan.runtime import run_program
from tests import harness
from tests.harness import ROOT

STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
# The oldest and the newest minor a cluster the platform creates can run (components/catalogue.py).
_OFFERED = sorted({*catalogue.EKS_VERSIONS, *catalogue.DOKS_MINORS}, key=lambda minor: tuple(int(p) for p in minor.split(".")))
KUBERNETES_VERSIONS = [f"{_OFFERED[0]}.0", f"{_OFFERED[-1]}.0"]
CUSTOM_RESOURCE_GROUPS = {"cert-manager.io"}


@pytest.fixture(scope="module", params=STACKS)
def shipped(request: pytest.FixtureRequest) -> tuple[str, dict[str, Any], list[str]]:
    run = harness.shipped(request.param)
    return request.param, run.plan, run.result.generated_secrets


def test_there_are_shipped_stacks() -> None:
    assert {"byoc", "staging", "production"} <= set(STACKS)


def test_committed_plan_is_fresh(shipped: tuple[str, dict[str, Any], list[str]]) -> None:
    stack, plan, _ = shipped
    committed = ROOT / "plans" / f"{stack}.json"
    assert committed.exists(), f"plans/{stack}.json missing: python -m offline_plan {stack} --json plans/{stack}.json"
    stale = plan_changes(json.loads(committed.read_text()), plan)
    assert stale.empty, f"plans/{stack}.json is stale; regenerate with: bash scripts/update-generated\n" + stack_text(
        StackReport(stack, stale)
    )
    assert committed.read_text() == plan_text({k: v for k, v in plan.items() if k != "format"})


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_manifests_pass_strict_schema_validation(shipped: tuple[str, dict[str, Any], list[str]], version: str) -> None:
    _, plan, _ = shipped
    objects = kubernetes_objects(plan)
    if not _targets_kubernetes(plan):
        assert objects == []
        return
    assert len(objects) >= 9
    for obj in objects:
        if obj["apiVersion"].split("/")[0] in CUSTOM_RESOURCE_GROUPS:
            continue  # validated against the upstream CRD schemas in test_addons.py
        kubernetes_validate.validate(obj, version, strict=True)


def _targets_kubernetes(plan: dict[str, Any]) -> bool:
    return any(r["type"] == "pulumi:providers:kubernetes" for r in plan["resources"])


def test_schema_validation_would_catch_a_bad_manifest() -> None:
    plan = json.loads((ROOT / "plans" / "byoc.json").read_text())
    deployment = copy.deepcopy(next(o for o in kubernetes_objects(plan) if o["kind"] == "Deployment"))
    deployment["spec"]["template"]["spec"]["containers"][0]["livenessProbe"]["exec_"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSIONS[0], strict=True)


def test_no_secret_in_plain_text(shipped: tuple[str, dict[str, Any], list[str]], tmp_path: Path) -> None:
    _, plan, generated = shipped
    assert generated, "the stack generates passwords; the mocks must have produced them"
    write_manifests(plan, tmp_path)
    rendered = [plan_text(plan), comment([StackReport(plan["stack"], plan_changes(plan, plan), tree=tree(plan))]), tree(plan)] + [
        p.read_text() for p in tmp_path.glob("*.yaml")
    ]
    for secret in generated:
        for text in rendered:
            assert secret not in text
    for text in rendered:
        # Connection strings with credentials only ever appear as secrets ($VARS are shell references).
        assert not re.search(r"mongodb://(?!\$)[^:/\s]+:(?!\$)[^@\s]+@", text)


def test_plan_is_deterministic() -> None:
    first = plan_text(run_program(ROOT, "staging").as_json())
    second = plan_text(run_program(ROOT, "staging").as_json())
    assert first == second


def test_frozen_heap_plans_the_same_and_does_not_accumulate() -> None:
    """The command line freezes each run's heap; the next run hands it back to the collector."""
    import gc

    plain = plan_text(run_program(ROOT, "dev").as_json())
    try:
        frozen = plan_text(run_program(ROOT, "dev", freeze_heap=True).as_json())
        after_one = gc.get_freeze_count()
        for _ in range(3):
            run_program(ROOT, "dev", freeze_heap=True)
        after_four = gc.get_freeze_count()
        assert gc.isenabled()
    finally:
        gc.unfreeze()
    assert frozen == plain
    assert after_one > 0
    # What stays frozen is one run's heap (plus what outlives runs), not four: each run leaves
    # ~13% of its heap as cyclic garbage, which would pile up frozen.
    assert after_four < 1.1 * after_one, (after_one, after_four)


def test_only_the_command_line_freezes_its_heap(capsys: pytest.CaptureFixture[str]) -> None:
    """The process that exits after the report freezes the heap; a caller that lives on does not, or
    each later run would hand the caller's whole heap to a full collection (0.5 s a run in a test worker)."""
    import gc

    from offline_plan.__main__ import main

    assert main(["dev", "--quiet"]) == 0
    assert gc.get_freeze_count() == 0
    capsys.readouterr()
    probe = (
        "import atexit, gc, runpy, sys\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count(), file=sys.stderr))\n"
        "sys.argv = ['offline_plan', 'dev', '--quiet']\n"
        "runpy.run_module('offline_plan', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    frozen = int(done.stderr.split("frozen ")[1].split()[0])
    assert frozen > 10_000, done.stderr


def test_the_price_table_loads_only_with_cost() -> None:
    """The price table is pydantic models and a YAML file: a plan without --cost does not pay for them."""
    probe = (
        "import atexit, runpy, sys\n"
        "atexit.register(lambda: print('loaded', 'offline_plan.pricing' in sys.modules, file=sys.stderr))\n"
        "sys.argv = ['offline_plan', *sys.argv[1:]]\n"
        "runpy.run_module('offline_plan', run_name='__main__')\n"
    )
    for flags, loaded in ((["--quiet"], False), (["--quiet", "--cost"], True)):
        done = subprocess.run([sys.executable, "-c", probe, "dev", *flags], cwd=ROOT, capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert f"loaded {loaded}" in done.stderr, (flags, done.stderr)


@pytest.mark.parametrize("hidden", ["grpc", "pydantic", "pydantic_core"])
def test_an_environment_without_a_package_the_plan_needs_is_named(hidden: str) -> None:
    """pulumi's own dependencies (grpc) and the config layer's library are named, though the command
    no longer imports pydantic before it needs it."""
    probe = (
        f"import runpy, sys\nsys.modules[{hidden!r}] = None\n"
        "sys.argv = ['offline_plan', 'dev']\nrunpy.run_module('offline_plan', run_name='__main__')\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.startswith(f"error: {sys.executable} has no {hidden!r}: run with the project's environment"), done.stderr


def test_plan_lists_required_fields() -> None:
    plan = json.loads((ROOT / "plans" / "staging.json").read_text())
    urns = [r["urn"] for r in plan["resources"]]
    assert urns == sorted(urns)
    for r in plan["resources"]:
        assert {"urn", "type", "name", "parent", "inputs", "dependencies", "protect"} <= set(r)


def test_cli_writes_json_manifests_and_markdown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from offline_plan.__main__ import main

    out = tmp_path / "plan.json"
    args = ["staging", "--root", str(ROOT), "--json", str(out), "--manifests", str(tmp_path / "m")]
    assert main([*args, "--diff", str(ROOT / "plans" / "staging.json"), "--markdown"]) == 0
    assert "No infrastructure changes" in capsys.readouterr().out
    assert out.read_text() == (ROOT / "plans" / "staging.json").read_text()
    assert len(list((tmp_path / "m").glob("*.yaml"))) == len(kubernetes_objects(json.loads(out.read_text())))


def test_readme_config_reference_is_current() -> None:
    from offline_plan.config_reference import reference

    readme = (ROOT / "README.md").read_text()
    start, end = "<!-- config-reference:start -->\n", "<!-- config-reference:end -->"
    section = readme[readme.index(start) + len(start) : readme.index(end)]
    assert section == reference(), "README config reference is stale: regenerate with bash scripts/update-generated"
