"""App images: where the image an app runs comes from.

build.py     built from the app's source with BuildKit, pushed to the stack's registry
promote.py   the exact digest another stack exports (StackReference), copied by digest if the registries differ

Every app runs an `AppImage`: a `registry/app@sha256:...` reference and what deploying it waits for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pulumi


@dataclass(frozen=True)
class AppImage:
    ref: pulumi.Output[str]
    """`registry/app@sha256:<digest>` (or a tag in dev)."""
    ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """What must exist before the image can be deployed (its build or copy)."""
