"""IAM policy documents as the program renders them (JSON with a fixed key order)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pulumi

POLICY_VERSION = "2012-10-17"
MANAGED = "arn:aws:iam::aws:policy"


def document(statements: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"Version": POLICY_VERSION, "Statement": list(statements)}, sort_keys=True)


def trust(service: str, *, tag_session: bool = False) -> str:
    """A role only `service` may assume (EKS Pod Identity also tags the session)."""
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else ["sts:AssumeRole"]
    return document([{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}])


def output_document(statements: pulumi.Input[Sequence[dict[str, Any]]]) -> pulumi.Output[str]:
    """`document` of statements that hold Outputs (ARNs known after creation)."""
    return pulumi.Output.from_input(statements).apply(lambda resolved: document(resolved))


def allow(actions: Sequence[str], resources: Sequence[Any], condition: dict[str, Any] | None = None) -> dict[str, Any]:
    """One Allow statement (`resources` may hold Outputs: render it with `output_document`)."""
    statement: dict[str, Any] = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
    if condition is not None:
        statement["Condition"] = condition
    return statement
