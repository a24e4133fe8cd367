"""The floor a plan is measured against: a bare program that registers exactly the resources the
platform recorded — the providers' own typed classes, the same names, inputs, parents,
providers, options (protect, retainOnDelete, deleteBeforeReplace, ignoreChanges,
replaceOnChanges), dependencies and secrets (every recorded secret position registered as a
secret Output) — through the same offline-plan runtime and command. What remains between the
platform and its floor is the platform's own code: config validation, components, wiring.

The typed classes are built through their own constructors (top-level arguments in their Python
names, nested values in the recorded wire form, which the SDKs accept), so the floor pays their
argument processing as any program does; a recorded resource whose keys are not its class's
arguments falls back to the base constructor with the wire-form inputs.
"""

from __future__ import annotations

FLOOR_PROGRAM = '''
import importlib
import json
import pulumi

plan = json.loads(open(pulumi.Config("bench").require("plan")).read())


def sdk_class(token):
    # `docker:index/container:Container` -> pulumi_docker.Container; `kubernetes:apps/v1:Deployment`
    # -> pulumi_kubernetes.apps.v1.Deployment; `command:remote:Command` -> pulumi_command.remote.Command;
    # `aws:ec2/vpc:Vpc` -> pulumi_aws.ec2.Vpc; `docker-build:index:Image` -> pulumi_docker_build.Image.
    package, module, name = token.split(":")
    path = "pulumi_" + package.replace("-", "_")
    if package == "kubernetes":
        group, version = module.split("/")
        path += f".{group.split('.')[0]}.{version}"
    elif module.split("/")[0] != "index":
        path += "." + module.split("/")[0]
    try:
        return getattr(importlib.import_module(path), name)
    except (ImportError, AttributeError):
        if package != "kubernetes":
            raise
        # A custom resource (cert-manager.io/v1 ClusterIssuer, ...).
        return importlib.import_module("pulumi_kubernetes.apiextensions").CustomResource


def snake(name):
    return "".join("_" + c.lower() if c.isupper() else c for c in name).replace("-", "_")


def typed(cls, r, inputs, opts):
    """The typed class through its own constructor (argument processing and all), as a program
    builds it; the base constructor with the wire-form inputs when the recorded keys are not its
    arguments (custom resources, renamed properties)."""
    kwargs = {snake(k): v for k, v in inputs.items() if k not in ("apiVersion", "kind") or not r["type"].startswith("kubernetes:")}
    if r["type"].startswith("kubernetes:") and cls.__module__.endswith("apiextensions.CustomResource"):
        kwargs = None
    if kwargs is not None:
        try:
            return cls(r["name"], opts=opts, **kwargs)
        except TypeError:
            pass
    resource = cls.__new__(cls)
    pulumi.CustomResource.__init__(resource, r["type"], r["name"], inputs, opts)
    return resource


def with_secrets(value, digests, position=""):
    """The recorded inputs, with every recorded secret position registered as a secret."""
    if position in digests:
        return pulumi.Output.secret(value)
    if isinstance(value, dict):
        return {k: with_secrets(v, digests, f"{position}.{k}" if position else k) for k, v in value.items()}
    if isinstance(value, list):
        return [with_secrets(v, digests, f"{position}[{i}]") for i, v in enumerate(value)]
    return value


registered = {}
known = {r["urn"] for r in plan["resources"]}
# Parents before children, providers before the resources that use them, dependencies first.
pending = list(plan["resources"])
while pending:
    waiting = []
    for r in pending:
        needed = [u for u in [r["parent"], r["provider"], *r["dependencies"]] if u]
        if any(u in known and u not in registered for u in needed):
            waiting.append(r)
            continue
        opts = pulumi.ResourceOptions(
            parent=registered.get(r["parent"]),
            provider=registered.get(r["provider"]),
            protect=r["protect"],
            retain_on_delete=r["retainOnDelete"],
            depends_on=[registered[u] for u in r["dependencies"] if u in registered],
            delete_before_replace=r.get("deleteBeforeReplace"),
            ignore_changes=r.get("ignoreChanges"),
            replace_on_changes=r.get("replaceOnChanges"),
        )
        inputs = with_secrets(r["inputs"], r.get("secretDigests", {}))
        if r["type"].startswith("pulumi:providers:"):
            package = r["type"].rsplit(":", 1)[1]
            cls = importlib.import_module("pulumi_" + package.replace("-", "_")).Provider
            resource = cls.__new__(cls)
            pulumi.ProviderResource.__init__(resource, package, r["name"], inputs, pulumi.ResourceOptions(parent=opts.parent))
        elif r["custom"]:
            cls = sdk_class(r["type"])
            resource = typed(cls, r, inputs, opts)
        else:
            resource = pulumi.ComponentResource(r["type"], r["name"], None, opts)
            if r["type"] == "meteor-platform:index:Platform":
                # The same outputs as the platform: the offline plan's policy checks read the environment.
                resource.register_outputs(plan["outputs"])
        registered[r["urn"]] = resource
    if len(waiting) == len(pending):
        raise SystemExit("the plan's resources depend on each other in a cycle")
    pending = waiting
'''
