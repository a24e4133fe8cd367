"""Run the real program for a stack under Pulumi's mock runtime and record what it registers.

The mocks answer like the providers would (auto-named Kubernetes objects, generated passwords,
cluster IPs), derived from a hash of the resource's name so every run is identical. The
recording monitor captures each RegisterResourceRequest: parent, dependencies, protect and the
inputs, with secrets redacted before anything leaves the process.
"""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

import gc
import hashlib
import json
import runpy
import string
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format
from pulumi.runtime.mocks import MockCallArgs, MockMonitor, MockResourceArgs, Mocks
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await  # pyright: ignore[reportPrivateUsage]

from components import catalogue
from components.secrets import UNKNOWN_SECURE
from components.stackfile import read_stack_file, stack_file_path

PROJECT = "meteor-platform"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
REDACTED = "[secret]"
UNKNOWN_TEXT = "[unknown]"

STACK_TYPE = "pulumi:pulumi:Stack"
KUBERNETES_READ_BACK = {"apiVersion", "kind", "metadata", "stringData", "data", "type"}
CLUSTER_SCOPED_KINDS = {"Namespace", "StorageClass", "ClusterRole", "ClusterRoleBinding", "PersistentVolume"}


def _digest(*parts: str) -> str:
    return hashlib.sha256("/".join(parts).encode()).hexdigest()


def generated_password(name: str, length: int) -> str:
    """What the mock answers for a RandomPassword: deterministic, alphanumeric, unmistakable."""
    alphabet = string.ascii_letters + string.digits
    seed = _digest("password", name)
    out: list[str] = []
    while len(out) < length:
        seed = _digest(seed)
        out.extend(alphabet[int(seed[i : i + 2], 16) % len(alphabet)] for i in range(0, 64, 2))
    return "".join(out[:length])


