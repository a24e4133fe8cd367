"""A MongoDB the platform does not manage: every app gets the URL it was given."""

from __future__ import annotations

from dataclasses import dataclass

from components.endpoints import ANYWHERE, Endpoint
from components.mongo import MONGO_PORT, MongoConnection
from components.secrets import SecretValue


@dataclass(frozen=True)
class ExternalMongoArgs:
    url: SecretValue
    """MONGO_URL for every app (secret)."""
    oplog_url: SecretValue | None = None
    """MONGO_OPLOG_URL (secret), if the service offers it."""


class ExternalMongo:
    def __init__(self, args: ExternalMongoArgs) -> None:
        self._args = args

    def connection(self, app: str) -> MongoConnection:
        oplog = self._args.oplog_url.output() if self._args.oplog_url else None
        # The address is unknown here: the MongoDB port anywhere.
        return MongoConnection(
            url=self._args.url.output(),
            oplog_url=oplog,
            endpoints=[Endpoint(port=MONGO_PORT, cidr=ANYWHERE)],
            no_oplog_because="" if oplog else "mongo.oplogUrl is not set",
        )
