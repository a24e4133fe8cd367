"""A new team brings the shipped DigitalOcean stacks up in the order the README documents.

Production creates the team's registry and promotes from staging; staging pushes to that
registry. Each step plans the shipped stack file in a project without earlier plans (a new team),
and the offline plan's StackReference reads what the previous step wrote to plans/<stack>.json.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline_plan.__main__ import main
from tests.harness import ROOT, run_config

BAD_INPUT = 2
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
ECR_REPOSITORY = "aws:ecr/repository:Repository"
DEPLOYMENT = "kubernetes:apps/v1:Deployment"
CREDENTIALS = "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"


def new_team(tmp_path: Path, stacks: tuple[str, ...] = ("staging", "production")) -> Path:
    """The project as a new team checks it out: stack files and sources, no plans of earlier runs."""
    for directory in ("examples", "dockerfiles"):
        shutil.copytree(ROOT / directory, tmp_path / directory)
    (tmp_path / "plans").mkdir()
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    for stack in stacks:
        shutil.copy(ROOT / f"Pulumi.{stack}.yaml", tmp_path / f"Pulumi.{stack}.yaml")
    return tmp_path


def set_source_ready(root: Path, ready: bool) -> None:
    """`pulumi config set --path promotion.sourceReady false -s production` (and its removal)."""
    path = root / "Pulumi.production.yaml"
    document = yaml.safe_load(path.read_text())
    promotion = document["config"]["meteor-platform:promotion"]
    if ready:
        promotion.pop("sourceReady", None)
    else:
        promotion["sourceReady"] = False
    path.write_text(yaml.safe_dump(document, sort_keys=False))


def up(root: Path, stack: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """What `pulumi up -s <stack>` would create; the plan is kept where the next StackReference reads it."""
    target = root / "plans" / f"{stack}.json"
    status = main([stack, "--root", str(root), "--json", str(target), "--quiet"])
    assert status == 0, capsys.readouterr().err
    return json.loads(target.read_text())


def resources(plan: dict[str, Any], type_: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == type_]


def readme_section(title: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"^### {re.escape(title)}\n(.*?)(?=^##)", text, re.MULTILINE | re.DOTALL)
    assert match, f"README has no section {title!r}"
    return match.group(1)


def test_the_documented_order_brings_a_new_team_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = new_team(tmp_path)

    # 1. production, once, with its promoted apps deferred: creates the team's registry.
    set_source_ready(root, False)
    first = up(root, "production", capsys)
    registry = resources(first, REGISTRY)
    assert [r["inputs"]["name"] for r in registry] == ["meteor-production"] and registry[0]["protect"] is True
    assert not resources(first, DEPLOYMENT) and not resources(first, "command:local:Command")
    assert first["outputs"]["images"] == {}

    # 2. staging: pushes its build to that registry (read by name, not created) and exports the digest.
    staging = up(root, "staging", capsys)
    assert not resources(staging, REGISTRY)
    built = staging["outputs"]["images"]["todos"]
    assert re.fullmatch(r"registry\.digitalocean\.com/meteor-production/todos(:[\w.-]+)?@sha256:[0-9a-f]{64}", built)

    # 3. production again, sourceReady removed: promotes exactly that digest.
    set_source_ready(root, True)
    second = up(root, "production", capsys)
    assert [r["inputs"]["name"] for r in resources(second, REGISTRY)] == ["meteor-production"]
    deployment = next(r for r in resources(second, DEPLOYMENT) if r["name"] == "todos-deployment")
    containers = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    promoted = "registry.digitalocean.com/meteor-production/todos@" + built.split("@")[1]
    assert containers[0]["image"] == promoted
    assert second["outputs"]["images"] == {"todos": promoted}


def test_production_before_staging_fails_with_the_message_the_readme_shows(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = new_team(tmp_path)
    assert main(["production", "--root", str(root), "--quiet"]) == BAD_INPUT
    err = capsys.readouterr().err
    assert "Traceback" not in err
    message = err.strip().splitlines()[0].removeprefix("error: ")
    assert message.startswith("meteor-platform:promotion.fromStack: stack 'acme/meteor-platform/staging' exports no `images` output")
    assert message in " ".join(readme_section("Bootstrapping a new team").split())


def test_the_readme_names_the_resources_staging_before_production_fails_at(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Staging first: nothing refuses the registry name offline; the README says which resources the provider fails."""
    staging = up(new_team(tmp_path), "staging", capsys)
    section = " ".join(readme_section("Bootstrapping a new team").split())
    bullet = section[section.index("staging before production") :]
    named = re.search(r"Create of (urn:pulumi:staging::meteor-platform::\S+?)``", bullet)
    assert named, "the README quotes the bridge's message with the credentials' URN"
    prefix, _, suffix = named.group(1).partition("…")
    urns = [r["urn"] for r in resources(staging, CREDENTIALS)]
    assert any(urn.startswith(prefix) and urn.endswith(suffix) for urn in urns), (named.group(1), urns)
    assert all(r["inputs"]["registryName"] == "meteor-production" for r in resources(staging, CREDENTIALS))


def test_deferring_the_apps_needs_a_source_stack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = new_team(tmp_path)
    path = root / "Pulumi.staging.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["meteor-platform:promotion"] = {"sourceReady": False}
    path.write_text(yaml.safe_dump(document))
    assert main(["staging", "--root", str(root), "--quiet"]) == BAD_INPUT
    assert "meteor-platform:promotion.sourceReady: got false; expected it only with promotion.fromStack" in capsys.readouterr().err


