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


@dataclass(frozen=True)
class DigitalOceanRegistryArgs:
    name: str
    region: str
    tier: str = "basic"
    protect: bool = False
    """Protect the registry (and the images in it) from destroy and replacement."""
    existing: bool = False
    """Use the team's registry `name` instead of creating it (DigitalOcean allows one per team)."""


class TeamRegistryError(pulumi.RunError):
    """The team's one registry is not the one the stack names."""


def team_registry(actual: str, expected: str) -> str:
    """The registry DigitalOcean answered, when it is the one the stack names.

    The data source does not look the name up: it reads the team's one registry (`GET /v2/registry`)
    and reports its name (terraform-provider-digitalocean, container registry read:
    `client.Registry.Get(...)`, then `d.Set("name", reg.Name)`), so a wrong name would silently push
    to and pull from whatever registry the team has.
    """
    if actual != expected:
        raise TeamRegistryError(
            f"meteor-platform:registry.name: the team's registry is {actual!r}, not {expected!r}; "
            "expected the name of the team's one registry (DigitalOcean allows one per team: `doctl registry get`)"
        )
    return actual


class DigitalOceanRegistry(pulumi.ComponentResource):
    """DigitalOcean Container Registry with read-only and read-write credentials."""

    registry: do.ContainerRegistry | None
    server: pulumi.Output[str]
    pull_credentials: pulumi.Output[str]
    push_credentials: pulumi.Output[str]
    nodes_pull_with_role: bool = False
    shared_with_other_stacks: bool = True

    def __init__(self, name: str, args: DigitalOceanRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:registry:DigitalOceanRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        registry_name: pulumi.Output[str]
        if args.existing:
            self.registry = None
            found = do.get_container_registry_output(name=args.name, opts=pulumi.InvokeOutputOptions(parent=self))
            registry_name = found.name.apply(lambda actual: team_registry(actual, args.name))
            self.server = pulumi.Output.all(registry_name, found.endpoint).apply(lambda values: str(values[1]))
        else:
            self.registry = do.ContainerRegistry(
                f"{name}-registry",
                name=args.name,
                region=args.region,
                subscription_tier_slug=args.tier,
                opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
            )
            registry_name, self.server = self.registry.name, self.registry.endpoint
        pull = do.ContainerRegistryDockerCredentials(f"{name}-pull", registry_name=registry_name, write=False, opts=child)
        push = do.ContainerRegistryDockerCredentials(f"{name}-push", registry_name=registry_name, write=True, opts=child)
        self.pull_credentials = pulumi.Output.secret(pull.docker_credentials)
        self.push_credentials = pulumi.Output.secret(push.docker_credentials)
        self.register_outputs({"server": self.server})
