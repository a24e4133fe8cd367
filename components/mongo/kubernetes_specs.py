"""Pure builders of the in-cluster replica set's objects: plain values in, Kubernetes specs out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

from components.endpoints import Endpoint
from components.kubernetes import labels, pods
from components.kubernetes.network_policy import DNS_EGRESS, egress_to, platform_apps_peer
from components.mongo import MONGO_PORT, MongoAppUser
from components.mongo.replica_set import DUMP_SCRIPT, MONGO_UID, REPLICA_SET, UPLOAD_SCRIPT, dump_uri, init_command, password_env
from components.storage import pod_identity_skip

PING: list[str] = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
# The official image's entrypoint writes only to $TMPDIR (/tmp: its parsed config and the initdb
# pidfile), the data directory and stdout; mongod adds its socket in /tmp and mongosh (the probes)
# its history under HOME=/data/db (docker-library/mongo 7.0/docker-entrypoint.sh, 7.0/Dockerfile).
# With /tmp, /data/db and /data/configdb (the image's other VOLUME) mounted, the root can be read-only.
# The entrypoint's file_env reads MONGO_INITDB_ROOT_USERNAME/PASSWORD from `<name>_FILE` (a file
# each), so the root credentials are mounted from the Secret instead of sitting in the environment.
ROOT_CREDENTIALS_DIR = "/etc/mongo-root"


def member_hosts(members: int, namespace: str, cluster_domain: str, service: str = "mongo") -> list[str]:
    """Stable DNS names of the members (through the headless service)."""
    return [f"{service}-{i}.{service}.{namespace}.svc.{cluster_domain}:{MONGO_PORT}" for i in range(members)]


def spread(selector: Mapping[str, str], *, required: bool) -> k8s.core.v1.AffinityArgsDict:
    """Members on different nodes (required with several members) and preferably zones."""
    by_host: k8s.core.v1.PodAffinityTermArgsDict = {
        "label_selector": {"match_labels": dict(selector)},
        "topology_key": "kubernetes.io/hostname",
    }
    by_zone: k8s.core.v1.WeightedPodAffinityTermArgsDict = {
        "weight": 50,
        "pod_affinity_term": {"label_selector": {"match_labels": dict(selector)}, "topology_key": "topology.kubernetes.io/zone"},
    }
    if required:
        return {
            "pod_anti_affinity": {
                "required_during_scheduling_ignored_during_execution": [by_host],
                "preferred_during_scheduling_ignored_during_execution": [by_zone],
            }
        }
    return {
        "pod_anti_affinity": {
            "preferred_during_scheduling_ignored_during_execution": [{"weight": 100, "pod_affinity_term": by_host}, by_zone]
        }
    }


def stateful_set_spec(
    *,
    image: str,
    members: int,
    service_name: pulumi.Input[str],
    credentials: pulumi.Input[str],
    storage_class: pulumi.Input[str],
    storage_size: str,
    cpu: str,
    memory: str,
    pod_labels: Mapping[str, str],
    selector: Mapping[str, str],
) -> k8s.apps.v1.StatefulSetSpecArgsDict:
    """The replica set: keyfile auth, data claims kept on delete and scale-down, probes, spread."""
    return {
        "service_name": service_name,
        "replicas": members,
        "pod_management_policy": "OrderedReady",
        "selector": {"match_labels": dict(selector)},
        "update_strategy": {"type": "RollingUpdate"},
        "persistent_volume_claim_retention_policy": {"when_deleted": "Retain", "when_scaled": "Retain"},
        "template": {
            "metadata": {"labels": dict(pod_labels)},
            "spec": {
                **pods.pod_spec(
                    user=MONGO_UID,
                    init_containers=[
                        {
                            # mongod refuses a keyfile readable by others; Secret volumes are group-readable.
                            "name": "keyfile",
                            "image": image,
                            "command": ["sh", "-c", "cp /keyfile-src/keyfile /keyfile/keyfile && chmod 0400 /keyfile/keyfile"],
                            "security_context": pods.READ_ONLY_CONTAINER,
                            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}, "limits": {"cpu": "100m", "memory": "64Mi"}},
                            "volume_mounts": [
                                {"name": "keyfile-src", "mount_path": "/keyfile-src", "read_only": True},
                                {"name": "keyfile", "mount_path": "/keyfile"},
                            ],
                        }
                    ],
                    containers=[
                        {
                            "name": "mongod",
                            "image": image,
                            "args": ["--replSet", REPLICA_SET, "--bind_ip_all", "--keyFile", "/keyfile/keyfile", "--auth"],
                            "ports": [{"name": "mongo", "container_port": MONGO_PORT}],
                            "env": [
                                {"name": "MONGO_INITDB_ROOT_USERNAME_FILE", "value": f"{ROOT_CREDENTIALS_DIR}/root-username"},
                                {"name": "MONGO_INITDB_ROOT_PASSWORD_FILE", "value": f"{ROOT_CREDENTIALS_DIR}/root-password"},
                            ],
                            "security_context": pods.READ_ONLY_CONTAINER,
                            "resources": {"requests": {"cpu": cpu, "memory": memory}, "limits": {"cpu": cpu, "memory": memory}},
                            "startup_probe": {
                                "exec_": {"command": PING},
                                "period_seconds": 5,
                                "failure_threshold": 60,
                                "timeout_seconds": 5,
                            },
                            "readiness_probe": {"exec_": {"command": PING}, "period_seconds": 10, "timeout_seconds": 5},
                            "liveness_probe": {
                                "exec_": {"command": PING},
                                "period_seconds": 20,
                                "timeout_seconds": 10,
                                "failure_threshold": 6,
                            },
                            "volume_mounts": [
                                {"name": "data", "mount_path": "/data/db"},
                                {"name": "keyfile", "mount_path": "/keyfile", "read_only": True},
                                {"name": "root-credentials", "mount_path": ROOT_CREDENTIALS_DIR, "read_only": True},
                                {"name": "tmp", "mount_path": "/tmp"},
                                {"name": "configdb", "mount_path": "/data/configdb"},
                            ],
                        }
                    ],
                    volumes=[
                        {
                            "name": "keyfile-src",
                            "secret": {"secret_name": credentials, "items": [{"key": "keyfile", "path": "keyfile"}], "default_mode": 0o440},
                        },
                        {"name": "keyfile", "empty_dir": {"medium": "Memory", "size_limit": "1Mi"}},
                        {
                            "name": "root-credentials",
                            "secret": {
                                "secret_name": credentials,
                                "items": [
                                    {"key": "root-username", "path": "root-username"},
                                    {"key": "root-password", "path": "root-password"},
                                ],
                                "default_mode": 0o440,
                            },
                        },
                        {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
                        {"name": "configdb", "empty_dir": {"size_limit": "64Mi"}},
                    ],
                ),
                "termination_grace_period_seconds": 30,
                "affinity": spread(selector, required=members > 1),
            },
        },
        "volume_claim_templates": [
            {
                "metadata": {"name": "data", "labels": dict(pod_labels)},
                "spec": {
                    "access_modes": ["ReadWriteOnce"],
                    "storage_class_name": storage_class,
                    "resources": {"requests": {"storage": storage_size}},
                },
            }
        ],
    }


def init_job_spec(
    *,
    image: str,
    first_host: str,
    credentials: pulumi.Input[str],
    script: pulumi.Input[str],
    users: Sequence[MongoAppUser],
    job_labels: Mapping[str, str],
) -> k8s.batch.v1.JobSpecArgsDict:
    """The idempotent init step: root credentials and app passwords from the Secret, spec from the ConfigMap."""
    return {
        "backoff_limit": 10,
        "active_deadline_seconds": 900,
        "template": {
            "metadata": {"labels": dict(job_labels)},
            "spec": {
                **pods.pod_spec(
                    user=MONGO_UID,
                    containers=[
                        {
                            "name": "init",
                            "image": image,
                            "command": ["sh", "-c", init_command(first_host)],
                            "env": [
                                pods.secret_env("MONGO_ROOT_USER", credentials, "root-username"),
                                pods.secret_env("MONGO_ROOT_PASSWORD", credentials, "root-password"),
                                {"name": "RS_SPEC", "value_from": {"config_map_key_ref": {"name": script, "key": "spec.json"}}},
                                *[pods.secret_env(password_env(u.app), credentials, password_env(u.app)) for u in users],
                            ],
                            "security_context": pods.RESTRICTED_CONTAINER,
                            "resources": {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                            "volume_mounts": [
                                {"name": "scripts", "mount_path": "/scripts", "read_only": True},
                                {"name": "home", "mount_path": "/home/mongodb"},
                            ],
                        }
                    ],
                    volumes=[{"name": "scripts", "config_map": {"name": script}}, {"name": "home", "empty_dir": {"size_limit": "64Mi"}}],
                ),
                "restart_policy": "OnFailure",
            },
        },
    }


def headless_service_spec(selector: Mapping[str, str]) -> k8s.core.v1.ServiceSpecArgsDict:
    """The members' stable DNS names; members must resolve each other before they are ready, or initiation deadlocks."""
    return {
        "cluster_ip": "None",
        "publish_not_ready_addresses": True,
        "selector": dict(selector),
        "ports": [{"name": "mongo", "port": MONGO_PORT, "target_port": "mongo"}],
    }


