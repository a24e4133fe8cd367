"""Pure builders of the S3 file storage (storage/aws.py): the bucket's lifecycle, encryption, CORS and
TLS-only policy, and the least-privilege statements of the apps and the dump writer. Functions of values only.
"""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_aws.s3 as s3

from components.endpoints import ANYWHERE, Endpoint

HTTPS = Endpoint(port=443, cidr=ANYWHERE)
# Dumps live beside the apps' files: app names are DNS labels, so no app's `<app>/` prefix (and no
# app role) can reach a prefix that starts with `_`.
S3_DUMPS_PREFIX = "_backups/mongo/"
BACKUP_SERVICE_ACCOUNT = "mongo-backup"
"""The service account the backup CronJob and the restore Job run as on EKS (bound to the dumps role)."""
# Data-plane actions a non-TLS request could carry: denied without TLS.
TRANSPORT_ACTIONS = ["s3:GetObject*", "s3:PutObject*", "s3:DeleteObject*", "s3:ListBucket*", "s3:RestoreObject", "s3:AbortMultipartUpload"]


ENCRYPTION_RULES: list[s3.BucketServerSideEncryptionConfigurationRuleArgsDict] = [
    {"apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms"}, "bucket_key_enabled": True}
]


def lifecycle_rules(noncurrent_version_days: int, backup_retention_days: int | None) -> list[s3.BucketLifecycleConfigurationRuleArgsDict]:
    """Noncurrent versions expire bucket-wide; dumps (when there are any) by a rule of their own."""
    rules: list[s3.BucketLifecycleConfigurationRuleArgsDict] = [
        {
            "id": "expire-noncurrent-versions",
            "status": "Enabled",
            "filter": {"prefix": ""},
            "noncurrent_version_expiration": {"noncurrent_days": noncurrent_version_days},
            "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        }
    ]
    if backup_retention_days is not None:
        rules.append(dumps_rule(backup_retention_days))
    return rules


def tls_only_statements(bucket_arn: str) -> list[dict[str, Any]]:
    """Every data-plane request without TLS denied, to anyone."""
    return [
        {
            "Sid": "DenyWithoutTls",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": TRANSPORT_ACTIONS,
            "Resource": [bucket_arn, f"{bucket_arn}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def cors_rules(origins: list[str]) -> list[s3.BucketCorsConfigurationCorsRuleArgsDict]:
    """Direct browser uploads and downloads from the apps' domains."""
    return [
        {
            "allowed_methods": ["GET", "PUT", "POST", "HEAD"],
            "allowed_origins": list(origins),
            "allowed_headers": ["*"],
            "expose_headers": ["ETag"],
            "max_age_seconds": 3600,
        }
    ]


def dumps_rule(retention_days: int) -> s3.BucketLifecycleConfigurationRuleArgsDict:
    """Dumps expire after the retention (on a versioned bucket: a delete marker, the dump noncurrent),
    and noncurrent dumps after the retention again. Where this rule and the bucket-wide one both apply
    to a noncurrent dump, S3 applies the shorter expiration (docs.aws.amazon.com/AmazonS3/latest/
    userguide/lifecycle-conflicts.html): README "Backups and restore" says so."""
    return {
        "id": "expire-mongo-dumps",
        "status": "Enabled",
        "filter": {"prefix": S3_DUMPS_PREFIX},
        "expiration": {"days": retention_days},
        "noncurrent_version_expiration": {"noncurrent_days": retention_days},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 1},
    }


def default_bucket_name(stack: str, account: str) -> str:
    """`meteor-<stack>-<account id>`: S3 names are global, so the account makes the default unique (two
    teams' `aws-staging` never collide) and stable (the same account, the same name on every run).
    At most 60 characters (stack names up to 40: components/config/names.py), a valid bucket name."""
    return f"meteor-{stack}-{account}"


def app_statements(bucket_arn: pulumi.Output[str], prefixes: list[str]) -> pulumi.Output[list[dict[str, object]]]:
    """Read, write and delete objects under the apps' prefixes; list only those prefixes."""
    return bucket_arn.apply(
        lambda arn: [
            {
                "Sid": "AppObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
                "Resource": [f"{arn}/{prefix}*" for prefix in prefixes],
            },
            {
                "Sid": "AppListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [arn],
                "Condition": {"StringLike": {"s3:prefix": [f"{prefix}*" for prefix in prefixes]}},
            },
        ]
    )


def backup_statements(bucket_arn: pulumi.Output[str]) -> pulumi.Output[list[dict[str, object]]]:
    """Write and read dumps, list them; nothing outside S3_DUMPS_PREFIX and no delete (the lifecycle rule
    expires dumps). s3:PutObject covers the multipart upload of a large dump (docs.aws.amazon.com/
    AmazonS3/latest/userguide/mpuoverview.html, "Multipart upload API and permissions"). No kms: the
    bucket encrypts with the AWS managed key aws/s3 (no key id given), whose key policy lets every
    principal of the account use it through S3 (docs.aws.amazon.com/kms/latest/developerguide/
    concepts.html#aws-managed-cmk), as for the apps' roles."""
    return bucket_arn.apply(
        lambda arn: [
            {
                "Sid": "DumpObjects",
                "Effect": "Allow",
                "Action": ["s3:GetObject", "s3:PutObject"],
                "Resource": [f"{arn}/{S3_DUMPS_PREFIX}*"],
            },
            {
                "Sid": "DumpListing",
                "Effect": "Allow",
                "Action": ["s3:ListBucket"],
                "Resource": [arn],
                "Condition": {"StringLike": {"s3:prefix": [f"{S3_DUMPS_PREFIX}*"]}},
            },
        ]
    )
