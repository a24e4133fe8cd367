"""A kubeconfig whose user runs a credential plugin: no token in it, nothing that changes per run."""

from __future__ import annotations

from collections.abc import Sequence

import yaml


def plugin_kubeconfig(context: str, user: str, server: str, ca_data: str, command: str, args: Sequence[str]) -> str:
    """One cluster, one `exec` user (client.authentication.k8s.io/v1beta1, never interactive), one context."""
    plugin = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": command,
            "args": list(args),
            "interactiveMode": "Never",
        }
    }
    return yaml.safe_dump(
        {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [{"name": context, "cluster": {"server": server, "certificate-authority-data": ca_data}}],
            "users": [{"name": user, "user": plugin}],
            "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
            "current-context": context,
        },
        sort_keys=False,
    )
