"""`promotion` and each app's image source: built here, prebuilt, or promoted from another stack."""

import re
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field

from components.config.errors import Problems
from components.config.values import Model
from components.versions import NEWEST_METEOR_LINE, NODE_IMAGES, OLDEST_METEOR_BUILT, newer_than_known, node_for_meteor, release_tuple

if TYPE_CHECKING:
    from components.config.apps import AppConfig
    from components.config.mongo import MongoConfig
    from components.config.platform import PlatformConfig

# `org/project/stack`, `project/stack` or `stack`, as `pulumi stack select` and StackReference take them.
_STACK_REFERENCE = r"^(?:[A-Za-z0-9][A-Za-z0-9_.-]*/){0,2}[A-Za-z0-9_.-]{1,100}$"
MAX_RELEASE_BYTES = 256


class PromotionConfig(Model):
    """Deploy the exact images another stack runs (read through a StackReference), never build."""

    from_stack: str | None = Field(
        default=None,
        description="The source stack (`org/meteor-platform/staging`): each app without `image` runs the digest that stack exports in `images`.",
    )
    source_ready: bool = Field(
        default=True,
        description="false only for a first `up` before the source stack has exported `images` (a new team's bootstrap): "
        "everything but the promoted apps is created. Remove it once the source stack is up; on a running stack it removes those apps.",
    )


def meteor_release(context: Path) -> str | None:
    """The release the app's `.meteor/release` declares (`METEOR@3.1.2` -> `3.1.2`), if readable."""
    try:
        text = (context / ".meteor" / "release").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.strip().startswith("#")]
    if len(lines) != 1 or len(lines[0]) > MAX_RELEASE_BYTES or not lines[0].startswith("METEOR@"):
        return None
    return lines[0][len("METEOR@") :]


def app_release(app: "AppConfig", project_dir: Path | None) -> str | None:
    """The Meteor release an app runs: its build's `.meteor/release`, else `meteorRelease`; None when unknown."""
    context = Path(app.build.context) if app.build is not None else None
    if context is not None and project_dir is not None and not context.is_absolute() and ".." not in context.parts:
        found = meteor_release(project_dir / context)
        if found is not None:
            return found
    return app.meteor_release


# meteorhacks:cluster 1.6.9 (its last release, github.com/meteorhacks/cluster package.js) bundles the
# mongodb 1.4.32 driver and drives it through Meteor.wrapAsync (lib/server/discovery_backends/mongo/
# discovery.js): Fibers, which Meteor 3 removed, and the legacy wire opcodes (OP_QUERY, OP_INSERT...)
# MongoDB no longer accepts from 5.1 on (mongodb.com/docs/manual/legacy-opcodes). Every MongoDB the
# platform runs is 6.0 or newer.
_CLUSTER_EVIDENCE = (
    "meteorhacks:cluster (last release 1.6.9) needs Fibers and its bundled mongodb 1.4 driver, "
    "which speaks only the wire opcodes MongoDB removed in 5.1"
)


def _cluster_problems(i: int, release: str | None, mongo: "MongoConfig", problems: Problems) -> None:
    where = ["apps", i, "cluster", "enabled"]
    version = release_tuple(release) if release else None
    if version is None:
        problems.bad(where, True, f"expected it off, or apps[{i}].meteorRelease before 3.0 to say the app can run it: {_CLUSTER_EVIDENCE}")
    elif version >= (3,):
        problems.bad(where, True, f"expected it off: the app runs Meteor {release}, which has no Fibers; {_CLUSTER_EVIDENCE}")
    elif mongo.provider != "external":
        problems.bad(
            where,
            True,
            f"expected it off: mongo.provider {mongo.provider!r} runs MongoDB 6.0 or newer; {_CLUSTER_EVIDENCE} "
            "(only an external MongoDB before 5.1 works)",
        )


