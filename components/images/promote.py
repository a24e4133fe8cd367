"""Promotion: deploy the exact image digest another stack runs, read through a StackReference.

The source stack exports `images` (app -> `registry/app@sha256:<digest>`). A promoted stack never
builds: each app runs its source digest, after one step per app that makes sure the digest is in
this stack's registry. When the source repository is this stack's (one registry shared by the team: the
usual case) the step only passes the reference on; otherwise it copies the image with
`crane copy` (which keeps the digest, go-containerregistry's `crane copy` docs) and checks the
copy's digest. `crane` must be on the machine running `pulumi up`, logged in to the source
registry; this stack's push credentials are used for the target (on ECR, the credential helper of
that machine's Docker config logs crane in to both: components/registry/aws.py).

The copy is tagged `promoted-<64 hex of the digest>`: a tag per digest never moves, so immutable-tag
repositories (ECR) accept it, and it is written once. The step runs again whenever any of its inputs
changes, not only the digest (pulumi_command/local/command.py: with no `update`, "the create
command will be executed instead"), e.g. a changed script, and promoting a digest back again
asks for a tag that already exists: ECR refuses a second push to an existing immutable tag even
with the same digest (aws/containers-roadmap#2179). So the copy is skipped when the tag already
names the digest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_command as command

from components.images import AppImage
from components.registry import PROMOTED_TAG_PREFIX, Registry
from components.registry.credentials import login_from_dockerconfig

PINNED = re.compile(r"^(?P<repository>[a-z0-9][a-z0-9._/:-]*[a-z0-9])@sha256:[0-9a-f]{64}$")
SOURCE_KEY = "meteor-platform:promotion.fromStack"

# Runs on the machine that runs `pulumi up`. Credentials come from the environment, never the command line.
COPY_SCRIPT = r"""set -eu
digest="${SOURCE_REF##*@}"
tag="{PROMOTED}${digest#sha256:}"
source_repository="${SOURCE_REF%@*}"
case "${source_repository##*/}" in *:*) source_repository="${source_repository%:*}" ;; esac  # drop a tag
target="${TARGET_REPOSITORY}@${digest}"
if [ "${source_repository}" != "${TARGET_REPOSITORY}" ]; then
  command -v crane >/dev/null || { echo "crane is needed to copy ${SOURCE_REF} into ${TARGET_REPOSITORY}" >&2; exit 1; }
  config="$(mktemp -d)"; trap 'rm -rf "${config}"' EXIT
  if [ -f "${DOCKER_CONFIG:-$HOME/.docker}/config.json" ]; then cp "${DOCKER_CONFIG:-$HOME/.docker}/config.json" "${config}/config.json"; fi
  export DOCKER_CONFIG="${config}"
  printf '%s' "${TARGET_PASSWORD}" | crane auth login "${TARGET_REGISTRY}" -u "${TARGET_USERNAME}" --password-stdin >/dev/null
  if [ "$(crane digest "${TARGET_REPOSITORY}:${tag}" 2>/dev/null || true)" != "${digest}" ]; then
    crane copy "${SOURCE_REF}" "${TARGET_REPOSITORY}:${tag}" >&2
  fi
  copied="$(crane digest "${target}")"
  [ "${copied}" = "${digest}" ] || { echo "the copy has digest ${copied}, expected ${digest}" >&2; exit 1; }
fi
printf '%s' "${target}"
""".replace("{PROMOTED}", PROMOTED_TAG_PREFIX)

TARGET_LOGIN = """  printf '%s' "${TARGET_PASSWORD}" | crane auth login "${TARGET_REGISTRY}" -u "${TARGET_USERNAME}" --password-stdin >/dev/null
"""
assert TARGET_LOGIN in COPY_SCRIPT
HELPER_COPY_SCRIPT = COPY_SCRIPT.replace(TARGET_LOGIN, "")
"""With a registry's credential helper (ECR): crane logs in through the copied Docker config."""


class SourceImageError(pulumi.RunError):
    """The source stack exports no usable image for an app."""


def source_image(images: Any, app: str, source: str) -> str:
    """The app's pinned image from the source stack's `images` output, or a clear error."""
    if not isinstance(images, dict):
        raise SourceImageError(
            f"{SOURCE_KEY}: stack {source!r} exports no `images` output; expected a map of app to image@sha256 digest "
            "(run `pulumi up` on that stack first; on a new team's first `up`, set promotion.sourceReady false: README, Bootstrapping a new team)"
        )
    ref = images.get(app)  # pyright: ignore[reportUnknownMemberType, reportUnknownVariableType]
    if ref is None:
        raise SourceImageError(f"{SOURCE_KEY}: stack {source!r} exports no image for app {app!r}; it has {sorted(images)}")  # pyright: ignore[reportUnknownArgumentType]
    if not isinstance(ref, str) or not PINNED.fullmatch(ref):
        raise SourceImageError(
            f"{SOURCE_KEY}: stack {source!r} exports {ref!r} for app {app!r}; expected registry/app@sha256:<64 hex digits>"
        )
    return ref


def target_login(registry: Registry) -> dict[str, pulumi.Input[str]]:
    """What `crane auth login` needs for the target; nothing with a credential helper: crane then logs in
    through the Docker config where `pulumi up` runs (components/registry/aws.py)."""
    if registry.credential_helper is not None:
        return {}
    login = pulumi.Output.secret(registry.push_credentials).apply(login_from_dockerconfig)
    return {
        "TARGET_REGISTRY": login.apply(lambda entry: entry.address),
        "TARGET_USERNAME": login.apply(lambda entry: entry.username),
        "TARGET_PASSWORD": pulumi.Output.secret(login.apply(lambda entry: entry.password)),
    }


@dataclass(frozen=True)
class PromotedImagesArgs:
    source: str
    """The source stack (`org/project/stack`)."""
    apps: list[str]
    """The apps that run the promoted image (the others pin their own)."""
    registry: Registry | None
    """This stack's registry: images from elsewhere are copied into it. None: run the source reference as is."""


class PromotedImages(pulumi.ComponentResource):
    reference: pulumi.StackReference
    images: dict[str, AppImage]

    def __init__(self, name: str, args: PromotedImagesArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:images:PromotedImages", name, None, opts)
        self.reference = pulumi.StackReference(f"{name}-source", stack_name=args.source, opts=pulumi.ResourceOptions(parent=self))
        exported = self.reference.get_output("images")
        self.images = {}
        for app in args.apps:
            ref = exported.apply(lambda images, app=app: source_image(images, app, args.source))
            if args.registry is None:
                self.images[app] = AppImage(ref=ref)
                continue
            copy = command.local.Command(
                f"{name}-{app}",
                create=COPY_SCRIPT if args.registry.credential_helper is None else HELPER_COPY_SCRIPT,
                environment={
                    "SOURCE_REF": ref,
                    "TARGET_REPOSITORY": args.registry.server.apply(lambda server, app=app: f"{server}/{app}"),
                    **target_login(args.registry),
                },
                triggers=[ref],
                logging=command.local.Logging.STDERR,
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.images[app] = AppImage(ref=copy.stdout, ready=[copy])
        self.register_outputs({})
