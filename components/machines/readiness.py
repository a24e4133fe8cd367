"""Waiting, from the machine running `pulumi up`, until a new host booted and Docker answers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pulumi
import pulumi_command as command

from components.machines.cloud_init import DOCKER_READY


@dataclass(frozen=True)
class ReachableHost:
    """A host reached over direct ssh."""

    machine_id: pulumi.Output[str]
    """The machine's id: a new machine is waited for again."""
    address: pulumi.Output[str]
    host_key: pulumi.Output[str]
    """Its ssh host key, pinned instead of trusted on first use."""
    needs: Sequence[pulumi.Resource] = field(default_factory=list[pulumi.Resource])
    """What the host uses besides itself (its data volume's attachment): everything deployed on the
    host follows its readiness, so on a roll it is all deleted before these are."""


def docker_ready_over_ssh(
    name: str, hosts: Sequence[ReachableHost], deploy_user: str, opts: pulumi.ResourceOptions
) -> list[pulumi.Resource]:
    """Per host, `<name>-<i>-docker-ready`: done once cloud-init finished and Docker answers."""
    return [
        command.remote.Command(
            f"{name}-{i}-docker-ready",
            connection={
                "host": host.address,
                "user": deploy_user,
                "host_key": host.host_key,
                # A new machine takes a while to accept ssh: retry for about ten minutes.
                "dial_error_limit": 40,
                "per_dial_timeout": 15,
            },
            create=DOCKER_READY,
            triggers=[host.machine_id],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=list(host.needs))),
        )
        for i, host in enumerate(hosts)
    ]
