"""One rule for stateful resources: protected from `pulumi destroy` and kept in the cloud on delete."""

from __future__ import annotations

import pulumi


def stateful(protect: bool, *, parent: pulumi.Resource | None = None) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: its parent's (when given), or merge into the parent/provider options."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, retain_on_delete=protect)
