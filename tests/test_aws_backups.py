"""MongoDB backups on AWS: dumps under their own prefix of the stack's S3 bucket through an identity that
reaches that prefix only (EKS Pod Identity; an IAM user's key on EC2 Docker hosts), expired by the
bucket's lifecycle rule; the exported restore works on both targets; EBS snapshots in production."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.aws.snapshots import DLM_TEXT
from components.config import ConfigError, parse_config
from components.mongo.restore import DOWNLOAD_SCRIPT
from components.storage import POD_IDENTITY_CREDENTIALS_URL
from components.storage.aws import S3_DUMPS_PREFIX
from offline_plan.fakes.aws import AWS_ACCOUNT
from tests.harness import IMAGE, ROOT, Run, run_config, shipped
from tests.test_backups import CONTAINER, DUMP, executable, restore_job, run_script

# The default bucket names (meteor-<stack>-<account>: components/storage/aws.py default_bucket_name).
STAGING_BUCKET = f"meteor-aws-staging-{AWS_ACCOUNT}"
HOSTS_BUCKET = f"meteor-aws-hosts-{AWS_ACCOUNT}"

BUCKET = "aws:s3/bucket:Bucket"
LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
DUMPS = "meteor-storage.mongo-dumps"
DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy"


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("aws-staging")


@pytest.fixture(scope="module")
def production() -> Run:
    return shipped("aws-production")


@pytest.fixture(scope="module")
def hosts() -> Run:
    return shipped("aws-hosts")


def shipped_config(stack: str) -> dict[str, Any]:
    """The shipped stack's config, its app running a pinned image (a temporary project has no sources)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())["config"]
    config = {key.split(":", 1)[1]: value for key, value in document.items() if key.startswith("meteor-platform:")}
    for app in config["apps"]:
        app.pop("build", None)
        app.pop("migrate", None)
        app["image"] = IMAGE
    return config


def statements(run: Run, type_: str, name: str) -> list[dict[str, Any]]:
    return json.loads(run.one(type_, name)["inputs"]["policy"])["Statement"]


def assert_confined_to_dumps(found: list[dict[str, Any]], bucket: str) -> None:
    """Put and get under the dumps prefix, list only that prefix: nothing else, no delete."""
    arn = f"arn:aws:s3:::{bucket}"
    assert sorted((s["Action"], s["Resource"]) for s in found) == [
        (["s3:GetObject", "s3:PutObject"], [f"{arn}/{S3_DUMPS_PREFIX}*"]),
        (["s3:ListBucket"], [arn]),
    ]
    [listing] = [s for s in found if s["Action"] == ["s3:ListBucket"]]
    assert listing["Condition"] == {"StringLike": {"s3:prefix": [f"{S3_DUMPS_PREFIX}*"]}}


# -- the bucket expires dumps -------------------------------------------------------------------------


def test_the_s3_bucket_expires_dumps_and_their_old_versions_after_the_retention(staging: Run, hosts: Run, production: Run) -> None:
    for run, days in ((staging, 14), (hosts, 14), (production, 30)):
        assert run.resources("aws:s3/bucketVersioning:BucketVersioning")[0]["inputs"]["versioningConfiguration"] == {"status": "Enabled"}
        rules = {r["id"]: r for r in run.one(LIFECYCLE, "meteor-storage-lifecycle")["inputs"]["rules"]}
        dumps = rules["expire-mongo-dumps"]
        assert dumps["filter"] == {"prefix": S3_DUMPS_PREFIX} and dumps["status"] == "Enabled"
        assert dumps["expiration"] == {"days": days}
        assert dumps["noncurrentVersionExpiration"] == {"noncurrentDays": days}, "a deleted or overwritten dump stays for the retention"
        assert "expire-noncurrent-versions" in rules, "the apps' rule stays"


def test_no_app_can_reach_the_dumps_prefix(tmp_path: Path) -> None:
    """App names are DNS labels: no app's `<app>/` prefix covers `_backups/` (an app named `backups` included)."""
    config = shipped_config("aws-staging")
    config["apps"][0]["name"] = "backups"
    run = run_config(tmp_path, config, stack="aws-staging")
    [app_policy] = [r for r in run.resources("aws:iam/rolePolicy:RolePolicy") if r["name"] == "meteor-storage-backups"]
    resources = [res for s in json.loads(app_policy["inputs"]["policy"])["Statement"] for res in s["Resource"]]
    assert not any(S3_DUMPS_PREFIX in res for res in resources)
    assert_confined_to_dumps(statements(run, "aws:iam/rolePolicy:RolePolicy", DUMPS), STAGING_BUCKET)