def disruption_budget_spec(selector: Mapping[str, str]) -> k8s.policy.v1.PodDisruptionBudgetSpecArgsDict:
    """With 3 members one may go, keeping a majority; with 1 member a drain may proceed."""
    return {"max_unavailable": 1, "selector": {"match_labels": dict(selector)}}


def credentials_data(
    root_password: pulumi.Input[str], keyfile: pulumi.Input[str], app_passwords: Mapping[str, pulumi.Input[str]]
) -> dict[str, pulumi.Input[str]]:
    """The replica set's Secret: root credentials, the members' keyfile, one password per app."""
    return {
        "root-username": "root",
        "root-password": root_password,
        "keyfile": keyfile,
        **{password_env(app): password for app, password in app_passwords.items()},
    }


def mongo_network_policy_spec(stack: str, selector: Mapping[str, str]) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """Members admit this stack's apps, each other and the init step; they talk only to each other."""
    init_selector = labels.selector(stack, "mongo-init", labels.MONGO_INIT_ROLE)
    return {
        "pod_selector": {"match_labels": dict(selector)},
        "policy_types": ["Ingress", "Egress"],
        "ingress": [
            {
                "from_": [
                    platform_apps_peer(stack),
                    {"pod_selector": {"match_labels": dict(selector)}},
                    {"pod_selector": {"match_labels": init_selector}},
                    {"pod_selector": {"match_labels": labels.selector(stack, BACKUP_ROLE, BACKUP_ROLE)}},
                ],
                "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
            }
        ],
        "egress": [
            DNS_EGRESS,
            {"to": [{"pod_selector": {"match_labels": dict(selector)}}], "ports": [{"protocol": "TCP", "port": MONGO_PORT}]},
        ],
    }


