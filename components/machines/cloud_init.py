"""Cloud-init user data that boots a hardened Docker host, written once for every cloud.

Installs Docker Engine from Docker's apt repository, creates a non-root deploy user in the
`docker` group (for `ssh://deploy@host` Docker access), hardens SSH (keys only, no root), turns
on unattended security upgrades and rotates container logs. Checked by `cloud-init schema`.
"""

from __future__ import annotations

import ast
import io
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml

from components import versions

if TYPE_CHECKING:
    from components.observability.cloudwatch_agent import CloudWatchAgentSetup

# Docker's release signing key (docs.docker.com/engine/install): fingerprint, fetched by keyid.
DOCKER_APT_KEY_FINGERPRINT = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"

SSHD_HARDENING = """\
# Managed by meteor-platform: keys only, no root, no forwarding of agents or X11.
PermitRootLogin no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
AuthenticationMethods publickey
X11Forwarding no
AllowAgentForwarding no
MaxAuthTries 3
LoginGraceTime 30
"""

AUTO_UPGRADES = """\
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
"""

# Keep the Docker Engine major the platform was tested with (Traefik's Docker API support follows
# the engine); unattended upgrades still bring its patch releases.
DOCKER_APT_PIN = f"""\
Package: docker-ce docker-ce-cli docker-ce-rootless-extras
Pin: version 5:{versions.DOCKER_ENGINE_MAJOR}.*
Pin-Priority: 1001
"""

DOCKER_DAEMON = """\
{
  "log-driver": "local",
  "log-opts": {"max-size": "20m", "max-file": "5"},
  "live-restore": true,
  "no-new-privileges": true,
  "userland-proxy": false
}
"""

METADATA_ADDRESS = "169.254.169.254"
METADATA_BLOCK_UNIT = "meteor-block-metadata.service"
METADATA_BLOCK_RULE = f"DOCKER-USER -d {METADATA_ADDRESS}/32 -j REJECT --reject-with icmp-port-unreachable"
"""No container reaches the metadata service, except on the instance-role bridges below."""
DOCKER_USER_JUMP = "FORWARD -j DOCKER-USER"

INSTANCE_ROLE_BRIDGE_PREFIX = "mpimds"
"""EC2 hosts: the Linux bridges of the networks whose containers may reach the metadata service
(the app containers that use the instance role: docker/proxy.py names each `mpimds` and 9 hex digits).
iptables(8): "If the interface name ends in a "+", then any interface which begins with this name
will match". A container's packet to the metadata address is routed out of the bridge of its
default gateway's network (the instance-role network, by its gateway priority) and enters
FORWARD with that bridge as its in-interface, which no other container can claim."""


def instance_role_rule(prefix: str) -> str:
    """Lets the containers on `prefix`'s bridges through to the metadata service (returns to FORWARD,
    where Docker's own rules forward and masquerade their traffic like any other)."""
    return f"DOCKER-USER -i {prefix}+ -d {METADATA_ADDRESS}/32 -j RETURN"


# The user data is served by the metadata service, which containers would reach through the host's
# NAT: no container may, except the app containers on an instance-role network of an EC2 host
# (they need the role's credentials for S3; the README says what else they can read there). The
# rules go into DOCKER-USER before Docker starts, so no container ever runs without them: the daemon
# creates the chain only if it is missing and never deletes or modifies rules already in it
# (moby/moby v28.5.2 libnetwork/firewall_linux.go setupUserChain). The script also makes sure
# FORWARD jumps to the chain: Docker inserts that jump itself with its iptables backend
# (EnsureJumpRule deletes the identical rule, then inserts it again at the top:
# libnetwork/iptables/iptables.go, so ours is never doubled), but not with its nftables backend
# (setupUserChains returns at once), where the block would otherwise never be reached. The host's
# own requests (cloud-init, the agents) leave through OUTPUT and are not affected. The exemption is
# inserted after the block, so it sits above it (`-I` inserts at the top).
def metadata_block_script(instance_role_bridges: str | None = None) -> str:
    rules = [METADATA_BLOCK_RULE]
    what = "containers never reach the cloud metadata service"
    if instance_role_bridges is not None:
        rules.append(instance_role_rule(instance_role_bridges))
        what += ", but the app containers on the instance-role networks"
    rules.append(DOCKER_USER_JUMP)
    lines = [
        "#!/bin/sh",
        f"# Managed by meteor-platform: {what}.",
        "set -eu",
        "iptables -N DOCKER-USER 2>/dev/null || true",
        *(f"iptables -C {rule} 2>/dev/null || iptables -I {rule}" for rule in rules),
    ]
    return "\n".join(lines) + "\n"


