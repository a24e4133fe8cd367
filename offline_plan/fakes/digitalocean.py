"""What DigitalOcean answers: clusters with kubeconfigs, databases, Spaces, registry credentials, droplets."""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import yaml

from offline_plan.fakes.answers import Answer, FakeContext
from offline_plan.fakes.deterministic import digest, generated_password, stable_uuid


def _kubernetes_cluster(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cluster_id = stable_uuid("doks/" + name)
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


def _database_cluster(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    cluster_id = stable_uuid("db/" + name)
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


def _database_user(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return f"{state.get('clusterId', '')}/user/{state.get('name', name)}", {"password": mocks.secret(name), "role": "normal"}


def _spaces_key(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    access = "DO00" + generated_password(f"{name}-access", 16).upper()
    return access, {"accessKey": access, "secretKey": mocks.secret(f"{name}-secret", 43), "createdAt": "2026-01-01T00:00:00Z"}


def _spaces_bucket(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    bucket, region = state.get("name", name), state.get("region", "fra1")
    return f"{region}:{bucket}", {
        "bucketDomainName": f"{bucket}.{region}.digitaloceanspaces.com",
        "endpoint": f"{region}.digitaloceanspaces.com",
        "urn": f"do:space:{bucket}",
    }


def _registry(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    registry = state.get("name", name)
    return registry, {
        "endpoint": f"registry.digitalocean.com/{registry}",
        "serverUrl": "registry.digitalocean.com",
        "storageUsageBytes": 0,
        "createdAt": "2026-01-01T00:00:00Z",
    }


def _registry_credentials(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    import base64

    # DigitalOcean's form: the API token as both user and password, base64 in `auth`. The same in every
    # round (unlike a kubeconfig download): a read (refresh) mints new credentials only once the stored
    # ones expired (terraform-provider-digitalocean, resource_container_registry_docker_credentials.go,
    # updateExpiredDockerCredentials), and `expirySeconds` defaults to 1576800000, "roughly 50 years"
    # (pinned pulumi_digitalocean/container_registry_docker_credentials.py).
    token = "dop_v1_" + mocks.secret(f"{name}-token", 48)
    auth = {"auths": {"registry.digitalocean.com": {"auth": base64.b64encode(f"{token}:{token}".encode()).decode()}}}
    return str(state.get("registryName", name)), {"dockerCredentials": json.dumps(auth), "credentialExpirationTime": "2075-12-20T00:00:00Z"}


def _droplet(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    n = int(digest("droplet", name)[:6], 16)
    return str(400000000 + n), {
        "ipv4Address": f"203.0.113.{n % 250 + 2}",
        "ipv4AddressPrivate": f"10.120.0.{n % 250 + 2}",
        "ipv6Address": f"2001:db8::{n % 65535:x}",
        "urn": f"do:droplet:{400000000 + n}",
        "status": "active",
    }


def _simple(prefix: str, extra: dict[str, Any] | None = None) -> Answer:
    def answer(_mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        resource_id = stable_uuid(f"{prefix}/{name}")
        outputs = {"urn": f"do:{prefix}:{resource_id}", **(extra or {})}
        if prefix == "reservedip":
            resource_id = f"198.51.100.{int(digest(name)[:2], 16) % 250 + 2}"
            outputs["ipAddress"] = resource_id
        if prefix == "sshkey":
            outputs["fingerprint"] = ":".join(digest("fp", name)[i : i + 2] for i in range(0, 32, 2))
        if prefix == "tag":
            resource_id = state.get("name", name)
        return resource_id, outputs

    return answer


OUTPUTS: dict[str, Answer] = {
    "digitalocean:index/volume:Volume": _simple("volume"),
    "digitalocean:index/kubernetesCluster:KubernetesCluster": _kubernetes_cluster,
    "digitalocean:index/databaseCluster:DatabaseCluster": _database_cluster,
    "digitalocean:index/databaseUser:DatabaseUser": _database_user,
    "digitalocean:index/spacesKey:SpacesKey": _spaces_key,
    "digitalocean:index/spacesBucket:SpacesBucket": _spaces_bucket,
    "digitalocean:index/containerRegistry:ContainerRegistry": _registry,
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials": _registry_credentials,
    "digitalocean:index/droplet:Droplet": _droplet,
    "digitalocean:index/vpc:Vpc": _simple("vpc"),
    "digitalocean:index/reservedIp:ReservedIp": _simple("reservedip"),
    "digitalocean:index/sshKey:SshKey": _simple("sshkey"),
    "digitalocean:index/tag:Tag": _simple("tag"),
    "digitalocean:index/firewall:Firewall": _simple("firewall", {"status": "succeeded"}),
    "digitalocean:index/databaseFirewall:DatabaseFirewall": _simple("dbfirewall"),
    "digitalocean:index/databaseDb:DatabaseDb": _simple("db"),
    "digitalocean:index/spacesBucketCorsConfiguration:SpacesBucketCorsConfiguration": _simple("cors"),
}
"""Per DigitalOcean resource type, its fake."""

KUBERNETES_VERSIONS = "digitalocean:index/getKubernetesVersions:getKubernetesVersions"


def kubernetes_versions(doks_minors: Sequence[str], args: dict[str, Any]) -> dict[str, Any]:
    """As the provider answers: every offered slug starting with the prefix, newest first, and no
    latestVersion when none does."""
    prefix = str(args.get("versionPrefix") or "")
    offered = [f"{minor}.{patch}-do.0" for minor in sorted(doks_minors, reverse=True) for patch in (4, 3, 1)]
    valid = [slug for slug in offered if slug.startswith(prefix)]
    answer: dict[str, Any] = {"id": "versions", "validVersions": valid, "versionPrefix": prefix}
    if valid:
        answer["latestVersion"] = valid[0]
    return answer
