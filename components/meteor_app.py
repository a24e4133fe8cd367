"""One Meteor service on Kubernetes, run to the MeteorD contract.

Crash-only by design: MeteorD-style images start node without `exec`, so SIGTERM never reaches
it. Rollouts therefore never drop capacity (maxUnavailable 0, readiness-gated), a pre-stop pause
lets load balancers drain before the kill, and clients reconnect by themselves. Versions N-1 and
N run side by side during every rollout.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import labels
from components.app_environment import AppEnvironment
from components.config import AppConfig, IngressConfig
from components.mongo import MongoConnection
from components.storage import StorageWiring

SMTP_PORTS = (25, 465, 587)


@dataclass(frozen=True)
class Sibling:
    """Another app of the same stack, reachable over DDP."""

    name: str
    namespace: str
    port: int


@dataclass(frozen=True)
class MeteorAppArgs:
    app: AppConfig
    """The app's validated config."""
    provider: k8s.Provider
    """Explicit Kubernetes provider."""
    stack: str
    """Stack name (labels, NetworkPolicy peers)."""
    environment: AppEnvironment
    """The app's environment, from `build_app_environment`."""
    mongo: MongoConnection
    """The app's database (egress rules and what to wait for)."""
    storage: StorageWiring
    """The app's file storage (egress rules)."""
    ingress: IngressConfig
    """How the app is exposed when it has a domain."""
    siblings: list[Sibling] = field(default_factory=lambda: [])
    """The other apps of the stack (egress to them over DDP)."""
    image_pull_secret: pulumi.Output[str] | None = None
    """A .dockerconfigjson (secret) for a private registry."""


