"""Rollout rules shared by every target: how many instances run each version, how long one has to stop.

Kubernetes and Docker hosts both read these, so a canary of the same config gets the same share
of instances, and a stopping instance the same drain time, wherever it runs.
"""

from __future__ import annotations

from dataclasses import dataclass

DRAIN_MARGIN_SECONDS = 20
"""What an instance gets past its pre-stop pause before it is killed: in-flight requests finish."""


@dataclass(frozen=True)
class InstanceCounts:
    stable: int
    """Instances of the current version."""
    canary: int
    """Instances of the next version (0 without a canary)."""


def canary_instances(replicas: int, share: int) -> int:
    """Instances of the canary: `share` percent of `replicas`, at least one, leaving one stable."""
    return min(replicas - 1, max(1, round(replicas * share / 100)))


def instance_counts(replicas: int, canary_share: int | None) -> InstanceCounts:
    """`replicas` split between the two versions: the canary's share (when there is one), the rest stable."""
    canary = canary_instances(replicas, canary_share) if canary_share is not None else 0
    return InstanceCounts(stable=replicas - canary, canary=canary)


def termination_grace_seconds(pre_stop_seconds: int) -> int:
    """How long a stopping instance may take: its pre-stop pause (load balancers drain), then the margin."""
    return pre_stop_seconds + DRAIN_MARGIN_SECONDS
