"""What the Docker engine and a registry push answer: image digests, container and object names."""

# Stack files and mock inputs are untyped: their values are handled as Any here.
# pyright: reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import json
from typing import Any

from offline_plan.fakes.answers import Answer, FakeContext
from offline_plan.fakes.deterministic import digest


def _remote_image(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = str(state.get("name", name))
    image_digest = "sha256:" + digest("image", ref)
    repository = ref.split("@")[0].rsplit(":", 1)[0] if "/" in ref.split("@")[0] or ":" in ref else ref
    return f"{image_digest}{ref}", {"imageId": image_digest, "repoDigest": f"{repository}@{image_digest}"}


def _container(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    container_id = digest("container", name)
    return container_id, {"name": state.get("name") or f"{name}-{container_id[:7]}", "exitCode": 0, "containerLogs": ""}


def _named(kind: str) -> Answer:
    def answer(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        object_name = state.get("name") or f"{name}-{digest(kind, name)[:7]}"
        outputs: dict[str, Any] = {"name": object_name}
        if kind == "volume":
            outputs["mountpoint"] = f"/var/lib/docker/volumes/{object_name}/_data"
            return object_name, outputs
        return digest(kind, name), outputs

    return answer


def _build_image(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What a push answers: the first tag with the build's digest (here: of the build's inputs)."""
    tags = [str(t) for t in state.get("tags") or []]
    build_digest = "sha256:" + digest(
        "build", json.dumps({k: state.get(k) for k in ("context", "dockerfile", "buildArgs", "tags")}, sort_keys=True)
    )
    ref = f"{tags[0]}@{build_digest}" if tags else build_digest
    return build_digest, {"digest": build_digest, "ref": ref, "contextHash": digest("context", name)}


OUTPUTS: dict[str, Answer] = {
    "docker-build:index:Image": _build_image,
    "docker:index/remoteImage:RemoteImage": _remote_image,
    "docker:index/container:Container": _container,
    "docker:index/network:Network": _named("network"),
    "docker:index/volume:Volume": _named("volume"),
}
"""Per Docker (and docker-build) resource type, its fake."""
