"""Every infrastructure image, chart and engine version the platform deploys, in one place.

Each image accepts `name:tag@sha256:<digest>`: pinning by digest is a one-line change here, and a
test checks every image the shipped plans run comes from this module (or from the stack's config).
"""

from __future__ import annotations

from dataclasses import dataclass

# Traefik >= v3.6.1 talks to Docker Engine 29 (minimum API 1.44); older ones load no routes while
# their health check passes. v3.7.11 is the appVersion of the Traefik chart pinned below.
TRAEFIK_IMAGE = "traefik:v3.7.11"
MONGO_VERSION = "7.0.16"
MINIO_IMAGE = "minio/minio:RELEASE.2025-04-22T22-12-26Z"
MINIO_CLIENT_IMAGE = "minio/mc:RELEASE.2025-04-16T18-13-26Z"
# Between Traefik and the Docker socket on Docker hosts: only the read calls Traefik needs.
DOCKER_SOCKET_PROXY_IMAGE = "tecnativa/docker-socket-proxy:v0.3.0"

DOCKER_ENGINE_MAJOR = 28
"""The Docker Engine major version the cloud machines install and keep (apt pin); Traefik above supports it."""


@dataclass(frozen=True)
class Chart:
    name: str
    repo: str
    version: str


TRAEFIK_CHART = Chart("traefik", "https://traefik.github.io/charts", "41.3.0")
CERT_MANAGER_CHART = Chart("cert-manager", "https://charts.jetstack.io", "v1.21.1")
METRICS_SERVER_CHART = Chart("metrics-server", "https://kubernetes-sigs.github.io/metrics-server/", "3.12.2")


# The official `mongo` image's multi-arch index (OCI image index: linux/amd64, linux/arm64/v8 and
# Windows) per version, as docker-library/repo-info records it: repos/mongo/remote/7.0.16.md
# ("docker pull mongo@sha256:725b4cfe…", Manifest MIME application/vnd.oci.image.index.v1+json;
# read from its mirror maxmood96/repo-info at 2359732a496b190a8a451944e73c5fb826dc0f98).
MONGO_DIGESTS = {"7.0.16": "sha256:725b4cfe87014950ce9b423ac0a03035f6014a33475030403a3e583eb1485045"}


def mongo_image(version: str) -> str:
    """`mongo:<version>`, pinned by digest when this module knows the version's (config refuses an
    unpinned one outside dev)."""
    digest = MONGO_DIGESTS.get(version)
    return f"mongo:{version}@{digest}" if digest else f"mongo:{version}"


# The Node.js each Meteor line runs on (its dev bundle): 2.x on Node 14 (the last release line with
# Fibers), 3.0 on Node 20, 3.1 and later on Node 22. The Meteor Dockerfile checks the bundle's own
# `.node_version.txt` against the runtime's major version, so a wrong entry fails the build, never
# the running app; `apps[].build.nodeVersion` overrides it.
NODE_FOR_METEOR = {"2": "14.21.3", "3.0": "20.18.0", "3": "22.11.0"}
METEORD_ONBUILD_IMAGE = "meteorhacks/meteord:onbuild"
"""Legacy MeteorD base: its ONBUILD steps bundle the app with its own release (Meteor 1.x apps)."""


def node_for_meteor(release: str) -> str:
    """The Node version the runtime image uses for Meteor `release` (`3.1.2` -> `22.11.0`)."""
    major, _, rest = release.partition(".")
    minor = rest.split(".", 1)[0]
    return NODE_FOR_METEOR.get(f"{major}.{minor}") or NODE_FOR_METEOR.get(major) or NODE_FOR_METEOR["3"]


# Kubernetes versions EKS offers in standard support (docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html).
EKS_VERSIONS = ("1.31", "1.32", "1.33", "1.34")
EKS_DEFAULT_VERSION = "1.33"
# Machine images by data-source lookup (owner account and name filter), never a hard-coded id.
AWS_AMI_OWNERS = {"ubuntu": "099720109477", "debian": "136693071363"}
"""Canonical (Ubuntu) and Debian's official AWS accounts."""
AWS_AMI_NAMES = {
    "ubuntu": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
    "debian": "debian-12-amd64-*",
}
