"""Everything the platform runs on a Docker host follows that host's machine.

A replaced droplet or EC2 instance keeps its reserved IP (or Elastic IP) and its pinned host key,
so the host's Docker provider sees the same inputs: the bridged provider replaces itself only
for config marked `ForcesProviderReplace`, which pulumi-docker's `host` is not
(pulumi/pulumi-docker provider/resources.go; pulumi/pulumi-terraform-bridge#1683, DiffConfig),
and with no input changed `pulumi up` would leave the new machine empty. So every container,
network and image on a host carries the machine's id in an input that forces its replacement
(a `meteor-platform/machine` label, an image trigger): a new machine runs everything again, in
the same `up`.

A network's Docker name carries a short form of the id too (`machine_tag`, DockerNames): a
replaced network is created before the old one is deleted (pulumi-docker marks only containers
delete-before-replace: pulumi/pulumi-docker provider/resources.go, DESIGN.md), and Docker Engine 25+ refuses
a second network of the same name (moby/moby#46251), so a replacement that kept its name would
fail on a host that still has the old one (the upgrade of a deployed host). With the tag the new
network coexists with the old one until every container moved over; the old one goes last: the
provider retries its removal while Docker says "has active endpoints", and on a rolled machine,
where it no longer exists, takes it as removed (kreuzwerker/terraform-provider-docker
internal/provider/resource_docker_network_funcs.go, resourceDockerNetworkRemoveRefreshFunc, read
at 05198ac). `python -m offline_plan <stack> --base <deployed commit>` shows the order.

Named volumes do not follow: on the host holding data they live on the block-storage volume
mounted at /var/lib/docker/volumes, which the new machine mounts before Docker starts, and the
local volume driver finds every volume in that directory when it starts (moby/moby
volume/local/local.go, New); elsewhere Docker creates a missing named volume when a container
mounts it. Protected volumes are therefore never "replaced" by a host roll.
"""

from __future__ import annotations

import hashlib
from typing import Any

import pulumi

MACHINE_LABEL = "meteor-platform/machine"
MACHINE_TRIGGER = "machine"

MACHINE_TAG_LENGTH = 8

# ForceNew in kreuzwerker/terraform-provider-docker (internal/provider, read at v4.5.0 and at
# 83c00e0b of 2026-07-22; pulumi-docker 5.2.0 bundles a later release, v4.6.0 or newer, as its
# SDK's upload owner/group show, kreuzwerker#996): a container's
# `labels` (every argument but the few resourceDockerContainerUpdate changes), a network's
# `labels` (resource_docker_network.go), an image's `triggers` (resource_docker_image.go; the
# SDK's docstring: "when changed, will force the RemoteImage resource to be replaced").
LABELLED = ("docker:index/container:Container", "docker:index/network:Network")
TRIGGERED = ("docker:index/remoteImage:RemoteImage",)


def machine_tag(machine_id: str) -> str:
    """A short, stable form of a machine's id for Docker names (hex: valid in any of them)."""
    return hashlib.sha256(machine_id.encode()).hexdigest()[:MACHINE_TAG_LENGTH]


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
