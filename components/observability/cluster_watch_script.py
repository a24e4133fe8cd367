"""The in-cluster watcher's script: standard library only, run by the ClusterWatch CronJob.

This module is the script itself: `cluster_watch.py` ships its source in a ConfigMap and the CronJob
runs it with the pinned official `python` image (`python /watch/watch.py`). It imports nothing from
the project, so the tests call its functions directly with fake API answers, a fake Slack and a
fake SMTP server.

Each run:
1. reads the nodes and the pods through the API with the pod's service-account token
   (GET /api/v1/nodes, GET /api/v1/pods: the only cluster-wide rights it holds);
2. finds what is wrong now (`findings`): a node whose Ready condition is not True for `minutes`, a
   container waiting in CrashLoopBackOff, a container that restarted `RESTARTS` times or more and
   last stopped within `RESTART_WINDOW_MINUTES`;
3. compares with what it reported before (`plan_messages`), kept as JSON in a ConfigMap it alone may
   update: a new finding alerts once, a finding that is gone sends "resolved" once;
4. sends (Slack incoming webhook, email through SMTP) and records what was delivered. A finding
   that could not be delivered (no channel, Slack or SMTP down) stays pending and is sent next run.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import sys
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

RESTARTS = 5
"""Restarts of one container that count as "restarted repeatedly" ..."""
RESTART_WINDOW_MINUTES = 60
"""... when its last stop is this recent (a container that stopped restarting resolves)."""
STATE_KEY = "reported.json"
"""The key of the state ConfigMap that holds what was reported."""
API = "https://kubernetes.default.svc"
ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"


@dataclass(frozen=True)
class Finding:
    key: str
    """Stable across runs: `node/<name>/NotReady`, `pod/<ns>/<pod>/<container>/CrashLoopBackOff|Restarts`."""
    summary: str


def _time(value: str | None) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object of the API's answer, or {} where the field is absent or null."""
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _items(value: Any) -> list[dict[str, Any]]:
    return [_obj(v) for v in cast(list[Any], value)] if isinstance(value, list) else []


def node_findings(nodes: Mapping[str, Any], now: datetime, minutes: int) -> list[Finding]:
    """Nodes whose Ready condition has not been True for `minutes` (status False or Unknown)."""
    found: list[Finding] = []
    for node in _items(nodes.get("items")):
        name = str(_obj(node.get("metadata")).get("name"))
        ready = next((c for c in _items(_obj(node.get("status")).get("conditions")) if c.get("type") == "Ready"), None)
        if ready is None or ready.get("status") == "True":
            continue
        since = _time(ready.get("lastTransitionTime"))
        if since is not None and now - since < timedelta(minutes=minutes):
            continue
        reason = ready.get("reason") or ready.get("status")
        message = ready.get("message") or ""
        found.append(
            Finding(
                f"node/{name}/NotReady",
                f"node {name} is not ready ({reason}) since {ready.get('lastTransitionTime')}: {message}".rstrip(": "),
            )
        )
    return found


def pod_findings(pods: Mapping[str, Any], now: datetime) -> list[Finding]:
    """Containers in CrashLoopBackOff, and containers that restarted repeatedly and recently."""
    found: list[Finding] = []
    for pod in _items(pods.get("items")):
        metadata, status = _obj(pod.get("metadata")), _obj(pod.get("status"))
        namespace, name = metadata.get("namespace", "default"), metadata.get("name")
        for container in [*_items(status.get("initContainerStatuses")), *_items(status.get("containerStatuses"))]:
            where = f"{namespace}/{name}/{container.get('name')}"
            restarts = int(container.get("restartCount") or 0)
            last = _obj(_obj(container.get("lastState")).get("terminated"))
            why = f"last exit {last.get('exitCode')} ({last.get('reason')})" if last else "no exit recorded"
            tail = str(last.get("message") or "").strip()
            # The termination message: with FallbackToLogsOnError, the last lines the container printed.
            printed = f"\nit printed:\n{tail}" if tail else ""
            waiting = _obj(_obj(container.get("state")).get("waiting"))
            if waiting.get("reason") == "CrashLoopBackOff":
                found.append(
                    Finding(f"pod/{where}/CrashLoopBackOff", f"container {where} is crash-looping ({restarts} restarts, {why}){printed}")
                )
                continue
            finished = _time(last.get("finishedAt"))
            if restarts >= RESTARTS and finished is not None and now - finished < timedelta(minutes=RESTART_WINDOW_MINUTES):
                found.append(Finding(f"pod/{where}/Restarts", f"container {where} restarted {restarts} times ({why}){printed}"))
    return found


def findings(nodes: Mapping[str, Any], pods: Mapping[str, Any], now: datetime, minutes: int) -> dict[str, Finding]:
    return {f.key: f for f in [*node_findings(nodes, now, minutes), *pod_findings(pods, now)]}


@dataclass(frozen=True)
class Message:
    key: str
    text: str
    resolved: bool


def plan_messages(reported: Mapping[str, Any], current: Mapping[str, Finding], cluster: str = "cluster") -> list[Message]:
    """What to send now: new or still undelivered findings, and "resolved" for delivered ones that are gone.

    `reported` maps a key to {"summary", "delivered"}; a finding delivered earlier and still there is quiet.
    """
    messages = [
        Message(key, f"[{cluster}] ALERT: {f.summary}", False)
        for key, f in sorted(current.items())
        if not _obj(reported.get(key)).get("delivered")
    ]
    messages += [
        Message(key, f"[{cluster}] RESOLVED: {_obj(entry).get('summary', key)}", True)
        for key, entry in sorted(reported.items())
        if key not in current and _obj(entry).get("delivered")
    ]
    return messages


