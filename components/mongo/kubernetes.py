"""A MongoDB replica set as a Kubernetes StatefulSet, with keyfile auth and one user per app.

The Kubernetes provider reaches every child through the component's `providers` option.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components import versions
from components.aws import SNAPSHOT_TAG
from components.endpoints import Endpoint, Pods
from components.kubernetes import labels, pods
from components.mongo import MONGO_PORT, MongoAppUser, MongoConnection
from components.mongo.kubernetes_specs import (
    BACKUP_ROLE,
    backup_cron_job_spec,
    backup_network_policy_spec,
    credentials_data,
    disruption_budget_spec,
    headless_service_spec,
    init_job_spec,
    init_network_policy_spec,
    member_hosts,
    mongo_network_policy_spec,
    stateful_set_spec,
)
from components.mongo.replica_set import INIT_SCRIPT, dump_uri, init_spec, replica_set_urls
from components.mongo.restore import kubernetes_restore_command, restore_job
from components.protection import stateful
from components.storage import BackupTarget, backup_service_account

# StorageClass parameters per CSI driver: on AWS, encrypted gp3 volumes (aws-ebs-csi-driver parameters).
PROVISIONER_PARAMETERS: dict[str, dict[str, str]] = {
    "ebs.csi.aws.com": {"type": "gp3", "encrypted": "true", "csi.storage.k8s.io/fstype": "ext4"},
}


def storage_class_parameters(provisioner: str, stack: str) -> dict[str, str] | None:
    """The StorageClass parameters for `provisioner`. EBS volumes also carry SNAPSHOT_TAG (the stack), so
    the stack's scheduled snapshots find them: a parameter named `tagSpecification*` is a `key=value` tag
    on every volume the class provisions (kubernetes-sigs/aws-ebs-csi-driver docs/tagging.md,
    "StorageClass Tagging"). The tag is there whether snapshots are on or not (`aws.snapshots`): turning
    them on or off never touches the class (its parameters are replace-only, see InClusterMongo)."""
    parameters = PROVISIONER_PARAMETERS.get(provisioner)
    if provisioner == "ebs.csi.aws.com" and parameters is not None:
        return {**parameters, "tagSpecification_1": f"{SNAPSHOT_TAG}={stack}"}
    return parameters


@dataclass(frozen=True)
class InClusterMongoArgs:
    stack: str
    """Stack name, for labels and the NetworkPolicy that admits this stack's apps."""
    users: list[MongoAppUser]
    """One database and user per app."""
    namespace: str = "meteor-mongo"
    members: int = 1
    """Replica set members: 1 (dev/staging) or 3 and more (HA)."""
    image: str = versions.mongo_image(versions.MONGO_VERSION)
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
    backup: BackupTarget | None = None
    """Where scheduled dumps go; no dumps when None."""
    backup_schedule: str = "17 3 * * *"
    client_image: str = versions.MINIO_CLIENT_IMAGE
    """The S3 client that uploads dumps."""


