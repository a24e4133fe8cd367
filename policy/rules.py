"""The platform's guardrails as plain functions over planned resources.

Each rule takes every resource of a stack (type, name, URN, inputs, protect, dependencies) and
returns what it finds wrong. The same functions run in two places: the Pulumi policy pack
(`pulumi preview --policy-pack policy`, see `__main__.py`) and the offline plan (so a pull
request from a fork, which has no credentials, sees the same violations). Standard library
only: the policy pack runs in an environment of its own.

A secret value reaches a rule as the string `[secret]` (the offline plan redacts secrets; the
policy pack's adapter does the same with `pulumi_policy.Secret`).
"""

# Resource inputs are JSON-shaped (Any): their members are checked at run time, not typed.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast
from urllib.parse import urlsplit

SECRET = "[secret]"
ANYWHERE = "0.0.0.0/0"
UNKNOWN = "[unknown]"
ENVIRONMENTS = ("dev", "staging", "production")

WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
APP_LABEL = "meteor-platform/app"
ADMIN_PORTS = {
    22: "SSH",
    2375: "the Docker API",
    2376: "the Docker API",
    6443: "the Kubernetes API",
    27017: "MongoDB",
    27018: "MongoDB",
    27019: "MongoDB",
}
STATEFUL_TYPES = {
    "digitalocean:index/databaseCluster:DatabaseCluster": "a managed database",
    "digitalocean:index/spacesBucket:SpacesBucket": "a bucket",
    "digitalocean:index/containerRegistry:ContainerRegistry": "a registry",
    "digitalocean:index/volume:Volume": "a block-storage volume",
    "docker:index/volume:Volume": "a Docker volume",
    "kubernetes:core/v1:PersistentVolumeClaim": "a persistent volume claim",
    "aws:s3/bucket:Bucket": "a bucket",
    "aws:s3/bucketV2:BucketV2": "a bucket",
    "aws:ecr/repository:Repository": "a registry repository",
    "aws:ebs/volume:Volume": "a block-storage volume",
    "aws:docdb/cluster:Cluster": "a managed database",
}
CREDENTIAL_NAME = re.compile(
    r"(PASSWORD|PASSWD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY|API_KEY|CREDENTIAL|MONGO_URL|MONGO_OPLOG_URL|DATABASE_URL)", re.IGNORECASE
)
CREDENTIAL_URL = re.compile(r"^[a-z][a-z0-9+.-]*://[^/\s:@]+:[^@\s]+@", re.IGNORECASE)


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    inputs: Mapping[str, Any]
    protect: bool = False
    dependencies: Sequence[str] = ()

    @property
    def stack(self) -> str:
        parts = self.urn.split("::")
        return parts[0].split(":")[-1] if parts and parts[0].startswith("urn:pulumi:") else ""


@dataclass(frozen=True)
class Violation:
    policy: str
    urn: str
    name: str
    message: str

    def __str__(self) -> str:
        return f"{self.policy}: {self.name}: {self.message}"


@dataclass(frozen=True)
class Rule:
    name: str
    description: str
    check: Callable[[Sequence[Resource], Options], Iterator[tuple[Resource, str]]]


@dataclass(frozen=True)
class Options:
    """The stack's environment (its `environment` config): production protects stateful
    resources, dev may run images by tag."""

    environment: str = "production"


ENVIRONMENT_CONFIG = "meteor-platform:environment"
"""The stack's config key that names its environment (components/config/platform.py)."""


def stack_environment(configured: object, stack: str) -> Options:
    """The one derivation of a stack's environment, for the policy pack and the offline plan alike:
    its `meteor-platform:environment` config when that names one, else the stack's name when it
    names one (`staging`), else production (the strictest). `aws-staging` and `byoc` say
    `environment: staging` in their stack files: the config, not the name, decides."""
    if isinstance(configured, str) and configured in ENVIRONMENTS:
        return Options(environment=configured)
    return Options(environment=stack if stack in ENVIRONMENTS else "production")


# ---------------------------------------------------------------------------------------------
# Kubernetes pod specs