def release_problems(cfg: "PlatformConfig", project_dir: Path | None, problems: Problems) -> None:
    """Each app has exactly one image source; builds have a registry and a readable source; the
    Meteor release an app runs agrees with its build and allows what it asks for."""
    source = cfg.promotion.from_stack
    if source is not None and not re.fullmatch(_STACK_REFERENCE, source):
        problems.bad(["promotion", "fromStack"], source, "expected a stack name: stack, project/stack or org/project/stack")
    if not cfg.promotion.source_ready and source is None:
        problems.bad(["promotion", "sourceReady"], False, "expected it only with promotion.fromStack (it defers the promoted apps)")
    production = cfg.environment.value == "production"
    for i, app in enumerate(cfg.apps):
        if app.cluster.enabled:
            _cluster_problems(i, app_release(app, project_dir), cfg.mongo, problems)
        if app.build is None and app.image is None and source is None:
            problems.missing(
                ["apps", i, "image"],
                "expected an image (registry/app@sha256:...), a build from source (apps[].build.context), or promotion.fromStack",
            )
        if app.build is None:
            continue
        if source is not None:
            problems.bad(
                ["apps", i, "build"],
                app.build.context,
                "expected no build with promotion.fromStack: a promoted stack deploys the source stack's digest",
            )
        elif production:
            problems.bad(
                ["apps", i, "build"],
                app.build.context,
                "expected no build in production: promote the digest staging tested (promotion.fromStack)",
            )
        if cfg.registry.provider == "none":
            problems.bad(
                ["apps", i, "build"], app.build.context, "expected a registry to push the build to (registry.provider 'digitalocean')"
            )
        if app.build.base_image is not None and app.build.dockerfile != "meteord":
            problems.bad(["apps", i, "build", "baseImage"], app.build.base_image, "expected it only with build.dockerfile 'meteord'")
        elif app.build.dockerfile == "meteord" and app.build.base_image is None and cfg.environment.value != "dev":
            # meteorhacks/meteord:onbuild is a mutable tag of an unmaintained image: outside dev the
            # team pins the digest it has checked, like every other image the platform runs.
            problems.missing(
                ["apps", i, "build", "baseImage"],
                "expected the MeteorD base by digest outside dev (meteorhacks/meteord:onbuild@sha256:..., from "
                "`docker buildx imagetools inspect meteorhacks/meteord:onbuild`): the onbuild tag is mutable",
            )
        _context_problems(
            i, app.build.context, app.build.dockerfile, app.build.file, app.meteor_release, app.build.node_version, project_dir, problems
        )


def _context_problems(
    i: int,
    context: str,
    dockerfile: str,
    file: str | None,
    meteor_release_given: str | None,
    node_version_given: str | None,
    project_dir: Path | None,
    problems: Problems,
) -> None:
    where = ["apps", i, "build", "context"]
    path = Path(context)
    if path.is_absolute() or ".." in path.parts:
        problems.bad(where, context, "expected a directory inside the project, relative to it")
        return
    if project_dir is None:
        return  # config from elsewhere: the build itself reports a missing context
    directory = project_dir / path
    if not directory.is_dir():
        problems.bad(where, context, f"expected an existing directory (no {directory})")
        return
    if dockerfile == "own":
        wanted = directory / (file or "Dockerfile")
        if not wanted.is_file():
            problems.bad(["apps", i, "build", "file"], file or "Dockerfile", f"expected the app's Dockerfile at {wanted}")
        return
    release = meteor_release(directory)
    if release is not None and meteor_release_given not in (None, release):
        problems.bad(
            ["apps", i, "meteorRelease"], meteor_release_given, f"expected {release} (what {context}/.meteor/release declares) or unset"
        )
    if release is None:
        problems.bad(where, context, "expected a Meteor app: .meteor/release with one line METEOR@<version>")
    elif dockerfile == "meteor" and newer_than_known(release):
        if node_version_given is None:
            newest = ".".join(map(str, NEWEST_METEOR_LINE))
            lines = ", ".join(str(image.major) for image in NODE_IMAGES)
            problems.line(
                ["apps", i, "build", "nodeVersion"],
                f"missing; METEOR@{release} (.meteor/release) is newer than Meteor {newest}, the last line whose Node the platform "
                f"knows: set apps[{i}].build.nodeVersion to the Node that release runs on (a version of a listed line: {lines}), "
                "or add its line to components/versions.py (NODE_FOR_METEOR, NEWEST_METEOR_LINE, NODE_IMAGES)",
            )
    elif dockerfile == "meteor" and node_for_meteor(release) is None:
        problems.bad(
            ["apps", i, "build", "dockerfile"],
            dockerfile,
            f"expected 'meteord' for METEOR@{release} (.meteor/release): the 'meteor' Dockerfile builds Meteor {OLDEST_METEOR_BUILT} "
            "or newer on the Node image of its line",
        )