METADATA_BLOCK_SERVICE = """\
[Unit]
Description=meteor-platform: block the cloud metadata service from containers (DOCKER-USER)
Before=docker.service

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart=/usr/local/sbin/meteor-block-metadata
"""


def docker_unit_dropin(data_mount: str | None) -> str:
    """docker.service's drop-in: the metadata block before Docker, and the data volume mounted
    before Docker (a missing mount fails Docker's start instead of writing volumes to the root disk)."""
    lines = [
        "# Managed by meteor-platform.",
        "[Unit]",
        f"Requires={METADATA_BLOCK_UNIT}",
        f"After={METADATA_BLOCK_UNIT}",
    ]
    if data_mount is not None:
        # systemd.unit(5): RequiresMountsFor adds Requires= and After= on the mount unit of the path.
        lines.append(f"RequiresMountsFor={data_mount}")
    return "\n".join(lines) + "\n"


HOST_KEY_FETCHER_SOURCE = Path(__file__).with_name("ssm_host_key.py")


def host_key_fetcher_code() -> str:
    """ssm_host_key.py as the host runs it: its own source lines without comments and docstrings. The
    user data embeds it, and every instance sets user_data_replace_on_change: a comment or docstring
    edited there must not replace the hosts. Cut from the source text (docstring lines from `ast`
    positions, comments from `tokenize`), never regenerated: `ast.unparse` renders the same module
    differently from one Python to the next (3.12 writes PEP 701 f-strings, which the 3.11 of Debian 12
    hosts cannot parse), so the hosts would be replaced whenever `pulumi up` ran on another Python."""
    source = HOST_KEY_FETCHER_SOURCE.read_text()
    docstring_lines: set[int] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and len(node.body) > 1:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                docstring_lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
    comments = {
        token.start[0]: token.start[1] for token in tokenize.generate_tokens(io.StringIO(source).readline) if token.type == tokenize.COMMENT
    }
    kept: list[str] = []
    for number, line in enumerate(source.splitlines(), start=1):
        if number in docstring_lines:
            continue
        if number in comments:
            line = line[: comments[number]].rstrip()
            if not line.strip():
                continue  # a comment line (a blank line as written stays: it may be inside a string)
        kept.append(line)
    return "\n".join(kept) + "\n"


@dataclass(frozen=True)
class HostKeyParameter:
    """EC2: the host's private ssh key lives in an SSM SecureString parameter, not in the user data."""

    region: str
    name: str
    """The parameter's name (`/meteor-platform/<stack>/...`)."""
    public_key: str
    """`ssh-ed25519 AAAA...`: written next to the private key (not secret)."""


@dataclass(frozen=True)
class DockerHostUserData:
    """What a Docker host boots with."""

    deploy_user: str
    """Non-root user in the docker group."""
    ssh_public_keys: list[str]
    """Keys allowed to log in as the deploy user."""
    distro: Literal["ubuntu", "debian"] = "ubuntu"
    """Docker apt repository flavour, matching the machine image."""
    host_key: tuple[str, str] | None = None
    """(private, public) OpenSSH ed25519 host key to install instead of generating one, so clients can pin it."""
    data_label: str | None = None
    """Filesystem label of a block-storage volume to mount under Docker's volumes (data outlives the machine)."""
    data_device: str | None = None
    """A raw volume's device path (AWS EBS): wait for it at boot and format it with `data_label` unless it has a filesystem."""
    instance_role_bridges: str | None = None
    """EC2: the bridge-name prefix of the networks whose containers may reach the metadata service."""
    host_key_parameter: HostKeyParameter | None = None
    """EC2: fetch the host key from SSM at boot instead of `host_key` (which would put it in the user data)."""
    cloudwatch_agent: CloudWatchAgentSetup | None = None
    """EC2: install the CloudWatch agent (memory and disk use for the host's alarms: observability/cloudwatch_agent.py)."""


