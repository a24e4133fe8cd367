"""Container registries: where app images are pulled from.

digitalocean.py DigitalOcean Container Registry
aws.py          Amazon ECR, a repository per app
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pulumi

BUILD_CACHE_TAG_PREFIX = "buildcache-"
"""A build's layer cache is `<app>:buildcache-<stack>`, rewritten by every build (images/build.py):
the one tag an immutable-tag registry must let move (registry/aws.py excludes it)."""
PROMOTED_TAG_PREFIX = "promoted-"
"""A promotion copies an image to `<app>:promoted-<64 hex of its digest>` (images/promote.py): one tag
per digest, so it never moves and never collides."""


class Registry(Protocol):
    server: pulumi.Output[str]
    """Registry endpoint to prefix image names with (e.g. registry.digitalocean.com/team)."""
    pull_credentials: pulumi.Output[str]
    """Read-only .dockerconfigjson (secret)."""
    push_credentials: pulumi.Output[str]
    """Read-write .dockerconfigjson (secret)."""
    nodes_pull_with_role: bool
    """Cluster nodes pull through their cloud identity (ECR): apps need no imagePullSecret."""
    credential_helper: str | None
    """The Docker credential helper (`docker-credential-<name>`) that logs the machine running `pulumi up`
    in (ECR's `ecr-login`): the credentials documents name it (`credHelpers`) and hold no secret, and
    builds and promotions use that machine's Docker config. None: the documents hold the login."""
    shared_with_other_stacks: bool
    """Other stacks may run, from this very registry, a digest this stack pushed (DOCR: one registry
    per team, production runs staging's digest from it). False for per-stack repositories (ECR
    `<stack>/<app>`): a promoted stack copies into its own, so nothing outside the stack pulls them."""
