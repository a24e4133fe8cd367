"""MongoDB as a container on a Docker host: a single-node replica set (change streams, oplog).

A named volume holds the data and survives container replacement (protected outside dev).
Keyfile, root and per-app passwords are generated at deploy time. A one-shot step runs the
same idempotent init script as the Kubernetes replica set: initiate, then one user per app.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_random as random

from components import versions
from components.docker import DockerHost
from components.docker.hardening import limits, service_container_defaults
from components.docker.services import data_volume, one_shot
from components.endpoints import Endpoint
from components.mongo import MONGO_PORT, MongoAppUser, MongoConnection
from components.mongo.container_specs import HOST_ALIAS, dumper_env, init_env, mongod_container, root_env, uploader_env
from components.mongo.replica_set import DUMP_SCRIPT, INIT_SCRIPT, init_command, replica_set_urls
from components.mongo.restore import docker_restore_command
from components.storage import BackupTarget

# The uploader copies new dumps every UPLOAD_INTERVAL_SECONDS with a one-shot `mc mirror` (minio/mc
# RELEASE.2025-04-16T18-13-26Z, the pinned client; cmd/mirror-url.go deltaSourceTarget):
# - never `--watch`: runMirror sets `activeActive: isWatch`, and watchMirrorEvents then calls doRemove
#   for every local IN_DELETE/IN_MOVED_FROM (cmd/client-fs_linux.go EventTypeDelete) and doMirrorWatch
#   overwrites without checking the target, so pruning the local volume would delete off-site dumps
#   (later mc says so outright: commit 19d87ba4 adds `|| mj.opts.isWatch` to the removal);
# - without `--remove` an object only in the bucket (`differInSecond`) is skipped, and the listing stops
#   with the local files (`sourceListingOnly`): nothing off-site is ever deleted;
# - without `--overwrite` an object that exists with another size is refused (errOverWriteNotAllowed),
#   never replaced; one of the same size is left alone (`differInNone`);
# - `--exclude "*.partial"`: a dump still being written is never uploaded.
# `sleep` is coreutils: minio/mc's Dockerfile.release runs `RUN chmod +x /usr/bin/mc` in its ubi-micro
# stage, so the image has a shell and coreutils (ubi-micro's coreutils-single; grep and sed are other
# packages). `|| exit 1`: a loop that cannot sleep exits (Docker restarts it) instead of spinning.
UPLOAD_INTERVAL_SECONDS = 600
UPLOAD_LOOP = f"""\
while :; do
  mc mirror --quiet --exclude "*.partial" /backup "backup/$BACKUP_BUCKET/$BACKUP_PREFIX" || echo 'upload failed' >&2
  sleep {UPLOAD_INTERVAL_SECONDS} || exit 1
done
"""


def local_keep_minutes(retention_days: int, interval_hours: int) -> int:
    """How old a dump on the host may get before the dump loop prunes it: it prunes before and after
    each dump, so at most `interval_hours` apart, and a dump is gone locally two upload intervals before
    the earliest the bucket's lifecycle rule can expire it (`retention_days` after the upload, which is
    after the file was written). Otherwise the uploader would copy again a dump the bucket just expired.
    Config validation keeps the result positive (retention longer than the interval)."""
    return retention_days * 24 * 60 - interval_hours * 60 - 2 * UPLOAD_INTERVAL_SECONDS // 60


def dump_loop(*, retention_days: int, interval_hours: int) -> str:
    """The dump container's loop. Each dump is its own `sh -c` process: inside an `||` list `set -e` is
    ignored (POSIX XCU 2.14, `set -e`: "any command of an AND-OR list other than the last"), even when
    a subshell sets it again, so a failed mongodump would go on to rename its half-written archive."""
    prune = f"find /backup -name 'mongo-*.archive.gz' -mmin +{local_keep_minutes(retention_days, interval_hours)} -delete"
    return (
        "set -u\nwhile :; do\n"
        + f"  {prune}\n"
        + f"  sh -c {shlex.quote(DUMP_SCRIPT)} || echo 'dump failed' >&2\n"
        + f"  {prune}\n"
        + f"  sleep {interval_hours * 3600} || exit 1\ndone\n"
    )


@dataclass(frozen=True)
class ContainerMongoArgs:
    host: DockerHost
    """The host to run on; its provider reaches the children through the component's `providers`."""
    users: list[MongoAppUser]
    image: str = versions.mongo_image(versions.MONGO_VERSION)
    protect: bool = False
    """Protect the data volume and credentials from destroy and replacement."""
    memory_mib: int = 1024
    cpus: str = "1"
    backup: BackupTarget | None = None
    """Where periodic dumps go; no dumps when None."""
    backup_interval_hours: int = 24
    backup_retention_days: int = 14
    client_image: str = versions.MINIO_CLIENT_IMAGE


