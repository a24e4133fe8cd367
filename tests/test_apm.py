"""`apps[].apm`: the APM agent's variables on both targets, the secret only as a secret."""

from __future__ import annotations

import copy
import ipaddress
import json
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from components.config import loading
from offline_plan.__main__ import main
from tests.harness import DOCKER, KUBERNETES, ROOT, Run, env_of, run_config

SECURE = {"secure": "v1:bm90LWRlY3J5cHRlZA=="}
APM_SECRET = "b7c1d2e3-apm-secret-4f5a"
MONTI: dict[str, Any] = {"provider": "montiApm", "appId": "rcZSEaSgMaxH4c2df", "secret": SECURE}
KADIRA: dict[str, Any] = {"provider": "kadira", "appId": "kadira-todos", "secret": SECURE, "endpoint": "https://apm.example.com:8443"}


def with_apm(base: dict[str, Any], apm: dict[str, Any], **app: Any) -> dict[str, Any]:
    config = copy.deepcopy(base)
    config["apps"][0].update({"apm": apm, **app})
    return config


def run_with_known_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict[str, Any]) -> Run:
    """Plan with `apm.secret` = APM_SECRET, accepted as if the stack file held it `secure:` (the offline
    plan cannot decrypt one), so the test can look for the value itself."""
    config["apps"][0]["apm"]["secret"] = APM_SECRET
    monkeypatch.setattr(loading, "_secure_paths", lambda _dir, _stack: {("meteor-platform:apps", 0, "apm", "secret")})  # pyright: ignore[reportUnknownArgumentType, reportUnknownLambdaType]
    return run_config(tmp_path, config)


