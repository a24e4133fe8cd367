"""The in-cluster watcher: its script's logic against fake API answers, a local Slack and a fake SMTP
server, and its manifests in the plans of the DOKS and existing-cluster stacks (never on EKS)."""

from __future__ import annotations

import ast
import copy
import http.server
import json
import logging
import sys
import threading
import urllib.parse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import kubernetes_validate
import pytest

from components.observability import cluster_watch_script as script
from offline_plan.report import kubernetes_objects
from tests.harness import ROOT, Run, run_config, run_shipped

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
RECORDED_POD = json.loads((ROOT / "tests" / "fixtures" / "pulumi-kubernetes-crashloop-fallback-to-logs.json").read_text())[0]
"""A crash-looping pod as a real cluster reported it (tests/fixtures/SOURCES.md)."""
WATCHED_STACKS = ("production", "staging", "byoc")


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def node(name: str, ready: str, since: datetime) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "status": {
            "conditions": [
                {"type": "MemoryPressure", "status": "False"},
                {
                    "type": "Ready",
                    "status": ready,
                    "reason": "NodeStatusUnknown",
                    "message": "Kubelet stopped posting node status.",
                    "lastTransitionTime": iso(since),
                },
            ]
        },
    }


def restarting_pod(restarts: int, last_stop: datetime) -> dict[str, Any]:
    return {
        "metadata": {"name": "todos-5d9c", "namespace": "todos"},
        "status": {
            "containerStatuses": [
                {
                    "name": "meteor",
                    "ready": True,
                    "restartCount": restarts,
                    "state": {"running": {"startedAt": iso(last_stop)}},
                    "lastState": {"terminated": {"exitCode": 137, "reason": "OOMKilled", "finishedAt": iso(last_stop)}},
                }
            ]
        },
    }


# -- what counts as a finding ---------------------------------------------------------------------


def test_a_node_alerts_once_not_ready_for_the_threshold() -> None:
    nodes = {
        "items": [
            node("pool-a", "Unknown", NOW - timedelta(minutes=6)),
            node("pool-b", "False", NOW - timedelta(minutes=2)),
            node("pool-c", "True", NOW - timedelta(days=1)),
        ]
    }
    found = script.node_findings(nodes, NOW, minutes=5)
    assert [f.key for f in found] == ["node/pool-a/NotReady"]
    assert "Kubelet stopped posting node status" in found[0].summary
    assert [f.key for f in script.node_findings(nodes, NOW, minutes=1)] == ["node/pool-a/NotReady", "node/pool-b/NotReady"]


def test_a_crash_looping_container_alerts_with_what_it_printed() -> None:
    found = script.pod_findings({"items": [RECORDED_POD]}, NOW)
    assert [f.key for f in found] == ["pod/default/crashloop/crash"]
    # The recorded kubelet's termination message (the log tail, FallbackToLogsOnError) reaches the alert.
    assert "last exit 1 (Error)" in found[0].summary and found[0].summary.endswith("it printed:\nsee ya!")


def test_repeated_restarts_alert_while_recent_and_resolve_when_they_stop() -> None:
    assert [f.key for f in script.pod_findings({"items": [restarting_pod(5, NOW - timedelta(minutes=3))]}, NOW)] == [
        "pod/todos/todos-5d9c/meteor"
    ]
    assert script.pod_findings({"items": [restarting_pod(4, NOW - timedelta(minutes=3))]}, NOW) == []
    assert script.pod_findings({"items": [restarting_pod(9, NOW - timedelta(minutes=61))]}, NOW) == []


# -- one alert, then quiet, then resolved ---------------------------------------------------------


