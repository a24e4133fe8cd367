"""The CloudWatch agent on EC2 Docker hosts: memory and disk use, which EC2's own metrics do not have.

Installed at boot by cloud-init (machines/cloud_init.py) from the path AWS documents for Debian and
Ubuntu, `<bucket>/debian/amd64/latest/amazon-cloudwatch-agent.deb` (docs.aws.amazon.com/AmazonCloudWatch/
latest/monitoring/install-CloudWatch-Agent-commandline-fleet.html), and verified the way AWS documents
(verify-CloudWatch-Agent-Package-Signature.html): its detached signature `<package>.sig` next to it and
AWS's key `<bucket>/assets/amazon-cloudwatch-agent.gpg` are downloaded, a key whose fingerprint is not
`versions.CLOUDWATCH_AGENT_KEY_FINGERPRINT` and a signature not made by it are refused, in a throwaway
GNUPGHOME, before dpkg sees the package. The same `.deb` serves Ubuntu and Debian: the agent's Makefile
builds one `amd64` Debian package (`package-deb`), and its only dependency is libc6
(aws/amazon-cloudwatch-agent packaging/debian/control, at ab55b8da).

The trade-off: no version is pinned. A host gets the agent release that is current when it boots
(verified by AWS's signature), so hosts booted at different times may run different releases
(`dpkg-query -W amazon-cloudwatch-agent` on a host shows which), and an agent release never changes the
user data, so it never rolls a host. A pinned version would need a digest or signature we can verify for
that exact package, and AWS documents signatures only next to the `latest` package.

The download retries with curl's own backoff (`--retry 10 --retry-all-errors --retry-max-time 600`: 1 s
doubling, every error including an HTTP one under `--fail`, at most ten minutes, for each of the three
files), so an S3 hiccup of a few minutes does not fail cloud-init. `--retry-all-errors` came with curl 7.71.0 (curl.se/ch/7.71.0.html),
which Debian has since bullseye and Ubuntu since jammy (gitlab.com/fdroid/fdroidserver/-/issues/1064):
the hosts run Debian 12 and Ubuntu 24.04.

The rendered installer and configuration carry no comments: they are part of the user data, and every
instance sets `user_data_replace_on_change`, so any change of their text (a new key fingerprint,
namespace or option) replaces the hosts; a comment here in the Python source does not.

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

The namespace is the platform's prefix (`<platform>-<stack>`, the name every resource of the stack
carries), unique per platform and stack in an account, so the instance role's PutMetricData can be
limited to it (cloudwatch:namespace condition, machines/aws.py) and one stack's hosts cannot publish
into another's.
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


def namespace(prefix: str) -> str:
    """The agent's metrics namespace: the platform's `<platform>-<stack>` prefix itself."""
    return prefix


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


def package_url() -> str:
    """The newest agent package for Debian and Ubuntu on amd64 (install-CloudWatch-Agent-commandline-fleet.html)."""
    return f"{PACKAGE_BASE}/debian/amd64/latest/amazon-cloudwatch-agent.deb"


def key_url() -> str:
    """AWS's public key for the agent's packages (verify-CloudWatch-Agent-Package-Signature.html)."""
    return f"{PACKAGE_BASE}/assets/amazon-cloudwatch-agent.gpg"


def installer_script() -> str:
    """Downloads the package, its signature (`.sig` next to it) and AWS's key, each retrying (module
    docstring); refuses a key with another fingerprint than `versions.CLOUDWATCH_AGENT_KEY_FINGERPRINT`
    and a signature not made by it (gpg's VALIDSIG status line ends with the primary key's fingerprint:
    gnupg doc/DETAILS), in a fresh GNUPGHOME whose gpg-agent `gpgconf --kill all` stops before it is
    removed; installs the package and starts the agent with the configuration (`fetch-config -m ec2 -s`,
    install-CloudWatch-Agent-commandline-fleet.html). It runs from runcmd, once per instance; a failure
    exits non-zero, which fails cloud-init (README: `pulumi up --replace` the host)."""
    fingerprint = versions.CLOUDWATCH_AGENT_KEY_FINGERPRINT
    curl = "curl -fsSL --proto =https --tlsv1.2 --retry 10 --retry-all-errors --retry-max-time 600"
    return "\n".join(
        [
            "#!/bin/sh",
            "set -eu",
            'work=$(mktemp -d); export GNUPGHOME="$work/gnupg"',
            "trap 'gpgconf --kill all 2>/dev/null || true; rm -rf \"$work\"' EXIT",
            'cd "$work"; mkdir -m 700 "$GNUPGHOME"',
            f"{curl} -o agent.deb {package_url()}",
            f"{curl} -o agent.deb.sig {package_url()}.sig",
            f"{curl} -o agent.gpg {key_url()}",
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
