"""What the daily drift check (.github/workflows/drift.yml, aws-drift.yml) concludes from one stack's
`pulumi preview --refresh --json --expect-no-changes`, and the issue it files. Tested offline on
recorded previews (tests/test_drift_check.py).

`pulumi preview --json` prints one document, a PreviewDigest (pulumi/pulumi sdk/pkg/display/json.go,
written by ShowPreviewDigest in pkg/backend/display/json.go): `steps` (each with `op`, `urn`,
`diffReasons`, `replaceReasons`, `detailedDiff`), `diagnostics` (`urn`, `message`, `severity`) and
`changeSummary` (a count per op). `--expect-no-changes` makes the command fail when the preview has
changes, and before CLI v3.226.1 it fails the same way (255) when the preview itself fails; from
then on changes exit 7, "no changes expectation not met", among other codes for other failures
(pulumi/pulumi pkg/cmd/pulumi/cmd/exit_codes.go, the CLI's "exit codes" page). The status alone
cannot tell drift from a broken run on every CLI, so this reads the document.

`python scripts/drift_check.py --stack <stack> --out <file>` runs the preview (`pulumi` on PATH,
logged in, credentials in the environment), writes the decision and, in a workflow, `outcome=<outcome>`
to $GITHUB_OUTPUT; its status is 0 whatever the outcome (the issue step acts on it).

Outcomes (written to --out as JSON: outcome, title, label, body):
- `clean`: no step changes anything and the command succeeded;
- `drift`: steps change resources: the `drift` issue of the stack lists them;
- `failed`: no document, an error diagnostic, or a failing status with no change in it: the preview
  could not say whether the stack drifted. Its own title and label (`drift-check-failed`), never
  reported as drift.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
NO_CHANGE_OPS = frozenset({"same", "read", "discard", "read-replacement", "refresh"})
"""Ops that change nothing. The engine's ResourceChanges.HasChanges, which `--expect-no-changes`
consults, skips same, read, read-discard and read-replacement (pulumi/pulumi pkg/engine/update.go);
their labels are pkg/resource/deploy/step.go's StepOp strings ("discard" is OpReadDiscard).
`refresh` is the reading half of `--refresh`: a difference it finds shows again as the update,
replace or delete step that follows, which is what this reports."""
DRIFT_LABEL = "drift"
FAILED_LABEL = "drift-check-failed"
BODY_LIMIT = 60000
"""GitHub refuses an issue body over 65,536 characters."""


@dataclass(frozen=True)
class Decision:
    outcome: str
    title: str
    """The issue this outcome opens or updates (none for `clean`)."""
    label: str
    body: str
    resolves: tuple[str, ...]
    """Titles of the stack's issues this outcome closes: a clean stack closes both, drift the failure one."""

    def as_json(self) -> dict[str, object]:
        return {"outcome": self.outcome, "title": self.title, "label": self.label, "body": self.body, "resolves": list(self.resolves)}


def drift_title(stack: str) -> str:
    return f"Drift: stack {stack} no longer matches its program"


def failed_title(stack: str) -> str:
    return f"Drift check failed: stack {stack} could not be previewed"


def _digest(text: str) -> dict[str, Any] | None:
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) else None


def _changed_steps(digest: dict[str, Any]) -> list[dict[str, Any]]:
    steps = digest.get("steps") or []
    return [s for s in steps if isinstance(s, dict) and s.get("op") not in NO_CHANGE_OPS]


def _step_line(step: dict[str, Any]) -> str:
    why = step.get("replaceReasons") or step.get("diffReasons") or sorted(step.get("detailedDiff") or {})
    reasons = f" ({', '.join(str(r) for r in why)})" if why else ""
    return f"- `{step.get('op')}` `{step.get('urn')}`{reasons}"


def _summary_changes(digest: dict[str, Any]) -> dict[str, int]:
    summary = digest.get("changeSummary") or {}
    return {op: n for op, n in summary.items() if op not in NO_CHANGE_OPS and isinstance(n, int) and n > 0}


def _fenced(text: str) -> str:
    return "```\n" + text.replace("```", "'''") + "\n```"


