"""Pure builders of a Meteor app's Kubernetes objects: plain values in, specs out.

Crash-only by design: MeteorD-style images start node without `exec`, so SIGTERM never reaches
it. Rollouts therefore never drop capacity (maxUnavailable 0, readiness-gated), a pre-stop pause
lets load balancers drain before the kill, and clients reconnect by themselves.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

import pulumi
import pulumi_kubernetes as k8s

from components.app import Sibling
from components.app.one_off import one_off
from components.app.rollout import instance_counts, termination_grace_seconds
from components.config import KubernetesAppConfig
from components.config.apps import AutoscalingConfig
from components.endpoints import Endpoint, Pods
from components.kubernetes import labels, pods

FIRST_UNPRIVILEGED_PORT = 1024
UNPRIVILEGED_PORTS_SYSCTL: k8s.core.v1.SysctlArgsDict = {"name": "net.ipv4.ip_unprivileged_port_start", "value": "0"}
"""Lets a non-root app, which holds no capability, listen below 1024 in its own network namespace.

containerd 2.0+ sets it by default (`EnableUnprivilegedPorts: true`, internal/cri/config/
config_unix.go, commit 7b9fcfd7c), containerd 1.x does not, and what DOKS nodes run is not
published: the pod asks for it everywhere. A "safe" sysctl, enabled in every kubelet
(kubernetes.io/docs/tasks/administer-cluster/sysctl-cluster, since 1.22) and allowed by the Pod
Security Standards' baseline and restricted levels (concepts/security/pod-security-standards, "Sysctls")."""
LOG_TAIL_ON_ERROR = "FallbackToLogsOnError"
"""A container that exits with an error and wrote no termination message gets the last chunk of its log
as its message, "limited to 2048 bytes or 80 lines, whichever is smaller" (the terminationMessagePolicy
docstring of ContainerArgs in the pinned pulumi_kubernetes core/v1/_inputs.py). pulumi-kubernetes puts
that message into the error of an `up` whose Deployment or Job fails: its pod checker reports
`state.terminated.message` and `lastState.terminated.message` of every unready container
(provider/pkg/await/checker/pod/check.go, containerTerminatedError and containerLastTerminationState,
since v4.16.0: pulumi/pulumi-kubernetes#3091, CHANGELOG "Use `terminationMessagePolicy:
FallbackToLogsOnError` to use the pod's logs as its termination message"); the Deployment await adds
those pod errors to its timeout error (deployment.go errorMessages -> aggregatePodErrors), the Job await
to its failure (job.go errorMessages, fed by the PodAggregator of watchers.go). Read at pulumi-kubernetes
94977969 (2026-07-01). Set on the app's, the canary's and the migrations' containers (migrations copy it)."""
KUBELET_EXPANDS = frozenset({"CLUSTER_ENDPOINT_URL"})
"""Plain variables whose `$(POD_IP)` the kubelet is meant to expand; every other value is literal."""


@dataclass(frozen=True)
class KubernetesSibling(Sibling):
    pods: tuple[Pods, ...] = ()
    """The pods serving it (its Deployments), for NetworkPolicy rules."""


def kubelet_literal(value: str) -> str:
    """A value the kubelet passes through unchanged: it expands `$(VAR)` and reduces `$$` to `$`."""
    return value.replace("$", "$$")


@dataclass(frozen=True)
class AppLabels:
    """The labels of one track's pods and what selects them."""

    objects: dict[str, str]
    """On the app's other objects (Secrets, policies, the autoscaler): never the app label."""
    pods: dict[str, str]
    """On its pods, its Deployment and (stable track) the Service and Middleware."""
    selector: dict[str, str]
    """Its Deployment's (immutable) selector."""
    serving: dict[str, str]
    """What the Service, PodDisruptionBudget and NetworkPolicy select: with a canary, both tracks."""


def app_labels(app: KubernetesAppConfig, stack: str) -> AppLabels:
    """The stable track's labels. With a canary both tracks carry the app label and the Service selects
    on it; the stable Deployment keeps its selector (the canary's pods have another name)."""
    pod_labels = labels.common(stack, app.name, labels.APP_ROLE)
    selector = labels.selector(stack, app.name, labels.APP_ROLE)
    if app.canary is None:
        return AppLabels(objects=pod_labels, pods=pod_labels, selector=selector, serving=selector)
    serving = {labels.STACK_LABEL: stack, labels.ROLE_LABEL: labels.APP_ROLE, labels.APP_LABEL: app.name}
    return AppLabels(objects=pod_labels, pods={**pod_labels, labels.APP_LABEL: app.name}, selector=selector, serving=serving)


def canary_name(app: KubernetesAppConfig) -> str:
    return f"{app.name}-canary"


def canary_labels(app: KubernetesAppConfig, stack: str) -> AppLabels:
    """The canary track's labels: its own name, the app label the Service selects on, the canary track."""
    name = canary_name(app)
    pod_labels = {**labels.common(stack, name, labels.APP_ROLE), labels.APP_LABEL: app.name, labels.TRACK_LABEL: "canary"}
    stable = app_labels(app, stack)
    return AppLabels(
        objects=stable.objects, pods=pod_labels, selector=labels.selector(stack, name, labels.APP_ROLE), serving=stable.serving
    )


