"""`costReview`: how the pull-request comment judges what a change adds to the stack's monthly bill.

The program creates nothing from it: `python -m offline_plan --cost` reads it (README: Cost).
"""

from pathlib import Path
from typing import Annotated, Any, cast

import yaml
from pydantic import BeforeValidator, Field, ValidationError

from components.config.errors import NAMESPACE
from components.config.values import Model
from components.stackfile import stack_file_path


def _not_a_bool(value: Any) -> Any:
    # YAML `true` would otherwise read as 1.0 USD.
    if isinstance(value, bool):
        raise ValueError("expected an amount in USD per month such as 100, not true/false")
    return value


class CostReviewConfig(Model):
    """What the offline preview flags in a pull request's cost delta."""

    flag_increase_above: Annotated[float, BeforeValidator(_not_a_bool)] | None = Field(
        default=None,
        ge=0,
        allow_inf_nan=False,
        description="USD per month: the pull-request comment flags a change that raises this stack's monthly estimate "
        "(either end of its range) by more than this, or by more than the base branch's value if that is lower. "
        "Unset: the delta is shown, never flagged.",
    )


def flag_threshold(section: object) -> float | None:
    """`flagIncreaseAbove` of a `costReview` section as a stack file holds it; None when absent.

    Reads the head's stack file after `load_config` accepted it, and the base branch's, which
    passed it when it was merged: a section that is not valid (an older format) counts as absent.
    """
    if section is None:
        return None
    try:
        return CostReviewConfig.model_validate(section).flag_increase_above
    except ValidationError:
        return None


def flag_threshold_in(stack_file: bytes) -> float | None:
    """`flagIncreaseAbove` in a stack file's text (the head's, or the base branch's read with git)."""
    try:
        document: object = yaml.safe_load(stack_file)
    except yaml.YAMLError:
        return None
    config = cast(dict[str, object], document).get("config") if isinstance(document, dict) else None
    return flag_threshold(cast(dict[str, object], config).get(f"{NAMESPACE}:costReview") if isinstance(config, dict) else None)


def stack_flag_threshold(root: Path, stack: str) -> float | None:
    """`flagIncreaseAbove` of `Pulumi.<stack>.yaml` in the project at `root`."""
    return flag_threshold_in(stack_file_path(root, stack).read_bytes())
