"""Value types of the stack configuration: each checks one value's own shape.

Every type is an `Annotated` string with a validator whose message reads as the second half of
an error line (`expected ...`), so the loader can print `<key>: got <value>; expected ...`.
"""

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from components import catalogue
from components.config.errors import Problems
from components.secrets import SecretValue
from components.units import BODY_SIZE, CPU, GiB, MiB, cpu_cores, human_size, quantity_value


def matching(pattern: str, expected: str) -> Callable[[str], str]:
    """A validator that accepts a value matching `pattern` whole, and otherwise says `expected`.

    Patterns here stay strings, compiled by `re`'s cache on first use: a stack compiles only the
    patterns its values meet, not every pattern of the config layer at import."""

    def check(value: str) -> str:
        if not re.fullmatch(pattern, value):
            raise ValueError(expected)
        return value

    return check


def to_camel(name: str) -> str:
    """A field's key: `keep_images` -> `keepImages`."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


class Model(BaseModel):
    """Base of every config section: camelCase keys, unknown keys refused, immutable.

    A section's default is `Section.model_construct` (every field at its default, unvalidated as
    any default is), not `Section`: calling the class would build the section's own validator, a
    second schema build beside the stack's config validator. A list or dict default is a lambda, not
    `list`/`dict`: pydantic inspects each factory's signature, and a builtin's is parsed from text.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        arbitrary_types_allowed=True,
        defer_build=True,
    )

    def own_problems(self, problems: Problems) -> None:
        """The rules about this section's own values, each problem located relative to it (e.g. `["storageProvisioner"]`).

        They run once the whole config has its shape, beside the rules across sections (components/config/rules.py)."""


_check_dns_label = matching(
    r"[a-z]([-a-z0-9]{0,38}[a-z0-9])?",
    "expected a DNS label: lowercase letters, digits and '-', starting with a letter, at most 40 characters",
)


def _check_hostname(value: str) -> str:
    label = r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?"
    if len(value) > 253 or not re.fullmatch(rf"({label}\.)+[a-z]([-a-z0-9]{{0,61}}[a-z0-9])?", value):
        raise ValueError("expected a fully qualified lowercase domain name such as app.example.com")
    return value


_IMAGE_REF = (
    r"^(?:(?P<registry>[a-z0-9]([-a-z0-9.]*[a-z0-9])?(?::[0-9]+)?)/)?"
    r"(?P<repository>[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}))?"
    r"(?:@(?P<digest>sha256:[a-f0-9]{64}))?$"
)


def image_tag(image: str) -> str | None:
    """The tag of an image reference (`mongo:7.0.16@sha256:...` -> `7.0.16`), if it has one."""
    match = re.fullmatch(_IMAGE_REF, image)
    return match.group("tag") if match else None


def is_digest_pinned(image: str) -> bool:
    match = re.fullmatch(_IMAGE_REF, image)
    return bool(match and match.group("digest"))


def _check_image(value: str) -> str:
    if not re.fullmatch(_IMAGE_REF, value):
        raise ValueError("expected a container image reference such as registry.example.com/team/app:1.2.3 or ...@sha256:<64 hex digits>")
    return value


_check_env_name = matching(r"[A-Z_][A-Z0-9_]*", "expected an environment variable name of A-Z, 0-9 and _")


def _check_mongo_url(value: SecretValue) -> SecretValue:
    if value.known and not re.match(r"^mongodb(\+srv)?://[^/\s]+", value.reveal()):
        raise ValueError("expected a mongodb:// or mongodb+srv:// URL (value hidden)")
    return value


