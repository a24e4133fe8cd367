"""The sentinels of Pulumi's wire format that the mock runtime hands the plan (pulumi/runtime/rpc.py)."""

SECRET_SIG = "4dabf18193072939515e22adb298388d"
"""The key that marks a special value (a secret, a resource reference) in a serialized property."""
SECRET_VALUE_SIG = "1b47061264138c4ac30d75fd1eb44270"
RESOURCE_SIG = "5cf8f73096256a8f31e491e813e4eb8e"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""A value not known until the resource exists (a preview's computed output)."""
