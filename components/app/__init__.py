"""Meteor apps run to the MeteorD contract, one module per app target.

environment.py the environment every target gives an app (ROOT_URL, MONGO_URL, METEOR_SETTINGS, ...)
reactivity.py  change streams, oplog tailing or polling, from the app's Meteor release and its MongoDB
rollout.py     rollout rules both targets share: instances per version, drain time
kubernetes.py  a Kubernetes workload; its pure builders: kubernetes_specs.py (workloads),
               kubernetes_ingress.py (exposure), kubernetes_network_policy.py (policies)
docker.py      containers on Docker hosts behind Traefik (docker_specs.py: its pure builders)
select.py      each app on the stack's target, wired to its image, database, storage and siblings
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi


@dataclass(frozen=True)
class Sibling:
    """Another app of the same stack, reachable over DDP."""

    name: str
    url: str
    """Its internal URL on this target."""
    port: int


class MeteorService(Protocol):
    url: pulumi.Output[str]
    """The public URL (or the internal one for an app without a domain)."""
