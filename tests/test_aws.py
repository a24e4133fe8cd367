"""AWS: network, EKS, ECR, S3 with least privilege, EC2 Docker hosts — wiring, IAM and data safety."""

from __future__ import annotations

import fnmatch
import itertools
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT, Run, shipped
from tests.test_cloud_init import schema_check

AWS_STACKS = ("aws-staging", "aws-production", "aws-hosts")


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("aws-staging")


@pytest.fixture(scope="module")
def production() -> Run:
    return shipped("aws-production")


@pytest.fixture(scope="module")
def hosts() -> Run:
    return shipped("aws-hosts")


def _plan(stack: str) -> dict[str, Any]:
    return json.loads((ROOT / "plans" / f"{stack}.json").read_text())


def _named(run: Run, type_: str, suffix: str) -> dict[str, Any]:
    [found] = [r for r in run.resources(type_) if r["name"].endswith(suffix)]
    return found


# -- network ------------------------------------------------------------------------------------------


def test_the_vpc_spans_zones_with_public_and_private_subnets(staging: Run, production: Run) -> None:
    for run, zones, nats in ((staging, 2, 1), (production, 3, 3)):
        subnets = run.resources("aws:ec2/subnet:Subnet")
        public = [s for s in subnets if "-public-" in s["name"]]
        private = [s for s in subnets if "-private-" in s["name"]]
        assert len(public) == len(private) == zones
        assert len({s["inputs"]["availabilityZone"] for s in private}) == zones
        assert all(s["inputs"]["tags"]["kubernetes.io/role/elb"] == "1" for s in public)
        assert len(run.resources("aws:ec2/natGateway:NatGateway")) == nats, "one NAT in staging, one per zone in production"
        private_routes = [t for t in run.resources("aws:ec2/routeTable:RouteTable") if "-private-" in t["name"]]
        assert all("natGatewayId" in t["inputs"]["routes"][0] for t in private_routes)


# -- EKS ----------------------------------------------------------------------------------------------


def test_eks_cluster_access_entries_and_a_restricted_endpoint(staging: Run) -> None:
    cluster = staging.resources("aws:eks/cluster:Cluster")[0]["inputs"]
    assert cluster["version"] == "1.33"
    assert cluster["accessConfig"]["authenticationMode"] == "API"
    assert cluster["vpcConfig"]["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert cluster["encryptionConfig"]["resources"] == ["secrets"]


def _stack_config(stack: str) -> dict[str, Any]:
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}


