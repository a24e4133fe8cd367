"""What AWS answers in a region: ids in each service's form, ARNs in one account, the data sources the program reads."""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

from typing import Any

from offline_plan.fakes.answers import FakeContext
from offline_plan.fakes.deterministic import digest, stable_uuid

AWS_ACCOUNT = "123456789012"
DEFAULT_AWS_REGION = "eu-central-1"
AWS_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ebs/volume:Volume": "vol",
}

GET_AMI = "aws:ec2/getAmi:getAmi"
GET_CALLER_IDENTITY = "aws:index/getCallerIdentity:getCallerIdentity"
GET_AUTHORIZATION_TOKEN = "aws:ecr/getAuthorizationToken:getAuthorizationToken"


def aws_resource(mocks: FakeContext, name: str, state: dict[str, Any], typ: str, region: str) -> tuple[str, dict[str, Any]]:
    """What AWS answers in `region`: ids in each service's form, ARNs in the account, the outputs the program reads."""
    hexid = digest("aws", typ, name)[:17]
    service = typ.split(":")[1].split("/")[0]
    resource_name = str(state.get("name") or state.get("bucket") or f"{name}-{hexid[:7]}")
    resource_id = f"{AWS_ID_PREFIXES[typ]}-{hexid}" if typ in AWS_ID_PREFIXES else resource_name
    outputs: dict[str, Any] = {
        "arn": f"arn:aws:{service}:{region}:{AWS_ACCOUNT}:{typ.rsplit(':', 1)[1].lower()}/{resource_name}",
        "id": resource_id,
    }
    if typ == "aws:iam/role:Role":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{resource_name}", "uniqueId": "AROA" + hexid.upper()}
    elif typ == "aws:iam/instanceProfile:InstanceProfile":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:instance-profile/{resource_name}"}
    elif typ == "aws:s3/bucket:Bucket":
        outputs |= {
            "bucket": resource_name,
            "arn": f"arn:aws:s3:::{resource_name}",
            "bucketRegionalDomainName": f"{resource_name}.s3.{region}.amazonaws.com",
        }
    elif typ == "aws:ecr/repository:Repository":
        outputs |= {"repositoryUrl": f"{AWS_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{resource_name}", "registryId": AWS_ACCOUNT}
    elif typ == "aws:eks/cluster:Cluster":
        outputs |= {
            "endpoint": f"https://{hexid.upper()}.gr7.{region}.eks.amazonaws.com",
            "certificateAuthority": {"data": "TU9DSy1DQQ=="},
            "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:cluster/{resource_name}",
            "name": resource_name,
        }
    elif typ == "aws:eks/nodeGroup:NodeGroup":
        # The provider names the group and EKS its Auto Scaling group (eks-<group>-<uuid>).
        group = str(state.get("nodeGroupName") or resource_name)
        outputs |= {
            "nodeGroupName": group,
            "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:nodegroup/{state.get('clusterName')}/{group}/{stable_uuid(name)}",
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{stable_uuid(name)}"}], "remoteAccessSecurityGroupId": ""}],
        }
    elif typ == "aws:ssm/parameter:Parameter":
        # A name's leading `/` is not doubled after `parameter` (the Service Authorization Reference, as
        # parliament's IAM database holds it: `parameter/${ParameterNameWithoutLeadingSlash}`).
        outputs |= {"name": resource_name, "arn": f"arn:aws:ssm:{region}:{AWS_ACCOUNT}:parameter/{resource_name.removeprefix('/')}"}
    elif typ == "aws:ec2/instance:Instance":
        n = int(hexid[:6], 16)
        outputs |= {"publicIp": "", "privateIp": f"10.130.0.{n % 250 + 4}"}
    elif typ == "aws:ec2/eip:Eip":
        outputs |= {"publicIp": f"203.0.113.{int(hexid[:4], 16) % 250 + 2}"}
    elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
        outputs |= {"latestVersion": 1}
    elif typ == "aws:sns/topic:Topic":
        # SNS ARNs end in the topic's name, with no resource-type segment; the id is the ARN.
        outputs |= {"name": resource_name, "arn": f"arn:aws:sns:{region}:{AWS_ACCOUNT}:{resource_name}"}
        resource_id = outputs["arn"]
    elif typ == "aws:route53/healthCheck:HealthCheck":
        # Health checks are global: a UUID id, an ARN with neither region nor account.
        outputs |= {"id": stable_uuid(name), "arn": f"arn:aws:route53:::healthcheck/{stable_uuid(name)}"}
        resource_id = stable_uuid(name)
    elif typ == "aws:lambda/function:Function":
        outputs |= {"name": resource_name, "arn": f"arn:aws:lambda:{region}:{AWS_ACCOUNT}:function:{resource_name}"}
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        outputs |= {"name": resource_name, "arn": f"arn:aws:cloudwatch:{region}:{AWS_ACCOUNT}:alarm:{resource_name}"}
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        # `arn:aws:logs:<region>:<account>:log-group:<name>`, the `:*` CloudWatch Logs appends trimmed
        # (terraform-provider-aws internal/service/logs/group.go resourceGroupFlatten, trimLogGroupARNWildcardSuffix).
        outputs |= {"name": resource_name, "arn": f"arn:aws:logs:{region}:{AWS_ACCOUNT}:log-group:{resource_name}"}
    elif typ == "aws:kms/key:Key":
        outputs |= {"arn": f"arn:aws:kms:{region}:{AWS_ACCOUNT}:key/{stable_uuid(name)}", "keyId": stable_uuid(name)}
    elif typ == "aws:iam/user:User":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{resource_name}", "uniqueId": "AIDA" + hexid.upper()}
    elif typ == "aws:iam/accessKey:AccessKey":
        # The key's id is its access key id; the secret access key is a (sensitive) output.
        resource_id = "AKIA" + hexid.upper()[:16]
        outputs |= {"id": resource_id, "secret": mocks.secret(f"{name}-secret", 40)}
    return resource_id, outputs


def newest_ami(args: dict[str, Any], ami_round: int) -> dict[str, Any]:
    """The image a `most_recent` look-up finds; another round, a newer one (AWS published it since)."""
    owner = (args.get("owners") or ["?"])[0]
    published = ("ami", str(owner)) if not ami_round else ("ami", str(owner), str(ami_round))
    return {"id": "ami-" + digest(*published)[:17], "name": "newest-matching-image", "architecture": "x86_64"}


def caller_identity() -> dict[str, Any]:
    return {
        "id": AWS_ACCOUNT,
        "accountId": AWS_ACCOUNT,
        "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/deployer",
        "userId": "AIDA0DEPLOYER",
    }


def ecr_authorization_token(mocks: FakeContext, region: str) -> dict[str, Any]:
    import base64

    # A new token on every call (pulumi/pulumi-docker#952): another round, another token.
    password = mocks.secret(f"ecr-token-{mocks.token_round}", 64)
    token = base64.b64encode(f"AWS:{password}".encode()).decode()
    endpoint = f"https://{AWS_ACCOUNT}.dkr.ecr.{region}.amazonaws.com"
    return {
        "id": region,
        "authorizationToken": token,
        "password": password,
        "userName": "AWS",
        "proxyEndpoint": endpoint,
        "expiresAt": f"2026-01-01T{12 + mocks.token_round % 12:02d}:00:00Z",  # twelve hours after the call
    }
