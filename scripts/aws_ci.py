"""What the AWS workflows (.github/workflows/aws-*.yml) compute, in one place, tested offline.

- `region <stack>`: the stack's `aws.region` (configure-aws-credentials needs it before the
  program runs; the stack file is the one source, so a workflow never states its own).
- `docker-config <account> <region>`: the Docker config that logs builds, promotions (crane) and
  the Docker hosts' provider in to the account's ECR through the credential helper (README,
  "Logging in to ECR"): the document `registry_push_credentials` prints, holding no credential.
- `trust-policy <account> <owner/repo> <environment>`: the trust policy of the role a workflow
  running in that GitHub environment assumes through GitHub's OIDC provider (README, "CI on AWS").
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OIDC_PROVIDER = "token.actions.githubusercontent.com"
"""GitHub's OIDC issuer (aws-actions/configure-aws-credentials README, "Configuring IAM to trust GitHub")."""
AUDIENCE = "sts.amazonaws.com"
"""The `aud` configure-aws-credentials asks GitHub for (its `audience` input's default, action.yml v6.2.3)."""


def stack_region(stack: str, root: Path = ROOT) -> str:
    config: dict[str, Any] = yaml.safe_load((root / f"Pulumi.{stack}.yaml").read_text())["config"]
    region = (config.get("meteor-platform:aws") or {}).get("region")
    if not isinstance(region, str) or not region:
        raise SystemExit(f"error: Pulumi.{stack}.yaml sets no meteor-platform:aws.region")
    return region


def docker_config(account: str, region: str) -> dict[str, Any]:
    if not re.fullmatch(r"[0-9]{12}", account):
        raise SystemExit(f"error: not an AWS account id: {account!r}")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-[0-9]", region):
        raise SystemExit(f"error: not an AWS region: {region!r}")
    return {"credHelpers": {f"{account}.dkr.ecr.{region}.amazonaws.com": "ecr-login"}}


def trust_policy(account: str, repository: str, environment: str) -> dict[str, Any]:
    """Only jobs of `repository` running in GitHub environment `environment` may assume the role.

    GitHub puts `repo:<owner>/<repo>:environment:<name>` in `sub` for a job with an environment
    (configure-aws-credentials README: "Workflows running in GitHub environments will include an
    `environment:<ENVIRONMENT_NAME>` stanza"); StringEquals on both `sub` and `aud`, never a
    wildcard, never `ForAllValues:` (same README, "Claims and scoping permissions")."""
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{account}:oidc-provider/{OIDC_PROVIDER}"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {
                    "StringEquals": {
                        f"{OIDC_PROVIDER}:aud": AUDIENCE,
                        f"{OIDC_PROVIDER}:sub": f"repo:{repository}:environment:{environment}",
                    }
                },
            }
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scripts/aws_ci.py", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    region = commands.add_parser("region")
    region.add_argument("stack")
    config = commands.add_parser("docker-config")
    config.add_argument("account")
    config.add_argument("region")
    trust = commands.add_parser("trust-policy")
    trust.add_argument("account")
    trust.add_argument("repository")
    trust.add_argument("environment")
    args = parser.parse_args(argv)
    if args.command == "region":
        print(stack_region(args.stack))
    elif args.command == "docker-config":
        print(json.dumps(docker_config(args.account, args.region)))
    else:
        print(json.dumps(trust_policy(args.account, args.repository, args.environment), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
