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
from components.aws.iam import document, output_document
from components.aws.roles import attach_managed, service_role
from components.machines.cloud_init import DATA_MOUNT as DATA_MOUNT
from components.machines.cloud_init import DOCKER_READY, INSTANCE_ROLE_BRIDGE_PREFIX
from components.machines.ec2_specs import (
    ALL_EGRESS,
    METADATA_OPTIONS,
    ami_filters,
    cloudwatch_agent_statements,
    ec2_host_user_data,
    host_ingress,
    host_key_parameter_name,
    host_key_statements,
    host_subnet,
    instance_arns,
    root_volume,
    session_manager_statements,
    ssm_proxy_command,
)
from components.machines.ec2_specs import DATA_LABEL as DATA_LABEL
from components.machines.ec2_specs import ROOT_MOUNT as ROOT_MOUNT
from components.machines.ec2_specs import SESSION_MANAGER_CHANNELS as SESSION_MANAGER_CHANNELS
from components.machines.ec2_specs import ebs_device as ebs_device
from components.machines.host_keys import host_keys, public_keys, ssh_urls
from components.machines.readiness import ReachableHost, docker_ready_over_ssh
from components.protection import stateful

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
    host_keys: list[tls.PrivateKey]
    host_public_keys: list[pulumi.Output[str]]
    host_key_key: kms.Key
    host_key_parameters: list[ssm.Parameter]
    """Per host, its private ssh host key (SecureString under `host_key_key`)."""
    instance_role_bridges: str | None = INSTANCE_ROLE_BRIDGE_PREFIX
    ssh_proxy_command: str | None

    def __init__(self, name: str, args: AwsMachinesArgs, region: str, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:machines:AwsMachines", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.tag = f"{args.name}-docker"
        tags = {"Name": self.tag}  # and the stack's default tags (components/aws/provider.py)
        profile = self._instance_profile(name, args, region, tags)
        self.security_group = ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args.vpc_id,
            description=f"{self.tag}: web and admin access",
            ingress=host_ingress(args.access, args.admin_cidrs, args.serve_traffic),
            egress=ALL_EGRESS,
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
                opts=stateful(args.protect, parent=self),
            )
        self.host_keys = host_keys(name, args.count, protect=args.protect, parent=self)
        self.host_public_keys = public_keys(self.host_keys)
        host_key_access = self._host_key_parameters(name, args, region, tags)
        ami = ec2.get_ami_output(
            most_recent=True,
            owners=[versions.AWS_AMI_OWNERS[args.distro]],
            filters=ami_filters(args.distro),
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.instances = [self._instance(name, i, args, region, tags, ami.id, profile.name, host_key_access) for i in range(args.count)]
        addresses = [ec2.Eip(f"{name}-{i}", domain="vpc", instance=it.id, tags=tags, opts=child) for i, it in enumerate(self.instances)]
        self.public_addresses = [address.public_ip for address in addresses]
        self.machine_ids = [instance.id for instance in self.instances]
        # ssh://deploy@<instance id> through Session Manager (the Docker provider's ssh options tunnel it).
        self.docker_host_urls = ssh_urls(args.deploy_user, self.machine_ids if args.access == "ssm" else self.public_addresses)
        self.ssh_proxy_command = ssm_proxy_command(region) if args.access == "ssm" else None
        self.docker_ready = self._docker_ready(name, args) if args.wait_for_docker else []
        self.register_outputs({"public_addresses": self.public_addresses, "docker_host_urls": self.docker_host_urls})

    def _instance_profile(self, name: str, args: AwsMachinesArgs, region: str, tags: dict[str, str]) -> iam.InstanceProfile:
        """The hosts' role: ECR read, Session Manager's minimum when chosen, the CloudWatch agent's when installed."""
        child = pulumi.ResourceOptions(parent=self)
        self.role = service_role(f"{name}-role", "ec2.amazonaws.com", tags=tags, parent=self)
        policy = "AmazonEC2ContainerRegistryReadOnly"
        attach_managed(f"{name}-{policy}", self.role, policy, parent=self)
        if args.access == "ssm":
            account = aws.get_caller_identity_output(opts=pulumi.InvokeOutputOptions(parent=self)).account_id
            statements = session_manager_statements(account.apply(lambda a: instance_arns(region, a)))
            iam.RolePolicy(f"{name}-session-manager", role=self.role.name, policy=output_document(statements), opts=child)
        if args.cloudwatch_namespace is not None:
            policy_document = document(cloudwatch_agent_statements(args.cloudwatch_namespace))
            iam.RolePolicy(f"{name}-cloudwatch-agent", role=self.role.name, policy=policy_document, opts=child)
        return iam.InstanceProfile(f"{name}-profile", role=self.role.name, tags=tags, opts=child)

    def _instance(
        self,
        name: str,
        i: int,
        args: AwsMachinesArgs,
        region: str,
        tags: dict[str, str],
        ami: pulumi.Input[str],
        profile: pulumi.Input[str],
        host_key_access: pulumi.Resource,
    ) -> ec2.Instance:
        """Host `i`; the first also holds the data volume (when there is one) and attaches it."""
        holds_data = i == 0 and self.data_volume is not None
        volume_id: pulumi.Input[str] = self.data_volume.id if holds_data and self.data_volume is not None else ""
        user_data = pulumi.Output.secret(
            pulumi.Output.all(self.host_key_parameters[i].name, self.host_keys[i].public_key_openssh, volume_id).apply(
                lambda values, holds=holds_data: ec2_host_user_data(
                    deploy_user=args.deploy_user,
                    ssh_public_key=args.ssh_public_key,
                    distro=args.distro,
                    region=region,
                    host_key_parameter=str(values[0]),
                    host_public_key=str(values[1]),
                    data_volume_id=str(values[2]) if holds else None,
                    cloudwatch_namespace=args.cloudwatch_namespace,
                )
            )
        )
        instance = ec2.Instance(
            f"{name}-{i}",
            ami=ami,
            instance_type=args.instance_type,
            subnet_id=host_subnet(i, args.subnet_ids, holds_data),
            vpc_security_group_ids=[self.security_group.id],
            iam_instance_profile=profile,
            user_data=user_data,
            user_data_replace_on_change=True,
            metadata_options=METADATA_OPTIONS,
            # A public address from launch: cloud-init installs packages before the Elastic IP is
            # attached (the subnets do not map one: network/aws.py). ForceNew in the pinned provider
            # (hashicorp/terraform-provider-aws internal/service/ec2/ec2_instance.go, issue #37238,
            # PR #45850 still open): a host deployed without it is replaced (README: rolling a host).
            associate_public_ip_address=True,
            root_block_device=root_volume(args.root_volume_gib),
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
        return instance

    def _docker_ready(self, name: str, args: AwsMachinesArgs) -> list[pulumi.Resource]:
        """Per host, done once Docker answers: over Session Manager from the machine running `pulumi up`
        (no inbound port), or over direct ssh; either way pinning the host key."""
        if args.access == "ssm":
            return [
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
        return docker_ready_over_ssh(
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
                name=host_key_parameter_name(args.stack, self.tag, i),
                description=f"{self.tag}-{i}: private ssh host key, read by the host at first boot",
                type="SecureString",
                key_id=self.host_key_key.arn,
                value=pulumi.Output.secret(key.private_key_openssh),
                tags=tags,
                opts=child,
            )
            for i, key in enumerate(self.host_keys)
        ]
        statements = host_key_statements([p.arn for p in self.host_key_parameters], self.host_key_key.arn, region)
        return iam.RolePolicy(f"{name}-host-keys", role=self.role.name, policy=output_document(statements), opts=child)
