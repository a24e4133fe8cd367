"""The offline preview sees the replacements the providers make: AWS and the DigitalOcean gaps.

Each stateful type gets a change of a replace-forcing input between a deployed plan and the
working tree, and the report must say "replace" (and, for the protected ones, exit status 4:
`pulumi up` refuses to replace protected data). The facts come from offline_plan/provider_facts.yaml
(terraform-provider-aws `ForceNew`, read from each resource's schema function).
"""

from __future__ import annotations

import copy
import inspect
import json
import keyword
import re
import shutil
from importlib import import_module
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline_plan.__main__ import PROTECTED_DATA, main
from offline_plan.changes import PlanChanges, plan_changes
from offline_plan.replace_table import FACTS, TABLE
from offline_plan.report import plan_text
from offline_plan.runtime import run_program
from tests.harness import ROOT

PLANS = sorted((ROOT / "plans").glob("*.json"))


def _committed(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def _deployed_with(stack: str, resource_type: str, name: str, inputs: dict[str, Any]) -> dict[str, Any]:
    """The committed plan as if the stack had been deployed with other values for these inputs."""
    plan = copy.deepcopy(_committed(stack))
    [resource] = [r for r in plan["resources"] if r["type"] == resource_type and r["name"] == name]
    resource["inputs"].update(inputs)
    return plan


def _by_name(changes: PlanChanges, resource_type: str) -> dict[str, Any]:
    return {r.name: r for r in changes.resources if r.type == resource_type}


def _working_tree(tmp_path: Path, stack: str, edit: Any) -> Path:
    """A copy of the project whose stack file has `edit` applied to its config."""
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    for directory in ("plans", "examples", "dockerfiles"):
        shutil.copytree(ROOT / directory, tmp_path / directory)
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(document["config"])
    (tmp_path / f"Pulumi.{stack}.yaml").write_text(yaml.safe_dump(document))
    return tmp_path


# -- every AWS type has facts, and the facts name real inputs -------------------------------------


def _facts() -> dict[str, dict[str, Any]]:
    return yaml.safe_load(FACTS.read_text())["types"]


@pytest.mark.parametrize("plan_file", PLANS, ids=[p.stem for p in PLANS])
def test_every_aws_type_in_a_committed_plan_has_provider_facts(plan_file: Path) -> None:
    table = json.loads(TABLE.read_text())["types"]
    facts = _facts()
    types = sorted({r["type"] for r in json.loads(plan_file.read_text())["resources"] if r["type"].startswith("aws:")})
    missing = [t for t in types if t not in facts or t not in table]
    assert not missing, (
        f"plans/{plan_file.name} creates {missing} without replace facts: read each one's schema in "
        "hashicorp/terraform-provider-aws (ForceNew, CustomizeDiff ForceNew, the v6 `region`), add it under "
        "`types:` in offline_plan/provider_facts.yaml with its source (an empty replaceOn if nothing forces), "
        "then run python -m offline_plan.replace_table --write"
    )


def _sdk_inputs(token: str) -> set[str]:
    """The camelCase inputs of a pulumi-aws / pulumi-digitalocean resource, from its pinned SDK Args class."""
    package, module, cls = token.split(":")
    folder = module.split("/")[0]
    folder += "_" if keyword.iskeyword(folder) else ""  # `lambda` is the SDK's `lambda_`
    # Through the package, as the program imports it (pulumi_aws loads its modules lazily).
    resource = getattr(import_module(f"pulumi_{package}" if folder == "index" else f"pulumi_{package}.{folder}"), cls)
    python_module = import_module(resource.__module__)
    # `<Resource>InitArgs` where `<Resource>Args` is taken by a nested input type of the same name.
    args = getattr(python_module, f"{cls}InitArgs", None) or getattr(python_module, f"{cls}Args")
    parameters = [p for p in inspect.signature(args.__init__).parameters if not p.startswith("_") and p != "self"]
    source = inspect.getsource(args)
    renamed = dict((python, wire) for wire, python in re.findall(r'@pulumi\.getter\(name="(\w+)"\)\s*\n\s*def (\w+)\(', source))
    return {renamed.get(p, re.sub(r"_(\w)", lambda m: m.group(1).upper(), p)) for p in parameters}


@pytest.mark.parametrize("token", sorted(t for t in _facts() if t.startswith(("aws:", "digitalocean:"))))
def test_facts_name_inputs_of_the_pinned_sdk(token: str) -> None:
    fact = _facts()[token]
    heads = {re.split(r"[.\[]", path)[0] for path in [*fact.get("replaceOn", []), *fact.get("replaceUnlessOnly", [])]}
    inputs = _sdk_inputs(token)
    assert heads <= inputs, f"{token}: {sorted(heads - inputs)} are not inputs of the pinned SDK (camelCase, as the plans record them)"
    assert fact.get("nameInput", "name") in inputs or fact.get("deleteBeforeReplace") != "explicitName"


# -- the two examples: a bucket rename, a zone move -----------------------------------------


def test_renaming_the_production_bucket_is_a_refused_replacement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    def rename(config: dict[str, Any]) -> None:
        config["meteor-platform:storage"]["bucket"] = "acme-meteor-production-files"

    root = _working_tree(tmp_path, "aws-production", rename)
    status = main(["aws-production", "--root", str(root), "--diff", str(ROOT / "plans" / "aws-production.json")])
    out = capsys.readouterr().out
    assert status == PROTECTED_DATA, out
    assert "meteor-storage-bucket" in out.splitlines()[2]
    changes = plan_changes(_committed("aws-production"), json.loads(plan_text(run_program(root, "aws-production").as_json())))
    bucket = _by_name(changes, "aws:s3/bucket:Bucket")["meteor-storage-bucket"]
    assert (bucket.action, bucket.replace_reasons, bucket.refused) == ("replace", ["bucket"], True)
    assert bucket.delete_before_replace, "a named bucket goes first: two buckets cannot share a name"
    # What configures the bucket follows it (each is ForceNew on `bucket`).
    for resource_type in (
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketPolicy:BucketPolicy",
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
    ):
        [configuration] = _by_name(changes, resource_type).values()
        assert configuration.action == "replace", resource_type


def test_moving_aws_hosts_to_other_zones_replaces_the_data_volume_the_instance_and_the_subnets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def move(config: dict[str, Any]) -> None:
        config["meteor-platform:aws"]["vpc"]["availabilityZones"] = ["eu-central-1b", "eu-central-1c"]

    root = _working_tree(tmp_path, "aws-hosts", move)
    assert main(["aws-hosts", "--root", str(root), "--diff", str(ROOT / "plans" / "aws-hosts.json")]) == PROTECTED_DATA
    capsys.readouterr()
    changes = plan_changes(_committed("aws-hosts"), json.loads(plan_text(run_program(root, "aws-hosts").as_json())))
    volume = _by_name(changes, "aws:ebs/volume:Volume")["meteor-machines-data"]
    instance = _by_name(changes, "aws:ec2/instance:Instance")["meteor-machines-0"]
    assert (volume.action, volume.replace_reasons, volume.refused) == ("replace", ["availabilityZone"], True)
    assert (instance.action, instance.refused) == ("replace", True)
    assert _by_name(changes, "aws:ec2/volumeAttachment:VolumeAttachment")["meteor-machines-data"].action == "replace"
    subnets = _by_name(changes, "aws:ec2/subnet:Subnet")
    assert {name: subnet.action for name, subnet in subnets.items() if name.endswith("eu-central-1b")} == {
        "meteor-aws-network-private-eu-central-1b": "replace",
        "meteor-aws-network-public-eu-central-1b": "replace",
    }
    assert {r.name for r in changes.refused} == {"meteor-machines-data", "meteor-machines-0"}


# -- one change per stateful type --------------------------------------------------------------------

STATEFUL: list[tuple[str, str, str, dict[str, Any], list[str]]] = [
    # (stack, type, resource, the deployed inputs that differ, the reasons the report gives)
    ("aws-hosts", "aws:ebs/volume:Volume", "meteor-machines-data", {"encrypted": False}, ["encrypted"]),
    ("aws-hosts", "aws:ec2/instance:Instance", "meteor-machines-0", {"subnetId": "subnet-0123456789abcdef0"}, ["subnetId"]),
    ("aws-hosts", "aws:s3/bucket:Bucket", "meteor-storage-bucket", {"bucket": "meteor-aws-hosts-old"}, ["bucket"]),
    ("aws-production", "aws:ecr/repository:Repository", "meteor-registry-todos", {"name": "production/todos"}, ["name"]),
    ("aws-production", "aws:kms/key:Key", "meteor-cluster-secrets-key", {"keyUsage": "SIGN_VERIFY"}, ["keyUsage"]),
    ("aws-production", "aws:eks/cluster:Cluster", "meteor-cluster-eks", {"name": "meteor-production-eks"}, ["name"]),
    ("aws-production", "aws:eks/nodeGroup:NodeGroup", "meteor-cluster-nodes-0", {"instanceTypes": ["t3.small"]}, ["instanceTypes[0]"]),
    ("aws-hosts", "aws:ssm/parameter:Parameter", "meteor-machines-0-host-key", {"name": "/meteor-platform/old/ssh-host-key"}, ["name"]),
    ("aws-hosts", "aws:iam/accessKey:AccessKey", "meteor-storage.mongo-dumps", {"user": "someone-else"}, ["user"]),
    (
        "production",
        "digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration",
        "meteor-storage-cors",
        {"region": "ams3"},
        ["region"],
    ),
    (
        "production",
        "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials",
        "meteor-registry-pull",
        {"registryName": "meteor-old"},
        ["registryName"],
    ),
]


@pytest.mark.parametrize(
    ("stack", "resource_type", "name", "deployed", "reasons"), STATEFUL, ids=[f"{s[1].split(':')[-1]}" for s in STATEFUL]
)
def test_a_replace_forcing_change_is_a_replacement(
    stack: str, resource_type: str, name: str, deployed: dict[str, Any], reasons: list[str]
) -> None:
    changes = plan_changes(_deployed_with(stack, resource_type, name, deployed), _committed(stack))
    resource = _by_name(changes, resource_type)[name]
    assert (resource.action, resource.replace_reasons) == ("replace", reasons)
    assert resource.refused == resource.protected


def test_a_protected_ecr_repository_renamed_exits_4(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deployed = tmp_path / "deployed.json"
    deployed.write_text(
        json.dumps(_deployed_with("aws-production", "aws:ecr/repository:Repository", "meteor-registry-todos", {"name": "production/todos"}))
    )
    assert main(["aws-production", "--diff", str(deployed)]) == PROTECTED_DATA
    assert "meteor-registry-todos" in capsys.readouterr().out.splitlines()[2]


def test_an_eks_cluster_rename_deletes_the_old_cluster_first() -> None:
    changes = plan_changes(
        _deployed_with("aws-staging", "aws:eks/cluster:Cluster", "meteor-cluster-eks", {"name": "meteor-old-eks"}),
        _committed("aws-staging"),
    )
    cluster = _by_name(changes, "aws:eks/cluster:Cluster")["meteor-cluster-eks"]
    assert cluster.delete_before_replace, "an EKS cluster keeps the name it was given: the old one goes first"


def test_what_updates_in_place_upstream_stays_an_update() -> None:
    """The facts do not over-reach: an IAM user's name, a volume's size, a key's description update in place."""
    for stack, resource_type, name, deployed in [
        ("aws-hosts", "aws:iam/user:User", "meteor-storage.mongo-dumps", {"name": "old-name"}),
        ("aws-hosts", "aws:ebs/volume:Volume", "meteor-machines-data", {"size": 20}),
        ("aws-production", "aws:kms/key:Key", "meteor-cluster-secrets-key", {"description": "old"}),
        ("aws-production", "aws:ecr/repository:Repository", "meteor-registry-todos", {"imageTagMutability": "MUTABLE"}),
        ("aws-production", "aws:eks/nodeGroup:NodeGroup", "meteor-cluster-nodes-0", {"updateConfig": {"maxUnavailable": 2}}),
    ]:
        changes = plan_changes(_deployed_with(stack, resource_type, name, deployed), _committed(stack))
        resource = _by_name(changes, resource_type)[name]
        assert resource.action == "update", (resource_type, resource.replace_reasons)
