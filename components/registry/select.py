"""The stack's container registry from its `registry` section: ECR, DOCR, or none (prebuilt images)."""

from __future__ import annotations

from components.config import PlatformConfig
from components.config.registry import DigitalOceanRegistryConfig, EcrRegistryConfig
from components.registry import Registry
from components.scope import Scope


def registry(config: PlatformConfig, scope: Scope) -> Registry | None:
    r = config.registry
    if isinstance(r, EcrRegistryConfig):
        from components.registry.aws import EcrRegistry, EcrRegistryArgs

        return EcrRegistry(
            f"{scope.name}-registry",
            EcrRegistryArgs(
                apps=[a.name for a in config.apps], stack=scope.stack, keep_images=r.keep_images, protect=config.protect_stateful
            ),
            opts=scope.child(),
        )
    if isinstance(r, DigitalOceanRegistryConfig):
        from components.registry.digitalocean import DigitalOceanRegistry, DigitalOceanRegistryArgs

        return DigitalOceanRegistry(
            f"{scope.name}-registry",
            DigitalOceanRegistryArgs(
                name=r.name or f"meteor-{scope.stack}",
                region=r.region or config.digitalocean.region,
                tier=r.tier,
                protect=config.protect_stateful,
                existing=r.existing,
            ),
            opts=scope.child(),
        )
    return None
