"""Nodes not ready and pods crash-looping, on clusters whose cloud has no alerting of its own.

DOKS and existing clusters get an in-cluster watcher that needs no operation: a CronJob runs
`cluster_watch_script.py` (standard library only, shipped in a ConfigMap) every few minutes on the
pinned official `python` image. It reads nodes and pods with its own service account (list on
nodes and pods, nothing else cluster-wide), alerts the stack's destinations through a Slack incoming
webhook and/or SMTP (`alerts.mailUrl`), and keeps what it reported in a ConfigMap it alone may update
(RBAC by resourceName), so an alert is sent once and followed by "resolved" once.

EKS stacks do not get it: CloudWatch Container Insights alarms cover their clusters (aws_cluster.py).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import pulumi
import pulumi_kubernetes as k8s

from components import versions
from components.kubernetes import labels, network_policy, pods

COMPONENT = "cluster-watch"
ROLE = "cluster-watch"
SCRIPT = Path(__file__).with_name("cluster_watch_script.py")
SCRIPT_DIR = "/watch"
STATE_CONFIGMAP = "cluster-watch-state"
SECRET_NAME = "cluster-watch-destinations"
SCHEDULE = "*/5 * * * *"
"""Every five minutes: the shortest window the other alerts use (thresholds.minutes >= 5)."""
RUN_DEADLINE_SECONDS = 120
"""A run reads two lists and sends a few messages; a hung one is stopped well before the next."""
NOBODY = 65534
"""The image runs as root by default (docker-library/python has no USER); the script needs no user of its own."""
SMTP_SUBMISSION_PORTS = (587, 465)
"""STARTTLS submission and implicit TLS (RFC 8314), the ports the script uses by default for smtp:// and smtps://."""
API_SERVER_PORTS = (443, 6443)
"""The API server behind the `kubernetes` Service: DOKS serves it on 443, kubeadm-style clusters on 6443.
A NetworkPolicy sees the endpoint after the Service's translation, and its address is not known when
planning (DOKS: a DigitalOcean address outside the VPC). The rule names no peer, only these ports: Cilium
(DOKS's CNI) gives the API server's addresses its reserved kube-apiserver identity, which an ipBlock
(even 0.0.0.0/0) does not select, so a pod allowed "0.0.0.0/0:443" still cannot reach it; users report
that only a rule open to every destination works (cilium/cilium#20550, "Kubernetes network policy for
api-server"). Slack's webhook is on 443 too."""


@dataclass(frozen=True)
class ClusterWatchArgs:
    stack: str
    cluster_name: str
    """How messages name the cluster (`<platform>-<stack>`)."""
    namespace: str
    emails: tuple[str, ...]
    slack_webhook: pulumi.Output[str] | None
    mail_url: pulumi.Output[str] | None
    mail_from: str | None
    """The sender address (alerts.mailFrom), plain config."""
    not_ready_minutes: int
    """How long a node is NotReady before it alerts (alerts.thresholds.minutes)."""
    others_pods: bool
    """The cluster runs pods of others (an existing cluster): their output is not forwarded."""


def namespace_name(stack: str) -> str:
    """`meteor-<stack>-cluster-watch`: one watcher per stack, so two stacks on one cluster do not collide.
    A stack name that is not a DNS label (uppercase, `_`, `.`, too long) is folded and suffixed with a hash."""
    slug = re.sub(r"[^a-z0-9-]+", "-", stack.lower()).strip("-")
    name = f"meteor-{slug}-cluster-watch"
    if slug == stack and len(name) <= 63:
        return name
    digest = hashlib.sha256(stack.encode()).hexdigest()[:8]
    return f"meteor-{slug[: 63 - len('meteor--cluster-watch-') - 8].strip('-')}-{digest}-cluster-watch"


def destinations_warning(emails: tuple[str, ...], slack: bool, mail: bool, namespace: str) -> str | None:
    """Why the emails get no cluster alerts, when they do not: emails without an SMTP URL (Slack or not)."""
    if not emails or mail:
        return None
    also = (
        "Slack still gets them."
        if slack
        else (
            f"Until then the watcher keeps its findings pending and prints them (kubectl logs -n {namespace} job/<latest>); "
            "they are sent once a channel exists."
        )
    )
    return (
        f"alerts.emails ({', '.join(emails)}) get no cluster alerts (nodes not ready, pods crash-looping): this cluster's "
        "cloud does not mail them, the in-cluster watcher sends email only through alerts.mailUrl. Set it "
        "(pulumi config set --secret --path alerts.mailUrl smtp://user:password@smtp.example.com:587)"
        f"{'' if slack else ' or alerts.slack'}. {also}"
    )


