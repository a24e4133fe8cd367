"""The in-cluster watcher's script: standard library only, run by the ClusterWatch CronJob.

This module is the script itself: `cluster_watch.py` ships its source in a ConfigMap and the CronJob
runs it with the pinned official `python` image (`python /watch/watch.py`). It imports nothing from
the project, so the tests call its functions directly with fake API answers, a fake Slack and a
fake SMTP server.

Each run:
1. lists the nodes and the pods through the API with the pod's service-account token, a page of
   `PAGE` at a time (`list` on nodes and pods: the only cluster-wide rights it holds);
2. finds what is wrong now (`findings`): a node whose Ready condition is not True for `minutes`, a
   container that crash-loops (one key per container, `pod/<ns>/<pod>/<container>`: waiting in
   CrashLoopBackOff, or restarted `RESTARTS` times or more and last stopped within
   `RESTART_WINDOW_MINUTES`; once reported, running again after a recent stop still counts, so the
   running spells between crashes do not resolve it);
3. compares with what it reported before (`plan_messages`), kept as JSON in a ConfigMap it alone may
   update: a new finding alerts once, a finding that is gone sends "resolved" once;
4. sends one digest (one Slack post, one email) and records what was delivered right after. A
   finding that could not be delivered (no channel, Slack or SMTP down) stays pending and is sent
   next run; one that is gone before it could be delivered is dropped.

When it cannot read the cluster (API unreachable, 403, TLS), it sends "the watcher cannot read the
cluster" with the error's type and status (never its text) and exits non-zero.
"""

from __future__ import annotations

import json
import os
import smtplib
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any, cast

RESTARTS = 5
"""Restarts of one container that count as "restarted repeatedly" ..."""
RESTART_WINDOW_MINUTES = 60
"""... when its last stop is this recent (a container that stopped restarting resolves)."""
PAGE = 250
"""Objects per list call (`?limit=&continue=`): memory holds one page and the findings, not the cluster."""
SUMMARY_KEPT = 300
"""Characters of a finding's first line kept in the state (for its RESOLVED line): the ConfigMap caps at 1 MiB."""
SLACK_TIMEOUT = 10
SMTP_TIMEOUT = 15
API_TIMEOUT = 10
"""Seconds per blocking network step (connect, each read). A run makes one Slack post and one SMTP session, after the lists: with
the reads it stays well inside the Job's activeDeadlineSeconds (120), so the state written right
after delivery is not lost to the deadline (and the digest not re-sent)."""
STATE_KEY = "reported.json"
"""The key of the state ConfigMap that holds what was reported."""
API = "https://kubernetes.default.svc"
ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
STACK_LABEL = "meteor-platform/stack"
"""The label every object of a stack carries (components/kubernetes/labels.py)."""


@dataclass(frozen=True)
class Finding:
    key: str
    """Stable across runs: `node/<name>/NotReady`, `pod/<ns>/<pod>/<container>`."""
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


def pod_findings(pods: Mapping[str, Any], now: datetime, reported: Collection[str] = (), tail_stack: str | None = None) -> list[Finding]:
    """Containers that crash-loop: waiting in CrashLoopBackOff, or restarted `RESTARTS` times or more and
    last stopped recently. A container already in `reported` stays a finding while it has restarted and
    its last stop is recent (running between two crashes is still crashing).

    `tail_stack`: forward what a container printed only for pods labelled with this stack (an existing
    cluster runs other people's pods: they are reported without their output)."""
    found: list[Finding] = []
    for pod in _items(pods.get("items")):
        metadata, status = _obj(pod.get("metadata")), _obj(pod.get("status"))
        namespace, name = metadata.get("namespace", "default"), metadata.get("name")
        ours = tail_stack is None or _obj(metadata.get("labels")).get(STACK_LABEL) == tail_stack
        for container in [*_items(status.get("initContainerStatuses")), *_items(status.get("containerStatuses"))]:
            where = f"{namespace}/{name}/{container.get('name')}"
            key = f"pod/{where}"
            restarts = int(container.get("restartCount") or 0)
            last = _obj(_obj(container.get("lastState")).get("terminated"))
            why = f"last exit {last.get('exitCode')} ({last.get('reason')})" if last else "no exit recorded"
            tail = str(last.get("message") or "").strip() if ours else ""
            # The termination message: with FallbackToLogsOnError, the last lines the container printed.
            printed = f"\nit printed:\n{tail}" if tail else ""
            waiting = _obj(_obj(container.get("state")).get("waiting"))
            finished = _time(last.get("finishedAt"))
            recent = finished is not None and now - finished < timedelta(minutes=RESTART_WINDOW_MINUTES)
            if (
                waiting.get("reason") == "CrashLoopBackOff"
                or (restarts >= RESTARTS and recent)
                or (key in reported and restarts >= 1 and recent)
            ):
                found.append(Finding(key, f"container {where} is crash-looping ({restarts} restarts, {why}){printed}"))
    return found


