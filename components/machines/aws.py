"""EC2 instances booted as hardened Docker hosts, with the same cloud-init user data as droplets.

The image is the newest Ubuntu 24.04 or Debian 12 AMI of the distribution's own account (a
data-source lookup by owner and name, never a hard-coded id). IMDSv2 only (hop limit 2: the app
containers reach their instance role through the Docker bridge, cloud_init.py), a public address
from launch, an encrypted gp3 root volume, an instance profile (ECR read; Session Manager's minimum when chosen), a
security group admitting SSH from the admin networks only (none with Session Manager) and the web
ports, an Elastic IP. The first host's Docker volumes live on a separate encrypted EBS volume that
outlives the instance (protected and retained in production): cloud-init waits for it at boot and
formats it only if it is blank; that host and its volume attachment are replaced delete-first.
Host keys are generated here and pinned by every ssh client, as on DigitalOcean; the private key
reaches the host through an SSM SecureString parameter under a key of its own (never in the user
data, which ec2:DescribeInstanceAttribute and the metadata service serve).

Imports only the `ec2`, `ebs`, `iam`, `kms` and `ssm` submodules of pulumi_aws.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_aws.ebs as ebs
import pulumi_aws.ec2 as ec2
import pulumi_aws.iam as iam
import pulumi_aws.kms as kms
import pulumi_aws.ssm as ssm
import pulumi_command as command
import pulumi_tls as tls

from components import versions
from components.aws.iam import MANAGED, document, output_document, trust
from components.endpoints import ANYWHERE
from components.machines.cloud_init import (
    DATA_MOUNT,
    DOCKER_READY,
    INSTANCE_ROLE_BRIDGE_PREFIX,
    DockerHostUserData,
    HostKeyParameter,
    docker_host_user_data,
)
from components.machines.readiness import ReachableHost, docker_ready_over_ssh
from components.observability.cloudwatch_agent import CloudWatchAgentSetup
from components.protection import stateful

DATA_LABEL = "meteor-data"
ROOT_MOUNT = "/"
SESSION_MANAGER_CHANNELS = (
    "ssmmessages:CreateControlChannel",
    "ssmmessages:CreateDataChannel",
    "ssmmessages:OpenControlChannel",
    "ssmmessages:OpenDataChannel",
)
"""The Session Manager channels the SSM agent opens, which any app container reaching the role can open too."""
SSM_READY = (
    "for attempt in $(seq 1 60); do "
    'ssh -o ConnectTimeout=15 -o "ProxyCommand=$PROXY" -o StrictHostKeyChecking=yes -o UserKnownHostsFile=/dev/null '
    '-o "KnownHostsCommand=/bin/echo %H $HOST_KEY" "$DEPLOY_USER@$HOST" "$READY" && exit 0; sleep 10; done; exit 1'
)


@dataclass(frozen=True)
class AwsMachinesArgs:
    name: str
    stack: str
    zone: str
    subnet_ids: list[pulumi.Output[str]]
    """Public subnets: hosts go round-robin over them (the data host into the first, with its volume)."""
    vpc_id: pulumi.Input[str]
    ssh_public_key: str
    admin_cidrs: list[str]
    count: int = 1
    instance_type: str = "t3.medium"
    distro: str = "ubuntu"
    access: str = "ssh"
    deploy_user: str = "deploy"
    root_volume_gib: int = 30
    data_volume_gib: int | None = None
    serve_traffic: bool = True
    protect: bool = False
    wait_for_docker: bool = False
    cloudwatch_namespace: str | None = None
    """Install the CloudWatch agent, publishing memory and disk use there (the host alarms': observability/aws_hosts.py)."""


def ebs_device(volume_id: str) -> str:
    """The stable path of an attached EBS volume on Nitro instances (NVMe, named by volume id)."""
    return f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{volume_id.replace('-', '')}"


def ssm_proxy_command(region: str) -> str:
    """ssh through Session Manager (`%h` is the instance id): no inbound port at all."""
    return f"aws ssm start-session --region {region} --target %h --document-name AWS-StartSSHSession --parameters portNumber=%p"


class AwsMachines(pulumi.ComponentResource):
    instances: list[ec2.Instance]
    data_volume: ebs.Volume | None
    data_attachment: ec2.VolumeAttachment | None = None
    security_group: ec2.SecurityGroup
    role: iam.Role
    tag: str
    public_addresses: list[pulumi.Output[str]]
    machine_ids: list[pulumi.Output[str]]
    docker_host_urls: list[pulumi.Output[str]]
    docker_ready: list[pulumi.Resource]
    host_public_keys: list[pulumi.Output[str]]
    host_key_key: kms.Key
    host_key_parameters: list[ssm.Parameter]
    """Per host, its private ssh host key (SecureString under `host_key_key`)."""
    instance_role_bridges: str | None = INSTANCE_ROLE_BRIDGE_PREFIX

    def __init__(self, name: str, args: AwsMachinesArgs, region: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:machines:AwsMachines", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.tag = f"{args.name}-docker"
        tags = {"Name": self.tag}  # and the stack's default tags (components/aws/provider.py)
        ami = ec2.get_ami_output(
            most_recent=True,
            owners=[versions.AWS_AMI_OWNERS[args.distro]],
            filters=[
                {"name": "name", "values": [versions.AWS_AMI_NAMES[args.distro]]},
                {"name": "architecture", "values": ["x86_64"]},
                {"name": "virtualization-type", "values": ["hvm"]},
            ],
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.role = iam.Role(f"{name}-role", assume_role_policy=trust("ec2.amazonaws.com"), tags=tags, opts=child)
        policy = "AmazonEC2ContainerRegistryReadOnly"
        iam.RolePolicyAttachment(f"{name}-{policy}", role=self.role.name, policy_arn=f"{MANAGED}/{policy}", opts=child)
        if args.access == "ssm":
            self._session_manager_policy(name, region)
        if args.cloudwatch_namespace is not None:
            self._cloudwatch_agent_policy(name, args.cloudwatch_namespace)
        profile = iam.InstanceProfile(f"{name}-profile", role=self.role.name, tags=tags, opts=child)
        ingress: list[ec2.SecurityGroupIngressArgsDict] = []
        if args.access == "ssh":
            ingress.append(
                {
                    "protocol": "tcp",
                    "from_port": 22,
                    "to_port": 22,
                    "cidr_blocks": list(args.admin_cidrs),
                    "description": "ssh from the admin networks",
                }
            )
        if args.serve_traffic:
            for port in (80, 443):
                web: ec2.SecurityGroupIngressArgsDict = {
                    "protocol": "tcp",
                    "from_port": port,
                    "to_port": port,
                    "cidr_blocks": [ANYWHERE],
                    "ipv6_cidr_blocks": ["::/0"],
                    "description": "web",
                }
                ingress.append(web)
        self.security_group = ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{self.tag}: web and admin access",
            ingress=ingress,
            egress=[{"protocol": "-1", "from_port": 0, "to_port": 0, "cidr_blocks": [ANYWHERE], "ipv6_cidr_blocks": ["::/0"]}],
            tags=tags,
            opts=child,
        )
        self.data_volume = None
        if args.data_volume_gib is not None:
            self.data_volume = ebs.Volume(
                f"{name}-data",
                availability_zone=args.zone,
                size=args.data_volume_gib,
                type="gp3",
                encrypted=True,
                tags={**tags, "Name": f"{self.tag}-data"},
                opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
            )
        self.host_keys = [
            tls.PrivateKey(f"{name}-{i}-host-key", algorithm="ED25519", opts=pulumi.ResourceOptions(parent=self, protect=args.protect))
            for i in range(args.count)
        ]
        self.host_public_keys = [key.public_key_openssh.apply(lambda k: k.strip()) for key in self.host_keys]
        host_key_access = self._host_key_parameters(name, args, region, tags)
        self.instances = []
        addresses: list[ec2.Eip] = []
        for i, host_key in enumerate(self.host_keys):
            holds_data = i == 0 and self.data_volume is not None
            volume_id: pulumi.Input[str] = self.data_volume.id if holds_data and self.data_volume is not None else ""
            user_data = pulumi.Output.secret(
                pulumi.Output.all(self.host_key_parameters[i].name, host_key.public_key_openssh, volume_id).apply(
                    lambda values, holds=holds_data: docker_host_user_data(
                        DockerHostUserData(
                            deploy_user=args.deploy_user,
                            ssh_public_keys=[args.ssh_public_key],
                            distro="debian" if args.distro == "debian" else "ubuntu",
                            host_key_parameter=HostKeyParameter(region, str(values[0]), str(values[1]).strip()),
                            data_label=DATA_LABEL if holds else None,
                            data_device=ebs_device(str(values[2])) if holds else None,
                            instance_role_bridges=INSTANCE_ROLE_BRIDGE_PREFIX,
                            cloudwatch_agent=None
                            if args.cloudwatch_namespace is None
                            else CloudWatchAgentSetup(args.cloudwatch_namespace, (ROOT_MOUNT, DATA_MOUNT) if holds else (ROOT_MOUNT,)),
                        )
                    )
                )
            )
            instance = ec2.Instance(
                f"{name}-{i}",
                ami=ami.id,
                instance_type=args.instance_type,
                subnet_id=args.subnet_ids[i % len(args.subnet_ids)] if not holds_data else args.subnet_ids[0],
                vpc_security_group_ids=[self.security_group.id],
                iam_instance_profile=profile.name,
                user_data=user_data,
                user_data_replace_on_change=True,
                # A container's token request crosses the Docker bridge's NAT, one hop more than the host's:
                # with 1 its PUT response never arrives (docs.aws.amazon.com/AWSEC2/latest/UserGuide/
                # instancedata-data-retrieval.html#imds-considerations: "In a container environment, we
                # recommend setting the hop limit to 2"). Which containers get there at all: cloud_init.py.
                metadata_options={"http_tokens": "required", "http_endpoint": "enabled", "http_put_response_hop_limit": 2},
                # A public address from launch: cloud-init installs packages before the Elastic IP is
                # attached (the subnets do not map one: network/aws.py). ForceNew in the pinned provider
                # (hashicorp/terraform-provider-aws internal/service/ec2/ec2_instance.go, issue #37238,
                # PR #45850 still open): a host deployed without it is replaced (README: rolling a host).
                associate_public_ip_address=True,
                root_block_device={
                    "volume_size": args.root_volume_gib,
                    "volume_type": "gp3",
                    "encrypted": True,
                    "delete_on_termination": True,
                },
                monitoring=True,
                tags={**tags, "Name": f"{self.tag}-{i}"},
                # The data host's replacement is deliberate (README: rolling a host); others roll on new user data.
                # The data host goes first: its replacement needs the volume, which attaches to one instance
                # at a time, and its new attachment comes after the old one is gone (below).
                opts=pulumi.ResourceOptions(
                    parent=self,
                    protect=args.protect and holds_data,
                    ignore_changes=["ami"],
                    delete_before_replace=holds_data,
                    # It reads its host key at boot: the permission first.
                    depends_on=[host_key_access],
                ),
            )
            self.instances.append(instance)
            if holds_data and self.data_volume is not None:
                # A new instance id forces a new attachment (ForceNew on instance_id, volume_id, device_name:
                # hashicorp/terraform-provider-aws internal/service/ec2/ebs_volume_attachment.go), which Pulumi
                # would create before deleting the old one: EC2 refuses to attach a volume that is still
                # attached (VolumeInUse, docs.aws.amazon.com/AWSEC2/latest/APIReference/API_AttachVolume.html).
                # Detaching from the running old instance: DetachVolume without Force, which waits for the
                # volume to be unmounted, or stays "busy" indefinitely (docs.aws.amazon.com/AWSEC2/latest/
                # APIReference/API_DetachVolume.html). stop_instance_before_detaching: the provider stops the
                # instance (a clean shutdown unmounts it) and waits until it is stopped before DetachVolume
                # (ebs_volume_attachment.go resourceVolumeAttachmentDelete; neither ForceNew nor sent to AWS
                # on update: UpdateWithoutTimeout is schema.NoopContext, so deployed stacks update in place).
                # What ran on the host (its readiness step, which its Docker provider and so every container
                # follows) depends on this attachment: on a roll it is deleted before the detach.
                self.data_attachment = ec2.VolumeAttachment(
                    f"{name}-data",
                    device_name="/dev/sdf",
                    volume_id=self.data_volume.id,
                    instance_id=instance.id,
                    stop_instance_before_detaching=True,
                    opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
                )
            addresses.append(ec2.Eip(f"{name}-{i}", domain="vpc", instance=instance.id, tags=tags, opts=child))
        self.public_addresses = [address.public_ip for address in addresses]
        self.machine_ids = [instance.id for instance in self.instances]
        if args.access == "ssm":
            # ssh://deploy@<instance id>, tunnelled through Session Manager by the Docker provider's ssh options.
            self.docker_host_urls = [instance.id.apply(lambda iid: f"ssh://{args.deploy_user}@{iid}") for instance in self.instances]
        else:
            self.docker_host_urls = [a.apply(lambda ip: f"ssh://{args.deploy_user}@{ip}") for a in self.public_addresses]
        self.ssh_proxy_command = ssm_proxy_command(region) if args.access == "ssm" else None
        self.docker_ready = []
        if args.wait_for_docker and args.access == "ssm":
            # No inbound port: wait from the machine running `pulumi up`, through Session Manager, pinning the host key.
            self.docker_ready = [
                command.local.Command(
                    f"{name}-{i}-docker-ready",
                    create=SSM_READY,
                    environment={
                        "HOST": instance.id,
                        "DEPLOY_USER": args.deploy_user,
                        "HOST_KEY": host_key,
                        "PROXY": self.ssh_proxy_command or "",
                        "READY": DOCKER_READY,
                    },
                    triggers=[instance.id],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[self.security_group, *self._needs(i)]),
                )
                for i, (instance, host_key) in enumerate(zip(self.instances, self.host_public_keys, strict=True))
            ]
        if args.wait_for_docker and args.access == "ssh":
            self.docker_ready = docker_ready_over_ssh(
                name,
                [
                    ReachableHost(machine_id=instance.id, address=address, host_key=host_key, needs=self._needs(i))
                    for i, (instance, address, host_key) in enumerate(
                        zip(self.instances, self.public_addresses, self.host_public_keys, strict=True)
                    )
                ],
                args.deploy_user,
                pulumi.ResourceOptions(parent=self, depends_on=[self.security_group]),
            )
        self.register_outputs({"public_addresses": self.public_addresses, "docker_host_urls": self.docker_host_urls})

    def _session_manager_policy(self, name: str, region: str) -> iam.RolePolicy:
        """What the SSM agent needs for Session Manager, and nothing more: not AmazonSSMManagedInstanceCore,
        whose ssm:GetParameter(s) on "*" the app containers (which reach this role) would use to read
        every parameter of the account. The minimum of docs.aws.amazon.com/systems-manager/latest/userguide/
        getting-started-create-iam-instance-profile.html ("Session Manager only"), the managed policy
        AWSCloud9SSMInstanceProfile's actions; ssm:UpdateInstanceInformation names the account's instances
        (it takes an instance resource), the ssmmessages actions take none (the Service Authorization Reference)."""
        account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
        return iam.RolePolicy(
            f"{name}-session-manager",
            role=self.role.name,
            policy=output_document(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["ssm:UpdateInstanceInformation"],
                        "Resource": [account.apply(lambda a: f"arn:aws:ec2:{region}:{a}:instance/*")],
                    },
                    {"Effect": "Allow", "Action": list(SESSION_MANAGER_CHANNELS), "Resource": ["*"]},
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _cloudwatch_agent_policy(self, name: str, namespace: str) -> iam.RolePolicy:
        """What the CloudWatch agent needs to publish metrics, and nothing more: not CloudWatchAgentServerPolicy
        (logs, ec2:DescribeTags and DescribeVolumes, ssm:GetParameter on AmazonCloudWatch-*: for features this
        configuration does not use). PutMetricData takes no resource ("*") but the `cloudwatch:namespace`
        condition key (Service Authorization Reference, Amazon CloudWatch: "Filters actions based on the
        presence of optional namespace values"; docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
        iam-cw-condition-keys-namespace.html). The role is also every app container's on an instance-role
        network (cloud_init.py): such a container can publish into this namespace too, so it could hide or
        fake a memory or disk alarm of these hosts (never another stack's, nor EC2's own metrics)."""
        return iam.RolePolicy(
            f"{name}-cloudwatch-agent",
            role=self.role.name,
            policy=document(
                [
                    {
                        "Effect": "Allow",
                        "Action": ["cloudwatch:PutMetricData"],
                        "Resource": ["*"],
                        "Condition": {"StringEquals": {"cloudwatch:namespace": namespace}},
                    }
                ]
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _needs(self, i: int) -> list[pulumi.Resource]:
        """What host `i` uses besides itself: the data host, its volume's attachment."""
        return [self.data_attachment] if i == 0 and self.data_attachment is not None else []

    def _host_key_parameters(self, name: str, args: AwsMachinesArgs, region: str, tags: dict[str, str]) -> iam.RolePolicy:
        """Per host, its private host key in a SecureString parameter under a customer managed key.
        Not the AWS managed key aws/ssm, whose key policy lets every IAM principal of the account
        decrypt (docs.aws.amazon.com/systems-manager/latest/userguide/ps-restrict-decryption.html):
        this key has the default key policy (the account delegates to IAM), so only principals whose
        IAM policies allow kms:Decrypt on it (administrators, and the instance role through SSM) read
        the value; ec2:DescribeInstanceAttribute and ssm:GetParameter alone do not."""
        child = pulumi.ResourceOptions(parent=self)
        self.host_key_key = kms.Key(
            f"{name}-host-keys",
            description=f"{self.tag}: ssh host keys in SSM",
            enable_key_rotation=True,
            deletion_window_in_days=30 if args.protect else 7,
            tags=tags,
            opts=child,
        )
        self.host_key_parameters = [
            ssm.Parameter(
                f"{name}-{i}-host-key",
                name=f"/meteor-platform/{args.stack}/{self.tag}-{i}/ssh-host-key",
                description=f"{self.tag}-{i}: private ssh host key, read by the host at first boot",
                type="SecureString",
                key_id=self.host_key_key.arn,
                value=pulumi.Output.secret(key.private_key_openssh),
                tags=tags,
                opts=child,
            )
            for i, key in enumerate(self.host_keys)
        ]
        return iam.RolePolicy(
            f"{name}-host-keys",
            role=self.role.name,
            policy=output_document(
                [
                    {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": [p.arn for p in self.host_key_parameters]},
                    {
                        "Effect": "Allow",
                        "Action": ["kms:Decrypt"],
                        "Resource": [self.host_key_key.arn],
                        "Condition": {"StringEquals": {"kms:ViaService": f"ssm.{region}.amazonaws.com"}},
                    },
                ]
            ),
            opts=child,
        )