def next_state(reported: Mapping[str, Any], current: Mapping[str, Finding], sent: Mapping[str, bool]) -> dict[str, dict[str, Any]]:
    """What is recorded after this run: every current finding (delivered once any channel took it), and
    gone findings whose "resolved" could not be delivered yet (so it is retried)."""
    state: dict[str, dict[str, Any]] = {}
    for key, f in current.items():
        before = bool(_obj(reported.get(key)).get("delivered"))
        state[key] = {"summary": f.summary, "delivered": before or sent.get(key, False)}
    for key, entry in reported.items():
        if key not in current and _obj(entry).get("delivered") and not sent.get(key, False):
            state[key] = _obj(entry)
    return state


# -- delivery ------------------------------------------------------------------------------------


def post_slack(webhook: str, text: str, opener: Callable[..., Any] = urllib.request.urlopen) -> None:
    """An incoming webhook takes a JSON body with `text` and posts to the channel it was created for
    (api.slack.com/messaging/webhooks)."""
    body = json.dumps({"text": text}).encode()
    request = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with opener(request, timeout=20) as response:
        if response.status >= 300:
            raise OSError(f"Slack answered {response.status}")


def send_mail(mail_url: str, recipients: list[str], subject: str, text: str, smtp: Callable[..., Any] | None = None) -> None:
    """Through the SMTP URL Meteor's MAIL_URL uses: smtp://user:password@host:port (STARTTLS, 587 by
    default) or smtps://... (TLS from the start, 465 by default). From: the URL's user when it is an
    address, else the first recipient."""
    url = urllib.parse.urlsplit(mail_url)
    implicit_tls = url.scheme == "smtps"
    port = url.port or (465 if implicit_tls else 587)
    host = url.hostname or "localhost"
    user = urllib.parse.unquote(url.username) if url.username else None
    password = urllib.parse.unquote(url.password) if url.password else None
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = user if user and "@" in user else recipients[0]
    message["To"] = ", ".join(recipients)
    message.set_content(text)
    context = ssl.create_default_context()
    if smtp is None:
        smtp = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": context} if implicit_tls else {}
    with smtp(host, port, timeout=30, **kwargs) as server:
        if not implicit_tls:
            server.starttls(context=context)
        if user and password:
            server.login(user, password)
        server.send_message(message)


def deliver(
    messages: list[Message], env: Mapping[str, str], slack: Callable[..., None] = post_slack, mail: Callable[..., None] = send_mail
) -> dict[str, bool]:
    """Send each message to every configured channel; a message counts as sent when one channel took it."""
    webhook, mail_url = env.get("SLACK_WEBHOOK"), env.get("MAIL_URL")
    recipients = [e for e in env.get("ALERT_EMAILS", "").split(",") if e]
    sent: dict[str, bool] = {}
    for m in messages:
        ok = False
        if webhook:
            try:
                slack(webhook, m.text)
                ok = True
            except Exception as error:  # one channel down must not stop the other
                print(f"slack: {type(error).__name__}: {error}", file=sys.stderr)
        if mail_url and recipients:
            try:
                mail(mail_url, recipients, m.text.splitlines()[0][:200], m.text)
                ok = True
            except Exception as error:
                print(f"mail: {type(error).__name__}: {error}", file=sys.stderr)
        if not ok:
            print(f"undelivered (kept for the next run): {m.text}", file=sys.stderr)
        sent[m.key] = ok
    return sent


# -- the API -------------------------------------------------------------------------------------


class Api:
    """GET and PUT against the API server with the pod's service-account token."""

    def __init__(self, base: str = API, account: str = ACCOUNT, opener: Callable[..., Any] | None = None) -> None:
        self.base = base
        with open(f"{account}/token") as f:
            self.token = f.read().strip()
        self.opener = (
            opener
            or urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl.create_default_context(cafile=f"{account}/ca.crt"))).open
        )

    def call(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Accept": "application/json", "Content-Type": "application/json"},
        )
        with self.opener(request, timeout=30) as response:
            return json.loads(response.read())


def run(api: Any, env: Mapping[str, str], now: datetime, deliver_to: Callable[..., dict[str, bool]] = deliver) -> list[Message]:
    """One pass: read, compare, send, record. The state ConfigMap is written back with the resourceVersion
    it was read at: a concurrent writer makes the PUT fail (409) rather than lose an entry."""
    namespace, state_name = env["NAMESPACE"], env["STATE_CONFIGMAP"]
    nodes = api.call("GET", "/api/v1/nodes")
    pods = api.call("GET", "/api/v1/pods")
    state_path = f"/api/v1/namespaces/{namespace}/configmaps/{state_name}"
    state_map = api.call("GET", state_path)
    reported = _obj(json.loads(str(_obj(state_map.get("data")).get(STATE_KEY) or "{}")))
    current = findings(nodes, pods, now, int(env.get("NOT_READY_MINUTES", "5")))
    messages = plan_messages(reported, current, env.get("CLUSTER_NAME", "cluster"))
    sent = deliver_to(messages, env) if messages else {}
    new_state = next_state(reported, current, sent)
    if new_state != reported:
        state_map["data"] = {**(state_map.get("data") or {}), STATE_KEY: json.dumps(new_state, sort_keys=True)}
        api.call("PUT", state_path, state_map)
    for m in messages:
        print(("sent: " if sent.get(m.key) else "pending: ") + m.text)
    print(f"{len(current)} finding(s), {len(messages)} message(s)")
    return messages


if __name__ == "__main__":
    run(Api(), os.environ, datetime.now(UTC))