# -- EKS: the backup job's own identity ---------------------------------------------------------------


def assert_only_holds_the_role(template: dict[str, Any], holder: str) -> None:
    """The Pod Identity webhook injects the role's credentials into every container and init container
    except those named, comma-separated, in the pod annotation `eks.amazonaws.com/skip-containers`
    (aws/amazon-eks-pod-identity-webhook pkg/handler/handler.go getContainersToSkip, getPodSpecPatch):
    every container but `holder` is named, so the one beside the root password gets nothing."""
    spec = template["spec"]
    names = {c["name"] for c in [*spec.get("initContainers", []), *spec["containers"]]}
    skipped = template["metadata"]["annotations"]["eks.amazonaws.com/skip-containers"].split(",")
    assert holder in names and sorted(skipped) == sorted(names - {holder})


def test_the_eks_backup_job_writes_through_its_own_pod_identity(staging: Run) -> None:
    role = staging.one("aws:iam/role:Role", DUMPS)
    [trust] = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    # EKS Pod Identity assumes the role as pods.eks.amazonaws.com and tags the session (docs.aws.amazon.com/
    # eks/latest/userguide/pod-id-role.html): both actions, that principal only.
    assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and trust["Action"] == ["sts:AssumeRole", "sts:TagSession"]
    assert_confined_to_dumps(statements(staging, "aws:iam/rolePolicy:RolePolicy", DUMPS), STAGING_BUCKET)
    association = staging.one("aws:eks/podIdentityAssociation:PodIdentityAssociation", DUMPS)["inputs"]
    assert association["namespace"] == "meteor-mongo" and association["serviceAccount"] == "mongo-backup"
    assert association["roleArn"] == staging.state(role)["arn"]
    account = staging.one("kubernetes:core/v1:ServiceAccount", "meteor-mongo-backup-identity")["inputs"]
    assert account["metadata"]["name"] == "mongo-backup" and account["metadata"]["namespace"] == "meteor-mongo"
    assert account["automountServiceAccountToken"] is False
    cron = staging.one("kubernetes:batch/v1:CronJob", "meteor-mongo-backup")["inputs"]
    pod = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mongo-backup", "the pods run as the associated service account"
    assert pod["automountServiceAccountToken"] is False, "Pod Identity mounts its own token; no Kubernetes API token"
    [upload] = pod["containers"]
    assert_only_holds_the_role(cron["spec"]["jobTemplate"]["spec"]["template"], "upload")
    env = {e["name"]: e for e in upload["env"]}
    # No key anywhere: the bare endpoint, and mc asks the Pod Identity agent (MC_STS_ENDPOINT_<alias>).
    assert env["MC_HOST_backup"] == {"name": "MC_HOST_backup", "value": "https://s3.eu-central-1.amazonaws.com"}
    assert env["MC_STS_ENDPOINT_backup"]["value"] == POD_IDENTITY_CREDENTIALS_URL
    assert env["MC_REGION"]["value"] == "eu-central-1"
    assert env["BACKUP_PREFIX"]["value"] == S3_DUMPS_PREFIX and env["BACKUP_BUCKET"]["value"] == STAGING_BUCKET
    assert not staging.resources("kubernetes:core/v1:Secret") or all(
        r["name"] != "meteor-mongo-backup" for r in staging.resources("kubernetes:core/v1:Secret")
    ), "no bucket key Secret"
    document = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": {"name": "b", "namespace": "meteor-mongo"}, "spec": cron["spec"]}
    kubernetes_validate.validate(document, "1.33.0", strict=True)


def test_the_eks_backup_job_reaches_s3_and_the_pod_identity_agent_only(staging: Run) -> None:
    policy = staging.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-backup-network-policy")["inputs"]["spec"]
    blocks = {(rule["to"][0]["ipBlock"]["cidr"], rule["ports"][0]["port"]) for rule in policy["egress"] if "ipBlock" in rule["to"][0]}
    assert blocks == {("0.0.0.0/0", 443), ("169.254.170.23/32", 80)}, "S3 over HTTPS, the agent that hands out the role's credentials"


