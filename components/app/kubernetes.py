"""One Meteor service on Kubernetes, run to the MeteorD contract (specs in `kubernetes_specs`).

Versions N-1 and N run side by side during every rollout. The Kubernetes provider reaches every
child through the component's `providers` option.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components.app.environment import AppEnvironment, build_app_environment, public_url
from components.app.kubernetes_ingress import (
    body_limit_name,
    body_limit_spec,
    certificate_secret_name,
    ingress_annotations,
    ingress_spec,
    sticky_service_annotations,
)
from components.app.kubernetes_network_policy import migration_network_policy_spec, network_policy_spec
from components.app.kubernetes_specs import (
    REPLACE_UNREADY,
    AppLabels,
    KubernetesSibling,
    app_endpoints,
    app_labels,
    autoscaler_spec,
    canary_labels,
    canary_name,
    container_spec,
    deployment_spec,
    disruption_budget_spec,
    migration_await_seconds,
    migration_job_spec,
    namespace_metadata,
    service_spec,
)
from components.app.rollout import instance_counts
from components.config import KubernetesAppConfig
from components.config.apps import MigrationConfig
from components.config.ingress import KubernetesIngressConfig
from components.endpoints import Pods
from components.images import AppImage
from components.kubernetes import labels
from components.mongo import MongoConnection
from components.storage import StorageWiring, pod_service_account


def internal_url(app: KubernetesAppConfig) -> str:
    """How other workloads in the cluster reach the app (its Service)."""
    return f"http://{app.name}.{app.k8s_namespace}.svc:{app.container_port}"


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
        self._name, self._args = name, args
        self._labels = app_labels(app, args.stack)
        self.internal_url = internal_url(app)
        root_url = public_url(app.domain, args.ingress.serves_tls) if app.domain else self.internal_url
        self.url = pulumi.Output.from_input(root_url)
        environment = build_app_environment(
            app,
            root_url=root_url,
            endpoint_url=f"http://$(POD_IP):{app.container_port}",
            mongo=args.mongo,
            storage=args.storage,
            siblings=args.siblings,
        )
        self.namespace = k8s.core.v1.Namespace(f"{name}-namespace", metadata=namespace_metadata(app, args.stack), opts=self._child())
        # The namespace's name is known (it is given, not generated): objects in it name it as a plain
        # string and depend on the Namespace resource, which saves an Output lookup per object.
        self._meta: k8s.meta.v1.ObjectMetaArgsDict = {"namespace": app.k8s_namespace, "labels": self._labels.objects}
        # Auto-named: a changed secret gets a new name, which rolls the pods onto it.
        self.secret = k8s.core.v1.Secret(
            f"{name}-env", metadata=self._meta, type="Opaque", string_data=dict(environment.secret), opts=self._in_namespace()
        )
        self._pull_secrets = self._pull_secret()
        self._identity = self._service_account()
        self._environment = environment
        self._endpoints = app_endpoints(args.mongo.endpoints, args.storage.endpoints, args.siblings)
        self._roll_out()
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={**self._meta, "name": app.name, "labels": self._labels.pods, "annotations": sticky_service_annotations(args.ingress)},
            spec=service_spec(app, self._labels.serving),
            # With a canary the Service selects on the app label: only once the stable pods carry it.
            opts=self._in_namespace(*([self.deployment] if app.canary else [])),
        )
        self._expose()
        self.autoscaler = None
        if app.autoscaling is not None:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=self._meta,
                spec=autoscaler_spec(app, app.autoscaling, self.deployment.metadata.name),
                opts=self._in_namespace(*args.autoscaling_ready),
            )
        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb", metadata=self._meta, spec=disruption_budget_spec(self._labels.serving), opts=self._in_namespace()
        )
        policy = network_policy_spec(
            app,
            selector=self._labels.serving,
            ingress_namespace=args.ingress.effective_namespace,
            endpoints=self._endpoints,
            callers=args.callers,
        )
        k8s.networking.v1.NetworkPolicy(f"{name}-network-policy", metadata=self._meta, spec=policy, opts=self._in_namespace())
        self.register_outputs({"url": self.url, "internal_url": self.internal_url})

    def _child(self, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(after))

    def _in_namespace(self, *after: pulumi.Resource) -> pulumi.ResourceOptions:
        return self._child(self.namespace, *after)

    def _pull_secret(self) -> list[pulumi.Input[str]]:
        """The Secret the pods pull a private registry's image with, when there is one."""
        if self._args.image_pull_secret is None:
            return []
        pull = k8s.core.v1.Secret(
            f"{self._name}-pull",
            metadata=self._meta,
            type="kubernetes.io/dockerconfigjson",
            string_data={".dockerconfigjson": self._args.image_pull_secret},
            opts=self._in_namespace(),
        )
        return [pull.metadata.name]

    def _service_account(self) -> str | None:
        """The pods' cloud identity (EKS Pod Identity) when their file storage uses one."""
        identity = pod_service_account(self._args.storage)
        if identity is not None:
            k8s.core.v1.ServiceAccount(
                f"{self._name}-identity",
                metadata={"name": identity, "namespace": self._args.app.k8s_namespace, "labels": self._labels.objects},
                automount_service_account_token=False,
                opts=self._in_namespace(),
            )
        return identity

    def _container(self, image: pulumi.Input[str]) -> k8s.core.v1.ContainerArgsDict:
        environment: AppEnvironment = self._environment
        return container_spec(
            self._args.app,
            image=image,
            plain_env=environment.plain,
            secret_env=list(environment.secret),
            secret_name=self.secret.metadata.name,
        )

    def _roll_out(self) -> None:
        """Each version's migration (once per image: a new image replaces its Job), then its Deployment: the
        current version's first; the canary's migration after the current one's, so two never run at once."""
        app, args = self._args.app, self._args
        ready = [self.namespace, *args.mongo.ready, *args.image.ready, *args.storage.ready]
        self.migration = self.canary_migration = self.canary = None
        if app.migrate is not None:
            self.migration = self._migration(
                f"{self._name}-migrate", migration_component(app, canary=False), args.image.ref, app.migrate, ready
            )
        stable_after = [*ready, *([self.migration] if self.migration else [])]
        self.deployment = self._deployment(f"{self._name}-deployment", app.name, self._labels, args.image.ref, None, stable_after)
        if app.canary is None:
            return
        if app.canary.migrate is not None:
            self.canary_migration = self._migration(
                f"{self._name}-canary-migrate", migration_component(app, canary=True), app.canary.image, app.canary.migrate, stable_after
            )
        canary_count = instance_counts(app.replicas, app.canary.share).canary
        canary_after = [*stable_after, *([self.canary_migration] if self.canary_migration else [])]
        self.canary = self._deployment(
            f"{self._name}-canary", canary_name(app), canary_labels(app, args.stack), app.canary.image, canary_count, canary_after
        )

    def _deployment(
        self, name: str, deployment: str, track: AppLabels, image: pulumi.Input[str], replicas: int | None, after: list[pulumi.Resource]
    ) -> k8s.apps.v1.Deployment:
        app = self._args.app
        return k8s.apps.v1.Deployment(
            name,
            metadata={"name": deployment, "namespace": app.k8s_namespace, "labels": track.pods},
            spec=deployment_spec(
                app,
                container=self._container(image),
                pod_labels=track.pods,
                selector=track.selector,
                pull_secrets=self._pull_secrets,
                replicas=replicas,
                service_account=self._identity,
            ),
            opts=self._child(*after),
        )

    def _migration(
        self, name: str, component: str, image: pulumi.Input[str], migrate: MigrationConfig, after: list[pulumi.Resource]
    ) -> k8s.batch.v1.Job:
        """A migration Job and the NetworkPolicy its pods start under; a failed one is retried by the next `up`."""
        app, stack = self._args.app, self._args.stack
        pod_labels = labels.common(stack, component, labels.APP_ROLE)
        policy = k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata={"namespace": app.k8s_namespace, "labels": pod_labels},
            spec=migration_network_policy_spec(app, selector=labels.selector(stack, component, labels.APP_ROLE), endpoints=self._endpoints),
            opts=self._in_namespace(),
        )
        # customTimeouts win over the provider's default 10 minutes and over a pulumi.com/timeoutSeconds
        # annotation (TimeoutDuration in pulumi-kubernetes provider/pkg/metadata/overrides.go).
        await_for = f"{migration_await_seconds(migrate.timeout_seconds)}s"
        return k8s.batch.v1.Job(
            name,
            metadata={"namespace": app.k8s_namespace, "labels": pod_labels, "annotations": dict(REPLACE_UNREADY)},
            spec=migration_job_spec(
                app,
                container=self._container(image),
                command=migrate.command,
                pod_labels=pod_labels,
                timeout_seconds=migrate.timeout_seconds,
                pull_secrets=self._pull_secrets,
                service_account=self._identity,
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

    def _expose(self) -> None:
        """A public app: its Ingress, after the controller (and, with a body limit, Traefik's Middleware)."""
        app, ingress = self._args.app, self._args.ingress
        self.ingress = self.body_limit = None
        if not app.domain:
            return
        after: list[pulumi.Resource] = [*self._args.ingress_ready]
        body_limit = body_limit_spec(ingress)
        if body_limit is not None:
            # After the ingress controller: the Traefik release installs the Middleware CRD.
            self.body_limit = k8s.apiextensions.CustomResource(
                f"{self._name}-body-limit",
                api_version="traefik.io/v1alpha1",
                kind="Middleware",
                metadata={"name": body_limit_name(app), "namespace": app.k8s_namespace, "labels": self._labels.pods},
                spec=body_limit,
                opts=self._in_namespace(*after),
            )
            after.append(self.body_limit)
        self.ingress = k8s.networking.v1.Ingress(
            f"{self._name}-ingress",
            metadata={**self._meta, "annotations": ingress_annotations(ingress, app)},
            spec=ingress_spec(
                app.domain, ingress, service=self.service.metadata.name, tls_secret=certificate_secret_name(app.domain, self._name)
            ),
            opts=self._in_namespace(*after),
        )
