"""Every infrastructure image and chart version comes from components/versions.py."""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

from components import versions
from tests.harness import ROOT, shipped

STACKS = ("byoc", "dev", "droplets", "staging", "production")


def app_images(stack: str) -> set[str]:
    """The apps' images: pinned or canaries in the stack file, built or promoted ones as the stack exports them."""
    config = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    apps = config.get("meteor-platform:apps", [])
    exported = json.loads((ROOT / "plans" / f"{stack}.json").read_text())["outputs"].get("images", {})
    return {a["image"] for a in apps if "image" in a} | {a["canary"]["image"] for a in apps if "canary" in a} | set(exported.values())


def images_in(resource: dict[str, Any]) -> set[str]:
    inputs = resource["inputs"]
    if resource["type"] == "docker:index/remoteImage:RemoteImage":
        return {inputs["name"]}
    spec = (inputs.get("spec") or {}).get("template", {}).get("spec", {})
    return {c["image"] for c in [*(spec.get("containers") or []), *(spec.get("initContainers") or [])]}


def test_every_image_the_stacks_run_is_pinned_in_one_place() -> None:
    known = {
        versions.TRAEFIK_IMAGE,
        versions.DOCKER_SOCKET_PROXY_IMAGE,
        versions.BUSYBOX_IMAGE,
        versions.MINIO_IMAGE,
        versions.MINIO_CLIENT_IMAGE,
        versions.mongo_image(versions.MONGO_VERSION),
    }
    for stack in STACKS:
        run = shipped(stack)
        used = set().union(*(images_in(r) for r in run.plan["resources"]))
        assert used, stack
        assert used - app_images(stack) <= known, (stack, sorted(used - app_images(stack) - known))


def test_traefik_talks_to_docker_engine_29() -> None:
    """Traefik before v3.6.1 loads no routes from Docker Engine 29 (API 1.44 minimum)."""
    match = re.fullmatch(r"traefik:v(\d+)\.(\d+)\.(\d+)(@sha256:[a-f0-9]{64})?", versions.TRAEFIK_IMAGE)
    assert match is not None
    assert tuple(int(p) for p in match.groups()[:3]) >= (3, 6, 1)
