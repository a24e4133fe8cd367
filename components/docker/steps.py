"""A step `pulumi up` runs to completion, and runs again on the next `up` when it failed: every
one-shot step on a Docker host (the MongoDB init, the MinIO setup, the certificates' owner, a
migration) goes through `run_to_completion`.

pulumi-docker cannot express that: a created container stays in the state with whatever exit
code it had, and without an input change the next `up` sees nothing to do, so a failed step
would fail every later `up` the same way. Here the container is only created (`start=False`),
and a pulumi-command `local.Command` starts it, attached, from the machine running `pulumi up`
(`docker start --attach` exits with the container's exit code: docker/cli
cli/command/container/start.go). A failed command fails `pulumi up` with the step's output
(pulumi-command's error is "exit status N: running <command>: <stdout and stderr>" whatever its
`logging`: provider/pkg/provider/local/commandOutputs.go), and the next `up` runs it again:
pulumi-command's Create returns a plain error, not an initialization failure with partial state
(pulumi/pulumi-command v1.2.1 provider/pkg/provider/local/commandController.go; pulumi-go-provider
infer/resource.go keeps state only for `infer.ResourceInitFailedError`), so nothing is recorded
and the next `up` creates the command again (its preview shows a create, or a replace when an
earlier successful run is in the state and the container changed). A new container (new image or
environment) is a new trigger: the step runs once more. Whatever waits for the step depends on
the command (the engine creates nothing that depends on a failed resource).

The previous run's output is not handed to the next one: pulumi-command puts it in the
environment as PULUMI_COMMAND_STDOUT/STDERR unless told not to (`add_previous_output_in_env`
defaults to true, pinned SDK docstring), and a long log (a single environment string over
128 KiB, MAX_ARG_STRLEN on Linux) would make every later run fail with "argument list too long".

The command's stdout and stderr are outputs kept in the state: they are secret, since a step
sees credentials in its environment. A step that handles credentials is also not logged while it
runs (`quiet`); its output still reaches the operator in the error when it fails.
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components.docker import HostShell


def start_attached(container_id: str, ssh_options: Sequence[str] | None) -> str:
    """The shell command that starts the container and waits for it, exiting with its exit code."""
    start = f"docker start --attach {shlex.quote(container_id)}"
    if ssh_options is None:
        return start  # the local engine: DOCKER_HOST in the environment
    options = " ".join(shlex.quote(option) for option in ssh_options)
    return f'ssh {options} "$DOCKER_HOST" {shlex.quote(start)}'


def run_to_completion(
    name: str, container: docker.Container, shell: HostShell, opts: pulumi.ResourceOptions, *, quiet: bool = False
) -> command.local.Command:
    """Start `container` (created with `start=False`) once, and wait until it exits 0."""
    script = pulumi.Output.all(container.id, shell.ssh_options).apply(
        lambda values: start_attached(str(values[0]), [str(o) for o in values[1]] if values[1] is not None else None)
    )
    return command.local.Command(
        name,
        create=script,
        environment={"DOCKER_HOST": shell.docker_host},
        triggers=[container.id],
        add_previous_output_in_env=False,
        logging=command.local.Logging.NONE if quiet else None,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[container], additional_secret_outputs=["stdout", "stderr"])
        ),
    )
