"""Building blocks of a stateful service on one Docker host (MongoDB, MinIO): its data volume and
the one-shot container that sets it up once the service is healthy."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pulumi
import pulumi_docker as docker

from components.docker import DockerNames
from components.docker.hardening import limits, service_container_defaults
from components.protection import stateful


def data_volume(name: str, volume_name: str, *, protect: bool, opts: pulumi.ResourceOptions) -> docker.Volume:
    """A named volume that outlives the container (protected and kept on delete when `protect`)."""
    return docker.Volume(name, name=volume_name, opts=pulumi.ResourceOptions.merge(opts, stateful(protect)))


LOG_TAIL_LINES = 20
ONE_SHOT_ATTEMPTS = 10
ONE_SHOT_RETRY_SECONDS = 6


def retry_wrapper(attempts: int, pause_seconds: int) -> str:
    """`sh -c` text that runs the step's script ($1) in a shell of its own (so its `set -e` holds),
    at most `attempts` times, and exits with the last attempt's code. Shell builtins and `sleep`
    only: `minio/mc` (ubi-micro) has no seq, grep or sed (without `sleep` it retries at once)."""
    return f"""\
attempt=1
while :; do
  sh -c "$1" && exit 0
  code=$?
  if [ "$attempt" -ge {attempts} ]; then echo "gave up after $attempt attempts (exit $code)" >&2; exit "$code"; fi
  echo "attempt $attempt failed (exit $code); retrying in {pause_seconds}s" >&2
  attempt=$((attempt + 1))
  sleep {pause_seconds}
done
"""


def succeeded(step: str, container: docker.Container, redact: Sequence[pulumi.Output[str]] = ()) -> pulumi.Output[str]:
    """Resolves once the one-shot `container` exited 0; fails `pulumi up` with the tail of its log otherwise.

    pulumi-docker waits for an attached container to stop but never checks its exit code, and it
    records one only for a container that is not running (kreuzwerker/terraform-provider-docker
    v4.5.0 internal/provider/resource_docker_container_funcs.go, resourceDockerContainerRead:
    `if !container.State.Running { d.Set("exit_code", ...) }`). So no exit code after a deploy
    means the step never finished: a failure, not a success. In a preview it is simply not known
    yet. Feed this into whatever needs the step's result, so nothing starts on a failed step.
    Values in `redact` (credentials the step handled) are blanked out of the log.
    """

    def check(values: list[Any]) -> str:
        code, logs, *secrets = values
        if code is None and pulumi.runtime.is_dry_run():
            return "ok"
        if code is not None and int(code) == 0:
            return "ok"
        tail = "\n".join(str(logs or "").splitlines()[-LOG_TAIL_LINES:])
        for secret in secrets:
            if secret:
                tail = tail.replace(str(secret), "[secret]")
        outcome = "reported no exit code (it never finished)" if code is None else f"failed with exit code {int(code)}"
        raise pulumi.RunError(f"{step} {outcome}; the last lines of its log:\n{tail}")

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
    capabilities: Sequence[str] = (),
) -> docker.Container:
    """A setup step that runs `sh -c script` on the apps network once `after` is healthy.

    It never restarts: Docker reports a restarting container as running, and pulumi-docker then
    records no exit code (see `succeeded`). The script is retried inside the container instead,
    at most ONE_SHOT_ATTEMPTS times, so the container stops with the last attempt's exit code.
    Pulumi waits for it to stop (`attach`); check it with `succeeded`. The script must be
    idempotent: any change of its inputs runs it again. No capabilities but `capabilities`.
    """
    return docker.Container(
        name,
        image=image,
        entrypoints=["sh", "-c"],
        command=[retry_wrapper(ONE_SHOT_ATTEMPTS, ONE_SHOT_RETRY_SECONDS), "one-shot", script],
        envs=envs,
        uploads=list(uploads) or None,
        volumes=list(volumes) or None,
        networks_advanced=[{"name": names.apps}],
        restart="no",
        must_run=False,
        attach=True,
        logs=True,
        capabilities=one_shot_capabilities(capabilities),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[after])),
        **service_container_defaults(),
        **limits(256, "0.5"),
    )


def one_shot_capabilities(needed: Sequence[str]) -> docker.ContainerCapabilitiesArgsDict:
    capabilities: docker.ContainerCapabilitiesArgsDict = {"drops": ["ALL"]}
    if needed:
        capabilities["adds"] = list(needed)
    return capabilities
