"""How an app's live queries learn about changes, decided from its Meteor release and its MongoDB.

Meteor 3.5's mongo package tries the observe drivers in the order `changeStreams`, `oplog`,
`polling` for every cursor, whether or not `MONGO_OPLOG_URL` is set, and takes the first that can
serve it (packages/mongo/mongo_connection.js, `_getConfiguredReactivityOrder` and
`_selectReactivityDriver`). Change streams serve only unordered cursors without skip/limit (its
`changeStreams` check: "Change Streams only supports unordered observeChanges", "Cursor with
skip/limit not supported by Change Streams"), so the oplog is what keeps sort+limit publications
off polling: `MONGO_OPLOG_URL` stays set wherever MongoDB offers the oplog, on every release.

In meteor/meteor#14454 (open) a user saw change streams only once MONGO_OPLOG_URL was removed,
while the maintainer says change streams are the default unless settings put another driver
first. The platform does not rest on either reading: for 3.5+ (and an unknown release) it sets the
order explicitly through `METEOR_REACTIVITY_ORDER` (mongo_connection.js: `DEFAULT_REACTIVITY_ORDER
= process.env.METEOR_REACTIVITY_ORDER ? ....split(',') : availableDrivers`; docs.meteor.com/
performance/change-streams-observer-driver names the variable and the settings key). A
`packages.mongo.reactivity` in the app's settings still wins: Meteor reads the setting first and
the variable only when the setting is absent. Releases before 3.5 read no such variable (the
mongo package had no change streams driver) and are not given it. So:

    3.5 or newer       change streams; the oplog (or polling where MongoDB offers no oplog) for
                       the cursors change streams cannot serve
    before 3.5         oplog tailing where MongoDB offers it, polling where it does not
                       (DigitalOcean managed MongoDB gives no oplog access)
    release unknown    the same wiring as 3.5+ (before 3.5 the variable is ignored): the plan
                       says both outcomes until `apps[].meteorRelease` says which release runs
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from components.mongo import MongoConnection
from components.versions import meteor_line

CHANGE_STREAMS_SINCE = (3, 5)
REACTIVITY_ORDER = ("changeStreams", "oplog", "polling")
"""Meteor 3.5's own default order, set explicitly (see the module docstring)."""
_CANNOT_SERVE = "the cursors change streams cannot serve (ordered, skip/limit)"


@dataclass(frozen=True)
class Reactivity:
    connection: MongoConnection
    """The app's connection: the oplog URL where MongoDB offers it, the reactivity order for 3.5+."""
    summary: str
    """One line for the plan: what the app gets and why."""


def reactivity(index: int, release: str | None, mongo: MongoConnection) -> Reactivity:
    """The reactivity of apps[`index`], running Meteor `release` (None: unknown) against `mongo`."""
    line = meteor_line(release) if release else None
    offered = mongo.oplog_url is not None
    fallback = f"oplog tailing for {_CANNOT_SERVE}" if offered else f"polling for {_CANNOT_SERVE} ({mongo.no_oplog_because})"
    ordered = dataclasses.replace(mongo, reactivity_order=REACTIVITY_ORDER)
    if line is not None and line >= CHANGE_STREAMS_SINCE:
        return Reactivity(ordered, f"change streams (Meteor {release}), {fallback}")
    if line is not None:
        if offered:
            return Reactivity(mongo, f"oplog tailing (Meteor {release}, before change streams in 3.5)")
        return Reactivity(mongo, f"polling (Meteor {release}, before change streams in 3.5: {mongo.no_oplog_because})")
    before = "oplog tailing before" if offered else "polling before"
    return Reactivity(
        ordered,
        f"on Meteor 3.5+ change streams, {fallback}; {before} (Meteor release unknown: set apps[{index}].meteorRelease to say which)",
    )