def test_the_readme_describes_the_shipped_stacks_sharing_one_registry() -> None:
    staging = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())["config"]["meteor-platform:registry"]
    production = yaml.safe_load((ROOT / "Pulumi.production.yaml").read_text())["config"]["meteor-platform:registry"]
    assert staging == {"provider": "digitalocean", "name": "meteor-production", "existing": True}
    assert production["provider"] == "digitalocean" and "existing" not in production
    text = " ".join((ROOT / "README.md").read_text().split())
    assert "separate teams" not in text
    assert "one team" in " ".join(readme_section("Bootstrapping a new team").split())


def test_an_existing_registry_is_named_not_looked_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The pinned provider's container-registry data source reads no registry (upstream #1535): the name is the registry."""
    root = new_team(tmp_path)
    path = root / "Pulumi.staging.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["meteor-platform:registry"]["name"] = "acme-images"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    staging = up(root, "staging", capsys)
    assert staging["outputs"]["registry_server"] == "registry.digitalocean.com/acme-images"
    credentials = resources(staging, CREDENTIALS)
    assert len(credentials) == 2 and {c["inputs"]["registryName"] for c in credentials} == {"acme-images"}
    assert staging["outputs"]["images"]["todos"].startswith("registry.digitalocean.com/acme-images/todos")


def test_docker_hosts_defer_the_promoted_apps_too(tmp_path: Path) -> None:
    config = {
        "environment": "dev",
        "target": "docker",
        "ingress": {"tls": "off"},
        "promotion": {"fromStack": "acme/meteor-platform/staging", "sourceReady": False},
        "apps": [{"name": "todos", "domain": "todos.localhost"}, {"name": "api", "image": "ghcr.io/acme/api:dev"}],
    }
    run = run_config(tmp_path, config, stack="dev")
    apps = {r["name"] for r in run.resources("meteor-platform:app:DockerApp")}
    assert apps == {"api"}, "the promoted app waits; the pinned one runs"
    assert run.plan["outputs"]["images"] == {"api": "ghcr.io/acme/api:dev"}


# -- aws-hosts: its image lives in a repository the same stack creates -------------------------------


def test_aws_hosts_comes_up_from_nothing_after_aws_staging(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A pinned image in `aws-hosts/<app>` could not be pulled on the first `up` (nothing pushed it):
    the stack promotes aws-staging's digest, copied into the repository this same `up` creates."""
    root = new_team(tmp_path, ("aws-staging", "aws-hosts"))
    assert not yaml.safe_load((root / "Pulumi.aws-hosts.yaml").read_text())["config"]["meteor-platform:apps"][0].get("image")

    # Out of order: aws-hosts first fails with the message the README shows.
    assert main(["aws-hosts", "--root", str(root), "--quiet"]) == BAD_INPUT
    message = capsys.readouterr().err.strip().splitlines()[0].removeprefix("error: ")
    assert message.startswith("meteor-platform:promotion.fromStack: stack 'acme/meteor-platform/aws-staging' exports no `images` output")
    assert message in " ".join(readme_section("Bringing up `aws-hosts` from nothing").split())

    # 1. aws-staging builds into its own repository and exports the digest.
    built = up(root, "aws-staging", capsys)["outputs"]["images"]["todos"]
    assert "/aws-staging/todos" in built

    # 2. aws-hosts creates its repository, copies that digest into it, and only then pulls it.
    hosts = up(root, "aws-hosts", capsys)
    [repository] = resources(hosts, ECR_REPOSITORY)
    assert repository["inputs"]["name"] == "aws-hosts/todos"
    [copy] = [r for r in resources(hosts, "command:local:Command") if r["name"].endswith("-promoted-todos")]
    assert copy["inputs"]["environment"]["SOURCE_REF"] == built
    target = copy["inputs"]["environment"]["TARGET_REPOSITORY"]
    assert target.endswith(".amazonaws.com/aws-hosts/todos")
    assert repository["urn"] in copy["dependencies"], "the copy waits for the repository it copies into"
    [pull] = [r for r in resources(hosts, "docker:index/remoteImage:RemoteImage") if r["name"].startswith("todos-")]
    assert pull["inputs"]["name"] == f"{target}@{built.split('@')[1]}", "the host runs the copy, by the digest staging built"
    assert copy["urn"] in pull["dependencies"], "the host pulls only once the copy is in its repository"
    assert hosts["outputs"]["images"] == {"todos": pull["inputs"]["name"]}


def test_aws_hosts_can_defer_its_app_until_aws_staging_is_up(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = new_team(tmp_path, ("aws-staging", "aws-hosts"))
    path = root / "Pulumi.aws-hosts.yaml"
    document = yaml.safe_load(path.read_text())
    document["config"]["meteor-platform:promotion"]["sourceReady"] = False
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    first = up(root, "aws-hosts", capsys)
    assert [r["inputs"]["name"] for r in resources(first, ECR_REPOSITORY)] == ["aws-hosts/todos"]
    assert resources(first, "aws:ec2/instance:Instance") and first["outputs"]["images"] == {}
    assert not [r for r in resources(first, "docker:index/container:Container") if r["name"].startswith("todos-")]
    assert "promotion.sourceReady" in readme_section("Bringing up `aws-hosts` from nothing")
