"""A matrix of bad and hostile stack files, one defect each, run through the offline plan command.

Each must end with exit status 2 and one `error:` message that names the key (or the file), with
no traceback and no secret (or credential-shaped value) echoed, before the program registers any resource. The nine classes
follow the issue: the file itself, derived names, quantities, networks and ports, values that reach
scripts and templates, reserved environment, policy, secrets per value, keys of another provider.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from offline_plan.__main__ import main
from offline_plan.monitor import STACK_TYPE, RecordingMonitor
from tests.harness import DIGEST, DOCKER, IMAGE, KEY, KUBERNETES, ROOT

SECURE = {"secure": "v1:bm90LWRlY3J5cHRlZA=="}

DIGITALOCEAN: dict[str, Any] = {
    "environment": "staging",
    "kubernetes": {"provider": "doks", "adminCidrs": ["198.51.100.0/24"]},
    "ingress": {"acmeEmail": "ops@example.com"},
    "mongo": {"provider": "digitalocean"},
    "storage": {"provider": "spaces"},
    "registry": {"provider": "digitalocean"},
    "machines": {"provider": "digitalocean", "adminCidrs": ["198.51.100.0/24"], "sshPublicKey": KEY, "purpose": "bastion"},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}
AWS: dict[str, Any] = {
    "environment": "staging",
    "aws": {"region": "eu-central-1", "vpc": {"availabilityZones": ["eu-central-1a", "eu-central-1b"]}},
    "kubernetes": {"provider": "eks", "version": "1.35", "adminCidrs": ["198.51.100.0/24"]},
    "ingress": {"acmeEmail": "ops@example.com"},
    "registry": {"provider": "ecr"},
    "storage": {"provider": "s3"},
    "mongo": {"provider": "inCluster", "storageProvisioner": "ebs.csi.aws.com"},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}
DROPLETS: dict[str, Any] = {
    "environment": "production",
    "alerts": {"emails": ["ops@example.com"]},
    "target": "docker",
    "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
    "machines": {"provider": "digitalocean", "adminCidrs": ["198.51.100.0/24"], "sshPublicKey": KEY},
    "mongo": {"provider": "container"},
    "storage": {"provider": "spaces"},
    "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
}


@dataclass
class Case:
    id: str
    kind: int
    """Which class of the issue it belongs to (1-9)."""
    text: str | bytes | None
    """The stack file's content (None: `setup` makes the path)."""
    names: str
    """What the message must name: a key path or the file."""
    secrets: tuple[str, ...] = ()
    """Text that must never appear in the output."""
    stack: str = "case"
    setup: Callable[[Path], None] | None = field(default=None, repr=False)


def stack_text(values: dict[str, Any], extra: dict[str, Any] | None = None) -> str:
    config = {f"meteor-platform:{k}": v for k, v in values.items()}
    return yaml.safe_dump({"config": {**config, **(extra or {})}}, sort_keys=False)


def changed(base: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """`base` with `value` at a dotted path (`apps.0.env.FOO`); a value of DROP removes the key."""
    config = copy.deepcopy(base)
    *parents, last = path.split(".")
    node: Any = config
    for part in parents:
        node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
    if value is DROP:
        del node[int(last) if last.isdigit() else last]
    elif last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value
    return config


DROP = object()


def case(kind: int, id: str, base: dict[str, Any], path: str, value: Any, names: str, *secrets: str, stack: str = "case") -> Case:
    return Case(id=id, kind=kind, text=stack_text(changed(base, path, value)), names=names, secrets=secrets, stack=stack)


def many(kind: int, base: dict[str, Any], path: str, values: list[Any], names: str) -> list[Case]:
    return [case(kind, f"{path}={v!r}"[:80], base, path, v, names) for v in values]


FILE = "Pulumi.case.yaml"
GOOD = stack_text(DOCKER)


def _symlink_to(target: str) -> Callable[[Path], None]:
    def make(root: Path) -> None:
        (root / FILE).symlink_to(target)

    return make


def _directory(root: Path) -> None:
    (root / FILE).mkdir()


def _fifo(root: Path) -> None:
    os.mkfifo(root / FILE)


def _nested(depth: int) -> str:
    return "config:\n  meteor-platform:settings: " + "[" * depth + "]" * depth + "\n"


BILLION_LAUGHS = (
    "config:\n"
    '  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    "  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
    "  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
    "  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
    "  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    "  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]\n"
    "  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]\n"
)