def namespace_metadata(app: KubernetesAppConfig, stack: str) -> k8s.meta.v1.ObjectMetaArgsDict:
    """The app's namespace: Pod Security `restricted` when the app runs as a fixed user, else `baseline` (root MeteorD)."""
    pod_security = "restricted" if app.user_id is not None else "baseline"
    return {"name": app.k8s_namespace, "labels": labels.namespace_labels(stack, pod_security)}


def app_endpoints(mongo: Sequence[Endpoint], storage: Sequence[Endpoint], siblings: Sequence[KubernetesSibling]) -> list[Endpoint]:
    """What the app's pods reach (its migrations' pods reach the same, and nothing else)."""
    return [*mongo, *storage, *(Endpoint(port=s.port, pods=pods) for s in siblings for pods in s.pods)]


def service_spec(app: KubernetesAppConfig, serving: Mapping[str, str]) -> k8s.core.v1.ServiceSpecArgsDict:
    return {
        "type": "ClusterIP",
        "selector": dict(serving),
        "ports": [{"name": "http", "port": app.container_port, "target_port": "http", "protocol": "TCP", "app_protocol": "http"}],
    }


def disruption_budget_spec(serving: Mapping[str, str]) -> k8s.policy.v1.PodDisruptionBudgetSpecArgsDict:
    """One pod down at a time on a drain; an unhealthy pod never blocks it."""
    return {"max_unavailable": 1, "selector": {"match_labels": dict(serving)}, "unhealthy_pod_eviction_policy": "AlwaysAllow"}


def container_spec(
    app: KubernetesAppConfig,
    *,
    image: pulumi.Input[str],
    plain_env: Mapping[str, str],
    secret_env: Sequence[str],
    secret_name: pulumi.Input[str],
) -> k8s.core.v1.ContainerArgsDict:
    """The Meteor container: PORT equals the container port, secrets only through secretKeyRef."""
    env: list[k8s.core.v1.EnvVarArgsDict] = [{"name": "POD_IP", "value_from": {"field_ref": {"field_path": "status.podIP"}}}]
    for key, value in sorted(plain_env.items()):
        env.append({"name": key, "value": value if key in KUBELET_EXPANDS else kubelet_literal(value)})
    env += [pods.secret_env(key, secret_name, key) for key in sorted(secret_env)]
    probe_get: k8s.core.v1.HTTPGetActionArgsDict = {"path": app.health_path, "port": "http"}
    security = pods.RESTRICTED_CONTAINER.copy()
    security["read_only_root_filesystem"] = app.read_only_root
    if app.user_id is None:
        # Legacy MeteorD runs as root and binds port 80: root is unavoidable, the rest is not.
        security["capabilities"] = {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]}
    return {
        "name": "meteor",
        "image": image,
        "image_pull_policy": "IfNotPresent",
        "ports": [{"name": "http", "container_port": app.container_port, "protocol": "TCP"}],
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
        "termination_message_policy": LOG_TAIL_ON_ERROR,
        "security_context": security,
        "volume_mounts": [{"name": "tmp", "mount_path": "/tmp"}],
    }


def pod_spec(
    app: KubernetesAppConfig,
    *,
    containers: Sequence[k8s.core.v1.ContainerArgsDict],
    pull_secrets: Sequence[pulumi.Input[str]] = (),
    spread_over: Mapping[str, str] | None = None,
    service_account: str | None = None,
) -> k8s.core.v1.PodSpecArgsDict:
    """The app's pod: its user, no service-account token, a bounded /tmp; spread over nodes and zones."""
    spec = pods.pod_spec(
        containers=containers,
        user=app.user_id,
        volumes=[{"name": "tmp", "empty_dir": {"size_limit": "512Mi"}}],
        service_account=service_account,
        sysctls=[UNPRIVILEGED_PORTS_SYSCTL] if app.user_id is not None and app.container_port < FIRST_UNPRIVILEGED_PORT else [],
    )
    spec["enable_service_links"] = False
    spec["termination_grace_period_seconds"] = termination_grace_seconds(app.pre_stop_seconds)
    spec["image_pull_secrets"] = [{"name": name} for name in pull_secrets]
    if spread_over is not None:
        spec["topology_spread_constraints"] = [
            {
                "max_skew": 1,
                "topology_key": key,
                "when_unsatisfiable": "ScheduleAnyway",
                "label_selector": {"match_labels": dict(spread_over)},
            }
            for key in ("kubernetes.io/hostname", "topology.kubernetes.io/zone")
        ]
    return spec


