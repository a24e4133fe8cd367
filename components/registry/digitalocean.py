"""DigitalOcean Container Registry with read-only and read-write credentials.

Pull credentials reach the cluster as an imagePullSecret in each app namespace (read-only,
scoped to this registry, visible in the plan and independent of the cluster's service-account
setup) rather than DOKS registry integration, which patches every namespace's default service
account behind Pulumi's back. Push credentials are a secret stack output for CI.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_digitalocean as do

from components.protection import stateful

REGISTRY_HOST = "registry.digitalocean.com"


@dataclass(frozen=True)
class DigitalOceanRegistryArgs:
    name: str
    region: str
    tier: str = "basic"
    protect: bool = False
    """Protect the registry (and the images in it) from destroy and replacement."""
    existing: bool = False
    """Use the team's existing registry `name` instead of creating it (a team may have several)."""


class DigitalOceanRegistry(pulumi.ComponentResource):
    """DigitalOcean Container Registry with read-only and read-write credentials."""

    registry: do.ContainerRegistry | None
    server: pulumi.Output[str]
    pull_credentials: pulumi.Output[str]
    push_credentials: pulumi.Output[str]
    nodes_pull_with_role: bool = False
    credential_helper: str | None = None
    shared_with_other_stacks: bool = True

    def __init__(self, name: str, args: DigitalOceanRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:registry:DigitalOceanRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        registry_name: pulumi.Output[str]
        if args.existing:
            # Named, not looked up. The container-registry data source cannot read a registry since
            # terraform-provider-digitalocean 2.71.0 (multiple registries, #1472): its read is the
            # resource's, `client.Registries.Get(ctx, d.Id())` with no id yet, and a 404 clears the id,
            # so every attribute comes back null (upstream #1535, open; fix #1594 unreleased) — and
            # pulumi-digitalocean 4.84.1 bundles a provider at least that new. The endpoint is what the
            # provider builds (`fmt.Sprintf("%s/%s", RegistryHostname, reg.Name)`, registry.digitalocean.com).
            # A name the team has no registry of fails at the credentials below: their create is a read
            # whose `Registries.Get(registryName)` answers 404, which the bridge reports as
            # "expected non-nil error with nil state during Create" (pulumi-terraform-bridge tfbridge/provider.go).
            self.registry = None
            registry_name = pulumi.Output.from_input(args.name)
            self.server = pulumi.Output.from_input(f"{REGISTRY_HOST}/{args.name}")
        else:
            self.registry = do.ContainerRegistry(
                f"{name}-registry",
                name=args.name,
                region=args.region,
                subscription_tier_slug=args.tier,
                opts=stateful(args.protect, parent=self),
            )
            registry_name, self.server = self.registry.name, self.registry.endpoint
        pull = do.ContainerRegistryDockerCredentials(f"{name}-pull", registry_name=registry_name, write=False, opts=child)
        push = do.ContainerRegistryDockerCredentials(f"{name}-push", registry_name=registry_name, write=True, opts=child)
        self.pull_credentials = pulumi.Output.secret(pull.docker_credentials)
        self.push_credentials = pulumi.Output.secret(push.docker_credentials)
        self.register_outputs({"server": self.server})
