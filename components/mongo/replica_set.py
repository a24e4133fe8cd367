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
// Idempotent: initiate the replica set, add and remove members to match the spec, then create or
// update one user per app on the primary, whichever member that is. Safe to run again after any
// change. Credentials come from the environment, never from the command line.
const spec = JSON.parse(process.env.RS_SPEC);
const user = process.env.MONGO_ROOT_USER;
const pwd = process.env.MONGO_ROOT_PASSWORD;
db.getSiblingDB("admin").auth(user, pwd);
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
function primary() {
  for (let i = 0; i < 120; i++) {
    const hello = db.hello();
    if (hello.isWritablePrimary) return db;
    if (hello.primary) {
      const other = connect("mongodb://" + hello.primary + "/admin?directConnection=true");
      other.auth(user, pwd);
      return other;
    }
    sleep(1000);
  }
  throw new Error("no primary after 120s");
}
const admin = primary();
const conf = admin.adminCommand({ replSetGetConfig: 1 }).config;
const known = conf.members.map((m) => m.host);
for (const host of spec.hosts) {
  if (!known.includes(host)) {
    admin.adminCommand({ replSetReconfig: addMember(conf, host) });
    print("added member " + host);
  }
}
const current = admin.adminCommand({ replSetGetConfig: 1 }).config;
const gone = current.members.filter((m) => !spec.hosts.includes(m.host));
if (gone.length > 0) {
  current.members = current.members.filter((m) => spec.hosts.includes(m.host));
  current.version += 1;
  admin.adminCommand({ replSetReconfig: current });
  print("removed members " + gone.map((m) => m.host).join(", "));
}
function addMember(config, host) {
  const next = Object.assign({}, config);
  next.members = config.members.concat([{ _id: Math.max(...config.members.map((m) => m._id)) + 1, host: host }]);
  next.version = config.version + 1;
  return next;
}
for (const u of spec.users) {
  const target = admin.getSiblingDB(u.database);
  const roles = [{ role: "readWrite", db: u.database }, { role: "read", db: "local" }];
  const password = process.env[u.passwordEnv];
  if (target.getUser(u.user)) {
    target.updateUser(u.user, { pwd: password, roles: roles });
    print("updated user " + u.user);
  } else {
    target.createUser({ user: u.user, pwd: password, roles: roles });
    print("created user " + u.user);
  }
}
"""


def init_command(first_host: str) -> str:
    """The shell command that runs INIT_SCRIPT against the first member; the script authenticates
    from MONGO_ROOT_USER / MONGO_ROOT_PASSWORD in its environment (no password on a command line)."""
    return f'exec mongosh --quiet "mongodb://{first_host}/admin?directConnection=true" /scripts/init.js'


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


# A dump with the root credentials from the environment: the password reaches mongodump through a
# config file written by the shell's printf builtin (never an argument). The archive is written under
# a temporary name and renamed once mongodump succeeded, so a partial file never looks like a dump;
# the EXIT trap removes the partial file and the config file when the dump fails, and a partial file
# an interrupted run (a killed container, a full disk) left behind goes at the start of the next run.
DUMP_SCRIPT = """\
set -eu
umask 077
rm -f /backup/*.partial
stamp=$(date -u +%Y%m%dT%H%M%SZ)
partial="/backup/mongo-$stamp.archive.gz.partial"
trap 'rm -f /tmp/dump.yaml "$partial"' EXIT
printf 'password: "%s"\\n' "$MONGO_ROOT_PASSWORD" > /tmp/dump.yaml
mongodump --config=/tmp/dump.yaml --username="$MONGO_ROOT_USER" --authenticationDatabase=admin \\
  --uri="$MONGO_URI" --readPreference=secondaryPreferred --gzip --archive="$partial"
mv "$partial" "/backup/mongo-$stamp.archive.gz"
"""

# `minio/mc` (ubi-micro: a shell and coreutils, no grep or sed): shell builtins and mc only. MC_HOST_backup carries the key.
# `mc cp` only adds objects: the bucket (versioned, expiring dumps by its lifecycle rule) decides
# what goes, never the uploader.
UPLOAD_SCRIPT = """\
set -eu
for dump in /backup/mongo-*.archive.gz; do
  mc cp --quiet "$dump" "backup/$BACKUP_BUCKET/$BACKUP_PREFIX"
done
"""


def dump_uri(hosts: list[str]) -> str:
    """The replica set as mongodump reaches it (credentials come separately)."""
    return f"mongodb://{','.join(hosts)}/?replicaSet={REPLICA_SET}"
