"""MongoDB for the apps: an in-cluster replica set, or an external URL.

Both implementations answer `connection(app)` with the app's MONGO_URL / MONGO_OPLOG_URL
(secrets), the NetworkPolicy egress rules that reach the database, and the resources an app
must wait for. The DigitalOcean managed database joins behind the same `MongoDatabase` protocol.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import quote

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import labels
from components.secrets import SecretValue

MONGO_PORT = 27017
REPLICA_SET = "rs0"
MONGO_UID = 999  # the `mongodb` user of the official image
_MONGO_POD_SECURITY: k8s.core.v1.PodSecurityContextArgsDict = {
    "run_as_non_root": True,
    "run_as_user": MONGO_UID,
    "run_as_group": MONGO_UID,
    "fs_group": MONGO_UID,
    "seccomp_profile": {"type": "RuntimeDefault"},
}


@dataclass(frozen=True)
class MongoConnection:
    """How one app reaches its database."""

    url: pulumi.Output[str]
    """MONGO_URL (secret): all members, replicaSet, authSource."""
    oplog_url: pulumi.Output[str] | None
    """MONGO_OPLOG_URL (secret), when the database offers the oplog."""
    egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict]
    """NetworkPolicy egress rules an app needs to reach the database."""
    ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """Resources to wait for before the app starts (users created, replica set initiated)."""


class MongoDatabase(Protocol):
    def connection(self, app: str) -> MongoConnection: ...


@dataclass(frozen=True)
class MongoAppUser:
    app: str
    """App name (one user per app)."""
    database: str
    """The app's own database; the user is defined there."""


@dataclass(frozen=True)
class InClusterMongoArgs:
    provider: k8s.Provider
    """Explicit Kubernetes provider."""
    stack: str
    """Stack name, for labels and the NetworkPolicy that admits this stack's apps."""
    users: list[MongoAppUser]
    """One database and user per app."""
    namespace: str = "meteor-mongo"
    members: int = 1
    """Replica set members: 1 (dev/staging) or 3 and more (HA)."""
    image: str = "mongo:7.0.16"
    storage_size: str = "10Gi"
    storage_class: str | None = None
    """Existing StorageClass (must reclaim with Retain); exclusive with storage_provisioner."""
    storage_provisioner: str | None = None
    """CSI provisioner for a StorageClass created here with reclaimPolicy Retain."""
    cpu: str = "500m"
    memory: str = "1Gi"
    cluster_domain: str = "cluster.local"
    protect: bool = False
    """Protect the data (StorageClass, StatefulSet, credentials) from destroy and replacement."""


INIT_SCRIPT = r"""
// Idempotent: initiate the replica set (or add missing members), then create or update one
// user per app. Safe to run again after any change.
const spec = JSON.parse(process.env.RS_SPEC);
function primaryUp() {
  for (let i = 0; i < 120; i++) {
    if (db.hello().isWritablePrimary) return;
    sleep(1000);
  }
  throw new Error("no primary after 120s");
}
let status = null;
try {
  status = rs.status();
} catch (e) {
  if (e.codeName !== "NotYetInitialized") throw e;
}
if (status === null) {
  rs.initiate({ _id: spec.replicaSet, members: spec.hosts.map((h, i) => ({ _id: i, host: h })) });
  print("replica set initiated");
}
primaryUp();
const known = rs.conf().members.map((m) => m.host);
for (const host of spec.hosts) {
  if (!known.includes(host)) { rs.add(host); print("added member " + host); }
}
for (const u of spec.users) {
  const target = db.getSiblingDB(u.database);
  const roles = [{ role: "readWrite", db: u.database }, { role: "read", db: "local" }];
  const pwd = process.env[u.passwordEnv];
  if (target.getUser(u.user)) {
    target.updateUser(u.user, { pwd: pwd, roles: roles });
    print("updated user " + u.user);
  } else {
    target.createUser({ user: u.user, pwd: pwd, roles: roles });
    print("created user " + u.user);
  }
}
"""


def password_env(app: str) -> str:
    """The variable the init step reads an app user's password from."""
    return "APP_PASSWORD_" + app.upper().replace("-", "_")


def init_spec(hosts: list[str], users: list[MongoAppUser]) -> str:
    """What INIT_SCRIPT sets up (RS_SPEC): the members and one user per app."""
    spec = {
        "replicaSet": REPLICA_SET,
        "hosts": hosts,
        "users": [{"user": u.app, "database": u.database, "passwordEnv": password_env(u.app)} for u in users],
    }
    return json.dumps(spec, sort_keys=True)


