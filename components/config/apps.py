"""`apps`: the Meteor services of the stack, and the image contract each one follows."""

import contextlib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Literal, cast

from pydantic import AfterValidator, BeforeValidator, Field, JsonValue

from components.config.errors import Problems, looks_like_credential
from components.config.values import (
    AppMemory,
    Cpu,
    DnsLabel,
    EnvName,
    Hostname,
    HttpPath,
    ImageRef,
    MailUrl,
    Model,
    is_digest_pinned,
    matching,
    quantity_value,
)
from components.secrets import SecretValue
from components.versions import NODE_IMAGES, node_image_of_line, release_tuple


class ImageFlavor(StrEnum):
    METEOR = "meteor"
    ZODERN = "zodern"
    METEORD = "meteord"
    CUSTOM = "custom"


FLAVOR_PORT = {ImageFlavor.METEOR: 3000, ImageFlavor.ZODERN: 3000, ImageFlavor.METEORD: 80, ImageFlavor.CUSTOM: 3000}
FLAVOR_USER: dict[ImageFlavor, int | None] = {
    ImageFlavor.METEOR: 1000,  # dockerfiles/meteor: USER 1000:1000
    ImageFlavor.ZODERN: 1000,
    ImageFlavor.METEORD: None,  # meteorhacks/meteord runs as root
    ImageFlavor.CUSTOM: 1000,
}

# Every variable the platform sets (see app/environment.py); a test checks each one the shipped
# stacks set is reserved here.
RESERVED_ENV = frozenset(
    {
        "ROOT_URL",
        "PORT",
        "METEOR_SETTINGS",
        "MAIL_URL",
        "HTTP_FORWARDED_COUNT",
        "BIND_IP",
        "POD_IP",
        "NODE_OPTIONS",
        "FILE_STORAGE",
        "GRIDFS_BUCKET",
        "METEOR_REACTIVITY_ORDER",
    }
)
RESERVED_PREFIXES = ("MONGO_", "CLUSTER_", "S3_")
RESERVED_SUFFIXES = ("_DDP_URL",)
S3_STORAGE_ENV = frozenset({"AWS_REGION"})
"""Set only with `storage.provider: s3` (components/storage/aws.py): elsewhere an app may set it (SES mail)."""


def is_reserved_env(name: str, *, s3_storage: bool = False) -> bool:
    """Whether the platform sets (or may set) this variable: apps cannot override it."""
    return (
        name in RESERVED_ENV
        or (s3_storage and name in S3_STORAGE_ENV)
        or name.startswith(RESERVED_PREFIXES)
        or name.endswith(RESERVED_SUFFIXES)
    )


_CREDENTIAL_NAME = r"(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|API_?KEY|PRIVATE_KEY|ACCESS_KEY|CREDENTIALS?|AUTH)(_|$)"

# One environment string ("NAME=value") may be at most 128 KiB on Linux (MAX_ARG_STRLEN).
MAX_ENV_BYTES = 128 * 1024
STORAGE_SETTINGS_ALLOWANCE = 2048
"""Room for the storage fragment the platform merges into METEOR_SETTINGS."""


class ResourcesConfig(Model):
    cpu_request: Cpu = Field(default="250m", description="CPU request per instance: cores or millicores (10m to 64).")
    cpu_limit: Cpu = Field(
        default="1",
        description="CPU limit per instance (node runs one thread of JavaScript): cores or millicores (10m to 64); Docker gets it as `cpus` in cores.",
    )
    memory_request: AppMemory = Field(
        default="512Mi", description="Memory request per instance: with a unit (Ki, Mi, Gi, Ti or k, M, G, T), 64Mi to 1024Gi."
    )
    memory_limit: AppMemory = Field(
        default="1Gi", description="Memory limit per instance: with a unit, 64Mi to 1024Gi; Docker gets it in MiB, node 75% of it as heap."
    )

    def own_problems(self, problems: Problems) -> None:
        for request, limit, label in ((self.cpu_request, self.cpu_limit, "cpu"), (self.memory_request, self.memory_limit, "memory")):
            if quantity_value(request) > quantity_value(limit):
                problems.bad([f"{label}Request"], request, f"expected no more than {label}Limit ({limit})")


