"""What the daily drift check (.github/workflows/drift.yml, aws-drift.yml) concludes from one stack's
`pulumi preview --refresh --json --expect-no-changes`, and the issue it files. Tested offline on
previews hand-written from the documented format (tests/drift_previews, tests/test_drift_check.py).

`pulumi preview --json` prints one document, a PreviewDigest (pulumi/pulumi sdk/pkg/display/json.go,
written by ShowPreviewDigest in pkg/backend/display/json.go): `steps` (each with `op`, `urn`,
`diffReasons`, `replaceReasons`, `detailedDiff`), `diagnostics` (`urn`, `message`, `severity`) and
`changeSummary` (a count per op). `--expect-no-changes` makes the command fail when the preview has
changes, and before CLI v3.226.0 it fails the same way (255) when the preview itself fails; from
v3.226.0 (pulumi/pulumi#22176, commit b0a5846488) changes exit 7, "no changes expectation not met", among other codes for other failures
(pulumi/pulumi pkg/cmd/pulumi/cmd/exit_codes.go, the CLI's "exit codes" page). The status alone
cannot tell drift from a broken run on every CLI, so this reads the document.

`python scripts/drift_check.py --stack <stack> --out <file>` runs the preview (`pulumi` on PATH,
logged in, credentials in the environment), writes the decision and, in a workflow, `outcome=<outcome>`
to $GITHUB_OUTPUT; its status is 0 whatever the outcome (the issue step acts on it).

Outcomes (written to --out as JSON: outcome, title, label, body, resolves: the bot's issues to close, as title and label):
- `clean`: no step changes anything and the command succeeded;
- `promotion-pending`: on a promoted stack, the only changes are the image paths of the promoted
  resources (the promotion's copy and the app workloads that run it): the source stack deployed new
  images and this one has not been promoted yet. No issue; the job summary says so;
- `drift`: steps change resources: the `drift` issue of the stack lists them;
- `failed`: no document, an error diagnostic, or a failing status with no change in it: the preview
  could not say whether the stack drifted. Its own title and label (`drift-check-failed`), never
  reported as drift. The issue (possibly public) carries only each error's URN and first line and
  the run's link; the full messages and pulumi's error output go to the job's log.
"""

from __future__ import annotations

import argparse
import json
import os
import re
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
ERROR_LINE_LIMIT = 200
"""An error's first line in a failure issue is cut here: the issue shows what broke, the job log the rest."""
STREAMING_JSON_VARIABLE = "PULUMI_ENABLE_STREAMING_JSON_PREVIEW"
"""Set, it turns `preview --json` into a stream of engine events, one JSON object a line, instead of
the one PreviewDigest document this reads (pulumi/pulumi pkg/cmd/pulumi/operations/preview.go:
`env.EnableStreamingJSONPreview`, "Enables streaming JSON preview"). The preview never inherits it."""

# The resources a promotion moves (tests/test_drift.py::test_a_promoted_stack_moves_only_its_apps_when_the_source_deploys_new_images):
# the promotion's copy (components/images/promote.py, `<prefix>-promoted-<app>` under PromotedImages)
# and the app workloads that run the copied image, each with the properties that hold the image.
_PROMOTED_COPY = re.compile(r"\$meteor-platform:images:PromotedImages\$command:local:Command::[^:]*-promoted-[^:]+$")
_APP_WORKLOAD = re.compile(
    r"\$meteor-platform:app:\w+App\$(kubernetes:apps/v1:Deployment|kubernetes:batch/v1:Job"
    r"|docker:index/container:Container|docker:index/remoteImage:RemoteImage)::[^:]+$"
)
_APP_MIGRATION_RUN = re.compile(r"\$meteor-platform:app:DockerApp\$command:local:Command::[^:]+-(migrate-run|healthy)$")
"""On Docker hosts the migration container is replaced with its image (every container argument but a few
is ForceNew: offline_plan/replace_table.json, `docker:index/container:Container`) and `<app>-migrate-run` starts it
again, as each app container's `<container>-healthy` checks the new container: their `create` script and
`triggers` hold the container's id (components/docker/steps.py, run_reporting and wait_healthy), unknown in a
preview until the new container exists."""
_COPY_IMAGE_KEYS = re.compile(r"^(environment\.SOURCE_REF|triggers(\[\d+\])?)$")
"""The copy's source reference: its `environment.SOURCE_REF` and `triggers` (promote.py)."""
_WORKLOAD_IMAGE_KEYS = re.compile(r"^(spec\.template\.spec\.(initContainers|containers)\[\d+\]\.image|image|name|triggers(\[\d+\])?)$")
"""A pod template's container image (Deployment, Job), a Docker container's `image`, a RemoteImage's
`name` (and `triggers`, the digest it pulls): detailedDiff keys are property paths (pulumi/pulumi
sdk/go/common/resource/plugin/provider.go, PropertyDiff: "the key is a property path")."""
_MIGRATION_RUN_KEYS = re.compile(r"^(create|triggers(\[\d+\])?)$")
_REPLACEMENT_HALVES = frozenset({"create-replacement", "delete-replaced"})


