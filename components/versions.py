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
# Answers how full a DigitalOcean host's data volume is (its `httpd` and `df` applets: busybox defconfig).
# The multi-arch index of busybox:1.37.0 as docker-library/repo-info records it: repos/busybox/remote/1.37.0.md
# ("docker pull busybox@sha256:9db7b599…", OCI image index, 17 platforms; at 01a7054230d50b3dccaf8d579f161c522be8c9f0).
BUSYBOX_IMAGE = "busybox:1.37.0@sha256:9db7b59979c38555a39def84a31fb98b5296952f9e3afd4f6f11f05b07adfab0"

# The in-cluster watcher (components/observability/cluster_watch.py) runs a standard-library script on the
# official `python` image: the multi-arch index of python:3.13-alpine3.22 (Python 3.13.11, Alpine 3.22.2)
# as docker-library/repo-info records it: repos/python/remote/3.13-alpine3.22.md ("docker pull
# python@sha256:ab45bd32…", OCI image index; read from its mirror maxmood96/repo-info at
# 0028dcd4f03052b7bd3cfe67413a5053ee515ac2).
PYTHON_IMAGE = "python:3.13-alpine3.22@sha256:ab45bd32143151fe060d48218b91df43a289166e72ec7877823b1c972580bed3"

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
# EKS: the chart runs the autoscaler release of the cluster's minor (image.tag from
# components/catalogue.py CLUSTER_AUTOSCALER_VERSIONS); 9.59.0 (appVersion 1.35.0) is the newest chart
# at kubernetes/autoscaler 55c37cd5, within "9.51.0+" for every minor EKS offers; the repository is the
# chart README's (`helm repo add autoscaler https://kubernetes.github.io/autoscaler`).
CLUSTER_AUTOSCALER_CHART = Chart("cluster-autoscaler", "https://kubernetes.github.io/autoscaler", "9.59.0")


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


@dataclass(frozen=True)
class NodeImage:
    """A `node:<version>-<debian>-slim` tag of Docker Hub's official `node` repository."""

    version: str
    debian: str
    released: str
    """When this Node release came out (the official image follows within days)."""
    since: str
    """The first version of this line docker-node built on `debian`: earlier ones have no such tag."""

    @property
    def major(self) -> int:
        return int(self.version.split(".", 1)[0])

    @property
    def tag(self) -> str:
        return f"node:{self.version}-{self.debian}-slim"


# Published tags, from nodejs/docker-node (the Dockerfiles behind Docker Hub's `node`): Node 12 and
# 14 were only ever built on stretch, buster and bullseye (their `12/`, `14/` directories and
# versions.json variants; both reached end of life before Debian bookworm came out in 2023-06), so
# there is no `node:14-bookworm-slim`; Node 20, 22 and 24 are built on bookworm. The version of a
# line is its newest release we checked (12.22.12 and 14.21.3 are the last ones of their lines).
# `since`: the first version of the line in docker-node's `<line>/<debian>-slim/Dockerfile` history
# (`git log --reverse`): 12/ and 14/bullseye-slim were added in 17466c81 (2021-08-16) at 12.22.5
# and 14.17.5, 20/bookworm-slim at 20.3.0, 22/ at 22.0.0, 24/ at 24.0.0 (b3ae4060).
# 24.15.0 is the Node Meteor 3.5 ships: docker-node 58635ae7 (2026-04-16) set it in
# 24/bookworm-slim/Dockerfile.
NODE_IMAGES = (
    NodeImage("12.22.12", "bullseye", "2022-04-05", since="12.22.5"),
    NodeImage("14.21.3", "bullseye", "2023-02-16", since="14.17.5"),
    NodeImage("20.18.0", "bookworm", "2024-10-03", since="20.3.0"),
    NodeImage("22.11.0", "bookworm", "2024-10-29", since="22.0.0"),
    NodeImage("24.15.0", "bookworm", "2026-04-16", since="24.0.0"),
)