# RFC 3986 userinfo: unreserved, sub-delims and %XX; ':', '@', '/', '?' and '#' must be percent-encoded.
_USERINFO = r"(?:[A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})+"
_MAIL_URL = (
    rf"(?P<scheme>smtps?)://(?:(?P<user>{_USERINFO})(?::(?P<password>{_USERINFO}))?@)?"
    r"(?P<host>[A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?)(?::(?P<port>[^/?@]*))?/?(\?\S*)?"
)
MAIL_PORTS = {"smtp": 587, "smtps": 465}
"""The SMTP submission ports (RFC 8314) the watcher's NetworkPolicy opens (components/observability/cluster_watch.py)."""


def mail_url_user(value: SecretValue) -> str | None:
    """The decoded user of a known, valid mailUrl (None when it has none)."""
    match = re.fullmatch(_MAIL_URL, value.reveal())
    return urllib.parse.unquote(match.group("user")) if match and match.group("user") else None


def _mail_url_match(value: SecretValue) -> re.Match[str] | None:
    """smtp(s)://[user[:password]@]host[:port] with a host, an integer port and the userinfo percent-encoded.
    Never echoes the value: it holds a password (and urlsplit's own errors quote it)."""
    if not value.known:
        return None
    match = re.fullmatch(_MAIL_URL, value.reveal())
    if match is None:
        raise ValueError(
            "expected smtp://user:password@host:587 or smtps://user:password@host:465 with a host and the user and "
            "password percent-encoded (':', '@', '/', '?', '#', '%' as %3A, %40, %2F, %3F, %23, %25) (value hidden)"
        )
    if match.group("port") is not None and not match.group("port").isdigit():
        raise ValueError("expected an integer port after the host (value hidden)")
    return match


def _check_mail_url(value: SecretValue) -> SecretValue:
    """An app's MAIL_URL: Meteor parses it with WHATWG `new URL` (packages/email), where the last `@` ends the
    credentials, so an unencoded `@` or `/` in them works there: only the scheme is checked."""
    if value.known and not re.match(r"^smtps?://[^\s]+$", value.reveal()):
        raise ValueError("expected an smtp:// or smtps:// URL (value hidden)")
    return value


def _check_alert_mail_url(value: SecretValue) -> SecretValue:
    """The watcher's mailUrl: parsed by Python's urlsplit (whose errors would quote the password), so a host, an
    integer port and percent-encoded credentials; on the submission ports only: its NetworkPolicy opens 587 and 465."""
    match = _mail_url_match(value)
    if match is not None and match.group("port") is not None and int(match.group("port")) not in MAIL_PORTS.values():
        default = MAIL_PORTS[match.group("scheme")]
        raise ValueError(
            f"expected port 587 (smtp://, STARTTLS) or 465 (smtps://), or none ({default} for {match.group('scheme')}://): "
            "the watcher's NetworkPolicy opens only those (value hidden)"
        )
    return value


# RFC 3986 path characters without quotes: the path lands in a JavaScript string (the Docker
# health check), a Traefik label and a probe.
_check_http_path = matching(
    r"/[A-Za-z0-9._~!$&()*+,;=:@%/-]{0,200}",
    "expected an absolute URL path such as / or /healthz (letters, digits and /._~!$&()*+,;=:@%-, no quotes)",
)


def _check_do_region(value: str) -> str:
    if value not in catalogue.DO_REGIONS | catalogue.DO_CLOSED_REGIONS:
        raise ValueError(f"expected a DigitalOcean region slug: one of {', '.join(sorted(catalogue.DO_REGIONS))}")
    return value


# s-2vcpu-4gb, s-2vcpu-4gb-amd, c-4, c2-8vcpu-16gb, g-2vcpu-8gb, m-4vcpu-32gb, so1_5-2vcpu-16gb ...
_DROPLET_SIZE = r"(?P<family>[a-z][a-z0-9_]*)-(\d+vcpu-\d+gb(-[a-z0-9]+)*|\d+)"