FILE_CASES = [
    Case("tab indentation", 1, "config:\n\tmeteor-platform:environment: dev\n", FILE),
    Case("unclosed bracket", 1, "config:\n  meteor-platform:apps: [{name: todos\n", FILE),
    Case("unclosed quote", 1, 'config:\n  meteor-platform:environment: "dev\n', FILE),
    Case("bad indentation", 1, "config:\n  meteor-platform:environment: dev\n meteor-platform:target: docker\n", FILE),
    Case("bad UTF-8", 1, b"config:\n  meteor-platform:environment: d\xffv\n", FILE),
    Case("latin-1 file", 1, "config:\n  meteor-platform:environment: dév\n".encode("latin-1"), FILE),
    Case("document is a list", 1, "- config\n- apps\n", FILE),
    Case("document is text", 1, "just some text\n", FILE),
    Case("document is a number", 1, "42\n", FILE),
    Case("empty file", 1, "", FILE),
    Case("only comments", 1, "# nothing here\n", FILE),
    Case("config is a list", 1, "config:\n  - meteor-platform:environment\n", FILE),
    Case("config is text", 1, "config: dev\n", FILE),
    Case("config key is a number", 1, "config:\n  1: dev\n", FILE),
    Case("nested key is a boolean", 1, "config:\n  meteor-platform:settings: {true: 1}\n", FILE),
    Case("a list as a key", 1, "config:\n  ? [a, b]\n  : 1\n", FILE),
    Case("python object tag", 1, "config:\n  meteor-platform:environment: !!python/object/apply:os.system [id]\n", FILE),
    Case("python name tag", 1, "config:\n  meteor-platform:environment: !!python/name:os.system\n", FILE),
    Case("binary tag", 1, "config:\n  meteor-platform:environment: !!binary aGVsbG8=\n", FILE),
    Case("custom tag", 1, "config:\n  meteor-platform:environment: !Ref dev\n", FILE),
    Case("date value", 1, "config:\n  meteor-platform:environment: 2026-11-26\n", FILE),
    Case("timestamp value", 1, "config:\n  meteor-platform:settings: {released: 2026-11-26T10:00:00Z}\n", FILE),
    Case("NaN", 1, "config:\n  meteor-platform:settings: {ratio: .nan}\n", FILE),
    Case("infinity", 1, "config:\n  meteor-platform:settings: {limit: .inf}\n", FILE),
    Case("deep nesting", 1, _nested(200), FILE),
    Case("alias bomb", 1, BILLION_LAUGHS, FILE),
    Case("anchor and alias", 1, "config:\n  meteor-platform:apps: &apps []\n  meteor-platform:other: *apps\n", FILE),
    Case("duplicate key", 1, "config:\n  meteor-platform:environment: dev\n  meteor-platform:environment: production\n", FILE),
    Case("two documents", 1, GOOD + "---\n" + GOOD, FILE),
    Case("unknown top-level key", 1, GOOD.replace("config:", "confg:"), FILE),
    Case("key with a space", 1, "config:\n  meteor platform:environment: dev\n", FILE),
    Case("too large", 1, "config:\n  meteor-platform:settings: {blob: '" + "x" * (1 << 20) + "'}\n", FILE),
    Case("too many values", 1, "config:\n  meteor-platform:settings:\n" + "    - 1\n" * 60_000, FILE),
    Case("stack file is a directory", 1, None, FILE, setup=_directory),
    Case("stack file is a FIFO", 1, None, FILE, setup=_fifo),
    Case("symlink to a device", 1, None, FILE, setup=_symlink_to("/dev/zero")),
    Case("symlink to a directory", 1, None, FILE, setup=_symlink_to("/tmp")),
    Case("dangling symlink", 1, None, FILE, setup=_symlink_to("/nonexistent/Pulumi.x.yaml")),
    Case("no stack file", 1, None, FILE),
    Case("stack name with ..", 1, GOOD, "stack '../x'", stack="../x"),
    Case("stack name with a slash", 1, GOOD, "stack 'a/b'", stack="a/b"),
    Case("stack name with a space", 1, GOOD, "stack 'a b'", stack="a b"),
    Case("misspelled project namespace", 1, stack_text(DOCKER, {"meteor-platfrom:protect": True}), "meteor-platfrom:protect"),
    Case("unknown namespace", 1, stack_text(DOCKER, {"acme:region": "eu"}), "acme:region"),
]

