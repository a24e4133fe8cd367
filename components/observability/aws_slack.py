"""Every AWS alarm of the stack, posted to its Slack incoming webhook.

SNS delivers to email, SQS, Lambda, HTTP(S) endpoints that confirm the subscription, ...; a Slack
incoming webhook cannot confirm an SNS subscription (it answers the SubscriptionConfirmation POST
but never visits the SubscribeURL), so a small Lambda function sits between them
(`aws_slack_handler.py`, the function's whole code, standard library plus the runtime's boto3).

Why not AWS Chatbot (Amazon Q Developer in chat applications): `aws.chatbot.SlackChannelConfiguration`
needs `slack_team_id`, the "ID of the Slack workspace authorized with AWS Chatbot"
(pulumi_aws/chatbot/slack_channel_configuration.py), and authorizing a workspace is an OAuth step
in the AWS console that no API performs; the stack's config holds a webhook, not a workspace.

One function per topic region, in that region: SNS can deliver to a Lambda function in another
region, but not from a region enabled by default to an opt-in region
(docs.aws.amazon.com/sns/latest/dg/lambda-prereq.html), which a stack region may be.

The webhook URL (a secret) lives in an SSM SecureString parameter in the stack's region, never in
the function's configuration: Lambda environment variables are returned in plain text by
GetFunctionConfiguration to anyone allowed to read the function, while the parameter's value is
returned decrypted only to a principal allowed ssm:GetParameter on it. It is encrypted with the
AWS managed key `aws/ssm`, whose key policy lets the account's IAM principals decrypt through SSM
(docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html), so the role
needs no kms:Decrypt; the parameter name in the IAM policy is the access control. A new webhook is
a `pulumi up` that updates the parameter in place (PutParameter with Overwrite); the function reads
it on each alarm.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_aws.cloudwatch as cloudwatch
import pulumi_aws.iam as iam
import pulumi_aws.lambda_ as lambda_
import pulumi_aws.sns as sns
import pulumi_aws.ssm as ssm

from components.observability.aws_alarms import AlarmSpec, metric_alarm

HANDLER_SOURCE = Path(__file__).with_name("aws_slack_handler.py")
# A runtime the pinned SDK knows (pulumi_aws/lambda_/_enums.py Runtime.PYTHON3D13) and Lambda supports
# (docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html); bump it when that page deprecates it.
RUNTIME = "python3.13"
# Lambda function names are at most 64 characters (CreateFunction FunctionName: "If you specify only the
# function name, it is limited to 64 characters in length"); `<project>-<stack>` is at most
# 6 + 1 + 40 (components/config/names.py MAX_STACK_NAME), so the suffix leaves room for no region. None is
# needed: a function name is unique per region (arn:aws:lambda:<region>:<account>:function:<name>), and
# each topic region's function lives in that region.
FUNCTION_NAME_LIMIT = 64
FUNCTION_SUFFIX = "-alerts-to-slack"
TIMEOUT_SECONDS = 15  # one SSM read and one POST of at most 5 s (aws_slack_handler.POST_TIMEOUT_SECONDS)


@dataclass(frozen=True)
class SlackForwarderArgs:
    name: str
    """Name prefix (`<platform>-<stack>`) of the function, its log group, role and parameter."""
    region: str
    """The stack's region: the parameter's."""
    account_id: str
    webhook: pulumi.Input[str]
    """The incoming webhook URL, a secret Output."""
    topics: Mapping[str, pulumi.Input[str]]
    """Topic ARN by region (`AlertTopics.topics`)."""
    log_retention_days: int
    """`logs.retentionDays`: a CloudWatch Logs retention value."""


class SlackForwarder(pulumi.ComponentResource):
    """A Lambda function per topic region, subscribed to the topic, posting each message to Slack."""

    parameter: ssm.Parameter
    role: iam.Role
    functions: dict[str, lambda_.Function]
    subscriptions: dict[str, sns.TopicSubscription]
    error_alarms: dict[str, cloudwatch.MetricAlarm]
    """By region: the function failed (a revoked webhook, a Slack outage), told to that region's topic."""

    def __init__(self, name: str, args: SlackForwarderArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:SlackForwarder", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        parameter_name = webhook_parameter_name(args.name)
        self.parameter = ssm.Parameter(
            f"{name}-webhook",
            name=parameter_name,
            type="SecureString",
            value=pulumi.Output.secret(args.webhook),
            description="Slack incoming webhook the alarm forwarder posts to",
            opts=child,
        )
        function_names = {region: forwarder_name(args.name) for region in args.topics}
        self.role = iam.Role(f"{name}-role", assume_role_policy=LAMBDA_TRUST_POLICY, opts=child)
        policy = forwarder_policy(args.account_id, args.region, parameter_name, function_names)
        iam.RolePolicy(f"{name}-role", role=self.role.id, policy=policy, opts=child)
        code = pulumi.AssetArchive({"index.py": pulumi.StringAsset(HANDLER_SOURCE.read_text())})
        self.functions = {}
        self.subscriptions = {}
        self.error_alarms = {}
        for region, topic_arn in args.topics.items():
            self._forwarder_in(name, args, region, topic_arn, code, parameter_name)
        self.register_outputs({"functions": {r: f.arn for r, f in self.functions.items()}})

    def _forwarder_in(
        self, name: str, args: SlackForwarderArgs, region: str, topic_arn: pulumi.Input[str], code: pulumi.Archive, parameter_name: str
    ) -> None:
        """The function of `region`'s topic: its log group, the permission for SNS, the subscription, its error alarm."""
        child = pulumi.ResourceOptions(parent=self)
        in_region = None if region == args.region else region
        suffix = "" if in_region is None else f"-{region}"
        function_name = forwarder_name(args.name)
        # Created before the function, so Lambda never creates it without a retention.
        logs = cloudwatch.LogGroup(
            f"{name}{suffix}", name=f"/aws/lambda/{function_name}", retention_in_days=args.log_retention_days, region=in_region, opts=child
        )
        function = lambda_.Function(
            f"{name}{suffix}",
            name=function_name,
            description="Posts the stack's CloudWatch alarms to Slack",
            runtime=RUNTIME,
            handler="index.handler",
            code=code,
            role=self.role.arn,
            timeout=TIMEOUT_SECONDS,
            memory_size=128,
            environment=lambda_.FunctionEnvironmentArgs(variables={"WEBHOOK_PARAMETER": parameter_name, "WEBHOOK_REGION": args.region}),
            region=in_region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[logs]),
        )
        permission = lambda_.Permission(
            f"{name}{suffix}",
            action="lambda:InvokeFunction",
            function=function.name,
            principal="sns.amazonaws.com",
            source_arn=topic_arn,
            region=in_region,
            opts=child,
        )
        self.subscriptions[region] = sns.TopicSubscription(
            f"{name}{suffix}",
            topic=topic_arn,
            protocol="lambda",
            endpoint=function.arn,
            region=in_region,
            # SNS invokes the function only once the permission exists.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[permission]),
        )
        self.functions[region] = function
        self.error_alarms[region] = _error_alarm(f"{name}{suffix}", function_name, topic_arn, in_region, child)


