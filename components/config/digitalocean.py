"""`digitalocean`: account-wide settings (the API token comes from `digitalocean:token` or DIGITALOCEAN_TOKEN)."""

from pydantic import Field

from components.config.values import DoRegion, Model, VpcRange


class DigitalOceanConfig(Model):
    region: DoRegion = Field(default="fra1", description="Region of every DigitalOcean resource.")
    vpc_ip_range: VpcRange = Field(
        default="10.120.0.0/20",
        description="Private network range of the stack's VPC: RFC 1918, /16 to /24, not overlapping other VPCs of the account.",
    )