@dataclass(frozen=True)
class Decision:
    outcome: str
    title: str
    """The issue this outcome opens or updates (none for `clean`)."""
    label: str
    body: str
    resolves: tuple[tuple[str, str], ...]
    """The stack's issues this outcome closes, as (title, label): a clean stack closes both, drift the failure one."""

    def as_json(self) -> dict[str, object]:
        resolves = [{"title": title, "label": label} for title, label in self.resolves]
        return {"outcome": self.outcome, "title": self.title, "label": self.label, "body": self.body, "resolves": resolves}


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


def _differing_properties(step: dict[str, Any]) -> list[str]:
    """The property paths that differ: detailedDiff's keys (`spec.replicas`) before the top-level
    replaceReasons/diffReasons (`spec`), which say less."""
    return sorted(step.get("detailedDiff") or {}) or list(step.get("replaceReasons") or step.get("diffReasons") or [])


def _step_line(step: dict[str, Any]) -> str:
    why = _differing_properties(step)
    reasons = f" ({', '.join(str(r) for r in why)})" if why else ""
    return f"- `{step.get('op')}` `{step.get('urn')}`{reasons}"


def _summary_changes(digest: dict[str, Any]) -> dict[str, int]:
    summary = digest.get("changeSummary") or {}
    return {op: n for op, n in summary.items() if op not in NO_CHANGE_OPS and isinstance(n, int) and n > 0}


def _first_line(text: str) -> str:
    first = (text.strip().splitlines() or [""])[0]
    return first if len(first) <= ERROR_LINE_LIMIT else first[: ERROR_LINE_LIMIT - 1] + "…"


def _inline_code(text: str) -> str:
    return "`` " + text.replace("`", "'") + " ``"


def _moves_only_promoted_images(step: dict[str, Any]) -> bool:
    urn = str(step.get("urn", ""))
    keys: re.Pattern[str] | None = None
    if _PROMOTED_COPY.search(urn):
        keys = _COPY_IMAGE_KEYS
    elif _APP_WORKLOAD.search(urn):
        keys = _WORKLOAD_IMAGE_KEYS
    elif _APP_MIGRATION_RUN.search(urn):
        keys = _MIGRATION_RUN_KEYS
    properties = _differing_properties(step)
    return keys is not None and bool(properties) and all(keys.match(p) for p in properties)


def only_a_pending_promotion(changed: list[dict[str, Any]]) -> bool:
    """Every change is an image path of a promoted resource. A replacement's create and delete halves
    count with the `replace` step of the same URN that says what differs."""
    promoted = {str(s.get("urn")) for s in changed if s.get("op") not in _REPLACEMENT_HALVES and _moves_only_promoted_images(s)}
    return bool(changed) and all(
        str(s.get("urn")) in promoted if s.get("op") in _REPLACEMENT_HALVES else _moves_only_promoted_images(s) for s in changed
    )


def promotion_source(stack: str, root: Path = ROOT) -> str | None:
    """The stack whose images this one runs (`promotion.fromStack` in Pulumi.<stack>.yaml), if any."""
    try:
        config = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text()).get("config") or {}
    except OSError:
        return None
    source = (config.get("meteor-platform:promotion") or {}).get("fromStack")
    return source if isinstance(source, str) and source else None


