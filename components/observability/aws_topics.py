"""The SNS topics every AWS alarm of the stack notifies, with the stack's email destinations subscribed.

CloudWatch alarms notify a topic in their own region only, and Route 53 publishes its health-check
metrics to us-east-1 only (docs.aws.amazon.com/Route53/latest/DeveloperGuide/health-checks-monitor-view-status.html:
"you must select the US East (N. Virginia) Region"), so a stack outside us-east-1 that checks its
domains gets a second topic there: pulumi-aws v7's per-resource `region` argument puts it in us-east-1
through the stack's one provider. The topic policy lets CloudWatch publish, for alarms of this
account only (aws:SourceAccount, docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
Notify_Users_Alarm_Changes.html). The account's own principals need no statement: within one account an
identity policy that allows an SNS action suffices unless the topic's policy denies it
(docs.aws.amazon.com/sns/latest/dg/sns-access-policy-language-api-permissions-reference.html; IAM
"Policy evaluation logic"). An email subscription stays "pending confirmation" until the
address clicks the link AWS mails it (README: Observability).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_aws.sns as sns


@dataclass(frozen=True)
class AlertTopicsArgs:
    name: str
    """Topic name prefix (`<platform>-<stack>`); the region is appended for the us-east-1 copy."""
    region: str
    """The stack's region (`aws.region`)."""
    account_id: str
    emails: Sequence[str]
    regions: Sequence[str]
    """Every region with alarms, each getting a topic: the stack's when its EC2 hosts or EKS cluster alarm there,
    us-east-1 when Route 53 checks the domains. A topic no alarm notifies would only mail each address a
    confirmation link."""


class AlertTopics(pulumi.ComponentResource):
    """One topic per region with alarms; `arn(region)` is what an alarm in that region notifies. The stack
    region's topic is named `name`, another region's `name-<region>`."""

    topics: dict[str, sns.Topic]
    subscriptions: list[sns.TopicSubscription]

    def __init__(self, name: str, args: AlertTopicsArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:AlertTopics", name, None, opts)
        self.topics = {}
        self.subscriptions = []
        for region in dict.fromkeys(args.regions):
            suffix = "" if region == args.region else f"-{region}"
            topic = sns.Topic(
                f"{name}{suffix}",
                name=f"{args.name}-alerts{suffix}",
                region=None if region == args.region else region,
                opts=pulumi.ResourceOptions(parent=self),
            )
            sns.TopicPolicy(
                f"{name}{suffix}",
                arn=topic.arn,
                region=None if region == args.region else region,
                policy=topic.arn.apply(lambda arn: _cloudwatch_may_publish(arn, args.account_id)),
                opts=pulumi.ResourceOptions(parent=self),
            )
            for email in args.emails:
                self.subscriptions.append(
                    sns.TopicSubscription(
                        # Named by the address, never by its position: removing one address keeps the others.
                        f"{name}{suffix}-{email}",
                        topic=topic.arn,
                        protocol="email",
                        endpoint=email,
                        region=None if region == args.region else region,
                        opts=pulumi.ResourceOptions(parent=self),
                    )
                )
            self.topics[region] = topic
        self.register_outputs({"topics": {r: t.arn for r, t in self.topics.items()}})

    def arn(self, region: str) -> pulumi.Output[str]:
        return self.topics[region].arn


def _cloudwatch_may_publish(topic_arn: str, account_id: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CloudWatchAlarmsOfThisAccount",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": topic_arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                },
            ],
        }
    )