DATA_MOUNT = "/var/lib/docker/volumes"
DATA_DEVICE_WAIT_SECONDS = 600

# What `pulumi up` runs on a new host before deploying to it: cloud-init finished (exit 2 is a
# recoverable warning) and Docker answers.
DOCKER_READY = (
    "rc=0; cloud-init status --wait >/dev/null || rc=$?; "
    'if [ "$rc" -ne 0 ] && [ "$rc" -ne 2 ]; then cloud-init status --long >&2; exit "$rc"; fi; '
    "docker info --format '{{.ServerVersion}}'"
)


def docker_host_config(spec: DockerHostUserData) -> dict[str, Any]:
    """The cloud-config document as a dict."""
    config = _base_config(spec)
    if spec.host_key is not None:
        private, public = spec.host_key
        config["ssh_deletekeys"] = True
        # Only the ed25519 type, which the given key already fills: cloud-init generates none of its own.
        config["ssh_genkeytypes"] = ["ed25519"]
        config["ssh_keys"] = {"ed25519_private": private, "ed25519_public": public}
    if spec.host_key_parameter is not None:
        # Fetched in bootcmd, an early module of cloud-init's network stage (cloud.cfg's
        # cloud_init_modules), whose unit comes before sshd: cloud-init-network.service (Ubuntu 24.04's
        # cloud-init; cloud-init.service in Debian 12's 22.4) has DefaultDependencies=no,
        # Before=sshd.service and Before=sysinit.target, and sshd (ssh.socket on Ubuntu too) keeps its
        # default dependencies, which order it after sysinit.target (canonical/cloud-init
        # systemd/cloud-init-network.service.tmpl), so sshd never serves another key. The network is
        # up: on Ubuntu that unit is not ordered after systemd-networkd-wait-online.service, but a
        # bootcmd in the user data makes cloud-init wait for the network itself (cloudinit/cmd/main.py
        # _should_wait_via_user_data: "bootcmd found"; Ubuntu's distro.wait_for_network); on Debian
        # the unit is ordered after it; the fetcher retries for minutes anyway. The ssh module ends the same stage: it must keep the key
        # (ssh_deletekeys false) and makes a key type only when its file is missing (cc_ssh.py:
        # `if os.path.exists(keyfile): continue`), so ed25519 is made only if the fetch failed (and
        # then no client trusts it). bootcmd runs before write_files (cloud.cfg's cloud_init_modules),
        # hence the fetcher's source inline; it runs on every boot and returns at once when the key
        # is already installed.
        parameter = spec.host_key_parameter
        config["ssh_deletekeys"] = False
        config["ssh_genkeytypes"] = ["ed25519"]
        config["bootcmd"] = [["python3", "-c", host_key_fetcher_code(), parameter.region, parameter.name, parameter.public_key]]
    if spec.data_label is not None:
        # Mounted before Docker is installed (cloud-init's init stage): named volumes live on the
        # block-storage volume, which DigitalOcean formats once at creation (AWS: `fs_setup` below).
        # `nofail` keeps the machine bootable (and reachable over ssh) without it; Docker itself
        # requires the mount (docker_unit_dropin), so it never starts on the empty root disk.
        config["mounts"] = [[f"LABEL={spec.data_label}", DATA_MOUNT, "ext4", "defaults,nofail,discard,noatime", "0", "2"]]
    if spec.data_label is not None and spec.data_device is not None:
        # The volume is attached after the instance starts: wait for it (bootcmd runs before
        # disk_setup and mounts), then make a filesystem only if there is none (overwrite: false),
        # so a replaced instance mounts the same data.
        wait = f"for i in $(seq 1 {DATA_DEVICE_WAIT_SECONDS // 5}); do [ -e {spec.data_device} ] && break; sleep 5; done"
        config["bootcmd"] = [*config.get("bootcmd", []), ["sh", "-c", wait]]
        config["fs_setup"] = [{"label": spec.data_label, "filesystem": "ext4", "device": spec.data_device, "overwrite": False}]
    if spec.cloudwatch_agent is not None:
        from components.observability.cloudwatch_agent import AGENT_CONFIG_PATH, INSTALLER_PATH, agent_config, installer_script

        # curl and gnupg fetch and verify the package (Debian 12's cloud image has gpgv, not gpg); the
        # configuration is written first, the installer runs after Docker is up (runcmd order).
        config["packages"] = [*config["packages"], "curl", "gnupg"]
        config["write_files"] = [
            *config["write_files"],
            {"path": AGENT_CONFIG_PATH, "permissions": "0644", "content": agent_config(spec.cloudwatch_agent)},
            {"path": INSTALLER_PATH, "permissions": "0755", "content": installer_script()},
        ]
        config["runcmd"] = [*config["runcmd"], [INSTALLER_PATH]]
    return config


