"""Run the real program for a stack under Pulumi's mock runtime and record what it registers.

The provider fakes (`offline_plan.fakes`) answer like the providers would, deterministic per
resource name so every run is identical; the recording monitor (`offline_plan.monitor`) keeps each
registration, secrets redacted before anything leaves the process.
"""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import gc
import runpy
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await  # pyright: ignore[reportPrivateUsage]

from components import catalogue
from offline_plan.fakes.aws import AWS_ACCOUNT, DEFAULT_AWS_REGION
from offline_plan.fakes.deterministic import generated_password
from offline_plan.fakes.mocks import PlanMocks
from offline_plan.monitor import STACK_TYPE, Recorded, RecordingMonitor
from offline_plan.redaction import REDACTED, UNKNOWN_TEXT, redact, secret_digest
from offline_plan.stack_config import PROJECT, StackConfig, read_stack_config
from offline_plan.wire import RESOURCE_SIG, SECRET_SIG, SECRET_VALUE_SIG, UNKNOWN

__all__ = [
    # What importers knew from here before the fakes, the monitor and the stack config moved out.
    "AWS_ACCOUNT",
    "DEFAULT_AWS_REGION",
    "PROJECT",
    "REDACTED",
    "RESOURCE_SIG",
    "SECRET_SIG",
    "SECRET_VALUE_SIG",
    "STACK_TYPE",
    "UNKNOWN",
    "UNKNOWN_TEXT",
    "PlanMocks",
    "PlanResult",
    "Recorded",
    "RecordingMonitor",
    "StackConfig",
    "generated_password",
    "read_stack_config",
    "redact",
    "run_program",
    "secret_digest",
]


@dataclass
class PlanResult:
    stack: str
    resources: list[Recorded]
    generated_secrets: list[str]
    """Every value the mocks generated for a secret (passwords): must never appear in plain text."""
    states: dict[str, dict[str, Any]]
    """What the mocks answered per URN, secrets unwrapped (for tests; never written out)."""
    ids: dict[str, str]
    """The id the mocks gave each resource, per URN (for tests)."""
    outputs: dict[str, Any]
    """What the program exports (the platform component's outputs), secrets redacted."""
    output_digests: dict[str, str] = field(default_factory=lambda: {})
    secure_config_digests: dict[str, str] = field(default_factory=lambda: {})
    invokes: list[tuple[str, str]] = field(default_factory=lambda: [])
    """Every data-source call (token, provider reference; '' for the default provider), for tests."""

    def as_json(self) -> dict[str, Any]:
        return {
            "project": PROJECT,
            "stack": self.stack,
            "outputs": self.outputs,
            "outputSecretDigests": self.output_digests,
            "secureConfigDigests": self.secure_config_digests,
            "resources": [r.as_json() for r in self.resources],
        }


def _ignore_mock_loop_finalizers() -> None:
    """The mock monitor gives each executor thread an event loop of its own; at interpreter exit
    their finalizers report an already-closed selector. Silence exactly that, nothing else."""
    previous = sys.unraisablehook
    if getattr(previous, "meteor_platform", False):
        return

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, ValueError) and "BaseEventLoop.__del__" in repr(unraisable.object):
            return
        previous(unraisable)

    hook.meteor_platform = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _skip_stack_traces() -> None:
    """The engine shows where each resource was declared; a plan records no source positions.
    Capturing them walks the whole Python stack for every registration (the deeper the component
    nesting, the dearer): skip it."""
    import pulumi.runtime.resource as resource_runtime
    from pulumi.runtime.proto import source_pb2

    resource_runtime._get_stack_trace = lambda: source_pb2.StackTrace()  # pyright: ignore[reportPrivateUsage]


def run_program(
    root: Path,
    stack: str,
    *,
    freeze_heap: bool = False,
    token_round: int = 0,
    doks_minors: Sequence[str] = catalogue.DOKS_MINORS,
    doks_deployed_version: str | None = None,
    ami_round: int = 0,
) -> PlanResult:
    """Run `__main__.py` for `stack` under mocks. A bad config raises `pulumi.RunError`.

    `token_round`, `doks_minors`, `doks_deployed_version` and `ami_round` vary what the mocked providers
    answer: another round mints other API tokens (as a second `pulumi up` would), `doks_minors` is what
    DigitalOcean offers, `doks_deployed_version` the version a DOKS cluster of an earlier `up` runs,
    another `ami_round` a newer image matching the AMI filters (AWS published one since).

    `freeze_heap`: leave what the program allocated out of the cyclic collector's reach
    (`gc.freeze`), for a process that writes the plan and exits (the command line).
    """
    config = read_stack_config(root, stack)
    _ignore_mock_loop_finalizers()
    _skip_stack_traces()
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    mocks = PlanMocks(
        root, token_round=token_round, doks_minors=doks_minors, doks_deployed_version=doks_deployed_version, ami_round=ami_round
    )
    monitor = RecordingMonitor(mocks)
    runtime_settings: Any = pulumi.runtime.settings.SETTINGS
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    # No cyclic garbage collection while the program runs: nearly everything it allocates lives
    # until the plan is written (a collection at 200 apps frees ~6% of the heap), while each full
    # collection walks the whole, growing heap — the one cost that grew faster than the app count.
    # With `freeze_heap` the program's heap is frozen afterwards: otherwise the first collection
    # once collection is back on (and the one at interpreter exit) walks all of it, 0.75 s at 200
    # apps. An earlier run's frozen heap, mostly garbage by now, is handed back and collected
    # first, so several stacks in one command do not accumulate it.
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        if freeze_heap:
            gc.freeze()
        if collecting:
            gc.enable()
    resources = sorted(monitor.recorded.values(), key=lambda r: r.urn)
    states = {urn: reg.state for urn, reg in monitor.resources.items()}
    platform = sorted(urn for urn in monitor.component_outputs if urn.split("::")[2].endswith("meteor-platform:index:Platform"))
    outputs = monitor.component_outputs[platform[0]] if platform else {}
    output_digests = monitor.component_output_digests[platform[0]] if platform else {}
    ids = {urn: str(reg.id) for urn, reg in monitor.resources.items()}
    return PlanResult(
        stack=stack,
        resources=resources,
        generated_secrets=mocks.generated_secrets,
        states=states,
        ids=ids,
        outputs=outputs,
        output_digests=output_digests,
        secure_config_digests=config.secure_digests,
        invokes=mocks.invokes,
    )