def as_list(value: Any) -> list[Any]:
    """`value` if it is a list; anything else (`[secret]`, `[unknown]`, a scalar, None) holds no items."""
    return cast(list[Any], value) if isinstance(value, list) else []


def as_map(value: Any) -> Mapping[str, Any]:
    """`value` if it is a mapping; anything else (`[secret]`, `[unknown]`, a scalar, None) holds no keys."""
    return cast(Mapping[str, Any], value) if isinstance(value, Mapping) else {}


def _kind(resource: Resource) -> str | None:
    if not resource.type.startswith("kubernetes:"):
        return None
    kind = resource.inputs.get("kind")
    return kind if isinstance(kind, str) else None


def _pod_template(resource: Resource) -> Mapping[str, Any] | None:
    kind = _kind(resource)
    if kind not in WORKLOAD_KINDS:
        return None
    spec = cast(Mapping[str, Any], resource.inputs.get("spec") or {})
    if kind == "Pod":
        return {"metadata": resource.inputs.get("metadata") or {}, "spec": spec}
    if kind == "CronJob":
        spec = cast(Mapping[str, Any], (spec.get("jobTemplate") or {}).get("spec") or {})
    return cast(Mapping[str, Any], spec.get("template") or {})


def _containers(pod_spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for key in ("initContainers", "containers"):
        yield from cast(list[Mapping[str, Any]], pod_spec.get(key) or [])


def _is_app(resource: Resource) -> bool:
    template = _pod_template(resource)
    if template is not None:
        labels = cast(Mapping[str, Any], (template.get("metadata") or {}).get("labels") or {})
        return labels.get("meteor-platform/role") == "app"
    if resource.type == "docker:index/container:Container":
        return any(label.get("label") == APP_LABEL for label in cast(list[Mapping[str, Any]], resource.inputs.get("labels") or []))
    return False


# ---------------------------------------------------------------------------------------------
# Checks and alerts: what watches a stack (one table for the policy and the plan's report)

WatchRole = Literal["check", "alert", "destination"]


@dataclass(frozen=True)
class Watch:
    role: WatchRole
    label: str
    detail: str | None = None
    """The input that tells one kind of alert of this type from another (`type`, `metricName`)."""


WATCH_TYPES: dict[str, Watch] = {
    # Inputs as the pinned SDKs name them: UptimeCheck `target`, `type` (pulumi_digitalocean/uptime_check.py);
    # UptimeAlert `type`, `notifications[].emails/slacks` (uptime_alert.py); MonitorAlert `type`, `alerts.emails/slacks`
    # (monitor_alert.py); HealthCheck `fqdn`, `resourcePath` (pulumi_aws/route53/health_check.py); MetricAlarm
    # `metricName`; TopicSubscription `protocol`, `endpoint` (pulumi_aws/sns/topic_subscription.py).
    "digitalocean:index/uptimeCheck:UptimeCheck": Watch("check", "DigitalOcean uptime check"),
    "aws:route53/healthCheck:HealthCheck": Watch("check", "Route 53 health check"),
    "digitalocean:index/uptimeAlert:UptimeAlert": Watch("alert", "DigitalOcean uptime alert", "type"),
    "digitalocean:index/monitorAlert:MonitorAlert": Watch("alert", "DigitalOcean monitor alert", "type"),
    "aws:cloudwatch/metricAlarm:MetricAlarm": Watch("alert", "CloudWatch alarm", "metricName"),
    "aws:sns/topic:Topic": Watch("destination", "SNS topic"),
    "aws:sns/topicSubscription:TopicSubscription": Watch("destination", "SNS subscription", "protocol"),
}
CLUSTER_WATCH = Watch("alert", "in-cluster watcher")
CLUSTER_WATCH_LABEL = ("app.kubernetes.io/component", "cluster-watch")
"""The label of the in-cluster watcher's CronJob (the cluster alerts on DOKS and existing clusters)."""


def watch_of(resource: Resource) -> Watch | None:
    """What `resource` does to watch the stack, if anything."""
    found = WATCH_TYPES.get(resource.type)
    if found is not None:
        return found
    if _kind(resource) == "CronJob":
        labels = as_map(as_map(resource.inputs.get("metadata")).get("labels"))
        if labels.get(CLUSTER_WATCH_LABEL[0]) == CLUSTER_WATCH_LABEL[1]:
            return CLUSTER_WATCH
    return None


def checked_domain(resource: Resource) -> str | None:
    """The domain an uptime check requests: a DigitalOcean check's target host, a Route 53 check's fqdn."""
    if resource.type == "digitalocean:index/uptimeCheck:UptimeCheck":
        target = resource.inputs.get("target")
        host = urlsplit(target).hostname if isinstance(target, str) else None
        return host.lower() if host else None
    if resource.type == "aws:route53/healthCheck:HealthCheck":
        fqdn = resource.inputs.get("fqdn")
        return fqdn.lower().rstrip(".") if isinstance(fqdn, str) and fqdn else None
    return None


_TRAEFIK_HOST = re.compile(r"Host\(`([^`]+)`\)")


def public_domains(resources: Sequence[Resource]) -> dict[str, Resource]:
    """Each domain the stack serves, with the first resource that routes it: an Ingress rule's host
    on Kubernetes, a Traefik router rule's `Host(...)` on Docker hosts."""
    found: dict[str, Resource] = {}
    for r in resources:
        hosts: list[Any] = []
        if _kind(r) == "Ingress":
            hosts = [as_map(rule).get("host") for rule in as_list(as_map(r.inputs.get("spec")).get("rules"))]
        elif r.type == "docker:index/container:Container":
            for label in as_list(r.inputs.get("labels")):
                name, value = as_map(label).get("label"), as_map(label).get("value")
                if isinstance(name, str) and name.startswith("traefik.http.routers.") and name.endswith(".rule") and isinstance(value, str):
                    hosts += _TRAEFIK_HOST.findall(value)
        for host in hosts:
            if isinstance(host, str) and host and host != UNKNOWN:
                found.setdefault(host.lower(), r)
    return found


# ---------------------------------------------------------------------------------------------
# Rules


def no_node_local_app_data(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """App files belong in S3-compatible storage or GridFS, never on a node's disk."""
    for r in resources:
        template = _pod_template(r)
        if template is not None:
            for volume in cast(list[Mapping[str, Any]], (template.get("spec") or {}).get("volumes") or []):
                if "hostPath" in volume:
                    yield r, f"volume {volume.get('name')!r} is a hostPath: data on a node's disk is lost when the pod moves"
                empty_dir = volume.get("emptyDir")
                if empty_dir is not None and not cast(Mapping[str, Any], empty_dir).get("sizeLimit"):
                    yield (
                        r,
                        f"volume {volume.get('name')!r} is an emptyDir without a sizeLimit: scratch space must be bounded, data goes to S3 or GridFS",
                    )
        elif _is_app(r):
            for volume in cast(list[Mapping[str, Any]], r.inputs.get("volumes") or []):
                where = volume.get("hostPath") or volume.get("volumeName")
                yield r, f"app container mounts {where!r} at {volume.get('containerPath')!r}: app files go to S3 or GridFS"
            for mount in cast(list[Mapping[str, Any]], r.inputs.get("mounts") or []):
                if mount.get("type") in ("bind", "volume"):
                    yield r, f"app container mounts {mount.get('source')!r}: app files go to S3 or GridFS"


def limits_on_every_container(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """Every container has a memory and a CPU limit: one runaway app must not starve a node."""
    for r in resources:
        template = _pod_template(r)
        if template is not None:
            for container in _containers(cast(Mapping[str, Any], template.get("spec") or {})):
                limits = cast(Mapping[str, Any], (container.get("resources") or {}).get("limits") or {})
                missing = [k for k in ("memory", "cpu") if not limits.get(k)]
                if missing:
                    yield r, f"container {container.get('name')!r} has no {' or '.join(missing)} limit"
        elif r.type == "docker:index/container:Container":
            missing = [k for k in ("memory", "cpus") if not r.inputs.get(k) and not (k == "cpus" and r.inputs.get("cpuShares"))]
            if missing:
                yield r, f"container has no {' or '.join(missing)} limit"


def _digest_pinned(image: Any) -> bool:
    """Pinned by digest; an image not known yet (a build that runs at `pulumi up`) is not judged."""
    if image is None or image == UNKNOWN:
        return True
    return isinstance(image, str) and bool(re.search(r"@sha256:[0-9a-f]{64}$", image))


def app_images_pinned_by_digest(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """Outside dev, an app runs an image by digest: the exact bytes staging tested, not whatever a tag points to now."""
    by_urn = {r.urn: r for r in resources}
    for r in resources:
        if options.environment == "dev" or not _is_app(r):
            continue
        template = _pod_template(r)
        if template is not None:
            for container in _containers(cast(Mapping[str, Any], template.get("spec") or {})):
                if not _digest_pinned(container.get("image")):
                    yield r, f"container {container.get('name')!r} runs {container.get('image')!r}: expected image@sha256:<digest>"
            continue
        for dependency in r.dependencies:
            image = by_urn.get(dependency)
            if image is not None and image.type == "docker:index/remoteImage:RemoteImage" and not _digest_pinned(image.inputs.get("name")):
                yield r, f"runs {image.inputs.get('name')!r}: expected image@sha256:<digest>"


def infrastructure_images_versioned(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """Infrastructure images name an exact version (tag or digest), never `latest` or nothing."""
    for r in resources:
        images: list[Any] = []
        if r.type == "docker:index/remoteImage:RemoteImage":
            images.append(r.inputs.get("name"))
        template = _pod_template(r)
        if template is not None and not _is_app(r):
            images += [c.get("image") for c in _containers(cast(Mapping[str, Any], template.get("spec") or {}))]
        for image in images:
            if not isinstance(image, str) or image in (SECRET, UNKNOWN):
                continue
            last = image.rsplit("/", 1)[-1]
            if "@sha256:" not in image and (":" not in last or last.endswith(":latest")):
                yield r, f"image {image!r} names no version: expected name:version or name@sha256:<digest>"


def no_public_buckets(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """Buckets are private: the app serves files through signed URLs."""
    for r in resources:
        if r.type in (
            "digitalocean:index/spacesBucket:SpacesBucket",
            "aws:s3/bucketAclV2:BucketAclV2",
            "aws:s3/bucketAcl:BucketAcl",
            "aws:s3/bucket:Bucket",
        ):
            acl = r.inputs.get("acl")
            if isinstance(acl, str) and acl.startswith("public-"):
                yield r, f"acl {acl!r} makes every object readable by anyone"
        if r.type == "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock":
            off = [
                k
                for k in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
                if r.inputs.get(k) is not True
            ]
            if off:
                yield r, f"public access not blocked: {', '.join(off)} not true"


def _world(address: Any) -> bool:
    if not isinstance(address, str):
        return False
    try:
        return ipaddress.ip_network(address, strict=False).prefixlen == 0
    except ValueError:
        return False


def _ports(spec: Any) -> set[int]:
    """The admin ports a DigitalOcean/AWS port spec ("22", "1-65535", "all") covers."""
    text = str(spec or "").strip().lower()
    if text in ("", "all", "0"):
        return set(ADMIN_PORTS)
    if "-" in text:
        low, high = (int(p) for p in text.split("-", 1))
        return {p for p in ADMIN_PORTS if low <= p <= high}
    return {int(text)} & set(ADMIN_PORTS) if text.isdigit() else set()


def admin_endpoints_not_world_open(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """Databases, SSH, the Docker API and Kubernetes APIs are never open to the whole internet."""
    for r in resources:
        if r.type == "digitalocean:index/firewall:Firewall":
            for rule in cast(list[Mapping[str, Any]], r.inputs.get("inboundRules") or []):
                if rule.get("protocol") == "tcp" and any(_world(a) for a in rule.get("sourceAddresses") or []):
                    for port in sorted(_ports(rule.get("portRange"))):
                        yield r, f"inbound tcp {port} ({ADMIN_PORTS[port]}) is open to the world"
        elif r.type == "digitalocean:index/databaseFirewall:DatabaseFirewall":
            for rule in cast(list[Mapping[str, Any]], r.inputs.get("rules") or []):
                if rule.get("type") == "ip_addr" and _world(rule.get("value")):
                    yield r, "the managed database accepts connections from the whole internet"
        elif r.type == "digitalocean:index/kubernetesCluster:KubernetesCluster":
            firewall = cast(Mapping[str, Any], r.inputs.get("controlPlaneFirewall") or {})
            if not firewall.get("enabled"):
                yield r, "the Kubernetes API has no control-plane firewall: it is open to the world"
            elif any(_world(a) for a in firewall.get("allowedAddresses") or []):
                yield r, "the control-plane firewall allows the whole internet"
        elif r.type == "aws:eks/cluster:Cluster":
            vpc = cast(Mapping[str, Any], r.inputs.get("vpcConfig") or {})
            # EKS opens a public endpoint to 0.0.0.0/0 unless told otherwise.
            cidrs = vpc.get("publicAccessCidrs") or [ANYWHERE]
            if vpc.get("endpointPublicAccess", True) and any(_world(c) for c in cidrs):
                yield r, "the Kubernetes API endpoint is open to the world"
        elif r.type == "docker:index/container:Container":
            for port in cast(list[Mapping[str, Any]], r.inputs.get("ports") or []):
                internal = port.get("internal")
                if (
                    isinstance(internal, int)
                    and internal in ADMIN_PORTS
                    and port.get("external")
                    and port.get("ip", "0.0.0.0") in ("0.0.0.0", "::")
                ):
                    yield r, f"publishes {ADMIN_PORTS[internal]} (port {internal}) on every interface"
        elif r.type in ("aws:ec2/securityGroup:SecurityGroup", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"):
            rules = cast(list[Mapping[str, Any]], r.inputs.get("ingress") or []) if r.type.endswith("SecurityGroup") else [r.inputs]
            for rule in rules:
                cidrs = [*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or []), rule.get("cidrIpv4"), rule.get("cidrIpv6")]
                if any(_world(c) for c in cidrs):
                    low, high = int(rule.get("fromPort") or 0), int(rule.get("toPort") or 65535)
                    for port in sorted(p for p in ADMIN_PORTS if low <= p <= high or (low == high == 0 or rule.get("ipProtocol") == "-1")):
                        yield r, f"ingress {port} ({ADMIN_PORTS[port]}) is open to the world"


def _credential_literal(name: Any, value: Any) -> bool:
    if not isinstance(value, str) or value in ("", UNKNOWN):
        return False
    if value == SECRET or CREDENTIAL_URL.match(value):
        return True
    # `<NAME>_FILE=/path` names a file the image reads the credential from (a mounted Secret), not the credential.
    reference = isinstance(name, str) and name.endswith("_FILE") and value.startswith("/")
    return isinstance(name, str) and bool(CREDENTIAL_NAME.search(name)) and not reference


def secrets_by_reference(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """A pod spec names its secrets (secretKeyRef, envFrom secretRef); it never carries their values,
    which would be readable by anyone who can read the workload object."""
    for r in resources:
        template = _pod_template(r)
        if template is not None:
            for container in _containers(cast(Mapping[str, Any], template.get("spec") or {})):
                for env in cast(list[Mapping[str, Any]], container.get("env") or []):
                    if "value" in env and _credential_literal(env.get("name"), env.get("value")):
                        yield (
                            r,
                            f"container {container.get('name')!r} sets {env.get('name')!r} to a literal: expected valueFrom.secretKeyRef",
                        )
        elif _kind(r) == "ConfigMap":
            for key, value in cast(Mapping[str, Any], r.inputs.get("data") or {}).items():
                if _credential_literal(key, value):
                    yield r, f"data {key!r} holds a credential: it belongs in a Secret"


DISPOSABLE_PARENTS = {
    "meteor-platform:observability:DataVolumeProbe": "an empty volume `df` measures the data volume's filesystem on",
}
"""Components whose own stateful-typed children hold no data by design: what makes them disposable.
The marker is the component's type in the child's URN (`...$<component type>$<type>::<name>`), not a
label: a Docker volume's labels are ForceNew (offline_plan/provider_facts.yaml), so labelling a
deployed one would replace it. Such a child must not be protected: dropping its component must not
fail `up` (components/observability/volume_probe.py)."""


def _disposable(resource: Resource) -> bool:
    """Directly a child of a DISPOSABLE_PARENTS component (the type chain's last parent)."""
    chain = resource.urn.split("::")[2].split("$") if resource.urn.count("::") >= 3 else []
    return len(chain) >= 2 and chain[-2] in DISPOSABLE_PARENTS


def stateful_protected_in_production(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """In production, what holds data cannot be deleted by a mistaken `pulumi destroy` or replacement
    (except the data-free children of DISPOSABLE_PARENTS components)."""
    if options.environment != "production":
        return
    for r in resources:
        if _disposable(r):
            continue
        what = STATEFUL_TYPES.get(r.type)
        if what is None and _kind(r) == "StatefulSet" and (r.inputs.get("spec") or {}).get("volumeClaimTemplates"):
            what = "a StatefulSet with volume claims"
        if what is not None and not r.protect:
            yield r, f"{what} in production without `protect`"


def public_domains_uptime_checked(resources: Sequence[Resource], options: Options) -> Iterator[tuple[Resource, str]]:
    """In production, every public domain has an uptime check: nobody learns from users that it is down."""
    if options.environment != "production":
        return
    checked = {domain for r in resources if (domain := checked_domain(r)) is not None}
    for domain, routed_by in sorted(public_domains(resources).items()):
        if domain not in checked:
            yield (
                routed_by,
                f"public domain {domain} has no uptime check (a DigitalOcean uptime check or a Route 53 health check): "
                "set alerts.uptimeChecks to digitalocean or aws (pulumi config set --path alerts.uptimeChecks digitalocean)",
            )


UPTIME_RULE = Rule(
    "public-domains-uptime-checked",
    "In production, every public domain (Ingress host, Traefik router rule) has an uptime check.",
    public_domains_uptime_checked,
)

RULES: list[Rule] = [
    Rule(
        "no-node-local-app-data",
        "No hostPath or unbounded emptyDir in pods; app containers mount no host paths or volumes (files go to S3 or GridFS).",
        no_node_local_app_data,
    ),
    Rule("limits-on-every-container", "Every container has memory and CPU limits.", limits_on_every_container),
    Rule("app-images-pinned-by-digest", "Outside dev, apps run images pinned by digest.", app_images_pinned_by_digest),
    Rule("infrastructure-images-versioned", "Infrastructure images name an exact version, never latest.", infrastructure_images_versioned),
    Rule("no-public-buckets", "Buckets are private.", no_public_buckets),
    Rule(
        "admin-endpoints-not-world-open",
        "Databases, SSH, Docker and Kubernetes APIs are not open to 0.0.0.0/0 or ::/0.",
        admin_endpoints_not_world_open,
    ),
    Rule("secrets-by-reference", "Pod specs reference secrets; they never carry secret values.", secrets_by_reference),
    Rule("stateful-protected-in-production", "In production, stateful resources are protected.", stateful_protected_in_production),
    UPTIME_RULE,
]


def check(resources: Sequence[Resource], rules: Sequence[Rule] = RULES, options: Options | None = None) -> list[Violation]:
    """Every violation of `rules` in one stack's resources, in a stable order."""
    found: list[Violation] = []
    for rule in rules:
        found += [Violation(rule.name, r.urn, r.name, message) for r, message in rule.check(resources, options or Options())]
    return sorted(set(found), key=lambda v: (v.policy, v.urn, v.message))