def deployment_spec(
    app: KubernetesAppConfig,
    *,
    container: k8s.core.v1.ContainerArgsDict,
    pod_labels: Mapping[str, str],
    selector: Mapping[str, str],
    pull_secrets: Sequence[pulumi.Input[str]] = (),
    replicas: int | None = None,
    service_account: str | None = None,
) -> k8s.apps.v1.DeploymentSpecArgsDict:
    """Rolling updates that never drop capacity, spread over nodes and zones. `replicas` (the canary's)
    or, by default, the stable track's (`stable_replicas`)."""
    spec: k8s.apps.v1.DeploymentSpecArgsDict = {
        "selector": {"match_labels": dict(selector)},
        "strategy": {"type": "RollingUpdate", "rolling_update": {"max_unavailable": 0, "max_surge": "25%"}},
        "min_ready_seconds": 5,
        "revision_history_limit": 5,
        "progress_deadline_seconds": 600,
        "template": {
            # Its /tmp is scratch: a node autoscaler may remove the node the pod runs on.
            "metadata": {"labels": dict(pod_labels), "annotations": {pods.SAFE_TO_EVICT_LOCAL_VOLUMES: "tmp"}},
            "spec": pod_spec(app, containers=[container], pull_secrets=pull_secrets, spread_over=selector, service_account=service_account),
        },
    }
    count = replicas if replicas is not None else stable_replicas(app)
    if count is not None:
        spec["replicas"] = count
    return spec


def stable_replicas(app: KubernetesAppConfig) -> int | None:
    """The stable Deployment's replicas: the app's less the canary's (rollout.py); None when the autoscaler owns them."""
    if app.autoscaling is not None:
        return None
    return instance_counts(app.replicas, app.canary.share if app.canary else None).stable


PROBES_AND_PORTS = ("startup_probe", "readiness_probe", "liveness_probe", "lifecycle", "ports")


MIGRATION_AWAIT_MARGIN_SECONDS = 120
"""How much longer `pulumi up` waits for a migration Job than the Job may run: the Job controller
stops it at `activeDeadlineSeconds` (counted from the Job's start, so pulling the image counts),
marks it Failed with reason DeadlineExceeded once its pod has terminated (MIGRATION_GRACE_SECONDS),
and pulumi-kubernetes reports that reason rather than its own timeout."""
MIGRATION_GRACE_SECONDS = 10
"""A migration pod's termination grace (it has no preStop hook: nothing to drain). Since Kubernetes
1.31 the Job controller adds `Failed` only once the Job's pods have terminated (kubernetes.io/docs,
concepts/workloads/controllers/job, "Termination of Job pods"; kubernetes/kubernetes#123775), so a
Job stopped at its deadline fails up to this much later: well inside the await margin."""
REPLACE_UNREADY = {"pulumi.com/replaceUnready": "true"}
"""pulumi-kubernetes replaces a Job that was not ready (failed, or still running when `up` gave
up) on the next update instead of waiting on it again: `pulumi.com/replaceUnready` (the Job
docstring in pulumi_kubernetes/batch/v1/Job.py; the live-state check in the provider's Diff,
pulumi/pulumi-kubernetes#1575 and #1578)."""


def migration_await_seconds(timeout_seconds: int) -> int:
    """The await of a migration Job: past its deadline, never the provider's default 10 minutes."""
    return timeout_seconds + MIGRATION_AWAIT_MARGIN_SECONDS


def migration_job_spec(
    app: KubernetesAppConfig,
    *,
    container: k8s.core.v1.ContainerArgsDict,
    command: Sequence[str],
    pod_labels: Mapping[str, str],
    timeout_seconds: int,
    pull_secrets: Sequence[pulumi.Input[str]] = (),
    service_account: str | None = None,
) -> k8s.batch.v1.JobSpecArgsDict:
    """The app's container running `command` once (no retries): a failure fails `pulumi up` before the app rolls."""
    migration = cast(k8s.core.v1.ContainerArgsDict, {k: v for k, v in container.items() if k not in PROBES_AND_PORTS})
    migration["name"] = "migrate"
    run = one_off(app.flavor, command)
    if run.entrypoint is not None:
        migration["command"] = run.entrypoint
    if run.arguments:
        migration["args"] = run.arguments
    spec = pod_spec(app, containers=[migration], pull_secrets=pull_secrets, service_account=service_account)
    spec["restart_policy"] = "Never"
    spec["termination_grace_period_seconds"] = MIGRATION_GRACE_SECONDS
    return {
        "backoff_limit": 0,
        "active_deadline_seconds": timeout_seconds,
        "template": {"metadata": {"labels": dict(pod_labels)}, "spec": spec},
    }


def autoscaler_spec(
    app: KubernetesAppConfig, bounds: AutoscalingConfig, deployment: pulumi.Input[str]
) -> k8s.autoscaling.v2.HorizontalPodAutoscalerSpecArgsDict:
    """CPU-driven scaling between the app's floor and `bounds.maxReplicas`, scaling in slowly."""
    return {
        "scale_target_ref": {"api_version": "apps/v1", "kind": "Deployment", "name": deployment},
        "min_replicas": app.min_replicas,
        "max_replicas": bounds.max_replicas,
        "metrics": [
            {
                "type": "Resource",
                "resource": {"name": "cpu", "target": {"type": "Utilization", "average_utilization": bounds.target_cpu_percent}},
            }
        ],
        # Scale in slowly: every removed pod drops its clients' live connections.
        "behavior": {
            "scale_down": {"stabilization_window_seconds": 600, "policies": [{"type": "Pods", "value": 1, "period_seconds": 120}]}
        },
    }
