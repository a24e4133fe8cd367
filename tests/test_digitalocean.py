"""DigitalOcean as a target: the shipped staging and production stacks, wired end to end."""

from __future__ import annotations

import copy
import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.harness import Run, env_of, run_config, run_shipped, shipped

CLUSTER = "digitalocean:index/kubernetesCluster:KubernetesCluster"
DATABASE = "digitalocean:index/databaseCluster:DatabaseCluster"
BUCKET = "digitalocean:index/spacesBucket:SpacesBucket"
REGISTRY = "digitalocean:index/containerRegistry:ContainerRegistry"
SPACES_KEY = "digitalocean:index/spacesKey:SpacesKey"


@pytest.fixture(scope="module")
def staging() -> Run:
    return shipped("staging")


@pytest.fixture(scope="module")
def production() -> Run:
    return shipped("production")


FLEET: dict[str, Any] = {
    "environment": "production",
    "alerts": {"emails": ["ops@example.com"]},
    "target": "docker",
    "docker": {"hosts": "machines", "acmeEmail": "ops@example.com"},
    "machines": {
        "provider": "digitalocean",
        "count": 2,
        "adminCidrs": ["203.0.113.0/24"],
        "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
    },
    "mongo": {"provider": "digitalocean", "nodes": 3},
    "storage": {"provider": "spaces"},
    "apps": [{"name": "todos", "image": "ghcr.io/acme/todos@sha256:" + "ab" * 32, "domain": "todos.example.com", "replicas": 2}],
}


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """Production apps on two droplets behind a DigitalOcean load balancer and Traefik on each."""
    return run_config(tmp_path_factory.mktemp("fleet"), FLEET, stack="fleet")


def test_every_kubernetes_resource_uses_the_doks_provider(staging: Run) -> None:
    provider = staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")
    assert provider["parent"].endswith("DoksCluster::meteor-cluster")
    kube = [r for r in staging.plan["resources"] if r["type"].startswith("kubernetes:")]
    assert kube and all(r["provider"] == provider["urn"] for r in kube)


def test_provider_survives_token_rotation(staging: Run) -> None:
    cluster = staging.one(CLUSTER, "meteor-cluster-doks")
    provider = staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["inputs"]
    assert provider["clusterIdentifier"] == staging.result.states[cluster["urn"]]["clusterUrn"].split(":")[-1]
    assert cluster["inputs"]["kubeconfigExpireSeconds"] == 7 * 86400


def test_provider_authenticates_through_doctl_with_no_token_of_its_own(staging: Run) -> None:
    """The kubeconfig `doctl kubernetes cluster kubeconfig save` writes: the cluster's endpoint and CA, an exec user."""
    cluster = staging.one(CLUSTER, "meteor-cluster-doks")
    created = staging.state(cluster)
    kubeconfig = yaml.safe_load(staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["inputs"]["kubeconfig"])
    assert kubeconfig["clusters"][0]["cluster"] == {
        "server": created["endpoint"],
        "certificate-authority-data": created["kubeConfigs"][0]["clusterCaCertificate"],
    }
    cluster_id = staging.result.ids[cluster["urn"]]
    assert kubeconfig["users"][0]["user"] == {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "doctl",
            "args": ["kubernetes", "cluster", "kubeconfig", "exec-credential", "--version=v1beta1", cluster_id],
            "interactiveMode": "Never",
        }
    }
    assert created["kubeConfigs"][0]["token"] not in json.dumps(staging.plan)
    # Nothing in it is a credential: the output is readable without --show-secrets.
    assert (
        staging.plan["outputs"]["kubeconfig"]
        == staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["inputs"]["kubeconfig"]
    )


