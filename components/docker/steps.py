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

Two steps report instead of streaming, so that a failed `pulumi up` says why in a few lines
(`report_on_host`): an app's migration (`run_reporting`: its exit code, whether it was OOM-killed,
and the last lines of its log) and an app container's readiness (`wait_healthy`: its state, its
health-check log, and the last lines of its log). pulumi-command's error carries the command and
all of its output (`fmt.Errorf("%w: running %q:\n%s", err, command, stdouterrbuf)`,
provider/pkg/provider/local/commandOutputs.go at v1.2.1): the scripts are kept out of the command
line (in the step's environment) so the error shows the report, not the script. Neither prints a
container's environment or configuration (`docker inspect` only reads `.State`): the log tail is
what the app printed itself. Neither is logged while it runs (`Logging.NONE`, "doesn't affect the
capturing of stdout and stderr as outputs": pinned pulumi_command local/command.py), so a
successful run prints nothing; a failed one's report is in the error, which the engine prints as
it is: the secret outputs are masked in the state, not in that error (pulumi/pulumi#15912). What
an app prints in its log tail reaches the `up` output and CI logs unmasked.

All of them run through pulumi-command's default interpreter, `/bin/sh -c` on Linux and macOS and
`cmd /C` on Windows (pinned SDK docstring of `interpreter`): the reporting scripts are POSIX shell,
so a Docker-host stack is deployed from Linux, macOS or WSL, not from a native Windows shell.
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


REPORT_LINES = 50
"""How many of its last log lines a failed migration or an unhealthy container reports."""

MIGRATION_REPORT = """id=$1 lines=$2
docker start "$id" >/dev/null || exit
code=$(docker wait "$id") || exit
if [ "$code" = 0 ]; then
  echo "$id finished. The last $lines lines of its log:"
  docker logs --tail "$lines" "$id" 2>&1
  exit 0
fi
echo "$id failed with exit code $code ($(docker inspect --format \
  'OOM killed: {{.State.OOMKilled}}{{with .State.Error}}, error: {{.}}{{end}}' "$id"))."
echo "The last $lines lines of its log:"
docker logs --tail "$lines" "$id" 2>&1
exit "$code"
"""
"""Starts the migration container (created, stopped), waits for it (`docker wait` prints its exit
code) and reports. A retry starts the same stopped container again: its log then holds the earlier
runs too, the newest last."""

HEALTH_WAIT = """id=$1 attempts=$2 interval=$3 lines=$4
health() { docker inspect --format '{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}' "$id"; }
n=0
while [ "$n" -lt "$attempts" ]; do
  status=$(health) || exit
  if [ "$status" = healthy ]; then
    echo "$id is healthy"
    exit 0
  fi
  n=$((n + 1))
  sleep "$interval"
done
echo "$id did not become healthy in $((attempts * interval))s: $(docker inspect --format \
  '{{.State.Status}}, health {{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}, restarted {{.RestartCount}} times, last exit code {{.State.ExitCode}}, OOM killed: {{.State.OOMKilled}}{{with .State.Error}}, error: {{.}}{{end}}' "$id")."
echo "Its last health checks:"
docker inspect --format '{{json .State.Health}}' "$id"
echo "The last $lines lines of its log:"
docker logs --tail "$lines" "$id" 2>&1
exit 1
"""
"""Polls the container's health (only `docker inspect`: a healthy container is never touched) until
it is healthy, or reports. `.State.Health` is the health-check log Docker keeps (its last five
probes, each with its exit code and output); `docker logs` reads the container's log whatever its
log driver (`local`, or `awslogs` through Docker's dual-logging cache, Engine 20.10+:
docs.docker.com/engine/logging/dual-logging)."""


def report_on_host(variable: str, arguments: Sequence[str], ssh_options: Sequence[str] | None) -> str:
    """The command that runs the script in $`variable` (shell-quoted) with `arguments` ($0 first) where
    Docker is: locally, or on the machine over ssh (one connection for the whole script)."""
    remote = " ".join(["sh -c", f"${variable}", *(shlex.quote(a) for a in arguments)])
    if ssh_options is None:
        return f'sh -c "{remote}"'
    options = " ".join(shlex.quote(option) for option in ssh_options)
    return f'ssh {options} "$DOCKER_HOST" "{remote}"'


def _reporting_step(
    name: str,
    container: docker.Container,
    shell: HostShell,
    opts: pulumi.ResourceOptions,
    *,
    variable: str,
    script: str,
    arguments: Sequence[str],
) -> command.local.Command:
    create = pulumi.Output.all(container.id, shell.ssh_options).apply(
        lambda values: report_on_host(
            variable, [name, str(values[0]), *arguments], [str(o) for o in values[1]] if values[1] is not None else None
        )
    )
    return command.local.Command(
        name,
        create=create,
        environment={"DOCKER_HOST": shell.docker_host, variable: shlex.quote(script)},
        # A new container is checked again; a failed check stores nothing, so the next `up` runs it again.
        triggers=[container.id],
        add_previous_output_in_env=False,
        # Not streamed while it runs: on success nothing is printed, on failure the error carries the report.
        logging=command.local.Logging.NONE,
        opts=pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(depends_on=[container], additional_secret_outputs=["stdout", "stderr"])
        ),
    )


def run_reporting(name: str, container: docker.Container, shell: HostShell, opts: pulumi.ResourceOptions) -> command.local.Command:
    """Like `run_to_completion`, for a migration: on failure the error says how it ended and shows
    the last REPORT_LINES lines of its log (not the whole of it). Not logged while it runs: a
    successful migration prints nothing in the `up` output (its tail is in the step's secret
    stdout), a failed one's report is in the error."""
    return _reporting_step(
        name,
        container,
        shell,
        opts,
        variable="MIGRATION_REPORT",
        script=MIGRATION_REPORT,
        arguments=[str(REPORT_LINES)],
    )


def wait_healthy(
    name: str,
    container: docker.Container,
    shell: HostShell,
    opts: pulumi.ResourceOptions,
    *,
    timeout_seconds: int,
    interval_seconds: int = 5,
) -> command.local.Command:
    """Waits until the app container (started with its health check) is healthy, or fails `pulumi up`
    with its state, health-check log and log tail. It replaces pulumi-docker's `wait`, whose timeout
    only says "container failed to be in healthy state" (kreuzwerker/terraform-provider-docker
    internal/provider/resource_docker_container_funcs.go, errContainerFailedToBeInHealthyState) and
    leaves a failed, tainted container in the state. Not logged while it runs: the error carries the report."""
    return _reporting_step(
        name,
        container,
        shell,
        opts,
        variable="HEALTH_WAIT",
        script=HEALTH_WAIT,
        arguments=[str(timeout_seconds // interval_seconds), str(interval_seconds), str(REPORT_LINES)],
    )


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