class FakeApi:
    """The API server as the watcher sees it: two lists and the state ConfigMap; records every call."""

    def __init__(self, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        self.nodes, self.pods = nodes, pods
        self.state: dict[str, Any] = {"metadata": {"name": "cluster-watch-state", "resourceVersion": "1"}}
        self.calls: list[tuple[str, str]] = []

    page = 2
    """Objects per answer: the watcher follows `continue` tokens like the API server's."""

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        self.calls.append((method, path))
        resource, _, query = path.partition("?")
        if resource in ("/api/v1/nodes", "/api/v1/pods"):
            params = dict(urllib.parse.parse_qsl(query))
            assert method == "GET" and params["limit"] == str(script.PAGE), path
            items = self.nodes if resource.endswith("nodes") else self.pods
            start = int(params.get("continue", "0"))
            end = start + self.page
            more = {"continue": str(end)} if end < len(items) else {}
            return {"metadata": more, "items": copy.deepcopy(items[start:end])}
        assert path == "/api/v1/namespaces/meteor-production-cluster-watch/configmaps/cluster-watch-state", path
        if method == "PUT":
            assert body is not None and body["metadata"]["resourceVersion"] == self.state["metadata"]["resourceVersion"]
            self.state = copy.deepcopy(body)
            self.state["metadata"]["resourceVersion"] = str(int(self.state["metadata"]["resourceVersion"]) + 1)
            return self.state
        return copy.deepcopy(self.state)


class SlackServer(http.server.BaseHTTPRequestHandler):
    """A local stand-in for Slack's incoming webhook: records each POSTed body."""

    received: ClassVar[list[dict[str, Any]]] = []
    status: ClassVar[int] = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        SlackServer.received.append({"content_type": self.headers["Content-Type"], "body": json.loads(self.rfile.read(length))})
        self.send_response(SlackServer.status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def slack() -> Any:
    SlackServer.received = []
    SlackServer.status = 200
    server = http.server.HTTPServer(("127.0.0.1", 0), SlackServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()


ENV = {
    "NAMESPACE": "meteor-production-cluster-watch",
    "STATE_CONFIGMAP": "cluster-watch-state",
    "CLUSTER_NAME": "meteor-production",
    "NOT_READY_MINUTES": "5",
}


def test_an_alert_is_sent_once_then_resolved_once(slack: str) -> None:
    api = FakeApi([node("pool-a", "Unknown", NOW - timedelta(minutes=10))], [RECORDED_POD])
    env = {**ENV, "SLACK_WEBHOOK": slack}
    first = script.run(api, env, NOW)
    assert sorted(m.key for m in first) == ["node/pool-a/NotReady", "pod/default/crashloop/crash"]
    # One digest per run: one Slack post carries both.
    assert len(SlackServer.received) == 1 and SlackServer.received[0]["content_type"] == "application/json"
    assert SlackServer.received[0]["body"]["text"].startswith("[meteor-production] ALERT: node pool-a is not ready")
    assert "\n\n[meteor-production] ALERT: container default/crashloop/crash is crash-looping" in SlackServer.received[0]["body"]["text"]

    # The next runs see the same problems: nothing is sent, the state is not rewritten.
    puts = sum(1 for method, _ in api.calls if method == "PUT")
    assert script.run(api, env, NOW + timedelta(minutes=5)) == []
    assert len(SlackServer.received) == 1 and sum(1 for method, _ in api.calls if method == "PUT") == puts

    # The node comes back: one "resolved", and the pod's alert stays quiet.
    api.nodes = [node("pool-a", "True", NOW + timedelta(minutes=7))]
    resolved = script.run(api, env, NOW + timedelta(minutes=10))
    assert [(m.key, m.resolved) for m in resolved] == [("node/pool-a/NotReady", True)]
    assert SlackServer.received[-1]["body"]["text"].startswith("[meteor-production] RESOLVED: node pool-a is not ready")
    assert set(json.loads(api.state["data"][script.STATE_KEY])) == {"pod/default/crashloop/crash"}
    assert script.run(api, env, NOW + timedelta(minutes=15)) == []
    assert len(SlackServer.received) == 2


def test_what_could_not_be_delivered_is_sent_by_a_later_run(slack: str) -> None:
    api = FakeApi([], [RECORDED_POD])
    # No channel at all (emails without mailUrl): the finding is recorded as pending, not as reported.
    assert len(script.run(api, {**ENV, "ALERT_EMAILS": "ops@example.com"}, NOW)) == 1
    assert json.loads(api.state["data"][script.STATE_KEY])["pod/default/crashloop/crash"]["delivered"] is False
    # Slack answers an error: still pending.
    SlackServer.status = 500
    assert len(script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)) == 1
    assert json.loads(api.state["data"][script.STATE_KEY])["pod/default/crashloop/crash"]["delivered"] is False
    SlackServer.status = 200
    assert len(script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)) == 1
    assert json.loads(api.state["data"][script.STATE_KEY])["pod/default/crashloop/crash"]["delivered"] is True
    assert script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW) == []
    # The pod is gone while Slack is down: the "resolved" waits for a run that can deliver it.
    api.pods = []
    SlackServer.status = 500
    assert [m.resolved for m in script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)] == [True]
    SlackServer.status = 200
    assert [m.resolved for m in script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)] == [True]
    assert json.loads(api.state["data"][script.STATE_KEY]) == {}
    assert script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW) == []