# The Node line of each Meteor line, from its first release on (Meteor's changelog): 2.0 moved to
# Node 12, 2.3 to Node 14 (the last line with Fibers), 3.0 to Node 20, 3.1 to Node 22, 3.5 to
# Node 24. Meteor 1.x bundles older Node lines: the `meteor` Dockerfile does not build them (the
# legacy `meteord` one does). The Dockerfile also checks the bundle's own `.node_version.txt`
# against the runtime's major version, so a wrong entry fails the build, never the running app;
# `apps[].build.nodeVersion` overrides the version (its major picks the Debian release).
NODE_FOR_METEOR = ((2, 0, 12), (2, 3, 14), (3, 0, 20), (3, 1, 22), (3, 5, 24))
"""(Meteor major, minor, Node major): the line from that Meteor release until the next entry."""
OLDEST_METEOR_BUILT = "2.0"
NEWEST_METEOR_LINE = (3, 5)
"""The newest Meteor line whose Node line is known. Meteor moves Node with minor releases (3.1 and 3.5
did), so a newer line is refused for a build until `apps[].build.nodeVersion` or this catalogue says
which Node it runs on."""
METEORD_ONBUILD_IMAGE = "meteorhacks/meteord:onbuild"
"""Legacy MeteorD base: its ONBUILD steps bundle the app with its own release (Meteor 1.x apps)."""


def release_tuple(release: str) -> tuple[int, ...] | None:
    """`3.1.2` -> (3, 1, 2); `3.5-rc.1` -> (3, 5); None when it does not start with numbers."""
    numbers: list[int] = []
    for part in release.split("-", 1)[0].split("."):
        if not part.isdigit():
            break
        numbers.append(int(part))
    return tuple(numbers) if numbers else None


def node_image_of_line(major: int) -> NodeImage | None:
    """The published image of a Node major version, if the platform knows one."""
    return next((image for image in NODE_IMAGES if image.major == major), None)


def meteor_line(release: str) -> tuple[int, int] | None:
    """`3.1.2` -> (3, 1); `3` -> (3, 0); None when `release` does not start with a number."""
    version = release_tuple(release)
    if version is None:
        return None
    padded = (*version, 0)
    return padded[0], padded[1]


def newer_than_known(release: str) -> bool:
    """Whether Meteor `release` is of a line after `NEWEST_METEOR_LINE` (its Node line is unknown)."""
    line = meteor_line(release)
    return line is not None and line > NEWEST_METEOR_LINE


def node_for_meteor(release: str) -> NodeImage | None:
    """The Node image Meteor `release` runs on (`3.1.2` -> node:22.11.0-bookworm-slim); None before 2.0
    and after `NEWEST_METEOR_LINE`."""
    line = meteor_line(release)
    if line is None or line > NEWEST_METEOR_LINE:
        return None
    node: int | None = None
    for meteor_major, meteor_minor, node_major in NODE_FOR_METEOR:
        if line >= (meteor_major, meteor_minor):
            node = node_major
    return node_image_of_line(node) if node is not None else None


# Machine images by data-source lookup (owner account and name filter), never a hard-coded id.
AWS_AMI_OWNERS = {"ubuntu": "099720109477", "debian": "136693071363"}
"""Canonical (Ubuntu) and Debian's official AWS accounts."""
AWS_AMI_NAMES = {
    "ubuntu": "ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*",
    "debian": "debian-12-amd64-*",
}

# The CloudWatch agent EC2 Docker hosts install (components/observability/cloudwatch_agent.py): no version
# is pinned. Each host installs the release that is current when it boots, from AWS's documented `latest`
# path (install-CloudWatch-Agent-commandline-fleet.html), refused unless AWS's key below signed it
# (verify-CloudWatch-Agent-Package-Signature.html). The trade-off: hosts booted at different times may
# run different agent releases (`dpkg-query -W amazon-cloudwatch-agent` on a host shows which), and an
# agent release never changes the user data, so it never rolls a host. Changing the fingerprint does
# change the user data, and `user_data_replace_on_change` then REPLACES EVERY HOST on the next `up`
# (README, "Upgrading a deployed aws-hosts stack").
CLOUDWATCH_AGENT_KEY_FINGERPRINT = "937616F3450B7D806CBD9725D58167303B789C72"
"""The agent's package signing key (docs.aws.amazon.com/AmazonCloudWatch/latest/
monitoring/verify-CloudWatch-Agent-Package-Signature.html: "9376 16F3 450B 7D80 6CBD 9725 D581 6730 3B78 9C72")."""