def cron_job_spec(
    args: ClusterWatchArgs, *, script: pulumi.Input[str], secret: pulumi.Input[str], account: pulumi.Input[str]
) -> k8s.batch.v1.CronJobSpecArgsDict:
    pod_labels = watch_labels(args.stack)
    env: list[k8s.core.v1.EnvVarArgsDict] = [
        {"name": "NAMESPACE", "value": args.namespace},
        {"name": "STATE_CONFIGMAP", "value": STATE_CONFIGMAP},
        {"name": "CLUSTER_NAME", "value": args.cluster_name},
        {"name": "NOT_READY_MINUTES", "value": str(args.not_ready_minutes)},
        {"name": "ALERT_EMAILS", "value": ",".join(args.emails)},
        *([{"name": "MAIL_FROM", "value": args.mail_from}] if args.mail_from else []),
        *([{"name": "TAIL_STACK", "value": args.stack}] if args.others_pods else []),
        {"name": "PYTHONDONTWRITEBYTECODE", "value": "1"},
    ]
    if args.slack_webhook is not None:
        env.append(pods.secret_env("SLACK_WEBHOOK", secret, "slack-webhook"))
    if args.mail_url is not None:
        env.append(pods.secret_env("MAIL_URL", secret, "mail-url"))
    return {
        "schedule": SCHEDULE,
        "time_zone": "Etc/UTC",
        "concurrency_policy": "Forbid",
        "starting_deadline_seconds": 240,
        "successful_jobs_history_limit": 1,
        "failed_jobs_history_limit": 3,
        "job_template": {
            "spec": {
                "backoff_limit": 0,  # the next run is the retry
                "active_deadline_seconds": RUN_DEADLINE_SECONDS,
                "template": {
                    "metadata": {"labels": pod_labels},
                    "spec": {
                        "service_account_name": account,
                        # It calls the API: the token is what it authenticates with.
                        "automount_service_account_token": True,
                        "restart_policy": "Never",
                        "security_context": {
                            "run_as_non_root": True,
                            "run_as_user": NOBODY,
                            "run_as_group": NOBODY,
                            "seccomp_profile": {"type": "RuntimeDefault"},
                        },
                        "containers": [
                            {
                                "name": "watch",
                                "image": versions.PYTHON_IMAGE,
                                "command": ["python", f"{SCRIPT_DIR}/watch.py"],
                                "env": env,
                                "security_context": pods.READ_ONLY_CONTAINER,
                                "resources": {"requests": {"cpu": "10m", "memory": "32Mi"}, "limits": {"cpu": "200m", "memory": "128Mi"}},
                                "termination_message_policy": "FallbackToLogsOnError",
                                "volume_mounts": [{"name": "script", "mount_path": SCRIPT_DIR, "read_only": True}],
                            }
                        ],
                        "volumes": [{"name": "script", "config_map": {"name": script, "items": [{"key": "watch.py", "path": "watch.py"}]}}],
                    },
                },
            }
        },
    }


def network_policy_spec(stack: str, *, mails: bool) -> k8s.networking.v1.NetworkPolicySpecArgsDict:
    """Nothing in; out: DNS, the API server and Slack (HTTPS), and SMTP submission when it mails."""
    anywhere: k8s.networking.v1.NetworkPolicyPeerArgsDict = {"ip_block": {"cidr": "0.0.0.0/0"}}
    egress: list[k8s.networking.v1.NetworkPolicyEgressRuleArgsDict] = [
        network_policy.DNS_EGRESS,
        {"ports": [{"protocol": "TCP", "port": p} for p in API_SERVER_PORTS]},
    ]
    if mails:
        egress.append({"to": [anywhere], "ports": [{"protocol": "TCP", "port": p} for p in SMTP_SUBMISSION_PORTS]})
    return {
        "pod_selector": {"match_labels": labels.selector(stack, COMPONENT, ROLE)},
        "policy_types": ["Ingress", "Egress"],
        "ingress": [],
        "egress": egress,
    }


READER_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [{"api_groups": [""], "resources": ["nodes", "pods"], "verbs": ["list"]}]
"""Cluster-wide: list nodes and pods (the script only lists), nothing else (no secrets, no writes)."""
STATE_RULES: list[k8s.rbac.v1.PolicyRuleArgsDict] = [
    {"api_groups": [""], "resources": ["configmaps"], "resource_names": [STATE_CONFIGMAP], "verbs": ["get", "update"]}
]
"""In its namespace: get and update that one ConfigMap (resourceNames cannot restrict create or list, which
it does not need: kubernetes.io/docs/reference/access-authn-authz/rbac, "Referring to resources")."""


def watch_labels(stack: str) -> dict[str, str]:
    return labels.common(stack, COMPONENT, ROLE) | {"app.kubernetes.io/component": COMPONENT}


