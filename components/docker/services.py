"""Building blocks of a stateful service on one Docker host (MongoDB, MinIO): its data volume and
the one-shot container that sets it up once the service is healthy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_docker as docker

from components.docker import DockerNames
from components.docker.hardening import limits
from components.protection import stateful


def data_volume(name: str, volume_name: str, *, protect: bool, opts: pulumi.ResourceOptions) -> docker.Volume:
    """A named volume that outlives the container (protected and kept on delete when `protect`)."""
    return docker.Volume(name, name=volume_name, opts=pulumi.ResourceOptions.merge(opts, stateful(protect)))


LOG_TAIL_LINES = 20


def succeeded(step: str, container: docker.Container, redact: Sequence[pulumi.Output[str]] = ()) -> pulumi.Output[str]:
    """Resolves once the one-shot `container` exited 0; fails `pulumi up` with the tail of its log otherwise.

    pulumi-docker waits for an attached container to stop but never checks its exit code. Feed
    this into whatever needs the step's result, so nothing starts on a failed step. Values in
    `redact` (credentials the step handled) are blanked out of the log.
    """

    def check(values: list[Any]) -> str:
        code, logs, *secrets = values
        if code is None or int(code) == 0:  # unknown in a preview
            return "ok"
        tail = "\n".join(str(logs or "").splitlines()[-LOG_TAIL_LINES:])
        for secret in secrets:
            if secret:
                tail = tail.replace(str(secret), "[secret]")
        raise pulumi.RunError(f"{step} failed with exit code {int(code)}; the last lines of its log:\n{tail}")

    return pulumi.Output.all(container.exit_code, container.container_logs, *redact).apply(check)


def one_shot(
    name: str,
    *,
    image: pulumi.Input[str],
    script: str,
    envs: pulumi.Input[Sequence[pulumi.Input[str]]],
    after: docker.Container,
    names: DockerNames,
    opts: pulumi.ResourceOptions,
    uploads: Sequence[docker.ContainerUploadArgsDict] = (),
    volumes: Sequence[docker.ContainerVolumeArgsDict] = (),
) -> docker.Container:
    """A setup step that runs `sh -c script` on the apps network once `after` is healthy, retried on failure.

    Pulumi waits for it to stop (`attach`), but pulumi-docker never checks its exit code: the
    script must be idempotent, and a failure shows in its logs. Any change of its inputs runs it again.
    """
    return docker.Container(
        name,
        image=image,
        entrypoints=["sh", "-c"],
        command=[script],
        envs=envs,
        uploads=list(uploads) or None,
        volumes=list(volumes) or None,
        networks_advanced=[{"name": names.apps}],
        restart="on-failure",
        max_retry_count=10,
        must_run=False,
        attach=True,
        logs=True,
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[after])),
        **limits(256, "0.5"),
    )