MAX_CLUSTER_WORKERS = 16


def _check_workers(value: object) -> object:
    """One message for the whole `int or 'auto'` union (pydantic would report each member)."""
    if value == "auto" or (isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_CLUSTER_WORKERS):
        return value
    raise ValueError(f"expected a worker count from 1 to {MAX_CLUSTER_WORKERS}, or 'auto' (one per CPU)")


WorkerCount = Annotated[int | Literal["auto"], BeforeValidator(_check_workers)]


class MeteorClusterConfig(Model):
    """meteorhacks:cluster wiring (the CLUSTER_* variables)."""

    enabled: bool = Field(
        default=False,
        description="Set CLUSTER_* so instances discover each other through MongoDB. Only Meteor before 3.0 (`meteorRelease`) "
        "with an external MongoDB before 5.1: meteorhacks:cluster needs Fibers and its bundled mongodb 1.4 driver.",
    )
    workers: WorkerCount | None = Field(
        default=None,
        description="CLUSTER_WORKERS_COUNT: extra worker processes per instance (1-16, or `auto`: one per CPU), each a full "
        "Meteor process inside the same memory limit; none by default.",
    )
    public_services: list[DnsLabel] = Field(
        default_factory=lambda: [], description="CLUSTER_PUBLIC_SERVICES: services reachable by clients."
    )


class AutoscalingConfig(Model):
    min_replicas: int | None = Field(default=None, ge=1, le=100, description="Lowest replica count; defaults to `replicas`.")
    max_replicas: int = Field(..., ge=1, le=100, description="Highest replica count.")
    target_cpu_percent: int = Field(default=70, ge=10, le=100, description="Average CPU utilisation to aim for.")


class BuildConfig(Model):
    """Build the app's image from its source (pushed to the stack's registry, deployed by digest)."""

    context: str = Field(
        ...,
        description="Source directory, relative to the project (the Meteor app, with `.meteor/release` unless `dockerfile` is `own`).",
    )
    dockerfile: Literal["meteor", "meteord", "own"] = Field(
        default="meteor",
        description="`meteor` (the project's multi-stage Dockerfile: bundle with the app's release, run on slim Node as non-root), "
        "`meteord` (legacy MeteorD onbuild base for old apps) or `own` (the app's Dockerfile, `file`).",
    )
    file: str | None = Field(default=None, description="With `own`: the Dockerfile, relative to `context` (default `Dockerfile`).")
    base_image: str | None = Field(
        default=None,
        pattern=r"^([a-z0-9.-]+(:[0-9]+)?/)?[a-z0-9][a-z0-9._/-]*(:[A-Za-z0-9._-]+)?@sha256:[0-9a-f]{64}$",
        description="With `meteord`: the MeteorD onbuild base by digest (`meteorhacks/meteord:onbuild@sha256:...`, read with "
        "`docker buildx imagetools inspect meteorhacks/meteord:onbuild`); required outside dev, where the mutable tag is refused.",
    )
    node_version: str | None = Field(
        default=None,
        pattern=r"^[0-9]+\.[0-9]+\.[0-9]+$",
        description="Node version of the runtime image (x.y.z); default: the one the app's Meteor release needs.",
    )
    args: dict[EnvName, str] = Field(
        default_factory=lambda: {}, description="Extra build arguments (not secrets: they stay in the image history)."
    )

    def own_problems(self, problems: Problems) -> None:
        if self.dockerfile != "own" and self.file is not None:
            problems.bad(["file"], self.file, "expected it unset: only dockerfile 'own' names a Dockerfile")
        for name in sorted(self.args):
            if (
                name in ("METEOR_RELEASE", "NODE_VERSION", "DEBIAN_RELEASE")
                or looks_like_credential(self.args[name])
                or re.search(_CREDENTIAL_NAME, name)
            ):
                problems.line(
                    ["args", name],
                    "expected no credential and not METEOR_RELEASE/NODE_VERSION/DEBIAN_RELEASE (the platform sets them): build arguments stay in the image",
                )
        _node_version_problems(self.node_version, problems)


class MigrationConfig(Model):
    """A command run once per image, with the new image and the app's environment, before the app rolls."""

    command: list[str] = Field(..., min_length=1, description="The command and its arguments (exec form), e.g. [node, migrate.js].")
    timeout_seconds: int = Field(default=600, ge=30, le=3600, description="How long the migration may run before `pulumi up` fails.")


