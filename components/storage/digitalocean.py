"""DigitalOcean Spaces as the apps' file storage (S3-compatible).

A private, versioned bucket per stack whose old object versions expire, CORS for direct browser
uploads from the apps' domains, and a Spaces key that can read and write this bucket only.
Each app receives the wiring in its Secret and mirrored into METEOR_SETTINGS (`storage`).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from components.endpoints import ANYWHERE, Endpoint
from components.protection import stateful
from components.storage import DUMPS_PREFIX, BackupTarget, StorageWiring, s3_wiring

# The Spaces endpoint is public: HTTPS anywhere.
SPACES_ENDPOINT = Endpoint(port=443, cidr=ANYWHERE)


@dataclass(frozen=True)
class SpacesStorageArgs:
    bucket: str
    region: str
    cors_origins: list[str]
    """Origins allowed to upload directly from the browser (https://<app domain>)."""
    noncurrent_version_days: int = 30
    protect: bool = False
    backup_bucket: str | None = None
    """A bucket of its own for database dumps (with a key that writes there only); none when None."""
    backup_retention_days: int = 14


def app_lifecycle_rules(noncurrent_version_days: int) -> list[do.SpacesBucketLifecycleRuleArgsDict]:
    """Old versions of the apps' files expire."""
    return [
        {
            "enabled": True,
            "noncurrent_version_expiration": {"days": noncurrent_version_days},
            "abort_incomplete_multipart_upload_days": 7,
        }
    ]


def dumps_lifecycle_rules(retention_days: int) -> list[do.SpacesBucketLifecycleRuleArgsDict]:
    """Dumps expire after the retention (on a versioned bucket expiry leaves a delete marker and makes the
    dump noncurrent), and noncurrent versions go after the retention again."""
    return [
        {
            "enabled": True,
            "prefix": DUMPS_PREFIX,
            "expiration": {"days": retention_days},
            "noncurrent_version_expiration": {"days": retention_days},
            "abort_incomplete_multipart_upload_days": 1,
        }
    ]


def cors_rules(origins: list[str]) -> list[do.SpacesBucketCorsConfigurationCorsRuleArgsDict]:
    """Direct browser uploads from the apps' domains."""
    return [
        {
            "allowed_methods": ["GET", "HEAD", "PUT", "POST"],
            "allowed_origins": sorted(origins),
            "allowed_headers": ["*"],
            "max_age_seconds": 3000,
        }
    ]


class SpacesStorage(pulumi.ComponentResource):
    bucket: do.SpacesBucket
    key: do.SpacesKey
    endpoint: str

    def __init__(self, name: str, args: SpacesStorageArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:storage:SpacesStorage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self._args = args
        self.endpoint = f"https://{args.region}.digitaloceanspaces.com"
        self.bucket = self._bucket(f"{name}-bucket", args.bucket, app_lifecycle_rules(args.noncurrent_version_days))
        if args.cors_origins:
            do.SpacesBucketCorsConfiguration(
                f"{name}-cors", bucket=self.bucket.name, region=args.region, cors_rules=cors_rules(args.cors_origins), opts=child
            )
        self.key = self._readwrite_key(f"{name}-key", f"{args.bucket}-app", self.bucket)
        self._backups: BackupTarget | None = None
        if args.backup_bucket is not None:
            backups = self._bucket(f"{name}-backups", args.backup_bucket, dumps_lifecycle_rules(args.backup_retention_days))
            key = self._readwrite_key(f"{name}-backups-key", f"{args.backup_bucket}-writer", backups)
            self._backups = BackupTarget(
                host=f"{args.region}.digitaloceanspaces.com",
                bucket=backups.name,
                access_key=pulumi.Output.secret(key.access_key),
                secret_key=pulumi.Output.secret(key.secret_key),
                endpoints=[SPACES_ENDPOINT],
            )
        self.register_outputs({"bucket": self.bucket.name, "endpoint": self.endpoint})

    def _bucket(self, resource: str, bucket: str, rules: list[do.SpacesBucketLifecycleRuleArgsDict]) -> do.SpacesBucket:
        """A private bucket, versioned: an object deleted or overwritten (through a key, or by a client that
        mirrors removals) stays as a noncurrent version until `rules` expire it. Once enabled, versioning
        can only be suspended, never removed (the SDK's SpacesBucketVersioningArgs docstring)."""
        return do.SpacesBucket(
            resource,
            name=bucket,
            region=self._args.region,
            acl="private",
            versioning={"enabled": True},
            lifecycle_rules=rules,
            force_destroy=False,
            opts=stateful(self._args.protect, parent=self),
        )

    def _readwrite_key(self, resource: str, key: str, bucket: do.SpacesBucket) -> do.SpacesKey:
        """A Spaces key that reads and writes `bucket` only."""
        grants: list[do.SpacesKeyGrantArgsDict] = [{"bucket": bucket.name, "permission": "readwrite"}]
        return do.SpacesKey(resource, name=key, grants=grants, opts=pulumi.ResourceOptions(parent=self))

    def backups(self) -> BackupTarget | None:
        return self._backups

    def wiring(self, app: str) -> StorageWiring:
        return s3_wiring(
            app,
            endpoint=self.endpoint,
            region=self._args.region,
            bucket=self.bucket.name,
            access_key=self.key.access_key,
            secret_key=self.key.secret_key,
            endpoints=[SPACES_ENDPOINT],
        )
