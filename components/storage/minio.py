"""An S3-compatible object store (MinIO) as a container on a Docker host, for dev and small setups.

A named volume keeps the objects across container replacement (protected outside dev). A
one-shot `mc` step creates the bucket and an access key whose policy allows this bucket
only; the app gets the same S3 wiring as with Spaces.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_command as command
import pulumi_docker as docker
import pulumi_random as random

from components.docker import DockerHost
from components.docker.hardening import limits, service_container_defaults
from components.docker.services import data_volume, one_shot
from components.endpoints import Endpoint
from components.storage import StorageWiring, s3_wiring

HOST_ALIAS = "minio"
PORT = 9000
ENDPOINT = f"http://{HOST_ALIAS}:{PORT}"
REGION = "us-east-1"

# `minio/mc` is built on ubi-micro: no grep or sed, so only shell builtins besides mc. The root
# credentials reach mc through MC_HOST_local (environment), not its command line. Nothing it prints
# names the app's key: `user add` ("Added user `<key>` successfully.": minio/mc
# cmd/admin-user-add.go) and `policy attach` (its message carries the user: cmd/admin-policy-attach.go,
# policyAssociationMessage) are silenced; the step's output is its run's (steps.py).
SETUP_SCRIPT = """\
set -eu
mc mb --ignore-existing "local/$BUCKET"
mc version enable "local/$BUCKET"
printf '%s' "$BUCKET_POLICY" > /tmp/policy.json
mc admin policy create local "$BUCKET-readwrite" /tmp/policy.json
mc admin user add local "$APP_ACCESS_KEY" "$APP_SECRET_KEY" > /dev/null
if ! mc admin policy attach local "$BUCKET-readwrite" --user "$APP_ACCESS_KEY" > /dev/null 2>&1; then
  info=$(mc admin user info local "$APP_ACCESS_KEY")
  case "$info" in
    *"$BUCKET-readwrite"*) ;;
    *) echo "policy $BUCKET-readwrite is not attached to the app's key" >&2; exit 1 ;;
  esac
fi
"""


def bucket_policy(bucket: str) -> str:
    """Read and write objects of one bucket, and list it; nothing else."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"], "Resource": [f"arn:aws:s3:::{bucket}"]},
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                    "Resource": [f"arn:aws:s3:::{bucket}/*"],
                },
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class MinioStorageArgs:
    host: DockerHost
    """The host to run on; its provider reaches the children through the component's `providers`."""
    bucket: str
    image: str
    client_image: str
    protect: bool = False


class MinioStorage(pulumi.ComponentResource):
    volume: docker.Volume
    container: docker.Container
    setup_container: docker.Container
    setup: command.local.Command
    """The setup step's run: what waits for the setup waits for this."""

    def __init__(self, name: str, args: MinioStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:storage:MinioStorage", name, None, opts)
        self._args = args
        on_host = pulumi.ResourceOptions(parent=self, depends_on=list(args.host.networks))
        secret_opts = pulumi.ResourceOptions(parent=self, protect=args.protect)
        root_password = random.RandomPassword(f"{name}-root-password", length=40, special=False, opts=secret_opts)
        self.access_key = random.RandomPassword(f"{name}-access-key", length=20, special=False, upper=True, lower=False, opts=secret_opts)
        self.secret_key = random.RandomPassword(f"{name}-secret-key", length=40, special=False, opts=secret_opts)
        names = args.host.names
        self.volume = data_volume(f"{name}-data", names.of("minio-data"), protect=args.protect, opts=on_host)
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        self.container = docker.Container(
            f"{name}-server",
            name=names.of("minio"),
            image=image.image_id,
            command=["server", "/data", "--console-address", ":9001"],
            envs=pulumi.Output.secret(root_password.result.apply(lambda pw: ["MINIO_ROOT_USER=meteor-admin", f"MINIO_ROOT_PASSWORD={pw}"])),
            volumes=[{"volume_name": self.volume.name, "container_path": "/data"}],
            networks_advanced=[{"name": names.apps, "aliases": [HOST_ALIAS]}],
            restart="unless-stopped",
            healthcheck={"tests": ["CMD", "mc", "ready", "local"], "interval": "10s", "timeout": "5s", "retries": 6},
            wait=True,
            opts=on_host,
            **service_container_defaults(),
            **limits(512, "1"),
        )
        client = docker.RemoteImage(f"{name}-client-image", name=args.client_image, keep_locally=True, opts=on_host)
        setup_env = pulumi.Output.secret(
            pulumi.Output.all(root_password.result, self.access_key.result, self.secret_key.result).apply(
                lambda v: [
                    f"MC_HOST_local=http://meteor-admin:{v[0]}@{HOST_ALIAS}:{PORT}",
                    f"BUCKET={args.bucket}",
                    f"BUCKET_POLICY={bucket_policy(args.bucket)}",
                    f"APP_ACCESS_KEY={v[1]}",
                    f"APP_SECRET_KEY={v[2]}",
                ]
            )
        )
        # Apps get their keys only once the setup ran to completion (bucket, policy and user exist).
        setup = one_shot(
            f"{name}-setup",
            image=client.image_id,
            script=SETUP_SCRIPT,
            envs=setup_env,
            after=self.container,
            host=args.host,
            opts=on_host,
            quiet=True,
        )
        self.setup_container = setup.container
        self.setup = setup.run
        self.register_outputs({"bucket": args.bucket, "endpoint": ENDPOINT})

    def backups(self) -> None:
        return None  # dev: the data lives beside the store on the same engine

    def wiring(self, app: str) -> StorageWiring:
        return s3_wiring(
            app,
            endpoint=ENDPOINT,
            region=REGION,
            bucket=self._args.bucket,
            # Through the setup's run, so every app holding the key depends on it (waits for it).
            access_key=pulumi.Output.all(self.access_key.result, self.setup.id).apply(lambda v: str(v[0])),
            secret_key=self.secret_key.result,
            endpoints=[Endpoint(port=PORT, hosts=(HOST_ALIAS,))],
        )