def init_network_policy_spec(stack: str, selector: Mapping[str, str]) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """The init step talks only to the members (and DNS)."""
    return {
        "pod_selector": {"match_labels": labels.selector(stack, "mongo-init", labels.MONGO_INIT_ROLE)},
        "policy_types": ["Ingress", "Egress"],
        "egress": [
            DNS_EGRESS,
            {"to": [{"pod_selector": {"match_labels": dict(selector)}}], "ports": [{"protocol": "TCP", "port": MONGO_PORT}]},
        ],
    }


BACKUP_ROLE = "mongo-backup"


def backup_cron_job_spec(
    *,
    image: str,
    client_image: str,
    schedule: str,
    hosts: list[str],
    credentials: pulumi.Input[str],
    client_env: Sequence[k8s.core.v1.EnvVarArgsDict],
    bucket: pulumi.Input[str],
    prefix: str,
    job_labels: Mapping[str, str],
    service_account: str | None = None,
) -> k8s.batch.v1.CronJobSpecArgsDict:
    """A dump of the replica set (init container) uploaded to the backups bucket (container), one at a time.
    `client_env` reaches the bucket (`MC_HOST_backup` and what goes with it); `service_account` is the
    identity the pods run as when the bucket admits that instead of a key."""
    restricted = pods.READ_ONLY_CONTAINER
    template_metadata: k8s.meta.v1.ObjectMetaArgsDict = {"labels": dict(job_labels)}
    pod = pods.pod_spec(
        user=MONGO_UID,
        service_account=service_account,
        init_containers=[
            {
                "name": "dump",
                "image": image,
                "command": ["sh", "-c", DUMP_SCRIPT],
                "env": [
                    pods.secret_env("MONGO_ROOT_USER", credentials, "root-username"),
                    pods.secret_env("MONGO_ROOT_PASSWORD", credentials, "root-password"),
                    {"name": "MONGO_URI", "value": dump_uri(hosts)},
                ],
                "security_context": restricted,
                "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                "volume_mounts": pods.dump_mounts("backup"),
            }
        ],
        containers=[
            {
                "name": "upload",
                "image": client_image,
                "command": ["sh", "-c", UPLOAD_SCRIPT],
                "env": [
                    *client_env,
                    {"name": "BACKUP_BUCKET", "value": bucket},
                    {"name": "BACKUP_PREFIX", "value": prefix},
                    {"name": "MC_CONFIG_DIR", "value": "/tmp/.mc"},
                    {"name": "HOME", "value": "/tmp"},
                ],
                "security_context": restricted,
                "resources": {"requests": {"cpu": "50m", "memory": "64Mi"}, "limits": {"cpu": "500m", "memory": "256Mi"}},
                "volume_mounts": pods.dump_mounts("backup", read_only=True),
            }
        ],
        volumes=pods.dump_volumes("backup"),
    )
    pod["restart_policy"] = "OnFailure"
    if service_account is not None:
        # Only the uploader holds the role's credentials, not the dump beside the root password.
        template_metadata["annotations"] = pod_identity_skip(["dump"])
    return {
        "schedule": schedule,
        "time_zone": "Etc/UTC",
        "concurrency_policy": "Forbid",
        "starting_deadline_seconds": 3600,
        "successful_jobs_history_limit": 3,
        "failed_jobs_history_limit": 3,
        "job_template": {
            "spec": {
                "backoff_limit": 2,
                "active_deadline_seconds": 3 * 3600,
                "template": {
                    "metadata": template_metadata,
                    "spec": pod,
                },
            }
        },
    }


def backup_network_policy_spec(
    stack: str, selector: Mapping[str, str], bucket_endpoints: Sequence[Endpoint]
) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """The backup job talks to the members (dump) and to the bucket (upload), nothing else."""
    return {
        "pod_selector": {"match_labels": labels.selector(stack, BACKUP_ROLE, BACKUP_ROLE)},
        "policy_types": ["Ingress", "Egress"],
        "egress": [
            DNS_EGRESS,
            {"to": [{"pod_selector": {"match_labels": dict(selector)}}], "ports": [{"protocol": "TCP", "port": MONGO_PORT}]},
            *[egress_to(endpoint) for endpoint in bucket_endpoints],
        ],
    }