def promotion_source(stack: str, root: Path = ROOT) -> str | None:
    """The stack whose images this one runs (`promotion.fromStack` in Pulumi.<stack>.yaml), if any."""
    try:
        config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    except OSError:
        return None
    source = (config.get("meteor-platform:promotion") or {}).get("fromStack")
    return source if isinstance(source, str) and source else None


def decide(stack: str, preview_json: str, stderr: str, exit_code: int, run_url: str, promoted_from: str | None = None) -> Decision:
    digest = _digest(preview_json)
    errors = [d for d in (digest or {}).get("diagnostics") or [] if isinstance(d, dict) and d.get("severity") == "error"]
    changed = _changed_steps(digest or {})
    summary = _summary_changes(digest or {})
    if digest is None or errors or (exit_code != 0 and not changed and not summary):
        reason = (
            "printed no preview document"
            if digest is None
            else "reported errors"
            if errors
            else f"exited with status {exit_code} without a change in its preview"
        )
        lines = [
            f"`pulumi preview --refresh --expect-no-changes` on `{stack}` {reason} ({run_url}).",
            "This is not drift: the check could not tell whether the stack matches its program.",
        ]
        for error in errors:
            lines += ["", f"{error.get('urn') or 'the stack'}:", _fenced(str(error.get("message", "")).strip())]
        if changed:
            lines += ["", "Changes it had found before it stopped (a partial list):", *(_step_line(s) for s in changed)]
        if stderr.strip():
            lines += ["", "Its error output (the end):", _fenced(stderr.strip()[-BODY_LIMIT // 2 :])]
        return Decision("failed", failed_title(stack), FAILED_LABEL, "\n".join(lines)[:BODY_LIMIT], ())
    if changed or summary:
        counts = ", ".join(f"{op} {n}" for op, n in sorted(summary.items())) or f"{len(changed)} steps"
        lines = [
            f"`pulumi preview --refresh --expect-no-changes` on `{stack}` found changes ({run_url}): {counts}.",
            "",
            "Resources that no longer match the program (op, URN, the properties that differ):",
            *(_step_line(s) for s in changed),
        ]
        if promoted_from:
            # The program reads the source's `images` through a StackReference at every preview: once
            # the source deployed new images, this stack's apps differ until they are promoted.
            lines += [
                "",
                f"`{stack}` runs the images `{promoted_from}` exports: changes to its apps' images (Deployments, "
                "image copies) may be a promotion not yet made (the promote workflow), not a change in the cloud.",
            ]
        return Decision("drift", drift_title(stack), DRIFT_LABEL, "\n".join(lines)[:BODY_LIMIT], (failed_title(stack),))
    body = f"`pulumi preview --refresh --expect-no-changes` on `{stack}` found no change ({run_url}): closing."
    return Decision("clean", "", "", body, (drift_title(stack), failed_title(stack)))


def preview_command(stack: str) -> list[str]:
    """The drift check's preview: a refresh first, no prompt, the JSON digest on standard output."""
    return ["pulumi", "preview", "--stack", stack, "--refresh", "--expect-no-changes", "--json", "--non-interactive"]


def run_url() -> str:
    """This workflow run's page, from the variables GitHub sets in every job."""
    env = os.environ
    return f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"


def run_preview(stack: str) -> Decision:
    try:
        proc = subprocess.run(preview_command(stack), capture_output=True, text=True, errors="replace", check=False)
    except OSError as error:  # no pulumi on PATH: the check could not run
        return decide(stack, "", f"{error}", 127, run_url(), promotion_source(stack))
    sys.stderr.write(proc.stderr)  # the job's log keeps what pulumi said
    return decide(stack, proc.stdout, proc.stderr, proc.returncode, run_url(), promotion_source(stack))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The drift check of one stack: clean, drift or failed.")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True, help="where the decision goes (JSON: outcome, title, label, body)")
    args = parser.parse_args(argv)
    decision = run_preview(args.stack)
    args.out.write_text(json.dumps(decision.as_json()))
    print(f"{args.stack}: {decision.outcome}\n{decision.body}")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a") as out:
            out.write(f"outcome={decision.outcome}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
