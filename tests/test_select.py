"""Each capability selects its implementation from its own config section (components/*/select.py):
config in, which implementation and which args out. The implementations are replaced by recorders,
so these run without the Pulumi runtime; the plans (tests/test_plan.py) cover them end to end."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import pulumi
import pytest
import yaml

from components.config import DockerPlatformConfig, KubernetesPlatformConfig, PlatformConfig, parse_config
from components.network.select import StackNetworks
from components.scope import Scope
from tests.harness import DIGEST, ROOT, base_config


class Built:
    """What a recorded constructor returns: every attribute another step reads is a stand-in."""

    def __init__(self, kind: str, resource_name: str = "", args: Any = None) -> None:
        self.kind, self.resource_name, self.args = kind, resource_name, args

    def __getattr__(self, attribute: str) -> Any:
        value = Built(f"{self.kind}.{attribute}")
        setattr(self, attribute, value)  # the same stand-in on every read
        return value

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return Built(f"{self.kind}()")

    def __repr__(self) -> str:
        return f"Built({self.kind!r})"


Record = list[Built]


class Recorder(Protocol):
    def __call__(self, module: str, cls: str, **attributes: Any) -> Record: ...


@pytest.fixture
def record(monkeypatch: pytest.MonkeyPatch) -> Recorder:
    """`record(module, Class, **attributes)`: the instances the select modules build of it, instead of
    building it; `attributes` are what the instances answer (else stand-ins)."""

    def recorder(module: str, cls: str, **attributes: Any) -> Record:
        built: Record = []

        def construct(*args: Any, **kwargs: Any) -> Built:
            name, rest = (args[0], args[1:]) if args and isinstance(args[0], str) else ("", args)
            made = Built(cls, name, rest[0] if rest else kwargs.get("args"))
            for attribute, value in attributes.items():
                setattr(made, attribute, value)
            built.append(made)
            return made

        monkeypatch.setattr(importlib.import_module(module), cls, construct)
        return built

    return recorder


def raw(stack: str) -> dict[str, Any]:
    """A shipped stack's config values (without the namespace)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}


def shipped(stack: str, **changes: Any) -> PlatformConfig:
    return parse_config(raw(stack) | changes, set(), project_dir=ROOT)


SCOPE = Scope(name="meteor", stack="test", parent=pulumi.ComponentResource.__new__(pulumi.ComponentResource), project_dir=ROOT)


def test_the_scope_names_and_parents_every_component() -> None:
    assert SCOPE.prefix == "meteor-test"
    assert SCOPE.child().parent is SCOPE.parent


# -- network ------------------------------------------------------------------------------------------


def test_a_digitalocean_stack_gets_its_vpc_and_no_aws_one(record: Recorder) -> None:
    from components.network.select import networks

    do, aws = record("components.network.digitalocean", "DigitalOceanNetwork"), record("components.network.aws", "AwsNetwork")
    built = networks(shipped("staging"), SCOPE)
    [vpc] = do
    assert not aws and built.digitalocean is vpc and built.aws is None and built.network is vpc
    assert (vpc.resource_name, vpc.args.name, vpc.args.region) == ("meteor-network", "meteor-test-vpc", "fra1")


@pytest.mark.parametrize("stack", ["aws-staging", "aws-hosts"])
def test_eks_and_ec2_hosts_get_one_aws_vpc_and_it_is_the_stacks_network(stack: str, record: Recorder) -> None:
    from components.network.select import needs_aws_vpc, networks

    do, aws = record("components.network.digitalocean", "DigitalOceanNetwork"), record("components.network.aws", "AwsNetwork")
    config = shipped(stack)
    built = networks(config, SCOPE)
    [vpc] = aws
    assert needs_aws_vpc(config) and not do and built.aws is vpc and built.network is vpc
    assert (vpc.resource_name, vpc.args.name, vpc.args.region) == ("meteor-aws-network", "meteor-test", config.aws.region)


def test_a_stack_whose_uptime_checks_alone_run_on_aws_has_no_aws_vpc() -> None:
    from components.network.select import needs_aws_vpc

    config = parse_config(base_config(alerts={"emails": ["ops@example.com"], "uptimeChecks": "aws"}))
    assert config.uses_aws and not needs_aws_vpc(config)


# -- machines ------------------------------------------------------------------------------------------


