"""One rule for stateful resources: protected from `pulumi destroy` and kept in the cloud on delete."""

from __future__ import annotations

import pulumi


def stateful(protect: bool) -> pulumi.ResourceOptions:
    """Options for a resource that holds data: merge into its parent/provider options."""
    return pulumi.ResourceOptions(protect=protect, retain_on_delete=protect)
