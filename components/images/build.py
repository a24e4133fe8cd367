"""An app image built from Meteor source with BuildKit (pulumi-docker-build), pushed by digest.

pulumi-docker-build rather than pulumi-docker's `Image`: it drives buildx/BuildKit (multi-stage
caching, registry cache import/export, secrets by value, multi-platform), returns the pushed
digest as `ref`, and builds on preview only when asked; pulumi-docker's `Image` is the legacy
builder interface it supersedes. `build_on_preview=False`: a preview never builds and needs no
Docker engine; `pulumi up` builds, pushes `<registry>/<app>:<stack>-<source digest>` (a tag per
distinct source: immutable-tag registries accept it) and the app runs the pushed digest.
The registry is the layer cache (`<app>:buildcache-<stack>`, mode max).

Retained on delete only where other stacks pull from the same registry: pulumi-docker-build
deletes an Image's pushed tags when the Image is deleted (`pulumi_docker_build/image.py` docstring,
"Tag deletion and refreshes": "When an Image is deleted, it will attempt to also delete any pushed
tags... Use the retainOnDelete: true option if you do not want tags deleted"; updates never delete
tags), and on DigitalOcean (one registry per team) production runs the digest this stack pushed,
from that registry: destroying staging or dropping an app's `build` must not pull production's
image from under its next pod. ECR repositories are this stack's own (`<stack>/<app>`) and a
promoted stack copies into its own (promote.py, `crane copy`), so retaining there protects nothing
and hurts: the repository (force_delete defaults to false, pulumi_aws/ecr/repository.py) cannot be
destroyed while it holds images, and re-pushing a retained tag into the IMMUTABLE repository is
refused (aws/containers-roadmap#2179).

Nothing expires retained tags on DOCR: its garbage collection only frees the blobs of manifests
already deleted, runs when started (`doctl registry garbage-collection start`) and makes the
registry read-only while it runs (DigitalOcean API, "Start Garbage Collection"). The README
(Images, "A built image outlives its stack") says how an operator deletes old tags while keeping
the digests production exports.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import pulumi
import pulumi_docker_build as docker_build

from components.images import AppImage
from components.registry import BUILD_CACHE_TAG_PREFIX, Registry
from components.registry.credentials import login_from_dockerconfig
from components.versions import METEORD_ONBUILD_IMAGE, node_image_of_line

DOCKERFILES = Path("dockerfiles")
"""The shipped Dockerfiles, relative to the project directory (where `pulumi up` runs the program)."""


@dataclass(frozen=True)
class MeteorImageArgs:
    app: str
    stack: str
    context: Path
    """The app's source directory, relative to the project directory (plans stay the same on every machine)."""
    dockerfile: Literal["meteor", "meteord", "own"]
    registry: Registry
    meteor_release: str | None = None
    """From `.meteor/release` (the `meteor` Dockerfile installs exactly it)."""
    node_version: str | None = None
    """x.y.z of a Node line `components.versions.NODE_IMAGES` lists (config validation checks it)."""
    own_file: str | None = None
    base_image: str | None = None
    """With `meteord`: the onbuild base by digest (config requires it outside dev); the tag in dev."""
    build_args: dict[str, str] = field(default_factory=lambda: {})
    project_dir: Path = Path(".")
    """Where `context` and the Dockerfiles are read from (to tag each distinct source once)."""


IGNORED = {".git", "node_modules", ".meteor/local"}


