"""The image each app runs, from its config: a prebuilt pin, a build from source, or the digest its
source stack exports (promotion)."""

from __future__ import annotations

from pathlib import Path

import pulumi

from components.config import AppConfig, PlatformConfig
from components.images import AppImage
from components.registry import Registry
from components.scope import Scope


def images(config: PlatformConfig, scope: Scope, registry: Registry | None) -> dict[str, AppImage]:
    """Per app name; an app to be promoted has none yet while `promotion.sourceReady` is false (a bootstrap)."""
    chosen: dict[str, AppImage] = {}
    promoted = [a.name for a in config.apps if a.image is None and a.build is None]
    for app in config.apps:
        if app.image is not None:
            chosen[app.name] = AppImage(ref=pulumi.Output.from_input(app.image))
        elif app.build is not None:
            assert registry is not None, "config validation requires a registry with build"
            chosen[app.name] = built_image(app, scope, registry)
    if promoted and config.promotion.from_stack is not None and config.promotion.source_ready:
        from components.images.promote import PromotedImages, PromotedImagesArgs

        chosen |= PromotedImages(
            f"{scope.name}-promoted",
            PromotedImagesArgs(source=config.promotion.from_stack, apps=promoted, registry=registry),
            opts=scope.child(),
        ).images
    return chosen


def built_image(app: AppConfig, scope: Scope, registry: Registry) -> AppImage:
    from components.config.release import meteor_release
    from components.images.build import MeteorImage, MeteorImageArgs
    from components.versions import node_for_meteor

    build = app.build
    assert build is not None
    context = Path(build.context)
    release = meteor_release(scope.project_dir / context) if build.dockerfile == "meteor" else None
    node = node_for_meteor(release) if release else None
    return MeteorImage(
        f"{app.name}-build",
        MeteorImageArgs(
            app=app.name,
            stack=scope.stack,
            context=context,
            dockerfile=build.dockerfile,
            registry=registry,
            meteor_release=release,
            node_version=build.node_version or (node.version if node else None),
            own_file=build.file,
            base_image=build.base_image,
            build_args=dict(build.args),
            project_dir=scope.project_dir,
        ),
        opts=scope.child(),
    ).result