def _base_config(spec: DockerHostUserData) -> dict[str, Any]:
    return {
        "package_update": True,
        "package_upgrade": True,
        "apt": {
            "sources": {
                "docker.list": {
                    "source": f"deb [arch=amd64 signed-by=$KEY_FILE] https://download.docker.com/linux/{spec.distro} $RELEASE stable",
                    "keyid": DOCKER_APT_KEY_FINGERPRINT,
                }
            }
        },
        "packages": [
            "docker-ce",
            "docker-ce-cli",
            "containerd.io",
            "docker-buildx-plugin",
            "docker-compose-plugin",
            "unattended-upgrades",
            "fail2ban",
        ],
        "groups": ["docker"],
        "users": [
            {
                "name": spec.deploy_user,
                "gecos": "meteor-platform deploy user",
                "shell": "/bin/bash",
                "groups": ["docker"],
                "lock_passwd": True,
                "ssh_authorized_keys": list(spec.ssh_public_keys),
            }
        ],
        "disable_root": True,
        "ssh_pwauth": False,
        "write_files": [
            {"path": "/etc/ssh/sshd_config.d/90-meteor-platform.conf", "permissions": "0644", "content": SSHD_HARDENING},
            {"path": "/etc/apt/apt.conf.d/20auto-upgrades", "permissions": "0644", "content": AUTO_UPGRADES},
            {"path": "/etc/docker/daemon.json", "permissions": "0644", "content": DOCKER_DAEMON},
            {"path": "/etc/apt/preferences.d/docker-engine", "permissions": "0644", "content": DOCKER_APT_PIN},
            # Written before the packages are installed: the docker-ce package's first start (after
            # its daemon-reload) already honours the drop-in.
            {
                "path": "/usr/local/sbin/meteor-block-metadata",
                "permissions": "0755",
                "content": metadata_block_script(spec.instance_role_bridges),
            },
            {"path": f"/etc/systemd/system/{METADATA_BLOCK_UNIT}", "permissions": "0644", "content": METADATA_BLOCK_SERVICE},
            {
                "path": "/etc/systemd/system/docker.service.d/10-meteor-platform.conf",
                "permissions": "0644",
                "content": docker_unit_dropin(DATA_MOUNT if spec.data_label is not None else None),
            },
        ],
        "runcmd": [
            ["systemctl", "enable", "--now", "docker", "containerd"],
            ["systemctl", "enable", "--now", "unattended-upgrades", "fail2ban"],
            ["systemctl", "restart", "ssh"],
        ],
    }


def docker_host_user_data(spec: DockerHostUserData) -> str:
    """The user data text (`#cloud-config` header and YAML)."""
    return "#cloud-config\n" + yaml.safe_dump(docker_host_config(spec), sort_keys=False, width=1000)
