"""File storage wiring: files never live on the container's disk.

A `FileStorage` hands each app what it needs: plain and secret environment variables, a
fragment merged into METEOR_SETTINGS (under `storage`) and NetworkPolicy egress rules. S3 and
DigitalOcean Spaces join GridFS behind the same protocol.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import pulumi
import pulumi_kubernetes as k8s
from pydantic import JsonValue


@dataclass(frozen=True)
class StorageWiring:
    """What one app receives to reach its file storage."""

    env: dict[str, str] = field(default_factory=lambda: {})
    """Plain environment variables."""
    secret_env: dict[str, pulumi.Output[str]] = field(default_factory=lambda: {})
    """Sensitive environment variables (access keys), delivered through the app's Secret."""
    settings: dict[str, JsonValue] = field(default_factory=lambda: {})
    """Fragment of METEOR_SETTINGS, placed under the `storage` key."""
    secret_settings: dict[str, pulumi.Output[str]] = field(default_factory=lambda: {})
    """Sensitive settings merged into `storage` (these make METEOR_SETTINGS secret)."""
    egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict] = field(default_factory=lambda: [])
    """NetworkPolicy egress rules to reach the store (empty when it is MongoDB itself)."""


class FileStorage(Protocol):
    def wiring(self, app: str) -> StorageWiring: ...


class GridFsStorage:
    """Files in MongoDB GridFS, on the app's own database (reached through MONGO_URL)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket

    def wiring(self, app: str) -> StorageWiring:
        return StorageWiring(
            env={"FILE_STORAGE": "gridfs", "GRIDFS_BUCKET": self.bucket},
            settings={"backend": "gridfs", "gridfsBucket": self.bucket},
        )


def s3_wiring(
    app: str,
    *,
    endpoint: str,
    region: str,
    bucket: pulumi.Input[str],
    access_key: pulumi.Output[str],
    secret_key: pulumi.Output[str],
    egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict],
) -> StorageWiring:
    """The wiring of any S3-compatible store (Spaces, MinIO, S3): all of it in the app's Secret,
    mirrored into METEOR_SETTINGS.storage, each app under its own key prefix."""
    access_key, secret_key = pulumi.Output.secret(access_key), pulumi.Output.secret(secret_key)
    bucket_name = pulumi.Output.from_input(bucket)
    return StorageWiring(
        env={"FILE_STORAGE": "s3"},
        secret_env={
            "S3_ENDPOINT": pulumi.Output.from_input(endpoint),
            "S3_REGION": pulumi.Output.from_input(region),
            "S3_BUCKET": bucket_name,
            "S3_ACCESS_KEY_ID": access_key,
            "S3_SECRET_ACCESS_KEY": secret_key,
        },
        settings={"backend": "s3", "endpoint": endpoint, "region": region, "prefix": f"{app}/"},
        secret_settings={"bucket": bucket_name, "accessKeyId": access_key, "secretAccessKey": secret_key},
        egress=egress,
    )