def watch_metadata(args: ClusterWatchArgs, object_name: str) -> k8s.meta.v1.ObjectMetaArgsDict:
    """An object of the watcher's namespace."""
    return {"name": object_name, "namespace": args.namespace, "labels": watch_labels(args.stack)}


def destination_secrets(args: ClusterWatchArgs) -> dict[str, pulumi.Input[str]]:
    """The Secret's keys: the Slack webhook and the SMTP URL, those that are set."""
    data: dict[str, pulumi.Input[str]] = {}
    if args.slack_webhook is not None:
        data["slack-webhook"] = args.slack_webhook
    if args.mail_url is not None:
        data["mail-url"] = args.mail_url
    return data


def account_subject(account: pulumi.Input[str], namespace: str) -> list[k8s.rbac.v1.SubjectArgsDict]:
    return [{"kind": "ServiceAccount", "name": account, "namespace": namespace}]


class ClusterWatch(pulumi.ComponentResource):
    """Namespace, service account and its RBAC, destinations Secret, script and state ConfigMaps,
    NetworkPolicy and the CronJob."""

    namespace: k8s.core.v1.Namespace
    cron_job: k8s.batch.v1.CronJob
    state: k8s.core.v1.ConfigMap

    def __init__(self, name: str, args: ClusterWatchArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:ClusterWatch", name, None, opts)
        self.namespace = k8s.core.v1.Namespace(
            f"{name}-namespace",
            metadata={
                "name": args.namespace,
                "labels": labels.namespace_labels(args.stack, "restricted") | {"app.kubernetes.io/component": COMPONENT},
            },
            opts=pulumi.ResourceOptions(parent=self),
        )
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        account = k8s.core.v1.ServiceAccount(
            f"{name}-account", metadata=watch_metadata(args, COMPONENT), automount_service_account_token=False, opts=child
        ).metadata.name
        self._reader(name, args, account)
        writer = self._state(name, args, account)
        secret_name: pulumi.Input[str] = SECRET_NAME
        if secrets := destination_secrets(args):
            secret = k8s.core.v1.Secret(
                f"{name}-destinations", metadata=watch_metadata(args, SECRET_NAME), type="Opaque", string_data=secrets, opts=child
            )
            secret_name = secret.metadata.name
        script = k8s.core.v1.ConfigMap(
            f"{name}-script", metadata=watch_metadata(args, f"{COMPONENT}-script"), data={"watch.py": SCRIPT.read_text()}, opts=child
        )
        k8s.networking.v1.NetworkPolicy(
            f"{name}-network-policy",
            metadata=watch_metadata(args, COMPONENT),
            spec=network_policy_spec(args.stack, mails=args.mail_url is not None),
            opts=child,
        )
        self.cron_job = k8s.batch.v1.CronJob(
            f"{name}-cron-job",
            metadata=watch_metadata(args, COMPONENT),
            spec=cron_job_spec(args, script=script.metadata.name, secret=secret_name, account=account),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.namespace, self.state, writer]),
        )
        self.register_outputs({})

    def _reader(self, name: str, args: ClusterWatchArgs, account: pulumi.Input[str]) -> None:
        """The cluster-wide reader role, bound to the watcher's account."""
        metadata: k8s.meta.v1.ObjectMetaArgsDict = {"name": f"meteor-{args.stack}-cluster-watch", "labels": watch_labels(args.stack)}
        reader = k8s.rbac.v1.ClusterRole(f"{name}-reader", metadata=metadata, rules=READER_RULES, opts=pulumi.ResourceOptions(parent=self))
        k8s.rbac.v1.ClusterRoleBinding(
            f"{name}-reader",
            metadata=metadata,
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": reader.metadata.name},
            subjects=account_subject(account, args.namespace),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def _state(self, name: str, args: ClusterWatchArgs, account: pulumi.Input[str]) -> k8s.rbac.v1.Role:
        """What it reported: created empty here, written only by the watcher. `data` is ignored so an `up`
        (or a refresh followed by one) never resets it and re-sends every open alert. Returns the role
        that lets the watcher write it."""
        child = pulumi.ResourceOptions(parent=self, depends_on=[self.namespace])
        self.state = k8s.core.v1.ConfigMap(
            f"{name}-state",
            metadata=watch_metadata(args, STATE_CONFIGMAP),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["data"])),
        )
        writer = k8s.rbac.v1.Role(f"{name}-state", metadata=watch_metadata(args, f"{COMPONENT}-state"), rules=STATE_RULES, opts=child)
        k8s.rbac.v1.RoleBinding(
            f"{name}-state",
            metadata=watch_metadata(args, f"{COMPONENT}-state"),
            role_ref={"api_group": "rbac.authorization.k8s.io", "kind": "Role", "name": writer.metadata.name},
            subjects=account_subject(account, args.namespace),
            opts=child,
        )
        return writer