def test_a_second_run_with_new_tokens_changes_nothing(staging: Run) -> None:
    """DigitalOcean mints a new API token per kubeconfig download (pulumi-digitalocean#78): the plan must not follow it."""
    again = run_shipped("staging", token_round=1)
    cluster = staging.one(CLUSTER, "meteor-cluster-doks")
    tokens = {run.state(run.one(CLUSTER, "meteor-cluster-doks"))["kubeConfigs"][0]["token"] for run in (staging, again)}
    assert len(tokens) == 2, "the mocks answered the same token twice: this test would prove nothing"
    assert again.plan == staging.plan
    assert cluster["urn"] in {r["urn"] for r in again.plan["resources"]}


def test_doks_version_comes_from_the_data_source(staging: Run) -> None:
    inputs = staging.one(CLUSTER, "meteor-cluster-doks")["inputs"]
    assert inputs["version"] == "1.35.4-do.0"  # the newest 1.35 patch the (mocked) API offers
    assert inputs["autoUpgrade"] is True and inputs["surgeUpgrade"] is True
    assert inputs["maintenancePolicy"] == {"day": "sunday", "startTime": "03:00"}
    pool = inputs["nodePool"]
    assert (pool["autoScale"], pool["minNodes"], pool["maxNodes"]) == (True, 2, 4)
    vpc = staging.one("digitalocean:index/vpc:Vpc", "meteor-network-vpc")
    assert vpc["urn"] in staging.one(CLUSTER, "meteor-cluster-doks")["dependencies"]


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_minor_digitalocean_stopped_offering_warns_and_leaves_the_deployed_cluster_alone(caplog: pytest.LogCaptureFixture) -> None:
    """The catalogue may be older than DigitalOcean's list: previews and drift runs of a deployed cluster go on.

    The empty version reaches only a cluster whose version is ignored; a new one is refused by the
    provider (NoZeroValues) right after the warning.
    """
    with caplog.at_level(logging.WARNING):
        run = run_shipped("staging", doks_minors=("1.36", "1.37"), doks_deployed_version="1.35.8-do.0")
    cluster = run.one(CLUSTER, "meteor-cluster-doks")
    assert cluster["inputs"]["version"] == "" and "version" in cluster["ignoreChanges"]
    assert run.plan["outputs"]["kubeconfig"]
    found = [w for w in warnings(caplog) if "DigitalOcean offers no Kubernetes 1.35.x any more" in w]
    assert len(found) == 1 and found[0].startswith("meteor-platform:kubernetes.versionPrefix: ")
    assert "`doctl kubernetes cluster upgrade`" in found[0]


@pytest.mark.parametrize(("running", "warned"), [("1.34.9-do.0", True), ("1.35.2-do.0", False)])
def test_a_cluster_running_another_minor_than_the_stack_states_is_warned_about(
    caplog: pytest.LogCaptureFixture, running: str, warned: bool
) -> None:
    with caplog.at_level(logging.WARNING):
        run_shipped("staging", doks_deployed_version=running)
    found = [w for w in warnings(caplog) if w.startswith("meteor-platform:kubernetes.versionPrefix: the cluster runs")]
    assert len(found) == int(warned), found
    if warned:
        assert found[0].startswith(f"meteor-platform:kubernetes.versionPrefix: the cluster runs Kubernetes {running}, not 1.35.x; ")
        assert "set versionPrefix to '1.34.' to state what runs" in found[0]


def test_production_control_plane_is_ha(production: Run) -> None:
    assert production.one(CLUSTER, "meteor-cluster-doks")["inputs"]["ha"] is True


def test_database_private_firewalled_to_this_cluster(staging: Run) -> None:
    database = staging.one(DATABASE, "meteor-mongo-cluster")["inputs"]
    assert database["engine"] == "mongodb" and int(database["version"]) >= 6
    assert database["nodeCount"] == 1
    assert database["privateNetworkUuid"] == staging.one(CLUSTER, "meteor-cluster-doks")["inputs"]["vpcUuid"]
    firewall = staging.one("digitalocean:index/databaseFirewall:DatabaseFirewall", "meteor-mongo-firewall")
    cluster_id = staging.one("pulumi:providers:kubernetes", "meteor-cluster-provider")["inputs"]["clusterIdentifier"]
    assert firewall["inputs"]["rules"] == [{"type": "k8s", "value": cluster_id}]


