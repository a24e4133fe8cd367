"""Amazon ECR: one repository per app — immutable tags but the build cache's, scanned on push,
encrypted, a lifecycle policy keeping the newest images and the live build cache. EKS nodes pull through their node role
(AmazonEC2ContainerRegistryReadOnly), so apps need no pull secret. Builds, promotions and Docker
hosts log in through the Amazon ECR credential helper (`docker-credential-ecr-login`) on the
machine that runs `pulumi up`, never with a token in the program: ECR's authorization token is new
on every call (pulumi/pulumi-docker#952), so a token in a provider's or a resource's inputs shows
a change on every preview (and a drift every day). The credentials documents below name the helper
(`credHelpers`), the same on every run:

- pulumi-docker's provider parses `registry_auth.config_file_content` with docker/cli's configfile
  and asks it for the registry's login (`GetAuthConfig`, which runs the `credHelpers` entry's
  helper): kreuzwerker/terraform-provider-docker internal/provider/provider.go
  `providerSetToRegistryAuth` / `getAuthConfigFromConfigFile` (v3.x and v4.x alike);
- pulumi-docker-build loads the host's Docker config at start (`GetAllCredentials`, which runs
  every `credHelpers` helper) and builds with those logins where an Image names no `registries`:
  pulumi/pulumi-docker-build provider/internal/host.go `newHost`, cli.go `wrap`;
- crane (promotion) reads the same config through go-containerregistry's default keychain.

The README (AWS, "Logging in to ECR") says what to install where `pulumi up` runs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws.ecr as ecr

from components.protection import stateful
from components.registry import BUILD_CACHE_TAG_PREFIX

# ECR refuses a second push to an existing IMMUTABLE tag even with the same digest
# (aws/containers-roadmap#2179), and every build rewrites its cache tag (`buildcache-<stack>`).
# IMMUTABLE_WITH_EXCLUSION keeps every other tag immutable (app builds `<stack>-<source digest>`,
# promotions `promoted-<digest>`, each written once) and lets the cache tag move. Filters
# (pulumi_aws/ecr/_inputs.py, RepositoryImageTagMutabilityExclusionFilterArgs): letters, digits
# and `._*-`, up to 128 characters, at most 2 wildcards, filter_type WILDCARD; at most 5, and only
# with a *_WITH_EXCLUSION mutability (terraform-provider-aws internal/service/ecr/repository.go:
# schema MaxItems 5, CustomizeDiff validateImageTagMutabilityExclusionFilterUsage). A deployed
# IMMUTABLE repository changes in place: neither attribute is ForceNew, and resourceRepositoryUpdate
# calls PutImageTagMutability with the filters (same file; offline_plan/provider_facts.yaml).
CACHE_TAG_FILTER = f"{BUILD_CACHE_TAG_PREFIX}*"


@dataclass(frozen=True)
class EcrRegistryArgs:
    apps: list[str]
    stack: str
    keep_images: int = 30
    protect: bool = False


def lifecycle_policy(keep: int) -> str:
    """The live build cache is never expired; everything else counts towards the newest `keep`.

    "An image that matches the tagging requirements of a rule cannot be expired by a rule with a
    lower priority" (AWS, ECR user guide, "Lifecycle policy evaluation rules"): rule 1 selects the
    cache tag (one image per repository, so its count of 1 is never exceeded) and so shields it from
    rule 2. A cache a build replaced is untagged and ages out under rule 2 like any old image; no
    rule expires untagged images by age, since the untagged manifests an image index references
    would go with them.
    """
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": "keep the live build cache",
                    "selection": {
                        "tagStatus": "tagged",
                        "tagPatternList": [CACHE_TAG_FILTER],
                        "countType": "imageCountMoreThan",
                        "countNumber": 1,
                    },
                    "action": {"type": "expire"},
                },
                {
                    "rulePriority": 2,
                    "description": f"keep the newest {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                },
            ]
        },
        sort_keys=True,
    )


ECR_CREDENTIAL_HELPER = "ecr-login"
"""awslabs/amazon-ecr-credential-helper: `docker-credential-ecr-login` on the PATH."""


def helper_dockerconfig(address: str) -> str:
    """A `.dockerconfigjson` that logs in to `address` through ECR's credential helper."""
    return json.dumps({"credHelpers": {address: ECR_CREDENTIAL_HELPER}}, sort_keys=True)


class EcrRegistry(pulumi.ComponentResource):
    repositories: dict[str, ecr.Repository]
    server: pulumi.Output[str]
    pull_credentials: pulumi.Output[str]
    push_credentials: pulumi.Output[str]
    nodes_pull_with_role: bool = True
    credential_helper: str | None = ECR_CREDENTIAL_HELPER
    shared_with_other_stacks: bool = False

    def __init__(self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:registry:EcrRegistry", name, None, opts)
        self.repositories = {}
        for app in args.apps:
            repository = ecr.Repository(
                f"{name}-{app}",
                name=f"{args.stack}/{app}",
                image_tag_mutability="IMMUTABLE_WITH_EXCLUSION",
                image_tag_mutability_exclusion_filters=[{"filter": CACHE_TAG_FILTER, "filter_type": "WILDCARD"}],
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS"}],
                opts=stateful(args.protect, parent=self),
            )
            # One policy per repository, `policy` ForceNew and no Update (terraform-provider-aws
            # internal/service/ecr/lifecycle_policy.go): replaced create-first, the new policy would be put
            # and then the old one's delete (DeleteLifecyclePolicy on the same repository) would remove it.
            ecr.LifecyclePolicy(
                f"{name}-{app}",
                repository=repository.name,
                policy=lifecycle_policy(args.keep_images),
                opts=pulumi.ResourceOptions(parent=self, delete_before_replace=True),
            )
            self.repositories[app] = repository
        # `<registry>/<stack>` so `<server>/<app>` names the app's repository; known once every repository exists.
        urls = [r.repository_url for r in self.repositories.values()]
        self.server = pulumi.Output.all(*urls).apply(lambda found: f"{found[0].split('/')[0]}/{args.stack}")
        # No credential in it, but the contract's credentials are secrets: kept so, whatever fills them.
        credentials = self.server.apply(lambda server: helper_dockerconfig(server.split("/")[0]))
        self.pull_credentials = pulumi.Output.secret(credentials)
        self.push_credentials = pulumi.Output.secret(credentials)
        self.register_outputs({"server": self.server})
