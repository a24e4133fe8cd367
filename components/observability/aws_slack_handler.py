"""The Lambda function that posts the stack's CloudWatch alarms to its Slack incoming webhook.

This file is the function's whole code: `aws_slack.py` ships it as the Lambda's `index.py` (handler
`index.handler`). It uses the standard library, and boto3 only to read the webhook URL: boto3 is part
of every Lambda Python runtime (docs.aws.amazon.com/lambda/latest/dg/lambda-python.html, "The Python
runtime includes the AWS SDK for Python (Boto3)"), so nothing is packaged and nothing needs updating.

The webhook URL stays in an SSM SecureString parameter (WEBHOOK_PARAMETER, in WEBHOOK_REGION), read
on each invocation: alarms are rare, and a rotated webhook is used from the next alarm on, without
redeploying the function. A failed post raises, so Lambda retries the asynchronous SNS invocation
(twice, docs.aws.amazon.com/lambda/latest/dg/invocation-async.html).
"""

from __future__ import annotations

import importlib
import json
import os
import urllib.request
from typing import Any

POST_TIMEOUT_SECONDS = 5

# CloudWatch's alarm states (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/AlarmThatSendsEmail.html).
STATE_ICONS = {"ALARM": ":red_circle:", "OK": ":large_green_circle:", "INSUFFICIENT_DATA": ":white_circle:"}


def read_webhook_url() -> str:
    """The webhook URL, decrypted from its SecureString parameter."""
    # In the Lambda runtime; imported on use, so the formatting code runs (and is tested) without it.
    boto3: Any = importlib.import_module("boto3")
    client: Any = boto3.client("ssm", region_name=os.environ["WEBHOOK_REGION"])
    answer: dict[str, Any] = client.get_parameter(Name=os.environ["WEBHOOK_PARAMETER"], WithDecryption=True)
    return str(answer["Parameter"]["Value"])


def slack_text(subject: str | None, message: str) -> str:
    """One Slack message for one SNS message: a CloudWatch alarm's state change, or any other text as is."""
    try:
        alarm: Any = json.loads(message)
    except ValueError:
        alarm = None
    if not isinstance(alarm, dict) or "AlarmName" not in alarm or "NewStateValue" not in alarm:
        return f"*{subject}*\n{message}" if subject else message
    fields: dict[str, Any] = alarm  # pyright: ignore[reportUnknownVariableType]
    state = str(fields["NewStateValue"])
    lines = [f"{STATE_ICONS.get(state, ':grey_question:')} *{state}*: {fields['AlarmName']}"]
    if fields.get("AlarmDescription"):
        lines.append(str(fields["AlarmDescription"]))
    if fields.get("NewStateReason"):
        lines.append(f"_{fields['NewStateReason']}_")
    where = ", ".join(str(fields[k]) for k in ("Region", "StateChangeTime") if fields.get(k))
    if where:
        lines.append(where)
    return "\n".join(lines)


def post(url: str, text: str) -> None:
    """POST `{"text": ...}` to the webhook (api.slack.com/messaging/webhooks); a non-2xx answer raises."""
    request = urllib.request.Request(
        url, data=json.dumps({"text": text}).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS) as response:
        status = int(response.status)
        if not 200 <= status < 300:
            raise RuntimeError(f"Slack answered {status}")


def handler(event: dict[str, Any], _context: object) -> dict[str, int]:
    """SNS invokes this with one record per message (docs.aws.amazon.com/lambda/latest/dg/with-sns.html)."""
    url = read_webhook_url()
    records: list[dict[str, Any]] = event.get("Records", [])
    for record in records:
        sns: dict[str, Any] = record["Sns"]
        post(url, slack_text(sns.get("Subject"), str(sns.get("Message", ""))))
    return {"posted": len(records)}
