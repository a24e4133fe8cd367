"""`logs.ship` on EC2 Docker hosts: the app containers log to CloudWatch Logs (Docker's `awslogs` driver).

One log group per stack, created here with `logs.retentionDays` (the driver never creates it:
`awslogs-create-group` defaults to false, and the daemon gets no logs:CreateLogGroup), encrypted at
rest by CloudWatch Logs itself (its default service-owned key; a KMS key of our own would need its
key policy to trust the regional logs service, and buys nothing the stack asks for). The Docker
daemon, not the container, writes the logs, with the host's instance role (the driver reads
credentials from the EC2 metadata service, which the daemon on the host reaches: the IMDSv2 hop
limit of 1 is for containers): the role may create log streams and put events in this group and
nowhere else.

The driver's options, from moby daemon/logger/awslogs/cloudwatchlogs.go (ValidateLogOpt, New,
newStreamConfig) and docs.docker.com/engine/logging/drivers/awslogs/:
- `awslogs-region` set explicitly (otherwise AWS_REGION of the daemon, then the metadata service);
- `tag` names the stream (`loggerutils.ParseLogTag(info, "{{.FullID}}")`, overridden only by
  `awslogs-stream`): `<app>/<instance>/<container id>`, one stream per container, as the driver
  wants ("a log stream should be used by only one container at a time");
- `mode: non-blocking` (a daemon-wide option, docs.docker.com/engine/logging/configure/#configure-the-delivery-mode-of-log-messages-from-container-to-log-driver):
  in blocking mode the driver creates its stream before the container starts and a failure stops
  the start (`if err = containerStream.create(); err != nil { return nil, err }`); non-blocking, it
  retries in the background with backoff, and the app's writes go to a ring buffer of
  `max-buffer-size` (lines beyond it are dropped) instead of blocking on CloudWatch. A CloudWatch
  outage or a missing permission never stops an app.
Every log group the platform creates for logs (this one, Container Insights' and the EKS control
plane's) is retained on delete: turning shipping or alerts off, or removing the cluster, drops the group
from the stack without deleting it ("If set to True, the providers Delete method will not be called for
this resource", pulumi ResourceOptions.retain_on_delete), so what was shipped stays until
`retention_in_days` expires it (deleting a log group deletes its events). Turning it on again creates
the group anew, and CreateLogGroup on an existing name fails with ResourceAlreadyExistsException
(CloudWatch Logs API Reference, CreateLogGroup, Errors): README (Logs) gives the `pulumi import` that
adopts it instead.

`docker logs` keeps working through Docker's dual-logging cache (Engine 20.10+, on by default, a
local rotated copy: docs.docker.com/engine/logging/dual-logging/), which is what the readiness step
reads (components/docker/steps.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from pulumi_aws import cloudwatch, iam

from components.aws.log_groups import retained_log_group

NON_BLOCKING_BUFFER = "4m"
"""The ring buffer between the app and the driver in non-blocking mode (Docker's default is 1m)."""


@dataclass(frozen=True)
class ContainerLogDriver:
    """How a container on the host logs: the driver and its options, and what must exist first."""

    driver: str
    options: dict[str, str]
    """Options every container shares; `for_instance` adds the stream's name."""
    ready: tuple[pulumi.Resource, ...] = ()

    def for_instance(self, app: str, instance: str) -> dict[str, str]:
        """The options for one container: its stream is `<app>/<instance>/<short container id>`."""
        return {**self.options, "tag": f"{app}/{instance}/{{{{.ID}}}}"}


def log_group_name(prefix: str) -> str:
    """The stack's log group: `/<project>-<stack>/containers`."""
    return f"/{prefix}/containers"


def may_write_streams(group_arn: str) -> str:
    """The instance role's policy: new streams and events in the group, nothing else (no reading, no
    other group, no creating groups). CloudWatch Logs authorizes CreateLogStream and PutLogEvents on
    the log-stream resource `arn:aws:logs:<region>:<account>:log-group:<name>:log-stream:<stream>`
    (Service Authorization Reference, Amazon CloudWatch Logs); the group's `arn` attribute carries
    no trailing `:*` (terraform-provider-aws internal/service/logs/group.go, trimLogGroupARNWildcardSuffix)."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DockerAwslogsDriver",
                    "Effect": "Allow",
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{group_arn}:log-stream:*",
                }
            ],
        },
        sort_keys=True,
    )


@dataclass(frozen=True)
class ContainerLogShippingArgs:
    prefix: str
    """`<project>-<stack>`: names the log group."""
    region: str
    retention_days: int
    role_name: pulumi.Input[str]
    """The hosts' instance role (AwsMachines.role): the Docker daemon writes with it."""


class ContainerLogShipping(pulumi.ComponentResource):
    log_group: cloudwatch.LogGroup
    write_policy: iam.RolePolicy
    driver: ContainerLogDriver

    def __init__(self, name: str, args: ContainerLogShippingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:ContainerLogShipping", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        group = log_group_name(args.prefix)
        self.log_group = retained_log_group(f"{name}-group", group, args.retention_days, parent=self)
        self.write_policy = iam.RolePolicy(
            f"{name}-write",
            role=args.role_name,
            policy=self.log_group.arn.apply(may_write_streams),
            opts=child,
        )
        self.driver = ContainerLogDriver(
            driver="awslogs",
            options={
                "awslogs-region": args.region,
                "awslogs-group": group,
                "awslogs-create-group": "false",
                "mode": "non-blocking",
                "max-buffer-size": NON_BLOCKING_BUFFER,
            },
            ready=(self.log_group, self.write_policy),
        )
        self.register_outputs({"log_group": self.log_group.name})