LAMBDA_TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
"""A role only Lambda may assume (as this component always wrote it: unlike `aws.iam.trust`, keys unsorted
and the action a string, so the deployed role's policy reads unchanged)."""


def webhook_parameter_name(prefix: str) -> str:
    """The SecureString parameter holding the webhook (`/<project>-<stack>/alerts/slack-webhook`)."""
    return f"/{prefix}/alerts/slack-webhook"


def forwarder_name(prefix: str) -> str:
    """The forwarder's name in every region (`<project>-<stack>-alerts-to-slack`, at most 63 characters)."""
    return f"{prefix}{FUNCTION_SUFFIX}"


def _error_alarm(
    name: str, function: str, topic_arn: pulumi.Input[str], region: str | None, child: pulumi.ResourceOptions
) -> cloudwatch.MetricAlarm:
    """A forwarder that fails is otherwise silent in Slack: its region's topic (its emails) hears of it.

    `Errors` counts the invocations that end in a function error, the handler's raise on a refused post
    included; Lambda sends it per minute, read with Sum, and only when the function runs
    (docs.aws.amazon.com/lambda/latest/dg/monitoring-metrics-types.html), so no data is no failure.
    ALARM only, no OK action: the alarm's own notification invokes the failing forwarder again, which keeps
    it in ALARM; an OK notification would invoke it once more, fail, and flap ALARM/OK for as long as the
    webhook is broken. It returns to OK silently and alarms again at the next failure.
    """
    return metric_alarm(f"{name}-errors", forwarder_error_alarm(function, topic_arn, region), child)


def forwarder_error_alarm(function: str, topic_arn: pulumi.Input[str], region: str | None) -> AlarmSpec:
    return AlarmSpec(
        name=f"{function}-errors",
        description=f"Lambda function {function} failed to post an alarm to Slack (its log group /aws/lambda/{function} says why); "
        "the alarm reached the topic's email subscribers",
        namespace="AWS/Lambda",
        metric="Errors",
        dimensions={"FunctionName": function},
        statistic="Sum",
        evaluation_periods=1,
        comparison="GreaterThanThreshold",
        threshold=0,
        treat_missing_data="notBreaching",
        alarm_actions=[topic_arn],
        region=region,
    )


def forwarder_policy(account_id: str, stack_region: str, parameter_name: str, function_names: Mapping[str, str]) -> str:
    """What the functions may do: write their own log streams, and read the one parameter."""
    log_groups = [
        f"arn:aws:logs:{region}:{account_id}:log-group:/aws/lambda/{function}:*" for region, function in sorted(function_names.items())
    ]
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": log_groups},
                {
                    "Effect": "Allow",
                    "Action": ["ssm:GetParameter"],
                    "Resource": [f"arn:aws:ssm:{stack_region}:{account_id}:parameter/{parameter_name.removeprefix('/')}"],
                },
            ],
        }
    )
