"""Where config rules live: a section's own rules on its model, the rules across sections in rules.py.

The messages themselves are pinned by tests/test_config.py and tests/test_bad_stacks.py; these
tests call the rules directly and check that a model's own problem lands under the key where the
model sits, in the same pass as the plain-text secret check and the rules across sections.
"""

from __future__ import annotations

import copy
from typing import Any

from components.config import ConfigError, parse_config
from components.config.apps import ResourcesConfig
from components.config.errors import Problems
from components.config.loading import own_rule_problems
from components.config.mongo import InClusterMongoConfig, ScheduledBackupConfig
from components.config.rules import backups_have_a_place_to_go
from components.config.storage import GridFsConfig, S3Config, SpacesConfig
from tests.harness import BASE_CONFIG, DIGEST


def lines(raw: dict[str, Any], secret_keys: set[str] | None = None) -> list[str]:
    try:
        parse_config(raw, secret_keys or set())
    except ConfigError as caught:
        return caught.problems
    return []


def test_a_model_finds_its_own_problems_relative_to_itself() -> None:
    found = Problems()
    ResourcesConfig(cpu_request="2", cpu_limit="1").own_problems(found)
    assert [(p.loc, p.text) for p in found.found] == [(["cpuRequest"], "got '2'; expected no more than cpuLimit (1)")]


def test_own_problems_are_placed_where_the_model_sits() -> None:
    raw = copy.deepcopy(BASE_CONFIG)
    raw["apps"].append({"name": "api", "image": f"ghcr.io/acme/api@{DIGEST}", "resources": {"memoryRequest": "2Gi"}})
    assert "meteor-platform:apps[1].resources.memoryRequest: got '2Gi'; expected no more than memoryLimit (1Gi)" in lines(raw)


def test_the_walk_reaches_every_section() -> None:
    found = Problems()
    own_rule_problems(
        parse_config({**BASE_CONFIG, "mongo": {"storageProvisioner": "dobs.csi.digitalocean.com"}}).model_copy(
            update={"mongo": InClusterMongoConfig()}
        ),
        [],
        found,
    )
    assert found.lines == [
        "meteor-platform:mongo.storageProvisioner: missing; expected the cluster's CSI provisioner "
        "(or mongo.storageClass naming a class that reclaims with Retain)"
    ]


def test_own_problems_come_with_the_secret_check_and_the_rules_across_sections() -> None:
    """Not a shape error: a section's own rule does not hide the other problems of the stack."""
    raw = copy.deepcopy(BASE_CONFIG)
    raw["apps"][0]["env"] = {"A": "x", "B": "y"}
    raw["apps"][0]["secretEnv"] = {"A": "plain"}
    raw["apps"].append({"name": BASE_CONFIG["apps"][0]["name"], "image": f"ghcr.io/acme/api@{DIGEST}"})
    said = lines(raw)
    assert any(line.startswith("meteor-platform:apps[0].secretEnv.A: got a plain-text value") for line in said), said
    assert any(line.startswith("meteor-platform:apps[0].env.A: got 'x'; expected it in env or secretEnv") for line in said), said
    assert any(line.startswith("meteor-platform:apps[1].name:") and "unique app name" in line for line in said), said


def test_backups_need_a_place_to_go_is_one_rule() -> None:
    """Dumps go to a bucket of their own (Spaces) or the stack's S3 bucket: one rule says both halves."""
    cfg = parse_config(BASE_CONFIG)
    dumps = ScheduledBackupConfig(enabled=True, bucket="meteor-dumps")
    mongo = InClusterMongoConfig(storage_provisioner="dobs.csi.digitalocean.com", backup=dumps)
    for storage, refused in (
        (GridFsConfig(), ["mongo", "backup", "enabled"]),
        (S3Config(provider="s3"), ["mongo", "backup", "bucket"]),
        (SpacesConfig(provider="spaces"), None),
    ):
        found = Problems()
        backups_have_a_place_to_go(cfg.model_copy(update={"mongo": mongo, "storage": storage}), found)
        assert [p.loc for p in found.found] == ([refused] if refused else []), storage


def test_managed_mongo_runs_one_node_or_three() -> None:
    raw = {**BASE_CONFIG, "environment": "staging", "kubernetes": {"provider": "doks", "adminCidrs": ["198.51.100.0/24"]}}
    said = lines({**raw, "mongo": {"provider": "digitalocean", "nodes": 2}})
    assert "meteor-platform:mongo.nodes: got 2; expected 1 or 3 (DigitalOcean MongoDB runs 1 node or a 3-node replica set)" in said
    assert not [line for line in lines({**raw, "mongo": {"provider": "digitalocean", "nodes": 3}}) if "mongo.nodes" in line]


def test_s3_and_ecr_need_the_aws_identity_of_the_target() -> None:
    docker = {"environment": "dev", "target": "docker", "apps": BASE_CONFIG["apps"], "storage": {"provider": "s3"}}
    expected = (
        "meteor-platform:storage.provider: got 's3'; expected machines.provider 'aws' with it "
        "(on Docker hosts it is wired to the EC2 hosts' instance role)"
    )
    assert expected in lines(docker)
    said = lines({**BASE_CONFIG, "registry": {"provider": "ecr"}})
    assert (
        "meteor-platform:registry.provider: got 'ecr'; expected kubernetes.provider 'eks' with it "
        "(apps and nodes reach it through their IAM roles)"
    ) in said, said


def _walked_models(annotation: object, seen: set[type]) -> None:
    """The models `own_rule_problems` reaches from a field's type: through models, unions and lists only."""
    import types
    import typing

    from pydantic import BaseModel

    origin = typing.get_origin(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        if annotation not in seen:
            seen.add(annotation)
            for field in annotation.model_fields.values():
                _walked_models(field.annotation, seen)
    elif origin in (typing.Union, types.UnionType, typing.Annotated, list):
        for argument in typing.get_args(annotation):
            _walked_models(argument, seen)


def test_every_section_with_rules_of_its_own_is_reached_by_the_walk() -> None:
    """A model whose `own_problems` sits where the walk does not go (a dict, a tuple) would lose its rules silently."""
    import components.config.platform as platform_models
    from components.config.values import Model

    def subclasses(cls: type) -> set[type]:
        return {cls, *(s for sub in cls.__subclasses__() for s in subclasses(sub))}

    with_rules = {cls for cls in subclasses(Model) - {Model} if "own_problems" in vars(cls)}
    reached: set[type] = set()
    for target in (platform_models.KubernetesPlatformConfig, platform_models.DockerPlatformConfig):
        _walked_models(target, reached)
    # A rule written on a base class (AppConfig) runs on each reached subclass that inherits it.
    lost = {cls for cls in with_rules if not subclasses(cls) & reached}
    assert len(with_rules) > 5, "the config has sections with rules of their own"
    assert not lost, sorted(cls.__name__ for cls in lost)
