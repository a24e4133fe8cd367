"""MongoDB: the `MongoDatabase` contract and one module per implementation.

kubernetes.py   replica set as a StatefulSet (bring-your-own cluster)
container.py    single-node replica set as a container on a Docker host
digitalocean.py DigitalOcean managed MongoDB
external.py     a URL the platform does not manage
replica_set.py  what the two replica sets the platform runs share (init script, URLs)
restore.py      the command that restores a dump from the backups bucket (exported as mongo_restore)
select.py       which MongoDB a stack's `mongo` section asks for, on either target
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from components.endpoints import Endpoint

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pulumi

MONGO_PORT = 27017


@dataclass(frozen=True)
class MongoAppUser:
    app: str
    """App name (one user per app)."""
    database: str
    """The app's own database; the user is defined there."""


@dataclass(frozen=True)
class MongoConnection:
    """How one app reaches its database."""

    url: pulumi.Output[str]
    """MONGO_URL (secret)."""
    oplog_url: pulumi.Output[str] | None
    """MONGO_OPLOG_URL (secret), when the database offers the oplog."""
    endpoints: list[Endpoint]
    """Where the database listens (each target turns these into its own network rules)."""
    no_oplog_because: str = ""
    """Why there is no oplog URL (the plan says it: apps before Meteor 3.5 poll)."""
    reactivity_order: tuple[str, ...] = ()
    """METEOR_REACTIVITY_ORDER, the observe drivers the app tries in turn; empty: unset
    (components/app/reactivity.py decides it per app from its Meteor release)."""
    ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """Resources to wait for before the app starts (users created, replica set initiated)."""


class MongoDatabase(Protocol):
    def connection(self, app: str) -> MongoConnection: ...


@dataclass(frozen=True)
class StackMongo:
    """The stack's MongoDB and, when the platform runs it and dumps it, how to restore a dump."""

    database: MongoDatabase
    restore_command: pulumi.Output[str] | None = None
    managed_databases: Mapping[str, pulumi.Input[str]] = field(default_factory=lambda: {})
    """DigitalOcean managed clusters by what they serve (`""` the shared one, else the isolated app): their ids, for alerts."""
