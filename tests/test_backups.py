"""Backups survive the disaster they exist for: off-site dumps are only ever added, the bucket keeps
versions, partial dumps never look like dumps, and the restore command the stack exports works."""

from __future__ import annotations

import json
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest

from components.mongo.container import UPLOAD_INTERVAL_SECONDS
from components.mongo.replica_set import DUMP_SCRIPT, UPLOAD_SCRIPT
from components.mongo.restore import restore_script
from tests.harness import Run, run_config, shipped
from tests.test_mongo import config_with

CONTAINER = "docker:index/container:Container"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
DUMP = "mongo-20260101T031700Z.archive.gz"


@pytest.fixture(scope="module")
def droplets() -> Run:
    return shipped("droplets")


@pytest.fixture(scope="module")
def in_cluster(tmp_path_factory: pytest.TempPathFactory) -> Run:
    config = config_with(3, "production")
    config["storage"] = {"provider": "spaces"}
    config["mongo"]["backup"] = {"retentionDays": 30}
    return run_config(tmp_path_factory.mktemp("backups"), config)


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


def run_script(script: str, tmp_path: Path, env: dict[str, str], stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`script` under sh with the fakes in tmp_path/bin first on PATH."""
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"
    return subprocess.run(["sh", "-c", script], input=stdin, capture_output=True, text=True, env={"PATH": path, **env}, check=False)


# -- the uploader only adds --------------------------------------------------------------------------


def test_the_docker_uploader_polls_without_watching_removing_or_overwriting(droplets: Run, tmp_path: Path) -> None:
    upload = droplets.one(CONTAINER, "meteor-mongo-backup-upload")
    assert upload["inputs"]["entrypoints"] == ["sh", "-c"]
    (tmp_path / "bin").mkdir()
    # mc records its argv and fails (the loop carries on); the second sleep ends the loop.
    executable(tmp_path / "bin" / "mc", f'#!/bin/sh\nprintf "%s\\n" "$@" >> {tmp_path}/mc.argv\necho --- >> {tmp_path}/mc.argv\nexit 1\n')
    executable(
        tmp_path / "bin" / "sleep",
        f'#!/bin/sh\necho "$1" >> {tmp_path}/sleeps\n[ "$(wc -l < {tmp_path}/sleeps)" -lt 2 ]\n',
    )
    done = run_script(upload["inputs"]["command"][0], tmp_path, {"BACKUP_BUCKET": "meteor-backups-droplets", "BACKUP_PREFIX": "mongo/"})
    assert done.returncode == 1, "a loop that cannot sleep exits instead of spinning"
    assert done.stderr.count("upload failed") == 2, "a failed upload is logged and retried at the next poll"
    first, second, _ = (tmp_path / "mc.argv").read_text().split("---\n")
    assert first == second
    argv = first.splitlines()
    assert argv == ["mirror", "--quiet", "--exclude", "*.partial", "/backup", "backup/meteor-backups-droplets/mongo/"]
    # --watch mirrors local deletions to the bucket (activeActive), --remove deletes what is only
    # off-site, --overwrite replaces an off-site dump: none of them.
    assert not {"--watch", "--remove", "--overwrite", "--force", "--active-active", "--multi-master"} & set(argv)
    sleeps = [int(s) for s in (tmp_path / "sleeps").read_text().split()]
    assert sleeps == [UPLOAD_INTERVAL_SECONDS] * 2 and 0 < UPLOAD_INTERVAL_SECONDS <= 3600, "a new dump is off-site within the hour"
    env = droplets.state(upload)["envs"]
    assert "BACKUP_PREFIX=mongo/" in env and "BACKUP_BUCKET=meteor-backups-droplets" in env
    assert upload["inputs"]["readOnly"] is True


def test_the_host_prunes_a_dump_before_the_bucket_can_expire_it(droplets: Run) -> None:
    """Otherwise the next poll copies again a dump the bucket's lifecycle rule just expired."""
    loop = droplets.one(CONTAINER, "meteor-mongo-backup-dump")["inputs"]["command"][0]
    [keep_minutes] = {int(m) for m in re.findall(r"find /backup -name 'mongo-\*\.archive\.gz' -mmin \+(\d+) -delete", loop)}
    assert loop.count("-mmin") == 2, "pruned before and after each dump"
    [dump_interval] = [int(m) for m in re.findall(r"sleep (\d+)", loop)]
    upload = droplets.one(CONTAINER, "meteor-mongo-backup-upload")["inputs"]["command"][0]
    [upload_interval] = [int(m) for m in re.findall(r"sleep (\d+)", upload)]
    [rule] = droplets.one(BUCKET, "meteor-storage-backups")["inputs"]["lifecycleRules"]
    # Prunes run at most a dump interval apart: the last moment a dump is still on the host, plus
    # one poll, comes before the earliest expiry (retention days after the upload).
    gone_locally = keep_minutes * 60 + dump_interval
    assert gone_locally + upload_interval < rule["expiration"]["days"] * 86400
    assert keep_minutes * 60 > rule["expiration"]["days"] * 86400 - dump_interval - 3 * upload_interval, "and not much earlier"


def test_the_scheduled_upload_only_copies_the_new_dump_under_the_prefix(in_cluster: Run) -> None:
    pod = in_cluster.one("kubernetes:batch/v1:CronJob", "meteor-mongo-backup")["inputs"]["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    [upload] = pod["containers"]
    assert upload["command"] == ["sh", "-c", UPLOAD_SCRIPT]
    assert 'mc cp --quiet "$dump" "backup/$BACKUP_BUCKET/$BACKUP_PREFIX"' in UPLOAD_SCRIPT and " rm " not in UPLOAD_SCRIPT
    assert {e["name"]: e.get("value") for e in upload["env"]}["BACKUP_PREFIX"] == "mongo/"


def test_the_backups_bucket_is_versioned_and_expires_dumps_and_old_versions(droplets: Run, in_cluster: Run) -> None:
    for run, days in ((droplets, 14), (in_cluster, 30)):
        bucket = run.one(BUCKET, "meteor-storage-backups")["inputs"]
        assert bucket["versioning"] == {"enabled": True}
        [rule] = bucket["lifecycleRules"]
        assert rule["prefix"] == "mongo/" and rule["enabled"] is True
        assert rule["expiration"] == {"days": days}
        assert rule["noncurrentVersionExpiration"] == {"days": days}, "a deleted dump stays restorable for the retention"


# -- partial dumps ----------------------------------------------------------------------------------


def dump_in(tmp_path: Path, mongodump: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """DUMP_SCRIPT against a fake mongodump, its /backup and /tmp moved under tmp_path."""
    backup, scratch = tmp_path / "backup", tmp_path / "tmp"
    for d in (backup, scratch, tmp_path / "bin"):
        d.mkdir(exist_ok=True)
    executable(tmp_path / "bin" / "mongodump", f'#!/bin/sh\necho "$@" > {tmp_path}/argv\n{mongodump}\n')
    script = DUMP_SCRIPT.replace("/backup", "@B@").replace("/tmp/", "@T@/").replace("@B@", str(backup)).replace("@T@", str(scratch))
    env = {"MONGO_ROOT_USER": "root", "MONGO_ROOT_PASSWORD": "s3cret-pw", "MONGO_URI": "mongodb://mongo:27017/"}
    return run_script(script, tmp_path, env), backup


def archive_of(argv: str) -> str:
    return next(a.split("=", 1)[1] for a in argv.split() if a.startswith("--archive="))


def test_a_dump_is_renamed_only_when_complete(tmp_path: Path) -> None:
    (tmp_path / "backup").mkdir()
    (tmp_path / "backup" / "mongo-20250101T000000Z.archive.gz.partial").write_text("left by a killed run")
    done, backup = dump_in(tmp_path, 'for a; do case "$a" in --archive=*) echo data > "${a#--archive=}";; esac; done')
    assert done.returncode == 0, done.stderr
    [dump] = list(backup.iterdir())
    assert dump.name.startswith("mongo-") and dump.name.endswith(".archive.gz"), "renamed, and the stale partial is gone"
    argv = (tmp_path / "argv").read_text()
    assert archive_of(argv).endswith(".archive.gz.partial"), "written under the temporary name"
    assert "s3cret-pw" not in argv, "the password goes through the config file"
    assert not list((tmp_path / "tmp").iterdir()), "the config file with the password is removed"


def test_a_failed_dump_leaves_no_partial_file(tmp_path: Path) -> None:
    failed, backup = dump_in(tmp_path, 'for a; do case "$a" in --archive=*) echo half > "${a#--archive=}";; esac; done; exit 1')
    assert failed.returncode != 0
    assert not list(backup.iterdir()), "the partial file goes with the failed dump"
    assert not list((tmp_path / "tmp").iterdir())


def dump_loop_in(droplets: Run, tmp_path: Path, mongodump: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    """The dump container's own loop (from the plan) for one round: a fake mongodump, a fake sleep
    that ends the loop, /backup and /tmp moved under tmp_path."""
    backup, scratch = tmp_path / "backup", tmp_path / "tmp"
    for d in (backup, scratch, tmp_path / "bin"):
        d.mkdir(exist_ok=True)
    executable(tmp_path / "bin" / "mongodump", f"#!/bin/sh\n{mongodump}\n")
    executable(tmp_path / "bin" / "sleep", f'#!/bin/sh\necho "$1" > {tmp_path}/slept\nexit 1\n')
    dumper = droplets.one(CONTAINER, "meteor-mongo-backup-dump")["inputs"]
    assert dumper["entrypoints"] == ["sh", "-c"]
    loop = dumper["command"][0].replace("/backup", "@B@").replace("/tmp/", "@T@/").replace("@B@", str(backup)).replace("@T@", str(scratch))
    env = {"MONGO_ROOT_USER": "root", "MONGO_ROOT_PASSWORD": "s3cret-pw", "MONGO_URI": "mongodb://mongo:27017/"}
    return run_script(loop, tmp_path, env), backup


def test_the_dump_loop_does_not_keep_a_failed_dump(droplets: Run, tmp_path: Path) -> None:
    ran, backup = dump_loop_in(droplets, tmp_path, 'for a; do case "$a" in --archive=*) echo half > "${a#--archive=}";; esac; done; exit 1')
    assert "dump failed" in ran.stderr, ran.stderr
    assert not list(backup.iterdir()), "no mongo-*.archive.gz for the uploader, no partial left"
    assert (tmp_path / "slept").read_text() == "86400\n", "the loop went on to wait for the next dump"


def test_the_dump_loop_keeps_a_complete_dump(droplets: Run, tmp_path: Path) -> None:
    ran, backup = dump_loop_in(droplets, tmp_path, 'for a; do case "$a" in --archive=*) echo data > "${a#--archive=}";; esac; done')
    assert "dump failed" not in ran.stderr, ran.stderr
    [dump] = list(backup.iterdir())
    assert re.fullmatch(r"mongo-\d{8}T\d{6}Z\.archive\.gz", dump.name) and dump.read_text() == "data\n"


# -- restore from the off-site copy -----------------------------------------------------------------


def test_the_docker_restore_streams_the_dump_between_the_backup_containers(droplets: Run, tmp_path: Path) -> None:
    script = droplets.plan["outputs"]["mongo_restore"]
    (tmp_path / "bin").mkdir()
    # docker: records its argv; `mc cat` yields an archive, `sh -c` runs the restore script locally.
    executable(
        tmp_path / "bin" / "docker",
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path}/docker.log\nif [ "$3" = mc ]; then echo ARCHIVE; exit 0; fi\nshift 3; exec "$@"\n',
    )
    executable(
        tmp_path / "bin" / "mongorestore",
        f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/restore.argv\ncat > {tmp_path}/restore.stdin\n'
        f'cp "$(printf "%s\\n" "$@" | sed -n "s/^--config=//p")" {tmp_path}/restore.config\n',
    )
    env = {
        "DUMP": DUMP,
        "MONGO_ROOT_USER": "root",
        "MONGO_ROOT_PASSWORD": "s3cret-pw",
        "MONGO_URI": "mongodb://mongo:27017/?directConnection=true",
    }
    done = run_script(script, tmp_path, env)
    assert done.returncode == 0, done.stderr
    # Both sides of the pipe start together: their log lines come in either order.
    calls = (tmp_path / "docker.log").read_text().splitlines()
    [download] = [c for c in calls if " mc cat " in c]
    [restore] = [c for c in calls if c.startswith("exec -i ")]
    assert download == f"exec meteor-mongo-backup-upload mc cat backup/meteor-backups-droplets/mongo/{DUMP}"
    assert restore == "exec -i meteor-mongo-backup-dump sh -c set -eu"
    argv = (tmp_path / "restore.argv").read_text().splitlines()
    assert "--archive" in argv and "--gzip" in argv and "--drop" in argv
    assert (tmp_path / "restore.stdin").read_text() == "ARCHIVE\n", "the archive arrives on standard input"
    assert "s3cret-pw" not in (tmp_path / "docker.log").read_text() + "\n".join(argv), "no password in any argv"
    assert (tmp_path / "restore.config").read_text() == 'password: "s3cret-pw"\n'


@pytest.mark.parametrize("dump", ["", "../other/x.archive.gz", 'mongo-1"}],"x', "other.archive.gz"])
def test_the_restore_refuses_a_missing_or_foreign_dump_name(droplets: Run, tmp_path: Path, dump: str) -> None:
    (tmp_path / "bin").mkdir()
    executable(tmp_path / "bin" / "docker", f"#!/bin/sh\ntouch {tmp_path}/called\n")
    refused = run_script(droplets.plan["outputs"]["mongo_restore"], tmp_path, {"DUMP": dump} if dump else {})
    assert refused.returncode != 0 and "DUMP" in refused.stderr
    assert not (tmp_path / "called").exists()


def restore_job(run: Run, tmp_path: Path) -> dict[str, Any]:
    """The Job the exported command creates, as `kubectl create -f -` receives it."""
    (tmp_path / "bin").mkdir()
    executable(
        tmp_path / "bin" / "kubectl",
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path}/kubectl.log\ncat > {tmp_path}/job.json\necho job.batch/mongo-restore-abcde\n',
    )
    done = run_script(run.plan["outputs"]["mongo_restore"], tmp_path, {"DUMP": DUMP})
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "kubectl.log").read_text() == "create -o name -f -\n"
    return json.loads((tmp_path / "job.json").read_text())


def test_the_restore_hint_follows_mongorestore_once_the_download_is_done(in_cluster: Run, tmp_path: Path) -> None:
    """`kubectl logs -f` fails with PodInitializing while the download init container runs: the hint
    waits for the pod's Initialized condition first."""
    (tmp_path / "bin").mkdir()
    executable(
        tmp_path / "bin" / "kubectl",
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path}/kubectl.log\n'
        'if [ "$3" = wait ] && [ -n "${FAIL_WAIT:-}" ]; then exit 1; fi\n'
        'if [ "$1" = create ]; then cat > /dev/null; echo job.batch/mongo-restore-abcde; fi\n',
    )
    done = run_script(in_cluster.plan["outputs"]["mongo_restore"], tmp_path, {"DUMP": DUMP})
    assert done.returncode == 0, done.stderr
    [follow] = [line.strip() for line in done.stdout.splitlines() if " wait " in line]
    (tmp_path / "kubectl.log").unlink()
    assert run_script(follow, tmp_path, {}).returncode == 0
    wait, logs = (tmp_path / "kubectl.log").read_text().splitlines()
    assert wait == "-n meteor-mongo wait --for=condition=Initialized --timeout=3h pod -l batch.kubernetes.io/job-name=mongo-restore-abcde"
    assert logs == "-n meteor-mongo logs -f job.batch/mongo-restore-abcde -c restore", "only after the wait succeeded"
    (tmp_path / "kubectl.log").unlink()
    assert run_script(follow, tmp_path, {"FAIL_WAIT": "1"}).returncode != 0
    assert (tmp_path / "kubectl.log").read_text() == wait + "\n", "no logs -f while the download has not finished"


