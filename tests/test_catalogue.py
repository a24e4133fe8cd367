"""Values a provider or runtime would reject are refused against the dated catalogue, naming the key."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components import catalogue
from components.config import ConfigError, parse_config
from components.config.names import MANAGED_MONGO_NAME_MAX, managed_mongo_name
from offline_plan.__main__ import main
from offline_plan.report import kubernetes_objects
from tests.harness import DOCKER, IMAGE, KEY, KUBERNETES, ROOT, run_config

DIGITALOCEAN: dict[str, Any] = {
    "environment": "staging",
    "digitalocean": {"region": "fra1"},
    "kubernetes": {"provider": "doks", "adminCidrs": ["198.51.100.0/24"]},
    "ingress": {"acmeEmail": "ops@example.com"},
    "mongo": {"provider": "digitalocean"},
    "storage": {"provider": "spaces"},
    "registry": {"provider": "digitalocean"},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}
EC2_HOST: dict[str, Any] = {
    "environment": "staging",
    "target": "docker",
    "aws": {"region": "eu-central-1", "vpc": {"availabilityZones": ["eu-central-1a", "eu-central-1b"]}},
    "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
    "machines": {"provider": "aws", "distro": "ubuntu", "access": "ssm", "adminCidrs": ["198.51.100.0/24"], "sshPublicKey": KEY},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}
DROPLET_MACHINES = {"provider": "digitalocean", "purpose": "bastion", "adminCidrs": ["198.51.100.0/24"], "sshPublicKey": KEY}


def merged(base: dict[str, Any], **sections: Any) -> dict[str, Any]:
    config = copy.deepcopy(base)
    for key, value in sections.items():
        config[key] = {**config[key], **value} if isinstance(value, dict) and isinstance(config.get(key), dict) else value
    return config


def problems(config: dict[str, Any]) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    return [line.strip() for line in str(caught.value).splitlines()[1:]]


def only_line(config: dict[str, Any], key: str) -> str:
    lines = problems(config)
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"meteor-platform:{key}: got "), lines
    return lines[0]


# -- the catalogue itself ----------------------------------------------------------------------


def test_every_offered_minor_is_in_upstream_support_on_the_catalogue_date() -> None:
    for minor in catalogue.DOKS_MINORS:
        assert catalogue.KUBERNETES_MINORS[minor].end_of_life > catalogue.AS_OF, minor
    past = [m for m, v in catalogue.KUBERNETES_MINORS.items() if v.end_of_life <= catalogue.AS_OF]
    assert past and not set(past) & set(catalogue.DOKS_MINORS)
    assert catalogue.doks_minor(catalogue.DOKS_DEFAULT_VERSION_PREFIX) in catalogue.DOKS_MINORS


def test_a_new_eks_stack_is_told_a_version_in_standard_support() -> None:
    """Extended support costs extra per cluster hour: the version suggested to a new stack is outside it."""
    assert catalogue.EKS_CALENDAR[catalogue.EKS_DEFAULT_VERSION].standard_support_ends > catalogue.AS_OF


def test_an_eks_stack_states_its_version() -> None:
    # eks.Cluster.version is applied in place and EKS upgrades one minor at a time: a default that
    # moves with the catalogue would upgrade every deployed cluster relying on it, so there is none.
    aws: dict[str, Any] = {
        "environment": "staging",
        "aws": {"region": "eu-central-1", "vpc": {"availabilityZones": ["eu-central-1a", "eu-central-1b"]}},
        "kubernetes": {"provider": "eks", "adminCidrs": ["198.51.100.0/24"]},
        "ingress": {"acmeEmail": "ops@example.com"},
        "mongo": {"provider": "inCluster", "storageProvisioner": "ebs.csi.aws.com"},
        "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
    }
    [line] = problems(aws)
    assert line.startswith("meteor-platform:kubernetes.version: ") and catalogue.EKS_DEFAULT_VERSION in line, line


def test_every_service_region_is_a_droplet_region() -> None:
    for service, regions in catalogue.DO_SERVICE_REGIONS.items():
        assert regions <= catalogue.DO_REGIONS, service


@pytest.mark.parametrize("stack", ["staging", "production"])
def test_shipped_doks_stacks_choose_an_offered_minor(stack: str) -> None:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    prefix = document["config"]["meteor-platform:kubernetes"]["versionPrefix"]
    assert catalogue.doks_minor(prefix) in catalogue.DOKS_MINORS


def test_the_base_stacks_of_this_file_are_valid() -> None:
    for base in (DIGITALOCEAN, KUBERNETES, DOCKER, EC2_HOST, merged(DIGITALOCEAN, machines=DROPLET_MACHINES)):
        parse_config(base)


# -- versions ------------------------------------------------------------------------------------


def test_a_minor_past_end_of_life_is_refused_with_the_date_and_the_offered_ones() -> None:
    line = only_line(merged(DIGITALOCEAN, kubernetes={"versionPrefix": "1.33."}), "kubernetes.versionPrefix")
    assert "Kubernetes 1.33 reached upstream end of life on 2026-06-28" in line
    assert "expected a minor DigitalOcean offers: 1.35., 1.36., 1.37." in line


@pytest.mark.parametrize(("prefix", "expected"), [("1.99.", "not a minor DigitalOcean offers"), ("1.36", "with the trailing dot")])
def test_an_unknown_or_malformed_prefix_is_refused(prefix: str, expected: str) -> None:
    assert expected in only_line(merged(DIGITALOCEAN, kubernetes={"versionPrefix": prefix}), "kubernetes.versionPrefix")


# -- regions -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sections", "key", "service"),
    [
        ({"digitalocean": {"region": "ric1"}}, "digitalocean.region", "Kubernetes (DOKS)"),
        ({"digitalocean": {"region": "atl1"}}, "digitalocean.region", "Managed MongoDB"),
        ({"digitalocean": {"region": "lon1"}}, "digitalocean.region", "Spaces"),
        ({"registry": {"region": "blr1"}}, "registry.region", "Container Registry (DOCR)"),
    ],
)
def test_a_region_without_the_service_is_refused(sections: dict[str, Any], key: str, service: str) -> None:
    lines = [line for line in problems(merged(DIGITALOCEAN, **sections)) if service in line]
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"meteor-platform:{key}: got ")
    assert f"expected a region where DigitalOcean offers {service}" in lines[0]
    assert str(catalogue.AS_OF) in lines[0]


@pytest.mark.parametrize("region", ["ams2", "sfo1"])
def test_a_region_that_takes_no_new_resources_is_refused(region: str) -> None:
    line = only_line(merged(DIGITALOCEAN, digitalocean={"region": region}), "digitalocean.region")
    assert "expected a DigitalOcean region slug" in line
    assert region not in line.split("one of", 1)[1]


def test_a_closed_region_earlier_versions_accepted_stays_manageable() -> None:
    # nyc2 takes no new resources, but config accepted it before the catalogue existed: a stack
    # deployed there must still preview, update and drift-check.
    lines = problems(merged(DIGITALOCEAN, digitalocean={"region": "nyc2"}))
    assert not [line for line in lines if "expected a DigitalOcean region slug" in line], lines


def test_an_existing_registry_is_not_checked_against_the_region() -> None:
    parse_config(merged(DIGITALOCEAN, registry={"existing": True, "name": "meteor-production", "region": "blr1"}))


def test_a_region_only_matters_for_the_services_the_stack_uses() -> None:
    # lon1 has DOKS and managed MongoDB but neither Spaces nor DOCR.
    parse_config(merged(DIGITALOCEAN, digitalocean={"region": "lon1"}, storage={"provider": "gridfs"}, registry={"provider": "none"}))


# -- images, sizes and agents --------------------------------------------------------------------


def test_a_retired_droplet_image_is_refused() -> None:
    config = merged(DIGITALOCEAN, machines={**DROPLET_MACHINES, "image": "ubuntu-20-04-x64"})
    line = only_line(config, "machines.image")
    assert "expected an Ubuntu LTS image DigitalOcean offers: ubuntu-24-04-x64 (supported until 2029-04)" in line


@pytest.mark.parametrize("image", ["ubuntu-22-04-x64", "ubuntu-24-04-x64", "ubuntu-26-04-x64"])
def test_every_ubuntu_lts_in_standard_support_is_accepted(image: str) -> None:
    parse_config(merged(DIGITALOCEAN, machines={**DROPLET_MACHINES, "image": image}))


def test_a_droplet_size_of_no_family_is_refused() -> None:
    line = only_line(merged(DIGITALOCEAN, kubernetes={"nodeSize": "t3-2vcpu-4gb"}), "kubernetes.nodeSize")
    assert "expected a size of a family DigitalOcean offers" in line


def test_session_manager_on_an_image_without_the_ssm_agent_is_refused() -> None:
    line = only_line(merged(EC2_HOST, machines={"distro": "debian"}), "machines.distro")
    assert "expected a distribution whose AMI ships the SSM agent with machines.access 'ssm' (ubuntu)" in line
    parse_config(merged(EC2_HOST, machines={"distro": "debian", "access": "ssh"}))


# -- ports ---------------------------------------------------------------------------------------


SYSCTL = {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}


def deployment_of(tmp_path: Path, config: dict[str, Any]) -> dict[str, Any]:
    plan = run_config(tmp_path, config).plan
    return next(o for o in kubernetes_objects(plan) if o["kind"] == "Deployment" and o["metadata"]["name"].startswith("todos"))


@pytest.mark.parametrize(
    ("app", "port", "sysctls"),
    [
        ({"flavor": "zodern", "port": 443}, 443, [SYSCTL]),
        ({"flavor": "custom", "runAsUser": 1000, "port": 80}, 80, [SYSCTL]),
        ({"flavor": "zodern"}, 3000, None),
        ({"flavor": "meteord"}, 80, None),
    ],
)
def test_a_non_root_app_below_1024_gets_the_unprivileged_port_sysctl(
    tmp_path: Path, app: dict[str, Any], port: int, sysctls: list[dict[str, str]] | None
) -> None:
    """The pod lowers the first unprivileged port in its own network namespace (a safe sysctl), whatever the runtime."""
    config = copy.deepcopy(KUBERNETES)
    config["apps"][0].update(app)
    deployment = deployment_of(tmp_path, config)
    pod = deployment["spec"]["template"]["spec"]
    assert pod["containers"][0]["ports"][0]["containerPort"] == port
    assert pod["securityContext"].get("sysctls") == sysctls
    capabilities = pod["containers"][0]["securityContext"]["capabilities"]
    assert capabilities["drop"] == ["ALL"] and ("add" not in capabilities or app["flavor"] == "meteord")
    for minor in (catalogue.DOKS_MINORS[0], catalogue.DOKS_MINORS[-1]):
        kubernetes_validate.validate(deployment, f"{minor}.0", strict=True)


def test_docker_lets_non_root_bind_a_low_port() -> None:
    docker = copy.deepcopy(DOCKER)
    docker["apps"][0].update(flavor="zodern", port=80)
    parse_config(docker)


def test_the_plan_command_prints_the_catalogue_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = merged(DIGITALOCEAN, kubernetes={"versionPrefix": "1.33."})
    document = {"config": {f"meteor-platform:{k}": v for k, v in config.items()}}
    (tmp_path / "Pulumi.case.yaml").write_text(yaml.safe_dump(document))
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    assert main(["case", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "meteor-platform:kubernetes.versionPrefix: got '1.33.'" in err and "Traceback" not in err


# -- names ---------------------------------------------------------------------------------------


def test_a_managed_mongo_name_too_long_for_its_host_is_refused() -> None:
    longest_fitting = "s" * (MANAGED_MONGO_NAME_MAX - len("meteor--mongo"))
    parse_config(DIGITALOCEAN, stack=longest_fitting)
    with pytest.raises(ConfigError) as caught:
        parse_config(DIGITALOCEAN, stack=longest_fitting + "s")
    assert f"the managed MongoDB would be named 'meteor-{longest_fitting}s-mongo' (47 characters)" in str(caught.value)
    assert "cluster name is at most 46" in str(caught.value)


def test_an_isolated_app_whose_database_name_is_too_long_is_refused() -> None:
    app = "a" + "p" * 30 + "z"
    config = merged(DIGITALOCEAN, mongo={"isolatedApps": [app]}, apps=[{"name": app, "image": IMAGE, "domain": "todos.example.com"}])
    with pytest.raises(ConfigError) as caught:
        parse_config(config, stack="staging")
    lines = [line.strip() for line in str(caught.value).splitlines()[1:]]
    assert len(lines) == 1 and lines[0].startswith(f"meteor-platform:mongo.isolatedApps[0]: got '{app}'; expected an app whose")


def test_the_checked_name_is_the_name_the_platform_gives_the_database() -> None:
    plan = json.loads((ROOT / "plans" / "staging.json").read_text())
    names = [r["inputs"]["name"] for r in plan["resources"] if r["type"] == "digitalocean:index/databaseCluster:DatabaseCluster"]
    assert names == [managed_mongo_name("staging")]


def test_an_eks_version_past_extended_support_is_refused_with_its_date() -> None:
    aws: dict[str, Any] = {
        "environment": "staging",
        "aws": {"region": "eu-central-1", "vpc": {"availabilityZones": ["eu-central-1a", "eu-central-1b"]}},
        "kubernetes": {"provider": "eks", "adminCidrs": ["198.51.100.0/24"], "version": "1.31"},
        "ingress": {"acmeEmail": "ops@example.com"},
        "mongo": {"provider": "inCluster", "storageProvisioner": "ebs.csi.aws.com"},
        "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
    }
    line = only_line(aws, "kubernetes.version")
    assert "expected a Kubernetes version EKS offers: 1.32, 1.33, 1.34, 1.35; EKS extended support for 1.31 ended on 2026-11-26" in line
    parse_config(merged(aws, kubernetes={"version": "1.35"}))