class CanaryConfig(Model):
    """A second version beside the current one, on a share of the instances, behind the same service."""

    image: ImageRef = Field(..., description="The next version's image (by digest outside dev).")
    share: int = Field(default=10, ge=1, le=50, description="Percent of the app's instances that run the canary (at least one).")
    migrate: MigrationConfig | None = Field(
        default=None, description="The next version's own migration, run with the canary's image before the canary starts."
    )


class ApmProvider(StrEnum):
    MONTI_APM = "montiApm"
    KADIRA = "kadira"


@dataclass(frozen=True)
class ApmVariables:
    """The environment variables an APM agent reads its credentials and engine from."""

    app_id: str
    secret: str
    endpoint: str


# montiapm:agent (monti-apm/monti-apm-agent lib/environment_variables.js:54-58 MONTI_APP_ID/MONTI_APP_SECRET,
# :96 MONTI_OPTIONS_ENDPOINT; lib/auto_connect.js:3-7 connects when both id and secret are set; lib/kadira.js:77
# defaults the endpoint to https://engine.montiapm.com). meteorhacks:kadira (meteorhacks/kadira
# lib/auto_connect.js:2-7 KADIRA_APP_ID/KADIRA_APP_SECRET, lib/environment_variables.js:67 KADIRA_OPTIONS_ENDPOINT).
# montiapm:agent also reads the KADIRA_ names (lib/environment_variables.js:1-3 maps KADIRA_ to MONTI_), so the
# kadira variables reach a self-hosted engine with either package.
APM_VARIABLES = {
    ApmProvider.MONTI_APM: ApmVariables("MONTI_APP_ID", "MONTI_APP_SECRET", "MONTI_OPTIONS_ENDPOINT"),
    ApmProvider.KADIRA: ApmVariables("KADIRA_APP_ID", "KADIRA_APP_SECRET", "KADIRA_OPTIONS_ENDPOINT"),
}
APM_ENV = frozenset(name for v in APM_VARIABLES.values() for name in (v.app_id, v.secret, v.endpoint))
"""Set by `apm`: with it, an app sets none of them itself (montiapm:agent reads both prefixes as one)."""
APM_SETTINGS_KEYS = ("monti", "kadira")
APM_SETTINGS_CREDENTIALS = ("appId", "appSecret")
"""METEOR_SETTINGS keys the agent connects with too, when the key holds both `appId` and `appSecret` (montiapm:agent
lib/auto_connect.js:19-30 reads `Meteor.settings.monti || Meteor.settings.kadira` and connects only with both;
meteorhacks:kadira lib/auto_connect.js:17-29 the same with `Meteor.settings.kadira`). It connects from the environment
first (montiapm:agent :40-41), which replaces Kadira.connect with a function that throws (:11-13), so credentials in both
places fail the app's start. Other members (`monti.options.disableInstrumentation`, read by the agent) are settings like any."""

HttpsUrl = Annotated[
    str,
    AfterValidator(
        matching(
            r"https://[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]*[A-Za-z0-9])?)*(:[0-9]{1,5})?(/[A-Za-z0-9._~/-]*)?",
            "expected an https:// URL such as https://apm-engine.example.com (a host name, an optional port and path)",
        )
    ),
]
ApmAppId = Annotated[
    str, AfterValidator(matching(r"[A-Za-z0-9_-]{1,64}", "expected the app id the APM shows (letters, digits, _ and -; at most 64)"))
]