class PlanMocks(Mocks):
    """Realistic provider answers, deterministic per resource name."""

    def __init__(
        self,
        root: Path | None = None,
        *,
        token_round: int = 0,
        doks_minors: Sequence[str] = catalogue.DOKS_MINORS,
        doks_deployed_version: str | None = None,
        ami_round: int = 0,
    ) -> None:
        self.generated_secrets: list[str] = []
        self.ami_round = ami_round
        """Which image `most_recent` AMI look-ups find: AWS publishes newer ones between runs."""
        self.root = root
        self.token_round = token_round
        """Which API tokens the providers mint this run: a DigitalOcean kubeconfig download and an ECR
        authorization token are new every time."""
        self.doks_minors = tuple(doks_minors)
        """The Kubernetes minors the (mocked) DigitalOcean API offers."""
        self.doks_deployed_version = doks_deployed_version
        self.aws_regions: dict[str, str] = {}
        """The region of each explicit AWS provider, by the provider reference its resources carry."""
        self.invokes: list[tuple[str, str]] = []
        """Every data-source call: its token and the provider reference it went through ('' for the default)."""
        """The version a DOKS cluster already runs (its `version` output); None: a new cluster, what it was asked for."""

    def new_resource(self, args: MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        state: dict[str, Any] = dict(args.inputs)
        if args.typ == "pulumi:pulumi:StackReference":
            return self._stack_reference(str(args.inputs.get("name") or args.resource_id or args.name))
        resource_id = f"{args.name}-{_digest(args.typ, args.name)[:8]}"
        if args.typ == "random:index/randomPassword:RandomPassword":
            result = generated_password(args.name, int(args.inputs.get("length", 16)))
            self.generated_secrets.append(result)
            state["result"] = result
            state["bcryptHash"] = "$2a$10$" + _digest("bcrypt", args.name)[:53]
            resource_id = "none"
        elif args.typ in PROVIDER_OUTPUTS:
            resource_id, outputs = PROVIDER_OUTPUTS[args.typ](self, args.name, state)
            state.update(outputs)
        elif args.typ == "pulumi:providers:aws":
            self.aws_regions[resource_id] = str(state.get("region") or DEFAULT_AWS_REGION)
        elif args.typ.startswith("aws:"):
            # pulumi-aws v7: a resource's own `region` overrides its provider's.
            region = str(state.get("region") or self.aws_region(args.provider))
            resource_id, outputs = _aws_resource(self, args.name, state, args.typ, region)
            state.update({k: v for k, v in outputs.items() if k not in state or k in ("arn", "id")})
        elif args.typ.startswith("kubernetes:") and "kind" in state:
            state = _kubernetes_state(args.name, state)
            meta = state["metadata"]
            resource_id = f"{meta['namespace']}/{meta['name']}" if "namespace" in meta else meta["name"]
            # Answer what programs read from a Kubernetes object (its metadata, a Secret's keys, a
            # Service's address), not an echo of every input: the SDK deserializes whatever comes back.
            state = {k: v for k, v in state.items() if k in KUBERNETES_READ_BACK or (k == "spec" and state["kind"] == "Service")}
        return resource_id, state

    def _stack_reference(self, stack_name: str) -> tuple[str, dict[str, Any]]:
        """Another stack's outputs, as its committed plan (`plans/<stack>.json`) records them."""
        outputs: dict[str, Any] = {}
        short = stack_name.rsplit("/", 1)[-1]
        plan_file = (self.root or Path.cwd()) / "plans" / f"{short}.json"
        try:
            outputs = json.loads(plan_file.read_text()).get("outputs") or {}
        except (OSError, ValueError):
            outputs = {}  # no committed plan: the stack exports nothing (the program reports it)
        return stack_name, {"name": stack_name, "outputs": outputs, "secretOutputNames": []}

    def aws_region(self, provider: str | None) -> str:
        """The region of the AWS provider behind a reference (`<urn>::<id>`); the default provider's: eu-central-1."""
        return self.aws_regions.get((provider or "").rsplit("::", 1)[-1], DEFAULT_AWS_REGION)

    def call(self, args: MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        self.invokes.append((args.token, str(args.provider or "")))
        if args.token == "aws:ec2/getAmi:getAmi":
            owner = (args.args.get("owners") or ["?"])[0]
            published = ("ami", str(owner)) if not self.ami_round else ("ami", str(owner), str(self.ami_round))
            return {"id": "ami-" + _digest(*published)[:17], "name": "newest-matching-image", "architecture": "x86_64"}, []
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "id": AWS_ACCOUNT,
                "accountId": AWS_ACCOUNT,
                "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/deployer",
                "userId": "AIDA0DEPLOYER",
            }, []
        if args.token == "aws:ecr/getAuthorizationToken:getAuthorizationToken":
            import base64

            # A new token on every call (pulumi/pulumi-docker#952): another round, another token.
            password = self.secret(f"ecr-token-{self.token_round}", 64)
            token = base64.b64encode(f"AWS:{password}".encode()).decode()
            region = self.aws_region(args.provider)
            endpoint = f"https://{AWS_ACCOUNT}.dkr.ecr.{region}.amazonaws.com"
            return {
                "id": region,
                "authorizationToken": token,
                "password": password,
                "userName": "AWS",
                "proxyEndpoint": endpoint,
                "expiresAt": f"2026-01-01T{12 + self.token_round % 12:02d}:00:00Z",  # twelve hours after the call
            }, []
        if args.token == "digitalocean:index/getKubernetesVersions:getKubernetesVersions":
            # As the provider answers: every offered slug starting with the prefix, newest first, and
            # no latestVersion when none does.
            prefix = str(args.args.get("versionPrefix") or "")
            offered = [f"{minor}.{patch}-do.0" for minor in sorted(self.doks_minors, reverse=True) for patch in (4, 3, 1)]
            valid = [slug for slug in offered if slug.startswith(prefix)]
            answer: dict[str, Any] = {"id": "versions", "validVersions": valid, "versionPrefix": prefix}
            if valid:
                answer["latestVersion"] = valid[0]
            return answer, []
        return {}, []

    def secret(self, name: str, length: int = 32) -> str:
        """A generated credential; recorded so tests can prove it never leaks."""
        value = generated_password(name, length)
        self.generated_secrets.append(value)
        return value


def _do_kubernetes_cluster(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cluster_id = _uuid("doks/" + name)
    host = f"https://{cluster_id}.k8s.ondigitalocean.com"
    token = "dop_v1_" + mocks.secret(f"{name}-kubeconfig-token-{mocks.token_round}", 64)
    cluster_name = state.get("name", name)
    kubeconfig = yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": f"do-{cluster_name}", "cluster": {"server": host, "certificate-authority-data": "TU9DSy1DQQ=="}}],
            "users": [{"name": f"do-{cluster_name}-admin", "user": {"token": token}}],
            "contexts": [{"name": f"do-{cluster_name}", "context": {"cluster": f"do-{cluster_name}", "user": f"do-{cluster_name}-admin"}}],
            "current-context": f"do-{cluster_name}",
        }
    )
    return cluster_id, {
        "version": mocks.doks_deployed_version or state.get("version", ""),
        "endpoint": host,
        "clusterUrn": f"do:kubernetes:{cluster_id}",
        "ipv4Address": "",
        "status": "running",
        "kubeConfigs": [
            {
                "rawConfig": kubeconfig,
                "host": host,
                "token": token,
                "clusterCaCertificate": "TU9DSy1DQQ==",
                "expiresAt": f"2027-01-{1 + mocks.token_round % 28:02d}T00:00:00Z",  # a week after the download
            }
        ],
    }


