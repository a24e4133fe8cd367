"""`registry`: where app images are pulled from."""

from typing import TYPE_CHECKING, Literal

from pydantic import Field

from components.config.unions import tagged
from components.config.values import DnsLabel, DoRegion, Model


class NoRegistryConfig(Model):
    """Public images, or ones the cluster is already authorised to pull."""

    provider: Literal["none"] = Field(default="none", description="`none` (public or already-authorised images) or `digitalocean` (DOCR).")


class DigitalOceanRegistryConfig(Model):
    """DigitalOcean Container Registry: created by the stack, or an existing one of the team named."""

    provider: Literal["digitalocean"]
    name: DnsLabel | None = Field(default=None, description="Registry name; default `meteor-<stack>`.")
    tier: Literal["starter", "basic", "professional"] = Field(default="basic", description="Subscription tier.")
    region: DoRegion | None = Field(default=None, description="Registry region; default `digitalocean.region`.")
    existing: bool = Field(
        default=False,
        description="Use the team's existing registry `name` instead of creating one (named, not looked up: a name the team "
        "has no registry of fails at the registry credentials).",
    )


class EcrRegistryConfig(Model):
    """Amazon ECR: a repository per app, immutable tags (all but the build cache's), scanned on push, encrypted, old images expired."""

    provider: Literal["ecr"]
    keep_images: int = Field(
        default=30,
        ge=1,
        le=1000,
        description="Images each repository keeps (the newest, build caches a later build replaced included); older ones "
        "expire. The live build cache is always kept.",
    )


RegistryConfig = NoRegistryConfig | DigitalOceanRegistryConfig | EcrRegistryConfig

if TYPE_CHECKING:
    KubernetesRegistrySection = RegistryConfig
else:
    KubernetesRegistrySection = tagged(
        "registry",
        "provider",
        "none",
        {"none": NoRegistryConfig, "digitalocean": DigitalOceanRegistryConfig, "ecr": EcrRegistryConfig},
        scope="with target 'kubernetes'",
    )
# Docker hosts pull with the registry's read-only credentials, set on each host's Docker provider.
if TYPE_CHECKING:
    DockerRegistrySection = RegistryConfig
else:
    DockerRegistrySection = tagged(
        "registry",
        "provider",
        "none",
        {"none": NoRegistryConfig, "digitalocean": DigitalOceanRegistryConfig, "ecr": EcrRegistryConfig},
        scope="with target 'docker'",
    )