def findings(
    nodes: Mapping[str, Any],
    pods: Mapping[str, Any],
    now: datetime,
    minutes: int,
    reported: Collection[str] = (),
    tail_stack: str | None = None,
) -> dict[str, Finding]:
    return {f.key: f for f in [*node_findings(nodes, now, minutes), *pod_findings(pods, now, reported, tail_stack)]}


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
        # The first line only, capped: the log tail is in the alert, not in the state (1 MiB per ConfigMap).
        state[key] = {"summary": f.summary.splitlines()[0][:SUMMARY_KEPT], "delivered": before or sent.get(key, False)}
    for key, entry in reported.items():
        if key not in current and _obj(entry).get("delivered") and not sent.get(key, False):
            state[key] = _obj(entry)
    return state


# -- delivery ------------------------------------------------------------------------------------


def slack_escape(text: str) -> str:
    """&, < and > as Slack's "Escaping text" asks (api.slack.com/reference/surfaces/formatting#escaping):
    a container's output cannot then ping `<!channel>` or make a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def post_slack(webhook: str, text: str, opener: Callable[..., Any] = urllib.request.urlopen) -> None:
    """An incoming webhook takes a JSON body with `text` and posts to the channel it was created for
    (api.slack.com/messaging/webhooks)."""
    body = json.dumps({"text": slack_escape(text)}).encode()
    request = urllib.request.Request(webhook, data=body, headers={"Content-Type": "application/json"}, method="POST")
    with opener(request, timeout=SLACK_TIMEOUT) as response:
        if response.status >= 300:
            raise OSError(f"Slack answered {response.status}")


class MailUrlError(ValueError):
    """MAIL_URL does not parse; its text is never shown (urlsplit's errors quote parts of it)."""


def send_mail(
    mail_url: str, recipients: list[str], subject: str, text: str, smtp: Callable[..., Any] | None = None, sender: str | None = None
) -> None:
    """Through the SMTP URL Meteor's MAIL_URL uses: smtp://user:password@host:port (STARTTLS, 587 by
    default) or smtps://... (TLS from the start, 465 by default). From: `sender` (alerts.mailFrom), else
    the URL's user when it is an address, else the first recipient."""
    try:
        url = urllib.parse.urlsplit(mail_url)
        implicit_tls = url.scheme == "smtps"
        port = url.port or (465 if implicit_tls else 587)
    except ValueError:
        raise MailUrlError("MAIL_URL does not parse (value hidden)") from None
    host = url.hostname or "localhost"
    user = urllib.parse.unquote(url.username) if url.username else None
    password = urllib.parse.unquote(url.password) if url.password else None
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender or (user if user and "@" in user else recipients[0])
    message["To"] = ", ".join(recipients)
    message.set_content(text)
    context = ssl.create_default_context()
    if smtp is None:
        smtp = smtplib.SMTP_SSL if implicit_tls else smtplib.SMTP
    kwargs: dict[str, Any] = {"context": context} if implicit_tls else {}
    with smtp(host, port, timeout=SMTP_TIMEOUT, **kwargs) as server:
        if not implicit_tls:
            server.starttls(context=context)
        if user and password:
            server.login(user, password)
        server.send_message(message)


def _error(error: BaseException) -> str:
    """What a failure may print: its type and, for HTTP, the status; never its text (a URL, a password)."""
    if isinstance(error, urllib.error.HTTPError):
        return f"HTTP {error.code}"
    if isinstance(error, urllib.error.URLError) and isinstance(error.reason, BaseException):
        return f"{type(error).__name__} ({type(error.reason).__name__})"
    return type(error).__name__


def digest(messages: list[Message]) -> tuple[str, str]:
    """One subject and one body for every message of a run."""
    if len(messages) == 1:
        return messages[0].text.splitlines()[0][:200], messages[0].text
    alerts = sum(1 for m in messages if not m.resolved)
    cluster = messages[0].text.split("]", 1)[0].lstrip("[")
    subject = f"[{cluster}] {alerts} alert(s), {len(messages) - alerts} resolved"
    return subject, "\n\n".join(m.text for m in messages)


def deliver(
    messages: list[Message], env: Mapping[str, str], slack: Callable[..., None] = post_slack, mail: Callable[..., None] = send_mail
) -> dict[str, bool]:
    """Send every message of the run as one digest to each configured channel (one Slack post, one
    email); the run's messages count as sent when one channel took the digest."""
    webhook, mail_url = env.get("SLACK_WEBHOOK"), env.get("MAIL_URL")
    recipients = [e for e in env.get("ALERT_EMAILS", "").split(",") if e]
    subject, text = digest(messages)
    ok = False
    if webhook:
        try:
            slack(webhook, text)
            ok = True
        except Exception as error:  # one channel down must not stop the other
            print(f"slack: {_error(error)}", file=sys.stderr)
    if mail_url and recipients:
        try:
            mail(mail_url, recipients, subject, text, sender=env.get("MAIL_FROM") or None)
            ok = True
        except Exception as error:
            print(f"mail: {_error(error)}", file=sys.stderr)
    if not ok:
        print(f"undelivered (kept for the next run): {text}", file=sys.stderr)
    return {m.key: ok for m in messages}


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
        with self.opener(request, timeout=API_TIMEOUT) as response:
            return json.loads(response.read())


def list_all(api: Any, path: str) -> Iterator[dict[str, Any]]:
    """Each page of a list (`limit` and `continue`: kubernetes.io/docs/reference/using-api/api-concepts,
    "Retrieving large results sets in chunks")."""
    token = ""
    while True:
        query = urllib.parse.urlencode({"limit": PAGE, **({"continue": token} if token else {})})
        page = _obj(api.call("GET", f"{path}?{query}"))
        yield page
        token = str(_obj(page.get("metadata")).get("continue") or "")
        if not token:
            return


def run(api: Any, env: Mapping[str, str], now: datetime, deliver_to: Callable[..., dict[str, bool]] = deliver) -> list[Message]:
    """One pass: read, compare, send, record. The state ConfigMap is written back with the resourceVersion
    it was read at: a concurrent writer makes the PUT fail (409) rather than lose an entry."""
    namespace, state_name = env["NAMESPACE"], env["STATE_CONFIGMAP"]
    state_path = f"/api/v1/namespaces/{namespace}/configmaps/{state_name}"
    state_map = api.call("GET", state_path)
    reported = _obj(json.loads(str(_obj(state_map.get("data")).get(STATE_KEY) or "{}")))
    minutes, tail_stack = int(env.get("NOT_READY_MINUTES", "5")), env.get("TAIL_STACK") or None
    current: dict[str, Finding] = {}
    for page in list_all(api, "/api/v1/nodes"):
        current.update(findings(page, {}, now, minutes))
    for page in list_all(api, "/api/v1/pods"):
        current.update(findings({}, page, now, minutes, reported.keys(), tail_stack))
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


def main(api: Callable[[], Any], env: Mapping[str, str], now: datetime, deliver_to: Callable[..., dict[str, bool]] = deliver) -> int:
    """Run once; when the cluster cannot be read (API unreachable, 401/403, TLS), say so to the channels."""
    try:
        run(api(), env, now, deliver_to)
    except (OSError, ValueError) as error:  # URLError/HTTPError/ssl.SSLError are OSErrors; JSONDecodeError a ValueError
        cluster = env.get("CLUSTER_NAME", "cluster")
        text = f"[{cluster}] the watcher cannot read the cluster: {_error(error)}"
        print(text, file=sys.stderr)
        deliver_to([Message("watcher", text, False)], env)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(Api, os.environ, datetime.now(UTC)))
