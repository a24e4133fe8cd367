"""Wiring by intent: an app reaches only the apps it declares in `connectsTo`, on both targets."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from components.config import ConfigError, parse_config
from tests.harness import DIGEST, base_config, run_config, unwrap

APPS = ["shop", "accounts", "billing"]


def apps(**connects: list[str]) -> list[dict[str, Any]]:
    return [{"name": name, "image": f"ghcr.io/acme/{name}@{DIGEST}", "connectsTo": connects.get(name, [])} for name in APPS]


@pytest.mark.parametrize(
    ("connects", "key", "expected"),
    [
        ({"shop": ["payments"]}, "apps[0].connectsTo[0]", "got 'payments'; expected the name of an app in this stack (accounts, billing)"),
        ({"shop": ["shop"]}, "apps[0].connectsTo[0]", "got 'shop'; expected another app: an app does not connect to itself"),
        ({"shop": ["accounts", "accounts"]}, "apps[0].connectsTo[1]", "got 'accounts'; expected each app once"),
    ],
)
def test_a_bad_reference_is_one_clear_message(connects: dict[str, list[str]], key: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(f"meteor-platform:{key}: {expected}")):
        parse_config(base_config(apps=apps(**connects)))


def test_on_docker_hosts_an_app_gets_only_the_ddp_urls_it_declares(tmp_path: Path) -> None:
    config = base_config(
        environment="dev", target="docker", mongo={"provider": "container"}, ingress={"tls": "off"}, apps=apps(shop=["accounts", "billing"])
    )
    run = run_config(tmp_path, config, stack="conn")
    envs: dict[str, set[str]] = {}
    for container in run.resources("docker:index/container:Container"):
        name = container["name"].split("-local-")[0]
        if name in APPS:
            env = unwrap(run.state(container)["envs"])
            envs[name] = {line.split("=", 1)[0] for line in env if line.split("=", 1)[0].endswith("_DDP_URL")}
    assert envs == {"shop": {"ACCOUNTS_DDP_URL", "BILLING_DDP_URL"}, "accounts": set(), "billing": set()}


def test_on_kubernetes_egress_and_ingress_follow_the_declarations(tmp_path: Path) -> None:
    run = run_config(tmp_path, base_config(apps=apps(shop=["accounts"], billing=["accounts"])), stack="conn")
    policies = {
        p["name"].removesuffix("-network-policy"): p["inputs"]["spec"]
        for p in run.resources("kubernetes:networking.k8s.io/v1:NetworkPolicy")
        if p["name"].endswith("-network-policy")
    }

    def app_peers(rules: list[dict[str, Any]], side: str) -> set[str]:
        return {
            peer["podSelector"]["matchLabels"]["app.kubernetes.io/name"]
            for rule in rules
            for peer in rule.get(side, [])
            if "podSelector" in peer and peer["podSelector"]["matchLabels"].get("meteor-platform/role") == "app"
        }

    assert app_peers(policies["shop"]["egress"], "to") == {"accounts"}
    assert app_peers(policies["billing"]["egress"], "to") == {"accounts"}
    assert app_peers(policies["accounts"]["egress"], "to") == set()
    assert app_peers(policies["accounts"]["ingress"], "from") == {"shop", "billing"}
    assert app_peers(policies["shop"]["ingress"], "from") == set()
