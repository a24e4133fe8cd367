"""`machines`: cloud machines booted as hardened Docker hosts (the Docker Machine idea)."""

from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field

from components import catalogue
from components.config.aws import InstanceType
from components.config.errors import Problems
from components.config.networks import admin_network_problems
from components.config.unions import tagged
from components.config.values import Cidr, DropletSize, LinuxUser, Model, SshPublicKey, VolumeSize


class NoMachinesConfig(Model):
    provider: Literal["none"] = Field(default="none", description="`none`, `digitalocean` (droplets) or `aws` (EC2 instances).")


def _check_droplet_image(value: str) -> str:
    if value not in catalogue.DROPLET_IMAGES:
        offered = ", ".join(f"{slug} (supported until {until})" for slug, until in catalogue.DROPLET_IMAGES.items())
        raise ValueError(f"expected an Ubuntu LTS image DigitalOcean offers: {offered} (components/catalogue.py, {catalogue.AS_OF})")
    return value


class DigitalOceanMachinesConfig(Model):
    """Droplets in the stack's VPC."""

    provider: Literal["digitalocean"]
    count: int = Field(default=1, ge=1, le=20, description="Number of hosts.")
    size: DropletSize = Field(default="s-2vcpu-4gb", description="Droplet size.")
    image: Annotated[str, AfterValidator(_check_droplet_image)] = Field(
        default="ubuntu-24-04-x64",
        description=f"Ubuntu LTS image slug DigitalOcean offers: {', '.join(catalogue.DROPLET_IMAGES)} (as of {catalogue.AS_OF}).",
    )
    admin_cidrs: list[Cidr] = Field(..., min_length=1, description="Networks allowed to reach SSH.")
    ssh_public_key: SshPublicKey = Field(..., description="OpenSSH public key of the deploy user.")
    existing_ssh_key: str | None = Field(
        default=None,
        pattern=r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$",
        description="MD5 fingerprint of `sshPublicKey` when another stack of the account already uploaded it (a key is accepted once per account).",
    )
    deploy_user: LinuxUser = Field(
        default="deploy", description="Non-root user in the docker group, for ssh:// Docker access (not root or another system account)."
    )
    serve_traffic: bool | None = Field(
        default=None, description="Open 80/443 to the internet on these hosts; default: when apps run on them (target `docker`)."
    )
    purpose: str | None = Field(
        default=None,
        max_length=200,
        description="What the machines are for when no app runs on them (target `kubernetes`): a machine exists only when something runs on it.",
    )
    reserved_ip: bool = Field(
        default=False, description="Attach a reserved IP to the first host (a single host; several get a load balancer)."
    )
    load_balancer_certificate: str | None = Field(
        default=None,
        description="Several hosts: an existing DigitalOcean certificate for the load balancer; default a Let's Encrypt one "
        "DigitalOcean issues for the apps' domains (their DNS hosted on DigitalOcean).",
    )
    data_volume_size: VolumeSize = Field(
        default="20Gi",
        description="Block-storage volume of the first host, holding its Docker volumes (MongoDB, MinIO, certificates) when apps run there.",
    )

    def own_problems(self, problems: Problems) -> None:
        admin_network_problems(self.admin_cidrs, problems)


class AwsMachinesConfig(Model):
    """EC2 instances in the stack's VPC (public subnets), each with an Elastic IP."""

    provider: Literal["aws"]
    count: int = Field(default=1, ge=1, le=20, description="Number of hosts.")
    instance_type: InstanceType = Field(default="t3.medium", description="EC2 instance type.")
    distro: Literal["ubuntu", "debian"] = Field(
        default="ubuntu", description="Ubuntu 24.04 or Debian 12, the newest AMI by owner and name."
    )
    access: Literal["ssh", "ssm"] = Field(
        default="ssh",
        description="`ssh` (port 22 from adminCidrs) or `ssm` (Session Manager: no inbound SSH; reach the Docker API with an SSM port forward).",
    )
    admin_cidrs: list[Cidr] = Field(..., min_length=1, description="Networks allowed to reach SSH (with access `ssh`).")
    ssh_public_key: SshPublicKey = Field(..., description="OpenSSH public key of the deploy user.")
    deploy_user: LinuxUser = Field(
        default="deploy", description="Non-root user in the docker group, for ssh:// Docker access (not root or another system account)."
    )
    root_volume_gib: int = Field(default=30, ge=8, le=1000, description="Encrypted root volume, GiB.")
    data_volume_size: VolumeSize = Field(
        default="20Gi",
        description="Encrypted EBS volume of the first host, holding its Docker volumes; survives the instance's replacement.",
    )

    def own_problems(self, problems: Problems) -> None:
        admin_network_problems(self.admin_cidrs, problems)


if TYPE_CHECKING:
    MachinesSection = NoMachinesConfig | DigitalOceanMachinesConfig | AwsMachinesConfig
else:
    MachinesSection = tagged(
        "machines", "provider", "none", {"none": NoMachinesConfig, "digitalocean": DigitalOceanMachinesConfig, "aws": AwsMachinesConfig}
    )
