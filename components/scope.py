"""Where a capability's components go: under the platform, named after it and the stack."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pulumi

if TYPE_CHECKING:
    from components.docker import DockerHost


@dataclass(frozen=True)
class Scope:
    name: str
    """The platform's resource name (`meteor`): every component's name starts with it."""
    stack: str
    parent: pulumi.Resource
    """The Platform: every component is its child (their URNs say so)."""
    project_dir: Path
    """Where app sources are (builds read their Meteor release there)."""

    @property
    def prefix(self) -> str:
        """`<name>-<stack>`: cloud names that must differ per stack."""
        return f"{self.name}-{self.stack}"

    def child(self, provider: pulumi.ProviderResource | None = None) -> pulumi.ResourceOptions:
        """Options of a component under the platform (with `provider` for its Kubernetes objects)."""
        if provider is None:
            return pulumi.ResourceOptions(parent=self.parent)
        return pulumi.ResourceOptions(parent=self.parent, providers=[provider])

    def on_host(self, host: DockerHost) -> pulumi.ResourceOptions:
        """Options of a component on a Docker host: its provider, and it follows the host's machine."""
        return pulumi.ResourceOptions(parent=self.parent, providers=[host.provider], transformations=host.follows_machine())
