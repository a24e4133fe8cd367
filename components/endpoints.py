"""Where a service listens, in terms every app target can turn into its own rules.

Kubernetes turns an endpoint into a NetworkPolicy egress rule (a pod selector in a namespace,
or an address block); Docker hosts reach services by name on the host's private network.
Shared contracts (`MongoConnection`, `StorageWiring`) carry endpoints, never target types.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

ANYWHERE = "0.0.0.0/0"


@dataclass(frozen=True)
class Pods:
    """Workloads inside the cluster: the namespace they run in and the labels they carry."""

    namespace: str
    labels: Mapping[str, str]


@dataclass(frozen=True)
class Endpoint:
    """One TCP service an app connects to."""

    port: int
    hosts: tuple[str, ...] = field(default=())
    """Names the service answers on (member DNS names, a Docker network alias); informational."""
    cidr: str | None = None
    """The address block the service lives in, when it is outside the cluster (`0.0.0.0/0`: unknown)."""
    pods: Pods | None = None
    """The pods that serve it, when it runs in the same cluster."""