def test_the_eks_restore_job_runs_as_the_backup_identity(staging: Run, tmp_path: Path) -> None:
    job = restore_job(staging, tmp_path)
    kubernetes_validate.validate(job, "1.33.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    assert pod["serviceAccountName"] == "mongo-backup" and pod["automountServiceAccountToken"] is False
    [download] = pod["initContainers"]
    assert_only_holds_the_role(job["spec"]["template"], "download")
    env = {e["name"]: e for e in download["env"]}
    assert env["MC_HOST_backup"]["value"] == "https://s3.eu-central-1.amazonaws.com"
    assert env["MC_STS_ENDPOINT_backup"]["value"] == POD_IDENTITY_CREDENTIALS_URL and env["MC_REGION"]["value"] == "eu-central-1"
    assert env["BACKUP_PREFIX"]["value"] == S3_DUMPS_PREFIX and env["DUMP"]["value"] == DUMP
    assert download["command"] == ["sh", "-c", DOWNLOAD_SCRIPT]
    restore_labels = job["spec"]["template"]["metadata"]["labels"]
    policy = staging.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "meteor-mongo-backup-network-policy")["inputs"]["spec"]
    assert policy["podSelector"]["matchLabels"].items() <= restore_labels.items(), "the agent and S3 are reachable from it too"


# -- EC2 Docker hosts: an IAM user's key, held by the uploader only ------------------------------------


def test_the_hosts_uploader_holds_a_key_confined_to_the_dumps(hosts: Run) -> None:
    assert_confined_to_dumps(statements(hosts, "aws:iam/userPolicy:UserPolicy", DUMPS), HOSTS_BUCKET)
    key = hosts.one("aws:iam/accessKey:AccessKey", DUMPS)
    upload = hosts.one(CONTAINER, "meteor-mongo-backup-upload")
    assert upload["inputs"]["envs"] == "[secret]", "the key reaches the container as a secret"
    env = dict(e.split("=", 1) for e in hosts.state(upload)["envs"])
    secret = hosts.state(key)["secret"]
    assert env["MC_HOST_backup"] == f"https://{key['id']}:{secret}@s3.eu-central-1.amazonaws.com"
    assert env["MC_REGION"] == "eu-central-1" and "MC_STS_ENDPOINT_backup" not in env
    assert env["BACKUP_PREFIX"] == S3_DUMPS_PREFIX and env["BACKUP_BUCKET"] == HOSTS_BUCKET
    # The instance role (every app container that reaches the metadata service) never reaches the dumps.
    host_policy = json.dumps(statements(hosts, "aws:iam/rolePolicy:RolePolicy", "meteor-storage-hosts"))
    assert S3_DUMPS_PREFIX not in host_policy
    dumper = hosts.state(hosts.one(CONTAINER, "meteor-mongo-backup-dump"))
    assert secret not in json.dumps(dumper), "the dump container never holds the key"


def test_the_hosts_restore_streams_the_dump_from_s3(hosts: Run, tmp_path: Path) -> None:
    (tmp_path / "bin").mkdir()
    executable(
        tmp_path / "bin" / "docker",
        f'#!/bin/sh\nprintf "%s\\n" "$*" >> {tmp_path}/docker.log\nif [ "$3" = mc ]; then echo ARCHIVE; exit 0; fi\ncat > {tmp_path}/stdin\n',
    )
    done = run_script(hosts.plan["outputs"]["mongo_restore"], tmp_path, {"DUMP": DUMP})
    assert done.returncode == 0, done.stderr
    uploader = hosts.one(CONTAINER, "meteor-mongo-backup-upload")["inputs"]["name"]
    dumper = hosts.one(CONTAINER, "meteor-mongo-backup-dump")["inputs"]["name"]
    calls = (tmp_path / "docker.log").read_text().splitlines()
    assert f"exec {uploader} mc cat backup/{HOSTS_BUCKET}/{S3_DUMPS_PREFIX}{DUMP}" in calls, "with the uploader's key"
    assert f"exec -i {dumper} sh -c set -eu" in calls, "into mongorestore beside MongoDB"
    assert (tmp_path / "stdin").read_text() == "ARCHIVE\n"