class MeteorApp(pulumi.ComponentResource):
    """Namespace, Secret, Deployment, Service, Ingress, HPA, PDB and NetworkPolicy of one app."""

    namespace: k8s.core.v1.Namespace
    secret: k8s.core.v1.Secret
    deployment: k8s.apps.v1.Deployment
    service: k8s.core.v1.Service
    ingress: k8s.networking.v1.Ingress | None
    autoscaler: k8s.autoscaling.v2.HorizontalPodAutoscaler | None
    url: pulumi.Output[str]
    internal_url: str

    def __init__(self, name: str, args: MeteorAppArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:app:MeteorApp", name, None, opts)
        app = args.app
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=args.provider)
        pod_labels = labels.common(args.stack, app.name, labels.APP_ROLE)
        selector = labels.selector(args.stack, app.name, labels.APP_ROLE)
        port = app.container_port
        non_root = app.user_id is not None

        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": app.k8s_namespace,
                "labels": labels.namespace_labels(args.stack, "restricted" if non_root else "baseline"),
            },
            opts=k8s_opts,
        )
        ns = self.namespace.metadata.name
        meta: k8s.meta.v1.ObjectMetaArgsDict = {"namespace": ns, "labels": pod_labels}

        # Auto-named: a changed secret gets a new name, which rolls the pods onto it.
        self.secret = k8s.core.v1.Secret(
            f"{name}-env",
            metadata=meta,
            type="Opaque",
            string_data=dict(args.environment.secret),
            opts=k8s_opts,
        )
        env: list[k8s.core.v1.EnvVarArgsDict] = [
            {"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}},
        ]
        for key, value in sorted(args.environment.plain.items()):
            env.append({"name": key, "value": value})
        for key in sorted(args.environment.secret):
            env.append(labels.secret_env(key, self.secret.metadata.name, key))

        pull_secrets: list[k8s.core.v1.LocalObjectReferenceArgsDict] = []
        if args.image_pull_secret is not None:
            pull = k8s.core.v1.Secret(
                f"{name}-pull",
                metadata=meta,
                type="kubernetes.io/dockerconfigjson",
                string_data={".dockerconfigjson": args.image_pull_secret},
                opts=k8s_opts,
            )
            pull_secrets.append({"name": pull.metadata.name})

        probe_get: k8s.core.v1.HTTPGetActionArgsDict = {"path": app.health_path, "port": "http"}
        security = labels.RESTRICTED_CONTAINER.copy()
        security["read_only_root_filesystem"] = app.read_only_root
        if not non_root:
            # Legacy MeteorD runs as root and binds port 80: root is unavoidable, the rest is not.
            security["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
        pod_security: k8s.core.v1.PodSecurityContextArgsDict = {"seccomp_profile": {"type": "RuntimeDefault"}}
        if app.user_id is not None:
            pod_security |= {
                "run_as_non_root": True,
                "run_as_user": app.user_id,
                "run_as_group": app.user_id,
                "fs_group": app.user_id,
            }

        container: k8s.core.v1.ContainerArgsDict = {
            "name": "meteor",
            "image": app.image,
            "image_pull_policy": "IfNotPresent",
            "ports": [{"name": "http", "container_port": port, "protocol": "TCP"}],
            "env": env,
            "resources": {
                "requests": {"cpu": app.resources.cpu_request, "memory": app.resources.memory_request},
                "limits": {"cpu": app.resources.cpu_limit, "memory": app.resources.memory_limit},
            },
            # Meteor unpacks and links the bundle at start: allow a slow first response.
            "startup_probe": {"http_get": probe_get, "period_seconds": 5, "failure_threshold": 60, "timeout_seconds": 5},
            "readiness_probe": {"http_get": probe_get, "period_seconds": 5, "failure_threshold": 3, "timeout_seconds": 5},
            "liveness_probe": {"http_get": probe_get, "period_seconds": 20, "failure_threshold": 3, "timeout_seconds": 10},
            "lifecycle": {"pre_stop": {"exec_": {"command": ["sleep", str(app.pre_stop_seconds)]}}},
            "security_context": security,
            "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
        }
        replicas_fixed = app.autoscaling is None
        spread: list[k8s.core.v1.TopologySpreadConstraintArgsDict] = [
            {
                "max_skew": 1,
                "topology_key": key,
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": {"match_labels": selector},
            }
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ]
        deployment_spec: k8s.apps.v1.DeploymentSpecArgsDict = {
            "selector": {"match_labels": selector},
            "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": "25%"}},
            "min_ready_seconds": 5,
            "revision_history_limit": 5,
            "progress_deadline_seconds": 600,
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "automount_service_account_token": False,
                    "enable_service_links": False,
                    "termination_grace_period_seconds": app.pre_stop_seconds + 20,
                    "security_context": pod_security,
                    "topology_spread_constraints": spread,
                    "image_pull_secrets": pull_secrets,
                    "containers": [container],
                    "volumes": [{"name": "tmp", "empty_dir": {"size_limit": "512Mi"}}],
                },
            },
        }
        if replicas_fixed:
            deployment_spec["replicas"] = app.replicas
        self.deployment = k8s.apps.v1.Deployment(
            f"{name}-deployment",
            metadata={"name": app.name, "namespace": ns, "labels": pod_labels},
            spec=deployment_spec,
            opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=args.mongo.ready)),
        )

        service_annotations: dict[str, str] = {}
        if args.ingress.controller == "traefik":
            cookie = "traefik.ingress.kubernetes.io/service.sticky.cookie"
            service_annotations = {
                cookie: "true",
                f"{cookie}.name": args.ingress.session_cookie,
                f"{cookie}.secure": str(args.ingress.tls != "off").lower(),
                f"{cookie}.httponly": "true",
                f"{cookie}.samesite": "lax",
            }
        self.service = k8s.core.v1.Service(
            f"{name}-service",
            metadata={"name": app.name, "namespace": ns, "labels": pod_labels, "annotations": service_annotations},
            spec={
                "type": "ClusterIP",
                "selector": selector,
                "ports": [{"name": "http", "port": port, "target_port": "http", "protocol": "TCP", "app_protocol": "http"}],
            },
            opts=k8s_opts,
        )
        self.internal_url = f"http://{app.name}.{app.k8s_namespace}.svc:{port}"

        self.ingress = None
        if app.domain:
            self.ingress = self._ingress(name, app.domain, args.ingress, meta, k8s_opts)
            scheme = "http" if args.ingress.tls == "off" else "https"
            self.url = pulumi.Output.from_input(f"{scheme}://{app.domain}")
        else:
            self.url = pulumi.Output.from_input(self.internal_url)

        self.autoscaler = None
        if app.autoscaling is not None:
            self.autoscaler = k8s.autoscaling.v2.HorizontalPodAutoscaler(
                f"{name}-autoscaler",
                metadata=meta,
                spec={
                    "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": self.deployment.metadata.name},
                    "min_replicas": app.min_replicas,
                    "max_replicas": app.autoscaling.max_replicas,
                    "metrics": [
                        {
                            "type": "Resource",
                            "resource": {
                                "name": "cpu",
                                "target": {"type": "Utilization", "average_utilization": app.autoscaling.target_cpu_percent},
                            },
                        }
                    ],
                    # Scale in slowly: every removed pod drops its clients' live connections.
                    "behavior": {
                        "scale_down": {
                            "stabilization_window_seconds": 600,
                            "policies": [{"type": "Pods", "value": 1, "period_seconds": 120}],
                        }
                    },
                },
                opts=k8s_opts,
            )

        k8s.policy.v1.PodDisruptionBudget(
            f"{name}-pdb",
            metadata=meta,
            spec={
                "max_unavailable": 1,
                "selector": {"match_labels": selector},
                "unhealthy_pod_eviction_policy": "AlwaysAllow",
            },
            opts=k8s_opts,
        )

        self._network_policy(name, args, meta, selector, k8s_opts)
        self.register_outputs({"url": self.url, "internal_url": self.internal_url})

    def _ingress(
        self,
        name: str,
        domain: str,
        ingress: IngressConfig,
        meta: k8s.meta.v1.ObjectMetaArgsDict,
        opts: pulumi.ResourceOptions,
    ) -> k8s.networking.v1.Ingress:
        annotations: dict[str, str] = {}
        if ingress.controller == "nginx":
            prefix = "nginx.ingress.kubernetes.io"
            timeout = str(ingress.idle_timeout_seconds)
            annotations = {
                f"{prefix}/affinity": "cookie",
                f"{prefix}/affinity-mode": "persistent",
                f"{prefix}/session-cookie-name": ingress.session_cookie,
                f"{prefix}/session-cookie-secure": str(ingress.tls != "off").lower(),
                f"{prefix}/session-cookie-samesite": "Lax",
                f"{prefix}/proxy-read-timeout": timeout,
                f"{prefix}/proxy-send-timeout": timeout,
                f"{prefix}/proxy-body-size": ingress.max_body_size.removesuffix("i").lower(),
                f"{prefix}/ssl-redirect": str(ingress.tls != "off").lower(),
            }
        else:
            annotations = {
                "traefik.ingress.kubernetes.io/router.entrypoints": "web" if ingress.tls == "off" else "websecure",
                "traefik.ingress.kubernetes.io/router.tls": str(ingress.tls != "off").lower(),
            }
        tls: list[k8s.networking.v1.IngressTLSArgsDict] = []
        if ingress.tls == "certManager":
            annotations["cert-manager.io/cluster-issuer"] = ingress.cluster_issuer
            tls = [{"hosts": [domain], "secret_name": f"{domain.split('.')[0]}-{name}-tls"}]
        elif ingress.tls == "existingSecret" and ingress.tls_secret_name:
            tls = [{"hosts": [domain], "secret_name": ingress.tls_secret_name}]
        return k8s.networking.v1.Ingress(
            f"{name}-ingress",
            metadata={**meta, "annotations": annotations},
            spec={
                "ingress_class_name": ingress.effective_class_name,
                "tls": tls,
                "rules": [
                    {
                        "host": domain,
                        "http": {
                            "paths": [
                                {
                                    "path": "/",
                                    "path_type": "Prefix",
                                    "backend": {"service": {"name": self.service.metadata.name, "port": {"name": "http"}}},
                                }
                            ]
                        },
                    }
                ],
            },
            opts=opts,
        )

    def _network_policy(
        self,
        name: str,
        args: MeteorAppArgs,
        meta: k8s.meta.v1.ObjectMetaArgsDict,
        selector: dict[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        app = args.app
        port = app.container_port
        ingress_rules: list[k8s.networking.v1.NetworkPolicyIngressRuleArgsDict] = [
            {"from_": [labels.platform_apps_peer(args.stack)], "ports": [{"protocol": "TCP", "port": port}]},
        ]
        if app.domain:
            ingress_rules.append(
                {"from_": [labels.namespace_peer(args.ingress.effective_namespace)], "ports": [{"protocol": "TCP", "port": port}]}
            )
        egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict] = [labels.DNS_EGRESS]
        egress += args.mongo.egress
        egress += args.storage.egress
        if args.siblings:
            # One rule for every sibling keeps the policy's size independent of the app count.
            sibling_ports = sorted({sibling.port for sibling in args.siblings})
            egress.append({"to": [labels.platform_apps_peer(args.stack)], "ports": [{"protocol": "TCP", "port": p} for p in sibling_ports]})
        if app.cluster.enabled:
            egress.append({"to": [{"pod_selector": {"match_labels": selector}}], "ports": [{"protocol": "TCP", "port": port}]})
        if app.mail_url is not None:
            egress.append({"to": [{"ip_block": {"cidr": "0.0.0.0/0"}}], "ports": [{"protocol": "TCP", "port": p} for p in SMTP_PORTS]})
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=meta,
            spec={
                "pod_selector": {"match_labels": selector},
                "policy_types": ["Ingress", "Egress"],
                "ingress": ingress_rules,
                "egress": egress,
            },
            opts=opts,
        )
