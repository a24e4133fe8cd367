"""How an app's live queries learn about changes, decided from its Meteor release and its MongoDB.

Meteor 3.5 observes MongoDB through change streams (MongoDB 6+ replica set) by default, and a set
`MONGO_OPLOG_URL` turns them off in favour of oplog tailing (meteor/meteor#14454; the 3.5 release,
meteor/meteor#14112: change streams are the default "if you do not set" another order). Before
3.5 there are no change streams: with `MONGO_OPLOG_URL` an app tails the oplog, without it the app
polls every query (10 s and on its own writes). So:

    3.5 or newer                MONGO_OPLOG_URL unset: change streams
    before 3.5, oplog offered   MONGO_OPLOG_URL set: oplog tailing
    before 3.5, no oplog        polling (DigitalOcean managed MongoDB gives no oplog access)
    release unknown             MONGO_OPLOG_URL set where offered: every release stays reactive
                                (3.5+ tails the oplog instead of using change streams until
                                `apps[].meteorRelease` says which release runs)
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from components.mongo import MongoConnection
from components.versions import release_tuple

CHANGE_STREAMS_SINCE = (3, 5)


@dataclass(frozen=True)
class Reactivity:
    connection: MongoConnection
    """The app's connection, with the oplog URL only where the app should tail the oplog."""
    summary: str
    """One line for the plan: what the app gets and why."""


def reactivity(index: int, release: str | None, mongo: MongoConnection) -> Reactivity:
    """The reactivity of apps[`index`], running Meteor `release` (None: unknown) against `mongo`."""
    version = release_tuple(release) if release else None
    offered = mongo.oplog_url is not None
    if version is not None and version[:2] >= CHANGE_STREAMS_SINCE:
        without_oplog = dataclasses.replace(mongo, oplog_url=None)
        return Reactivity(without_oplog, f"change streams (Meteor {release}; MONGO_OPLOG_URL unset, it would turn them off)")
    if version is not None:
        if offered:
            return Reactivity(mongo, f"oplog tailing (Meteor {release}, before change streams in 3.5)")
        return Reactivity(mongo, f"polling (Meteor {release}, before change streams in 3.5: {mongo.no_oplog_because})")
    hint = f"set apps[{index}].meteorRelease to decide"
    if offered:
        return Reactivity(mongo, f"oplog tailing (Meteor release unknown: MONGO_OPLOG_URL set, 3.5+ tails it too; {hint})")
    return Reactivity(mongo, f"change streams on Meteor 3.5+, polling before ({mongo.no_oplog_because}; Meteor release unknown: {hint})")