class InClusterMongo(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    stateful_set: k8s.apps.v1.StatefulSet
    init_job: k8s.batch.v1.Job
    root_password: random.RandomPassword
    hosts: list[str]
    restore_command: pulumi.Output[str] | None = None
    """The script that restores `$DUMP` from the backups bucket (README: Backups and restore); None without backups."""

    def __init__(self, name: str, args: InClusterMongoArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:mongo:InClusterMongo", name, None, opts)
        self._args = args
        child = pulumi.ResourceOptions(parent=self)
        keep = pulumi.ResourceOptions.merge(child, stateful(args.protect))
        pod_labels = labels.common(args.stack, "mongo", labels.MONGO_ROLE)
        self._selector = labels.selector(args.stack, "mongo", labels.MONGO_ROLE)
        self.hosts = member_hosts(args.members, args.namespace, args.cluster_domain)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={"name": args.namespace, "labels": labels.namespace_labels(args.stack, "restricted")},
            opts=keep,
        )
        ns = self.namespace.metadata.name
        meta: k8s.meta.v1.ObjectMetaArgsDict = {"namespace": ns, "labels": pod_labels}
        credentials = self._credentials(name, meta)
        storage_class = args.storage_class or self._storage_class(name, pod_labels, keep)
        service = k8s.core.v1.Service(
            f"{name}-headless",
            metadata={"name": "mongo", "namespace": ns, "labels": pod_labels},
            spec=headless_service_spec(self._selector),
            opts=child,
        )
        self.stateful_set = k8s.apps.v1.StatefulSet(
            f"{name}-statefulset",
            metadata={"name": "mongo", "namespace": ns, "labels": pod_labels},
            spec=stateful_set_spec(
                image=args.image,
                members=args.members,
                service_name=service.metadata.name,
                credentials=credentials,
                storage_class=storage_class,
                storage_size=args.storage_size,
                cpu=args.cpu,
                memory=args.memory,
                pod_labels=pod_labels,
                selector=self._selector,
            ),
            opts=keep,
        )
        k8s.policy.v1.PodDisruptionBudget(f"{name}-pdb", metadata=meta, spec=disruption_budget_spec(self._selector), opts=child)
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy", metadata=meta, spec=mongo_network_policy_spec(args.stack, self._selector), opts=child
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-init-network-policy", metadata=meta, spec=init_network_policy_spec(args.stack, self._selector), opts=child
        )
        self.init_job = self._init(name, meta, credentials)
        self.backup_job = self._backups(name, args, meta, ns, credentials) if args.backup is not None else None
        self.register_outputs({"hosts": self.hosts, "namespace": args.namespace})

    def _credentials(self, name: str, meta: k8s.meta.v1.ObjectMetaArgsDict) -> pulumi.Output[str]:
        """Generated at deploy time; replacing them would lock the apps out of existing data. The Secret's name."""
        secret_opts = pulumi.ResourceOptions(parent=self, protect=self._args.protect)
        self.root_password = random.RandomPassword(f"{name}-root-password", length=32, special=False, opts=secret_opts)
        keyfile = random.RandomPassword(f"{name}-keyfile", length=756, special=False, opts=secret_opts)
        self._app_passwords = {
            u.app: random.RandomPassword(f"{name}-{u.app}-password", length=32, special=False, opts=secret_opts) for u in self._args.users
        }
        data = credentials_data(self.root_password.result, keyfile.result, {app: pw.result for app, pw in self._app_passwords.items()})
        secret = k8s.core.v1.Secret(
            f"{name}-credentials", metadata=meta, type="Opaque", string_data=data, opts=pulumi.ResourceOptions(parent=self)
        )
        return secret.metadata.name

    def _storage_class(self, name: str, pod_labels: dict[str, str], keep: pulumi.ResourceOptions) -> pulumi.Output[str]:
        provisioner = self._args.storage_provisioner or ""
        return k8s.storage.v1.StorageClass(
            f"{name}-storage",
            metadata={"labels": pod_labels},
            provisioner=provisioner,
            parameters=storage_class_parameters(provisioner, self._args.stack),
            reclaim_policy="Retain",
            volume_binding_mode="WaitForFirstConsumer",
            allow_volume_expansion=True,
            # pulumi-kubernetes replaces a StorageClass whose `parameters` change (provider/pkg/provider/
            # diff.go; offline_plan/provider_facts.yaml), and the auto-named replacement changes the
            # StatefulSet's replace-only volumeClaimTemplates: MongoDB deleted first. The engine ignores
            # listed properties "for purposes of updates or replacements" (pulumi ResourceOptions
            # ignore_changes), so a class deployed before SNAPSHOT_TAG keeps its parameters (README:
            # tag its volumes by hand), and no later parameter change can replace MongoDB.
            opts=pulumi.ResourceOptions.merge(keep, pulumi.ResourceOptions(ignore_changes=["parameters"])),
        ).metadata.name

    def _init(self, name: str, meta: k8s.meta.v1.ObjectMetaArgsDict, credentials: pulumi.Input[str]) -> k8s.batch.v1.Job:
        """A Job is immutable: any change to the script, members or users replaces it, so the idempotent
        step runs again. Pulumi waits for it to complete."""
        args = self._args
        script = k8s.core.v1.ConfigMap(
            f"{name}-init-script",
            metadata=meta,
            data={"init.js": INIT_SCRIPT.lstrip(), "spec.json": init_spec(self.hosts, args.users)},
            opts=pulumi.ResourceOptions(parent=self),
        )
        init_labels = labels.common(args.stack, "mongo-init", labels.MONGO_INIT_ROLE)
        return k8s.batch.v1.Job(
            f"{name}-init",
            metadata={"namespace": meta.get("namespace"), "labels": init_labels},
            spec=init_job_spec(
                image=args.image,
                first_host=self.hosts[0],
                credentials=credentials,
                script=script.metadata.name,
                users=args.users,
                job_labels=init_labels,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.stateful_set]),
        )

    def _backups(
        self,
        name: str,
        args: InClusterMongoArgs,
        meta: k8s.meta.v1.ObjectMetaArgsDict,
        namespace: pulumi.Input[str],
        credentials: pulumi.Input[str],
    ) -> k8s.batch.v1.CronJob:
        """The scheduled dump to the backups bucket, under its own NetworkPolicy (and identity), and the
        restore command that runs the same way."""
        assert args.backup is not None
        backup = args.backup
        child = pulumi.ResourceOptions(parent=self)
        client_env = self._bucket_access(name, backup, meta)
        identity = backup_service_account(backup)
        if identity is not None:
            k8s.core.v1.ServiceAccount(
                f"{name}-backup-identity",
                metadata={"name": identity, "namespace": namespace, "labels": meta.get("labels", {})},
                automount_service_account_token=False,
                opts=child,
            )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-backup-network-policy",
            metadata=meta,
            spec=backup_network_policy_spec(args.stack, self._selector, backup.endpoints),
            opts=child,
        )
        self.restore_command = self._restore_command(backup, namespace, credentials, client_env)
        job_labels = labels.common(args.stack, BACKUP_ROLE, BACKUP_ROLE)
        return k8s.batch.v1.CronJob(
            f"{name}-backup",
            metadata={"namespace": namespace, "labels": job_labels},
            spec=backup_cron_job_spec(
                image=args.image,
                client_image=args.client_image,
                schedule=args.backup_schedule,
                hosts=self.hosts,
                credentials=credentials,
                client_env=client_env,
                bucket=backup.bucket,
                prefix=backup.prefix,
                job_labels=job_labels,
                service_account=identity,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.init_job]),
        )

    def _bucket_access(self, name: str, backup: BackupTarget, meta: k8s.meta.v1.ObjectMetaArgsDict) -> list[k8s.core.v1.EnvVarArgsDict]:
        """The MinIO client's environment: the bucket's endpoint with its key from a Secret, or without a
        key the endpoint alone (the pods' identity signs, BackupTarget.client_env)."""
        plain_env: list[k8s.core.v1.EnvVarArgsDict] = [{"name": k, "value": v} for k, v in backup.client_env().items()]
        if not backup.has_key:
            return [{"name": "MC_HOST_backup", "value": backup.mc_host()}, *plain_env]
        secret = k8s.core.v1.Secret(
            f"{name}-backup",
            metadata=meta,
            type="Opaque",
            string_data={"mc-host": backup.mc_host()},
            opts=pulumi.ResourceOptions(parent=self),
        )
        return [pods.secret_env("MC_HOST_backup", secret.metadata.name, "mc-host"), *plain_env]

    def _restore_command(
        self,
        backup: BackupTarget,
        namespace: pulumi.Input[str],
        credentials: pulumi.Input[str],
        client_env: list[k8s.core.v1.EnvVarArgsDict],
    ) -> pulumi.Output[str]:
        """The restore Job is created by kubectl, not Pulumi: no managed-by label; the selector labels keep
        it inside the backup NetworkPolicies."""
        args = self._args
        restore_labels = {**labels.selector(args.stack, BACKUP_ROLE, BACKUP_ROLE), "app.kubernetes.io/part-of": labels.PART_OF}
        return pulumi.Output.all(namespace, credentials, pulumi.Output.from_input(client_env), backup.bucket).apply(
            lambda v: kubernetes_restore_command(
                restore_job(
                    namespace=str(v[0]),
                    image=args.image,
                    client_image=args.client_image,
                    mongo_uri=dump_uri(self.hosts),
                    credentials=str(v[1]),
                    client_env=v[2],
                    bucket=str(v[3]),
                    prefix=backup.prefix,
                    job_labels=restore_labels,
                    service_account=backup_service_account(backup),
                )
            )
        )

    def connection(self, app: str) -> MongoConnection:
        user = next(u for u in self._args.users if u.app == app)
        url, oplog = replica_set_urls(user, self._app_passwords[app].result, self.hosts)
        endpoint = Endpoint(port=MONGO_PORT, hosts=tuple(self.hosts), pods=Pods(namespace=self._args.namespace, labels=self._selector))
        return MongoConnection(url=url, oplog_url=oplog, endpoints=[endpoint], ready=[self.init_job])
