"""Amazon ECR: one repository per app — immutable tags, scanned on push, encrypted, a lifecycle
policy keeping the newest images. EKS nodes pull through their node role
(AmazonEC2ContainerRegistryReadOnly), so apps need no pull secret; builds and Docker hosts use an
authorization token issued for the deployer at every `pulumi up` (valid 12 hours), also the
secret push-credentials output for CI.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws.ecr as ecr

from components.protection import stateful


@dataclass(frozen=True)
class EcrRegistryArgs:
    apps: list[str]
    stack: str
    keep_images: int = 30
    protect: bool = False


def lifecycle_policy(keep: int) -> str:
    return json.dumps(
        {
            "rules": [
                {
                    "rulePriority": 1,
                    "description": f"keep the newest {keep} images",
                    "selection": {"tagStatus": "any", "countType": "imageCountMoreThan", "countNumber": keep},
                    "action": {"type": "expire"},
                }
            ]
        },
        sort_keys=True,
    )


class EcrRegistry(pulumi.ComponentResource):
    repositories: dict[str, ecr.Repository]
    server: pulumi.Output[str]
    pull_credentials: pulumi.Output[str]
    push_credentials: pulumi.Output[str]
    nodes_pull_with_role: bool = True
    shared_with_other_stacks: bool = False

    def __init__(self, name: str, args: EcrRegistryArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("meteor-platform:registry:EcrRegistry", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.repositories = {}
        for app in args.apps:
            repository = ecr.Repository(
                f"{name}-{app}",
                name=f"{args.stack}/{app}",
                image_tag_mutability="IMMUTABLE",
                image_scanning_configuration={"scan_on_push": True},
                encryption_configurations=[{"encryption_type": "KMS"}],
                opts=pulumi.ResourceOptions.merge(child, stateful(args.protect)),
            )
            ecr.LifecyclePolicy(f"{name}-{app}", repository=repository.name, policy=lifecycle_policy(args.keep_images), opts=child)
            self.repositories[app] = repository
        # `<registry>/<stack>` so `<server>/<app>` names the app's repository; known once every repository exists.
        urls = [r.repository_url for r in self.repositories.values()]
        self.server = pulumi.Output.all(*urls).apply(lambda found: f"{found[0].split('/')[0]}/{args.stack}")
        token = ecr.get_authorization_token_output(opts=pulumi.InvokeOutputOptions(parent=self))
        credentials = pulumi.Output.all(self.server, token.authorization_token).apply(
            lambda values: json.dumps({"auths": {values[0].split("/")[0]: {"auth": values[1]}}})
        )
        self.pull_credentials = pulumi.Output.secret(credentials)
        self.push_credentials = pulumi.Output.secret(credentials)
        self.register_outputs({"server": self.server})
