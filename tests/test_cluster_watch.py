"""The in-cluster watcher: its script's logic against fake API answers, a local Slack and a fake SMTP
server, and its manifests in the plans of the DOKS and existing-cluster stacks (never on EKS)."""

from __future__ import annotations

import ast
import copy
import http.server
import json
import logging
import re
import ssl
import sys
import threading
import urllib.error
import urllib.parse
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any, ClassVar

import kubernetes_validate
import pytest

from components.observability import cluster_watch_script as script
from offline_plan.report import kubernetes_objects
from tests.harness import ROOT, Run, run_config, shipped

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
    # shutdown() waits for the loop's next poll: half a second per test at the default interval.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T000/B000/XXXX"
    server.shutdown()
    server.server_close()


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
    return shipped(request.param)


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
    assert (
        objects[("Namespace", f"meteor-{watched.plan['stack']}-cluster-watch")]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "restricted"
    )
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
    run = shipped("aws-production")
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


# -- review fixes: flapping, digest, secrets in errors, sender, a broken watcher, paging, escaping -----


def crash_cycle(restarts: int, waiting: bool, last_stop: datetime, labelled: bool = True) -> dict[str, Any]:
    """A crash-looping container as the API shows it: waiting in CrashLoopBackOff, or running between two crashes."""
    state = {"waiting": {"reason": "CrashLoopBackOff"}} if waiting else {"running": {"startedAt": iso(last_stop)}}
    return {
        "metadata": {"name": "todos-5d9c", "namespace": "todos", "labels": {"meteor-platform/stack": "production"} if labelled else {}},
        "status": {
            "containerStatuses": [
                {
                    "name": "meteor",
                    "restartCount": restarts,
                    "state": state,
                    "lastState": {
                        "terminated": {"exitCode": 1, "reason": "Error", "finishedAt": iso(last_stop), "message": "boom <!channel> & co"}
                    },
                }
            ]
        },
    }


def test_a_crash_loop_alerts_once_across_its_waiting_and_running_spells(slack: str) -> None:
    api = FakeApi([], [])
    env = {**ENV, "SLACK_WEBHOOK": slack}
    sent: list[list[tuple[str, bool]]] = []
    for run_no in range(8):
        now = NOW + timedelta(minutes=5 * run_no)
        # Alternate runs see it waiting (CrashLoopBackOff) and running again after a crash 1-2 minutes ago.
        api.pods = [crash_cycle(1 + run_no, waiting=run_no % 2 == 0, last_stop=now - timedelta(minutes=1 + run_no % 2))]
        sent.append([(m.key, m.resolved) for m in script.run(api, env, now)])
    assert sent[0] == [("pod/todos/todos-5d9c/meteor", False)] and all(s == [] for s in sent[1:]), sent
    # It stops crashing: once its last stop is older than the window, one RESOLVED.
    later = NOW + timedelta(minutes=40 + script.RESTART_WINDOW_MINUTES)
    api.pods = [crash_cycle(9, waiting=False, last_stop=NOW + timedelta(minutes=36))]
    assert [(m.key, m.resolved) for m in script.run(api, env, later)] == [("pod/todos/todos-5d9c/meteor", True)]
    assert len(SlackServer.received) == 2


def test_one_restart_alone_does_not_alert() -> None:
    assert script.pod_findings({"items": [crash_cycle(1, waiting=False, last_stop=NOW - timedelta(minutes=1))]}, NOW) == []


def test_a_run_sends_one_digest_per_channel_and_records_right_after() -> None:
    order: list[str] = []
    slack_posts: list[str] = []
    mails: list[tuple[str, str, str | None]] = []

    def slack_post(webhook: str, text: str) -> None:
        order.append("slack")
        slack_posts.append(text)

    def mail(url: str, recipients: list[str], subject: str, text: str, sender: str | None) -> None:
        order.append("mail")
        mails.append((subject, text, sender))

    class RecordingApi(FakeApi):
        def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
            if method == "PUT":
                order.append("put")
            return super().call(method, path, body)

    nodes = [node(f"pool-{i}", "Unknown", NOW - timedelta(minutes=10)) for i in range(3)]
    api = RecordingApi(nodes, [RECORDED_POD])
    env = {**ENV, "SLACK_WEBHOOK": "https://hooks.slack.com/x", "MAIL_URL": "smtp://u@smtp.example.com", "ALERT_EMAILS": "ops@example.com"}
    env["MAIL_FROM"] = "alerts@example.com"
    messages = script.run(api, env, NOW, lambda m, e: script.deliver(m, e, slack=slack_post, mail=mail))
    assert len(messages) == 4 and order == ["slack", "mail", "put"]
    [(subject, text, sender)] = mails
    assert subject == "[meteor-production] 4 alert(s), 0 resolved" and sender == "alerts@example.com"
    assert all(m.text in text for m in messages) and slack_posts == [text]
    # One Slack post and one SMTP session, each bounded, after reads bounded too: well inside the Job's deadline.
    from components.observability.cluster_watch import RUN_DEADLINE_SECONDS

    reads = 3 * script.API_TIMEOUT  # the state, one page of nodes, one page of pods
    assert reads + script.SLACK_TIMEOUT + script.SMTP_TIMEOUT + script.API_TIMEOUT <= RUN_DEADLINE_SECONDS * 0.75