def _do_database_cluster(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cluster_id = _uuid("db/" + name)
    db_name = state.get("name", name)
    host = f"{db_name}-{cluster_id[:8]}.mongo.ondigitalocean.com"
    password = mocks.secret(f"{name}-doadmin")
    return cluster_id, {
        "host": host,
        "privateHost": f"private-{host}",
        "port": 27017,
        "user": "doadmin",
        "password": password,
        "database": "admin",
        "uri": f"mongodb+srv://doadmin:{password}@{host}/admin?tls=true&authSource=admin&replicaSet={db_name}",
        "privateUri": f"mongodb+srv://doadmin:{password}@private-{host}/admin?tls=true&authSource=admin&replicaSet={db_name}",
        "clusterUrn": f"do:dbaas:{cluster_id}",
    }


def _do_database_user(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return f"{state.get('clusterId', '')}/user/{state.get('name', name)}", {"password": mocks.secret(name), "role": "normal"}


def _do_spaces_key(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    access = "DO00" + generated_password(f"{name}-access", 16).upper()
    return access, {"accessKey": access, "secretKey": mocks.secret(f"{name}-secret", 43), "createdAt": "2026-01-01T00:00:00Z"}


def _do_spaces_bucket(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket, region = state.get("name", name), state.get("region", "fra1")
    return f"{region}:{bucket}", {
        "bucketDomainName": f"{bucket}.{region}.digitaloceanspaces.com",
        "endpoint": f"{region}.digitaloceanspaces.com",
        "urn": f"do:space:{bucket}",
    }


def _do_registry(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    registry = state.get("name", name)
    return registry, {
        "endpoint": f"registry.digitalocean.com/{registry}",
        "serverUrl": "registry.digitalocean.com",
        "storageUsageBytes": 0,
        "createdAt": "2026-01-01T00:00:00Z",
    }


def _do_registry_credentials(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    import base64

    # DigitalOcean's form: the API token as both user and password, base64 in `auth`. The same in every
    # round (unlike a kubeconfig download): a read (refresh) mints new credentials only once the stored
    # ones expired (terraform-provider-digitalocean, resource_container_registry_docker_credentials.go,
    # updateExpiredDockerCredentials), and `expirySeconds` defaults to 1576800000, "roughly 50 years"
    # (pinned pulumi_digitalocean/container_registry_docker_credentials.py).
    token = "dop_v1_" + mocks.secret(f"{name}-token", 48)
    auth = {"auths": {"registry.digitalocean.com": {"auth": base64.b64encode(f"{token}:{token}".encode()).decode()}}}
    return str(state.get("registryName", name)), {"dockerCredentials": json.dumps(auth), "credentialExpirationTime": "2075-12-20T00:00:00Z"}


def _do_droplet(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    n = int(_digest("droplet", name)[:6], 16)
    return str(400000000 + n), {
        "ipv4Address": f"203.0.113.{n % 250 + 2}",
        "ipv4AddressPrivate": f"10.120.0.{n % 250 + 2}",
        "ipv6Address": f"2001:db8::{n % 65535:x}",
        "urn": f"do:droplet:{400000000 + n}",
        "status": "active",
    }


def _do_simple(prefix: str, extra: dict[str, Any] | None = None) -> Any:
    def answer(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resource_id = _uuid(f"{prefix}/{name}")
        outputs = {"urn": f"do:{prefix}:{resource_id}", **(extra or {})}
        if prefix == "reservedip":
            resource_id = f"198.51.100.{int(_digest(name)[:2], 16) % 250 + 2}"
            outputs["ipAddress"] = resource_id
        if prefix == "sshkey":
            outputs["fingerprint"] = ":".join(_digest("fp", name)[i : i + 2] for i in range(0, 32, 2))
        if prefix == "tag":
            resource_id = state.get("name", name)
        return resource_id, outputs

    return answer


def _docker_image(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    ref = str(state.get("name", name))
    digest = "sha256:" + _digest("image", ref)
    repository = ref.split("@")[0].rsplit(":", 1)[0] if "/" in ref.split("@")[0] or ":" in ref else ref
    return f"{digest}{ref}", {"imageId": digest, "repoDigest": f"{repository}@{digest}"}


def _docker_container(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    container_id = _digest("container", name)
    return container_id, {"name": state.get("name") or f"{name}-{container_id[:7]}", "exitCode": 0, "containerLogs": ""}


def _docker_named(kind: str) -> Any:
    def answer(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        object_name = state.get("name") or f"{name}-{_digest(kind, name)[:7]}"
        outputs: dict[str, Any] = {"name": object_name}
        if kind == "volume":
            outputs["mountpoint"] = f"/var/lib/docker/volumes/{object_name}/_data"
            return object_name, outputs
        return _digest(kind, name), outputs

    return answer


def _docker_build_image(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What a push answers: the first tag with the build's digest (here: of the build's inputs)."""
    tags = [str(t) for t in state.get("tags") or []]
    digest = "sha256:" + _digest(
        "build", json.dumps({k: state.get(k) for k in ("context", "dockerfile", "buildArgs", "tags")}, sort_keys=True)
    )
    ref = f"{tags[0]}@{digest}" if tags else digest
    return digest, {"digest": digest, "ref": ref, "contextHash": _digest("context", name)}


def _local_command(_mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A promotion copy step prints the target reference (repository@digest); other local commands print nothing."""
    env = state.get("environment") or {}
    if isinstance(env, dict) and env.get(SECRET_SIG) == SECRET_VALUE_SIG:  # a map holding a secret arrives wrapped
        env = env.get("value") or {}
    source, target = env.get("SOURCE_REF"), env.get("TARGET_REPOSITORY")
    stdout = f"{target}@{str(source).split('@', 1)[1]}" if isinstance(source, str) and "@" in source and isinstance(target, str) else ""
    return f"{name}-{_digest('local', name)[:8]}", {"stdout": stdout, "stderr": ""}


AWS_ACCOUNT = "123456789012"
DEFAULT_AWS_REGION = "eu-central-1"
AWS_ID_PREFIXES = {
    "aws:ec2/vpc:Vpc": "vpc",
    "aws:ec2/subnet:Subnet": "subnet",
    "aws:ec2/internetGateway:InternetGateway": "igw",
    "aws:ec2/natGateway:NatGateway": "nat",
    "aws:ec2/eip:Eip": "eipalloc",
    "aws:ec2/routeTable:RouteTable": "rtb",
    "aws:ec2/routeTableAssociation:RouteTableAssociation": "rtbassoc",
    "aws:ec2/securityGroup:SecurityGroup": "sg",
    "aws:ec2/instance:Instance": "i",
    "aws:ec2/launchTemplate:LaunchTemplate": "lt",
    "aws:ebs/volume:Volume": "vol",
}


def _aws_resource(mocks: PlanMocks, name: str, state: dict[str, Any], typ: str, region: str) -> tuple[str, dict[str, Any]]:
    """What AWS answers in `region`: ids in each service's form, ARNs in the account, the outputs the program reads."""
    hexid = _digest("aws", typ, name)[:17]
    service = typ.split(":")[1].split("/")[0]
    resource_name = str(state.get("name") or state.get("bucket") or f"{name}-{hexid[:7]}")
    resource_id = f"{AWS_ID_PREFIXES[typ]}-{hexid}" if typ in AWS_ID_PREFIXES else resource_name
    outputs: dict[str, Any] = {
        "arn": f"arn:aws:{service}:{region}:{AWS_ACCOUNT}:{typ.rsplit(':', 1)[1].lower()}/{resource_name}",
        "id": resource_id,
    }
    if typ == "aws:iam/role:Role":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:role/{resource_name}", "uniqueId": "AROA" + hexid.upper()}
    elif typ == "aws:iam/instanceProfile:InstanceProfile":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:instance-profile/{resource_name}"}
    elif typ == "aws:s3/bucket:Bucket":
        outputs |= {
            "bucket": resource_name,
            "arn": f"arn:aws:s3:::{resource_name}",
            "bucketRegionalDomainName": f"{resource_name}.s3.{region}.amazonaws.com",
        }
    elif typ == "aws:ecr/repository:Repository":
        outputs |= {"repositoryUrl": f"{AWS_ACCOUNT}.dkr.ecr.{region}.amazonaws.com/{resource_name}", "registryId": AWS_ACCOUNT}
    elif typ == "aws:eks/cluster:Cluster":
        outputs |= {
            "endpoint": f"https://{hexid.upper()}.gr7.{region}.eks.amazonaws.com",
            "certificateAuthority": {"data": "TU9DSy1DQQ=="},
            "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:cluster/{resource_name}",
            "name": resource_name,
        }
    elif typ == "aws:eks/nodeGroup:NodeGroup":
        # The provider names the group and EKS its Auto Scaling group (eks-<group>-<uuid>).
        group = str(state.get("nodeGroupName") or resource_name)
        outputs |= {
            "nodeGroupName": group,
            "arn": f"arn:aws:eks:{region}:{AWS_ACCOUNT}:nodegroup/{state.get('clusterName')}/{group}/{_uuid(name)}",
            "resources": [{"autoscalingGroups": [{"name": f"eks-{group}-{_uuid(name)}"}], "remoteAccessSecurityGroupId": ""}],
        }
    elif typ == "aws:ssm/parameter:Parameter":
        # A name's leading `/` is not doubled after `parameter` (the Service Authorization Reference, as
        # parliament's IAM database holds it: `parameter/${ParameterNameWithoutLeadingSlash}`).
        outputs |= {"name": resource_name, "arn": f"arn:aws:ssm:{region}:{AWS_ACCOUNT}:parameter/{resource_name.removeprefix('/')}"}
    elif typ == "aws:ec2/instance:Instance":
        n = int(hexid[:6], 16)
        outputs |= {"publicIp": "", "privateIp": f"10.130.0.{n % 250 + 4}"}
    elif typ == "aws:ec2/eip:Eip":
        outputs |= {"publicIp": f"203.0.113.{int(hexid[:4], 16) % 250 + 2}"}
    elif typ == "aws:ec2/launchTemplate:LaunchTemplate":
        outputs |= {"latestVersion": 1}
    elif typ == "aws:sns/topic:Topic":
        # SNS ARNs end in the topic's name, with no resource-type segment; the id is the ARN.
        outputs |= {"name": resource_name, "arn": f"arn:aws:sns:{region}:{AWS_ACCOUNT}:{resource_name}"}
        resource_id = outputs["arn"]
    elif typ == "aws:route53/healthCheck:HealthCheck":
        # Health checks are global: a UUID id, an ARN with neither region nor account.
        outputs |= {"id": _uuid(name), "arn": f"arn:aws:route53:::healthcheck/{_uuid(name)}"}
        resource_id = _uuid(name)
    elif typ == "aws:lambda/function:Function":
        outputs |= {"name": resource_name, "arn": f"arn:aws:lambda:{region}:{AWS_ACCOUNT}:function:{resource_name}"}
    elif typ == "aws:cloudwatch/metricAlarm:MetricAlarm":
        outputs |= {"name": resource_name, "arn": f"arn:aws:cloudwatch:{region}:{AWS_ACCOUNT}:alarm:{resource_name}"}
    elif typ == "aws:cloudwatch/logGroup:LogGroup":
        # `arn:aws:logs:<region>:<account>:log-group:<name>`, the `:*` CloudWatch Logs appends trimmed
        # (terraform-provider-aws internal/service/logs/group.go resourceGroupFlatten, trimLogGroupARNWildcardSuffix).
        outputs |= {"name": resource_name, "arn": f"arn:aws:logs:{region}:{AWS_ACCOUNT}:log-group:{resource_name}"}
    elif typ == "aws:kms/key:Key":
        outputs |= {"arn": f"arn:aws:kms:{region}:{AWS_ACCOUNT}:key/{_uuid(name)}", "keyId": _uuid(name)}
    elif typ == "aws:iam/user:User":
        outputs |= {"name": resource_name, "arn": f"arn:aws:iam::{AWS_ACCOUNT}:user/{resource_name}", "uniqueId": "AIDA" + hexid.upper()}
    elif typ == "aws:iam/accessKey:AccessKey":
        # The key's id is its access key id; the secret access key is a (sensitive) output.
        resource_id = "AKIA" + hexid.upper()[:16]
        outputs |= {"id": resource_id, "secret": mocks.secret(f"{name}-secret", 40)}
    return resource_id, outputs


def _tls_private_key(mocks: PlanMocks, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An ed25519 key pair as pulumi-tls answers: OpenSSH forms; the private one is a generated secret."""
    import base64

    public = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes.fromhex(_digest("hostkey", name))).decode()
    private = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + mocks.secret(f"{name}-private", 64) + "\n-----END OPENSSH PRIVATE KEY-----\n"
    return _digest("tls", name)[:40], {
        "publicKeyOpenssh": f"ssh-ed25519 {public}\n",
        "privateKeyOpenssh": private,
        "privateKeyPem": private,
        "publicKeyFingerprintSha256": "SHA256:" + _digest("fp256", name)[:43],
    }


PROVIDER_OUTPUTS: dict[str, Any] = {
    "docker-build:index:Image": _docker_build_image,
    "command:local:Command": _local_command,
    "tls:index/privateKey:PrivateKey": _tls_private_key,
    "digitalocean:index/volume:Volume": _do_simple("volume"),
    "docker:index/remoteImage:RemoteImage": _docker_image,
    "command:remote:Command": lambda _m, name, state: (f"{name}-{_digest('cmd', name)[:8]}", {"stdout": "28.2.2", "stderr": ""}),
    "docker:index/container:Container": _docker_container,
    "docker:index/network:Network": _docker_named("network"),
    "docker:index/volume:Volume": _docker_named("volume"),
    "digitalocean:index/kubernetesCluster:KubernetesCluster": _do_kubernetes_cluster,
    "digitalocean:index/databaseCluster:DatabaseCluster": _do_database_cluster,
    "digitalocean:index/databaseUser:DatabaseUser": _do_database_user,
    "digitalocean:index/spacesKey:SpacesKey": _do_spaces_key,
    "digitalocean:index/spacesBucket:SpacesBucket": _do_spaces_bucket,
    "digitalocean:index/containerRegistry:ContainerRegistry": _do_registry,
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": _do_registry_credentials,
    "digitalocean:index/droplet:Droplet": _do_droplet,
    "digitalocean:index/vpc:Vpc": _do_simple("vpc"),
    "digitalocean:index/reservedIp:ReservedIp": _do_simple("reservedip"),
    "digitalocean:index/sshKey:SshKey": _do_simple("sshkey"),
    "digitalocean:index/tag:Tag": _do_simple("tag"),
    "digitalocean:index/firewall:Firewall": _do_simple("firewall", {"status": "succeeded"}),
    "digitalocean:index/databaseFirewall:DatabaseFirewall": _do_simple("dbfirewall"),
    "digitalocean:index/databaseDb:DatabaseDb": _do_simple("db"),
    "digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration": _do_simple("cors"),
}


def _kubernetes_state(name: str, state: dict[str, Any]) -> dict[str, Any]:
    meta: dict[str, Any] = dict(state.get("metadata") or {})
    if not meta.get("name"):
        # Pulumi auto-names Kubernetes objects: logical name plus a random suffix.
        meta["name"] = f"{name}-{_digest('autoname', name)[:8]}"
    if state["kind"] not in CLUSTER_SCOPED_KINDS:
        meta.setdefault("namespace", "default")
    meta["uid"] = str(_uuid(name))
    meta["resourceVersion"] = "1"
    meta["creationTimestamp"] = "2026-01-01T00:00:00Z"
    state["metadata"] = meta
    if state["kind"] == "Service":
        spec = dict(state.get("spec") or {})
        if spec.get("clusterIP") != "None":
            value = int(_digest("ip", name)[:4], 16)
            spec["clusterIP"] = f"10.96.{value // 256 % 256}.{value % 254 + 1}"
        state["spec"] = spec
    return state


def _uuid(name: str) -> str:
    h = _digest("uid", name)
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def secret_digest(value: Any) -> str:
    """A digest that tells a changed secret from an unchanged one without revealing it.

    Offline, secret values are the mocks' stand-ins (generated passwords, not-decrypted `secure:`
    values), never a real credential; the digest is of those.
    """
    return _digest("meteor-platform/offline-plan/secret", json.dumps(value, sort_keys=True))[:16]


def redact(value: Any, position: str = "", digests: dict[str, str] | None = None) -> Any:
    """Secrets become `[secret]` (their digest kept in `digests` under their position), unknowns
    `[unknown]`, resource references their URN; whole floats ints."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == SECRET_VALUE_SIG:
            if digests is not None:
                digests[position] = secret_digest(value.get("value"))
            return REDACTED
        if value.get(SECRET_SIG) == RESOURCE_SIG:
            return value.get("urn")
        return {k: redact(v, f"{position}.{k}" if position else k, digests) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [redact(v, f"{position}[{i}]", digests) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if value == UNKNOWN:
        return UNKNOWN_TEXT
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@dataclass
class Recorded:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    aliases: list[str] = field(default_factory=lambda: [])
    """Earlier URNs of this resource (from `aliases`), as the engine would match them."""
    delete_before_replace: bool | None = None
    """The program's explicit `delete_before_replace` (None: the provider decides)."""
    ignore_changes: list[str] = field(default_factory=lambda: [])
    replace_on_changes: list[str] = field(default_factory=lambda: [])
    custom_timeouts: dict[str, str] = field(default_factory=lambda: {})
    """The program's `custom_timeouts` (create, update, delete): how long the provider waits."""
    additional_secret_outputs: list[str] = field(default_factory=lambda: [])
    """Outputs the program marks secret (a command's stdout, ...): the state keeps them encrypted."""
    state_name: str | None = None
    state_namespace: str | None = None
    id: str | None = None
    """The provider's id for a custom resource (the mocks': deterministic per name)."""
    secret_digests: dict[str, str] = field(default_factory=lambda: {})
    """Per secret input position, a digest that changes when the secret does (never its value)."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
        }
        if self.aliases:
            data["aliases"] = self.aliases
        if self.delete_before_replace is not None:
            data["deleteBeforeReplace"] = self.delete_before_replace
        if self.ignore_changes:
            data["ignoreChanges"] = self.ignore_changes
        if self.replace_on_changes:
            data["replaceOnChanges"] = self.replace_on_changes
        if self.custom_timeouts:
            data["customTimeouts"] = self.custom_timeouts
        if self.additional_secret_outputs:
            data["additionalSecretOutputs"] = self.additional_secret_outputs
        if self.state_name is not None:
            # What the provider names the object (auto-naming adds a suffix).
            data["objectName"] = self.state_name
        if self.state_namespace is not None:
            data["objectNamespace"] = self.state_namespace
        if self.id is not None:
            data["id"] = self.id
        if self.secret_digests:
            data["secretDigests"] = dict(sorted(self.secret_digests.items()))
        return data


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps every registration request, redacted, under the engine's URNs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: dict[str, Recorded] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.component_output_digests: dict[str, dict[str, str]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the type is qualified with the parent's whole type chain.

        The SDK's MockMonitor qualifies with the parent's last type only; the engine (and the SDK's
        `create_urn`) use every ancestor's type except the root stack's. Deployed stacks' URNs are
        the engine's, so those are what the plan records and what a rename must keep.
        """
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != STACK_TYPE:
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def GetDeploymentInfo(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        # Without alias specs the SDK resolves every alias to a full URN itself (with `create_urn`,
        # the engine's form), which is what the plan records and compares.
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        digests: dict[str, str] = {}
        self.component_outputs[request.urn] = redact(json_format.MessageToDict(request.outputs), "", digests)
        self.component_output_digests[request.urn] = digests
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        digests: dict[str, str] = {}
        inputs = redact(json_format.MessageToDict(request.object), "", digests)
        state = self.resources.get(response.urn)
        meta = state.state.get("metadata") if state else None
        for key in ("stringData", "data"):
            # The SDK marks a Secret's whole data map secret; keep its key names, not its values.
            held: Any = state.state.get(key) if state else None
            if isinstance(held, dict) and SECRET_SIG in held:
                held = held.get("value")
            if inputs.get(key) == REDACTED and isinstance(held, dict):
                inputs[key] = {k: REDACTED for k in sorted(held)}  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
                digests.pop(key, None)
                digests.update({f"{key}.{k}": secret_digest(v) for k, v in held.items()})  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
        # A provider reference is "<provider urn>::<provider id>".
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        self.recorded[response.urn] = Recorded(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent if request.parent and request.parent.split("::")[2] != STACK_TYPE else None,
            custom=bool(request.custom),
            provider=provider,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            dependencies=sorted(set(request.dependencies)),
            inputs=inputs,
            aliases=sorted({alias.urn for alias in request.aliases if alias.urn}),
            delete_before_replace=bool(request.deleteBeforeReplace) if request.deleteBeforeReplaceDefined else None,
            ignore_changes=sorted(request.ignoreChanges),
            replace_on_changes=sorted(request.replaceOnChanges),
            custom_timeouts={k: v for k in ("create", "update", "delete") if (v := getattr(request.customTimeouts, k))},
            additional_secret_outputs=sorted(request.additionalSecretOutputs),
            state_name=meta.get("name") if isinstance(meta, dict) else None,
            state_namespace=meta.get("namespace") if isinstance(meta, dict) else None,
            id=str(state.id) if state is not None and request.custom else None,
            secret_digests=digests,
        )
        return response


# ---------------------------------------------------------------------------------------------
# Stack files


@dataclass
class StackConfig:
    values: dict[str, str] = field(default_factory=lambda: {})
    secret_keys: list[str] = field(default_factory=lambda: [])
    secure_digests: dict[str, str] = field(default_factory=lambda: {})
    """Per `secure:` leaf (`<namespace>:<key path>`), a digest of its ciphertext: shows a changed
    secret in a diff without decrypting it."""


def _encode(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, sort_keys=True)


def _replace_secure(value: Any, position: str, found: dict[str, str]) -> Any:
    """Swap each `{secure: ...}` for the not-decrypted stand-in, noting its position and ciphertext."""
    if isinstance(value, dict):
        if set(value) == {"secure"}:  # pyright: ignore[reportUnknownArgumentType]
            found[position] = secret_digest(value["secure"])
            return UNKNOWN_SECURE
        return {str(k): _replace_secure(v, f"{position}.{k}", found) for k, v in value.items()}  # pyright: ignore[reportUnknownVariableType]
    if isinstance(value, list):
        return [_replace_secure(v, f"{position}[{i}]", found) for i, v in enumerate(value)]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return value


def read_stack_config(root: Path, stack: str) -> StackConfig:
    """The config of `Pulumi.<stack>.yaml` as the engine would hand it to the program (raises StackFileError)."""
    stack_file = read_stack_file(stack_file_path(root, stack))
    config = StackConfig()
    for key, value in stack_file.config.items():
        full_key = key if ":" in key else f"{PROJECT}:{key}"
        found: dict[str, str] = {}
        config.values[full_key] = _encode(_replace_secure(value, full_key, found))
        if found:
            config.secret_keys.append(full_key)
            config.secure_digests.update(found)
    return config


@dataclass
class PlanResult:
    stack: str
    resources: list[Recorded]
    generated_secrets: list[str]
    """Every value the mocks generated for a secret (passwords): must never appear in plain text."""
    states: dict[str, dict[str, Any]]
    """What the mocks answered per URN, secrets unwrapped (for tests; never written out)."""
    ids: dict[str, str]
    """The id the mocks gave each resource, per URN (for tests)."""
    outputs: dict[str, Any]
    """What the program exports (the platform component's outputs), secrets redacted."""
    output_digests: dict[str, str] = field(default_factory=lambda: {})
    secure_config_digests: dict[str, str] = field(default_factory=lambda: {})
    invokes: list[tuple[str, str]] = field(default_factory=lambda: [])
    """Every data-source call (token, provider reference; '' for the default provider), for tests."""

    def as_json(self) -> dict[str, Any]:
        return {
            "project": PROJECT,
            "stack": self.stack,
            "outputs": self.outputs,
            "outputSecretDigests": self.output_digests,
            "secureConfigDigests": self.secure_config_digests,
            "resources": [r.as_json() for r in self.resources],
        }


def _ignore_mock_loop_finalizers() -> None:
    """The mock monitor gives each executor thread an event loop of its own; at interpreter exit
    their finalizers report an already-closed selector. Silence exactly that, nothing else."""
    previous = sys.unraisablehook
    if getattr(previous, "meteor_platform", False):
        return

    def hook(unraisable: Any) -> None:
        if isinstance(unraisable.exc_value, ValueError) and "BaseEventLoop.__del__" in repr(unraisable.object):
            return
        previous(unraisable)

    hook.meteor_platform = True  # type: ignore[attr-defined]
    sys.unraisablehook = hook


def _skip_stack_traces() -> None:
    """The engine shows where each resource was declared; a plan records no source positions.
    Capturing them walks the whole Python stack for every registration (the deeper the component
    nesting, the dearer): skip it."""
    import pulumi.runtime.resource as resource_runtime
    from pulumi.runtime.proto import source_pb2

    resource_runtime._get_stack_trace = lambda: source_pb2.StackTrace()  # pyright: ignore[reportPrivateUsage]


def run_program(
    root: Path,
    stack: str,
    *,
    freeze_heap: bool = False,
    token_round: int = 0,
    doks_minors: Sequence[str] = catalogue.DOKS_MINORS,
    doks_deployed_version: str | None = None,
    ami_round: int = 0,
) -> PlanResult:
    """Run `__main__.py` for `stack` under mocks. A bad config raises `pulumi.RunError`.

    `token_round`, `doks_minors`, `doks_deployed_version` and `ami_round` vary what the mocked providers
    answer: another round mints other API tokens (as a second `pulumi up` would), `doks_minors` is what
    DigitalOcean offers, `doks_deployed_version` the version a DOKS cluster of an earlier `up` runs,
    another `ami_round` a newer image matching the AMI filters (AWS published one since).

    `freeze_heap`: leave what the program allocated out of the cyclic collector's reach
    (`gc.freeze`), for a process that writes the plan and exits (the command line).
    """
    config = read_stack_config(root, stack)
    _ignore_mock_loop_finalizers()
    _skip_stack_traces()
    pulumi.runtime.set_all_config(config.values, config.secret_keys)
    mocks = PlanMocks(
        root, token_round=token_round, doks_minors=doks_minors, doks_deployed_version=doks_deployed_version, ami_round=ami_round
    )
    monitor = RecordingMonitor(mocks)
    runtime_settings: Any = pulumi.runtime.settings.SETTINGS
    runtime_settings.rpc_manager.clear()
    runtime_settings.outputs.clear()
    pulumi.runtime.settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=True, monitor=monitor)

    def program() -> None:
        runpy.run_path(str(root / "__main__.py"), run_name="__main__")

    # No cyclic garbage collection while the program runs: nearly everything it allocates lives
    # until the plan is written (a collection at 200 apps frees ~6% of the heap), while each full
    # collection walks the whole, growing heap — the one cost that grew faster than the app count.
    # With `freeze_heap` the program's heap is frozen afterwards: otherwise the first collection
    # once collection is back on (and the one at interpreter exit) walks all of it, 0.75 s at 200
    # apps. An earlier run's frozen heap, mostly garbage by now, is handed back and collected
    # first, so several stacks in one command do not accumulate it.
    if gc.get_freeze_count():
        gc.unfreeze()
        gc.collect()
    collecting = gc.isenabled()
    gc.disable()
    try:
        _sync_await(run_pulumi_func(program))
    finally:
        if freeze_heap:
            gc.freeze()
        if collecting:
            gc.enable()
    resources = sorted(monitor.recorded.values(), key=lambda r: r.urn)
    states = {urn: reg.state for urn, reg in monitor.resources.items()}
    platform = sorted(urn for urn in monitor.component_outputs if urn.split("::")[2].endswith("meteor-platform:index:Platform"))
    outputs = monitor.component_outputs[platform[0]] if platform else {}
    output_digests = monitor.component_output_digests[platform[0]] if platform else {}
    ids = {urn: str(reg.id) for urn, reg in monitor.resources.items()}
    return PlanResult(
        stack=stack,
        resources=resources,
        generated_secrets=mocks.generated_secrets,
        states=states,
        ids=ids,
        outputs=outputs,
        output_digests=output_digests,
        secure_config_digests=config.secure_digests,
        invokes=mocks.invokes,
    )
