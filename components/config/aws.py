"""`aws`: account-wide AWS settings (credentials come from the environment: AWS_PROFILE, SSO, OIDC in CI)."""

from typing import Annotated, Literal

from pydantic import AfterValidator, Field

from components.config.errors import Problems
from components.config.values import Model, VpcRange, matching

# Commercial regions (docs.aws.amazon.com/global-infrastructure/latest/regions).
AWS_REGIONS = (
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "af-south-1", "ap-east-1", "ap-east-2", "ap-south-1", "ap-south-2",
    "ap-southeast-1", "ap-southeast-2", "ap-southeast-3", "ap-southeast-4", "ap-southeast-5", "ap-southeast-7",
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ca-central-1", "ca-west-1", "eu-central-1", "eu-central-2",
    "eu-west-1", "eu-west-2", "eu-west-3", "eu-south-1", "eu-south-2", "eu-north-1", "il-central-1", "me-south-1",
    "me-central-1", "mx-central-1", "sa-east-1",
)  # fmt: skip


def _check_region(value: str) -> str:
    if value not in AWS_REGIONS:
        raise ValueError(f"expected an AWS region such as eu-central-1 or us-east-1 (one of {len(AWS_REGIONS)} commercial regions)")
    return value


_check_zone = matching(r"[a-z]{2}(-[a-z]+)+-\d[a-z]", "expected an availability zone name such as eu-central-1a")


# t3.medium, m7i.large, c7g.2xlarge, r6id.metal, m7i-flex.large, u-6tb1.metal
_check_instance_type = matching(
    r"[a-z][a-z0-9]*(-[a-z0-9]+)?\.(nano|micro|small|medium|large|xlarge|\d+xlarge|metal(-\d+xl)?)",
    "expected an EC2 instance type such as t3.medium or m7i.large",
)


AwsRegion = Annotated[str, AfterValidator(_check_region)]
AvailabilityZone = Annotated[str, AfterValidator(_check_zone)]
InstanceType = Annotated[str, AfterValidator(_check_instance_type)]


class ExistingVpcConfig(Model):
    """A VPC and subnets the stack uses without creating them."""

    vpc_id: str = Field(..., pattern=r"^vpc-[0-9a-f]{8,17}$", description="The VPC's id.")
    public_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        ..., min_length=2, description="Public subnets (load balancers), one per availability zone."
    )
    private_subnet_ids: list[Annotated[str, Field(pattern=r"^subnet-[0-9a-f]{8,17}$")]] = Field(
        ..., min_length=2, description="Private subnets (nodes), one per availability zone."
    )


class AwsVpcConfig(Model):
    cidr: VpcRange = Field(
        default="10.130.0.0/16", description="The VPC's range: RFC 1918, /16 to /24; split into equal public and private subnets per zone."
    )
    availability_zones: list[AvailabilityZone] = Field(
        default_factory=lambda: ["eu-central-1a", "eu-central-1b"],
        description="At least two zones of `aws.region`: one public and one private subnet each.",
    )
    nat_gateways: Literal["single", "perZone"] = Field(
        default="single", description="`single` NAT gateway (cheaper; staging) or one `perZone` (survives a zone outage; production)."
    )
    existing: ExistingVpcConfig | None = Field(default=None, description="Use an existing VPC and subnets by id instead of creating them.")


class SnapshotsConfig(Model):
    enabled: bool | None = Field(
        default=None,
        description="Daily EBS snapshots (Data Lifecycle Manager) of the data volumes: MongoDB's on EKS, the Docker "
        "host's data volume; default: on in production (a production EKS stack on an existing mongo.storageClass, "
        "whose volumes it cannot find, must set it false).",
    )
    retention_days: int = Field(
        default=7, ge=1, le=3650, description="Days each snapshot is kept (a change applies to snapshots taken after it)."
    )
    time: str = Field(
        default="01:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="When the daily snapshot starts (hh:mm UTC; it starts within the hour after).",
    )


class AwsConfig(Model):
    region: AwsRegion = Field(default="eu-central-1", description="Region of every AWS resource.")
    vpc: AwsVpcConfig = Field(default_factory=AwsVpcConfig.model_construct, description="The stack's network.")
    snapshots: SnapshotsConfig = Field(
        default_factory=SnapshotsConfig.model_construct, description="Scheduled snapshots of the EBS data volumes."
    )


def subnet_prefix(cidr: str, count: int) -> int:
    """The prefix length that splits `cidr` into `count` equal subnets."""
    return int(cidr.split("/")[1]) + (count - 1).bit_length()


def aws_problems(aws: AwsConfig, problems: Problems) -> None:
    zones = aws.vpc.availability_zones
    if aws.vpc.existing is None:
        if len(set(zones)) < 2:
            problems.bad(["aws", "vpc", "availabilityZones"], zones, "expected at least two distinct availability zones")
        for i, zone in enumerate(zones):
            if not zone.startswith(aws.region) or len(zone) != len(aws.region) + 1:
                problems.bad(
                    ["aws", "vpc", "availabilityZones", i], zone, f"expected a zone of aws.region {aws.region} (such as {aws.region}a)"
                )
        if subnet_prefix(aws.vpc.cidr, 2 * len(zones)) > 24:
            problems.bad(["aws", "vpc", "cidr"], aws.vpc.cidr, f"expected room for {2 * len(zones)} subnets of at least /24")
    elif len(aws.vpc.existing.public_subnet_ids) != len(aws.vpc.existing.private_subnet_ids):
        problems.bad(
            ["aws", "vpc", "existing", "privateSubnetIds"],
            aws.vpc.existing.private_subnet_ids,
            "expected as many private subnets as public ones (one of each per zone)",
        )
