"""One Meteor service on Kubernetes, run to the MeteorD contract (specs in `kubernetes_specs`).

Versions N-1 and N run side by side during every rollout. The Kubernetes provider reaches every
child through the component's `providers` option.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.app import Sibling
from components.app.environment import build_app_environment, public_url
from components.app.kubernetes_specs import (
    REPLACE_UNREADY,
    autoscaler_spec,
    body_limit_name,
    body_limit_spec,
    canary_instances,
    container_spec,
    deployment_spec,
    ingress_annotations,
    migration_await_seconds,
    migration_job_spec,
    migration_network_policy_spec,
    network_policy_spec,
    sticky_service_annotations,
)
from components.config import KubernetesAppConfig
from components.config.apps import MigrationConfig
from components.config.ingress import KubernetesIngressConfig
from components.endpoints import Endpoint, Pods
from components.images import AppImage
from components.kubernetes import labels
from components.mongo import MongoConnection
from components.storage import StorageWiring, pod_service_account


def internal_url(app: KubernetesAppConfig) -> str:
    """How other workloads in the cluster reach the app (its Service)."""
    return f"http://{app.name}.{app.k8s_namespace}.svc:{app.container_port}"


@dataclass(frozen=True)
class KubernetesSibling(Sibling):
    pods: tuple[Pods, ...] = ()
    """The pods serving it (its Deployments), for NetworkPolicy rules."""


def migration_component(app: KubernetesAppConfig, *, canary: bool) -> str:
    """The name a migration's pods carry in labels and selectors (the NetworkPolicies select on it)."""
    return f"{app.name}-canary-migrate" if canary else f"{app.name}-migrate"


@dataclass(frozen=True)
class MeteorAppArgs:
    app: KubernetesAppConfig
    """The app's validated config."""
    stack: str
    """Stack name (labels, NetworkPolicy peers)."""
    mongo: MongoConnection
    """The app's database."""
    storage: StorageWiring
    """The app's file storage."""
    ingress: KubernetesIngressConfig
    """How the app is exposed when it has a domain."""
    image: AppImage
    """The image the app runs (built, prebuilt or promoted)."""
    siblings: list[KubernetesSibling] = field(default_factory=lambda: [])
    """The apps this one calls (`connectsTo`): their DDP URLs, egress to their pods."""
    callers: list[Pods] = field(default_factory=lambda: [])
    """The pods of the apps that call this one: the only apps its NetworkPolicy admits."""
    """The other apps of the stack (DDP URLs, egress to them)."""
    image_pull_secret: pulumi.Output[str] | None = None
    """A .dockerconfigjson (secret) for a private registry."""
    ingress_ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """What the Ingress waits for (the ingress controller that gives it an address, the ClusterIssuer)."""
    autoscaling_ready: list[pulumi.Resource] = field(default_factory=lambda: [])
    """What the HorizontalPodAutoscaler waits for (metrics-server)."""


@dataclass(frozen=True)
class MigrationJob:
    """One migration: the app's container running `migrate.command` with `component`'s labels."""

    app: KubernetesAppConfig
    stack: str
    component: str
    """Its name in labels and selectors (`<app>-migrate`, `<app>-canary-migrate`)."""
    container: k8s.core.v1.ContainerArgsDict
    migrate: MigrationConfig
    endpoints: list[Endpoint]
    pull_secrets: list[pulumi.Input[str]]
    service_account: str | None