def replica_set_urls(user: MongoAppUser, password: pulumi.Output[str], hosts: list[str]) -> tuple[pulumi.Output[str], pulumi.Output[str]]:
    """MONGO_URL and MONGO_OPLOG_URL (secrets) of an app user on a replica set the platform runs."""
    members = ",".join(hosts)
    params = f"replicaSet={REPLICA_SET}&authSource={user.database}"
    credentials = pulumi.Output.secret(password).apply(lambda pw: f"{quote(user.app, safe='')}:{quote(pw, safe='')}")
    url = credentials.apply(lambda c: f"mongodb://{c}@{members}/{user.database}?{params}")
    oplog = credentials.apply(lambda c: f"mongodb://{c}@{members}/local?{params}")
    return url, oplog


class InClusterMongo(pulumi.ComponentResource):
    """A MongoDB replica set as a StatefulSet, with keyfile auth and one user per app."""

    namespace: k8s.core.v1.Namespace
    stateful_set: k8s.apps.v1.StatefulSet
    init_job: k8s.batch.v1.Job
    root_password: random.RandomPassword
    hosts: list[str]

    def __init__(
        self,
        name: str,
        args: InClusterMongoArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__("meteor-platform:mongo:InClusterMongo", name, None, opts)
        self._args = args
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        keep = pulumi.ResourceOptions(protect=args.protect, retain_on_delete=args.protect)
        secret_opts = pulumi.ResourceOptions(parent=self, protect=args.protect)
        ns = args.namespace
        sts_name = "mongo"
        service_name = "mongo"
        pod_labels = labels.common(args.stack, "mongo", labels.MONGO_ROLE)
        pod_selector = labels.selector(args.stack, "mongo", labels.MONGO_ROLE)
        self.hosts = [f"{sts_name}-{i}.{service_name}.{ns}.svc.{args.cluster_domain}:{MONGO_PORT}" for i in range(args.members)]

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": ns,
                "labels": labels.namespace_labels(args.stack, "restricted"),
            },
            opts=pulumi.ResourceOptions.merge(k8s_opts, keep),
        )
        meta: k8s.meta.v1.ObjectMetaArgsDict = {
            "namespace": self.namespace.metadata.name,
            "labels": pod_labels,
        }

        # Credentials generated at deploy time; replacing them would lock the apps out of existing data.
        self.root_password = random.RandomPassword(f"{name}-root-password", length=32, special=False, opts=secret_opts)
        keyfile = random.RandomPassword(f"{name}-keyfile", length=756, special=False, opts=secret_opts)
        self._app_passwords = {
            u.app: random.RandomPassword(f"{name}-{u.app}-password", length=32, special=False, opts=secret_opts) for u in args.users
        }
        credentials = k8s.core.v1.Secret(
            f"{name}-credentials",
            metadata=meta,
            type="Opaque",
            string_data={
                "root-username": "root",
                "root-password": self.root_password.result,
                "keyfile": keyfile.result,
                **{password_env(app): pw.result for app, pw in self._app_passwords.items()},
            },
            opts=k8s_opts,
        )
        credentials_name = credentials.metadata.name

        storage_class: pulumi.Input[str]
        if args.storage_class:
            storage_class = args.storage_class
        else:
            storage_class = k8s.storage.v1.StorageClass(
                f"{name}-storage",
                metadata={"labels": pod_labels},
                provisioner=args.storage_provisioner or "",
                reclaim_policy="Retain",
                volume_binding_mode="WaitForFirstConsumer",
                allow_volume_expansion=True,
                opts=pulumi.ResourceOptions.merge(k8s_opts, keep),
            ).metadata.name

        service = k8s.core.v1.Service(
            f"{name}-headless",
            metadata={
                "name": service_name,
                "namespace": self.namespace.metadata.name,
                "labels": pod_labels,
            },
            spec={
                "cluster_ip": "None",
                # Members must resolve each other before they are ready, or initiation deadlocks.
                "publish_not_ready_addresses": True,
                "selector": pod_selector,
                "ports": [{"name": "mongo", "port": MONGO_PORT, "target_port": "mongo"}],
            },
            opts=k8s_opts,
        )

        ping: list[str] = ["mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]
        sts_spec: k8s.apps.v1.StatefulSetSpecArgsDict = {
            "service_name": service.metadata.name,
            "replicas": args.members,
            "pod_management_policy": "OrderedReady",
            "selector": {"match_labels": pod_selector},
            "update_strategy": {"type": "RollingUpdate"},
            "persistent_volume_claim_retention_policy": {
                "when_deleted": "Retain",
                "when_scaled": "Retain",
            },
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "automount_service_account_token": False,
                    "termination_grace_period_seconds": 30,
                    "security_context": _MONGO_POD_SECURITY,
                    "affinity": _spread(pod_selector, required=args.members > 1),
                    "init_containers": [
                        {
                            # mongod refuses a keyfile readable by others; Secret volumes are group-readable.
                            "name": "keyfile",
                            "image": args.image,
                            "command": [
                                "sh",
                                "-c",
                                "cp /keyfile-src/keyfile /keyfile/keyfile && chmod 0400 /keyfile/keyfile",
                            ],
                            "security_context": labels.RESTRICTED_CONTAINER,
                            "resources": {
                                "requests": {"cpu": "10m", "memory": "16Mi"},
                                "limits": {"memory": "64Mi"},
                            },
                            "volume_mounts": [
                                {
                                    "name": "keyfile-src",
                                    "mount_path": "/keyfile-src",
                                    "read_only": True,
                                },
                                {"name": "keyfile", "mount_path": "/keyfile"},
                            ],
                        }
                    ],
                    "containers": [
                        {
                            "name": "mongod",
                            "image": args.image,
                            "args": [
                                "--replSet",
                                REPLICA_SET,
                                "--bind_ip_all",
                                "--keyFile",
                                "/keyfile/keyfile",
                                "--auth",
                            ],
                            "ports": [{"name": "mongo", "container_port": MONGO_PORT}],
                            "env": [
                                labels.secret_env("MONGO_INITDB_ROOT_USERNAME", credentials_name, "root-username"),
                                labels.secret_env("MONGO_INITDB_ROOT_PASSWORD", credentials_name, "root-password"),
                            ],
                            "security_context": labels.RESTRICTED_CONTAINER,
                            "resources": {
                                "requests": {"cpu": args.cpu, "memory": args.memory},
                                "limits": {"memory": args.memory},
                            },
                            "startup_probe": {
                                "exec_": {"command": ping},
                                "period_seconds": 5,
                                "failure_threshold": 60,
                                "timeout_seconds": 5,
                            },
                            "readiness_probe": {
                                "exec_": {"command": ping},
                                "period_seconds": 10,
                                "timeout_seconds": 5,
                            },
                            "liveness_probe": {
                                "exec_": {"command": ping},
                                "period_seconds": 20,
                                "timeout_seconds": 10,
                                "failure_threshold": 6,
                            },
                            "volume_mounts": [
                                {"name": "data", "mount_path": "/data/db"},
                                {
                                    "name": "keyfile",
                                    "mount_path": "/keyfile",
                                    "read_only": True,
                                },
                                {"name": "tmp", "mount_path": "/tmp"},
                            ],
                        }
                    ],
                    "volumes": [
                        {
                            "name": "keyfile-src",
                            "secret": {
                                "secret_name": credentials_name,
                                "items": [{"key": "keyfile", "path": "keyfile"}],
                                "default_mode": 0o440,
                            },
                        },
                        {
                            "name": "keyfile",
                            "empty_dir": {"medium": "Memory", "size_limit": "1Mi"},
                        },
                        {"name": "tmp", "empty_dir": {"size_limit": "256Mi"}},
                    ],
                },
            },
            "volume_claim_templates": [
                {
                    "metadata": {"name": "data", "labels": pod_labels},
                    "spec": {
                        "access_modes": ["ReadWriteOnce"],
                        "storage_class_name": storage_class,
                        "resources": {"requests": {"storage": args.storage_size}},
                    },
                }
            ],
        }
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={
                "name": sts_name,
                "namespace": self.namespace.metadata.name,
                "labels": pod_labels,
            },
            spec=sts_spec,
            opts=pulumi.ResourceOptions.merge(k8s_opts, keep),
        )

        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={
                # With 3 members one may go, keeping a majority; with 1 member a drain may proceed.
                "max_unavailable": 1,
                "selector": {"match_labels": pod_selector},
            },
            opts=k8s_opts,
        )

        init_labels = labels.common(args.stack, "mongo-init", labels.MONGO_INIT_ROLE)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=meta,
            spec={
                "pod_selector": {"match_labels": pod_selector},
                "policy_types": ["Ingress", "Egress"],
                "ingress": [
                    {
                        "from_": [
                            labels.platform_apps_peer(args.stack),
                            {"pod_selector": {"match_labels": pod_selector}},
                            {"pod_selector": {"match_labels": labels.selector(args.stack, "mongo-init", labels.MONGO_INIT_ROLE)}},
                        ],
                        "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
                    }
                ],
                "egress": [
                    labels.DNS_EGRESS,
                    {
                        "to": [{"pod_selector": {"match_labels": pod_selector}}],
                        "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
                    },
                ],
            },
            opts=k8s_opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-init-network-policy",
            metadata=meta,
            spec={
                "pod_selector": {"match_labels": labels.selector(args.stack, "mongo-init", labels.MONGO_INIT_ROLE)},
                "policy_types": ["Ingress", "Egress"],
                "egress": [
                    labels.DNS_EGRESS,
                    {
                        "to": [{"pod_selector": {"match_labels": pod_selector}}],
                        "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
                    },
                ],
            },
            opts=k8s_opts,
        )

        script = k8s.core.v1.ConfigMap(
            f"{name}-init-script",
            metadata=meta,
            data={
                "init.js": INIT_SCRIPT.lstrip(),
                "spec.json": init_spec(self.hosts, args.users),
            },
            opts=k8s_opts,
        )
        # A Job is immutable: any change to the script, members or users replaces it, so the
        # idempotent step runs again. Pulumi waits for it to complete.
        self.init_job = k8s.batch.v1.Job(
            f"{name}-init",
            metadata={"namespace": self.namespace.metadata.name, "labels": init_labels},
            spec={
                "backoff_limit": 10,
                "active_deadline_seconds": 900,
                "template": {
                    "metadata": {"labels": init_labels},
                    "spec": {
                        "restart_policy": "OnFailure",
                        "automount_service_account_token": False,
                        "security_context": _MONGO_POD_SECURITY,
                        "containers": [
                            {
                                "name": "init",
                                "image": args.image,
                                "command": [
                                    "sh",
                                    "-c",
                                    'exec mongosh --quiet "mongodb://$MONGO_ROOT_USER:$MONGO_ROOT_PASSWORD@'
                                    + self.hosts[0]
                                    + '/admin?directConnection=true&authSource=admin" /scripts/init.js',
                                ],
                                "env": [
                                    labels.secret_env("MONGO_ROOT_USER", credentials_name, "root-username"),
                                    labels.secret_env("MONGO_ROOT_PASSWORD", credentials_name, "root-password"),
                                    {
                                        "name": "RS_SPEC",
                                        "value_from": {
                                            "config_map_key_ref": {
                                                "name": script.metadata.name,
                                                "key": "spec.json",
                                            }
                                        },
                                    },
                                    *[labels.secret_env(password_env(u.app), credentials_name, password_env(u.app)) for u in args.users],
                                ],
                                "security_context": labels.RESTRICTED_CONTAINER,
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "128Mi"},
                                    "limits": {"memory": "256Mi"},
                                },
                                "volume_mounts": [
                                    {
                                        "name": "scripts",
                                        "mount_path": "/scripts",
                                        "read_only": True,
                                    },
                                    {"name": "home", "mount_path": "/home/mongodb"},
                                ],
                            }
                        ],
                        "volumes": [
                            {
                                "name": "scripts",
                                "config_map": {"name": script.metadata.name},
                            },
                            {"name": "home", "empty_dir": {"size_limit": "64Mi"}},
                        ],
                    },
                },
            },
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.stateful_set])),
        )
        self.register_outputs({"hosts": self.hosts, "namespace": ns})

    def connection(self, app: str) -> MongoConnection:
        user = next(u for u in self._args.users if u.app == app)
        url, oplog = replica_set_urls(user, self._app_passwords[app].result, self.hosts)
        egress: k8s.networking.v1.NetworkPolicyEgressRuleArgsDict = {
            "to": [
                {
                    **labels.namespace_peer(self._args.namespace),
                    "pod_selector": {"match_labels": labels.selector(self._args.stack, "mongo", labels.MONGO_ROLE)},
                }
            ],
            "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
        }
        return MongoConnection(url=url, oplog_url=oplog, egress=[egress], ready=[self.init_job])


