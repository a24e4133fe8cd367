"""Building blocks of a stateful service on one Docker host (MongoDB, MinIO): its data volume and
the one-shot step that sets it up once the service is healthy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker import DockerHost
from components.docker.hardening import limits, only_capabilities, service_container_defaults
from components.docker.steps import run_to_completion
from components.protection import stateful


def data_volume(name: str, volume_name: str, *, protect: bool, opts: pulumi.ResourceOptions) -> docker.Volume:
    """A named volume that outlives the container (protected and kept on delete when `protect`)."""
    return docker.Volume(name, name=volume_name, opts=pulumi.ResourceOptions.merge(opts, stateful(protect)))


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


@dataclass(frozen=True)
class OneShot:
    """A setup step: its container, and the command that runs it to completion (wait for this one)."""

    container: docker.Container
    run: command.local.Command


def one_shot(
    name: str,
    *,
    image: pulumi.Input[str],
    script: str,
    envs: pulumi.Input[Sequence[pulumi.Input[str]]],
    after: docker.Container,
    host: DockerHost,
    opts: pulumi.ResourceOptions,
    uploads: Sequence[docker.ContainerUploadArgsDict] = (),
    volumes: Sequence[docker.ContainerVolumeArgsDict] = (),
    capabilities: Sequence[str] = (),
    quiet: bool = False,
) -> OneShot:
    """A setup step that runs `sh -c script` on the apps network once `after` is healthy.

    The container is only created; `run_to_completion` (steps.py) starts it and fails `pulumi up`
    with its output when it exits non-zero, and the next `up` runs it again. It never restarts:
    the script is retried inside the container instead, at most ONE_SHOT_ATTEMPTS times, so the
    container stops with the last attempt's exit code. The script must be idempotent: any change
    of its inputs runs it again. No capabilities but `capabilities` (`CAP_` names). `quiet`: it handles
    credentials, so its output is not logged while it runs.
    """
    container = docker.Container(
        name,
        image=image,
        entrypoints=["sh", "-c"],
        command=[retry_wrapper(ONE_SHOT_ATTEMPTS, ONE_SHOT_RETRY_SECONDS), "one-shot", script],
        envs=envs,
        uploads=list(uploads) or None,
        volumes=list(volumes) or None,
        networks_advanced=[{"name": host.names.apps}],
        restart="no",
        # Created only: started (and waited for) by its run, which the next `up` retries.
        start=False,
        must_run=False,
        capabilities=only_capabilities(*capabilities),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[after])),
        **service_container_defaults(),
        **limits(256, "0.5"),
    )
    return OneShot(container, run_to_completion(f"{name}-run", container, host.shell, opts, quiet=quiet))