class FakeSmtp:
    sessions: ClassVar[list[FakeSmtp]] = []

    def __init__(self, host: str, port: int, timeout: float, **kwargs: Any) -> None:
        self.host, self.port, self.kwargs = host, port, kwargs
        self.steps: list[Any] = []
        FakeSmtp.sessions.append(self)

    def __enter__(self) -> FakeSmtp:
        return self

    def __exit__(self, *exc: object) -> None:
        self.steps.append("quit")

    def starttls(self, context: Any) -> None:
        self.steps.append("starttls")

    def login(self, user: str, password: str) -> None:
        self.steps.append(("login", user, password))

    def send_message(self, message: Any) -> None:
        self.steps.append(("send", message["From"], message["To"], message["Subject"], message.get_content()))


def test_email_goes_through_the_smtp_url_with_tls() -> None:
    FakeSmtp.sessions = []
    script.send_mail(
        "smtp://alerts%40example.com:p%40ss@smtp.example.com", ["ops@example.com", "dev@example.com"], "subject", "body", smtp=FakeSmtp
    )
    [session] = FakeSmtp.sessions
    assert (session.host, session.port) == ("smtp.example.com", 587)
    assert session.steps[:2] == ["starttls", ("login", "alerts@example.com", "p@ss")]
    assert session.steps[2] == ("send", "alerts@example.com", "ops@example.com, dev@example.com", "subject", "body\n")
    script.send_mail("smtps://apikey:secret@smtp.example.com", ["ops@example.com"], "s", "b", smtp=FakeSmtp)
    assert FakeSmtp.sessions[1].port == 465 and "context" in FakeSmtp.sessions[1].kwargs
    assert "starttls" not in FakeSmtp.sessions[1].steps and FakeSmtp.sessions[1].steps[1][1] == "ops@example.com"


def test_one_channel_down_does_not_stop_the_other() -> None:
    FakeSmtp.sessions = []

    def broken_slack(webhook: str, text: str) -> None:
        raise OSError("Slack is down")

    def mail(url: str, recipients: list[str], subject: str, text: str, sender: str | None) -> None:
        script.send_mail(url, recipients, subject, text, smtp=FakeSmtp, sender=sender)

    env = {"SLACK_WEBHOOK": "https://hooks.slack.com/x", "MAIL_URL": "smtp://u:p@smtp.example.com:2525", "ALERT_EMAILS": "ops@example.com"}
    sent = script.deliver([script.Message("k", "[c] ALERT: x\nmore", False)], env, slack=broken_slack, mail=mail)
    assert sent == {"k": True} and FakeSmtp.sessions[0].port == 2525
    assert FakeSmtp.sessions[0].steps[-2][3] == "[c] ALERT: x"


def test_the_script_needs_nothing_but_the_standard_library() -> None:
    tree = ast.parse(Path(script.__file__).read_text())
    modules = {a.name.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    modules |= {n.module.split(".")[0] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    assert modules - {"__future__"} <= sys.stdlib_module_names, modules - sys.stdlib_module_names


# -- the manifests in the plans -------------------------------------------------------------------


@pytest.fixture(scope="module", params=WATCHED_STACKS)
def watched(request: pytest.FixtureRequest) -> Run:
    return run_shipped(request.param)


def watch_objects(run: Run) -> list[dict[str, Any]]:
    return [
        o for o in kubernetes_objects(run.plan) if o["metadata"].get("labels", {}).get("app.kubernetes.io/component") == "cluster-watch"
    ]


def test_the_watcher_runs_on_doks_and_existing_clusters(watched: Run) -> None:
    objects = {(o["kind"], o["metadata"]["name"]): o for o in watch_objects(watched)}
    cron = objects[("CronJob", "cluster-watch")]["spec"]
    assert cron["concurrencyPolicy"] == "Forbid" and cron["schedule"] == "*/5 * * * *" and cron["startingDeadlineSeconds"] == 240
    assert cron["successfulJobsHistoryLimit"] == 1 and cron["failedJobsHistoryLimit"] == 3
    job = cron["jobTemplate"]["spec"]
    assert job["activeDeadlineSeconds"] == 120 and job["backoffLimit"] == 0
    pod = job["template"]["spec"]
    [container] = pod["containers"]
    assert container["image"].startswith("python:3.13-alpine3.22@sha256:") and container["command"] == ["python", "/watch/watch.py"]
    assert pod["securityContext"]["runAsNonRoot"] is True and container["securityContext"]["readOnlyRootFilesystem"] is True
    assert (
        container["securityContext"]["capabilities"] == {"drop": ["ALL"]}
        and container["securityContext"]["allowPrivilegeEscalation"] is False
    )
    assert pod["serviceAccountName"] == "cluster-watch"
    # The script that runs is the module the tests above exercise.
    assert objects[("ConfigMap", "cluster-watch-script")]["data"]["watch.py"] == Path(script.__file__).read_text()
    # Cluster-wide it reads nodes and pods, nothing else; it writes one ConfigMap of its namespace.
    assert objects[("ClusterRole", f"meteor-{watched.plan['stack']}-cluster-watch")]["rules"] == [
        {"apiGroups": [""], "resources": ["nodes", "pods"], "verbs": ["list"]}
    ]
    assert objects[("Role", "cluster-watch-state")]["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cluster-watch-state"], "verbs": ["get", "update"]}
    ]
    assert objects[("Namespace", f"meteor-{watched.plan['stack']}-cluster-watch")]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    policy = objects[("NetworkPolicy", "cluster-watch")]["spec"]
    assert policy["ingress"] == [] and {p["port"] for rule in policy["egress"][1:] for p in rule["ports"]} == {443, 6443}
    # No peer on the API-server rule: Cilium's kube-apiserver identity is outside every ipBlock (cilium/cilium#20550).
    assert "to" not in policy["egress"][1]
    # The shipped stacks mail ops@example.com and set no mailUrl nor Slack: no Secret, no SMTP egress.
    assert ("Secret", "cluster-watch-destinations") not in objects
    for obj in objects.values():
        for version in ("1.33.0", "1.35.0"):
            kubernetes_validate.validate(obj, version, strict=True)