def test_database_admits_the_machines_that_run_apps(fleet: Run) -> None:
    firewall = fleet.one("digitalocean:index/databaseFirewall:DatabaseFirewall", "meteor-mongo-firewall")
    assert firewall["inputs"]["rules"] == [{"type": "tag", "value": "meteor-fleet-docker"}]


def test_production_database_has_three_nodes(production: Run) -> None:
    assert production.one(DATABASE, "meteor-mongo-cluster")["inputs"]["nodeCount"] == 3


def test_app_gets_its_own_database_user_over_tls(staging: Run) -> None:
    user = staging.one("digitalocean:index/databaseUser:DatabaseUser", "meteor-mongo-todos-user")
    assert user["inputs"]["name"] == "todos"
    secret = staging.state(staging.one("kubernetes:core/v1:Secret", "todos-env"))["stringData"]
    url = secret["MONGO_URL"]
    host = staging.result.states[staging.one(DATABASE, "meteor-mongo-cluster")["urn"]]["privateHost"]
    password = staging.result.states[user["urn"]]["password"]
    assert url == f"mongodb+srv://todos:{password}@{host}/todos?tls=true&authSource=admin&replicaSet=meteor-staging-mongo"
    assert "MONGO_OPLOG_URL" not in secret
    env = env_of(staging.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert "secretKeyRef" in env["MONGO_URL"]["valueFrom"]


def test_app_secret_carries_this_stacks_bucket_and_key(staging: Run) -> None:
    bucket = staging.one(BUCKET, "meteor-storage-bucket")["inputs"]
    key = staging.one(SPACES_KEY, "meteor-storage-key")
    key_state = staging.result.states[key["urn"]]
    secret = staging.state(staging.one("kubernetes:core/v1:Secret", "todos-env"))["stringData"]
    assert secret["S3_BUCKET"] == bucket["name"] == "meteor-platform-staging-files"
    assert secret["S3_ENDPOINT"] == "https://fra1.digitaloceanspaces.com"
    assert secret["S3_REGION"] == "fra1"
    assert secret["S3_ACCESS_KEY_ID"] == key_state["accessKey"]
    assert secret["S3_SECRET_ACCESS_KEY"] == key_state["secretKey"]
    settings = json.loads(secret["METEOR_SETTINGS"])["storage"]
    assert settings["bucket"] == bucket["name"] and settings["secretAccessKey"] == key_state["secretKey"]
    env = env_of(staging.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert "secretKeyRef" in env["METEOR_SETTINGS"]["valueFrom"]
    assert "secretKeyRef" in env["S3_SECRET_ACCESS_KEY"]["valueFrom"]


def test_bucket_private_versioned_expiring_with_cors_and_a_scoped_key(staging: Run) -> None:
    bucket = staging.one(BUCKET, "meteor-storage-bucket")["inputs"]
    assert bucket["acl"] == "private" and bucket["versioning"] == {"enabled": True}
    # A destroy (or replacement) must fail on a non-empty bucket, never empty it.
    assert bucket["forceDestroy"] is False
    assert bucket["lifecycleRules"][0]["noncurrentVersionExpiration"] == {"days": 30}
    cors = staging.one("digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration", "meteor-storage-cors")
    assert cors["inputs"]["corsRules"][0]["allowedOrigins"] == ["https://todos.staging.example.com"]
    grants = staging.one(SPACES_KEY, "meteor-storage-key")["inputs"]["grants"]
    assert grants == [{"bucket": bucket["name"], "permission": "readwrite"}]


def test_pull_secret_is_read_only_and_per_namespace(staging: Run) -> None:
    pull = staging.one("digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials", "meteor-registry-pull")
    assert pull["inputs"]["write"] is False
    secret = staging.one("kubernetes:core/v1:Secret", "todos-pull")
    assert secret["inputs"]["type"] == "kubernetes.io/dockerconfigjson"
    assert secret["inputs"]["stringData"] == {".dockerconfigjson": "[secret]"}
    assert json.loads(staging.state(secret)["stringData"][".dockerconfigjson"])["auths"]
    pod = staging.one("kubernetes:apps/v1:Deployment", "todos-deployment")["inputs"]["spec"]["template"]["spec"]
    assert pod["imagePullSecrets"] == [{"name": secret["objectName"]}]
    push = staging.one("digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials", "meteor-registry-push")
    assert push["inputs"]["write"] is True
    assert staging.plan["outputs"]["registry_push_credentials"] == "[secret]"


def test_docker_hosts_firewalled_monitored_and_booted_by_cloud_init(fleet: Run) -> None:
    resource = fleet.one("digitalocean:index/droplet:Droplet", "meteor-machines-0")
    droplet = resource["inputs"]
    assert droplet["monitoring"] is True and droplet["tags"] == ["meteor-fleet-docker"]
    assert droplet["userData"] == "[secret]", "it carries the host's private key"
    assert fleet.state(resource)["userData"].startswith("#cloud-config\n")
    assert droplet["vpcUuid"] == fleet.result.ids[fleet.one("digitalocean:index/vpc:Vpc", "meteor-network-vpc")["urn"]]
    rules = fleet.one("digitalocean:index/firewall:Firewall", "meteor-machines-firewall")["inputs"]["inboundRules"]
    ssh = [r for r in rules if r.get("portRange") == "22"]
    assert ssh == [{"portRange": "22", "protocol": "tcp", "sourceAddresses": ["203.0.113.0/24"]}]
    assert {r.get("portRange") for r in rules} == {"22", "80", "443", None}


def test_a_single_production_host_is_published_at_its_reserved_ip() -> None:
    production = shipped("droplets")
    [first] = production.resources("digitalocean:index/droplet:Droplet")
    [reserved] = production.resources("digitalocean:index/reservedIp:ReservedIp")
    assert reserved["inputs"]["dropletId"] == int(production.result.ids[first["urn"]])
    reserved_ip = production.state(reserved)["ipAddress"]
    assert production.plan["outputs"]["host_addresses"] == [reserved_ip]
    assert production.plan["outputs"]["docker_hosts"] == [f"ssh://deploy@{reserved_ip}"]


def test_several_hosts_sit_behind_a_sticky_load_balancer_that_alone_is_open(fleet: Run) -> None:
    [lb] = fleet.resources("digitalocean:index/loadBalancer:LoadBalancer")
    inputs = lb["inputs"]
    assert inputs["dropletTag"] == "meteor-fleet-docker" and inputs["redirectHttpToHttps"] is True
    assert inputs["stickySessions"]["type"] == "cookies" and inputs["enableProxyProtocol"] is True
    assert inputs["httpIdleTimeoutSeconds"] == 600
    https = next(r for r in inputs["forwardingRules"] if r["entryPort"] == 443)
    certificate = fleet.one("digitalocean:index/certificate:Certificate", "meteor-machines-certificate")["inputs"]
    assert certificate["type"] == "lets_encrypt" and certificate["domains"] == ["todos.example.com"]
    assert https["certificateName"] == certificate["name"] and https["targetPort"] == 80
    rules = fleet.one("digitalocean:index/firewall:Firewall", "meteor-machines-firewall")["inputs"]["inboundRules"]
    web = [r for r in rules if r.get("portRange") in ("80", "443")]
    assert web and all(r.get("sourceLoadBalancerUids") == [fleet.result.ids[lb["urn"]]] and "sourceAddresses" not in r for r in web)
    traefik = [c for c in fleet.resources("docker:index/container:Container") if str(c["inputs"].get("name")).endswith("-traefik")]
    assert len(traefik) == 2
    for proxy in traefik:
        command = proxy["inputs"]["command"]
        assert "--entrypoints.web.proxyProtocol.trustedIPs=10.120.0.0/20" in command
        assert not any("certificatesresolvers" in c for c in command), "the load balancer holds the certificate"
    app = fleet.one("docker:index/container:Container", "todos-host0-0")
    labels = {entry["label"]: entry["value"] for entry in app["inputs"]["labels"]}
    assert labels["traefik.http.routers.todos.entrypoints"] == "web"
    assert labels["traefik.http.services.todos.loadbalancer.sticky.cookie.secure"] == "true"
    env = dict(line.split("=", 1) for line in fleet.state(app)["envs"])
    assert env["ROOT_URL"] == "https://todos.example.com"


@pytest.mark.parametrize(
    ("type_", "name"),
    [(DATABASE, "meteor-mongo-cluster"), (BUCKET, "meteor-storage-bucket"), (REGISTRY, "meteor-registry-registry")],
)
def test_production_protects_data_staging_opts_out(production: Run, staging: Run, type_: str, name: str) -> None:
    prod = production.one(type_, name)
    assert prod["protect"] is True and prod["retainOnDelete"] is True
    assert all(r["protect"] is False for r in staging.resources(type_))


def test_staging_uses_the_teams_registry_instead_of_creating_one(staging: Run) -> None:
    assert not staging.resources(REGISTRY), "staging uses the registry production created"
    credentials = staging.resources("digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials")
    assert {c["inputs"]["registryName"] for c in credentials} == {"meteor-production"}
    assert staging.plan["outputs"]["registry_server"] == "registry.digitalocean.com/meteor-production"


def test_shipped_stacks_use_disjoint_vpc_ranges() -> None:
    """DigitalOcean refuses overlapping VPC ranges in one account."""
    import ipaddress

    import yaml

    from tests.harness import ROOT

    ranges: dict[str, Any] = {}
    for path in ROOT.glob("Pulumi.*.yaml"):
        config = yaml.safe_load(path.read_text())["config"]
        if any(isinstance(v, dict) and v.get("provider") in ("digitalocean", "doks") for v in config.values()):
            ranges[path.name] = ipaddress.ip_network(config.get("meteor-platform:digitalocean", {}).get("vpcIpRange", "10.120.0.0/20"))
    assert len(ranges) >= 3
    names = sorted(ranges)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not ranges[a].overlaps(ranges[b]), (a, b)


def test_a_second_stack_names_the_uploaded_key_by_fingerprint(tmp_path: Path) -> None:
    fingerprint = "5a:e9:ea:7c:ef:0e:86:f6:e1:4c:d9:05:1a:8e:5c:8c"
    config = {**FLEET, "machines": {**FLEET["machines"], "existingSshKey": fingerprint}}
    run = run_config(tmp_path, config)
    assert not run.resources("digitalocean:index/sshKey:SshKey")
    assert all(d["inputs"]["sshKeys"] == [fingerprint] for d in run.resources("digitalocean:index/droplet:Droplet"))


def test_machines_beside_a_cluster_say_what_they_are_for_and_stay_closed(tmp_path: Path) -> None:
    run = run_config(tmp_path, _do_config(machines={"purpose": "build runner"}))
    rules = run.one("digitalocean:index/firewall:Firewall", "meteor-machines-firewall")["inputs"]["inboundRules"]
    assert {r.get("portRange") for r in rules} == {"22", None}, "no app runs there: 80/443 stay closed"
    firewall = run.one("digitalocean:index/databaseFirewall:DatabaseFirewall", "meteor-mongo-firewall")
    assert all(rule["type"] == "k8s" for rule in firewall["inputs"]["rules"])


def test_docker_hosts_without_traffic_keep_web_ports_closed(tmp_path: Path) -> None:
    run = run_config(tmp_path, _do_config(machines={"serveTraffic": False, "purpose": "bastion"}))
    rules = run.one("digitalocean:index/firewall:Firewall", "meteor-machines-firewall")["inputs"]["inboundRules"]
    assert {r.get("portRange") for r in rules} == {"22", None}


def _do_config(**sections: dict[str, Any]) -> dict[str, Any]:
    config: dict[str, Any] = {
        "environment": "staging",
        "kubernetes": {"provider": "doks", "adminCidrs": ["198.51.100.0/24"]},
        "ingress": {"acmeEmail": "ops@example.com"},
        "mongo": {"provider": "digitalocean"},
        "storage": {"provider": "spaces"},
        "machines": {
            "provider": "digitalocean",
            "adminCidrs": ["198.51.100.0/24"],
            "sshPublicKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U ci",
        },
        "apps": [{"name": "web", "image": "ghcr.io/acme/web@sha256:" + "ab" * 32, "domain": "web.example.com"}],
    }
    for key, value in sections.items():
        config[key] = {**config.get(key, {}), **value}
    return config


def test_outputs_give_docker_hosts_and_keep_credentials_secret(production: Run, fleet: Run) -> None:
    addresses = [fleet.state(d)["ipv4Address"] for d in fleet.resources("digitalocean:index/droplet:Droplet")]
    assert sorted(fleet.plan["outputs"]["host_addresses"]) == sorted(addresses)
    assert sorted(fleet.plan["outputs"]["docker_hosts"]) == sorted(f"ssh://deploy@{a}" for a in addresses)
    outputs = production.plan["outputs"]
    assert "docker_hosts" not in outputs, "production runs no machines: nothing idle is exposed"
    assert outputs["registry_server"] == "registry.digitalocean.com/meteor-production"
    assert outputs["registry_push_credentials"] == "[secret]"
    assert "exec-credential" in outputs["kubeconfig"]
    assert outputs["urls"] == {"todos": "https://todos.example.com"}


def test_an_app_that_needs_isolation_gets_a_database_cluster_of_its_own(tmp_path: Path) -> None:
    config = _do_config(mongo={"isolatedApps": ["billing"]})
    config.pop("machines")
    config["apps"].append({"name": "billing", "image": "ghcr.io/acme/billing@sha256:" + "cd" * 32})
    run = run_config(tmp_path, config)
    clusters = {r["name"]: r for r in run.resources(DATABASE)}
    assert set(clusters) == {"meteor-mongo-cluster", "meteor-mongo-billing-cluster"}
    users = {r["inputs"]["name"]: r for r in run.resources("digitalocean:index/databaseUser:DatabaseUser")}
    assert users["billing"]["inputs"]["clusterId"] == run.result.ids[clusters["meteor-mongo-billing-cluster"]["urn"]]
    assert users["web"]["inputs"]["clusterId"] == run.result.ids[clusters["meteor-mongo-cluster"]["urn"]]
    billing_url = run.state(run.one("kubernetes:core/v1:Secret", "billing-env"))["stringData"]["MONGO_URL"]
    web_url = run.state(run.one("kubernetes:core/v1:Secret", "web-env"))["stringData"]["MONGO_URL"]
    assert billing_url.split("@")[1].split("/")[0] != web_url.split("@")[1].split("/")[0]


def test_a_stack_deployed_with_the_token_kubeconfig_sees_one_provider_update(staging: Run) -> None:
    """The switch to the doctl kubeconfig changes the provider's config, not its clusterIdentifier: no replacement."""
    from offline_plan.changes import plan_changes

    before = copy.deepcopy(staging.plan)
    provider = next(r for r in before["resources"] if r["name"] == "meteor-cluster-provider")
    provider["inputs"]["kubeconfig"] = "[secret]"  # what the token kubeconfig recorded
    changes = plan_changes(before, staging.plan)
    assert [(c.name, c.action) for c in changes.resources] == [("meteor-cluster-provider", "update")]