class ContainerMongo(pulumi.ComponentResource):
    volume: docker.Volume
    container: docker.Container
    init_container: docker.Container
    init: command.local.Command
    """The init step's run: what waits for the init waits for this."""
    restore_command: pulumi.Output[str] | None = None
    """The script that restores `$DUMP` from the backups bucket (README: Backups and restore); None without backups."""

    def __init__(self, name: str, args: ContainerMongoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:mongo:ContainerMongo", name, None, opts)
        self._args = args
        on_host = pulumi.ResourceOptions(parent=self, depends_on=list(args.host.networks))
        secret_opts = pulumi.ResourceOptions(parent=self, protect=args.protect)
        self.hosts = [f"{HOST_ALIAS}:{MONGO_PORT}"]
        self.root_password = random.RandomPassword(f"{name}-root-password", length=32, special=False, opts=secret_opts)
        keyfile = random.RandomPassword(f"{name}-keyfile", length=756, special=False, opts=secret_opts)
        self._passwords = {
            u.app: random.RandomPassword(f"{name}-{u.app}-password", length=32, special=False, opts=secret_opts) for u in args.users
        }
        names = args.host.names
        self.volume = data_volume(f"{name}-data", names.of("mongo-data"), protect=args.protect, opts=on_host)
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        self.container = docker.Container(
            f"{name}-mongod",
            name=names.of("mongo"),
            image=image.image_id,
            envs=pulumi.Output.secret(self.root_password.result.apply(root_env)),
            opts=on_host,
            **mongod_container(keyfile=keyfile.result, volume=self.volume.name, apps_network=names.apps),
            **service_container_defaults(),
            **limits(args.memory_mib, args.cpus),
        )
        self._init(name, image, on_host)
        self.backup_containers = self._backups(name, args, image, on_host) if args.backup is not None else []
        self.register_outputs({"hosts": self.hosts})

    def _init(self, name: str, image: docker.RemoteImage, on_host: pulumi.ResourceOptions) -> None:
        """Runs once per change of members or users (its inputs), then exits; safe to run again. Apps wait
        for its run: a failed init fails `pulumi up` (with its output) instead of starting apps without
        their users, and the next `up` runs it again (steps.py)."""
        args = self._args
        passwords = [self._passwords[u.app].result for u in args.users]
        envs = pulumi.Output.all(self.root_password.result, *passwords).apply(
            lambda values: init_env(values[0], self.hosts, args.users, values[1:])
        )
        init = one_shot(
            f"{name}-init",
            image=image.image_id,
            script=init_command(self.hosts[0]),
            envs=pulumi.Output.secret(envs),
            uploads=[{"file": "/scripts/init.js", "content": INIT_SCRIPT.lstrip()}],
            after=self.container,
            host=args.host,
            opts=on_host,
            quiet=True,
        )
        self.init_container = init.container
        self.init = init.run

    def _backups(
        self, name: str, args: ContainerMongoArgs, image: docker.RemoteImage, on_host: pulumi.ResourceOptions
    ) -> list[docker.Container]:
        """A dump every `backup_interval_hours` into a volume on the data disk (pruned there shortly before
        the bucket expires it), copied to the backups bucket by the MinIO client within
        UPLOAD_INTERVAL_SECONDS. The uploader only adds: losing or emptying the local volume deletes
        nothing off-site (the bucket's lifecycle rule expires dumps there)."""
        assert args.backup is not None
        names = args.host.names
        dumps = data_volume(f"{name}-backups", names.of("mongo-backups"), protect=args.protect, opts=on_host)
        after_init = pulumi.ResourceOptions.merge(on_host, pulumi.ResourceOptions(depends_on=[self.init]))
        loop = dump_loop(retention_days=args.backup_retention_days, interval_hours=args.backup_interval_hours)
        dumper = docker.Container(
            f"{name}-backup-dump",
            name=names.of("mongo-backup-dump"),
            image=image.image_id,
            entrypoints=["sh", "-c"],
            command=[loop],
            envs=pulumi.Output.secret(self.root_password.result.apply(lambda pw: dumper_env(pw, self.hosts[0]))),
            volumes=[{"volume_name": dumps.name, "container_path": "/backup"}],
            networks_advanced=[{"name": names.apps}],
            restart="unless-stopped",
            capabilities={"drops": ["ALL"]},
            opts=after_init,
            **service_container_defaults(),
            **limits(512, "0.5"),
        )
        backup_prefix = args.backup.prefix
        client_env = [f"{k}={v}" for k, v in args.backup.client_env().items()]
        client = docker.RemoteImage(f"{name}-backup-client-image", name=args.client_image, keep_locally=True, opts=on_host)
        uploader = docker.Container(
            f"{name}-backup-upload",
            name=names.of("mongo-backup-upload"),
            image=client.image_id,
            entrypoints=["sh", "-c"],
            command=[UPLOAD_LOOP],
            envs=pulumi.Output.secret(
                pulumi.Output.all(args.backup.mc_host(), args.backup.bucket).apply(
                    lambda v: uploader_env(str(v[0]), str(v[1]), backup_prefix, client_env)
                )
            ),
            volumes=[{"volume_name": dumps.name, "container_path": "/backup", "read_only": True}],
            networks_advanced=[{"name": names.apps}],
            restart="unless-stopped",
            capabilities={"drops": ["ALL"]},
            read_only=True,
            tmpfs={"/tmp": "rw,noexec,nosuid,size=64m"},
            opts=after_init,
            **service_container_defaults(),
            **limits(256, "0.5"),
        )
        self.restore_command = args.backup.bucket.apply(
            lambda bucket: docker_restore_command(
                uploader=names.of("mongo-backup-upload"), dumper=names.of("mongo-backup-dump"), bucket=bucket, prefix=backup_prefix
            )
        )
        return [dumper, uploader]

    def connection(self, app: str) -> MongoConnection:
        user = next(u for u in self._args.users if u.app == app)
        url, oplog = replica_set_urls(user, self._passwords[app].result, self.hosts)
        return MongoConnection(url=url, oplog_url=oplog, endpoints=[Endpoint(port=MONGO_PORT, hosts=(HOST_ALIAS,))], ready=[self.init])