def _check_droplet_size(value: str) -> str:
    match = re.fullmatch(_DROPLET_SIZE, value)
    if match is None:
        raise ValueError("expected a droplet size slug such as s-2vcpu-4gb or c-4")
    if match.group("family") not in catalogue.DROPLET_SIZE_FAMILIES:
        raise ValueError(
            f"expected a size of a family DigitalOcean offers ({', '.join(f'{f}-' for f in catalogue.DROPLET_SIZE_FAMILIES)}; "
            f"components/catalogue.py, {catalogue.AS_OF})"
        )
    return value


_check_db_size = matching(r"(db|gd|so1_5|m)-[a-z0-9-]+", "expected a database size slug such as db-s-1vcpu-2gb")


def _check_cidr(value: str) -> str:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a CIDR block such as 203.0.113.0/24 or 2001:db8::/32") from None
    return value


_check_ssh_public_key = matching(
    r"(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-ssh-ed25519@openssh\.com) [A-Za-z0-9+/=]{40,}( .*)?",
    "expected an OpenSSH public key line such as 'ssh-ed25519 AAAA... you@host'",
)


_check_time_of_day = matching(r"([01][0-9]|2[0-3]):[0-5][0-9]", "expected a UTC time of day as HH:MM")


def _check_mongo_version(value: str) -> str:
    match = re.fullmatch(r"(\d+)\.(\d+)(?:\.(\d+))?", value)
    if match is None:
        raise ValueError("expected a MongoDB version such as 7.0 or 8.0.4")
    if int(match.group(1)) < 6:
        raise ValueError("expected 6.0 or newer (Meteor 3.5 needs it for change streams)")
    return value


DnsLabel = Annotated[str, AfterValidator(_check_dns_label)]
DoRegion = Annotated[str, AfterValidator(_check_do_region)]
DropletSize = Annotated[str, AfterValidator(_check_droplet_size)]
DatabaseSize = Annotated[str, AfterValidator(_check_db_size)]
Cidr = Annotated[str, AfterValidator(_check_cidr)]
SshPublicKey = Annotated[str, AfterValidator(_check_ssh_public_key)]
TimeOfDay = Annotated[str, AfterValidator(_check_time_of_day)]
Hostname = Annotated[str, AfterValidator(_check_hostname)]
ImageRef = Annotated[str, AfterValidator(_check_image)]
EnvName = Annotated[str, AfterValidator(_check_env_name)]
MongoUrl = Annotated[SecretValue, AfterValidator(_check_mongo_url)]
MailUrl = Annotated[SecretValue, AfterValidator(_check_mail_url)]
AlertMailUrl = Annotated[SecretValue, AfterValidator(_check_alert_mail_url)]
HttpPath = Annotated[str, AfterValidator(_check_http_path)]
MongoVersion = Annotated[str, AfterValidator(_check_mongo_version)]


# ---------------------------------------------------------------------------------------------
# Names as Kubernetes, CSI and browsers read them

_DNS_SUBDOMAIN = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*"


def _check_dns_subdomain(value: str) -> str:
    if len(value) > 253 or not re.fullmatch(_DNS_SUBDOMAIN, value):
        raise ValueError("expected a Kubernetes object name: lowercase letters, digits, '-' and '.', at most 253 characters")
    return value


def _check_csi_driver(value: str) -> str:
    if len(value) > 63 or not re.fullmatch(_DNS_SUBDOMAIN, value):
        raise ValueError(
            "expected a CSI driver name such as dobs.csi.digitalocean.com: lowercase letters, digits, '-' and '.', at most 63 characters"
        )
    return value


# An RFC 6265 token, narrowed to what is safe in a label, an annotation and a Set-Cookie header.
_check_cookie_name = matching(
    r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}",
    "expected a cookie name: letters, digits, '-' and '_', starting with a letter or digit, at most 64 characters",
)


DnsSubdomain = Annotated[str, AfterValidator(_check_dns_subdomain)]
CsiDriverName = Annotated[str, AfterValidator(_check_csi_driver)]
CookieName = Annotated[str, AfterValidator(_check_cookie_name)]


