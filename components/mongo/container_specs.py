"""Pure builders of MongoDB's containers on a Docker host: plain values in, container settings out."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypedDict

import pulumi
import pulumi_docker as docker

from components.mongo import MongoAppUser
from components.mongo.replica_set import MONGO_UID, REPLICA_SET, init_spec, password_env

HOST_ALIAS = "mongo"
KEYFILE = "/etc/mongo/keyfile"
PING = ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]


def root_env(root_password: str) -> list[str]:
    """What the image's entrypoint creates the root user from, on an empty data volume."""
    return ["MONGO_INITDB_ROOT_USERNAME=root", f"MONGO_INITDB_ROOT_PASSWORD={root_password}"]


def init_env(root_password: str, hosts: Sequence[str], users: Sequence[MongoAppUser], passwords: Sequence[str]) -> list[str]:
    """The init step's environment: root credentials, the replica set's spec, one password per app (in `users` order)."""
    return [
        "MONGO_ROOT_USER=root",
        f"MONGO_ROOT_PASSWORD={root_password}",
        f"RS_SPEC={init_spec(list(hosts), list(users))}",
        *[f"{password_env(u.app)}={pw}" for u, pw in zip(users, passwords, strict=True)],
    ]


def dumper_env(root_password: str, first_host: str) -> list[str]:
    return ["MONGO_ROOT_USER=root", f"MONGO_ROOT_PASSWORD={root_password}", f"MONGO_URI=mongodb://{first_host}/?directConnection=true"]


def uploader_env(mc_host: str, bucket: str, prefix: str, client_env: Sequence[str]) -> list[str]:
    """The MinIO client's environment: the bucket's endpoint (with its key), where dumps go, a writable config dir."""
    return [
        f"MC_HOST_backup={mc_host}",
        f"BACKUP_BUCKET={bucket}",
        f"BACKUP_PREFIX={prefix}",
        "MC_CONFIG_DIR=/tmp/.mc",
        "HOME=/tmp",
        *client_env,
    ]


class MongodContainer(TypedDict):
    """What mongod's `docker.Container` gets besides its name, image, environment, limits, defaults and options."""

    command: list[str]
    uploads: list[docker.ContainerUploadArgsDict]
    volumes: list[docker.ContainerVolumeArgsDict]
    networks_advanced: list[docker.ContainerNetworksAdvancedArgsDict]
    restart: str
    healthcheck: docker.ContainerHealthcheckArgsDict
    user: str
    capabilities: docker.ContainerCapabilitiesArgsDict
    wait: bool
    wait_timeout: int


def mongod_container(*, keyfile: pulumi.Input[str], volume: pulumi.Input[str], apps_network: pulumi.Input[str]) -> MongodContainer:
    """A single-node replica set with keyfile auth, reached as `mongo` on the apps network, its data on `volume`."""
    return {
        "command": ["--replSet", REPLICA_SET, "--bind_ip_all", "--keyFile", KEYFILE],
        "uploads": [
            {
                "file": KEYFILE,
                "content": pulumi.Output.secret(keyfile),
                "owner": str(MONGO_UID),
                "group": str(MONGO_UID),
                "permissions": "0400",
            }
        ],
        "volumes": [{"volume_name": volume, "container_path": "/data/db"}],
        "networks_advanced": [{"name": apps_network, "aliases": [HOST_ALIAS]}],
        "restart": "unless-stopped",
        "healthcheck": {"tests": PING, "interval": "10s", "timeout": "5s", "retries": 6, "start_period": "60s"},
        # As on Kubernetes: the image's `mongodb` user, no capabilities. Its entrypoint drops to
        # that user itself only when started as root (docker-library/mongo docker-entrypoint.sh,
        # `gosu mongodb`), so the data it wrote before is already 999's; a new named volume
        # takes /data/db's owner from the image (Docker copies it into an empty volume).
        "user": f"{MONGO_UID}:{MONGO_UID}",
        "capabilities": {"drops": ["ALL"]},
        "wait": True,
        "wait_timeout": 300,
    }
