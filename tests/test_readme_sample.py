"""The README's sample pull-request comment is what the preview prints now for the sample change."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest

from offline_plan.__main__ import PROTECTED_DATA, main
from offline_plan.readme_sample import README, REFRESH, readme_copy, sample, scratch_project
from tests.harness import ROOT

_sample = cache(sample)
"""The sample, planned once per test process (eight stacks): both tests read the same text."""


def test_the_readme_sample_is_what_the_command_prints_now() -> None:
    assert readme_copy(README.read_text()) == _sample() + "\n", f"README.md's sample comment is stale: {REFRESH}"


def test_the_sample_is_the_previews_own_comment(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The sample's production section is what `python -m offline_plan` comments for that stack."""
    stacks = scratch_project(ROOT, tmp_path)
    assert stacks == sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml")), "every shipped stack"
    status = main(["production", "--root", str(tmp_path), "--diff", str(ROOT / "plans" / "production.json"), "--markdown", "--cost"])
    assert status == PROTECTED_DATA
    command = capsys.readouterr().out.split("### `production`", 1)[1].split("<details><summary>Resource tree</summary>", 1)[0]
    generated = _sample().split("### `production`", 1)[1].split("### `staging`", 1)[0]
    assert generated == command
    assert "| `-/+` replace | `kubernetes:batch/v1:Job` | `todos-migrate` |" in generated, "the migration Job is replaced"
    assert "**Monthly estimate: 402.00\N{EN DASH}738.00 \N{RIGHTWARDS ARROW} 577.00\N{EN DASH}913.00 USD (+175.00)**" in generated, (
        "the database one size up (+180.00) and the Spaces subscription gone with the bucket (-5.00)"
    )