def test_admin_principals_get_cluster_admin_access_entries(staging: Run, production: Run) -> None:
    """Without an access entry only the cluster's creator reaches it (authentication mode API)."""
    for run, stack in ((staging, "aws-staging"), (production, "aws-production")):
        principals = _stack_config(stack)["kubernetes"]["adminPrincipals"]
        assert principals == ["arn:aws:iam::123456789012:role/meteor-platform-ci"], "the shipped stacks give CI's role admin"
        [cluster] = run.resources("aws:eks/cluster:Cluster")
        assert cluster["inputs"]["accessConfig"]["bootstrapClusterCreatorAdminPermissions"] is True, "the creator stays admin"
        entries = {e["inputs"]["principalArn"]: e for e in run.resources("aws:eks/accessEntry:AccessEntry")}
        associations = run.resources("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
        assert sorted(entries) == principals and len(associations) == len(principals)
        for association in associations:
            inputs = association["inputs"]
            entry = entries[inputs["principalArn"]]
            assert entry["inputs"]["clusterName"] == inputs["clusterName"] == cluster["inputs"]["name"]
            assert entry["inputs"]["type"] == "STANDARD", "the only type that takes access policies"
            assert inputs["policyArn"] == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
            assert inputs["accessScope"] == {"type": "cluster"}
            assert entry["urn"] in association["dependencies"], "EKS associates a policy with an existing entry only"


def test_adding_or_removing_an_admin_principal_leaves_the_others_alone(tmp_path: Path) -> None:
    from tests.harness import IMAGE, run_config

    ci, alice, bob = (
        "arn:aws:iam::123456789012:role/meteor-platform-ci",
        "arn:aws:iam::123456789012:user/alice",
        "arn:aws:iam::210987654321:role/platform/ops/admins",
    )

    def urns(principals: list[str], directory: str) -> dict[str, set[str]]:
        config = _stack_config("aws-staging")
        config["kubernetes"]["adminPrincipals"] = principals
        config["apps"][0] = {**{k: v for k, v in config["apps"][0].items() if k != "build"}, "image": IMAGE}
        (tmp_path / directory).mkdir()
        run = run_config(tmp_path / directory, config, stack="aws-staging")
        found: dict[str, set[str]] = {}
        for type_ in ("aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
            for r in run.resources(type_):
                found.setdefault(r["inputs"]["principalArn"], set()).add(r["urn"])
        return found

    before = urns([ci, alice, bob], "before")
    after = urns([alice, bob], "after")
    assert set(after) == {alice, bob}
    assert all(after[p] == before[p] for p in after), "each entry is named by its principal, not its place in the list"
    assert any("platform-ops-admins" in urn for urn in before[bob]), "a role's path is part of its name"


def test_principals_whose_names_read_alike_get_entries_of_their_own(tmp_path: Path) -> None:
    """`role/a/b` and `role/a-b` are two roles; the entry's name keeps them apart (a hash of the ARN)."""
    from components.config.kubernetes import admin_entry_key
    from tests.harness import IMAGE, run_config

    nested, dashed = "arn:aws:iam::123456789012:role/a/b", "arn:aws:iam::123456789012:role/a-b"
    assert admin_entry_key(nested) != admin_entry_key(dashed)
    config = _stack_config("aws-staging")
    config["kubernetes"]["adminPrincipals"] = [nested, dashed]
    config["apps"][0] = {**{k: v for k, v in config["apps"][0].items() if k != "build"}, "image": IMAGE}
    run = run_config(tmp_path, config, stack="aws-staging")
    entries = run.resources("aws:eks/accessEntry:AccessEntry")
    assert sorted(e["inputs"]["principalArn"] for e in entries) == sorted([nested, dashed])
    assert len({e["urn"] for e in entries}) == 2


def test_access_entries_and_their_policies_are_replaced_delete_first(staging: Run) -> None:
    """Every attribute of an access policy association forces a replacement (terraform-provider-aws
    access_policy_association.go: ForceNew, no Update). Created first, the new association would be
    associated onto the old one (AssociateAccessPolicy) and then disassociated with it; a second
    access entry for one principal is refused (ResourceInUseException). Both go delete-first."""
    import copy

    from offline_plan.changes import plan_changes

    for type_ in ("aws:eks/accessEntry:AccessEntry", "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"):
        assert all(r["deleteBeforeReplace"] is True for r in staging.resources(type_)), type_
    old = copy.deepcopy(staging.plan)
    [association] = [r for r in old["resources"] if r["type"] == "aws:eks/accessPolicyAssociation:AccessPolicyAssociation"]
    association["inputs"]["accessScope"] = {"type": "namespace", "namespaces": ["todos"]}
    association["inputs"]["policyArn"] = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
    [change] = [c for c in plan_changes(old, staging.plan).resources if c.urn == association["urn"]]
    assert change.action == "replace" and sorted(change.replace_reasons) == ["accessScope.namespaces", "accessScope.type", "policyArn"]
    assert change.delete_before_replace is True


@pytest.mark.parametrize(
    ("principal", "why"),
    [
        ("arn:aws:iam::12345:role/ci", ""),
        ("arn:aws:iam::123456789012:group/admins", ""),
        ("meteor-platform-ci", ""),
        ("arn:aws:sts::123456789012:assumed-role/ci/session", " (an STS session cannot have an access entry: name its role)"),
    ],
)
def test_an_admin_principal_must_be_an_iam_role_or_user_arn(principal: str, why: str) -> None:
    from components.config import ConfigError, parse_config

    config = _stack_config("aws-staging")
    config["kubernetes"]["adminPrincipals"] = ["arn:aws:iam::123456789012:role/meteor-platform-ci", principal]
    with pytest.raises(ConfigError) as raised:
        parse_config(config, set(), project_dir=ROOT)
    assert str(raised.value).splitlines()[1:] == [
        f"  meteor-platform:kubernetes.adminPrincipals[1]: got {principal!r}; expected an IAM role or user ARN: "
        "arn:aws:iam::<12-digit account>:role/<path/name> or arn:aws:iam::<12-digit account>:user/<name>" + why
    ]


def test_an_admin_principal_is_listed_once() -> None:
    from components.config import ConfigError, parse_config

    config = _stack_config("aws-staging")
    config["kubernetes"]["adminPrincipals"] = ["arn:aws:iam::123456789012:role/ci", "arn:aws:iam::123456789012:role/ci"]
    with pytest.raises(ConfigError, match=r"adminPrincipals\[1\]: got .*; expected each principal once \(kubernetes\.adminPrincipals\[0\]"):
        parse_config(config, set(), project_dir=ROOT)


@pytest.mark.parametrize("kubernetes", [{"provider": "doks", "adminCidrs": ["203.0.113.0/24"]}, {"provider": "existing"}])
def test_admin_principals_are_refused_off_eks(kubernetes: dict[str, Any]) -> None:
    from components.config import ConfigError, parse_config
    from tests.harness import base_config

    config = base_config()
    config["kubernetes"] = {**kubernetes, "adminPrincipals": ["arn:aws:iam::123456789012:role/meteor-platform-ci"]}
    with pytest.raises(ConfigError) as raised:
        parse_config(config, set(), project_dir=ROOT)
    [line] = str(raised.value).splitlines()[1:]
    assert line.startswith(
        f"  meteor-platform:kubernetes.adminPrincipals: unknown key for kubernetes.provider {kubernetes['provider']!r} "
        "(it belongs to kubernetes.provider 'eks')"
    )


def test_the_node_groups_are_in_the_private_subnets(staging: Run) -> None:
    groups = staging.resources("aws:eks/nodeGroup:NodeGroup")
    private = {staging.result.ids[s["urn"]] for s in staging.resources("aws:ec2/subnet:Subnet") if "-private-" in s["name"]}
    assert {subnet for group in groups for subnet in group["inputs"]["subnetIds"]} == private
    assert [group["inputs"]["scalingConfig"] for group in groups] == [{"minSize": 1, "maxSize": 2, "desiredSize": 1}] * 2
    [template] = staging.resources("aws:ec2/launchTemplate:LaunchTemplate")
    assert template["inputs"]["metadataOptions"]["httpTokens"] == "required", "nodes require IMDSv2"
    assert template["inputs"]["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_node_instances_carry_the_stack_tag_from_their_launch_template(staging: Run, production: Run) -> None:
    """Default tags never reach instances a launch template starts (components/aws/provider.py): only its
    tag_specifications do, so the stack tag is there (and a deployed template's tags stay as they were)."""
    from components.aws.provider import STACK_TAG

    for run, stack in ((staging, "aws-staging"), (production, "aws-production")):
        [template] = run.resources("aws:ec2/launchTemplate:LaunchTemplate")
        [specification] = template["inputs"]["tagSpecifications"]
        assert specification["resourceType"] == "instance"
        assert specification["tags"][STACK_TAG] == stack
        assert specification["tags"]["meteor-platform/cluster"] == f"meteor-{stack}-eks"
        assert STACK_TAG not in template["inputs"]["tags"], "the template itself gets it from the default tags"


def test_ebs_csi_and_pod_identity_addons(staging: Run) -> None:
    addons = {a["inputs"]["addonName"]: a for a in staging.resources("aws:eks/addon:Addon")}
    # amazon-cloudwatch-observability: Container Insights (tests/test_aws_alarms.py).
    assert set(addons) == {"eks-pod-identity-agent", "aws-ebs-csi-driver", "vpc-cni", "amazon-cloudwatch-observability"}
    assert addons["aws-ebs-csi-driver"]["inputs"]["podIdentityAssociations"][0]["serviceAccount"] == "ebs-csi-controller-sa"


def test_every_kubernetes_resource_uses_the_eks_provider(staging: Run) -> None:
    [provider] = staging.resources("pulumi:providers:kubernetes")
    kubernetes = [r for r in staging.plan["resources"] if r["type"].startswith("kubernetes:")]
    assert kubernetes and all(r["provider"] == provider["urn"] for r in kubernetes)
    kubeconfig = yaml.safe_load(staging.state(provider)["kubeconfig"])
    assert kubeconfig["users"][0]["user"]["exec"]["args"][:2] == ["eks", "get-token"], "no long-lived credential in the kubeconfig"


def test_ingress_through_a_network_load_balancer(staging: Run) -> None:
    traefik = next(r for r in staging.resources("kubernetes:helm.sh/v3:Release") if r["inputs"]["chart"] == "traefik")
    service = traefik["inputs"]["values"]["service"]
    assert service["annotations"] == {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"}
    assert service["spec"] == {"externalTrafficPolicy": "Local"}


def test_mongodb_on_encrypted_retained_gp3(production: Run) -> None:
    [storage_class] = production.resources("kubernetes:storage.k8s.io/v1:StorageClass")
    inputs = storage_class["inputs"]
    assert inputs["provisioner"] == "ebs.csi.aws.com" and inputs["reclaimPolicy"] == "Retain"
    assert inputs["parameters"] == {
        "type": "gp3",
        "encrypted": "true",
        "csi.storage.k8s.io/fstype": "ext4",
        "tagSpecification_1": "meteor-platform/snapshots=aws-production",  # what the snapshots target (test_aws_backups)
    }
    [statefulset] = production.resources("kubernetes:apps/v1:StatefulSet")
    assert statefulset["inputs"]["spec"]["replicas"] == 3 and statefulset["protect"]


# -- ECR ----------------------------------------------------------------------------------------------


def test_an_ecr_repository_per_app(staging: Run, production: Run) -> None:
    for run, protected in ((staging, False), (production, True)):
        [repository] = run.resources("aws:ecr/repository:Repository")
        inputs = repository["inputs"]
        assert inputs["imageTagMutability"] == "IMMUTABLE_WITH_EXCLUSION"
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
        assert repository["protect"] is protected and repository["retainOnDelete"] is protected
        [lifecycle] = run.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy")
        rule = json.loads(lifecycle["inputs"]["policy"])["rules"][-1]
        assert rule["selection"]["countType"] == "imageCountMoreThan" and rule["action"] == {"type": "expire"}
    assert not staging.resources("kubernetes:core/v1:Secret") or not [
        s for s in staging.resources("kubernetes:core/v1:Secret") if s["inputs"].get("type") == "kubernetes.io/dockerconfigjson"
    ], "nodes pull through their role: no pull secret"
    assert staging.plan["outputs"]["registry_push_credentials"] == "[secret]"


def test_only_the_build_cache_tag_moves_in_ecr(staging: Run, production: Run) -> None:
    """ECR refuses a second push to an existing IMMUTABLE tag even with the same digest
    (aws/containers-roadmap#2179). Every build rewrites its cache tag: that tag alone is excluded
    (WILDCARD filter, pulumi_aws/ecr/_inputs.py); build and promotion tags are written once."""
    from components.images.promote import COPY_SCRIPT

    [repository] = staging.resources("aws:ecr/repository:Repository")
    filters = repository["inputs"]["imageTagMutabilityExclusionFilters"]
    assert [f["filterType"] for f in filters] == ["WILDCARD"]
    patterns = [f["filter"] for f in filters]
    # ECR's filter pattern: ^[0-9a-zA-Z._*-]{1,128}$ with at most 2 wildcards (ImageTagMutabilityExclusionFilter).
    assert all(re.fullmatch(r"[0-9a-zA-Z._*-]{1,128}", p) and p.count("*") <= 2 for p in patterns)

    def mutable(tag: str) -> bool:
        return any(fnmatch.fnmatchcase(tag, p) for p in patterns)

    [image] = staging.resources("docker-build:index:Image")
    cache = image["inputs"]["cacheTo"][0]["registry"]["ref"]
    assert cache == image["inputs"]["cacheFrom"][0]["registry"]["ref"]
    assert mutable(cache.rsplit(":", 1)[1]), "the cache tag every build rewrites may move"
    [built] = image["inputs"]["tags"]
    assert not mutable(built.rsplit(":", 1)[1]), "an app build's tag stays immutable"
    promoted = re.search(r'tag="([\w-]+)\$\{digest#sha256:\}"', COPY_SCRIPT)
    assert promoted and not mutable(promoted.group(1) + "cd" * 32), "a promotion's tag stays immutable"
    assert production.resources("aws:ecr/repository:Repository")[0]["inputs"]["imageTagMutabilityExclusionFilters"] == filters


def test_a_repository_deployed_immutable_is_updated_in_place(staging: Run) -> None:
    """terraform-provider-aws (internal/service/ecr/repository.go): neither `image_tag_mutability` nor
    `image_tag_mutability_exclusion_filter` is ForceNew; an update calls PutImageTagMutability. Its
    lifecycle policy is replaced (internal/service/ecr/lifecycle_policy.go: `policy` is ForceNew, no Update)."""
    import copy

    from offline_plan.changes import plan_changes

    before = copy.deepcopy(staging.plan)
    for resource in before["resources"]:
        if resource["type"] == "aws:ecr/repository:Repository":
            resource["inputs"]["imageTagMutability"] = "IMMUTABLE"
            del resource["inputs"]["imageTagMutabilityExclusionFilters"]
        if resource["type"] == "aws:ecr/lifecyclePolicy:LifecyclePolicy":
            resource["inputs"]["policy"] = json.dumps({"rules": json.loads(resource["inputs"]["policy"])["rules"][-1:]})
    changes = {c.type: c for c in plan_changes(before, staging.plan).resources}
    assert {t: c.action for t, c in changes.items()} == {
        "aws:ecr/repository:Repository": "update",
        "aws:ecr/lifecyclePolicy:LifecyclePolicy": "replace",
    }
    # Delete-first: a create-first replacement would put the new policy, then delete the repository's only one.
    assert changes["aws:ecr/lifecyclePolicy:LifecyclePolicy"].delete_before_replace


def test_the_ecr_lifecycle_never_expires_the_live_build_cache(staging: Run) -> None:
    """ECR user guide, lifecycle policy evaluation rules: "An image that matches the tagging
    requirements of a rule cannot be expired by a rule with a lower priority". Rule 1 holds the cache
    tag, whose single image never exceeds its count, so the count rule cannot expire it."""
    [repository] = staging.resources("aws:ecr/repository:Repository")
    [lifecycle] = staging.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy")
    first, last = json.loads(lifecycle["inputs"]["policy"])["rules"]
    assert first["rulePriority"] < last["rulePriority"], "`any` must be evaluated last"
    cache_filter = repository["inputs"]["imageTagMutabilityExclusionFilters"][0]["filter"]
    assert first["selection"] == {
        "tagStatus": "tagged",
        "tagPatternList": [cache_filter],
        "countType": "imageCountMoreThan",
        "countNumber": 1,
    }
    assert last["selection"] == {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": 30}, "nothing grows forever"
    assert "untagged" not in {first["selection"]["tagStatus"], last["selection"]["tagStatus"]}


# -- S3 -----------------------------------------------------------------------------------------------


def test_the_bucket_is_private_encrypted_versioned_and_tls_only(production: Run) -> None:
    [bucket] = production.resources("aws:s3/bucket:Bucket")
    assert bucket["protect"] and bucket["retainOnDelete"]
    [block] = production.resources("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock")
    assert all(block["inputs"][k] is True for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"))
    [encryption] = production.resources("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration")
    assert encryption["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "aws:kms"
    [versioning] = production.resources("aws:s3/bucketVersioning:BucketVersioning")
    assert versioning["inputs"]["versioningConfiguration"]["status"] == "Enabled"
    [lifecycle] = production.resources("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration")
    assert lifecycle["inputs"]["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"] == 90
    [policy] = production.resources("aws:s3/bucketPolicy:BucketPolicy")
    [deny] = json.loads(policy["inputs"]["policy"])["Statement"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    [cors] = production.resources("aws:s3/bucketCorsConfiguration:BucketCorsConfiguration")
    assert cors["inputs"]["corsRules"][0]["allowedOrigins"] == ["https://todos.aws.example.com"]


def test_the_apps_service_account_is_bound_to_a_role_for_this_bucket_only(staging: Run) -> None:
    [association] = [
        a for a in staging.resources("aws:eks/podIdentityAssociation:PodIdentityAssociation") if a["name"] == "meteor-storage-todos"
    ]
    inputs = association["inputs"]
    assert (inputs["namespace"], inputs["serviceAccount"]) == ("todos", "todos")
    role = next(r for r in staging.resources("aws:iam/role:Role") if staging.state(r)["arn"] == inputs["roleArn"])
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert trust == [
        {"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"}, "Action": ["sts:AssumeRole", "sts:TagSession"]}
    ]
    [policy] = [p for p in staging.resources("aws:iam/rolePolicy:RolePolicy") if p["inputs"]["role"] == staging.result.ids[role["urn"]]]
    bucket_arn = staging.state(staging.resources("aws:s3/bucket:Bucket")[0])["arn"]
    resources = {res for statement in json.loads(policy["inputs"]["policy"])["Statement"] for res in statement["Resource"]}
    assert resources == {bucket_arn, f"{bucket_arn}/todos/*"}, "this bucket, this app's prefix: nothing else"
    deployment = staging.one("kubernetes:apps/v1:Deployment", "todos-deployment")
    pod = deployment["inputs"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "todos" and pod["automountServiceAccountToken"] is False
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert (
        "S3_ACCESS_KEY_ID" not in env and env["S3_BUCKET"]["value"] == staging.state(staging.resources("aws:s3/bucket:Bucket")[0])["bucket"]
    )
    # The AWS SDK for JavaScript takes no region from the instance metadata: the default chain reads AWS_REGION.
    assert env["AWS_REGION"]["value"] == env["S3_REGION"]["value"] == "eu-central-1"
    assert staging.one("kubernetes:core/v1:ServiceAccount", "todos-identity")["inputs"]["metadata"]["name"] == "todos"


# -- EC2 Docker hosts ------------------------------------------------------------------------------------


def test_hosts_require_imdsv2_and_encrypt_their_root_volume(hosts: Run) -> None:
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    inputs = instance["inputs"]
    assert inputs["metadataOptions"]["httpTokens"] == "required"
    # A container's token request crosses the Docker bridge (one hop more): AWS recommends 2 for containers.
    assert inputs["metadataOptions"]["httpPutResponseHopLimit"] == 2
    # A public address from launch: cloud-init installs packages before the Elastic IP is attached.
    assert inputs["associatePublicIpAddress"] is True
    assert inputs["rootBlockDevice"]["encrypted"] is True
    assert inputs["iamInstanceProfile"]
    ami = inputs["ami"]
    assert ami.startswith("ami-"), "from the AMI data source"


def test_the_data_volume_is_separate_encrypted_and_protected_in_production(hosts: Run) -> None:
    [volume] = hosts.resources("aws:ebs/volume:Volume")
    assert volume["inputs"]["encrypted"] is True and volume["inputs"]["type"] == "gp3"
    assert volume["protect"] and volume["retainOnDelete"]
    [attachment] = hosts.resources("aws:ec2/volumeAttachment:VolumeAttachment")
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    assert attachment["inputs"]["volumeId"] == hosts.result.ids[volume["urn"]]
    assert attachment["inputs"]["instanceId"] == hosts.result.ids[instance["urn"]]
    user_data = yaml.safe_load(hosts.state(instance)["userData"].split("\n", 1)[1])
    [filesystem] = user_data["fs_setup"]
    assert filesystem["overwrite"] is False and filesystem["device"].endswith(hosts.result.ids[volume["urn"]].replace("-", ""))
    assert user_data["mounts"][0][1] == "/var/lib/docker/volumes"


def test_the_hosts_user_data_passes_cloud_init_schema(hosts: Run, tmp_path: Path) -> None:
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    proc = schema_check(tmp_path, hosts.state(instance)["userData"])
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ssh_only_from_the_admin_networks(hosts: Run) -> None:
    [group] = hosts.resources("aws:ec2/securityGroup:SecurityGroup")
    ssh = [rule for rule in group["inputs"]["ingress"] if rule["fromPort"] == 22]
    assert ssh == [
        {"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["203.0.113.0/24"], "description": "ssh from the admin networks"}
    ]


def test_session_manager_hosts_open_no_ssh(tmp_path: Path) -> None:
    from tests.harness import run_config

    config = yaml.safe_load((ROOT / "Pulumi.aws-hosts.yaml").read_text())["config"]
    plain = {key.split(":", 1)[1]: value for key, value in config.items()}
    plain["machines"]["access"] = "ssm"
    (tmp_path / "plans").mkdir()  # the stack promotes aws-staging's digest, read from its plan
    (tmp_path / "plans" / "aws-staging.json").write_text((ROOT / "plans" / "aws-staging.json").read_text())
    run = run_config(tmp_path, plain, stack="aws-ssm")
    [group] = run.resources("aws:ec2/securityGroup:SecurityGroup")
    assert all(rule["fromPort"] != 22 for rule in group["inputs"]["ingress"])
    # Not AmazonSSMManagedInstanceCore (ssm:GetParameter(s) on "*": the app containers reach this role), but
    # Session Manager's minimum (AWS docs "Session Manager only"; the AWSCloud9SSMInstanceProfile policy).
    policies = {r["inputs"]["policyArn"] for r in run.resources("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert not any("AmazonSSM" in arn for arn in policies), policies
    role = run.one("aws:iam/role:Role", "meteor-machines-role")
    session = run.one("aws:iam/rolePolicy:RolePolicy", "meteor-machines-session-manager")
    assert session["inputs"]["role"] == run.state(role)["name"]
    statements = json.loads(session["inputs"]["policy"])["Statement"]
    assert statements == [
        {"Effect": "Allow", "Action": ["ssm:UpdateInstanceInformation"], "Resource": ["arn:aws:ec2:eu-central-1:123456789012:instance/*"]},
        {
            "Effect": "Allow",
            "Action": [
                "ssmmessages:CreateControlChannel",
                "ssmmessages:CreateDataChannel",
                "ssmmessages:OpenControlChannel",
                "ssmmessages:OpenDataChannel",
            ],
            "Resource": ["*"],
        },
    ]
    from parliament import analyze_policy_string

    for name, key, doc in _policies(run.plan):
        if key == "policy":
            assert analyze_policy_string(json.dumps(doc), include_community_auditors=True).findings == [], name
    # Through Session Manager too, the data host is ready only once its volume is attached (test_docker_day2).
    attachment = run.one("aws:ec2/volumeAttachment:VolumeAttachment", "meteor-machines-data")
    assert attachment["urn"] in run.one("command:local:Command", "meteor-machines-0-docker-ready")["dependencies"]
    # Nothing the role may do reads a parameter but the host's own key (its policy: below).
    granted = [
        a
        for r in run.resources("aws:iam/rolePolicy:RolePolicy")
        for st in json.loads(r["inputs"]["policy"])["Statement"]
        for a in st["Action"]
    ]
    assert [a for a in granted if a.startswith("ssm:Get")] == ["ssm:GetParameter"]
    [provider] = run.resources("pulumi:providers:docker")
    assert any("ProxyCommand=aws ssm start-session" in option for option in json.loads(run.state(provider)["sshOpts"]))


# -- IAM hygiene ----------------------------------------------------------------------------------------


def _policies(plan: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    found: list[tuple[str, str, dict[str, Any]]] = []
    for r in plan["resources"]:
        for key in ("policy", "assumeRolePolicy"):
            text = r["inputs"].get(key)
            if r["type"].startswith("aws:") and isinstance(text, str) and '"Statement"' in text:
                found.append((r["name"], key, json.loads(text)))
    return found


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_parliament_finds_nothing_in_the_identity_and_resource_policies(stack: str) -> None:
    from parliament import analyze_policy_string

    policies = [(name, doc) for name, key, doc in _policies(_plan(stack)) if key == "policy"]
    assert policies
    for name, doc in policies:
        findings = analyze_policy_string(json.dumps(doc), include_community_auditors=True).findings
        assert [(f.issue, f.detail) for f in findings] == [], name


def _takes_a_resource(action: str) -> bool:
    """Whether IAM lets a policy name a resource for `action` (parliament's IAM database: an empty
    resource type means the action applies to no particular resource)."""
    from parliament import iam_definition  # pyright: ignore[reportUnknownVariableType]

    prefix, name = action.split(":")
    service = next(s for s in iam_definition if s["prefix"] == prefix)  # pyright: ignore[reportUnknownVariableType]
    [privilege] = [p for p in service["privileges"] if p["privilege"].lower() == name.lower()]  # pyright: ignore[reportUnknownVariableType]
    return any(r["resource_type"] for r in privilege["resource_types"])  # pyright: ignore[reportUnknownVariableType]


def test_only_resource_less_actions_may_name_every_resource() -> None:
    assert not _takes_a_resource("autoscaling:DescribeAutoScalingGroups")
    assert _takes_a_resource("autoscaling:SetDesiredCapacity") and _takes_a_resource("s3:GetObject")


@pytest.mark.parametrize("stack", AWS_STACKS)
def test_every_policy_names_specific_actions_and_resources(stack: str) -> None:
    for name, key, doc in _policies(_plan(stack)):
        for statement in doc["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            assert all(a != "*" and not a.endswith(":*") for a in actions), (name, actions)
            if key == "assumeRolePolicy":
                # Trust policies (parliament does not read them): one AWS service may assume the role.
                assert set(statement["Principal"]) == {"Service"} and statement["Principal"]["Service"].endswith(".amazonaws.com")
                assert set(actions) <= {"sts:AssumeRole", "sts:TagSession"}
            else:
                resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
                # `*` only for actions that take no resource (the cluster autoscaler's Describe calls).
                assert all(r != "*" for r in resources) or not any(map(_takes_a_resource, actions)), (name, actions, resources)


def test_parliament_would_catch_a_wildcard_policy() -> None:
    from parliament import analyze_policy_string

    wide = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
    assert analyze_policy_string(json.dumps(wide), include_community_auditors=True).findings


# -- data safety and imports ------------------------------------------------------------------------------


def test_production_data_is_protected_and_retained(production: Run) -> None:
    for type_ in (
        "aws:s3/bucket:Bucket",
        "aws:ecr/repository:Repository",
        "kubernetes:storage.k8s.io/v1:StorageClass",
        "kubernetes:apps/v1:StatefulSet",
    ):
        for resource in production.resources(type_):
            assert resource["protect"], (type_, resource["name"])


# sns: the alert topics; route53 and cloudwatch: the uptime health checks and their alarms, log groups (issue 20).
LEAN_AWS = {"cloudwatch", "dlm", "ec2", "ebs", "ecr", "eks", "iam", "kms", "route53", "s3", "sns", "ssm"}


STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
# One process imports the plan's runner and the platform's own modules once (no provider SDK among
# them), then forks a child per chain of stacks (`_chains`). A child plans its chain's stacks in
# order and reports its `sys.modules` after each: what a stack adds to what its predecessors loaded,
# all of which its own plan needs, so the report is what a process of its own would hold.
_IMPORT_PROBE = """
import json, os, sys
from pathlib import Path
AGENT = "components.observability.cloudwatch_agent"
from offline_plan.runtime import run_program
import components.config, components.platform
assert not [m for m in sys.modules if m.startswith("pulumi_")], "the shared parent holds no provider SDK"
assert AGENT not in sys.modules, "the shared parent holds no CloudWatch agent module"
for chain in json.loads(sys.argv[2]):
    reader, writer = os.pipe()
    child = os.fork()
    if child == 0:
        os.close(reader)
        for stack in chain:
            run_program(Path(sys.argv[1]), stack)
            loaded = sorted({m.split(".")[1] for m, mod in list(sys.modules.items()) if m.startswith("pulumi_aws.") and type(mod).__name__ != "_LazyModule"})
            packages = sorted({m.split(".")[0] for m in sys.modules if m.startswith("pulumi_")})
            os.write(writer, (json.dumps([stack, "pulumi_aws" in sys.modules, loaded, packages, AGENT in sys.modules]) + "\\n").encode())
        os._exit(0)
    os.close(writer)
    with os.fdopen(reader) as answers:
        for answer in answers:
            print("probe " + answer, end="")
    _, status = os.waitpid(child, 0)
    assert status == 0, (chain, status)
"""


def _plan_packages(stack: str) -> list[str]:
    """The provider SDK packages the committed plan's resource types come from (`docker-build` -> pulumi_docker_build)."""
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text(encoding="utf-8"))
    packages = {r["type"].split(":")[0] for r in plan["resources"]} - {"meteor-platform", "pulumi"}
    return sorted(f"pulumi_{package.replace('-', '_')}" for package in packages)


CLOUDWATCH_AGENT = "the CloudWatch agent"


def _needs(stack: str) -> set[str]:
    """What the stack's plan needs loaded: its SDK packages, and the CloudWatch agent's module when its
    hosts run the agent (their role's `-cloudwatch-agent` policy)."""
    plan = json.loads((ROOT / "plans" / f"{stack}.json").read_text(encoding="utf-8"))
    installs_agent = any(r["name"].endswith("-cloudwatch-agent") for r in plan["resources"])
    return set(_plan_packages(stack)) | ({CLOUDWATCH_AGENT} if installs_agent else set())


def _chains(stacks: list[str]) -> list[list[str]]:
    """`stacks` in chains where each stack's plan needs everything its predecessors' plans need (dev,
    then droplets): planned in one process, a stack finds loaded only what it would load itself."""
    chains: list[list[str]] = []
    for stack in sorted(stacks, key=lambda s: (len(_needs(s)), s)):
        needs = _needs(stack)
        chain = next((c for c in chains if _needs(c[-1]) <= needs), None)
        if chain is None:
            chains.append([stack])
        else:
            chain.append(stack)
    return chains


def test_stacks_import_only_the_sdks_and_aws_modules_they_use() -> None:
    """A stack pays only for the provider SDKs its resources come from (the plan's cost, issue 22)."""
    chains = _chains(STACKS)
    for chain in chains:
        for earlier, later in itertools.pairwise(chain):
            assert _needs(earlier) <= _needs(later), chain
    proc = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE, str(ROOT), json.dumps(chains)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    answers = [json.loads(line.removeprefix("probe ")) for line in proc.stdout.splitlines() if line.startswith("probe ")]
    assert sorted(answer[0] for answer in answers) == STACKS
    assert {stack: packages for stack, _, _, packages, _ in answers} == {stack: _plan_packages(stack) for stack in STACKS}
    # Only hosts that install the CloudWatch agent load its module (droplets and clusters do not).
    assert {answer[0]: answer[4] for answer in answers} == {stack: CLOUDWATCH_AGENT in _needs(stack) for stack in STACKS}
    # The root package's own modules (functions, provider, types) load with it; services are the subpackages.
    root_modules = {"outputs", "provider", "trim_iam_role_path", "user_agent"}
    for stack, imported, loaded, _, _ in answers:
        services = {m for m in loaded if m and not m.startswith(("_", "get_", "arn_")) and m not in root_modules}
        if stack.startswith("aws-"):
            assert services and services <= LEAN_AWS, (stack, services)
        else:
            assert not imported, f"{stack} imports pulumi_aws"


def test_aws_region_is_the_platforms_only_where_storage_is_s3(tmp_path: Path) -> None:
    from components.config import ConfigError, parse_config
    from tests.harness import base_config, env_of, run_config

    # storage s3 sets AWS_REGION for the SDK's default chain: the app cannot set another.
    document = yaml.safe_load((ROOT / "Pulumi.aws-staging.yaml").read_text())["config"]
    config = {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}
    config["apps"][0]["env"] = {"AWS_REGION": "us-east-1"}
    with pytest.raises(ConfigError, match=r"meteor-platform:apps\[0\]\.env\.AWS_REGION: got 'us-east-1'; expected it unset"):
        parse_config(config, set(), project_dir=ROOT)
    # Elsewhere nothing sets it: a DigitalOcean app that sends mail through SES names its region.
    do_config = base_config()
    do_config["apps"][0]["env"] = {"AWS_REGION": "us-east-1"}
    env = env_of(run_config(tmp_path, do_config).one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert env["AWS_REGION"]["value"] == "us-east-1"


# -- the host's private ssh key: an SSM SecureString, never user data -------------------------------


def test_the_private_host_key_is_not_in_the_user_data_but_in_a_secure_string_parameter(hosts: Run) -> None:
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    [key] = hosts.resources("tls:index/privateKey:PrivateKey")
    private = hosts.state(key)["privateKeyOpenssh"]
    text = hosts.state(instance)["userData"]
    assert "PRIVATE KEY" not in text and private.strip() not in text and "ssh_keys" not in text
    [parameter] = hosts.resources("aws:ssm/parameter:Parameter")
    [kms_key] = hosts.resources("aws:kms/key:Key")
    inputs = parameter["inputs"]
    assert inputs["type"] == "SecureString"
    # Its own key, not aws/ssm (whose key policy lets every principal of the account decrypt).
    assert inputs["keyId"] == hosts.state(kms_key)["arn"]
    assert "value" in parameter["secretDigests"] and hosts.state(parameter)["value"] == private
    assert "policy" not in kms_key["inputs"], "the default key policy: decrypting takes an IAM grant"
    # The host fetches it in bootcmd (before sshd starts), first, with the region and the parameter's name;
    # cloud-init keeps it (no ssh_deletekeys) and generates none while it is there.
    document = yaml.safe_load(text.split("\n", 1)[1])
    from components.machines.cloud_init import host_key_fetcher_code

    assert document["bootcmd"][0] == [
        "python3",
        "-c",
        host_key_fetcher_code(),
        "eu-central-1",
        inputs["name"],
        hosts.state(key)["publicKeyOpenssh"].strip(),
    ]
    assert document["bootcmd"][1][:2] == ["sh", "-c"], "then the wait for the data volume"
    assert document["ssh_deletekeys"] is False and document["ssh_genkeytypes"] == ["ed25519"]
    # EC2 takes at most 16 KB of user data, before base64 (docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html).
    assert len(text.encode()) < 16 * 1024


def test_only_the_instance_role_is_granted_the_host_keys(hosts: Run) -> None:
    [policy] = [p for p in hosts.resources("aws:iam/rolePolicy:RolePolicy") if p["name"].endswith("-host-keys")]
    role = hosts.one("aws:iam/role:Role", "meteor-machines-role")
    assert policy["inputs"]["role"] == hosts.state(role)["name"]
    [parameter] = hosts.resources("aws:ssm/parameter:Parameter")
    [kms_key] = hosts.resources("aws:kms/key:Key")
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    # A parameter's ARN holds its name without the leading slash (the Service Authorization Reference:
    # parameter/${ParameterNameWithoutLeadingSlash}), as the mocked answer does.
    arn = "arn:aws:ssm:eu-central-1:123456789012:parameter/meteor-platform/aws-hosts/meteor-aws-hosts-docker-0/ssh-host-key"
    assert parameter["inputs"]["name"] == "/meteor-platform/aws-hosts/meteor-aws-hosts-docker-0/ssh-host-key"
    assert statements == [
        {"Effect": "Allow", "Action": ["ssm:GetParameter"], "Resource": [arn]},
        {
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": [hosts.state(kms_key)["arn"]],
            "Condition": {"StringEquals": {"kms:ViaService": "ssm.eu-central-1.amazonaws.com"}},
        },
    ]
    # The instance boots only once it may read its key.
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    assert policy["urn"] in instance["dependencies"]
