"""What the replica sets the platform runs itself share (Kubernetes StatefulSet, Docker container).

One idempotent init script (initiate, add missing members, one user per app), the spec it reads,
and the URLs an app user connects with.
"""

from __future__ import annotations

import json
from urllib.parse import quote

import pulumi

from components.mongo import MongoAppUser

REPLICA_SET = "rs0"
MONGO_UID = 999  # the `mongodb` user of the official image

INIT_SCRIPT = r"""
// Idempotent: initiate the replica set (or add missing members), then create or update one
// user per app. Safe to run again after any change.
const spec = JSON.parse(process.env.RS_SPEC);
function primaryUp() {
  for (let i = 0; i < 120; i++) {
    if (db.hello().isWritablePrimary) return;
    sleep(1000);
  }
  throw new Error("no primary after 120s");
}
let status = null;
try {
  status = rs.status();
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
}
if (status === null) {
  rs.initiate({ _id: spec.replicaSet, members: spec.hosts.map((h, i) => ({ _id: i, host: h })) });
  print("replica set initiated");
}
primaryUp();
const known = rs.conf().members.map((m) => m.host);
for (const host of spec.hosts) {
  if (!known.includes(host)) { rs.add(host); print("added member " + host); }
}
for (const u of spec.users) {
  const target = db.getSiblingDB(u.database);
  const roles = [{ role: "readWrite", db: u.database }, { role: "read", db: "local" }];
  const pwd = process.env[u.passwordEnv];
  if (target.getUser(u.user)) {
    target.updateUser(u.user, { pwd: pwd, roles: roles });
    print("updated user " + u.user);
  } else {
    target.createUser({ user: u.user, pwd: pwd, roles: roles });
    print("created user " + u.user);
  }
}
"""


def init_command(first_host: str) -> str:
    """The shell command that runs INIT_SCRIPT as root against the first member (credentials from env)."""
    return (
        'exec mongosh --quiet "mongodb://$MONGO_ROOT_USER:$MONGO_ROOT_PASSWORD@'
        + first_host
        + '/admin?directConnection=true&authSource=admin" /scripts/init.js'
    )


def password_env(app: str) -> str:
    """The variable the init step reads an app user's password from."""
    return "APP_PASSWORD_" + app.upper().replace("-", "_")


def init_spec(hosts: list[str], users: list[MongoAppUser]) -> str:
    """What INIT_SCRIPT sets up (RS_SPEC): the members and one user per app."""
    spec = {
        "replicaSet": REPLICA_SET,
        "hosts": hosts,
        "users": [{"user": u.app, "database": u.database, "passwordEnv": password_env(u.app)} for u in users],
    }
    return json.dumps(spec, sort_keys=True)


def replica_set_urls(user: MongoAppUser, password: pulumi.Output[str], hosts: list[str]) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """MONGO_URL and MONGO_OPLOG_URL (secrets) of an app user on a replica set the platform runs."""
    members = ",".join(hosts)
    params = f"replicaSet={REPLICA_SET}&authSource={user.database}"
    credentials = pulumi.Output.secret(password).apply(lambda pw: f"{quote(user.app, safe='')}:{quote(pw, safe='')}")
    url = credentials.apply(lambda c: f"mongodb://{c}@{members}/{user.database}?{params}")
    oplog = credentials.apply(lambda c: f"mongodb://{c}@{members}/local?{params}")
    return url, oplog
