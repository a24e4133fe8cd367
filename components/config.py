"""Typed stack configuration: the only module that reads `pulumi.Config`.

Every setting is declared once below, with its type, default and a one-line description
(the README's config reference is generated from these declarations). `load_config()` reads
the `meteor-platform:*` keys of the current stack, validates them and returns a frozen
`PlatformConfig`, or raises `pulumi.RunError` with one message that names each bad key, the
value given and what is expected. It runs before the program registers any resource.
"""

from __future__ import annotations

import difflib
import ipaddress
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any, Literal

import pulumi
import pulumi.runtime
from pulumi.runtime import config as runtime_config
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ValidationError,
)
from pydantic.alias_generators import to_camel
from pydantic_core import ErrorDetails

from components.secrets import SecretValue, SecureLeaf, mark_secure_leaves

NAMESPACE = "meteor-platform"

# ---------------------------------------------------------------------------------------------
# Value types


def _check_dns_label(value: str) -> str:
    if not re.fullmatch(r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?", value):
        raise ValueError("expected a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters")
    return value


def _check_hostname(value: str) -> str:
    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if len(value) > 253 or not re.fullmatch(rf"({label}\.)+[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?", value):
        raise ValueError("expected a fully qualified lowercase domain name such as app.example.com")
    return value


_QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]+)?)(m|k|M|G|T|Ki|Mi|Gi|Ti)?$")
_QUANTITY_FACTORS = {
    None: 1.0,
    "m": 1e-3,
    "k": 1e3,
    "M": 1e6,
    "G": 1e9,
    "T": 1e12,
    "Ki": 2.0**10,
    "Mi": 2.0**20,
    "Gi": 2.0**30,
    "Ti": 2.0**40,
}


def quantity_value(value: str) -> float:
    """The numeric value of a Kubernetes quantity such as `250m` or `1Gi`."""
    match = _QUANTITY.fullmatch(value)
    if match is None:
        raise ValueError(f"not a Kubernetes quantity: {value}")
    return float(match.group(1)) * _QUANTITY_FACTORS[match.group(2)]


def _check_quantity(value: str) -> str:
    if not _QUANTITY.fullmatch(value) or quantity_value(value) <= 0:
        raise ValueError("expected a positive Kubernetes quantity such as 250m, 1, 512Mi or 10Gi")
    return value