def _spread(selector: dict[str, str], *, required: bool) -> k8s.core.v1.AffinityArgsDict:
    by_host: k8s.core.v1.PodAffinityTermArgsDict = {
        "label_selector": {"match_labels": selector},
        "topology_key": "kubernetes.io/hostname",
    }
    by_zone: k8s.core.v1.WeightedPodAffinityTermArgsDict = {
        "weight": 50,
        "pod_affinity_term": {
            "label_selector": {"match_labels": selector},
            "topology_key": "topology.kubernetes.io/zone",
        },
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
            "preferred_during_scheduling_ignored_during_execution": [
                {"weight": 100, "pod_affinity_term": by_host},
                by_zone,
            ]
        }
    }


@dataclass(frozen=True)
class ExternalMongoArgs:
    url: SecretValue
    """MONGO_URL for every app (secret)."""
    oplog_url: SecretValue | None = None
    """MONGO_OPLOG_URL (secret), if the service offers it."""


class ExternalMongo:
    """A MongoDB the platform does not manage: every app gets the URL it was given."""

    def __init__(self, args: ExternalMongoArgs) -> None:
        self._args = args

    def connection(self, app: str) -> MongoConnection:
        # The address is outside the cluster and unknown here: allow the MongoDB port anywhere.
        egress: k8s.networking.v1.NetworkPolicyEgressRuleArgsDict = {
            "to": [{"ip_block": {"cidr": "0.0.0.0/0"}}],
            "ports": [{"protocol": "TCP", "port": MONGO_PORT}],
        }
        oplog = self._args.oplog_url.output() if self._args.oplog_url else None
        return MongoConnection(url=self._args.url.output(), oplog_url=oplog, egress=[egress])