def test_the_state_configmap_is_left_to_the_watcher(watched: Run) -> None:
    [state] = [r for r in watched.resources("kubernetes:core/v1:ConfigMap") if r["name"].endswith("cluster-watch-state")]
    assert "data" not in state["inputs"]
    assert "data" in (state.get("ignoreChanges") or state.get("options", {}).get("ignoreChanges") or [])


def test_eks_clusters_are_left_to_cloudwatch() -> None:
    run = run_shipped("aws-production")
    assert not run.resources("meteor-platform:observability:ClusterWatch")
    assert watch_objects(run) == []


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


BYOC = {
    "environment": "staging",
    "mongo": {"provider": "inCluster", "storageProvisioner": "dobs.csi.digitalocean.com"},
    "apps": [{"name": "todos", "image": "ghcr.io/acme/todos@sha256:" + "ab" * 32, "domain": "todos.example.com"}],
}


def test_slack_and_smtp_reach_the_watcher_as_secrets(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secure = {"secure": "v1:bm90LWRlY3J5cHRlZA=="}  # as `pulumi config set --secret` writes it
    config = {
        **BYOC,
        "alerts": {"emails": ["ops@example.com"], "slack": {"channel": "#ops", "webhook": dict(secure)}, "mailUrl": dict(secure)},
    }
    with caplog.at_level(logging.WARNING):
        run = run_config(tmp_path, config)
    assert not [w for w in warnings(caplog) if "get no cluster alerts" in w]
    objects = {(o["kind"], o["metadata"]["name"]): o for o in watch_objects(run)}
    env = {
        e["name"]: e
        for e in objects[("CronJob", "cluster-watch")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]["env"]
    }
    assert env["SLACK_WEBHOOK"]["valueFrom"]["secretKeyRef"] == {"name": "cluster-watch-destinations", "key": "slack-webhook"}
    assert env["MAIL_URL"]["valueFrom"]["secretKeyRef"] == {"name": "cluster-watch-destinations", "key": "mail-url"}
    assert env["ALERT_EMAILS"]["value"] == "ops@example.com"
    policy = objects[("NetworkPolicy", "cluster-watch")]["spec"]
    assert {p["port"] for rule in policy["egress"][1:] for p in rule["ports"]} == {443, 6443, 587, 465}
    secret = run.one("kubernetes:core/v1:Secret", "meteor-cluster-watch-destinations")
    assert "secret" in str(secret["inputs"]["stringData"]).lower()  # redacted in the plan: a secret Output


def test_emails_without_a_way_to_send_them_warn(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        run = run_config(tmp_path, {**BYOC, "alerts": {"emails": ["ops@example.com"]}})
    [warning] = [w for w in warnings(caplog) if "get no cluster alerts" in w]
    assert "alerts.mailUrl" in warning and "alerts.slack" in warning
    assert run.resources("meteor-platform:observability:ClusterWatch")


def test_no_watcher_without_destinations(tmp_path: Path) -> None:
    run = run_config(tmp_path, {**BYOC, "alerts": "none"})
    assert not run.resources("meteor-platform:observability:ClusterWatch")