# -- configuration ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stack", "change", "message"),
    [
        (
            "aws-staging",
            {"storage": {"provider": "gridfs"}, "mongo": {"backup": {"enabled": True}}},
            r"meteor-platform:mongo\.backup\.enabled: got true; expected storage\.provider 'spaces' or 's3' with it",
        ),
        (
            "aws-hosts",
            {"mongo": {"backup": {"bucket": "my-dumps"}}},
            r"meteor-platform:mongo\.backup\.bucket: got 'my-dumps'; expected it unset with storage\.provider 's3'",
        ),
        (
            "aws-staging",
            {"mongo": {"storageProvisioner": None, "storageClass": "gp3"}, "aws": {"snapshots": {"enabled": True}}},
            r"meteor-platform:aws\.snapshots\.enabled: got true; expected an EBS data volume to snapshot",
        ),
        (
            "aws-production",
            {"mongo": {"storageProvisioner": None, "storageClass": "gp3"}},
            r"configuration:\n  meteor-platform:mongo\.storageClass: got 'gp3'; expected mongo\.storageProvisioner 'ebs\.csi\.aws\.com' in production "
            r"on EKS: scheduled EBS snapshots \(aws\.snapshots\) cover only the volumes of the StorageClass the platform creates; "
            r"or set aws\.snapshots\.enabled false to run without them \(README: Backups and restore\)$",
        ),
    ],
)
def test_backups_that_cannot_work_are_refused(stack: str, change: dict[str, Any], message: str) -> None:
    config = shipped_config(stack)
    for key, value in change.items():
        merged = {**config.get(key, {}), **value} if isinstance(value, dict) else value
        config[key] = {k: v for k, v in merged.items() if v is not None}
    with pytest.raises(ConfigError, match=message):
        parse_config(config, set(), project_dir=ROOT)


# -- EBS snapshots ------------------------------------------------------------------------------------