class ApmConfig(Model):
    """A Meteor APM agent's credentials and engine (the app adds the agent package itself)."""

    provider: ApmProvider = Field(
        ...,
        description="`montiApm` (Monti APM, the maintained successor of Kadira: package montiapm:agent, MONTI_* variables) or "
        "`kadira` (a self-hosted Kadira-compatible engine: KADIRA_* variables, read by meteorhacks:kadira and montiapm:agent).",
    )
    app_id: ApmAppId = Field(..., description="The app id the APM shows for the app (not secret).")
    secret: SecretValue = Field(
        ..., description="The app secret (secret): pulumi config set --secret --path 'apps[0].apm.secret' <secret>."
    )
    endpoint: HttpsUrl | None = Field(
        default=None,
        description="The engine's https URL: optional for montiApm (the agent defaults to https://engine.montiapm.com), required for kadira.",
    )

    @property
    def variables(self) -> ApmVariables:
        return APM_VARIABLES[self.provider]

    @property
    def port(self) -> int:
        """The TCP port the agent reaches the engine on."""
        if self.endpoint is None:
            return 443
        host = self.endpoint.removeprefix("https://").split("/", 1)[0]
        return int(host.rsplit(":", 1)[1]) if ":" in host else 443

    def own_problems(self, problems: Problems) -> None:
        if not 1 <= self.port <= 65535:
            problems.bad(["endpoint"], self.endpoint, "expected a port from 1 to 65535 (443 when the URL names none)")