class MeteorApp(pulumi.ComponentResource):
    """Namespace, Secret, Deployment, Service, Ingress, HPA, PDB and NetworkPolicy of one app;
    with a canary a second Deployment behind the same Service, with a migration a Job before both
    (and the canary's own before the canary), each Job under a NetworkPolicy of its own."""

    namespace: k8s.core.v1.Namespace
    secret: k8s.core.v1.Secret
    deployment: k8s.apps.v1.Deployment
    canary: k8s.apps.v1.Deployment | None
    migration: k8s.batch.v1.Job | None
    canary_migration: k8s.batch.v1.Job | None
    service: k8s.core.v1.Service
    ingress: k8s.networking.v1.Ingress | None
    body_limit: k8s.apiextensions.CustomResource | None
    """The Buffering Middleware of the app's router (Traefik, `ingress.maxBodySize` set)."""
    autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler | None
    url: pulumi.Output[str]
    internal_url: str

    def __init__(self, name: str, args: MeteorAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:app:MeteorApp", name, None, opts)
        app = args.app
        child = pulumi.ResourceOptions(parent=self)
        pod_labels = labels.common(args.stack, app.name, labels.APP_ROLE)
        selector = labels.selector(args.stack, app.name, labels.APP_ROLE)
        tls = args.ingress.serves_tls
        self.internal_url = internal_url(app)
        self.url = pulumi.Output.from_input(public_url(app.domain, tls) if app.domain else self.internal_url)
        environment = build_app_environment(
            app,
            root_url=public_url(app.domain, tls) if app.domain else self.internal_url,
            endpoint_url=f"http://$(POD_IP):{app.container_port}",
            mongo=args.mongo,
            storage=args.storage,
            siblings=args.siblings,
        )

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": app.k8s_namespace,
                "labels": labels.namespace_labels(args.stack, "restricted" if app.user_id is not None else "baseline"),
            },
            opts=child,
        )
        # The namespace's name is known (it is given, not generated): objects in it name it as a plain
        # string and depend on the Namespace resource, which saves an Output lookup per object.
        namespace = app.k8s_namespace
        in_namespace = [self.namespace]
        child = pulumi.ResourceOptions(parent=self, depends_on=in_namespace)
        meta: k8s.meta.v1.ObjectMetaArgsDict = {"namespace": namespace, "labels": pod_labels}
        # Auto-named: a changed secret gets a new name, which rolls the pods onto it.
        self.secret = k8s.core.v1.Secret(f"{name}-env", metadata=meta, type="Opaque", string_data=dict(environment.secret), opts=child)
        pull_secrets: list[pulumi.Input[str]] = []
        if args.image_pull_secret is not None:
            pull = k8s.core.v1.Secret(
                f"{name}-pull",
                metadata=meta,
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": args.image_pull_secret},
                opts=child,
            )
            pull_secrets.append(pull.metadata.name)

        identity = pod_service_account(args.storage)
        if identity is not None:
            k8s.core.v1.ServiceAccount(
                f"{name}-identity",
                metadata={"name": identity, "namespace": namespace, "labels": pod_labels},
                automount_service_account_token=False,
                opts=child,
            )

        def container(image: pulumi.Input[str]) -> k8s.core.v1.ContainerArgsDict:
            return container_spec(
                app, image=image, plain_env=environment.plain, secret_env=list(environment.secret), secret_name=self.secret.metadata.name
            )

        # What the app's pods reach; a migration's pods reach the same, and nothing else.
        endpoints = [
            *args.mongo.endpoints,
            *args.storage.endpoints,
            *(Endpoint(port=s.port, pods=pods) for s in args.siblings for pods in s.pods),
        ]

        def migration(
            job_name: str, component: str, image: pulumi.Input[str], migrate: MigrationConfig, waits_for: list[pulumi.Resource]
        ) -> k8s.batch.v1.Job:
            return self._migration(
                job_name,
                MigrationJob(
                    app=app,
                    stack=args.stack,
                    component=component,
                    container=container(image),
                    migrate=migrate,
                    endpoints=endpoints,
                    pull_secrets=pull_secrets,
                    service_account=identity,
                ),
                after=[*in_namespace, *args.mongo.ready, *args.image.ready, *args.storage.ready, *waits_for],
            )

        # Before the app rolls: the migration, once per image (a new image replaces the Job, which runs it).
        self.migration = None
        if app.migrate is not None:
            self.migration = migration(f"{name}-migrate", migration_component(app, canary=False), args.image.ref, app.migrate, waits_for=[])
        rollout_after: list[pulumi.Resource] = [
            *in_namespace,
            *args.mongo.ready,
            *args.image.ready,
            *args.storage.ready,
            *([self.migration] if self.migration else []),
        ]

        canary_count = canary_instances(app.replicas, app.canary.share) if app.canary else 0
        serving = selector
        if app.canary is not None:
            # Both versions carry the app label; the Service (and PDB, NetworkPolicy) select on it.
            # The stable Deployment keeps its (immutable) selector: the canary's pods have another name.
            pod_labels = {**pod_labels, labels.APP_LABEL: app.name}
            serving = {labels.STACK_LABEL: args.stack, labels.ROLE_LABEL: labels.APP_ROLE, labels.APP_LABEL: app.name}
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": app.name, "namespace": namespace, "labels": pod_labels},
            spec=deployment_spec(
                app,
                container=container(args.image.ref),
                pod_labels=pod_labels,
                selector=selector,
                pull_secrets=pull_secrets,
                replicas=app.replicas - canary_count if app.canary and app.autoscaling is None else None,
                service_account=identity,
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=rollout_after),
        )
        self.canary = self.canary_migration = None
        if app.canary is not None:
            canary_name = f"{app.name}-canary"
            if app.canary.migrate is not None:
                # The next version's migration, with its image, before any canary pod starts; after the
                # stable one, so two migrations never run on the same database at once.
                self.canary_migration = migration(
                    f"{name}-canary-migrate",
                    migration_component(app, canary=True),
                    app.canary.image,
                    app.canary.migrate,
                    waits_for=[self.migration] if self.migration else [],
                )
            canary_labels = {
                **labels.common(args.stack, canary_name, labels.APP_ROLE),
                labels.APP_LABEL: app.name,
                labels.TRACK_LABEL: "canary",
            }
            self.canary = k8s.apps.v1.Deployment(
                f"{name}-canary",
                metadata={"name": canary_name, "namespace": namespace, "labels": canary_labels},
                spec=deployment_spec(
                    app,
                    container=container(app.canary.image),
                    pod_labels=canary_labels,
                    selector=labels.selector(args.stack, canary_name, labels.APP_ROLE),
                    pull_secrets=pull_secrets,
                    replicas=canary_count,
                    service_account=identity,
                ),
                opts=pulumi.ResourceOptions(
                    parent=self, depends_on=[*rollout_after, *([self.canary_migration] if self.canary_migration else [])]
                ),
            )
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={
                "name": app.name,
                "namespace": namespace,
                "labels": pod_labels,
                "annotations": sticky_service_annotations(args.ingress),
            },
            spec={
                "type": "ClusterIP",
                "selector": serving,
                "ports": [{"name": "http", "port": app.container_port, "target_port": "http", "protocol": "TCP", "app_protocol": "http"}],
            },
            # With a canary the Service selects on the app label: only once the stable pods carry it.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*in_namespace, *([self.deployment] if app.canary else [])]),
        )
        self.ingress = None
        self.body_limit = None
        if app.domain:
            ingress_after = [*in_namespace, *args.ingress_ready]
            body_limit = body_limit_spec(args.ingress)
            if body_limit is not None:
                # After the ingress controller: the Traefik release installs the Middleware CRD.
                self.body_limit = k8s.apiextensions.CustomResource(
                    f"{name}-body-limit",
                    api_version="traefik.io/v1alpha1",
                    kind="Middleware",
                    metadata={"name": body_limit_name(app), "namespace": namespace, "labels": pod_labels},
                    spec=body_limit,
                    opts=pulumi.ResourceOptions(parent=self, depends_on=ingress_after),
                )
                ingress_after.append(self.body_limit)
            self.ingress = self._ingress(
                name, app, app.domain, args.ingress, meta, pulumi.ResourceOptions(parent=self, depends_on=ingress_after)
            )
        self.autoscaler = None
        if app.autoscaling is not None:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=meta,
                spec=autoscaler_spec(app, app.autoscaling, self.deployment.metadata.name),
                opts=pulumi.ResourceOptions(parent=self, depends_on=[*in_namespace, *args.autoscaling_ready]),
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={"max_unavailable": 1, "selector": {"match_labels": serving}, "unhealthy_pod_eviction_policy": "AlwaysAllow"},
            opts=child,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=meta,
            spec=network_policy_spec(
                app,
                selector=serving,
                ingress_namespace=args.ingress.effective_namespace,
                endpoints=endpoints,
                callers=args.callers,
            ),
            opts=child,
        )
        self.register_outputs({"url": self.url, "internal_url": self.internal_url})

    def _migration(self, name: str, job: MigrationJob, after: list[pulumi.Resource]) -> k8s.batch.v1.Job:
        """A migration Job and the NetworkPolicy its pods start under; a failed one is retried by the next `up`."""
        app = job.app
        pod_labels = labels.common(job.stack, job.component, labels.APP_ROLE)
        policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={"namespace": app.k8s_namespace, "labels": pod_labels},
            spec=migration_network_policy_spec(
                app, selector=labels.selector(job.stack, job.component, labels.APP_ROLE), endpoints=job.endpoints
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace]),
        )
        # customTimeouts win over the provider's default 10 minutes and over a pulumi.com/timeoutSeconds
        # annotation (TimeoutDuration in pulumi-kubernetes provider/pkg/metadata/overrides.go).
        await_for = f"{migration_await_seconds(job.migrate.timeout_seconds)}s"
        return k8s.batch.v1.Job(
            name,
            metadata={"namespace": app.k8s_namespace, "labels": pod_labels, "annotations": dict(REPLACE_UNREADY)},
            spec=migration_job_spec(
                app,
                container=job.container,
                command=job.migrate.command,
                pod_labels=pod_labels,
                timeout_seconds=job.migrate.timeout_seconds,
                pull_secrets=job.pull_secrets,
                service_account=job.service_account,
            ),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[*after, policy],
                custom_timeouts=pulumi.CustomTimeouts(create=await_for, update=await_for),
                # Never two runs of a migration at once: a Job still running when an `up` was cut short is
                # replaced next time, and Pulumi would start the new one first. Deleted first instead, with
                # foreground propagation (pulumi-kubernetes' default, DeletionPropagation in
                # provider/pkg/metadata/overrides.go), which removes its pod before the new Job starts.
                delete_before_replace=True,
            ),
        )

    def _ingress(
        self,
        name: str,
        app: KubernetesAppConfig,
        domain: str,
        ingress: KubernetesIngressConfig,
        meta: k8s.meta.v1.ObjectMetaArgsDict,
        opts: pulumi.ResourceOptions,
    ) -> k8s.networking.v1.Ingress:
        tls: list[k8s.networking.v1.IngressTLSArgsDict] = []
        if ingress.tls == "certManager":
            tls = [{"hosts": [domain], "secret_name": f"{domain.split('.')[0]}-{name}-tls"}]
        elif ingress.tls == "existingSecret" and ingress.tls_secret_name:
            tls = [{"hosts": [domain], "secret_name": ingress.tls_secret_name}]
        path: k8s.networking.v1.HTTPIngressPathArgsDict = {
            "path": "/",
            "path_type": "Prefix",
            "backend": {"service": {"name": self.service.metadata.name, "port": {"name": "http"}}},
        }
        return k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={**meta, "annotations": ingress_annotations(ingress, app)},
            spec={
                "ingress_class_name": ingress.effective_class_name,
                "tls": tls,
                "rules": [{"host": domain, "http": {"paths": [path]}}],
            },
            opts=opts,
        )