# The default AWS provider's keys: the program's explicit provider never reads them (components/aws/provider.py).
AWS_KEY_CASES = [
    Case("aws:region beside aws.region", 9, stack_text(AWS, {"aws:region": "eu-west-1"}), "aws:region"),
    Case("aws:profile", 9, stack_text(AWS, {"aws:profile": "acme"}), "aws:profile"),
    Case("aws:assumeRoles", 9, stack_text(AWS, {"aws:assumeRoles": [{"roleArn": "arn:aws:iam::123456789012:role/x"}]}), "aws:assumeRoles"),
    Case(
        "aws:secretKey pasted in plain text",
        9,
        stack_text(AWS, {"aws:secretKey": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"}),
        "aws:secretKey",
        secrets=("wJalrXUtnFEMI",),
    ),
    Case("aws:region on a DigitalOcean stack", 9, stack_text(DIGITALOCEAN, {"aws:region": "eu-west-1"}), "aws:region"),
]

NAME_CASES = [
    Case("stack Prod_EU", 2, stack_text(DIGITALOCEAN), "stack 'Prod_EU'", stack="Prod_EU"),
    Case("stack of 70 characters", 2, stack_text(KUBERNETES), "stack 'p" + "x" * 69 + "'", stack="p" + "x" * 69),
    Case("stack with a dot", 2, stack_text(KUBERNETES), "stack 'prod.eu'", stack="prod.eu"),
    Case("stack starting with a digit", 2, stack_text(KUBERNETES), "stack '1prod'", stack="1prod"),
    Case("stack ending with a dash", 2, stack_text(KUBERNETES), "stack 'prod-'", stack="prod-"),
    case(2, "app named mongo on Docker hosts", DOCKER, "apps.0.name", "mongo", "meteor-platform:apps[0].name"),
    case(
        2,
        "app named minio beside MinIO",
        changed(DOCKER, "storage", {"provider": "minio"}),
        "apps.0.name",
        "minio",
        "meteor-platform:apps[0].name",
    ),
    case(2, "app named kube-system", KUBERNETES, "apps.0.name", "kube-system", "meteor-platform:apps[0].name"),
    case(2, "app named traefik (the ingress namespace)", KUBERNETES, "apps.0.name", "traefik", "meteor-platform:apps[0].name"),
    case(2, "app namespace default", KUBERNETES, "apps.0.namespace", "default", "meteor-platform:apps[0].namespace"),
    case(2, "app namespace cert-manager", KUBERNETES, "apps.0.namespace", "cert-manager", "meteor-platform:apps[0].namespace"),
    case(2, "app name with an underscore", KUBERNETES, "apps.0.name", "to_dos", "meteor-platform:apps[0].name"),
    case(2, "app name of 41 characters", KUBERNETES, "apps.0.name", "a" * 41, "meteor-platform:apps[0].name"),
    case(2, "app name in capitals", KUBERNETES, "apps.0.name", "Todos", "meteor-platform:apps[0].name"),
    case(2, "ingress class with capitals", KUBERNETES, "ingress.className", "Traefik_Public", "meteor-platform:ingress.className"),
    case(
        2,
        "TLS secret with a space",
        changed(KUBERNETES, "ingress.tls", "existingSecret"),
        "ingress.tlsSecretName",
        "my secret",
        "meteor-platform:ingress.tlsSecretName",
    ),
    case(
        2,
        "storage class with an underscore",
        changed(KUBERNETES, "mongo.storageProvisioner", DROP),
        "mongo.storageClass",
        "fast_ssd",
        "meteor-platform:mongo.storageClass",
    ),
    case(
        2,
        "provisioner with a slash",
        KUBERNETES,
        "mongo.storageProvisioner",
        "ebs.csi.aws.com/x",
        "meteor-platform:mongo.storageProvisioner",
    ),
    case(
        2,
        "provisioner of 70 characters",
        KUBERNETES,
        "mongo.storageProvisioner",
        "a" * 60 + ".csi.x.com",
        "meteor-platform:mongo.storageProvisioner",
    ),
    case(2, "registry name with an underscore", DIGITALOCEAN, "registry.name", "my_registry", "meteor-platform:registry.name"),
    case(2, "bucket with capitals", DIGITALOCEAN, "storage.bucket", "My-Files", "meteor-platform:storage.bucket"),
    case(
        2,
        "GridFS bucket with an underscore",
        KUBERNETES,
        "storage",
        {"provider": "gridfs", "gridfsBucket": "up_loads"},
        "meteor-platform:storage.gridfsBucket",
    ),
    case(2, "deploy user in capitals", DIGITALOCEAN, "machines.deployUser", "Deploy", "meteor-platform:machines.deployUser"),
    case(2, "deploy user of 40 characters", DIGITALOCEAN, "machines.deployUser", "d" * 40, "meteor-platform:machines.deployUser"),
    case(
        2,
        "public service not an app",
        changed(KUBERNETES, "apps.0.cluster", {"enabled": True}),
        "apps.0.cluster.publicServices",
        ["Todos"],
        "meteor-platform:apps[0].cluster.publicServices[0]",
    ),
    case(2, "mongo namespace with a dot", KUBERNETES, "mongo.namespace", "meteor.mongo", "meteor-platform:mongo.namespace"),
]

QUANTITY_CASES = [
    *many(
        3,
        KUBERNETES,
        "apps.0.resources.memoryLimit",
        ["512", "256m", "32Mi", "99999999999999999999Gi", "1.5Zi", "-1Gi"],
        "meteor-platform:apps[0].resources.memoryLimit",
    ),
    *many(3, DOCKER, "apps.0.resources.memoryRequest", ["16Mi", "lots"], "meteor-platform:apps[0].resources.memoryRequest"),
    *many(3, DOCKER, "apps.0.resources.cpuLimit", ["0.001", "1000", "1.2345", "500Mi", "5m"], "meteor-platform:apps[0].resources.cpuLimit"),
    *many(3, KUBERNETES, "mongo.memory", ["128Mi", "1"], "meteor-platform:mongo.memory"),
    *many(3, KUBERNETES, "mongo.cpu", ["-1", "two"], "meteor-platform:mongo.cpu"),
    *many(3, KUBERNETES, "mongo.storageSize", ["500Mi", "20TB", "100Ti"], "meteor-platform:mongo.storageSize"),
    *many(
        3,
        changed(KUBERNETES, "ingress.controller", "nginx"),
        "ingress.maxBodySize",
        ["1.5Gi", "100m", "1Ti", "0", "512"],
        "meteor-platform:ingress.maxBodySize",
    ),
    case(3, "replicas beyond int64", KUBERNETES, "apps.0.replicas", 2**70, "meteor-platform:apps[0].replicas"),
    case(3, "port beyond 65535", DOCKER, "docker", {"httpPort": 70000}, "meteor-platform:docker.httpPort"),
]

NETWORK_CASES = [
    *many(
        4,
        DIGITALOCEAN,
        "digitalocean.vpcIpRange",
        ["8.8.8.0/24", "10.0.0.0/8", "10.0.0.0/28", "fd00::/64", "10.0.0.1/24", "100.64.0.0/16"],
        "meteor-platform:digitalocean.vpcIpRange",
    ),
    case(
        4,
        "admin networks covering IPv4 together",
        DIGITALOCEAN,
        "machines.adminCidrs",
        ["0.0.0.0/1", "128.0.0.0/1"],
        "meteor-platform:machines.adminCidrs",
    ),
    case(
        4,
        "admin networks covering IPv6 together",
        DIGITALOCEAN,
        "machines.adminCidrs",
        ["::/1", "8000::/1"],
        "meteor-platform:machines.adminCidrs",
    ),
    case(4, "admin network the internet", DIGITALOCEAN, "machines.adminCidrs", ["0.0.0.0/0"], "meteor-platform:machines.adminCidrs[0]"),
    case(4, "no admin networks", DIGITALOCEAN, "machines.adminCidrs", [], "meteor-platform:machines.adminCidrs"),
    case(4, "HTTP and HTTPS on one port", DOCKER, "docker", {"httpPort": 8080, "httpsPort": 8080}, "meteor-platform:docker.httpsPort"),
    case(4, "HTTP on SSH's port", DOCKER, "docker", {"httpPort": 22}, "meteor-platform:docker.httpPort"),
    case(4, "HTTPS on SSH's port", DOCKER, "docker", {"httpsPort": 22}, "meteor-platform:docker.httpsPort"),
    case(
        4,
        "TLS without port 80",
        changed(DROPLETS, "docker.httpPort", 8080),
        "docker.acmeEmail",
        "ops@example.com",
        "meteor-platform:docker.httpPort",
    ),
    case(4, "HTTPS port the firewall closes", DROPLETS, "docker.httpsPort", 8443, "meteor-platform:docker.httpsPort"),
]

HEALTH_INJECTION = "/x'+require('child_process').execSync('id')+'"
SCRIPT_CASES = [
    case(5, "health path with a quote", DOCKER, "apps.0.healthPath", HEALTH_INJECTION, "meteor-platform:apps[0].healthPath"),
    case(5, "health path with a newline", DOCKER, "apps.0.healthPath", "/health\nx", "meteor-platform:apps[0].healthPath"),
    case(5, "health path with a brace", DOCKER, "apps.0.healthPath", "/{path}", "meteor-platform:apps[0].healthPath"),
    case(5, "health path not absolute", DOCKER, "apps.0.healthPath", "healthz", "meteor-platform:apps[0].healthPath"),
    case(
        5, "cookie with a semicolon", KUBERNETES, "ingress.sessionCookie", "a;Domain=evil.example", "meteor-platform:ingress.sessionCookie"
    ),
    case(5, "cookie with a newline", DOCKER, "ingress.sessionCookie", "a\nb", "meteor-platform:ingress.sessionCookie"),
    case(5, "cookie with a space", DOCKER, "ingress.sessionCookie", "my cookie", "meteor-platform:ingress.sessionCookie"),
    case(5, "issuer with a newline", KUBERNETES, "ingress.clusterIssuer", "letsencrypt\nx: y", "meteor-platform:ingress.clusterIssuer"),
    case(
        5,
        "docker endpoint with a newline",
        DOCKER,
        "docker",
        {"localHost": "unix:///var/run/docker.sock\nrm -rf /"},
        "meteor-platform:docker.localHost",
    ),
    case(
        5,
        "ACME email with a newline",
        DROPLETS,
        "docker.acmeEmail",
        "ops@example.com\n--api.insecure=true",
        "meteor-platform:docker.acmeEmail",
    ),
    case(5, "domain in capitals", KUBERNETES, "apps.0.domain", "Todos.example.com", "meteor-platform:apps[0].domain"),
    case(5, "domain with a trailing dot", KUBERNETES, "apps.0.domain", "todos.example.com.", "meteor-platform:apps[0].domain"),
    case(5, "domain with a backtick", KUBERNETES, "apps.0.domain", "todos`.example.com", "meteor-platform:apps[0].domain"),
    case(5, "image with a newline", KUBERNETES, "apps.0.image", IMAGE + "\nx", "meteor-platform:apps[0].image"),
    case(5, "env value with NUL", DOCKER, "apps.0.env", {"GREETING": "hi\x00there"}, "meteor-platform:apps[0].env.GREETING"),
    case(5, "env name in lowercase", DOCKER, "apps.0.env", {"greeting": "hi"}, "meteor-platform:apps[0].env.greeting"),
    case(
        5, "settings over 128 KiB", DOCKER, "apps.0.settings", {"public": {"blob": "x" * (130 * 1024)}}, "meteor-platform:apps[0].settings"
    ),
    case(5, "unknown flavor", DOCKER, "apps.0.flavor", "meteorhacks", "meteor-platform:apps[0].flavor"),
]

RESERVED = [
    "ROOT_URL", "PORT", "MONGO_URL", "MONGO_OPLOG_URL", "METEOR_SETTINGS", "MAIL_URL", "S3_BUCKET", "S3_ENDPOINT",
    "FILE_STORAGE", "GRIDFS_BUCKET", "CLUSTER_SERVICE", "CLUSTER_ENDPOINT_URL", "ACCOUNTS_DDP_URL", "NODE_OPTIONS",
    "BIND_IP", "POD_IP", "HTTP_FORWARDED_COUNT", "METEOR_REACTIVITY_ORDER",
]  # fmt: skip
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----"
CREDENTIALS = {
    "DATABASE_URL": ("postgres://app:hunter2pass@db.example.com/app", "hunter2pass"),
    "GITHUB_TOKEN_VALUE": ("ghp_" + "Z" * 36, "Z" * 36),
    "UPSTREAM": ("AKIAIOSFODNN7EXAMPL3", "AKIAIOSFODNN7EXAMPL3"),
    "BILLING": ("sk_live_" + "q" * 24, "q" * 24),
    "API_KEY": ("k3y-6f1d2e", "k3y-6f1d2e"),
    "ADMIN_PASSWORD": ("correct-horse", "correct-horse"),
    "DEPLOY_KEY_TEXT": (PRIVATE_KEY, "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ"),
    "SESSION": ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhZG1pbiJ9.c2lnbmF0dXJl", "eyJzdWIiOiJhZG1pbiJ9"),
}
ENV_CASES = [
    *[case(6, f"reserved {name}", DOCKER, "apps.0.env", {name: "x"}, f"meteor-platform:apps[0].env.{name}") for name in RESERVED],
    *[
        case(6, f"credential in env {name}", DOCKER, "apps.0.env", {name: value}, f"meteor-platform:apps[0].env.{name}", secret)
        for name, (value, secret) in CREDENTIALS.items()
    ],
    case(
        6,
        "password URL in settings",
        DOCKER,
        "apps.0.settings",
        {"db": "mongodb://root:s3cr3tpw@db:27017"},
        "meteor-platform:apps[0].settings",
        "s3cr3tpw",
    ),
    case(6, "reserved name as a secret", DOCKER, "apps.0.secretEnv", {"MONGO_URL": SECURE}, "meteor-platform:apps[0].secretEnv.MONGO_URL"),
    case(
        6,
        "one name in env and secretEnv",
        DOCKER,
        "apps.0",
        {**DOCKER["apps"][0], "env": {"FEATURE": "1"}, "secretEnv": {"FEATURE": SECURE}},
        "meteor-platform:apps[0].env.FEATURE",
    ),
]

POLICY_CASES = [
    case(
        7, "production without protection", changed(DIGITALOCEAN, "environment", "production"), "protect", False, "meteor-platform:protect"
    ),
    case(
        7,
        "production on .localhost",
        changed(DROPLETS, "apps.0.domain", "todos.localhost"),
        "environment",
        "production",
        "meteor-platform:apps[0].domain",
    ),
    case(7, "certificates for .test", KUBERNETES, "apps.0.domain", "todos.test", "meteor-platform:apps[0].domain"),
    case(7, "certificates for .internal", KUBERNETES, "apps.0.domain", "todos.corp.internal", "meteor-platform:apps[0].domain"),
    case(7, "certificates for .local", KUBERNETES, "apps.0.domain", "todos.local", "meteor-platform:apps[0].domain"),
    case(7, "MongoDB image below 6", KUBERNETES, "mongo.image", "mongo:5.0.26", "meteor-platform:mongo.image"),
    case(7, "MongoDB image without a version tag", KUBERNETES, "mongo.image", f"mongo@{DIGEST}", "meteor-platform:mongo.image"),
    case(7, "MongoDB image of another version", KUBERNETES, "mongo.image", "mongo:8.0.4", "meteor-platform:mongo.image"),
    case(
        7,
        "container MongoDB image below 6",
        DOCKER,
        "mongo",
        {"provider": "container", "image": "mongo:4.4"},
        "meteor-platform:mongo.image",
    ),
    case(7, "MongoDB version below 6", DOCKER, "mongo", {"provider": "container", "version": "5.0"}, "meteor-platform:mongo.version"),
    case(7, "deploy user root", DIGITALOCEAN, "machines.deployUser", "root", "meteor-platform:machines.deployUser"),
    case(7, "deploy user ubuntu", DIGITALOCEAN, "machines.deployUser", "ubuntu", "meteor-platform:machines.deployUser"),
    case(7, "mongo in kube-system", KUBERNETES, "mongo.namespace", "kube-system", "meteor-platform:mongo.namespace"),
    case(
        7,
        "app in the ingress controller's namespace",
        changed(KUBERNETES, "ingress.namespace", "edge"),
        "apps.0.namespace",
        "edge",
        "meteor-platform:apps[0].namespace",
    ),
    case(7, "image by tag in staging", KUBERNETES, "apps.0.image", "ghcr.io/acme/todos:latest", "meteor-platform:apps[0].image"),
    case(
        7,
        "ingress-nginx while the platform installs Traefik",
        DIGITALOCEAN,
        "ingress.controller",
        "nginx",
        "meteor-platform:ingress.controller",
    ),
    case(7, "no ACME email for the installed issuer", DIGITALOCEAN, "ingress", {}, "meteor-platform:ingress.acmeEmail"),
    case(4, "DOKS without admin networks", DIGITALOCEAN, "kubernetes.adminCidrs", DROP, "meteor-platform:kubernetes.adminCidrs"),
    case(
        4,
        "DOKS control plane open to the internet",
        DIGITALOCEAN,
        "kubernetes.adminCidrs",
        ["0.0.0.0/0"],
        "meteor-platform:kubernetes.adminCidrs[0]",
    ),
    case(7, "idle machines beside a cluster", DIGITALOCEAN, "machines.purpose", DROP, "meteor-platform:machines.purpose"),
    case(7, "dumps without a bucket store", KUBERNETES, "mongo.backup", {"enabled": True}, "meteor-platform:mongo.backup.enabled"),
    case(3, "dump retention of zero days", KUBERNETES, "mongo.backup", {"retentionDays": 0}, "meteor-platform:mongo.backup.retentionDays"),
    case(
        3,
        "dumps kept no longer than the time between them",
        DROPLETS,
        "mongo.backup",
        {"retentionDays": 1, "intervalHours": 24},
        "meteor-platform:mongo.backup.retentionDays",
    ),
    case(
        5,
        "dump schedule that is not a schedule",
        KUBERNETES,
        "mongo.backup",
        {"schedule": "daily; rm -rf /"},
        "meteor-platform:mongo.backup.schedule",
    ),
    case(
        4,
        "a reserved IP for several hosts",
        changed(changed(DROPLETS, "machines.count", 2), "mongo", {"provider": "digitalocean", "nodes": 3}),
        "machines.reservedIp",
        True,
        "meteor-platform:machines.reservedIp",
    ),
    case(
        7, "isolating an app that does not exist", DIGITALOCEAN, "mongo.isolatedApps", ["billing"], "meteor-platform:mongo.isolatedApps[0]"
    ),
    case(7, "TLS off in production", changed(DROPLETS, "ingress", {"tls": "off"}), "docker.acmeEmail", DROP, "meteor-platform:ingress.tls"),
]

SECRET_CASES = [
    case(
        8,
        "plain mailUrl beside a secure value",
        changed(KUBERNETES, "apps.0.secretSettings", SECURE),
        "apps.0.mailUrl",
        "smtps://u:mailpw@smtp.example.com:465",
        "meteor-platform:apps[0].mailUrl",
        "mailpw",
    ),
    case(
        8,
        "plain oplog URL beside a secure URL",
        KUBERNETES,
        "mongo",
        {"provider": "external", "url": SECURE, "oplogUrl": "mongodb://u:oplogpw@db/local"},
        "meteor-platform:mongo.oplogUrl",
        "oplogpw",
    ),
    case(
        8,
        "plain external URL",
        KUBERNETES,
        "mongo",
        {"provider": "external", "url": "mongodb://u:urlpw@db/app"},
        "meteor-platform:mongo.url",
        "urlpw",
    ),
    case(
        8,
        "plain kubeconfig",
        KUBERNETES,
        "kubernetes",
        {"provider": "existing", "kubeconfig": "apiVersion: v1\nusers:\n- user: {token: kubetok3n}"},
        "meteor-platform:kubernetes.kubeconfig",
        "kubetok3n",
    ),
    case(
        8,
        "plain secretEnv beside a secure one",
        DOCKER,
        "apps.0.secretEnv",
        {"A_KEY": SECURE, "B_KEY": "b-plain-value"},
        "meteor-platform:apps[0].secretEnv.B_KEY",
        "b-plain-value",
    ),
    case(
        8,
        "plain secretSettings",
        DOCKER,
        "apps.0.secretSettings",
        '{"stripe": "sk_test_plainvalue"}',
        "meteor-platform:apps[0].secretSettings",
        "sk_test_plainvalue",
    ),
    case(
        8,
        "private key pasted as the public key",
        DIGITALOCEAN,
        "machines.sshPublicKey",
        PRIVATE_KEY,
        "meteor-platform:machines.sshPublicKey",
        "b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ",
    ),
    case(8, "secure value where plain is expected", KUBERNETES, "apps.0.image", SECURE, "meteor-platform:apps[0].image"),
    case(8, "token pasted as a domain", KUBERNETES, "apps.0.domain", "ghp_" + "Y" * 36, "meteor-platform:apps[0].domain", "Y" * 36),
]

PROVIDER_CASES = [
    case(9, "autoscaling on Docker hosts", DOCKER, "apps.0.autoscaling", {"maxReplicas": 4}, "meteor-platform:apps[0].autoscaling"),
    case(9, "namespace on Docker hosts", DOCKER, "apps.0.namespace", "todos", "meteor-platform:apps[0].namespace"),
    case(9, "kubernetes section on Docker hosts", DOCKER, "kubernetes", {"provider": "existing"}, "meteor-platform:kubernetes"),
    case(9, "docker section on Kubernetes", KUBERNETES, "docker", {"hosts": "local"}, "meteor-platform:docker"),
    case(9, "ingress controller on Docker hosts", DOCKER, "ingress.controller", "nginx", "meteor-platform:ingress.controller"),
    case(9, "storage class with managed MongoDB", DIGITALOCEAN, "mongo.storageClass", "fast", "meteor-platform:mongo.storageClass"),
    case(9, "database size in-cluster", KUBERNETES, "mongo.size", "db-s-2vcpu-4gb", "meteor-platform:mongo.size"),
    case(9, "members on managed MongoDB", DIGITALOCEAN, "mongo.members", 3, "meteor-platform:mongo.members"),
    case(9, "registry name without a registry", KUBERNETES, "registry", {"name": "acme"}, "meteor-platform:registry.name"),
    case(9, "machine count without machines", KUBERNETES, "machines", {"count": 2}, "meteor-platform:machines.count"),
    case(9, "bucket with GridFS", KUBERNETES, "storage", {"bucket": "files"}, "meteor-platform:storage.bucket"),
    case(
        9,
        "local endpoint with machine hosts",
        DROPLETS,
        "docker.localHost",
        "unix:///var/run/docker.sock",
        "meteor-platform:docker.localHost",
    ),
    case(
        9,
        "node size with an existing cluster",
        KUBERNETES,
        "kubernetes",
        {"nodeSize": "s-4vcpu-8gb"},
        "meteor-platform:kubernetes.nodeSize",
    ),
    case(9, "MinIO on Kubernetes", KUBERNETES, "storage", {"provider": "minio"}, "meteor-platform:storage.provider"),
    case(9, "in-cluster MongoDB on Docker hosts", DOCKER, "mongo", {"provider": "inCluster"}, "meteor-platform:mongo.provider"),
    case(9, "an unknown AWS region", AWS, "aws.region", "eu-central-9", "meteor-platform:aws.region"),
    case(9, "one availability zone", AWS, "aws.vpc.availabilityZones", ["eu-central-1a"], "meteor-platform:aws.vpc.availabilityZones"),
    case(
        9,
        "a zone of another region",
        AWS,
        "aws.vpc.availabilityZones",
        ["eu-central-1a", "us-east-1b"],
        "meteor-platform:aws.vpc.availabilityZones[1]",
    ),
    case(9, "a node group with min above max", AWS, "kubernetes.minNodes", 6, "meteor-platform:kubernetes.minNodes"),
    # One node group per zone, the totals split across them: fewer nodes than zones leaves a zone empty.
    case(9, "fewer nodes than zones", AWS, "kubernetes.minNodes", 1, "meteor-platform:kubernetes.minNodes"),
    case(
        9,
        "fewer nodes than existing private subnets",
        changed(
            AWS,
            "aws.vpc",
            {
                "existing": {
                    "vpcId": "vpc-0123456789abcdef0",
                    "publicSubnetIds": ["subnet-0000000a", "subnet-0000000b", "subnet-0000000c"],
                    "privateSubnetIds": ["subnet-0000001a", "subnet-0000001b", "subnet-0000001c"],
                }
            },
        ),
        "kubernetes.minNodes",
        2,
        "meteor-platform:kubernetes.minNodes",
    ),
    case(9, "an instance type that is not one", AWS, "kubernetes.nodeInstanceType", "large", "meteor-platform:kubernetes.nodeInstanceType"),
    case(9, "a VPC CIDR that is not one", AWS, "aws.vpc.cidr", "10.300.0.0/16", "meteor-platform:aws.vpc.cidr"),
    case(9, "a Kubernetes version EKS does not offer", AWS, "kubernetes.version", "1.25", "meteor-platform:kubernetes.version"),
    case(9, "S3 without EKS", KUBERNETES, "storage", {"provider": "s3"}, "meteor-platform:storage.provider"),
    Case(
        id="several EC2 Docker hosts",
        kind=9,
        text=stack_text(
            {
                "environment": "staging",
                "target": "docker",
                "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
                "machines": {"provider": "aws", "count": 2, "adminCidrs": ["198.51.100.0/24"], "sshPublicKey": KEY},
                "apps": [{"name": "todos", "image": IMAGE, "domain": "todos.example.com"}],
            }
        ),
        names="meteor-platform:machines.count",
    ),
    case(9, "a build without a registry", DOCKER, "apps.0.build", {"context": "examples/todos"}, "meteor-platform:apps[0].build"),
    case(9, "a build in production", DROPLETS, "apps.0.build", {"context": "examples/todos"}, "meteor-platform:apps[0].build"),
    case(9, "an app with no image source", KUBERNETES, "apps.0.image", DROP, "meteor-platform:apps[0].image"),
    case(9, "promotion from a bad stack name", KUBERNETES, "promotion.fromStack", "a b/c", "meteor-platform:promotion.fromStack"),
    Case(
        id="a canary of one instance",
        kind=9,
        text=stack_text(changed(changed(KUBERNETES, "apps.0.canary", {"image": IMAGE}), "apps.0.replicas", 1)),
        names="meteor-platform:apps[0].replicas",
    ),
    case(
        9,
        "a canary by tag in staging",
        KUBERNETES,
        "apps.0.canary",
        {"image": "ghcr.io/acme/todos:next"},
        "meteor-platform:apps[0].canary.image",
    ),
    case(
        9,
        "a build arg that is a credential",
        DOCKER,
        "apps.0.build",
        {"context": "examples/todos", "args": {"NPM_TOKEN": "x"}},
        "meteor-platform:apps[0].build.args.NPM_TOKEN",
    ),
    case(9, "context with DOKS", DIGITALOCEAN, "kubernetes.context", "kind-dev", "meteor-platform:kubernetes.context"),
]

CASES = [
    *FILE_CASES,
    *NAME_CASES,
    *QUANTITY_CASES,
    *NETWORK_CASES,
    *SCRIPT_CASES,
    *ENV_CASES,
    *POLICY_CASES,
    *SECRET_CASES,
    *PROVIDER_CASES,
    *AWS_KEY_CASES,
]


def plan(tmp_path: Path, bad: Case, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str, list[str]]:
    """The command's status, output and error, and the type of every resource the program registered."""
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    if bad.setup is not None:
        bad.setup(tmp_path)
    elif bad.text is not None:
        data = bad.text.encode() if isinstance(bad.text, str) else bad.text
        target = tmp_path / f"Pulumi.{bad.stack}.yaml"
        if "/" not in bad.stack:
            target.write_bytes(data)
    registered: list[str] = []
    register = RecordingMonitor.RegisterResource

    def recording(monitor: RecordingMonitor, request: Any) -> Any:
        if request.type != STACK_TYPE:
            registered.append(request.type)
        return register(monitor, request)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(RecordingMonitor, "RegisterResource", recording)
        status = main([bad.stack, "--root", str(tmp_path), "--quiet"])
    out = capsys.readouterr()
    return status, out.out, out.err, registered


def test_the_matrix_covers_every_class_with_150_files() -> None:
    assert len({c.id for c in CASES}) == len(CASES), "case ids are distinct"
    assert len(CASES) >= 150
    assert {c.kind for c in CASES} == set(range(1, 10))


@pytest.mark.parametrize("bad", CASES, ids=[f"{c.kind}:{c.id}" for c in CASES])
def test_bad_stack_file_gets_one_clear_message(tmp_path: Path, bad: Case, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err, registered = plan(tmp_path, bad, capsys)
    assert status == 2, err
    assert out == ""
    assert err.startswith("error: ") and err.count("error:") == 1, err
    assert bad.names in err, err
    assert "Traceback" not in err
    for secret in bad.secrets:
        assert secret not in err, f"{secret!r} echoed:\n{err}"
    # Bounded work: the error is found before the program registers anything (a timing here would flake under load).
    assert registered == [], registered


def test_a_valid_stack_of_each_base_plans(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The bases of the matrix are valid: each case fails for its own defect."""
    for i, base in enumerate((KUBERNETES, DOCKER, DIGITALOCEAN, DROPLETS, AWS)):
        root = tmp_path / str(i)
        root.mkdir()
        good = Case(id="good", kind=0, text=stack_text(base), names="")
        status, _, err, registered = plan(root, good, capsys)
        assert status == 0, err
        assert registered, "the spy sees a valid stack's resources"


# ---------------------------------------------------------------------------------------------
# What the rules above protect, checked on real plans and values


def test_every_variable_the_platform_sets_is_reserved() -> None:
    """Independent oracle: the variables the shipped stacks' plans set (user env aside) are all reserved."""
    from components.config.apps import is_reserved_env
    from tests.harness import env_of, shipped

    for stack in ("byoc", "staging", "production"):
        run = shipped(stack)
        for deployment in run.resources("kubernetes:apps/v1:Deployment"):
            names = set(env_of(deployment))
            assert names and all(is_reserved_env(n) for n in names), sorted(n for n in names if not is_reserved_env(n))
    for stack in ("dev", "droplets"):
        run = shipped(stack)
        for container in run.resources("docker:index/container:Container"):
            if container["name"].startswith("todos-"):
                names = {line.split("=", 1)[0] for line in run.state(container)["envs"]}
                assert all(is_reserved_env(n) for n in names), sorted(n for n in names if not is_reserved_env(n))


def test_settings_reach_the_pod_literally(tmp_path: Path) -> None:
    """The kubelet expands $(VAR) in env values; the platform's values are escaped so it does not."""
    from tests.harness import env_of, run_config

    config = changed(KUBERNETES, "apps.0.settings", {"public": {"greeting": "$(HOME) costs $5"}})
    config = changed(config, "apps.0.cluster", {"enabled": True})
    config = changed(config, "apps.0.meteorRelease", "2.16")
    config = changed(config, "mongo", {"provider": "external", "url": SECURE})
    run = run_config(tmp_path, config)
    env = env_of(run.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert (
        env["METEOR_SETTINGS"]["value"]
        == '{"public":{"greeting":"$$(HOME) costs $$5"},"storage":{"backend":"gridfs","gridfsBucket":"uploads"}}'
    )
    assert env["CLUSTER_ENDPOINT_URL"]["value"] == "http://$(POD_IP):3000", "the one value meant for the kubelet"


def test_docker_gets_cpus_in_cores_and_memory_in_mib(tmp_path: Path) -> None:
    from tests.harness import run_config

    config = changed(
        DOCKER, "apps.0.resources", {"cpuRequest": "100m", "cpuLimit": "500m", "memoryRequest": "256M", "memoryLimit": "1.5Gi"}
    )
    container = run_config(tmp_path, config).one("docker:index/container:Container", "todos-local-0")["inputs"]
    assert container["cpus"] == "0.5"
    assert (container["memory"], container["memoryReservation"]) == (1536, 244)


def test_secret_env_is_delivered_as_a_secret(tmp_path: Path) -> None:
    from tests.harness import env_of, run_config

    config = changed(KUBERNETES, "apps.0.secretEnv", {"STRIPE_KEY": SECURE})
    run = run_config(tmp_path, config)
    env = env_of(run.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert "secretKeyRef" in env["STRIPE_KEY"]["valueFrom"]


def test_per_key_secrecy_is_the_fallback_without_a_stack_file() -> None:
    """Config from elsewhere (no readable stack file): the engine's per-key marking is all there is."""
    from components.config import ConfigError, parse_config

    config = changed(KUBERNETES, "apps.0.mailUrl", "smtps://u:p@smtp.example.com:465")
    assert parse_config(config, {"meteor-platform:apps"}, secure_paths=None).apps[0].mail_url is not None
    with pytest.raises(ConfigError, match=r"apps\[0\]\.mailUrl: got a plain-text value"):
        parse_config(config, {"meteor-platform:apps"}, secure_paths={("meteor-platform:apps", 0, "secretSettings")})
    accepted = parse_config(config, {"meteor-platform:apps"}, secure_paths={("meteor-platform:apps", 0, "mailUrl")})
    assert accepted.apps[0].mail_url is not None


def test_the_real_command_exits_2_without_a_traceback(tmp_path: Path) -> None:
    import subprocess
    import sys

    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    (tmp_path / "Pulumi.case.yaml").write_text(BILLION_LAUGHS)
    proc = subprocess.run(
        [sys.executable, "-m", "offline_plan", "case", "--root", str(tmp_path)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: Pulumi.case.yaml:2:6: YAML anchor &a")
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("key", "value", "where"),
    [
        ("region", "eu-west-1", "set the region with 'pulumi config set --path aws.region <region>' (meteor-platform:aws.region)"),
        ("profile", "acme", "give credentials through the environment (AWS_PROFILE, SSO, OIDC in CI) where `pulumi up` runs"),
        ("assumeRoles", [{"roleArn": "arn:aws:iam::123456789012:role/x"}], "give credentials through the environment"),
        ("skipRegionValidation", True, "the provider's settings come from meteor-platform:aws (region)"),
    ],
)
def test_an_aws_key_is_refused_naming_what_the_explicit_provider_reads(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], key: str, value: Any, where: str
) -> None:
    """Without this, `aws:region` would be silently ignored: the program's one AWS provider takes its region
    from meteor-platform:aws.region and its credentials from the environment (components/aws/provider.py)."""
    status, _, err, _ = plan(tmp_path, Case("aws key", 9, stack_text(AWS, {f"aws:{key}": value}), f"aws:{key}"), capsys)
    assert status == 2
    [line] = [line.strip() for line in err.splitlines() if line.strip().startswith("aws:")]
    expected = f"aws:{key}: ignored: the program's AWS provider is explicit and reads no aws:* key; expected no aws:* key ("
    assert line.startswith(expected), err
    assert where in line and f"; then 'pulumi config rm aws:{key}', or, where it comes from a Pulumi ESC environment" in line, line
    assert line.endswith("remove it from that environment's pulumiConfig)"), line