# ---------------------------------------------------------------------------------------------
# Quantities as each target reads them

_MEMORY = r"([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|k|M|G|T)"


def _memory(least: int, most: int, what: str) -> AfterValidator:
    def check(value: str) -> str:
        if not re.fullmatch(_MEMORY, value):
            raise ValueError(f"expected {what} with a unit, such as 512Mi or 1Gi (Ki, Mi, Gi, Ti, or k, M, G, T; 'm' means thousandths)")
        size = quantity_value(value)
        if not least <= size <= most:
            raise ValueError(f"expected {what} from {human_size(least)} to {human_size(most)}")
        return value

    return AfterValidator(check)


def _check_cpu(value: str) -> str:
    if not CPU.fullmatch(value):
        raise ValueError("expected CPU as cores or millicores, such as 250m, 0.5 or 2")
    if not 0.01 <= cpu_cores(value) <= 64:
        raise ValueError("expected CPU from 10m to 64 (Docker counts CPUs in hundredths)")
    return value


def _check_body_size(value: str) -> str:
    match = BODY_SIZE.fullmatch(value)
    if match is None:
        raise ValueError("expected a whole size in bytes, Ki, Mi or Gi, such as 50Mi (what ingress-nginx can express)")
    if not 1024 <= quantity_value(value) <= 64 * GiB:
        raise ValueError("expected a body size from 1Ki to 64Gi")
    return value


AppMemory = Annotated[str, _memory(64 * MiB, 1024 * GiB, "memory")]
MongoMemory = Annotated[str, _memory(256 * MiB, 1024 * GiB, "memory (mongod needs 256Mi at least)")]
VolumeSize = Annotated[str, _memory(GiB, 16 * 1024 * GiB, "a volume size")]
Cpu = Annotated[str, AfterValidator(_check_cpu)]
BodySize = Annotated[str, AfterValidator(_check_body_size)]


# ---------------------------------------------------------------------------------------------
# Networks and accounts as DigitalOcean and Linux read them

_RFC1918 = [ipaddress.IPv4Network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]


def _check_vpc_range(value: str) -> str:
    # DigitalOcean: "must be in range of private addresses as defined in RFC1918. It may not be
    # larger than /16 or smaller than /24" (pulumi-digitalocean Vpc.ip_range).
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError:
        raise ValueError("expected a private IPv4 CIDR block such as 10.120.0.0/20") from None
    if not isinstance(network, ipaddress.IPv4Network) or not any(network.subnet_of(private) for private in _RFC1918):
        raise ValueError("expected a private (RFC 1918) IPv4 range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16")
    if not 16 <= network.prefixlen <= 24:
        raise ValueError("expected a range from /16 to /24 (what DigitalOcean accepts for a VPC)")
    return value


# Accounts every Ubuntu/Debian image has: cloud-init would modify them, and sshd refuses root.
SYSTEM_USERS = frozenset(
    [
        "root",
        "daemon",
        "bin",
        "sys",
        "sync",
        "games",
        "man",
        "lp",
        "mail",
        "news",
        "uucp",
        "proxy",
        "www-data",
        "backup",
        "list",
        "irc",
        "gnats",
        "nobody",
        "systemd-network",
        "systemd-resolve",
        "systemd-timesync",
        "messagebus",
        "syslog",
        "sshd",
        "ubuntu",
        "admin",
        "docker",
    ]
)


def _check_linux_user(value: str) -> str:
    if not re.fullmatch(r"[a-z][-a-z0-9]{0,31}", value):
        raise ValueError("expected a Linux user name: lowercase letters, digits and '-', starting with a letter, at most 32 characters")
    if value in SYSTEM_USERS:
        raise ValueError("expected a user of the platform's own, not a system account (root cannot log in over ssh)")
    return value


VpcRange = Annotated[str, AfterValidator(_check_vpc_range)]
LinuxUser = Annotated[str, AfterValidator(_check_linux_user)]
