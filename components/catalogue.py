"""What the providers offer, dated and sourced: the one place config validation reads it from.

Mocks accept any region, version or slug; DigitalOcean, AWS and the container runtimes do not.
Every fact here carries the day it was recorded and where it came from. When a provider retires
something, change it here (and the date): the stack files that name it then fail validation with
a message naming the key, before any resource is registered.

The deploy-time lookups stay the authority where one exists: the DOKS version is the newest patch
of the chosen minor from the provider's versions data source (components/kubernetes/digitalocean.py
fails clearly when it offers none), AMIs come from `aws.ec2.get_ami` by owner and name.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

AS_OF = date(2026, 11, 29)
"""The day the facts below were last checked against their sources."""


# ---------------------------------------------------------------------------------------------
# Kubernetes versions


@dataclass(frozen=True)
class KubernetesMinor:
    minor: str
    """`1.36`."""
    end_of_life: date
    """Upstream end of life (https://kubernetes.io/releases/<minor>/, "End Of Life Date")."""


# kubernetes.io/releases/1.33 .. 1.37, read 2026-11-29.
KUBERNETES_MINORS = {
    m.minor: m
    for m in (
        KubernetesMinor("1.33", date(2026, 6, 28)),
        KubernetesMinor("1.34", date(2026, 10, 27)),
        KubernetesMinor("1.35", date(2027, 2, 28)),
        KubernetesMinor("1.36", date(2027, 6, 28)),
        KubernetesMinor("1.37", date(2027, 10, 28)),
    )
}

DOKS_MINORS = ("1.35", "1.36", "1.37")
"""Minors a new DOKS cluster can be created with, as of AS_OF: those in upstream support.

DigitalOcean retires a minor when it becomes unsupported and upgrades its clusters to the next
supported one (docs.digitalocean.com/products/kubernetes/how-to/upgrade-cluster/, "When a minor
version becomes unsupported, we schedule an upgrade ..."). `doctl kubernetes options versions`
lists what the account is offered today; the versions data source is read again at deploy time.

Config validation cannot tell a new cluster from a deployed one (it runs before any state is read),
so a stack whose cluster still runs a retired minor states the oldest offered one, which is where
DigitalOcean's forced upgrades take it; the cluster component warns while the running minor differs
(components/kubernetes/digitalocean.py), and the README's "Versions and what DigitalOcean offers"
describes the minor-by-minor upgrade.
"""

DOKS_DEFAULT_VERSION_PREFIX = "1.36."
"""The project's choice for a new cluster: the middle of the offered minors, one behind the newest (1.37),
with upstream support until 2027-06-28 (seven months after AS_OF)."""


@dataclass(frozen=True)
class EksVersion:
    minor: str
    standard_support_ends: date
    extended_support_ends: date
    """After it EKS upgrades the cluster itself; a new cluster can no longer be created with it."""


# The EKS release calendar (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html:
# 14 months of standard support from the EKS release, then 12 months of extended support at an
# extra cost per cluster hour, enabled by default), as endoflife.date/amazon-eks lists it, read AS_OF.
EKS_CALENDAR = {
    v.minor: v
    for v in (
        EksVersion("1.31", date(2025, 11, 26), date(2026, 11, 26)),
        EksVersion("1.32", date(2026, 3, 23), date(2027, 3, 23)),
        EksVersion("1.33", date(2026, 7, 29), date(2027, 7, 29)),
        EksVersion("1.34", date(2026, 12, 2), date(2027, 12, 2)),
        EksVersion("1.35", date(2027, 3, 27), date(2028, 3, 27)),
    )
}
EKS_VERSIONS = tuple(m for m, v in EKS_CALENDAR.items() if v.extended_support_ends > AS_OF)
"""Versions a new EKS cluster can be created with at AS_OF (standard or extended support)."""
EKS_DEFAULT_VERSION = "1.35"
"""The newest version in standard support at AS_OF (until 2027-03-27; 1.34's ends on 2026-12-02): a new stack
starts without the extended-support fee. The shipped AWS stacks state 1.33 (in paid extended support since
2026-07-29): EKS upgrades one minor at a time, so they move 1.33 -> 1.34 -> 1.35 by upgrades, not by this default."""


# Cluster Autoscaler releases, one line per Kubernetes minor: "We recommend using Cluster Autoscaler with
# the Kubernetes control plane ... version for which it was meant" (kubernetes/autoscaler
# cluster-autoscaler/README.md, "Releases": CA 1.34.x for Kubernetes 1.34.x, chart 9.51.0+ for each).
# The newest patch of each line: the repository's `cluster-autoscaler-<version>` tags, read at
# 55c37cd5 (2026-08-22); each is the image registry.k8s.io/autoscaling/cluster-autoscaler:v<version>.
CLUSTER_AUTOSCALER_VERSIONS = {"1.31": "1.31.5", "1.32": "1.32.7", "1.33": "1.33.6", "1.34": "1.34.5", "1.35": "1.35.2"}
"""EKS minor -> the Cluster Autoscaler release for it (the chart, components/versions.py, runs any of them)."""


def cluster_autoscaler_tag(eks_version: str) -> str:
    """The autoscaler image tag for the cluster's Kubernetes minor (`1.33` -> `v1.33.6`); every minor in
    EKS_CALENDAR has one (a test checks it)."""
    return f"v{CLUSTER_AUTOSCALER_VERSIONS[eks_version]}"


def doks_minor(version_prefix: str) -> str:
    """`1.36.` -> `1.36`."""
    return version_prefix.rstrip(".")


# ---------------------------------------------------------------------------------------------
# DigitalOcean regions per service
#
# Spaces: as the mondoo mql DigitalOcean provider keeps them in sync with DigitalOcean's availability
# matrix (knownSpacesRegions). DOCR: as DigitalOcean's own pydo client tests `registry options`
# (available_regions). DOKS and managed MongoDB: the project's record of the availability matrix
# (docs.digitalocean.com/platform/regional-availability/), not re-read on AS_OF: the weakest entries
# here; `doctl kubernetes options regions` and `doctl databases options regions` answer for today.
# nyc2, ams2 and sfo1 take no new resources (existing ones keep running).

DO_REGIONS = frozenset({"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1", "ric1"})
"""Droplet regions."""
DO_CLOSED_REGIONS = frozenset({"nyc2"})
"""Regions that take no new resources but that stacks deployed before this catalogue may use: still
accepted, so such a stack stays manageable (a new resource there fails at the provider)."""

DO_SERVICE_REGIONS: dict[str, frozenset[str]] = {
    "Kubernetes (DOKS)": frozenset({"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1", "atl1"}),
    "Container Registry (DOCR)": frozenset({"nyc3", "sfo3", "ams3", "sgp1", "fra1"}),
    "Spaces": frozenset({"nyc3", "sfo2", "sfo3", "ams3", "sgp1", "fra1", "syd1", "tor1", "blr1"}),
    "Managed MongoDB": frozenset({"nyc1", "nyc3", "sfo2", "sfo3", "ams3", "sgp1", "lon1", "fra1", "tor1", "blr1", "syd1"}),
}


# ---------------------------------------------------------------------------------------------
# Droplet images and sizes

DROPLET_IMAGES = {"ubuntu-24-04-x64": "2029-04", "ubuntu-22-04-x64": "2027-04", "ubuntu-26-04-x64": "2031-04"}
"""Ubuntu LTS slugs a droplet can boot (`doctl compute image list-distribution`), with the month
Ubuntu's standard support ends (ubuntu.com/about/release-cycle). The platform's droplets always have
`monitoring` on, which installs DigitalOcean's metrics agent at creation; do-agent supports "Ubuntu
(oldest End Of Standard Support LTS release and later)" (github.com/digitalocean/do-agent README), so
an LTS past its standard support (ubuntu-20-04-x64, ended 2025-05-31) is refused.

ubuntu-26-04-x64: Ubuntu 26.04 LTS was released in 2026-04 (standard support to 2031-04); that
DigitalOcean offers it under this slug (its slugs follow `ubuntu-<yy>-<mm>-x64`) was not confirmed on
AS_OF. It is allowed rather than refusing an LTS image: if DigitalOcean does not offer it, the droplet
create is refused by the DigitalOcean API; `doctl compute image list-distribution` says."""

DROPLET_SIZE_FAMILIES = ("s", "c", "c2", "g", "gd", "m", "m3", "so", "so1_5")
"""Prefixes of DigitalOcean droplet size slugs (`doctl compute size list`): basic (s-), CPU-,
general purpose, memory- and storage-optimised; the project's record, not re-read on AS_OF."""


# ---------------------------------------------------------------------------------------------
# EC2 machine images and their agents

AMI_AGENTS = {
    "ubuntu": frozenset({"amazon-ssm-agent"}),
    "debian": frozenset[str](),
}
"""Agents preinstalled on the newest AMI of each distribution the platform looks up.

Canonical's Ubuntu Server AMIs ship the SSM agent (as a snap); Debian's official AMIs (account
136693071363) ship none, and the platform's cloud-init installs none. Source: the Systems Manager
user guide's list of AMIs with the SSM Agent preinstalled (Amazon Linux, SUSE, Ubuntu Server,
Windows Server, macOS; not Debian), as the project recorded it; not re-read on AS_OF.
"""