def source_tag(args: MeteorImageArgs) -> str:
    """`<stack>-<12 hex>`: a digest of the build's inputs (source files, Dockerfile, arguments).

    A new tag for every distinct source keeps registries with immutable tags (ECR) working, and
    the same source is never pushed twice. With a credential helper the login mode is hashed too.
    """
    import hashlib

    digest = hashlib.sha256()
    context = args.project_dir / args.context
    for path in sorted(context.rglob("*")):
        relative = path.relative_to(context).as_posix()
        if path.is_file() and not any(relative == i or relative.startswith(f"{i}/") for i in IGNORED):
            digest.update(relative.encode() + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    dockerfile = args.project_dir / dockerfile_path(args)
    if dockerfile.is_file():
        digest.update(dockerfile.read_bytes())
    digest.update(repr(sorted(build_arguments(args).items())).encode())
    if args.registry.credential_helper is not None:
        # The login mode is part of the tag where a helper logs in (ECR): moving an Image from its own
        # `registries` login to none is an update for pulumi-docker-build (v0.0.22 image.go Diff:
        # "len(olds.Registries) != len(news.Registries)"), and Update is Create, which pushes the tag
        # again; ECR refuses a second push to an immutable tag (aws/containers-roadmap#2179). Registries
        # without a helper (DOCR) keep their tags, so their plans do not move.
        digest.update(f"login:credential-helper:{args.registry.credential_helper}".encode())
    return f"{args.stack}-{digest.hexdigest()[:12]}"


def build_arguments(args: MeteorImageArgs) -> dict[str, str]:
    """The build arguments of each Dockerfile: only versions, never a secret."""
    if args.dockerfile == "meteor":
        assert args.meteor_release is not None and args.node_version is not None, "config validation reads .meteor/release"
        line = node_image_of_line(int(args.node_version.split(".", 1)[0]))
        assert line is not None, "config validation accepts only the Node lines versions.NODE_IMAGES lists"
        return {
            **args.build_args,
            "METEOR_RELEASE": args.meteor_release,
            "NODE_VERSION": args.node_version,
            # node:<version>-<debian>-slim exists only for the Debian releases that Node line was built on.
            "DEBIAN_RELEASE": line.debian,
        }
    if args.dockerfile == "meteord":
        return {**args.build_args, "METEORD_IMAGE": args.base_image or METEORD_ONBUILD_IMAGE}
    return dict(args.build_args)


def dockerfile_path(args: MeteorImageArgs) -> Path:
    if args.dockerfile == "own":
        return args.context / (args.own_file or "Dockerfile")
    return DOCKERFILES / args.dockerfile / "Dockerfile"


def build_logins(registry: Registry) -> list[docker_build.RegistryArgsDict]:
    """The Image's own registry login; none with a credential helper: pulumi-docker-build then uses the
    logins of the Docker config where `pulumi up` runs, helpers included (components/registry/aws.py)."""
    if registry.credential_helper is not None:
        return []
    login = pulumi.Output.secret(registry.push_credentials).apply(login_from_dockerconfig)
    return [
        {
            "address": login.apply(lambda entry: entry.address),
            "username": login.apply(lambda entry: entry.username),
            "password": pulumi.Output.secret(login.apply(lambda entry: entry.password)),
        }
    ]


class MeteorImage(pulumi.ComponentResource):
    image: docker_build.Image
    result: AppImage

    def __init__(self, name: str, args: MeteorImageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:images:MeteorImage", name, None, opts)
        repository = args.registry.server.apply(lambda server: f"{server}/{args.app}")
        # Rewritten by every build: ECR repositories exempt this tag from immutability (registry/aws.py).
        cache = repository.apply(lambda r: f"{r}:{BUILD_CACHE_TAG_PREFIX}{args.stack}")
        self.image = docker_build.Image(
            f"{name}-image",
            context={"location": str(args.context)},
            dockerfile={"location": str(dockerfile_path(args))},
            build_args=build_arguments(args),
            platforms=[docker_build.Platform.LINUX_AMD64],
            tags=[repository.apply(lambda r: f"{r}:{source_tag(args)}")],
            push=True,
            build_on_preview=False,
            registries=build_logins(args.registry),
            cache_from=[{"registry": {"ref": cache}}],
            cache_to=[
                {
                    "registry": {
                        "ref": cache,
                        "mode": docker_build.CacheMode.MAX,
                        "image_manifest": True,
                        "oci_media_types": True,
                    }
                }
            ],
            labels={"org.opencontainers.image.title": args.app, "meteor-platform/stack": args.stack},
            opts=pulumi.ResourceOptions(parent=self, retain_on_delete=args.registry.shared_with_other_stacks),
        )
        self.result = AppImage(ref=self.image.ref, ready=[self.image])
        self.register_outputs({"ref": self.image.ref})
