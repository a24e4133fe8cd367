"""Bad stack values fail before any resource, with one clear message naming the key."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.config import ConfigError, DockerPlatformConfig, ImageFlavor, KubernetesPlatformConfig, load_config, parse_config
from components.config.mongo import InClusterMongoConfig
from components.secrets import UNKNOWN_SECURE, SecretValue
from tests.harness import BASE_CONFIG, DIGEST, ROOT

Mutation = Callable[[dict[str, Any]], object]


def app0(**fields: Any) -> Mutation:
    return lambda c: c["apps"][0].update(fields)


def second_app(**fields: Any) -> Mutation:
    def mutate(c: dict[str, Any]) -> None:
        c["apps"].append({"name": "api", "image": f"ghcr.io/acme/api@{DIGEST}", **fields})

    return mutate


def section(name: str, /, **fields: Any) -> Mutation:
    return lambda c: c.setdefault(name, {}).update(fields)


def do_stack(environment: str = "staging", **sections: dict[str, Any]) -> Mutation:
    """A valid DigitalOcean stack with `sections` merged over it."""

    def mutate(c: dict[str, Any]) -> None:
        c["environment"] = environment
        if environment == "production":
            c["alerts"] = {"emails": ["ops@example.com"]}
        c["kubernetes"] = {"provider": "doks", "adminCidrs": ["198.51.100.0/24"]}
        c["ingress"] = {"acmeEmail": "ops@example.com"}
        c["mongo"] = {"provider": "digitalocean"}
        c["machines"] = {
            "provider": "digitalocean",
            "purpose": "bastion",
            "adminCidrs": ["198.51.100.0/24"],
            "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
        }
        for key, value in sections.items():
            c[key] = {**c[key], **value}

    return mutate


def docker_stack(**sections: dict[str, Any]) -> Mutation:
    """A valid dev stack on the local Docker engine with `sections` merged over it."""

    def mutate(c: dict[str, Any]) -> None:
        c.update(environment="dev", target="docker", mongo={"provider": "container"}, ingress={"tls": "off"})
        for key, value in sections.items():
            c[key] = {**c.get(key, {}), **value}

    return mutate


def docker_on_droplets(count: int, replicas: int, **sections: dict[str, Any]) -> Mutation:
    """A production stack on `count` droplets with managed MongoDB and Spaces, `sections` merged over it."""

    def mutate(c: dict[str, Any]) -> None:
        do_stack(environment="production")(c)
        c.pop("kubernetes")
        c.pop("ingress")
        c["machines"].pop("purpose")
        c.update(target="docker", docker={"hosts": "machines", "acmeEmail": "ops@example.com"}, storage={"provider": "spaces"})
        c["mongo"] = {"provider": "digitalocean", "nodes": 3}
        c["machines"]["count"] = count
        c["apps"][0]["replicas"] = replicas
        c.update(sections)

    return mutate


def with_internal_callee(base: Mutation, replicas: int, called: bool = True) -> Mutation:
    """`base` plus an internal app `accounts` (no domain) with `replicas`, which todos calls when `called`."""

    def mutate(c: dict[str, Any]) -> None:
        base(c)
        c["apps"].append({"name": "accounts", "image": f"ghcr.io/acme/accounts@{DIGEST}", "replicas": replicas})
        if called:
            c["apps"][0]["connectsTo"] = ["accounts"]

    return mutate


# (case id, mutation, secret keys, expected key path, expected fragment of the explanation)
BAD_CONFIGS: list[tuple[str, Mutation, set[str], str, str]] = [
    ("unknown key (typo)", app0(replcias=3), set(), "meteor-platform:apps[0].replcias", "did you mean 'replicas'"),
    ("unknown top-level key", lambda c: c.update(ingres={}), set(), "meteor-platform:ingres", "did you mean 'ingress'"),
    ("wrong type", app0(replicas="two"), set(), "meteor-platform:apps[0].replicas", "valid integer"),
    ("out of range", app0(replicas=0), set(), "meteor-platform:apps[0].replicas", "greater than or equal to 1"),
    ("port out of range", app0(port=70000), set(), "meteor-platform:apps[0].port", "less than or equal to 65535"),
    ("malformed domain", app0(domain="https://todos.example.com"), set(), "meteor-platform:apps[0].domain", "domain name"),
    ("malformed image", app0(image="Not An Image"), set(), "meteor-platform:apps[0].image", "image reference"),
    (
        "image not digest-pinned outside dev",
        app0(image="ghcr.io/acme/todos:1.0"),
        set(),
        "meteor-platform:apps[0].image",
        "pinned by @sha256",
    ),
    (
        "malformed mongo URL",
        section("mongo", provider="external", url="http://db", storageProvisioner=None),
        {"meteor-platform:mongo"},
        "meteor-platform:mongo.url",
        "mongodb://",
    ),
    (
        "plain text where a secret is required",
        app0(mailUrl="smtp://user:pass@mail.example.com:587"),
        set(),
        "meteor-platform:apps[0].mailUrl",
        "expected a secret",
    ),
    (
        "secure value where plain is expected",
        app0(replicas=UNKNOWN_SECURE),
        set(),
        "meteor-platform:apps[0].replicas",
        "expected a plain value",
    ),
    (
        "conflicting options: url with inCluster",
        section("mongo", url="mongodb://db:27017"),
        {"meteor-platform:mongo"},
        "meteor-platform:mongo.url",
        "belongs to mongo.provider 'external'",
    ),
    (
        "conflicting storage class options",
        section("mongo", storageClass="fast"),
        set(),
        "meteor-platform:mongo.storageProvisioner",
        "not both",
    ),
    ("missing required value", lambda c: c.pop("environment"), set(), "meteor-platform:environment", "required"),
    ("missing external URL", section("mongo", provider="external", storageProvisioner=None), set(), "meteor-platform:mongo.url", "missing"),
    ("missing apps", lambda c: c.pop("apps"), set(), "meteor-platform:apps", "required"),
    ("duplicate app names", second_app(name="todos", namespace="todos2"), set(), "meteor-platform:apps[1].name", "unique app name"),
    ("mongo below 6", section("mongo", version="5.0.26"), set(), "meteor-platform:mongo.version", "6.0 or newer"),
    (
        "autoscaling min above max",
        app0(replicas=5, autoscaling={"maxReplicas": 3}),
        set(),
        "meteor-platform:apps[0].autoscaling.maxReplicas",
        "at least the minimum",
    ),
    (
        "request above limit",
        app0(resources={"memoryRequest": "2Gi", "memoryLimit": "1Gi"}),
        set(),
        "meteor-platform:apps[0].resources.memoryRequest",
        "no more than memoryLimit",
    ),
    (
        "malformed quantity",
        app0(resources={"cpuRequest": "lots"}),
        set(),
        "meteor-platform:apps[0].resources.cpuRequest",
        "expected CPU as cores or millicores",
    ),
    (
        "reserved env var",
        app0(env={"MONGO_URL": "mongodb://x"}),
        set(),
        "meteor-platform:apps[0].env.MONGO_URL",
        "platform sets this variable",
    ),
    ("legacy MeteorD on another port", app0(flavor="meteord", port=3000), set(), "meteor-platform:apps[0].port", "port 80"),
    ("bad environment", lambda c: c.update(environment="prod"), set(), "meteor-platform:environment", "'dev', 'staging' or 'production'"),
    ("TLS off outside dev", section("ingress", tls="off"), set(), "meteor-platform:ingress.tls", "outside dev"),
    (
        "existing TLS secret without a name",
        section("ingress", tls="existingSecret"),
        set(),
        "meteor-platform:ingress.tlsSecretName",
        "missing",
    ),
    (
        "meteorhacks:cluster on Meteor 3",
        app0(meteorRelease="3.1.2", cluster={"enabled": True}),
        set(),
        "meteor-platform:apps[0].cluster.enabled",
        "the app runs Meteor 3.1.2, which has no Fibers; meteorhacks:cluster (last release 1.6.9)",
    ),
    (
        "meteorhacks:cluster with the Meteor release unknown",
        app0(cluster={"enabled": True}),
        set(),
        "meteor-platform:apps[0].cluster.enabled",
        "apps[0].meteorRelease before 3.0",
    ),
    (
        "meteorhacks:cluster against the platform's MongoDB",
        app0(meteorRelease="2.16", cluster={"enabled": True}),
        set(),
        "meteor-platform:apps[0].cluster.enabled",
        "mongo.provider 'inCluster' runs MongoDB 6.0 or newer",
    ),
    (
        "cluster workers below one",
        app0(cluster={"workers": 0}),
        set(),
        "meteor-platform:apps[0].cluster.workers",
        "from 1 to 16, or 'auto'",
    ),
    ("meteorRelease not a release", app0(meteorRelease="latest"), set(), "meteor-platform:apps[0].meteorRelease", "pattern"),
    (
        "nodeVersion of a line without a published slim image",
        app0(image=None, build={"context": "examples/todos", "nodeVersion": "18.20.4"}),
        set(),
        "meteor-platform:apps[0].build.nodeVersion",
        "Node line with a published slim image (12, 14, 20, 22, 24)",
    ),
    (
        "cluster public service unknown",
        app0(cluster={"enabled": True, "publicServices": ["nope"]}),
        set(),
        "meteor-platform:apps[0].cluster.publicServices[0]",
        "name of an app",
    ),
    ("duplicate domains", second_app(domain="todos.example.com"), set(), "meteor-platform:apps[1].domain", "domain of its own"),
    # DigitalOcean
    ("unknown region", section("digitalocean", region="mars1"), set(), "meteor-platform:digitalocean.region", "DigitalOcean region slug"),
    (
        "droplet size format",
        do_stack(kubernetes={"provider": "doks", "nodeSize": "large"}),
        set(),
        "meteor-platform:kubernetes.nodeSize",
        "droplet size slug",
    ),
    (
        "node bounds min > max",
        do_stack(kubernetes={"provider": "doks", "minNodes": 5, "maxNodes": 3}),
        set(),
        "meteor-platform:kubernetes.minNodes",
        "at most kubernetes.maxNodes (3)",
    ),
    (
        "managed MongoDB below 6",
        do_stack(mongo={"provider": "digitalocean", "version": "5.0"}),
        set(),
        "meteor-platform:mongo.version",
        "6.0 or newer",
    ),
    (
        "admin CIDR not a CIDR",
        do_stack(machines={"adminCidrs": ["10.0.0.300/8"]}),
        set(),
        "meteor-platform:machines.adminCidrs[0]",
        "CIDR block",
    ),
    (
        "admin CIDR the whole internet",
        do_stack(machines={"adminCidrs": ["0.0.0.0/0"]}),
        set(),
        "meteor-platform:machines.adminCidrs[0]",
        "not the whole internet",
    ),
    ("production with one database node", do_stack(environment="production"), set(), "meteor-platform:mongo.nodes", "3 in production"),
    (
        "managed MongoDB without DOKS",
        lambda c: (do_stack()(c), c.update(kubernetes={"provider": "existing"})),
        set(),
        "meteor-platform:mongo.provider",
        "kubernetes.provider 'doks'",
    ),
    ("hosts without a deploy key", do_stack(machines={"sshPublicKey": None}), set(), "meteor-platform:machines.sshPublicKey", "missing"),
    (
        "malformed deploy key",
        do_stack(machines={"sshPublicKey": "not-a-key"}),
        set(),
        "meteor-platform:machines.sshPublicKey",
        "OpenSSH public key",
    ),
    (
        "context with DOKS",
        do_stack(kubernetes={"provider": "doks", "context": "kind-dev"}),
        set(),
        "meteor-platform:kubernetes.context",
        "unknown key for kubernetes.provider 'doks' (it belongs to kubernetes.provider 'existing')",
    ),
    # Docker-host target
    (
        "in-cluster MongoDB on Docker hosts",
        docker_stack(mongo={"provider": "inCluster"}),
        set(),
        "meteor-platform:mongo.provider",
        "with target 'docker'",
    ),
    (
        "MinIO on Kubernetes",
        lambda c: c.update(storage={"provider": "minio"}),
        set(),
        "meteor-platform:storage.provider",
        "'minio' is available with target 'docker'",
    ),
    (
        "container MongoDB on Kubernetes",
        lambda c: c.update(mongo={"provider": "container"}),
        set(),
        "meteor-platform:mongo.provider",
        "'container' is available with target 'docker'",
    ),
    ("TLS without an ACME email", docker_stack(ingress={"tls": "certManager"}), set(), "meteor-platform:docker.acmeEmail", "Let's Encrypt"),
    (
        "docker on machines without machines",
        docker_stack(docker={"hosts": "machines"}),
        set(),
        "meteor-platform:machines.provider",
        "docker.hosts is 'machines'",
    ),
    (
        "unknown registry with docker hosts",
        docker_stack(registry={"provider": "quay"}),
        set(),
        "meteor-platform:registry.provider",
        "expected 'none', 'digitalocean' or 'ecr'",
    ),
    (
        "bad docker endpoint",
        docker_stack(docker={"localHost": "/var/run/docker.sock"}),
        set(),
        "meteor-platform:docker.localHost",
        "matching the pattern ^(unix|tcp|ssh|npipe)://",
    ),
    # Keys of another provider or target: unknown here, and the message says where they belong.
    (
        "autoscaling on Docker hosts",
        lambda c: (docker_stack()(c), c["apps"][0].update(autoscaling={"maxReplicas": 4})),
        set(),
        "meteor-platform:apps[0].autoscaling",
        "unknown key for target 'docker' (it belongs to target 'kubernetes')",
    ),
    (
        "namespace on Docker hosts",
        lambda c: (docker_stack()(c), c["apps"][0].update(namespace="todos")),
        set(),
        "meteor-platform:apps[0].namespace",
        "unknown key for target 'docker' (it belongs to target 'kubernetes')",
    ),
    (
        "kubernetes section on Docker hosts",
        lambda c: (docker_stack()(c), c.update(kubernetes={"provider": "existing"})),
        set(),
        "meteor-platform:kubernetes",
        "unknown key for target 'docker' (it belongs to target 'kubernetes')",
    ),
    (
        "docker section on Kubernetes",
        section("docker", hosts="local"),
        set(),
        "meteor-platform:docker",
        "unknown key for target 'kubernetes' (it belongs to target 'docker')",
    ),
    (
        "ingress controller on Docker hosts",
        docker_stack(ingress={"tls": "off", "controller": "nginx"}),
        set(),
        "meteor-platform:ingress.controller",
        "it belongs to target 'kubernetes'",
    ),
    (
        "existing TLS secret on Docker hosts",
        docker_stack(ingress={"tls": "existingSecret"}),
        set(),
        "meteor-platform:ingress.tls",
        "expected 'certManager' or 'off'",
    ),
    (
        "storage class with managed MongoDB",
        do_stack(mongo={"provider": "digitalocean", "storageClass": "fast"}),
        set(),
        "meteor-platform:mongo.storageClass",
        "unknown key for mongo.provider 'digitalocean' (it belongs to mongo.provider 'inCluster')",
    ),
    (
        "database size with in-cluster MongoDB",
        section("mongo", size="db-s-2vcpu-4gb"),
        set(),
        "meteor-platform:mongo.size",
        "unknown key for mongo.provider 'inCluster' (it belongs to mongo.provider 'digitalocean')",
    ),
    (
        "URL with container MongoDB",
        docker_stack(mongo={"provider": "container", "url": "mongodb://db"}),
        {"meteor-platform:mongo"},
        "meteor-platform:mongo.url",
        "it belongs to mongo.provider 'external'",
    ),
    (
        "registry name without a registry",
        section("registry", name="acme"),
        set(),
        "meteor-platform:registry.name",
        "unknown key for registry.provider 'none' (it belongs to registry.provider 'digitalocean')",
    ),
    (
        "machine count without machines",
        section("machines", count=2),
        set(),
        "meteor-platform:machines.count",
        "unknown key for machines.provider 'none' (it belongs to machines.provider 'digitalocean' or machines.provider 'aws')",
    ),
    (
        "bucket with GridFS",
        section("storage", bucket="files"),
        set(),
        "meteor-platform:storage.bucket",
        "unknown key for storage.provider 'gridfs' (it belongs to storage.provider 'spaces' or storage.provider 's3')",
    ),
    (
        "local endpoint with machine hosts",
        docker_stack(docker={"hosts": "machines", "localHost": "unix:///var/run/docker.sock"}),
        set(),
        "meteor-platform:docker.localHost",
        "unknown key for docker.hosts 'machines' (it belongs to docker.hosts 'local')",
    ),
    (
        "node size with an existing cluster",
        section("kubernetes", nodeSize="s-4vcpu-8gb"),
        set(),
        "meteor-platform:kubernetes.nodeSize",
        "it belongs to kubernetes.provider 'doks'",
    ),
    ("unknown target", lambda c: c.update(target="nomad"), set(), "meteor-platform:target", "expected 'kubernetes' or 'docker'"),
    (
        "unknown mongo provider",
        section("mongo", provider="atlas"),
        set(),
        "meteor-platform:mongo.provider",
        "expected 'inCluster', 'external' or 'digitalocean' with target 'kubernetes'",
    ),
    (
        "fewer instances than Docker hosts",
        docker_on_droplets(count=3, replicas=2),
        set(),
        "meteor-platform:apps[0].replicas",
        "expected at least 3",
    ),
    (
        "a called app on fewer Docker hosts than its callers",
        with_internal_callee(docker_on_droplets(count=2, replicas=2), replicas=1),
        set(),
        "meteor-platform:apps[1].replicas",
        "todos reach it on their own host's network",
    ),
    (
        "MinIO with several Docker hosts",
        docker_on_droplets(count=2, replicas=2, storage={"provider": "minio"}),
        set(),
        "meteor-platform:storage.provider",
        "more than one host",
    ),
]


@pytest.mark.parametrize(
    ("mutate", "secret_keys", "key", "expected"),
    [pytest.param(m, s, k, e, id=i) for i, m, s, k, e in BAD_CONFIGS],
)
def test_bad_config_names_key_and_expectation(mutate: Mutation, secret_keys: set[str], key: str, expected: str) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    mutate(config)
    config = _drop_none(config)
    with pytest.raises(ConfigError) as caught:
        parse_config(config, secret_keys)
    message = str(caught.value)
    assert isinstance(caught.value, pulumi.RunError)
    assert message.startswith("invalid stack configuration:")
    lines = [line.strip() for line in message.splitlines()[1:]]
    matching = [line for line in lines if line.startswith(key + ":")]
    assert matching, f"no line names {key}:\n{message}"
    assert any(expected in line for line in matching), message
    assert "Traceback" not in message


def test_droplets_base_of_the_matrix_is_valid() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    docker_on_droplets(count=2, replicas=2)(config)
    parsed = parse_config(config)
    assert isinstance(parsed, DockerPlatformConfig) and parsed.host_count == 2


@pytest.mark.parametrize(("replicas", "called"), [(1, False), (2, True)])
def test_an_internal_app_needs_an_instance_per_host_only_when_called(replicas: int, called: bool) -> None:
    config = copy.deepcopy(BASE_CONFIG)
    with_internal_callee(docker_on_droplets(count=2, replicas=2), replicas=replicas, called=called)(config)
    parsed = parse_config(_drop_none(config))
    assert [a.name for a in parsed.apps] == ["todos", "accounts"]


def test_secret_value_never_echoed_in_errors() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["mongo"] = {"provider": "external", "url": "postgres://admin:hunter2@db"}
    with pytest.raises(ConfigError) as caught:
        parse_config(config, {"meteor-platform:mongo"})
    assert "hunter2" not in str(caught.value)
    assert "meteor-platform:mongo.url" in str(caught.value)


def test_secret_accepted_when_its_key_is_secret() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["mailUrl"] = "smtp://user:pass@mail.example.com:587"
    parsed = parse_config(config, {"meteor-platform:apps"})
    mail = parsed.apps[0].mail_url
    assert isinstance(mail, SecretValue)
    assert "pass" not in repr(parsed)


def test_offline_secure_value_is_unknown_secret() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"][0]["mailUrl"] = UNKNOWN_SECURE
    parsed = parse_config(config, {"meteor-platform:apps"})
    assert parsed.apps[0].mail_url is not None and not parsed.apps[0].mail_url.known


def test_defaults_follow_the_meteord_contract() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    config["apps"].append({"name": "legacy", "image": f"meteorhacks/meteord@{DIGEST}", "flavor": "meteord"})
    parsed = parse_config(config)
    zodern, legacy = parsed.apps
    assert (zodern.flavor, zodern.container_port, zodern.user_id) == (ImageFlavor.ZODERN, 3000, 1000)
    assert (legacy.container_port, legacy.user_id) == (80, None)
    assert parsed.protect_stateful is False
    production = {"environment": "production", "alerts": {"emails": ["ops@example.com"], "uptimeChecks": "digitalocean"}}
    assert parse_config({**config, **production}).protect_stateful is True


def test_load_config_reads_the_engine_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pulumi, "get_stack", lambda: "dev")  # the stack name is global runtime state
    pulumi.runtime.set_all_config(
        {
            "meteor-platform:environment": "dev",
            "meteor-platform:apps": '[{"name": "web", "image": "web:dev"}]',
            "meteor-platform:mongo": '{"storageClass": "standard"}',
            "kubernetes:context": "kind-dev",
        },
        [],
    )
    try:
        parsed = load_config()
    finally:
        pulumi.runtime.set_all_config({}, [])
    assert isinstance(parsed, KubernetesPlatformConfig)
    assert parsed.apps[0].name == "web"
    assert isinstance(parsed.mongo, InClusterMongoConfig) and parsed.mongo.storage_class == "standard"


def test_plan_cli_prints_one_message_and_no_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from offline_plan.__main__ import main

    stack = yaml.safe_load((ROOT / "Pulumi.staging.yaml").read_text())
    stack["config"]["meteor-platform:apps"][0]["replicas"] = -1
    (tmp_path / "Pulumi.citest-bad.yaml").write_text(yaml.safe_dump(stack))
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    # The real process on a bad stack: tests/test_bad_stacks.py test_the_real_command_exits_2_without_a_traceback.
    assert main(["citest-bad", "--root", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "Traceback" not in out.err
    assert "meteor-platform:apps[0].replicas: got -1; expected greater than or equal to 1" in out.err
    assert out.out == ""


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


def test_digitalocean_base_of_the_matrix_is_valid() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    do_stack()(config)
    parsed = parse_config(config)
    assert isinstance(parsed, KubernetesPlatformConfig)
    assert parsed.kubernetes.provider == "doks" and parsed.mongo.provider == "digitalocean"


def test_docker_base_of_the_matrix_is_valid() -> None:
    config = copy.deepcopy(BASE_CONFIG)
    docker_stack()(config)
    assert parse_config(config).target == "docker"