def test_pages_are_followed_and_the_state_keeps_no_log_tail(slack: str) -> None:
    pods = [{**copy.deepcopy(RECORDED_POD), "metadata": {**RECORDED_POD["metadata"], "name": f"crashloop-{i}"}} for i in range(5)]
    for pod in pods:
        pod["status"]["containerStatuses"][0]["lastState"]["terminated"]["message"] = "x" * 5000 + "\nlast line"
    api = FakeApi([node(f"n{i}", "True", NOW) for i in range(3)], pods)
    assert len(script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)) == 5
    assert [p for _, p in api.calls if p.startswith("/api/v1/pods")] == [
        "/api/v1/pods?limit=250",
        "/api/v1/pods?limit=250&continue=2",
        "/api/v1/pods?limit=250&continue=4",
    ]
    state = json.loads(api.state["data"][script.STATE_KEY])
    assert all(len(e["summary"]) <= script.SUMMARY_KEPT and "\n" not in e["summary"] for e in state.values())
    assert "last line" in SlackServer.received[0]["body"]["text"]  # the alert itself carries the tail


def test_slack_text_is_escaped(slack: str) -> None:
    api = FakeApi([], [crash_cycle(5, waiting=True, last_stop=NOW - timedelta(minutes=1))])
    script.run(api, {**ENV, "SLACK_WEBHOOK": slack}, NOW)
    text = SlackServer.received[0]["body"]["text"]
    assert "boom &lt;!channel&gt; &amp; co" in text and "<!channel>" not in text


def test_on_an_existing_cluster_only_the_stacks_pods_forward_their_output() -> None:
    ours = crash_cycle(5, waiting=True, last_stop=NOW - timedelta(minutes=1))
    theirs = crash_cycle(5, waiting=True, last_stop=NOW - timedelta(minutes=1), labelled=False)
    theirs["metadata"]["name"] = "other"
    found = {f.key: f.summary for f in script.pod_findings({"items": [ours, theirs]}, NOW, tail_stack="production")}
    assert "boom" in found["pod/todos/todos-5d9c/meteor"]
    assert "crash-looping" in found["pod/todos/other/meteor"] and "boom" not in found["pod/todos/other/meteor"]
    # On the stack's own cluster (DOKS) every pod's output is forwarded.
    assert all("boom" in f.summary for f in script.pod_findings({"items": [ours, theirs]}, NOW))


def test_a_bad_mail_url_never_shows_its_password(capsys: pytest.CaptureFixture[str]) -> None:
    bad = "smtp://apikey:s3/kr1t@smtp.example.com:587"
    with pytest.raises(script.MailUrlError) as caught:
        script.send_mail(bad, ["ops@example.com"], "s", "b", smtp=FakeSmtp)
    assert "kr1t" not in str(caught.value)
    script.deliver([script.Message("k", "[c] ALERT: x", False)], {"MAIL_URL": bad, "ALERT_EMAILS": "ops@example.com"})
    err = capsys.readouterr().err
    assert "mail: MailUrlError" in err and "kr1t" not in err

    # A channel's own error (an SMTP answer quoting the login) is printed as its type only.
    def refusing(url: str, recipients: list[str], subject: str, text: str, sender: str | None) -> None:
        raise OSError("535 authentication failed for apikey:s3kr1t")

    script.deliver([script.Message("k", "[c] ALERT: x", False)], {"MAIL_URL": "smtp://h", "ALERT_EMAILS": "o@example.com"}, mail=refusing)
    err = capsys.readouterr().err
    assert "mail: OSError" in err and "kr1t" not in err


def test_the_sender_is_alerts_mail_from() -> None:
    FakeSmtp.sessions = []
    script.send_mail("smtps://apikey:s@smtp.example.com", ["ops@example.com"], "s", "b", smtp=FakeSmtp, sender="alerts@example.com")
    assert FakeSmtp.sessions[0].steps[1][1] == "alerts@example.com"


