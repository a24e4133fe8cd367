"""Everything the platform runs on a Docker host follows that host's machine.

A replaced droplet or EC2 instance keeps its reserved IP (or Elastic IP) and its pinned host key,
so the host's Docker provider sees the same inputs: the bridged provider replaces itself only
for config marked `ForcesProviderReplace`, which pulumi-docker's `host` is not
(pulumi/pulumi-docker provider/resources.go; pulumi/pulumi-terraform-bridge#1683, DiffConfig),
and with no input changed `pulumi up` would leave the new machine empty. So every container,
network and image on a host carries the machine's id in an input that forces its replacement:
a new machine runs everything again, in the same `up`.

Named volumes do not follow: on the host holding data they live on the block-storage volume
mounted at /var/lib/docker/volumes, which the new machine mounts before Docker starts, and the
local volume driver finds every volume in that directory when it starts (moby/moby
volume/local/local.go, New); elsewhere Docker creates a missing named volume when a container
mounts it. Protected volumes are therefore never "replaced" by a host roll.
"""

from __future__ import annotations

from typing import Any

import pulumi

MACHINE_LABEL = "meteor-platform/machine"
MACHINE_TRIGGER = "machine"

# ForceNew in kreuzwerker/terraform-provider-docker v4.5.0 (internal/provider): a container's
# `labels` (every argument but the few resourceDockerContainerUpdate changes), a network's
# `labels` (resource_docker_network.go), an image's `triggers` (resource_docker_image.go; the
# SDK's docstring: "when changed, will force the RemoteImage resource to be replaced").
LABELLED = ("docker:index/container:Container", "docker:index/network:Network")
TRIGGERED = ("docker:index/remoteImage:RemoteImage",)


def follow_machine(machine_id: pulumi.Input[str]) -> pulumi.ResourceTransformation:
    """A transformation that ties the containers, networks and images it sees to `machine_id`."""

    def transform(args: pulumi.ResourceTransformationArgs) -> pulumi.ResourceTransformationResult | None:
        props: dict[str, Any] = dict(args.props)
        if args.type_ in LABELLED:
            props["labels"] = [*(props.get("labels") or []), {"label": MACHINE_LABEL, "value": machine_id}]
        elif args.type_ in TRIGGERED:
            props["triggers"] = {**(props.get("triggers") or {}), MACHINE_TRIGGER: machine_id}
        else:
            return None
        return pulumi.ResourceTransformationResult(props, args.opts)

    return transform