def test_kubernetes_delivers_the_id_as_config_and_the_secret_from_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_with_known_secret(tmp_path, monkeypatch, with_apm(KUBERNETES, MONTI))
    env = env_of(run.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert env["MONTI_APP_ID"]["value"] == "rcZSEaSgMaxH4c2df"
    assert env["MONTI_APP_SECRET"]["valueFrom"]["secretKeyRef"]["key"] == "MONTI_APP_SECRET"
    assert "value" not in env["MONTI_APP_SECRET"]
    assert "MONTI_OPTIONS_ENDPOINT" not in env, "Monti APM's own engine is the agent's default"
    secret = run.one("kubernetes:core/v1:Secret", "todos-env")
    assert secret["inputs"]["stringData"]["MONTI_APP_SECRET"] == "[secret]"
    assert run.state(secret)["stringData"]["MONTI_APP_SECRET"] == APM_SECRET
    assert APM_SECRET not in json.dumps(run.plan)


def test_kubernetes_lets_the_app_reach_the_engine(tmp_path: Path) -> None:
    run = run_config(tmp_path, with_apm(KUBERNETES, KADIRA, migrate={"command": ["node", "migrate.js"]}))
    env = env_of(run.one("kubernetes:apps/v1:Deployment", "todos-deployment"))
    assert env["KADIRA_OPTIONS_ENDPOINT"]["value"] == "https://apm.example.com:8443"
    assert "secretKeyRef" in env["KADIRA_APP_SECRET"]["valueFrom"]
    engine = {"to": [{"ipBlock": {"cidr": "0.0.0.0/0", "except": ["169.254.0.0/16"]}}], "ports": [{"protocol": "TCP", "port": 8443}]}
    for name in ("todos-network-policy", "todos-migrate-network-policy"):
        policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", name)["inputs"]["spec"]
        assert engine in policy["egress"], f"{name}: the migration runs the app's code and environment too"
        document = {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": {"name": name}, "spec": policy}
        kubernetes_validate.validate(document, "1.33.0", strict=True)


def test_an_engine_on_port_80_does_not_open_the_instance_metadata(tmp_path: Path) -> None:
    run = run_config(tmp_path, with_apm(KUBERNETES, {**KADIRA, "endpoint": "https://apm.example.com:80"}))
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "todos-network-policy")["inputs"]["spec"]
    metadata = ipaddress.ip_address("169.254.169.254")
    blocks = [
        peer["ipBlock"]
        for rule in policy["egress"]
        if 80 in {p.get("port") for p in rule.get("ports", [])}
        for peer in rule.get("to", [])
        if "ipBlock" in peer and metadata in ipaddress.ip_network(peer["ipBlock"]["cidr"])
    ]
    assert blocks, "the engine's rule: anywhere on port 80"
    for block in blocks:
        assert any(metadata in ipaddress.ip_network(c) for c in block.get("except", [])), block


def test_without_apm_the_app_reaches_no_https_on_the_internet(tmp_path: Path) -> None:
    run = run_config(tmp_path, KUBERNETES)
    policy = run.one("kubernetes:networking.k8s.io/v1:NetworkPolicy", "todos-network-policy")["inputs"]["spec"]
    assert not [rule for rule in policy["egress"] if rule.get("to") == [{"ipBlock": {"cidr": "0.0.0.0/0"}}]]


def test_docker_hosts_get_the_secret_in_the_secret_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_with_known_secret(tmp_path, monkeypatch, with_apm(DOCKER, KADIRA))
    container = run.one("docker:index/container:Container", "todos-local-0")
    assert container["inputs"]["envs"] == "[secret]"
    envs = dict(line.split("=", 1) for line in run.state(container)["envs"])
    assert envs["KADIRA_APP_ID"] == "kadira-todos"
    assert envs["KADIRA_APP_SECRET"] == APM_SECRET
    assert envs["KADIRA_OPTIONS_ENDPOINT"] == "https://apm.example.com:8443"
    assert not {name for name in envs if name.startswith("MONTI_")}
    assert APM_SECRET not in json.dumps(run.plan)


def refused(tmp_path: Path, config: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> str:
    (tmp_path / "__main__.py").write_text((ROOT / "__main__.py").read_text())
    document = {"config": {f"meteor-platform:{k}": v for k, v in config.items()}}
    (tmp_path / "Pulumi.case.yaml").write_text(yaml.safe_dump(document))
    assert main(["case", "--root", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "Traceback" not in err
    return err


def test_a_plain_text_secret_is_refused_without_echoing_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = refused(tmp_path, with_apm(DOCKER, {**MONTI, "secret": APM_SECRET}), capsys)
    assert "meteor-platform:apps[0].apm.secret: got a plain-text value; expected a secret" in err
    assert APM_SECRET not in err


@pytest.mark.parametrize(
    ("apm", "app", "names"),
    [
        ({**KADIRA, "endpoint": None}, {}, "meteor-platform:apps[0].apm.endpoint: missing; expected the https URL of the self-hosted"),
        ({**MONTI, "endpoint": "http://apm.example.com"}, {}, "meteor-platform:apps[0].apm.endpoint"),
        ({**MONTI, "endpoint": "https://apm.example.com:70000/"}, {}, "meteor-platform:apps[0].apm.endpoint: got 'https://apm"),
        ({**MONTI, "provider": "newrelic"}, {}, "meteor-platform:apps[0].apm.provider"),
        ({**MONTI, "appId": "id with spaces"}, {}, "meteor-platform:apps[0].apm.appId"),
        ({"provider": "montiApm", "appId": "x"}, {}, "meteor-platform:apps[0].apm.secret: missing"),
        (MONTI, {"env": {"MONTI_APP_ID": "other"}}, "meteor-platform:apps[0].env.MONTI_APP_ID: expected it unset: apps[0].apm sets"),
        (MONTI, {"secretEnv": {"KADIRA_APP_SECRET": SECURE}}, "meteor-platform:apps[0].secretEnv.KADIRA_APP_SECRET: expected it unset"),
        (KADIRA, {"env": {"MONTI_OPTIONS_ENDPOINT": "https://x.example.com"}}, "meteor-platform:apps[0].env.MONTI_OPTIONS_ENDPOINT"),
        (MONTI, {"settings": {"monti": {"appId": "x"}}}, "meteor-platform:apps[0].settings.monti: expected no appId under 'monti'"),
        (
            KADIRA,
            {"settings": {"kadira": {"appId": "x", "appSecret": "y", "options": {}}}},
            "meteor-platform:apps[0].settings.kadira: expected no appId or appSecret under 'kadira'",
        ),
    ],
)
def test_bad_apm_config_names_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], apm: dict[str, Any], app: dict[str, Any], names: str
) -> None:
    apm = {k: v for k, v in apm.items() if v is not None}
    assert names in refused(tmp_path, with_apm(DOCKER, apm, **app), capsys)


def test_agent_options_in_settings_are_kept_with_apm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The agent connects from settings only with appId and appSecret; it reads `monti.options` legitimately."""
    settings = {"monti": {"options": {"disableInstrumentation": True}}, "kadira": {"options": {"hostname": "todos"}}}
    run = run_with_known_secret(tmp_path, monkeypatch, with_apm(DOCKER, MONTI, settings=settings))
    envs = dict(line.split("=", 1) for line in run.state(run.one("docker:index/container:Container", "todos-local-0"))["envs"])
    assert json.loads(envs["METEOR_SETTINGS"])["monti"] == {"options": {"disableInstrumentation": True}}


def test_without_apm_the_agent_variables_stay_the_apps_own(tmp_path: Path) -> None:
    config = copy.deepcopy(DOCKER)
    config["apps"][0]["env"] = {"MONTI_APP_ID": "own-id"}
    run = run_config(tmp_path, config)
    envs = dict(line.split("=", 1) for line in run.state(run.one("docker:index/container:Container", "todos-local-0"))["envs"])
    assert envs["MONTI_APP_ID"] == "own-id"


def test_agent_credentials_in_secret_settings_are_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = with_apm(DOCKER, MONTI, secretSettings=json.dumps({"kadira": {"appId": "x", "appSecret": APM_SECRET}}))
    monkeypatch.setattr(loading, "_secure_paths", lambda _dir, _stack: {("meteor-platform:apps", 0, "secretSettings")})  # pyright: ignore[reportUnknownArgumentType, reportUnknownLambdaType]
    err = refused(tmp_path, config, capsys)
    assert "meteor-platform:apps[0].secretSettings: expected no appId or appSecret under 'kadira' with apps[0].apm" in err
    assert APM_SECRET not in err