def test_the_kubernetes_restore_job_reads_every_credential_from_the_stacks_secrets(in_cluster: Run, tmp_path: Path) -> None:
    job = restore_job(in_cluster, tmp_path)
    kubernetes_validate.validate(job, "1.33.0", strict=True)
    assert job["metadata"]["namespace"] == "meteor-mongo"
    pod = job["spec"]["template"]["spec"]
    [download] = pod["initContainers"]
    [restore] = pod["containers"]
    env = {e["name"]: e for e in download["env"]}
    backup_secret = in_cluster.one("kubernetes:core/v1:Secret", "meteor-mongo-backup")["objectName"]
    credentials = in_cluster.one("kubernetes:core/v1:Secret", "meteor-mongo-credentials")["objectName"]
    assert env["MC_HOST_backup"]["valueFrom"] == {"secretKeyRef": {"name": backup_secret, "key": "mc-host"}}
    assert env["BACKUP_BUCKET"]["value"] == "meteor-backups-test" and env["BACKUP_PREFIX"]["value"] == "mongo/"
    assert env["DUMP"]["value"] == DUMP, "the operator's DUMP reaches the Job"
    assert download["command"][2] == 'exec mc cp --quiet "backup/$BACKUP_BUCKET/$BACKUP_PREFIX$DUMP" /restore/dump.archive.gz'
    renv = {e["name"]: e for e in restore["env"]}
    assert renv["MONGO_ROOT_PASSWORD"]["valueFrom"] == {"secretKeyRef": {"name": credentials, "key": "root-password"}}
    assert (
        renv["MONGO_URI"]["value"]
        == "mongodb://" + ",".join(f"mongo-{i}.mongo.meteor-mongo.svc.cluster.local:27017" for i in range(3)) + "/?replicaSet=rs0"
    )
    assert restore["command"] == ["sh", "-c", restore_script("/restore/dump.archive.gz")], "the script survives the here-document"
    for container in (download, restore):
        assert container["securityContext"]["readOnlyRootFilesystem"] is True
        assert all("value" not in e or "@" not in e["value"] for e in container["env"]), "no credentials in a URL"


def test_the_restore_job_is_admitted_by_the_backup_network_policies(in_cluster: Run, tmp_path: Path) -> None:
    job = restore_job(in_cluster, tmp_path)
    labels = job["spec"]["template"]["metadata"]["labels"]
    assert "app.kubernetes.io/managed-by" not in job["metadata"]["labels"] | labels, "kubectl creates it, not Pulumi"
    policy = in_cluster.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-backup-network-policy")["inputs"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= labels.items(), "its egress reaches the members and the bucket"
    members = in_cluster.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-network-policy")["inputs"]["spec"]
    peers = [p["podSelector"]["matchLabels"] for p in members["ingress"][0]["from"] if "podSelector" in p]
    assert any(peer.items() <= labels.items() for peer in peers), "the members admit it"


def test_no_restore_command_without_dumps() -> None:
    assert "mongo_restore" not in shipped("byoc").plan["outputs"], "GridFS stacks have no bucket to restore from"
