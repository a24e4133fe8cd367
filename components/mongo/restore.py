"""Restoring a dump from the off-site copy: the command an operator runs, rendered from the stack.

The stack exports it as `mongo_restore` (README "Backups and restore"): a shell script that reads
the dump's name from `$DUMP` and restores it with `mongorestore --drop`. No credential is ever in
an argument vector or in the script: on Kubernetes a Job reads the bucket key and the root password
from the stack's Secrets (`secretKeyRef`); on a Docker host the backup containers already hold them
in their environment, and the dump streams from one to the other.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from components.mongo.replica_set import MONGO_UID
from components.storage import pod_identity_skip

if TYPE_CHECKING:
    import pulumi_kubernetes as k8s

# The dump's name as the operator's shell expands it (in the here-document and the `mc` path).
DUMP_VARIABLE = "${DUMP}"
_DUMP_PLACEHOLDER = "@@DUMP@@"

# Refuses an empty name or one that could break out of the manifest or the path (dumps are
# `mongo-<UTC stamp>.archive.gz`, DUMP_SCRIPT's names).
CHECK_DUMP = """\
set -eu
: "${DUMP:?set DUMP to the dump to restore, e.g. DUMP=mongo-20260101T031700Z.archive.gz}"
case "$DUMP" in
  *[!A-Za-z0-9._-]* | [!m]*) echo "DUMP=$DUMP is not a dump name (mongo-<stamp>.archive.gz)" >&2; exit 2 ;;
esac
"""


# mongorestore takes the password from `--config=<YAML file>` (`password:`; Database Tools 100.3.0 and
# later, the image's tools are newer) and reads the archive from standard input when `--archive` has
# no file name (mongodb.com/docs/database-tools/mongorestore: --config, --archive).
def restore_script(archive: str | None) -> str:
    """mongorestore with the root credentials from the environment (the password through a config file,
    as DUMP_SCRIPT does); `archive` None reads the archive from standard input."""
    source = f"--archive={archive}" if archive else "--archive"
    return f"""\
set -eu
umask 077
trap 'rm -f /tmp/restore.yaml' EXIT
printf 'password: "%s"\\n' "$MONGO_ROOT_PASSWORD" > /tmp/restore.yaml
mongorestore --config=/tmp/restore.yaml --username="$MONGO_ROOT_USER" --authenticationDatabase=admin \\
  --uri="$MONGO_URI" --gzip {source} --drop