def test_ec2_hosts_join_the_aws_vpc_and_tell_storage_their_role(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.aws", "AwsMachines")
    vpc = Built("vpc")
    config = shipped("aws-hosts")
    chosen = machines(config, SCOPE, StackNetworks(aws=vpc), wait_for_docker=True, cloudwatch_namespace="ns")  # pyright: ignore[reportArgumentType]
    [hosts] = made
    assert chosen is not None and chosen.machines is hosts
    args = hosts.args
    assert (args.name, args.subnet_ids, args.vpc_id, args.cloudwatch_namespace) == ("meteor-test", vpc.public_subnet_ids, vpc.network_id, "ns")
    assert args.data_volume_gib is not None and args.serve_traffic and args.wait_for_docker
    assert chosen.instance_role_name is hosts.role.name
    assert chosen.data_volume_name is not None


def test_machines_that_are_not_docker_hosts_keep_no_data_volume(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.digitalocean", "DigitalOceanMachines")
    machines(shipped("droplets"), SCOPE, StackNetworks(digitalocean=Built("vpc")), wait_for_docker=False, cloudwatch_namespace=None)  # pyright: ignore[reportArgumentType]
    [droplets] = made
    assert droplets.args.data_volume_gib is None and droplets.args.load_balancer is None and not droplets.args.wait_for_docker


def test_several_droplets_get_a_load_balancer_with_the_app_domains(record: Recorder) -> None:
    from components.machines.select import machines

    made = record("components.machines.digitalocean", "DigitalOceanMachines")
    config = shipped("droplets", machines=raw("droplets")["machines"] | {"count": 2, "reservedIp": False}, mongo={"provider": "digitalocean", "nodes": 3})
    chosen = machines(config, SCOPE, StackNetworks(digitalocean=Built("vpc")), wait_for_docker=True, cloudwatch_namespace=None)  # pyright: ignore[reportArgumentType]
    [droplets] = made
    assert chosen is not None and chosen.instance_role_name is None and chosen.data_volume_name is None
    assert droplets.args.name == "meteor-test-docker" and droplets.args.count == 2
    assert droplets.args.load_balancer.domains == [a.domain for a in config.apps if a.domain]


def test_a_stack_without_machines_gets_none() -> None:
    from components.machines.select import machines

    assert machines(shipped("dev"), SCOPE, StackNetworks(), wait_for_docker=True, cloudwatch_namespace=None) is None


# -- registry and images ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "module", "cls"),
    [("aws-staging", "components.registry.aws", "EcrRegistry"), ("staging", "components.registry.digitalocean", "DigitalOceanRegistry")],
)
def test_the_registry_section_picks_the_registry(stack: str, module: str, cls: str, record: Recorder) -> None:
    from components.registry.select import registry

    made = record(module, cls)
    assert registry(shipped(stack), SCOPE) is made[0] and made[0].resource_name == "meteor-registry"


def test_without_a_registry_section_there_is_none() -> None:
    from components.registry.select import registry

    assert registry(shipped("byoc"), SCOPE) is None


def test_a_pinned_image_is_run_as_given_and_a_build_builds_in_the_registry(record: Recorder) -> None:
    from components.images.select import images

    made = record("components.images.build", "MeteorImage")
    pinned = f"ghcr.io/acme/shop@{DIGEST}"
    config = parse_config(
        base_config(
            registry={"provider": "digitalocean"},
            apps=[{"name": "shop", "image": pinned}, {"name": "todos", "build": {"context": "examples/todos", "dockerfile": "meteor"}, "flavor": "meteor"}],
        ),
        project_dir=ROOT,
    )
    registry = Built("registry")
    chosen = images(config, SCOPE, registry)  # pyright: ignore[reportArgumentType]
    [build] = made
    assert list(chosen) == ["shop", "todos"]
    assert repr(chosen["todos"]) == "Built('MeteorImage.result')"
    assert (build.resource_name, build.args.app, build.args.registry, build.args.context) == ("todos-build", "todos", registry, Path("examples/todos"))


def test_a_promoted_app_has_no_image_until_its_source_is_ready(record: Recorder) -> None:
    from components.images.select import images

    made = record("components.images.promote", "PromotedImages", images={"todos": "promoted"})
    source = {"fromStack": "acme/meteor-platform/staging", "sourceReady": False}
    waiting = parse_config(base_config(registry={"provider": "digitalocean"}, promotion=source, apps=[{"name": "todos"}]))
    assert images(waiting, SCOPE, Built("registry")) == {} and not made  # pyright: ignore[reportArgumentType]
    ready = parse_config(base_config(registry={"provider": "digitalocean"}, promotion=source | {"sourceReady": True}, apps=[{"name": "todos"}]))
    assert images(ready, SCOPE, Built("registry")) == {"todos": "promoted"}  # pyright: ignore[reportArgumentType]
    [promoted] = made
    assert (promoted.resource_name, promoted.args.apps, promoted.args.source) == ("meteor-promoted", ["todos"], "acme/meteor-platform/staging")
