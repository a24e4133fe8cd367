"""`costReview`: how the pull-request comment judges what a change adds to the stack's monthly bill.

The program creates nothing from it: `python -m offline_plan --cost` reads it (README: Cost).
"""

from __future__ import annotations

import json
from collections.abc import Mapping

from pydantic import Field

from components.config.errors import NAMESPACE
from components.config.values import Model


class CostReviewConfig(Model):
    """What the offline preview flags in a pull request's cost delta."""

    flag_increase_above: float | None = Field(
        default=None,
        ge=0,
        description="USD per month: the pull-request comment flags a change that raises this stack's monthly estimate "
        "(either end of its range) by more than this. Unset: the delta is shown, never flagged.",
    )


def cost_review(stack_values: Mapping[str, str]) -> CostReviewConfig:
    """The `costReview` section of a stack's config values as the engine hands them over (JSON-encoded).

    Only for stacks whose whole config already passed `load_config` (the offline plan runs the
    program first), so a bad value has already been reported with its key.
    """
    raw = stack_values.get(f"{NAMESPACE}:costReview")
    return CostReviewConfig() if raw is None else CostReviewConfig.model_validate(json.loads(raw))