"""


DOWNLOAD_SCRIPT = 'exec mc cp --quiet "backup/$BACKUP_BUCKET/$BACKUP_PREFIX$DUMP" /restore/dump.archive.gz'


def restore_job(
    *,
    namespace: str,
    image: str,
    client_image: str,
    mongo_uri: str,
    credentials: str,
    client_env: Sequence[k8s.core.v1.EnvVarArgsDict],
    bucket: str,
    prefix: str,
    job_labels: Mapping[str, str],
    service_account: str | None = None,
) -> dict[str, Any]:
    """A Job (API spelling, for `kubectl create`) that downloads `$DUMP` from the backups bucket and
    restores it into the replica set, in the platform's pod template. `job_labels` are the backup job's
    selector labels, so the NetworkPolicies that let the scheduled dump reach the members and the bucket
    admit it too; `client_env` and `service_account` reach the bucket as the scheduled upload does."""
    from components.kubernetes import pods  # only Kubernetes stacks load the Kubernetes SDK

    pod = pods.pod_spec(
        user=MONGO_UID,
        service_account=service_account,
        init_containers=[
            {
                "name": "download",
                "image": client_image,
                "command": ["sh", "-c", DOWNLOAD_SCRIPT],
                "env": [
                    *client_env,
                    {"name": "BACKUP_BUCKET", "value": bucket},
                    {"name": "BACKUP_PREFIX", "value": prefix},
                    {"name": "DUMP", "value": _DUMP_PLACEHOLDER},
                    {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
                    {"name": "HOME", "value": "/tmp"},
                ],
                "security_context": pods.READ_ONLY_CONTAINER,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "volume_mounts": pods.dump_mounts("restore"),
            }
        ],
        containers=[
            {
                "name": "restore",
                "image": image,
                "command": ["sh", "-c", restore_script("/restore/dump.archive.gz")],
                "env": [
                    pods.secret_env("MONGO_ROOT_USER", credentials, "root-username"),
                    pods.secret_env("MONGO_ROOT_PASSWORD", credentials, "root-password"),
                    {"name": "MONGO_URI", "value": mongo_uri},
                ],
                "security_context": pods.READ_ONLY_CONTAINER,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                "volume_mounts": pods.dump_mounts("restore", read_only=True),
            }
        ],
        volumes=pods.dump_volumes("restore"),
    )
    pod["restart_policy"] = "Never"
    # With Pod Identity, only the download holds the role's credentials, not the restore beside the root password.
    annotations = {"annotations": pod_identity_skip(["restore"])} if service_account is not None else {}
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "mongo-restore-", "namespace": namespace, "labels": dict(job_labels)},
        "spec": {
            # A restore drops and rewrites collections: one attempt, its log kept for a day.
            "backoffLimit": 0,
            "activeDeadlineSeconds": 3 * 3600,
            "ttlSecondsAfterFinished": 86400,
            "template": {"metadata": {"labels": dict(job_labels), **annotations}, "spec": pods.api_spelling(pod)},
        },
    }


def _heredoc_body(text: str) -> str:
    """`text` as the body of an unquoted here-document that yields it unchanged, except the dump
    placeholder, which becomes `${DUMP}` for the shell to expand."""
    escaped = text.replace("\\", "\\\\").replace("$", "\\$").replace("`", "\\`")
    return escaped.replace(_DUMP_PLACEHOLDER, DUMP_VARIABLE)


# `kubectl logs -f` refuses a container that has not started ("is waiting to start: PodInitializing"
# while the download init container runs; kubernetes/kubectl#1227, kubernetes/kubernetes#79547), and
# `--pod-running-timeout` only waits for a pod to exist (kubernetes/kubernetes#51850). So the hint waits
# for the pod's Initialized condition (True once every init container succeeded; kubernetes.io/docs/
# concepts/workloads/pods/pod-lifecycle, "Pod conditions"; `kubectl wait --for=condition=`,
# kubernetes.io/docs/reference/kubectl/generated/kubectl_wait) on the pod the Job controller labels
# `batch.kubernetes.io/job-name` (kubernetes.io/docs/concepts/workloads/controllers/job, "Job labels").
def kubernetes_restore_command(job: Mapping[str, Any]) -> str:
    """The script that creates the restore Job for `$DUMP` and says how to follow it."""
    manifest = json.dumps(job, indent=2, sort_keys=True)
    namespace = shlex.quote(str(job["metadata"]["namespace"]))
    ns = f"kubectl -n {namespace}"
    return (
        CHECK_DUMP
        + f"job=$(kubectl create -o name -f - <<EOF\n{_heredoc_body(manifest)}\nEOF\n)\n"
        + 'echo "restoring $DUMP with $job: the download runs first, then mongorestore. Follow it with:"\n'
        + f'echo "  {ns} wait --for=condition=Initialized --timeout=3h pod -l batch.kubernetes.io/job-name=${{job#job.batch/}}'
        + f' && {ns} logs -f $job -c restore"\n'
        + f'echo "the download: {ns} logs $job -c download; the outcome: {ns} get $job"\n'
    )


def docker_restore_command(*, uploader: str, dumper: str, bucket: str, prefix: str) -> str:
    """The script that streams `$DUMP` from the bucket (through the uploader container, which holds
    the bucket key) into mongorestore in the dump container (which holds the root password).
    `docker exec` runs its command with the container's configured environment, so neither
    credential passes through the operator's shell (docs.docker.com/reference/cli/docker/container/exec)."""
    source = shlex.quote(f"backup/{bucket}/{prefix}") + '"$DUMP"'
    return (
        CHECK_DUMP
        + f"docker exec {shlex.quote(uploader)} mc cat {source} \\\n"
        + f"  | docker exec -i {shlex.quote(dumper)} sh -c {shlex.quote(restore_script(None))}\n"
    )