def test_production_snapshots_the_mongo_volumes_the_storage_class_tags(production: Run, staging: Run) -> None:
    [policy] = production.resources(DLM)
    details = policy["inputs"]["policyDetails"]
    [storage_class] = production.resources("kubernetes:storage.k8s.io/v1:StorageClass")
    # The EBS CSI driver tags every volume a class provisions with each `tagSpecification*` parameter's
    # key=value (kubernetes-sigs/aws-ebs-csi-driver docs/tagging.md): the tag DLM targets.
    key, value = storage_class["inputs"]["parameters"]["tagSpecification_1"].split("=", 1)
    assert details["targetTags"] == {key: value} == {"meteor-platform/snapshots": "aws-production"}
    assert details["resourceTypes"] == ["VOLUME"] and details["policyType"] == "EBS_SNAPSHOT_MANAGEMENT"
    [schedule] = details["schedules"]
    assert schedule["createRule"] == {"interval": 24, "intervalUnit": "HOURS", "times": "01:30"}
    assert schedule["retainRule"] == {"interval": 14, "intervalUnit": "DAYS"} and schedule["copyTags"] is True
    assert policy["inputs"]["state"] == "ENABLED"
    assert re.fullmatch(DLM_TEXT, policy["inputs"]["description"]) and re.fullmatch(DLM_TEXT, schedule["name"]), "DLM refuses others"
    role = production.one("aws:iam/role:Role", "meteor-snapshots-role")
    assert policy["inputs"]["executionRoleArn"] == production.state(role)["arn"]
    [trust] = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"]
    assert trust["Principal"] == {"Service": "dlm.amazonaws.com"}
    attachment = production.one("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "meteor-snapshots-role")["inputs"]
    assert attachment["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
    assert not staging.resources(DLM), "on by default in production only"


def test_production_hosts_snapshot_their_data_volume(hosts: Run) -> None:
    [policy] = hosts.resources(DLM)
    [volume] = hosts.resources("aws:ebs/volume:Volume")
    assert policy["inputs"]["policyDetails"]["targetTags"] == {"Name": volume["inputs"]["tags"]["Name"]}
    [root] = [r for r in hosts.resources("aws:ec2/instance:Instance")]
    assert root["inputs"]["tags"]["Name"] != volume["inputs"]["tags"]["Name"], "the instance is not targeted"


def test_snapshot_retention_and_time_come_from_config(tmp_path: Path) -> None:
    config = shipped_config("aws-staging")
    config["aws"]["snapshots"] = {"enabled": True, "retentionDays": 30, "time": "23:45"}
    [policy] = run_config(tmp_path, config, stack="aws-staging").resources(DLM)
    [schedule] = policy["inputs"]["policyDetails"]["schedules"]
    assert schedule["retainRule"] == {"interval": 30, "intervalUnit": "DAYS"} and schedule["createRule"]["times"] == "23:45"


def test_production_on_an_existing_storage_class_runs_without_snapshots_only_when_told() -> None:
    config = shipped_config("aws-production")
    config["mongo"] = {**{k: v for k, v in config["mongo"].items() if k != "storageProvisioner"}, "storageClass": "gp3"}
    config["aws"]["snapshots"] = {"enabled": False}
    parse_config(config, set(), project_dir=ROOT)


def test_the_snapshot_schedule_keeps_its_name_whatever_the_retention(production: Run, tmp_path: Path) -> None:
    """ "If you modify a schedule name, the snapshots or AMIs created under the old schedule name are no
    longer managed by the policy" (docs.aws.amazon.com/ebs/latest/userguide/modify.html): a retention
    change must not rename the schedule, or the snapshots made so far would never expire."""
    config = shipped_config("aws-production")
    config["aws"]["snapshots"] = {"retentionDays": 30}
    [changed] = run_config(tmp_path, config, stack="aws-production").resources(DLM)
    [schedule] = changed["inputs"]["policyDetails"]["schedules"]
    [shipped] = production.resources(DLM)[0]["inputs"]["policyDetails"]["schedules"]
    assert schedule["retainRule"]["interval"] == 30 != shipped["retainRule"]["interval"]
    assert schedule["name"] == shipped["name"]


# -- the MongoDB StorageClass never changes with snapshots ----------------------------------------------

STORAGE_CLASS = "kubernetes:storage.k8s.io/v1:StorageClass"
STATEFUL_SET = "kubernetes:apps/v1:StatefulSet"


def test_turning_snapshots_on_or_off_touches_neither_the_storage_class_nor_mongo(staging: Run, tmp_path: Path) -> None:
    """pulumi-kubernetes replaces a StorageClass whose parameters change and a StatefulSet whose
    volumeClaimTemplates change (provider/pkg/provider/diff.go; offline_plan/provider_facts.yaml): the
    class carries the snapshot tag whether snapshots are on or not, so toggling them is the DLM policy only."""
    from offline_plan.changes import plan_changes

    config = shipped_config("aws-staging")
    (tmp_path / "off").mkdir()
    (tmp_path / "on").mkdir()
    off = run_config(tmp_path / "off", config, stack="aws-staging")
    config["aws"]["snapshots"] = {"enabled": True, "retentionDays": 30}
    on = run_config(tmp_path / "on", config, stack="aws-staging")
    for run in (off, on):
        # Already there with snapshots off: ignore_changes would keep a class without it once they are on.
        [storage_class] = run.resources(STORAGE_CLASS)
        assert storage_class["inputs"]["parameters"]["tagSpecification_1"] == "meteor-platform/snapshots=aws-staging"
        assert storage_class["ignoreChanges"] == ["parameters"]
    for before, after in ((off, on), (on, off)):
        touched = {c.type: c.action for c in plan_changes(before.plan, after.plan).resources}
        assert touched.get(DLM) in ("create", "delete")
        assert STORAGE_CLASS not in touched and STATEFUL_SET not in touched, touched


def test_a_storage_class_deployed_before_the_snapshot_tag_is_kept(production: Run) -> None:
    """A stack deployed before the class carried the tag: its class and MongoDB stay as they are
    (`ignore_changes` on the parameters; the engine ignores them "for purposes of updates or replacements",
    pulumi ResourceOptions), where a replacement would be refused (protected) or delete MongoDB first."""
    import copy

    from offline_plan.changes import plan_changes

    before = copy.deepcopy(production.plan)
    [storage_class] = [r for r in before["resources"] if r["type"] == STORAGE_CLASS]
    del storage_class["inputs"]["parameters"]["tagSpecification_1"]
    touched = {c.type: c.action for c in plan_changes(before, production.plan).resources}
    assert STORAGE_CLASS not in touched and STATEFUL_SET not in touched, touched
