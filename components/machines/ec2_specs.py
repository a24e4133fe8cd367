"""Pure builders of the EC2 Docker hosts (machines/aws.py): the image lookup, the security group's
rules, the role's policy statements, each host's placement and user data. Functions of values only.
"""

from __future__ import annotations

from typing import Any

import pulumi_aws.ec2 as ec2

from components import versions
from components.aws.iam import allow
from components.endpoints import ANYWHERE
from components.machines.cloud_init import (
    DATA_MOUNT,
    INSTANCE_ROLE_BRIDGE_PREFIX,
    DockerHostUserData,
    HostKeyParameter,
    docker_host_user_data,
)
from components.observability.cloudwatch_agent import CloudWatchAgentSetup

DATA_LABEL = "meteor-data"
ROOT_MOUNT = "/"
WEB_PORTS = (80, 443)
SESSION_MANAGER_CHANNELS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
"""The Session Manager channels the SSM agent opens, which any app container reaching the role can open too."""
ALL_EGRESS: list[ec2.SecurityGroupEgressArgsDict] = [
    {"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [ANYWHERE], "ipv6_cidr_blocks": ["::/0"]}
]
METADATA_OPTIONS: ec2.InstanceMetadataOptionsArgsDict = {
    "http_tokens": "required",
    "http_endpoint": "enabled",
    # A container's token request crosses the Docker bridge's NAT, one hop more than the host's:
    # with 1 its PUT response never arrives (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
    # instancedata-data-retrieval.html#imds-considerations: "In a container environment, we
    # recommend setting the hop limit to 2"). Which containers get there at all: cloud_init.py.
    "http_put_response_hop_limit": 2,
}


def ami_filters(distro: str) -> list[ec2.GetAmiFilterArgsDict]:
    """The newest x86-64 HVM image of the distribution's own release line (owner: versions.AWS_AMI_OWNERS)."""
    return [
        {"name": "name", "values": [versions.AWS_AMI_NAMES[distro]]},
        {"name": "architecture", "values": ["x86_64"]},
        {"name": "virtualization-type", "values": ["hvm"]},
    ]


def host_ingress(access: str, admin_cidrs: list[str], serve_traffic: bool) -> list[ec2.SecurityGroupIngressArgsDict]:
    """SSH from the admin networks (none through Session Manager), the web ports from anywhere when serving."""
    ingress: list[ec2.SecurityGroupIngressArgsDict] = []
    if access == "ssh":
        ingress.append(
            {
                "protocol": "tcp",
                "from_port": 22,
                "to_port": 22,
                "cidr_blocks": list(admin_cidrs),
                "description": "ssh from the admin networks",
            }
        )
    if serve_traffic:
        for port in WEB_PORTS:
            web: ec2.SecurityGroupIngressArgsDict = {
                "protocol": "tcp",
                "from_port": port,
                "to_port": port,
                "cidr_blocks": [ANYWHERE],
                "ipv6_cidr_blocks": ["::/0"],
                "description": "web",
            }
            ingress.append(web)
    return ingress


def instance_arns(region: str, account: str) -> str:
    """Every instance of the account in the region."""
    return f"arn:aws:ec2:{region}:{account}:instance/*"


def session_manager_statements(instances: Any) -> list[dict[str, Any]]:
    """What the SSM agent needs for Session Manager, and nothing more: not AmazonSSMManagedInstanceCore,
    whose ssm:GetParameter(s) on "*" the app containers (which reach this role) would use to read
    every parameter of the account. The minimum of docs.aws.amazon.com/systems-manager/latest/userguide/
    getting-started-create-iam-instance-profile.html ("Session Manager only"), the managed policy
    AWSCloud9SSMInstanceProfile's actions; ssm:UpdateInstanceInformation names the account's instances
    (`instances`: `instance_arns`; it takes an instance resource), the ssmmessages actions take none (the
    Service Authorization Reference)."""
    return [allow(["ssm:UpdateInstanceInformation"], [instances]), allow(SESSION_MANAGER_CHANNELS, ["*"])]


def cloudwatch_agent_statements(namespace: str) -> list[dict[str, Any]]:
    """What the CloudWatch agent needs to publish metrics, and nothing more: not CloudWatchAgentServerPolicy
    (logs, ec2:DescribeTags and DescribeVolumes, ssm:GetParameter on AmazonCloudWatch-*: for features this
    configuration does not use). PutMetricData takes no resource ("*") but the `cloudwatch:namespace`
    condition key (Service Authorization Reference, Amazon CloudWatch: "Filters actions based on the
    presence of optional namespace values"; docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
    iam-cw-condition-keys-namespace.html). The role is also every app container's on an instance-role
    network (cloud_init.py): such a container can publish into this namespace too, so it could hide or
    fake a memory or disk alarm of these hosts (never another stack's, nor EC2's own metrics)."""
    return [allow(["cloudwatch:PutMetricData"], ["*"], {"StringEquals": {"cloudwatch:namespace": namespace}})]


def host_key_statements(parameter_arns: list[Any], key_arn: Any, region: str) -> list[dict[str, Any]]:
    """Reading the hosts' own key parameters, decrypting with their key through SSM only."""
    return [
        allow(["ssm:GetParameter"], parameter_arns),
        allow(["kms:Decrypt"], [key_arn], {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}}),
    ]


def host_key_parameter_name(stack: str, tag: str, index: int) -> str:
    return f"/meteor-platform/{stack}/{tag}-{index}/ssh-host-key"


def ebs_device(volume_id: str) -> str:
    """The stable path of an attached EBS volume on Nitro instances (NVMe, named by volume id)."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def ssm_proxy_command(region: str) -> str:
    """ssh through Session Manager (`%h` is the instance id): no inbound port at all."""
    return f"aws ssm start-session --region {region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p"


def host_subnet(index: int, subnet_ids: list[Any], holds_data: bool) -> Any:
    """Round-robin over the public subnets; the data host in the first (its volume's zone)."""
    return subnet_ids[0] if holds_data else subnet_ids[index % len(subnet_ids)]


def root_volume(gib: int) -> ec2.InstanceRootBlockDeviceArgsDict:
    return {"volume_size": gib, "volume_type": "gp3", "encrypted": True, "delete_on_termination": True}


def ec2_host_user_data(
    *,
    deploy_user: str,
    ssh_public_key: str,
    distro: str,
    region: str,
    host_key_parameter: str,
    host_public_key: str,
    data_volume_id: str | None,
    cloudwatch_namespace: str | None,
) -> str:
    """The cloud-init user data of one EC2 host (`data_volume_id`: the host that holds the data volume)."""
    holds = data_volume_id is not None
    return docker_host_user_data(
        DockerHostUserData(
            deploy_user=deploy_user,
            ssh_public_keys=[ssh_public_key],
            distro="debian" if distro == "debian" else "ubuntu",
            host_key_parameter=HostKeyParameter(region, host_key_parameter, host_public_key.strip()),
            data_label=DATA_LABEL if holds else None,
            data_device=ebs_device(data_volume_id) if data_volume_id is not None else None,
            instance_role_bridges=INSTANCE_ROLE_BRIDGE_PREFIX,
            cloudwatch_agent=None
            if cloudwatch_namespace is None
            else CloudWatchAgentSetup(cloudwatch_namespace, (ROOT_MOUNT, DATA_MOUNT) if holds else (ROOT_MOUNT,)),
        )
    )
