"""Values a provider or runtime would reject, refused before any resource is registered.

Each rule reads what the provider offers from the dated catalogue (components/catalogue.py) or a
runtime fact cited beside it: a region without the service, a machine image without an agent the
config relies on. A non-root app on a port below 1024 is not refused: on Kubernetes its pod sets
the `net.ipv4.ip_unprivileged_port_start` sysctl (components/app/kubernetes_specs.py), Docker sets
it for every container on a private network (moby daemon/oci_linux.go, WithSysctls).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from components import catalogue
from components.config.errors import Loc, Problems
from components.config.kubernetes import DoksConfig, KubernetesConfig
from components.config.machines import AwsMachinesConfig
from components.config.mongo import DigitalOceanMongoConfig
from components.config.registry import DigitalOceanRegistryConfig
from components.config.storage import SpacesConfig

if TYPE_CHECKING:
    from components.config.platform import PlatformConfig


def availability_problems(cfg: PlatformConfig, kubernetes: KubernetesConfig | None, problems: Problems) -> None:
    """`kubernetes`: the cluster section with target 'kubernetes', None with target 'docker'."""
    _region_problems(cfg, kubernetes, problems)
    _agent_problems(cfg, problems)


def _region_problems(cfg: PlatformConfig, kubernetes: KubernetesConfig | None, problems: Problems) -> None:
    """Each DigitalOcean service the stack creates exists in the region it is created in."""
    region = cfg.digitalocean.region
    wanted: list[tuple[str, Loc, str, str]] = []
    if isinstance(kubernetes, DoksConfig):
        wanted.append(("Kubernetes (DOKS)", ["digitalocean", "region"], region, "kubernetes.provider 'doks'"))
    if isinstance(cfg.mongo, DigitalOceanMongoConfig):
        wanted.append(("Managed MongoDB", ["digitalocean", "region"], region, "mongo.provider 'digitalocean'"))
    if isinstance(cfg.storage, SpacesConfig):
        wanted.append(("Spaces", ["digitalocean", "region"], region, "storage.provider 'spaces'"))
    registry = cfg.registry
    if isinstance(registry, DigitalOceanRegistryConfig) and not registry.existing:
        # An existing registry is read by name; its region was chosen when it was created.
        key: Loc = ["registry", "region"] if registry.region else ["digitalocean", "region"]
        wanted.append(("Container Registry (DOCR)", key, registry.region or region, "registry.provider 'digitalocean'"))
    for service, loc, value, because in wanted:
        offered = catalogue.DO_SERVICE_REGIONS[service]
        if value not in offered:
            problems.bad(
                loc,
                value,
                f"expected a region where DigitalOcean offers {service} ({because}): one of {', '.join(sorted(offered))} "
                f"(components/catalogue.py, {catalogue.AS_OF})",
            )


def _agent_problems(cfg: PlatformConfig, problems: Problems) -> None:
    """Session Manager reaches an EC2 host only through the SSM agent on its image."""
    machines = cfg.machines
    if (
        isinstance(machines, AwsMachinesConfig)
        and machines.access == "ssm"
        and "amazon-ssm-agent" not in catalogue.AMI_AGENTS[machines.distro]
    ):
        with_agent = sorted(d for d, agents in catalogue.AMI_AGENTS.items() if "amazon-ssm-agent" in agents)
        problems.bad(
            ["machines", "distro"],
            machines.distro,
            f"expected a distribution whose AMI ships the SSM agent with machines.access 'ssm' ({', '.join(with_agent)}): "
            "without it the host never registers with Session Manager and cannot be reached (no inbound SSH either)",
        )