class AppConfig(Model):
    """One Meteor service: what both targets understand."""

    name: DnsLabel = Field(
        ...,
        description="App name: workload, service, namespace and database name derive from it (a DNS label of at most 40 characters; not `mongo`/`minio` beside those containers, not a namespace the cluster or ingress owns).",
    )
    image: ImageRef | None = Field(
        default=None,
        description="Prebuilt image reference, pinned by `@sha256:` digest outside dev; with `promotion`, a pin that wins over the promoted one (rollback).",
    )
    build: BuildConfig | None = Field(
        default=None, description="Build the image from source instead (not in production, not with `promotion`)."
    )
    meteor_release: str | None = Field(
        default=None,
        pattern=r"^[0-9]+\.[0-9]+(\.[0-9]+)*(-[A-Za-z0-9.]+)?$",
        description="The Meteor release the image runs (`3.1.2`), for a prebuilt or promoted image; a build reads `.meteor/release`. "
        "Names the reactivity in the plan (3.5+: change streams with the oplog or polling as fallback; before: oplog where MongoDB "
        "offers it, else polling) and decides whether "
        "meteorhacks:cluster can run.",
    )
    canary: CanaryConfig | None = Field(default=None, description="Run the next version on a share of the instances.")
    migrate: MigrationConfig | None = Field(default=None, description="A migration run once per image before the app rolls.")
    flavor: ImageFlavor = Field(
        default=ImageFlavor.ZODERN,
        description="Image contract: `meteor` (the platform's dockerfiles/meteor: tini as ENTRYPOINT, port 3000, uid 1000; what "
        "`build.dockerfile: meteor` builds and a stack promoting it runs), `zodern` (zodern/meteor, port 3000, uid 1000), `meteord` "
        "(legacy meteorhacks/meteord, port 80, root) or `custom`.",
    )
    port: int | None = Field(default=None, ge=1, le=65535, description="Container port, set as PORT; default by flavor (3000 or 80).")
    run_as_user: int | None = Field(
        default=None, ge=1, le=2**31 - 1, description="UID the image runs as (custom flavor); defaults by flavor."
    )
    domain: Hostname | None = Field(
        default=None,
        description="Public domain; ROOT_URL is https://<domain>. Internal-only when unset. With TLS or in production, a public name (not .localhost, .local, .test, .internal, ...).",
    )
    replicas: int = Field(
        default=2,
        ge=1,
        le=100,
        description="Instances of the app in total: pods on Kubernetes (the floor when autoscaling); containers on Docker hosts, "
        "spread round-robin over the hosts.",
    )
    resources: ResourcesConfig = Field(default_factory=ResourcesConfig.model_construct, description="Requests and limits per instance.")
    settings: dict[str, JsonValue] = Field(
        default_factory=lambda: {},
        description="METEOR_SETTINGS as structured config (non-secret parts; finite numbers; with secretSettings at most 128 KiB).",
    )
    secret_settings: SecretValue | None = Field(
        default=None, description="A JSON object (secret) merged over `settings`; for private API keys."
    )
    mail_url: MailUrl | None = Field(default=None, description="MAIL_URL (secret), smtp:// or smtps://.")
    env: dict[EnvName, str] = Field(
        default_factory=lambda: {},
        description="Extra plain environment variables: not the platform's (ROOT_URL, PORT, MONGO_*, S3_*, CLUSTER_*, *_DDP_URL, ...), no credentials (those go in `secretEnv`).",
    )
    secret_env: dict[EnvName, SecretValue] = Field(
        default_factory=lambda: {}, description="Extra environment variables delivered as secrets (each value set with --secret)."
    )
    health_path: HttpPath = Field(
        default="/", description="HTTP path the health checks request: absolute, RFC 3986 path characters without quotes, at most 200."
    )
    read_only_root: bool = Field(
        default=False,
        description="Read-only root filesystem (for images that run a prebuilt /built_app and write only to /tmp: flavors `meteor` and `custom`).",
    )
    http_forwarded_count: int | None = Field(
        default=None,
        ge=0,
        le=5,
        description="HTTP_FORWARDED_COUNT: proxies in front of the app that add to X-Forwarded-For; default from the topology "
        "(1, or 1 + kubernetes.frontProxies on an existing cluster).",
    )
    pre_stop_seconds: int = Field(default=10, ge=0, le=120, description="Pause before the kill so load balancers drain.")
    cluster: MeteorClusterConfig = Field(default_factory=MeteorClusterConfig.model_construct, description="meteorhacks:cluster.")
    connects_to: list[DnsLabel] = Field(
        default_factory=lambda: [],
        description="Apps of this stack this app calls over DDP: it gets their `<APP>_DDP_URL` and network access to them only "
        "(NetworkPolicy on Kubernetes); none by default.",
    )
    apm: ApmConfig | None = Field(
        default=None,
        description="Performance monitoring: the APM agent's app id, secret and engine, set as its environment variables "
        "(the app adds the package: `meteor add montiapm:agent`).",
    )

    @property
    def container_port(self) -> int:
        return self.port if self.port is not None else FLAVOR_PORT[self.flavor]

    @property
    def user_id(self) -> int | None:
        return self.run_as_user if self.run_as_user is not None else FLAVOR_USER[self.flavor]

    @property
    def database(self) -> str:
        return self.name.replace("-", "_")

    def own_problems(self, problems: Problems) -> None:
        if self.image is not None and self.build is not None:
            problems.bad(["build"], self.build.context, "expected either image or build, not both")
        if self.canary is not None and self.replicas < 2:
            problems.bad(["replicas"], self.replicas, "expected at least 2 with a canary: one instance of each version")
        if self.build is not None and self.build.dockerfile == "meteor" and self.flavor is not ImageFlavor.METEOR:
            problems.bad(
                ["flavor"],
                self.flavor.value,
                "expected 'meteor': build.dockerfile 'meteor' builds the platform's image (tini as ENTRYPOINT, so a migration "
                "passes its command as arguments to tini)",
            )
        if self.read_only_root and self.flavor in (ImageFlavor.ZODERN, ImageFlavor.METEORD):
            # zodern/meteor's start.sh sources setup_nvm.sh, which writes nvm's default alias under
            # /home/app/.nvm (nvm_make_alias) and may unpack /bundle; meteord's run_app.sh unpacks too.
            problems.bad(
                ["readOnlyRoot"],
                True,
                f"expected false with flavor '{self.flavor.value}': its entry script writes to the image at start "
                "(the `meteor` flavour and prebuilt custom images can run read-only)",
            )
        if self.flavor is ImageFlavor.METEORD and self.port not in (None, 80):
            problems.bad(["port"], self.port, "expected 80: legacy MeteorD images listen on port 80")
        if self.flavor is not ImageFlavor.CUSTOM and self.run_as_user is not None:
            problems.bad(["runAsUser"], self.run_as_user, "expected it unset: the flavor fixes the user (use flavor 'custom')")
        for name in sorted(set(self.env) & set(self.secret_env)):
            problems.bad(["env", name], self.env[name], "expected it in env or secretEnv, not both")
        for name, value in sorted(self.env.items()):
            if "\x00" in value:
                problems.line(["env", name], "got a value with a NUL character; expected text an environment variable can hold")
        if self.secret_settings is not None and self.secret_settings.known:
            try:
                parsed = json.loads(self.secret_settings.reveal())
            except json.JSONDecodeError:
                parsed = None
            if not isinstance(parsed, dict):
                problems.line(["secretSettings"], "got a secret that is not valid; expected a JSON object (value hidden)")