def test_when_the_cluster_cannot_be_read_the_channels_are_told() -> None:
    told: list[str] = []

    def record(messages: list[script.Message], env: Any) -> dict[str, bool]:
        told.extend(m.text for m in messages)
        return {m.key: True for m in messages}

    class Forbidden:
        def call(self, method: str, path: str, body: Any = None) -> Any:
            raise urllib.error.HTTPError(f"https://kubernetes.default.svc{path}", 403, "Forbidden: token abc", Message(), None)

    class Unreachable:
        def call(self, method: str, path: str, body: Any = None) -> Any:
            raise urllib.error.URLError(ssl.SSLCertVerificationError("certificate verify failed: secret-ish detail"))

    assert script.main(Forbidden, ENV, NOW, record) == 1
    assert script.main(Unreachable, ENV, NOW, record) == 1
    assert told == [
        "[meteor-production] the watcher cannot read the cluster: HTTP 403",
        "[meteor-production] the watcher cannot read the cluster: URLError (SSLCertVerificationError)",
    ]
    assert script.main(lambda: FakeApi([], []), ENV, NOW, record) == 0 and len(told) == 2


# -- review fixes: plan-time checks ---------------------------------------------------------------


def alerts_problems(alerts: dict[str, Any]) -> list[str]:
    from components.config import ConfigError, parse_config

    try:
        parse_config({**BYOC, "alerts": alerts}, {"meteor-platform:alerts"})
    except ConfigError as caught:
        return [line.strip() for line in str(caught).splitlines()[1:]]
    return []


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://apikey:s3/kr1t@smtp.example.com:587", "percent-encoded"),
        ("smtp://apikey:s3%kr1t@smtp.example.com", "percent-encoded"),
        ("smtps://apikey:s3kr1t@:465", "percent-encoded"),
        ("smtp://apikey:s3kr1t@smtp.example.com:5x7", "integer port"),
        ("smtp://apikey:s3kr1t@smtp.example.com:2525", "port 587"),
        ("smtps://apikey:s3kr1t@smtp.example.com:25", "port 587"),
    ],
)
def test_a_bad_alerts_mail_url_is_refused_without_its_value(url: str, expected: str) -> None:
    lines = alerts_problems({"emails": ["ops@example.com"], "mailUrl": url, "mailFrom": "alerts@example.com"})
    assert any(line.startswith("meteor-platform:alerts.mailUrl:") and expected in line for line in lines), lines
    assert all("kr1t" not in line and "apikey" not in line for line in lines)


@pytest.mark.parametrize(
    "url", ["smtp://apikey:se%2Fcret@smtp.example.com", "smtp://a%40example.com:p@smtp.example.com:587", "smtps://u:p@smtp.example.com:465"]
)
def test_good_alerts_mail_urls_plan(url: str) -> None:
    assert alerts_problems({"emails": ["ops@example.com"], "mailUrl": url, "mailFrom": "alerts@example.com"}) == []


def test_a_sender_is_required_when_the_smtp_user_is_not_an_address() -> None:
    [line] = alerts_problems({"emails": ["ops@example.com"], "mailUrl": "smtps://apikey:s3kr1t@smtp.sendgrid.net"})
    assert line.startswith("meteor-platform:alerts.mailFrom: missing") and "s3kr1t" not in line
    assert alerts_problems({"emails": ["ops@example.com"], "mailUrl": "smtps://alerts%40example.com:s@smtp.example.com"}) == []


def test_the_sender_reaches_the_watcher_as_plain_env(tmp_path: Path) -> None:
    secure = {"secure": "v1:bm90LWRlY3J5cHRlZA=="}
    run = run_config(tmp_path, {**BYOC, "alerts": {"emails": ["ops@example.com"], "mailUrl": secure, "mailFrom": "alerts@example.com"}})
    objects = {(o["kind"], o["metadata"]["name"]): o for o in watch_objects(run)}
    [container] = objects[("CronJob", "cluster-watch")]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    env = {e["name"]: e for e in container["env"]}
    assert env["MAIL_FROM"] == {"name": "MAIL_FROM", "value": "alerts@example.com"}
    # An existing cluster: only this stack's pods forward their output.
    assert env["TAIL_STACK"] == {"name": "TAIL_STACK", "value": "test"}


def test_emails_without_mail_url_warn_even_with_slack(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    secure = {"secure": "v1:bm90LWRlY3J5cHRlZA=="}
    with caplog.at_level(logging.WARNING):
        run_config(tmp_path, {**BYOC, "alerts": {"emails": ["ops@example.com"], "slack": {"channel": "#ops", "webhook": secure}}})
    [warning] = [w for w in warnings(caplog) if "get no cluster alerts" in w]
    assert "ops@example.com" in warning and "alerts.mailUrl" in warning and "Slack still gets them" in warning


def test_each_stack_has_its_own_namespace() -> None:
    from components.observability.cluster_watch import namespace_name

    assert namespace_name("production") == "meteor-production-cluster-watch"
    odd = [namespace_name(s) for s in ("Prod_EU", "prod-eu", "x" * 90)]
    assert len(set(odd)) == 3 and all(len(n) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", n) for n in odd), odd
