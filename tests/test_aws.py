"""AWS: network, EKS, ECR, S3 with least privilege, EC2 Docker hosts — wiring, IAM and data safety."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import ROOT, Run, run_shipped
from tests.test_cloud_init import schema_check

AWS_STACKS = ("aws-staging", "aws-production", "aws-hosts")


@pytest.fixture(scope="module")
def staging() -> Run:
    return run_shipped("aws-staging")


@pytest.fixture(scope="module")
def production() -> Run:
    return run_shipped("aws-production")


@pytest.fixture(scope="module")
def hosts() -> Run:
    return run_shipped("aws-hosts")


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


def test_the_node_group_is_in_the_private_subnets(staging: Run) -> None:
    [group] = staging.resources("aws:eks/nodeGroup:NodeGroup")
    private = {staging.result.ids[s["urn"]] for s in staging.resources("aws:ec2/subnet:Subnet") if "-private-" in s["name"]}
    assert set(group["inputs"]["subnetIds"]) == private
    assert group["inputs"]["scalingConfig"] == {"minSize": 2, "maxSize": 4, "desiredSize": 2}
    [template] = staging.resources("aws:ec2/launchTemplate:LaunchTemplate")
    assert template["inputs"]["metadataOptions"]["httpTokens"] == "required", "nodes require IMDSv2"
    assert template["inputs"]["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"


def test_ebs_csi_and_pod_identity_addons(staging: Run) -> None:
    addons = {a["inputs"]["addonName"]: a for a in staging.resources("aws:eks/addon:Addon")}
    assert set(addons) == {"eks-pod-identity-agent", "aws-ebs-csi-driver"}
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
        assert inputs["imageTagMutability"] == "IMMUTABLE"
        assert inputs["imageScanningConfiguration"] == {"scanOnPush": True}
        assert inputs["encryptionConfigurations"] == [{"encryptionType": "KMS"}]
        assert repository["protect"] is protected and repository["retainOnDelete"] is protected
        [lifecycle] = run.resources("aws:ecr/lifecyclePolicy:LifecyclePolicy")
        rule = json.loads(lifecycle["inputs"]["policy"])["rules"][0]
        assert rule["selection"]["countType"] == "imageCountMoreThan" and rule["action"] == {"type": "expire"}
    assert not staging.resources("kubernetes:core/v1:Secret") or not [
        s for s in staging.resources("kubernetes:core/v1:Secret") if s["inputs"].get("type") == "kubernetes.io/dockerconfigjson"
    ], "nodes pull through their role: no pull secret"
    assert staging.plan["outputs"]["registry_push_credentials"] == "[secret]"


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
    assert "S3_ACCESS_KEY_ID" not in env and env["S3_BUCKET"]["value"] == "meteor-platform-aws-staging-files"
    # The AWS SDK for JavaScript takes no region from the instance metadata: the default chain reads AWS_REGION.
    assert env["AWS_REGION"]["value"] == env["S3_REGION"]["value"] == "eu-central-1"
    assert staging.one("kubernetes:core/v1:ServiceAccount", "todos-identity")["inputs"]["metadata"]["name"] == "todos"


# -- EC2 Docker hosts ------------------------------------------------------------------------------------


def test_hosts_require_imdsv2_and_encrypt_their_root_volume(hosts: Run) -> None:
    [instance] = hosts.resources("aws:ec2/instance:Instance")
    inputs = instance["inputs"]
    assert inputs["metadataOptions"]["httpTokens"] == "required"
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
    run = run_config(tmp_path, plain, stack="aws-ssm")
    [group] = run.resources("aws:ec2/securityGroup:SecurityGroup")
    assert all(rule["fromPort"] != 22 for rule in group["inputs"]["ingress"])
    policies = {r["inputs"]["policyArn"] for r in run.resources("aws:iam/rolePolicyAttachment:RolePolicyAttachment")}
    assert "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore" in policies
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
                assert all(r != "*" for r in resources), (name, resources)


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


LEAN_AWS = {"dlm", "ec2", "ebs", "ecr", "eks", "iam", "kms", "s3"}


@pytest.mark.parametrize("stack", sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml")))
def test_stacks_import_only_the_aws_modules_they_use(stack: str) -> None:
    probe = f"""
import sys
from pathlib import Path
from offline_plan.runtime import run_program
run_program(Path({str(ROOT)!r}), {stack!r})
loaded = sorted({{m.split(".")[1] for m, mod in list(sys.modules.items()) if m.startswith("pulumi_aws.") and type(mod).__name__ != "_LazyModule"}})
print(("pulumi_aws" in sys.modules), ",".join(loaded))
"""
    proc = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=120, check=True)
    imported, _, loaded = proc.stdout.strip().splitlines()[-1].partition(" ")
    # The root package's own modules (functions, provider, types) load with it; services are the subpackages.
    root_modules = {"outputs", "provider", "trim_iam_role_path", "user_agent"}
    services = {m for m in loaded.split(",") if m and not m.startswith(("_", "get_", "arn_")) and m not in root_modules}
    if stack.startswith("aws-"):
        assert services and services <= LEAN_AWS, services
    else:
        assert imported == "False", f"{stack} imports pulumi_aws"


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