class KubernetesAppConfig(AppConfig):
    """An app on Kubernetes: its own namespace, optionally autoscaled."""

    namespace: DnsLabel | None = Field(default=None, description="Kubernetes only: namespace; defaults to the app name.")
    autoscaling: AutoscalingConfig | None = Field(
        default=None, description="Kubernetes only: HorizontalPodAutoscaler bounds; fixed replicas when unset."
    )

    @property
    def k8s_namespace(self) -> str:
        return self.namespace or self.name

    @property
    def min_replicas(self) -> int:
        if self.autoscaling and self.autoscaling.min_replicas is not None:
            return self.autoscaling.min_replicas
        return self.replicas

    def own_problems(self, problems: Problems) -> None:
        super().own_problems(problems)
        if self.autoscaling and self.min_replicas > self.autoscaling.max_replicas:
            problems.bad(
                ["autoscaling", "maxReplicas"],
                self.autoscaling.max_replicas,
                f"expected at least the minimum replica count ({self.min_replicas})",
            )


class DockerAppConfig(AppConfig):
    """An app as containers on Docker hosts."""


def apps_problems(apps: Sequence[AppConfig], *, dev: bool, environment: str, s3_storage: bool, problems: Problems) -> None:
    """Rules on apps that read the other apps or the stack (environment, storage); each app's own are `AppConfig.own_problems`."""
    names = {a.name for a in apps}
    seen_names: dict[str, int] = {}
    seen_domains: dict[str, int] = {}
    for i, app in enumerate(apps):
        if app.name in seen_names:
            problems.bad(["apps", i, "name"], app.name, f"expected a unique app name (apps[{seen_names[app.name]}] has it)")
        seen_names.setdefault(app.name, i)
        if app.domain:
            if app.domain in seen_domains:
                problems.bad(["apps", i, "domain"], app.domain, f"expected a domain of its own (apps[{seen_domains[app.domain]}] uses it)")
            seen_domains.setdefault(app.domain, i)
        if app.image is not None and not dev and not is_digest_pinned(app.image):
            problems.bad(["apps", i, "image"], app.image, f"expected an image pinned by @sha256: digest in {environment}")
        if app.canary is not None and not dev and not is_digest_pinned(app.canary.image):
            problems.bad(["apps", i, "canary", "image"], app.canary.image, f"expected an image pinned by @sha256: digest in {environment}")
        _env_problems(i, app, s3_storage, problems)
        _apm_problems(i, app, problems)
        _settings_problems(i, app, problems)
        seen_targets: set[str] = set()
        for j, target in enumerate(app.connects_to):
            if target == app.name:
                problems.bad(["apps", i, "connectsTo", j], target, "expected another app: an app does not connect to itself")
            elif target not in names:
                problems.bad(
                    ["apps", i, "connectsTo", j],
                    target,
                    f"expected the name of an app in this stack ({', '.join(sorted(names - {app.name})) or 'none'})",
                )
            elif target in seen_targets:
                problems.bad(["apps", i, "connectsTo", j], target, "expected each app once")
            seen_targets.add(target)
        for j, service in enumerate(app.cluster.public_services):
            if service not in names:
                problems.bad(["apps", i, "cluster", "publicServices", j], service, "expected the name of an app in this stack")


def _node_version_problems(node: str | None, problems: Problems) -> None:
    """A Node version has a `node:<version>-<debian>-slim` tag only from the first one built on that Debian."""
    if node is None:
        return
    image = node_image_of_line(int(node.split(".", 1)[0]))
    if image is None:
        lines = ", ".join(str(known.major) for known in NODE_IMAGES)
        problems.bad(["nodeVersion"], node, f"expected a version of a Node line with a published slim image ({lines})")
    elif (release_tuple(node) or ()) < (release_tuple(image.since) or ()):
        problems.bad(
            ["nodeVersion"],
            node,
            f"expected {image.since} or newer: Node {image.major} images are built on {image.debian} from {image.since} on "
            f"(there is no node:{node}-{image.debian}-slim)",
        )


