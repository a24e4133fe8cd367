"""The recording monitor: every registration the program makes, redacted, under the engine's URNs.

It captures each RegisterResourceRequest: parent, dependencies, protect, options and the inputs,
with secrets redacted (their digests kept) before anything leaves the process.
"""

# The mock runtime is untyped: their values are handled as Any here.
# pyright: reportUnknownMemberType=false, reportUnknownVariableType=false, reportUnknownArgumentType=false, reportUnknownLambdaType=false

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime.mocks import MockMonitor, Mocks
from pulumi.runtime.proto import resource_pb2

from offline_plan.redaction import REDACTED, redact, secret_digest
from offline_plan.wire import SECRET_SIG

STACK_TYPE = "pulumi:pulumi:Stack"


@dataclass
class Recorded:
    urn: str
    type: str
    name: str
    parent: str | None
    custom: bool
    provider: str | None
    protect: bool
    retain_on_delete: bool
    dependencies: list[str]
    inputs: dict[str, Any]
    aliases: list[str] = field(default_factory=lambda: [])
    """Earlier URNs of this resource (from `aliases`), as the engine would match them."""
    delete_before_replace: bool | None = None
    """The program's explicit `delete_before_replace` (None: the provider decides)."""
    ignore_changes: list[str] = field(default_factory=lambda: [])
    replace_on_changes: list[str] = field(default_factory=lambda: [])
    custom_timeouts: dict[str, str] = field(default_factory=lambda: {})
    """The program's `custom_timeouts` (create, update, delete): how long the provider waits."""
    additional_secret_outputs: list[str] = field(default_factory=lambda: [])
    """Outputs the program marks secret (a command's stdout, ...): the state keeps them encrypted."""
    state_name: str | None = None
    state_namespace: str | None = None
    id: str | None = None
    """The provider's id for a custom resource (the mocks': deterministic per name)."""
    secret_digests: dict[str, str] = field(default_factory=lambda: {})
    """Per secret input position, a digest that changes when the secret does (never its value)."""

    def as_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "urn": self.urn,
            "type": self.type,
            "name": self.name,
            "parent": self.parent,
            "custom": self.custom,
            "provider": self.provider,
            "protect": self.protect,
            "retainOnDelete": self.retain_on_delete,
            "dependencies": self.dependencies,
            "inputs": self.inputs,
        }
        if self.aliases:
            data["aliases"] = self.aliases
        if self.delete_before_replace is not None:
            data["deleteBeforeReplace"] = self.delete_before_replace
        if self.ignore_changes:
            data["ignoreChanges"] = self.ignore_changes
        if self.replace_on_changes:
            data["replaceOnChanges"] = self.replace_on_changes
        if self.custom_timeouts:
            data["customTimeouts"] = self.custom_timeouts
        if self.additional_secret_outputs:
            data["additionalSecretOutputs"] = self.additional_secret_outputs
        if self.state_name is not None:
            # What the provider names the object (auto-naming adds a suffix).
            data["objectName"] = self.state_name
        if self.state_namespace is not None:
            data["objectNamespace"] = self.state_namespace
        if self.id is not None:
            data["id"] = self.id
        if self.secret_digests:
            data["secretDigests"] = dict(sorted(self.secret_digests.items()))
        return data


class RecordingMonitor(MockMonitor):
    """A MockMonitor that keeps every registration request, redacted, under the engine's URNs."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.recorded: dict[str, Recorded] = {}
        self.component_outputs: dict[str, dict[str, Any]] = {}
        self.component_output_digests: dict[str, dict[str, str]] = {}

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The URN the engine gives: the type is qualified with the parent's whole type chain.

        The SDK's MockMonitor qualifies with the parent's last type only; the engine (and the SDK's
        `create_urn`) use every ancestor's type except the root stack's. Deployed stacks' URNs are
        the engine's, so those are what the plan records and what a rename must keep.
        """
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != STACK_TYPE:
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def GetDeploymentInfo(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        # Without alias specs the SDK resolves every alias to a full URN itself (with `create_urn`,
        # the engine's form), which is what the plan records and compares.
        info = super().GetDeploymentInfo(request)
        features = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
        return resource_pb2.DeploymentInfo(supportedFeatures=features)

    def RegisterResourceOutputs(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        digests: dict[str, str] = {}
        self.component_outputs[request.urn] = redact(json_format.MessageToDict(request.outputs), "", digests)
        self.component_output_digests[request.urn] = digests
        return super().RegisterResourceOutputs(request)

    def RegisterResource(self, request: Any) -> Any:  # noqa: N802 (gRPC method name)
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        digests: dict[str, str] = {}
        inputs = redact(json_format.MessageToDict(request.object), "", digests)
        state = self.resources.get(response.urn)
        meta = state.state.get("metadata") if state else None
        for key in ("stringData", "data"):
            # The SDK marks a Secret's whole data map secret; keep its key names, not its values.
            held: Any = state.state.get(key) if state else None
            if isinstance(held, dict) and SECRET_SIG in held:
                held = held.get("value")
            if inputs.get(key) == REDACTED and isinstance(held, dict):
                inputs[key] = {k: REDACTED for k in sorted(held)}  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
                digests.pop(key, None)
                digests.update({f"{key}.{k}": secret_digest(v) for k, v in held.items()})  # pyright: ignore[reportUnknownArgumentType, reportUnknownVariableType]
        # A provider reference is "<provider urn>::<provider id>".
        provider = request.provider.rsplit("::", 1)[0] if request.provider else None
        self.recorded[response.urn] = Recorded(
            urn=response.urn,
            type=request.type,
            name=request.name,
            parent=request.parent if request.parent and request.parent.split("::")[2] != STACK_TYPE else None,
            custom=bool(request.custom),
            provider=provider,
            protect=bool(request.protect),
            retain_on_delete=bool(request.retainOnDelete),
            dependencies=sorted(set(request.dependencies)),
            inputs=inputs,
            aliases=sorted({alias.urn for alias in request.aliases if alias.urn}),
            delete_before_replace=bool(request.deleteBeforeReplace) if request.deleteBeforeReplaceDefined else None,
            ignore_changes=sorted(request.ignoreChanges),
            replace_on_changes=sorted(request.replaceOnChanges),
            custom_timeouts={k: v for k in ("create", "update", "delete") if (v := getattr(request.customTimeouts, k))},
            additional_secret_outputs=sorted(request.additionalSecretOutputs),
            state_name=meta.get("name") if isinstance(meta, dict) else None,
            state_namespace=meta.get("namespace") if isinstance(meta, dict) else None,
            id=str(state.id) if state is not None and request.custom else None,
            secret_digests=digests,
        )
        return response
