"""A probe that answers how full a DigitalOcean host's data volume is, for an uptime check to watch.

Why not the droplet's own disk alert: the data volume is mounted at /var/lib/docker/volumes
(machines/cloud_init.py DATA_MOUNT), and DigitalOcean's metrics agent skips every mount point under
/var/lib/docker/ (do-agent cmd/do-agent/config_filesystem.go: `ignoredMountPoints` matches
`var/(lib|run)/docker/[^$]+`), so `v1/insights/droplet/disk_utilization_percent` never sees the
volume, and DigitalOcean offers no volume metric to alert on (the MonitorAlert types list none).

So the first host runs a tiny busybox `httpd` whose CGI script runs `df` on an empty Docker volume of
its own: every named volume lives on the data volume's filesystem, so `df` reports that filesystem
(and the probe reads none of the data). It answers 200 below `alerts.thresholds.diskPercent` and 503
at or above it (the status only: the body tells no fill level or threshold); Traefik routes
`PROBE_PATH` on the app's domain to it, behind an in-flight and a per-client rate limit, and a
DigitalOcean uptime check with a "down" alert (components/observability/digitalocean.py) watches it.
The same check also fails when the host itself is unreachable or being rolled.

Unverified: DigitalOcean's Uptime reference and API pages do not say which status codes count as
"down", and some uptime services count any HTTP answer, 5xx included, as "up". A probe that closed
the connection instead would not help: Traefik in front would answer the check 502 (Traefik FAQ,
"Why is Traefik answering XXX": 502 "when an error happens while contacting the upstream service").
The README's "Uptime and alerts on DigitalOcean" gives the one-time check that settles it.

The probe's volume holds nothing, so it is neither protected nor kept on delete: `up` drops the
probe when a second host arrives, uptime checks move off DigitalOcean (with a warning: the volume is then
unwatched), the stack loses its alert destinations (the probe only feeds an alert) or the first domain goes.
Policy rule stateful-protected-in-production skips it by its parent's type in its URN
(policy/rules.py DISPOSABLE_PARENTS), not by a label: every Docker volume argument is ForceNew, so a
label would replace the deployed volume while the probe still mounts it.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_docker as docker

from components.docker import DockerHost
from components.docker.hardening import limits, service_container_defaults
from components.docker.proxy import CERT_RESOLVER
from components.machines.cloud_init import DATA_MOUNT

PROBE_PATH = "/.well-known/meteor-platform/data-volume"
"""Under /.well-known/ (RFC 8615): a path no Meteor app routes."""
PROBE_PORT = 8080
PROBE_MOUNT = "/probe"
CGI = "/cgi-bin/data-volume"
PROBE_USER = "61000:61000"
"""A UID of the probe's own, no other container's: RLIMIT_NPROC counts processes per UID on the host
(components/docker/hardening.py MAX_PROCESSES), so sharing Traefik's 65534 would let a flood of CGI
processes starve Traefik of its own process budget, and the reverse."""
IN_FLIGHT = 4
"""Requests Traefik lets through to the probe at once (inflightreq: by request host when no source
criterion is set, one bucket for the probe's single domain); more get 429 at once."""
RATE_PER_SECOND, RATE_BURST = 2, 4
"""Requests per second per client IP (ratelimit: by remote address by default), a token bucket of
RATE_BURST. DigitalOcean checks each region about once a minute: far below it."""


def unwatched_data_volume(uptime_checks: str | None) -> str:
    """Why a DigitalOcean Docker host's data volume has no probe with uptime checks off DigitalOcean: only a
    DigitalOcean uptime check reads the probe (the Route 53 checks watch the apps' health paths only)."""
    return (
        f"The data volume (mounted at {DATA_MOUNT}) is unwatched: DigitalOcean's droplet disk alert does not see it, "
        f"and the probe that reports its fill level is read by a DigitalOcean uptime check, which alerts.uptimeChecks: "
        f"{uptime_checks} leaves out. Set alerts.uptimeChecks: digitalocean (the default on DigitalOcean) to have it watched, "
        "or watch the volume's fill level yourself."
    )


def probe_script(limit_percent: int) -> str:
    """The CGI script: 503 when the filesystem under PROBE_MOUNT is `limit_percent` full or more (or unreadable).

    busybox httpd turns a CGI's leading `Status: NNN reason` header into the response's status line
    (networking/httpd.c, send_cgi_and_wait: `memcmp(rbuf, "Status: ", 8)`). The body is the status
    word only: how full the volume is, and where the limit sits, stay on the host."""
    return f"""#!/bin/sh
export PATH=/bin:/usr/bin
used=$(df -P {PROBE_MOUNT} | awk 'NR == 2 {{ sub("%", "", $5); print $5 }}')
if [ -n "$used" ] && [ "$used" -lt {limit_percent} ]; then
  printf 'Status: 200 OK\\r\\nContent-Type: text/plain\\r\\n\\r\\nok\\n'
else
  printf 'Status: 503 Service Unavailable\\r\\nContent-Type: text/plain\\r\\n\\r\\nunavailable\\n'
fi
"""


@dataclass(frozen=True)
class DataVolumeProbeArgs:
    host: DockerHost
    """The host whose Docker volumes live on the data volume (the first one)."""
    image: str
    domain: str
    """A public domain routed to this host: the probe answers at `https://<domain>PROBE_PATH`."""
    terminates_tls: bool
    """Traefik on the host holds the domain's certificate (no load balancer in front)."""
    limit_percent: int


class DataVolumeProbe(pulumi.ComponentResource):
    container: docker.Container

    def __init__(self, name: str, args: DataVolumeProbeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:observability:DataVolumeProbe", name, None, opts)
        on_host = pulumi.ResourceOptions(parent=self, depends_on=list(args.host.networks))
        names = args.host.names
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=on_host)
        probe = names.of("data-volume-probe")  # the container, its volume, and Traefik's router, middleware and service
        # Empty, and on the data volume's filesystem like every named volume: `df` on it measures that filesystem.
        # Not `data_volume(...)`: nothing to protect or keep, so dropping the probe deletes it with the container.
        volume = docker.Volume(f"{name}-volume", name=probe, opts=on_host)
        router = f"traefik.http.routers.{probe}"
        labels: dict[str, pulumi.Input[str]] = {
            "traefik.enable": "true",
            "traefik.docker.network": names.edge,
            # Longer than the app's `Host(...)` rule: Traefik's default priority (the rule's length) picks it.
            f"{router}.rule": f"Host(`{args.domain}`) && Path(`{PROBE_PATH}`)",
            f"{router}.entrypoints": "websecure" if args.terminates_tls else "web",
            f"{router}.service": probe,
            # Limits first, before the request reaches the CGI (Traefik docs, Docker labels reference:
            # `inflightreq.amount`, `ratelimit.average`/`.burst`/`.period`; Traefik v3, components/versions.py).
            f"{router}.middlewares": f"{probe}-inflight,{probe}-ratelimit,{probe}-cgi",
            f"traefik.http.middlewares.{probe}-inflight.inflightreq.amount": str(IN_FLIGHT),
            f"traefik.http.middlewares.{probe}-ratelimit.ratelimit.average": str(RATE_PER_SECOND),
            f"traefik.http.middlewares.{probe}-ratelimit.ratelimit.burst": str(RATE_BURST),
            f"traefik.http.middlewares.{probe}-ratelimit.ratelimit.period": "1s",
            f"traefik.http.middlewares.{probe}-cgi.replacepath.path": CGI,
            f"traefik.http.services.{probe}.loadbalancer.server.port": str(PROBE_PORT),
        }
        if args.terminates_tls:
            labels[f"{router}.tls"] = "true"
            labels[f"{router}.tls.certresolver"] = CERT_RESOLVER
        start = f"mkdir -p /www/cgi-bin && printf '%s' \"$PROBE_SCRIPT\" > /www{CGI} && chmod 755 /www{CGI} && exec httpd -f -p {PROBE_PORT} -h /www"
        self.container = docker.Container(
            f"{name}-container",
            name=probe,
            image=image.image_id,
            command=["sh", "-c", start],
            envs=[f"PROBE_SCRIPT={probe_script(args.limit_percent)}"],
            volumes=[{"volume_name": volume.name, "container_path": PROBE_MOUNT, "read_only": True}],
            # The script is written at start (the root filesystem is read-only); Docker mounts a tmpfs noexec unless told `exec`.
            tmpfs={"/www": "rw,exec,nosuid,size=64k,mode=1777"},
            labels=[{"label": k, "value": v} for k, v in sorted(labels.items())],
            networks_advanced=[{"name": names.edge}],
            restart="unless-stopped",
            user=PROBE_USER,
            capabilities={"drops": ["ALL"]},
            read_only=True,
            opts=on_host,
            **service_container_defaults(),
            **limits(32, "0.1"),
        )
        self.register_outputs({})
