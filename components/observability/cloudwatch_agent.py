"""The CloudWatch agent on EC2 Docker hosts: memory and disk use, which EC2's own metrics do not have.

Installed at boot by cloud-init (machines/cloud_init.py) from AWS's versioned Debian package
(the same .deb serves Ubuntu and Debian: docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/
download-CloudWatch-Agent-on-EC2-Instance-commandline-first.html lists one `debian/amd64` package for
both), pinned to `versions.CLOUDWATCH_AGENT_VERSION` and verified with gpg against the signing key's
pinned fingerprint before dpkg sees it (verify-CloudWatch-Agent-Package-Signature.html: download the
key, check its fingerprint, verify the `.sig`). The versioned path is the `latest` path with the version
in its place (e.g. `debian/amd64/1.300040.0b650/amazon-cloudwatch-agent.deb`, used as such in public
provisioning scripts).

What it publishes, and so what the alarms in aws_hosts.py match dimension for dimension (CloudWatch
matches an alarm's dimension set exactly: an alarm on {InstanceId} never sees a metric published with
{InstanceId, path}):
- `mem_used_percent` with `InstanceId` (the `mem` plugin's `used_percent`, prefixed by the plugin name;
  `append_dimensions` `InstanceId: ${aws:InstanceId}` adds the only dimension: docs.aws.amazon.com/
  AmazonCloudWatch/latest/monitoring/CloudWatch-Agent-Configuration-File-Details.html, "append_dimensions");
- `disk_used_percent` with `InstanceId`, `path` and `fstype`: the disk plugin tags each sample with
  `path`, `device` and `fstype` (the AMS guide's agent disk alarm, docs.aws.amazon.com/managedservices/
  latest/accelerate-guide/acc-mem-config-ex.html, dimensions InstanceId, device, fstype), and
  `drop_device: true` leaves `device` out ("Setting this to true causes Device to not be included as a
  dimension for disk metrics", CloudWatch-Agent-Configuration-File-Details.html), so a replaced
  volume's new NVMe name never orphans an alarm. Both filesystems are ext4 (the AMIs' root, and
  `fs_setup` for the data volume).

The namespace is the stack's own (`meteor-platform/<stack>`), so the instance role's PutMetricData can
be limited to it (cloudwatch:namespace condition, aws_hosts.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from components import versions

AGENT_CONFIG_PATH = "/opt/aws/amazon-cloudwatch-agent/etc/meteor-platform.json"
AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"
INSTALLER_PATH = "/usr/local/sbin/meteor-install-cloudwatch-agent"
PACKAGE_BASE = "https://amazoncloudwatch-agent.s3.amazonaws.com"
FILESYSTEM = "ext4"
MEMORY_METRIC = "mem_used_percent"
DISK_METRIC = "disk_used_percent"
COLLECTION_SECONDS = 60


def namespace(stack: str) -> str:
    return f"meteor-platform/{stack}"


@dataclass(frozen=True)
class CloudWatchAgentSetup:
    """What the agent on a host watches."""

    namespace: str
    disk_paths: tuple[str, ...]
    """Mount points whose use it reports: `/`, and the data volume's mount on the host that has one."""


def agent_config(setup: CloudWatchAgentSetup) -> str:
    """amazon-cloudwatch-agent's JSON configuration (metrics only: no logs, no traces)."""
    return json.dumps(
        {
            # run_as_user: the package's own unprivileged `cwagent` user. /proc/meminfo and statfs() need no
            # privilege, only search permission on the path: Docker keeps /var/lib/docker 0711 ("execute
            # permissions for all users ... can traverse this path", moby daemon/daemon_unix.go setupDaemonRoot),
            # so the data volume's mount under it is reachable.
            "agent": {"metrics_collection_interval": COLLECTION_SECONDS, "run_as_user": "cwagent"},
            "metrics": {
                "namespace": setup.namespace,
                "append_dimensions": {"InstanceId": "${aws:InstanceId}"},
                "metrics_collected": {
                    "mem": {"measurement": ["mem_used_percent"]},
                    "disk": {"measurement": ["used_percent"], "resources": list(setup.disk_paths), "drop_device": True},
                },
            },
        },
        indent=2,
        sort_keys=True,
    )


def installer_script() -> str:
    """Downloads the pinned package, its signature and AWS's key; refuses a key with another fingerprint
    and a signature not made by it (gpg's VALIDSIG status line ends with the primary key's fingerprint:
    gnupg doc/DETAILS); installs it and starts it with the configuration (`fetch-config -m ec2 -s`,
    install-CloudWatch-Agent-commandline-fleet.html). Idempotent: it runs from runcmd, once per instance."""
    base = f"{PACKAGE_BASE}/debian/amd64/{versions.CLOUDWATCH_AGENT_VERSION}"
    fingerprint = versions.CLOUDWATCH_AGENT_KEY_FINGERPRINT
    return "\n".join(
        [
            "#!/bin/sh",
            "# Managed by meteor-platform: the CloudWatch agent, pinned and verified.",
            "set -eu",
            'work=$(mktemp -d); trap \'rm -rf "$work"\' EXIT; cd "$work"',
            'export GNUPGHOME="$work/gnupg"; mkdir -m 700 "$GNUPGHOME"',
            "for attempt in 1 2 3 4 5 6; do",
            f"  curl -fsSL --proto =https --tlsv1.2 -o agent.deb {base}/amazon-cloudwatch-agent.deb &&",
            f"  curl -fsSL --proto =https --tlsv1.2 -o agent.deb.sig {base}/amazon-cloudwatch-agent.deb.sig &&",
            f"  curl -fsSL --proto =https --tlsv1.2 -o agent.gpg {PACKAGE_BASE}/assets/amazon-cloudwatch-agent.gpg && break",
            '  [ "$attempt" -lt 6 ] || exit 1; sleep 10',
            "done",
            "fpr=$(gpg --batch --with-colons --show-keys agent.gpg | awk -F: '$1 == \"fpr\" { print $10; exit }')",
            f'[ "$fpr" = "{fingerprint}" ] || {{ echo "unexpected CloudWatch agent key: $fpr" >&2; exit 1; }}',
            "gpg --batch --quiet --import agent.gpg",
            f"gpg --batch --status-fd 1 --verify agent.deb.sig agent.deb | grep -Eq '^\\[GNUPG:\\] VALIDSIG .* {fingerprint}$' "
            '|| { echo "the CloudWatch agent package is not signed by its key" >&2; exit 1; }',
            "dpkg -i -E agent.deb",
            f"{AGENT_CTL} -a fetch-config -m ec2 -s -c file:{AGENT_CONFIG_PATH}",
            "",
        ]
    )