def _env_problems(i: int, app: AppConfig, s3_storage: bool, problems: Problems) -> None:
    for section, names in (("env", sorted(app.env)), ("secretEnv", sorted(app.secret_env))):
        for name in names:
            if is_reserved_env(name, s3_storage=s3_storage):
                given = app.env.get(name) if section == "env" else app.secret_env[name]
                problems.bad(["apps", i, section, name], given, "expected it unset: the platform sets this variable")
    pointer = f"set it as a secret: pulumi config set --secret --path 'apps[{i}].secretEnv.{{name}}' <value>"
    for name, value in sorted(app.env.items()):
        if "\x00" not in value and value and (looks_like_credential(value) or re.search(_CREDENTIAL_NAME, name)):
            problems.line(
                ["apps", i, "env", name],
                "got a value that looks like a credential (hidden); expected no credentials in plain env: " + pointer.format(name=name),
            )


def _apm_problems(i: int, app: AppConfig, problems: Problems) -> None:
    apm = app.apm
    if apm is None:
        return
    if apm.provider is ApmProvider.KADIRA and apm.endpoint is None:
        problems.line(
            ["apps", i, "apm", "endpoint"],
            "missing; expected the https URL of the self-hosted Kadira engine with provider 'kadira' "
            f"(pulumi config set --path 'apps[{i}].apm.endpoint' https://apm-engine.example.com)",
        )
    for section, names in (("env", app.env), ("secretEnv", app.secret_env)):
        for name in sorted(APM_ENV & set(names)):
            problems.line(
                ["apps", i, section, name],
                f"expected it unset: apps[{i}].apm sets the APM agent's variables ({apm.variables.app_id}, "
                f"{apm.variables.secret}, {apm.variables.endpoint}; the agent reads MONTI_ and KADIRA_ names alike)",
            )
    secret_settings: object = None
    if app.secret_settings is not None and app.secret_settings.known:
        with contextlib.suppress(json.JSONDecodeError):  # an invalid one is reported as such (AppConfig.own_problems)
            secret_settings = json.loads(app.secret_settings.reveal())
    for section, settings in (("settings", app.settings), ("secretSettings", secret_settings)):
        if not isinstance(settings, dict):
            continue
        for key in APM_SETTINGS_KEYS:
            block = cast(dict[str, object], settings).get(key)
            held = [name for name in APM_SETTINGS_CREDENTIALS if isinstance(block, dict) and name in block]
            if held:
                problems.line(
                    ["apps", i, section, key] if section == "settings" else ["apps", i, section],
                    f"expected no {' or '.join(held)} under '{key}' with apps[{i}].apm (value hidden): the agent connects once, "
                    f"from the variables apm sets, and fails the start when the settings connect again; keep '{key}' for "
                    "options only (such as options.disableInstrumentation)",
                )


def _settings_problems(i: int, app: AppConfig, problems: Problems) -> None:
    for where, number in _non_finite(app.settings, ["apps", i, "settings"]):
        problems.bad(where, str(number), "expected a finite number (JSON has no NaN or Infinity)")
    if looks_like_credential(app.settings):
        problems.line(
            ["apps", i, "settings"],
            f"got a value that looks like a credential (hidden); expected private keys in secretSettings: pulumi config set --secret --path 'apps[{i}].secretSettings' '<json>'",
        )
    size = len(json.dumps(app.settings, separators=(",", ":"))) + STORAGE_SETTINGS_ALLOWANCE + len("METEOR_SETTINGS=")
    if app.secret_settings is not None and app.secret_settings.known:
        size += len(app.secret_settings.reveal())
    if size > MAX_ENV_BYTES:
        problems.line(
            ["apps", i, "settings"],
            f"got {size // 1024} KiB of METEOR_SETTINGS; expected at most {MAX_ENV_BYTES // 1024} KiB (what one environment variable holds on Linux)",
        )


def _non_finite(value: object, where: list[str | int]) -> list[tuple[list[str | int], float]]:
    if isinstance(value, float) and not math.isfinite(value):
        return [(where, value)]
    if isinstance(value, dict):
        return [hit for key, item in value.items() for hit in _non_finite(item, [*where, str(key)])]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    if isinstance(value, list):
        return [hit for j, item in enumerate(value) for hit in _non_finite(item, [*where, j])]  # pyright: ignore[reportUnknownVariableType, reportUnknownArgumentType]
    return []