_IMAGE_REF = re.compile(
    r"^(?:(?P<registry>[a-z0-9]([-a-z0-9.]*[a-z0-9])?(?::[0-9]+)?)/)?"
    r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def is_digest_pinned(image: str) -> bool:
    match = _IMAGE_REF.fullmatch(image)
    return bool(match and match.group("digest"))


def _check_image(value: str) -> str:
    if not _IMAGE_REF.fullmatch(value):
        raise ValueError("expected a container image reference such as registry.example.com/team/app:1.2.3 or ...@sha256:<64 hex digits>")
    return value


def _check_env_name(value: str) -> str:
    if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
        raise ValueError("expected an environment variable name of A-Z, 0-9 and _")
    return value


def _check_mongo_url(value: SecretValue) -> SecretValue:
    if value.known and not re.match(r"^mongodb(\+srv)?://[^/\s]+", value.reveal()):
        raise ValueError("expected a mongodb:// or mongodb+srv:// URL (value hidden)")
    return value


def _check_mail_url(value: SecretValue) -> SecretValue:
    if value.known and not re.match(r"^smtps?://[^\s]+$", value.reveal()):
        raise ValueError("expected an smtp:// or smtps:// URL (value hidden)")
    return value


def _check_http_path(value: str) -> str:
    if not re.fullmatch(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*", value):
        raise ValueError("expected an absolute URL path such as / or /healthz")
    return value


DO_REGIONS = frozenset({"nyc1", "nyc2", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1", "ric1"})


def _check_do_region(value: str) -> str:
    if value not in DO_REGIONS:
        raise ValueError(f"expected a DigitalOcean region slug: one of {', '.join(sorted(DO_REGIONS))}")
    return value


def _check_droplet_size(value: str) -> str:
    # s-2vcpu-4gb, s-2vcpu-4gb-amd, c-4, c2-8vcpu-16gb, g-2vcpu-8gb, m-4vcpu-32gb, so1_5-2vcpu-16gb ...
    if not re.fullmatch(r"[a-z][a-z0-9_]*-(\d+vcpu-\d+gb(-[a-z0-9]+)*|\d+)", value):
        raise ValueError("expected a droplet size slug such as s-2vcpu-4gb or c-4")
    return value


def _check_db_size(value: str) -> str:
    if not re.fullmatch(r"(db|gd|so1_5|m)-[a-z0-9-]+", value):
        raise ValueError("expected a database size slug such as db-s-1vcpu-2gb")
    return value


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a CIDR block such as 203.0.113.0/24 or 2001:db8::/32") from None
    return value


def _check_ssh_public_key(value: str) -> str:
    if not re.fullmatch(
        r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]{40,}( .*)?", value
    ):
        raise ValueError("expected an OpenSSH public key line such as 'ssh-ed25519 AAAA... you@host'")
    return value


def _check_time_of_day(value: str) -> str:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise ValueError("expected a UTC time of day as HH:MM")
    return value


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
DoRegion = Annotated[str, AfterValidator(_check_do_region)]
DropletSize = Annotated[str, AfterValidator(_check_droplet_size)]
DatabaseSize = Annotated[str, AfterValidator(_check_db_size)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
SshPublicKey = Annotated[str, AfterValidator(_check_ssh_public_key)]
TimeOfDay = Annotated[str, AfterValidator(_check_time_of_day)]
Hostname = Annotated[str, AfterValidator(_check_hostname)]
Quantity = Annotated[str, AfterValidator(_check_quantity)]
ImageRef = Annotated[str, AfterValidator(_check_image)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
MongoUrl = Annotated[SecretValue, AfterValidator(_check_mongo_url)]
MailUrl = Annotated[SecretValue, AfterValidator(_check_mail_url)]
HttpPath = Annotated[str, AfterValidator(_check_http_path)]


class Model(BaseModel):
    """Base of every config section: camelCase keys, unknown keys refused, immutable."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
    )


# ---------------------------------------------------------------------------------------------
# Sections


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PRODUCTION = "production"


class KubernetesConfig(Model):
    """Where Kubernetes objects go."""

    provider: Literal["existing", "doks"] = Field(
        default="existing",
        description="Cluster implementation: `existing` (a cluster reached through a kubeconfig) or `doks` (DigitalOcean Kubernetes).",
    )
    context: str | None = Field(
        default=None,
        description="kubeconfig context to use; the current context when unset.",
    )
    kubeconfig: SecretValue | None = Field(
        default=None,
        description="kubeconfig contents (secret); the ambient ~/.kube/config or $KUBECONFIG when unset.",
    )
    cluster_domain: Hostname = Field(
        default="cluster.local",
        description="The cluster's DNS domain, used in in-cluster service URLs.",
    )
    version_prefix: str = Field(
        default="1.33.",
        pattern=r"^1\.\d+\.$",
        description="DOKS: Kubernetes minor version prefix; the newest patch DigitalOcean offers is used.",
    )
    node_size: DropletSize = Field(default="s-4vcpu-8gb", description="DOKS: droplet size of the node pool.")
    min_nodes: int = Field(default=2, ge=1, le=100, description="DOKS: autoscaler lower bound.")
    max_nodes: int = Field(default=5, ge=1, le=100, description="DOKS: autoscaler upper bound.")
    ha: bool = Field(default=False, description="DOKS: highly available control plane.")
    maintenance_day: Literal["any", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] = Field(
        default="sunday", description="DOKS: day of the weekly maintenance window (auto-upgrades, surge upgrades)."
    )
    maintenance_start: TimeOfDay = Field(default="03:00", description="DOKS: maintenance window start, UTC HH:MM.")
    kubeconfig_ttl_days: int = Field(
        default=90, ge=1, le=365, description="DOKS: lifetime of the kubeconfig token; renewed on every `pulumi up`/`refresh`."
    )


class MongoConfig(Model):
    """The MongoDB replica set every app uses."""

    provider: Literal["inCluster", "external", "digitalocean", "container"] = Field(
        default="inCluster",
        description="`inCluster` (Kubernetes StatefulSet), `external` (`url`, secret), `digitalocean` (managed), `container` (Docker hosts).",
    )
    size: DatabaseSize = Field(default="db-s-1vcpu-2gb", description="digitalocean: database node size.")
    nodes: int = Field(default=1, ge=1, le=3, description="digitalocean: database nodes (1 or 3; 3 required in production).")
    namespace: DnsLabel = Field(default="meteor-mongo", description="Namespace of the in-cluster replica set.")
    members: Literal[1, 3, 5] = Field(default=1, description="Replica set members (in-cluster): 1, 3 or 5.")
    version: str = Field(
        default="7.0.16",
        description="MongoDB server version (in-cluster): 6.0 or newer, image `mongo:<version>`.",
    )
    image: ImageRef | None = Field(
        default=None,
        description="Override the MongoDB image (e.g. pinned by digest); must match `version`.",
    )
    storage_size: Quantity = Field(default="10Gi", description="Volume size per member.")
    storage_class: str | None = Field(
        default=None,
        description="Existing StorageClass for the volumes (must reclaim with Retain). Conflicts with `storageProvisioner`.",
    )
    storage_provisioner: str | None = Field(
        default=None,
        description="CSI provisioner for a StorageClass the platform creates with reclaimPolicy Retain (e.g. dobs.csi.digitalocean.com).",
    )
    cpu: Quantity = Field(default="500m", description="CPU request per member.")
    memory: Quantity = Field(default="1Gi", description="Memory request and limit per member.")
    url: MongoUrl | None = Field(
        default=None,
        description="External MongoDB URL (secret), required when provider is `external`.",
    )
    oplog_url: MongoUrl | None = Field(
        default=None,
        description="External oplog URL (secret), optional with provider `external`.",
    )


class StorageConfig(Model):
    """Where uploaded files live (never on the container's disk)."""

    provider: Literal["gridfs", "spaces", "minio"] = Field(
        default="gridfs",
        description="`gridfs` (MongoDB GridFS), `spaces` (a DigitalOcean Spaces bucket) or `minio` (an S3-compatible container on the Docker host).",
    )
    gridfs_bucket: DnsLabel = Field(default="uploads", description="GridFS bucket name given to the app.")
    bucket: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$",
        description="spaces: bucket name (globally unique); default `meteor-platform-<stack>-files`.",
    )
    noncurrent_version_days: int = Field(
        default=30, ge=1, le=3650, description="spaces: days before an overwritten or deleted object version expires."
    )


class DockerConfig(Model):
    """The Docker-host target: apps as containers behind a Traefik proxy on each host."""

    hosts: Literal["local", "machines"] = Field(
        default="local", description="`local` (the engine at `localHost`) or `machines` (the cloud machines, over ssh)."
    )
    local_host: str = Field(
        default="unix:///var/run/docker.sock",
        pattern=r"^(unix|tcp|ssh|npipe)://.+",
        description="Docker endpoint for `hosts: local`.",
    )
    acme_email: str | None = Field(
        default=None,
        pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
        description="Let's Encrypt account email; required unless ingress.tls is `off`.",
    )
    http_port: int = Field(default=80, ge=1, le=65535, description="Host port of the proxy's HTTP entrypoint.")
    https_port: int = Field(default=443, ge=1, le=65535, description="Host port of the proxy's HTTPS entrypoint.")
    proxy_image: ImageRef = Field(default="traefik:v3.5.3", description="Traefik image of the reverse proxy.")
    mongo_image: ImageRef = Field(default="mongo:7.0.16", description="MongoDB image for `mongo.provider: container`.")
    minio_image: ImageRef = Field(
        default="minio/minio:RELEASE.2025-04-22T22-12-26Z", description="MinIO image for `storage.provider: minio`."
    )
    minio_client_image: ImageRef = Field(
        default="minio/mc:RELEASE.2025-04-16T18-13-26Z", description="MinIO client image that creates the bucket and its user."
    )


class DigitalOceanConfig(Model):
    """Account-wide DigitalOcean settings (the API token comes from `digitalocean:token` or DIGITALOCEAN_TOKEN)."""

    region: DoRegion = Field(default="fra1", description="Region of every DigitalOcean resource.")
    vpc_ip_range: Cidr = Field(default="10.120.0.0/20", description="Private network range of the stack's VPC.")


class RegistryConfig(Model):
    """Where app images are pulled from."""

    provider: Literal["none", "digitalocean"] = Field(
        default="none", description="`none` (public or already-authorised images) or `digitalocean` (DOCR)."
    )
    name: DnsLabel | None = Field(default=None, description="digitalocean: registry name; default `meteor-<stack>`.")
    tier: Literal["starter", "basic", "professional"] = Field(default="basic", description="digitalocean: subscription tier.")
    region: DoRegion | None = Field(default=None, description="digitalocean: registry region; default `digitalocean.region`.")


class MachinesConfig(Model):
    """Cloud machines booted as hardened Docker hosts (the Docker Machine idea)."""

    provider: Literal["none", "digitalocean"] = Field(default="none", description="`none` or `digitalocean` (droplets).")
    count: int = Field(default=1, ge=1, le=20, description="Number of hosts.")
    size: DropletSize = Field(default="s-2vcpu-4gb", description="Droplet size.")
    image: str = Field(default="ubuntu-24-04-x64", pattern=r"^ubuntu-\d\d-04-x64$", description="Ubuntu LTS image slug.")
    admin_cidrs: list[Cidr] = Field(default_factory=list, description="Networks allowed to reach SSH (required with hosts).")
    ssh_public_key: SshPublicKey | None = Field(default=None, description="Public key of the deploy user (required with hosts).")
    deploy_user: DnsLabel = Field(default="deploy", description="Non-root user in the docker group, for ssh:// Docker access.")
    serve_traffic: bool = Field(default=True, description="Open 80/443 to the internet on these hosts.")
    reserved_ip: bool = Field(default=False, description="Attach a reserved IP to the first host.")


class IngressConfig(Model):
    """How apps with a domain are exposed over TLS."""

    controller: Literal["traefik", "nginx"] = Field(
        default="traefik",
        description="Ingress controller in the cluster: `traefik` or `nginx` (ingress-nginx).",
    )
    class_name: str | None = Field(default=None, description="IngressClass name; defaults to the controller name.")
    namespace: DnsLabel | None = Field(
        default=None,
        description="Namespace the controller runs in (admitted by the apps' NetworkPolicies); default `traefik` or `ingress-nginx`.",
    )
    tls: Literal["certManager", "existingSecret", "off"] = Field(
        default="certManager",
        description="`certManager` (a cert-manager ClusterIssuer), `existingSecret` or `off` (plain HTTP).",
    )
    cluster_issuer: str = Field(
        default="letsencrypt-prod",
        description="cert-manager ClusterIssuer when tls is `certManager`.",
    )
    tls_secret_name: str | None = Field(
        default=None,
        description="TLS Secret in each app namespace when tls is `existingSecret`.",
    )
    idle_timeout_seconds: int = Field(
        default=3600,
        ge=60,
        le=86400,
        description="Proxy read/send timeout for long-lived websockets and long polls.",
    )
    max_body_size: Quantity = Field(default="50Mi", description="Largest request body (uploads) the proxy accepts.")
    session_cookie: str = Field(
        default="meteor-affinity",
        description="Name of the sticky-session cookie set by the load balancer.",
    )

    @property
    def effective_class_name(self) -> str:
        return self.class_name or self.controller

    @property
    def effective_namespace(self) -> str:
        return self.namespace or ("traefik" if self.controller == "traefik" else "ingress-nginx")


class AutoscalingConfig(Model):
    min_replicas: int | None = Field(
        default=None,
        ge=1,
        le=100,
        description="Lowest replica count; defaults to `replicas`.",
    )
    max_replicas: int = Field(..., ge=1, le=100, description="Highest replica count.")
    target_cpu_percent: int = Field(default=70, ge=10, le=100, description="Average CPU utilisation to aim for.")


class ResourcesConfig(Model):
    cpu_request: Quantity = Field(default="250m", description="CPU request per pod.")
    cpu_limit: Quantity = Field(
        default="1",
        description="CPU limit per pod (node runs one thread of JavaScript).",
    )
    memory_request: Quantity = Field(default="512Mi", description="Memory request per pod.")
    memory_limit: Quantity = Field(default="1Gi", description="Memory limit per pod.")


class MeteorClusterConfig(Model):
    """meteorhacks:cluster wiring (the CLUSTER_* variables)."""

    enabled: bool = Field(
        default=False,
        description="Set CLUSTER_* so instances discover each other through MongoDB.",
    )
    workers: int | Literal["auto"] = Field(
        default=1,
        description="CLUSTER_WORKERS_COUNT: worker processes per pod, or `auto`.",
    )
    public_services: list[DnsLabel] = Field(
        default_factory=list,
        description="CLUSTER_PUBLIC_SERVICES: services reachable by clients.",
    )


class ImageFlavor(StrEnum):
    ZODERN = "zodern"
    METEORD = "meteord"
    CUSTOM = "custom"


FLAVOR_PORT = {
    ImageFlavor.ZODERN: 3000,
    ImageFlavor.METEORD: 80,
    ImageFlavor.CUSTOM: 3000,
}
FLAVOR_USER: dict[ImageFlavor, int | None] = {
    ImageFlavor.ZODERN: 1000,
    ImageFlavor.METEORD: None,  # meteorhacks/meteord runs as root
    ImageFlavor.CUSTOM: 1000,
}

RESERVED_ENV = frozenset(
    {
        "ROOT_URL",
        "PORT",
        "MONGO_URL",
        "MONGO_OPLOG_URL",
        "METEOR_SETTINGS",
        "MAIL_URL",
        "HTTP_FORWARDED_COUNT",
        "BIND_IP",
        "CLUSTER_DISCOVERY_URL",
        "CLUSTER_SERVICE",
        "CLUSTER_ENDPOINT_URL",
        "CLUSTER_BALANCER_URL",
        "CLUSTER_WORKERS_COUNT",
        "CLUSTER_PUBLIC_SERVICES",
        "POD_IP",
        "NODE_OPTIONS",
    }
)


class AppConfig(Model):
    """One Meteor service."""

    name: DnsLabel = Field(
        ...,
        description="App name: namespace, workload and database name derive from it.",
    )
    image: ImageRef = Field(..., description="Image reference; pinned by `@sha256:` digest outside dev.")
    flavor: ImageFlavor = Field(
        default=ImageFlavor.ZODERN,
        description="Image contract: `zodern` (zodern/meteor, port 3000, uid 1000), `meteord` (legacy meteorhacks/meteord, port 80, root) or `custom`.",
    )
    port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Container port, set as PORT; default by flavor (3000 or 80).",
    )
    run_as_user: int | None = Field(
        default=None,
        ge=1,
        le=2**31 - 1,
        description="UID the image runs as (custom flavor); defaults by flavor.",
    )
    domain: Hostname | None = Field(
        default=None,
        description="Public domain; ROOT_URL is https://<domain>. Internal-only when unset.",
    )
    namespace: DnsLabel | None = Field(default=None, description="Kubernetes namespace; defaults to the app name.")
    replicas: int = Field(default=2, ge=1, le=100, description="Pod count (the floor when autoscaling).")
    autoscaling: AutoscalingConfig | None = Field(
        default=None,
        description="HorizontalPodAutoscaler bounds; fixed replicas when unset.",
    )
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig, description="Requests and limits per pod.")
    settings: dict[str, JsonValue] = Field(
        default_factory=dict,
        description="METEOR_SETTINGS as structured config (non-secret parts).",
    )
    secret_settings: SecretValue | None = Field(
        default=None,
        description="A JSON object (secret) merged over `settings`; for private API keys.",
    )
    mail_url: MailUrl | None = Field(default=None, description="MAIL_URL (secret), smtp:// or smtps://.")
    env: dict[EnvName, str] = Field(
        default_factory=dict,
        description="Extra plain environment variables (no secrets).",
    )
    health_path: HttpPath = Field(default="/", description="HTTP path the probes request.")
    read_only_root: bool = Field(
        default=False, description="Read-only root filesystem (for images that run a prebuilt /built_app and write only to /tmp)."
    )
    http_forwarded_count: int = Field(
        default=1,
        ge=0,
        le=5,
        description="HTTP_FORWARDED_COUNT: proxies in front of the app.",
    )
    pre_stop_seconds: int = Field(
        default=10,
        ge=0,
        le=120,
        description="Pause before the kill so load balancers drain.",
    )
    cluster: MeteorClusterConfig = Field(default_factory=MeteorClusterConfig, description="meteorhacks:cluster.")

    @property
    def container_port(self) -> int:
        return self.port if self.port is not None else FLAVOR_PORT[self.flavor]

    @property
    def user_id(self) -> int | None:
        return self.run_as_user if self.run_as_user is not None else FLAVOR_USER[self.flavor]

    @property
    def k8s_namespace(self) -> str:
        return self.namespace or self.name

    @property
    def database(self) -> str:
        return self.name.replace("-", "_")

    @property
    def min_replicas(self) -> int:
        if self.autoscaling and self.autoscaling.min_replicas is not None:
            return self.autoscaling.min_replicas
        return self.replicas


class PlatformConfig(Model):
    """Everything under the `meteor-platform:` namespace of a stack."""

    environment: Environment = Field(..., description="`dev`, `staging` or `production`: sets the safety defaults.")
    target: Literal["kubernetes", "docker"] = Field(
        default="kubernetes", description="Where apps run: `kubernetes` or `docker` (plain Docker hosts behind Traefik)."
    )
    protect: bool | None = Field(
        default=None,
        description="Protect stateful resources from `pulumi destroy` and replacement; default true in production.",
    )
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig, description="Cluster to deploy to.")
    mongo: MongoConfig = Field(default_factory=MongoConfig, description="MongoDB.")
    storage: StorageConfig = Field(default_factory=StorageConfig, description="File storage.")
    digitalocean: DigitalOceanConfig = Field(default_factory=DigitalOceanConfig, description="DigitalOcean account settings.")
    registry: RegistryConfig = Field(default_factory=RegistryConfig, description="Container registry.")
    docker: DockerConfig = Field(default_factory=DockerConfig, description="Docker-host target.")
    machines: MachinesConfig = Field(default_factory=MachinesConfig, description="Docker host machines.")
    ingress: IngressConfig = Field(default_factory=IngressConfig, description="Exposure over TLS.")
    apps: list[AppConfig] = Field(..., min_length=1, description="The Meteor apps of this stack.")

    @property
    def protect_stateful(self) -> bool:
        return self.protect if self.protect is not None else self.environment is Environment.PRODUCTION


# ---------------------------------------------------------------------------------------------
# Errors


class ConfigError(pulumi.RunError):
    """Bad stack configuration; the message lists every problem, one per line."""

    def __init__(self, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__("invalid stack configuration:" + "".join(f"\n  {p}" for p in problems))


def key_path(loc: Sequence[str | int]) -> str:
    """`('apps', 0, 'replicas')` -> `meteor-platform:apps[0].replicas`."""
    text = NAMESPACE + ":"
    for i, part in enumerate(loc):
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += part if i == 0 else f".{part}"
    return text


def _show(value: Any) -> str:
    if isinstance(value, SecureLeaf | SecretValue):
        return "a secret"
    text = json.dumps(value, default=str) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _expectation(err: ErrorDetails) -> str:
    msg = err["msg"]
    if err["type"] == "string_pattern_mismatch":
        return f"expected a value matching the pattern {(err.get('ctx') or {}).get('pattern')}"
    for prefix in ("Value error, ", "Input should be ", "Assertion failed, "):
        if msg.startswith(prefix):
            msg = msg[len(prefix) :]
            break
    if msg.startswith("expected "):
        return msg
    return f"expected {msg}" if not msg.startswith("expected") else msg


def _known_keys(model: type[BaseModel], loc: Sequence[str | int]) -> list[str]:
    """The keys allowed at `loc` (for typo suggestions)."""
    current: type[BaseModel] | None = model
    for part in loc:
        if isinstance(part, int):
            continue
        if current is None:
            return []
        field = next((f for n, f in current.model_fields.items() if (f.alias or n) == part), None)
        if field is None:
            return []
        current = _model_of(field.annotation)
    return [f.alias or n for n, f in current.model_fields.items()] if current else []


def _model_of(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())  # pyright: ignore[reportUnknownArgumentType]
    for arg in args:
        found = _model_of(arg)
        if found is not None:
            return found
    return None


def _format_error(err: ErrorDetails) -> str:
    loc: list[str | int] = list(err["loc"])
    path = key_path(loc)
    kind = err["type"]
    given = err.get("input")
    if kind == "extra_forbidden":
        allowed = _known_keys(PlatformConfig, loc[:-1])
        hint = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
        suggestion = f" (did you mean '{hint[0]}'?)" if hint else ""
        return f"{path}: unknown key{suggestion}; expected one of: {', '.join(sorted(allowed))}"
    if kind == "missing":
        return f"{path}: missing; expected a value (this key is required)"
    if isinstance(given, SecureLeaf):
        return f"{path}: got a secure value; expected a plain value (this key is not secret)"
    if kind == "secret_type" or (loc and _is_secret_field(loc)):
        return f"{path}: got a secret that is not valid; {_expectation(err)}"
    return f"{path}: got {_show(given)}; {_expectation(err)}"


def _is_secret_field(loc: Sequence[str | int]) -> bool:
    return any(path == list(loc) for path, _ in _secret_field_paths(None, PlatformConfig, []))


def _secret_field_paths(
    value: Any, model: type[BaseModel], prefix: list[str | int]
) -> Iterator[tuple[list[str | int], SecretValue | None]]:
    """Paths of secret-typed fields (with their values when `value` is a model)."""
    for name, field in model.model_fields.items():
        alias = field.alias or name
        field_value = getattr(value, name, None) if value is not None else None
        if SecretValue in _flatten_args(field.annotation):
            yield (
                [*prefix, alias],
                field_value if isinstance(field_value, SecretValue) else None,
            )
            continue
        sub = _model_of(field.annotation)
        if sub is None:
            continue
        if isinstance(field_value, list):
            for i, item in enumerate(field_value):  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
                yield from _secret_field_paths(item, sub, [*prefix, alias, i])
        elif field_value is not None or value is None:
            yield from _secret_field_paths(field_value, sub, [*prefix, alias])


def _flatten_args(annotation: Any) -> set[Any]:
    found = {annotation}
    args: tuple[Any, ...] = getattr(annotation, "__args__", ())
    for arg in args:
        found |= _flatten_args(arg)
    origin = getattr(annotation, "__origin__", None)
    if origin is not None:
        found.add(origin)
    return found


# ---------------------------------------------------------------------------------------------
# Cross-field rules (run once every field is individually valid)


def _major_minor(version: str) -> tuple[int, int] | None:
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", version)
    return (int(match.group(1)), int(match.group(2))) if match else None


def _semantic_problems(cfg: PlatformConfig, secret_keys: set[str]) -> list[str]:
    problems: list[str] = []

    def add(loc: Sequence[str | int], given: Any, expected: str) -> None:
        problems.append(f"{key_path(loc)}: got {_show(given)}; {expected}")

    # Secrets must arrive as secrets.
    for loc, secret in _secret_field_paths(cfg, PlatformConfig, []):
        if secret is None or secret.marked_secure:
            continue
        if f"{NAMESPACE}:{loc[0]}" not in secret_keys:
            dotted = key_path(loc).split(":", 1)[1]
            problems.append(
                f"{key_path(loc)}: got a plain-text value; expected a secret "
                f"(set it with: pulumi config set --secret --path '{dotted}' <value>)"
            )

    mongo = cfg.mongo
    if mongo.provider != "digitalocean":
        for field, value, default in (("size", mongo.size, "db-s-1vcpu-2gb"), ("nodes", mongo.nodes, 1)):
            if value != default:
                add(["mongo", field], value, "expected it unset: it only applies to mongo.provider 'digitalocean'")
    version = _major_minor(mongo.version)
    if version is None:
        add(
            ["mongo", "version"],
            mongo.version,
            "expected a MongoDB version such as 7.0 or 8.0.4",
        )
    elif version[0] < 6:
        add(
            ["mongo", "version"],
            mongo.version,
            "expected 6.0 or newer (Meteor 3 needs change streams on a replica set)",
        )
    if mongo.provider == "digitalocean":
        for field in ("url", "oplogUrl", "storageClass", "storageProvisioner"):
            if getattr(mongo, to_snake(field)) is not None:
                problems.append(
                    f"{key_path(['mongo', field])}: got a value; expected it unset: it conflicts with mongo.provider 'digitalocean'"
                )
    elif mongo.provider == "external":
        if mongo.url is None:
            problems.append(
                f"{key_path(['mongo', 'url'])}: missing; expected a mongodb:// URL (secret) because mongo.provider is 'external'"
            )
        for field, value in (
            ("members", mongo.members != 1),
            ("storageClass", mongo.storage_class),
            ("storageProvisioner", mongo.storage_provisioner),
        ):
            if value:
                add(
                    ["mongo", field],
                    getattr(mongo, to_snake(field)),
                    "expected it unset: it only applies to mongo.provider 'inCluster'",
                )
    elif mongo.provider == "container":
        for field in ("url", "oplogUrl"):
            if getattr(mongo, to_snake(field)) is not None:
                problems.append(
                    f"{key_path(['mongo', field])}: got a value; expected it unset: it conflicts with mongo.provider 'container'"
                )
    else:
        for field in ("url", "oplogUrl"):
            if getattr(mongo, to_snake(field)) is not None:
                problems.append(
                    f"{key_path(['mongo', field])}: got a value; expected it unset: it conflicts with mongo.provider 'inCluster' (use 'external')"
                )
        if mongo.storage_class and mongo.storage_provisioner:
            add(
                ["mongo", "storageProvisioner"],
                mongo.storage_provisioner,
                "expected either mongo.storageClass or mongo.storageProvisioner, not both",
            )
        if not mongo.storage_class and not mongo.storage_provisioner:
            problems.append(
                f"{key_path(['mongo', 'storageProvisioner'])}: missing; expected the cluster's CSI provisioner "
                "(or mongo.storageClass naming a class that reclaims with Retain)"
            )

    k = cfg.kubernetes
    if k.provider == "doks":
        if k.min_nodes > k.max_nodes:
            add(["kubernetes", "minNodes"], k.min_nodes, f"expected at most kubernetes.maxNodes ({k.max_nodes})")
        for field, value in (("context", k.context), ("kubeconfig", k.kubeconfig)):
            if value is not None:
                add(["kubernetes", field], value, "expected it unset: it conflicts with kubernetes.provider 'doks'")
    docker_on_machines = cfg.target == "docker" and cfg.docker.hosts == "machines"
    if mongo.provider == "digitalocean":
        if k.provider != "doks" and not docker_on_machines:
            add(
                ["mongo", "provider"],
                mongo.provider,
                "expected kubernetes.provider 'doks' or the docker target on machines with it (its firewall admits only those)",
            )
        if mongo.nodes == 2:
            add(["mongo", "nodes"], 2, "expected 1 or 3 (DigitalOcean MongoDB runs 1 node or a 3-node replica set)")
        if cfg.environment is Environment.PRODUCTION and mongo.nodes < 3:
            add(["mongo", "nodes"], mongo.nodes, "expected 3 in production (a highly available replica set)")
    machines = cfg.machines
    if machines.provider != "none":
        if not machines.admin_cidrs:
            problems.append(f"{key_path(['machines', 'adminCidrs'])}: missing; expected the networks allowed to reach SSH")
        if machines.ssh_public_key is None:
            problems.append(f"{key_path(['machines', 'sshPublicKey'])}: missing; expected the deploy user's OpenSSH public key")
        for j, cidr in enumerate(machines.admin_cidrs):
            if ipaddress.ip_network(cidr).prefixlen == 0:
                add(["machines", "adminCidrs", j], cidr, "expected a specific network, not the whole internet")

    if cfg.target == "docker":
        if mongo.provider == "inCluster":
            add(["mongo", "provider"], mongo.provider, "expected 'container', 'external' or 'digitalocean' with target 'docker'")
        if cfg.docker.hosts == "machines" and machines.provider == "none":
            problems.append(f"{key_path(['machines', 'provider'])}: missing; expected cloud machines because docker.hosts is 'machines'")
        if mongo.provider == "container" and docker_on_machines and machines.count > 1:
            add(
                ["mongo", "provider"],
                mongo.provider,
                "expected 'digitalocean' or 'external' with more than one host (a container lives on one host)",
            )
        if cfg.ingress.tls != "off" and cfg.docker.acme_email is None:
            problems.append(
                f"{key_path(['docker', 'acmeEmail'])}: missing; expected a Let's Encrypt account email because ingress.tls is not 'off'"
            )
        if cfg.registry.provider != "none":
            add(
                ["registry", "provider"],
                cfg.registry.provider,
                "expected 'none' with target 'docker' (hosts pull public images or ones their deploy user is logged in to)",
            )
        if cfg.ingress.tls == "existingSecret":
            add(
                ["ingress", "tls"], "existingSecret", "expected 'certManager' (Let's Encrypt through Traefik) or 'off' with target 'docker'"
            )
    else:
        if mongo.provider == "container":
            add(["mongo", "provider"], mongo.provider, "expected it only with target 'docker'")
        if cfg.storage.provider == "minio":
            add(["storage", "provider"], "minio", "expected it only with target 'docker'")

    ingress = cfg.ingress
    if ingress.tls == "existingSecret" and not ingress.tls_secret_name:
        problems.append(
            f"{key_path(['ingress', 'tlsSecretName'])}: missing; expected a Secret name because ingress.tls is 'existingSecret'"
        )
    if ingress.tls != "existingSecret" and ingress.tls_secret_name:
        add(
            ["ingress", "tlsSecretName"],
            ingress.tls_secret_name,
            "expected it unset unless ingress.tls is 'existingSecret'",
        )
    if ingress.tls == "off" and cfg.environment is not Environment.DEV:
        add(
            ["ingress", "tls"],
            "off",
            "expected 'certManager' or 'existingSecret' outside dev (sessions need TLS)",
        )

    seen_names: dict[str, int] = {}
    seen_namespaces: dict[str, int] = {}
    seen_domains: dict[str, int] = {}
    for i, app in enumerate(cfg.apps):
        if app.name in seen_names:
            add(
                ["apps", i, "name"],
                app.name,
                f"expected a unique app name (apps[{seen_names[app.name]}] has it)",
            )
        seen_names.setdefault(app.name, i)
        if app.k8s_namespace in seen_namespaces:
            add(
                ["apps", i, "namespace"],
                app.k8s_namespace,
                f"expected a namespace of its own (apps[{seen_namespaces[app.k8s_namespace]}] uses it)",
            )
        seen_namespaces.setdefault(app.k8s_namespace, i)
        if app.k8s_namespace == mongo.namespace and mongo.provider == "inCluster":
            add(
                ["apps", i, "namespace"],
                app.k8s_namespace,
                "expected a namespace other than mongo.namespace",
            )
        if app.domain:
            if app.domain in seen_domains:
                add(
                    ["apps", i, "domain"],
                    app.domain,
                    f"expected a domain of its own (apps[{seen_domains[app.domain]}] uses it)",
                )
            seen_domains.setdefault(app.domain, i)
        if cfg.environment is not Environment.DEV and not is_digest_pinned(app.image):
            add(
                ["apps", i, "image"],
                app.image,
                f"expected an image pinned by @sha256: digest in {cfg.environment.value}",
            )
        if app.flavor is ImageFlavor.METEORD and app.port not in (None, 80):
            add(
                ["apps", i, "port"],
                app.port,
                "expected 80: legacy MeteorD images listen on port 80",
            )
        if app.flavor is not ImageFlavor.CUSTOM and app.run_as_user is not None:
            add(
                ["apps", i, "runAsUser"],
                app.run_as_user,
                "expected it unset: the flavor fixes the user (use flavor 'custom')",
            )
        if app.autoscaling:
            low = app.min_replicas
            if low > app.autoscaling.max_replicas:
                add(
                    ["apps", i, "autoscaling", "maxReplicas"],
                    app.autoscaling.max_replicas,
                    f"expected at least the minimum replica count ({low})",
                )
        res = app.resources
        for req, lim, label in (
            (res.cpu_request, res.cpu_limit, "cpu"),
            (res.memory_request, res.memory_limit, "memory"),
        ):
            if quantity_value(req) > quantity_value(lim):
                add(
                    ["apps", i, "resources", f"{label}Request"],
                    req,
                    f"expected no more than {label}Limit ({lim})",
                )
        reserved = sorted(set(app.env) & RESERVED_ENV)
        for name in reserved:
            add(
                ["apps", i, "env", name],
                app.env[name],
                "expected it unset: the platform sets this variable",
            )
        if app.secret_settings is not None and app.secret_settings.known:
            try:
                parsed = json.loads(app.secret_settings.reveal())
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                problems.append(
                    f"{key_path(['apps', i, 'secretSettings'])}: got a secret that is not valid; expected a JSON object (value hidden)"
                )
        for j, service in enumerate(app.cluster.public_services):
            if service not in {a.name for a in cfg.apps}:
                add(
                    ["apps", i, "cluster", "publicServices", j],
                    service,
                    "expected the name of an app in this stack",
                )
    return problems


def to_snake(camel: str) -> str:
    return re.sub(r"([A-Z])", lambda m: "_" + m.group(1).lower(), camel)


# ---------------------------------------------------------------------------------------------
# Loading


def parse_config(raw: Mapping[str, Any], secret_keys: set[str] | frozenset[str] = frozenset()) -> PlatformConfig:
    """Validate the `meteor-platform:*` values (already JSON-decoded, keys without the prefix).

    `secret_keys` holds the full keys (`meteor-platform:apps`) the engine marked secret.
    Raises ConfigError naming every bad key.
    """
    data = {key: mark_secure_leaves(value) for key, value in raw.items()}
    try:
        cfg = PlatformConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError([_format_error(e) for e in exc.errors()]) from None
    problems = _semantic_problems(cfg, set(secret_keys))
    if problems:
        raise ConfigError(problems)
    return cfg


def _decode(value: Any) -> Any:
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def raw_stack_config() -> tuple[dict[str, Any], set[str]]:
    """The raw `meteor-platform:*` values of the running stack and the keys marked secret."""
    keys = set(runtime_config.CONFIG.get()) | set(runtime_config.get_config_env())
    config = pulumi.Config(NAMESPACE)
    raw: dict[str, Any] = {}
    for full_key in sorted(keys):
        namespace, _, key = full_key.partition(":")
        if namespace != NAMESPACE:
            continue
        raw[key] = _decode(config.get(key))
    secret_keys = {k for k in keys if pulumi.runtime.is_config_secret(k)}
    secret_keys |= set(runtime_config.get_config_secret_keys_env())
    return raw, secret_keys


def load_config() -> PlatformConfig:
    """Read and validate this stack's configuration (raises ConfigError)."""
    raw, secret_keys = raw_stack_config()
    return parse_config(raw, secret_keys)