def _error_diagnostics(digest: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [d for d in (digest or {}).get("diagnostics") or [] if isinstance(d, dict) and d.get("severity") == "error"]


def decide(stack: str, preview_json: str, exit_code: int, run_url: str, promoted_from: str | None = None) -> Decision:
    digest = _digest(preview_json)
    errors = _error_diagnostics(digest)
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
            "The full messages and pulumi's error output are in the run's log, not here.",
        ]
        if errors:
            lines += ["", "Errors (the first line of each):"]
        for error in errors:
            lines.append(f"- {error.get('urn') or 'the stack'}: {_inline_code(_first_line(str(error.get('message', ''))))}")
        if changed:
            lines += ["", "Changes it had found before it stopped (a partial list):", *(_step_line(s) for s in changed)]
        return Decision("failed", failed_title(stack), FAILED_LABEL, "\n".join(lines)[:BODY_LIMIT], ())
    if promoted_from and only_a_pending_promotion(changed):
        # The program reads the source's `images` through a StackReference at every preview: once the
        # source deployed new images, the promoted resources differ in their image until promoted.
        lines = [
            f"`pulumi preview --refresh --expect-no-changes` on `{stack}` found only a pending promotion ({run_url}):",
            f"the images `{promoted_from}` exports differ from those `{stack}` runs (the promote workflow brings them); nothing else differs.",
            "",
            *(_step_line(s) for s in changed),
        ]
        return Decision(
            "promotion-pending",
            "",
            "",
            "\n".join(lines)[:BODY_LIMIT],
            ((drift_title(stack), DRIFT_LABEL), (failed_title(stack), FAILED_LABEL)),
        )
    if changed or summary:
        counts = ", ".join(f"{op} {n}" for op, n in sorted(summary.items())) or f"{len(changed)} steps"
        lines = [
            f"`pulumi preview --refresh --expect-no-changes` on `{stack}` found changes ({run_url}): {counts}.",
            "",
            "Resources that no longer match the program (op, URN, the properties that differ):",
            *(_step_line(s) for s in changed),
        ]
        if promoted_from:
            lines += [
                "",
                f"`{stack}` runs the images `{promoted_from}` exports: a pending promotion alone is not reported "
                "(outcome `promotion-pending`); the changes above include others.",
            ]
        return Decision("drift", drift_title(stack), DRIFT_LABEL, "\n".join(lines)[:BODY_LIMIT], ((failed_title(stack), FAILED_LABEL),))
    body = f"`pulumi preview --refresh --expect-no-changes` on `{stack}` found no change ({run_url}): closing."
    return Decision("clean", "", "", body, ((drift_title(stack), DRIFT_LABEL), (failed_title(stack), FAILED_LABEL)))


def preview_command(stack: str) -> list[str]:
    """The drift check's preview: a refresh first, no prompt, the JSON digest on standard output."""
    return ["pulumi", "preview", "--stack", stack, "--refresh", "--expect-no-changes", "--json", "--non-interactive"]


def run_url() -> str:
    """This workflow run's page, from the variables GitHub sets in every job."""
    env = os.environ
    return f"{env.get('GITHUB_SERVER_URL', '')}/{env.get('GITHUB_REPOSITORY', '')}/actions/runs/{env.get('GITHUB_RUN_ID', '')}"


def run_preview(stack: str) -> Decision:
    env = {name: value for name, value in os.environ.items() if name != STREAMING_JSON_VARIABLE}
    try:
        proc = subprocess.run(preview_command(stack), capture_output=True, text=True, errors="replace", check=False, env=env)
    except OSError as error:  # no pulumi on PATH: the check could not run
        sys.stderr.write(f"{error}\n")
        return decide(stack, "", 127, run_url(), promotion_source(stack))
    sys.stderr.write(proc.stderr)  # the job's log keeps what pulumi said; the issue gets first lines only
    for error in _error_diagnostics(_digest(proc.stdout)):
        sys.stderr.write(f"error diagnostic of {error.get('urn') or 'the stack'}:\n{error.get('message', '')}\n")
    return decide(stack, proc.stdout, proc.returncode, run_url(), promotion_source(stack))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="The drift check of one stack: clean, promotion-pending, drift or failed.")
    parser.add_argument("--stack", required=True)
    parser.add_argument("--out", type=Path, required=True, help="where the decision goes (JSON: outcome, title, label, body, resolves)")
    args = parser.parse_args(argv)
    decision = run_preview(args.stack)
    args.out.write_text(json.dumps(decision.as_json()))
    print(f"{args.stack}: {decision.outcome}\n{decision.body}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and decision.outcome == "promotion-pending":  # no issue: the run's summary page says it
        with open(summary, "a") as out:
            out.write(f"### {args.stack}: promotion pending\n\n{decision.body}\n")
    github_output = os.environ.get("GITHUB_OUTPUT")
    if github_output:
        with open(github_output, "a") as out:
            out.write(f"outcome={decision.outcome}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
