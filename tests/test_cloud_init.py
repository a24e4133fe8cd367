"""The Docker-host user data: what it sets up, and Debian's `cloud-init schema` accepts it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Literal, cast

import pytest
import yaml

from components.machines.cloud_init import DOCKER_APT_KEY_FINGERPRINT, DockerHostUserData, docker_host_config, docker_host_user_data

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKUpE7cszPVTB7ICSTfUohn71ecksVCbbPHNmKg1N+8U deploy@ci"
SPEC = DockerHostUserData(deploy_user="deploy", ssh_public_keys=[KEY])


def cloud_init() -> str:
    found = shutil.which("cloud-init")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("cloud-init is not installed: .ci/run must install Debian's cloud-init package")
        pytest.skip("cloud-init not installed (apt-get install cloud-init after touching /etc/cloud/cloud-init.disabled)")
    return found


def schema_check(tmp_path: Path, text: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "user-data.yaml"
    path.write_text(text)
    return subprocess.run([cloud_init(), "schema", "--config-file", str(path)], capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("distro", ["ubuntu", "debian"])
def test_user_data_passes_cloud_init_schema(tmp_path: Path, distro: Literal["ubuntu", "debian"]) -> None:
    text = docker_host_user_data(DockerHostUserData(deploy_user="deploy", ssh_public_keys=[KEY], distro=distro))
    result = schema_check(tmp_path, text)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout


def test_schema_check_rejects_a_broken_document(tmp_path: Path) -> None:
    broken = docker_host_config(SPEC)
    broken["ssh_pwauth"] = "sometimes"
    broken["users"][0]["groups"] = 42
    result = schema_check(tmp_path, "#cloud-config\n" + yaml.safe_dump(broken))
    assert result.returncode != 0


def test_docker_engine_from_docker_repository() -> None:
    config = docker_host_config(SPEC)
    source = config["apt"]["sources"]["docker.list"]
    assert source["keyid"] == DOCKER_APT_KEY_FINGERPRINT
    assert "https://download.docker.com/linux/ubuntu $RELEASE stable" in source["source"]
    assert {"docker-ce", "containerd.io", "unattended-upgrades"} <= set(config["packages"])
    assert ["systemctl", "enable", "--now", "docker", "containerd"] in config["runcmd"]


def test_non_root_deploy_user_in_docker_group() -> None:
    [user] = docker_host_config(SPEC)["users"]
    assert user["name"] == "deploy" and user["groups"] == ["docker"]
    assert user["lock_passwd"] is True
    assert user["ssh_authorized_keys"] == [KEY]
    assert "sudo" not in user


def test_ssh_hardened_and_security_upgrades_on() -> None:
    config = docker_host_config(SPEC)
    assert config["ssh_pwauth"] is False and config["disable_root"] is True
    files = {f["path"]: f["content"] for f in config["write_files"]}
    sshd = files["/etc/ssh/sshd_config.d/90-meteor-platform.conf"]
    assert "PermitRootLogin no" in sshd and "PasswordAuthentication no" in sshd
    assert 'APT::Periodic::Unattended-Upgrade "1";' in files["/etc/apt/apt.conf.d/20auto-upgrades"]
    assert '"max-size": "20m"' in files["/etc/docker/daemon.json"]


def test_user_data_is_a_cloud_config_document() -> None:
    text = docker_host_user_data(SPEC)
    assert text.startswith("#cloud-config\n")
    assert yaml.safe_load(text) == docker_host_config(SPEC)


def test_docker_engine_major_is_pinned() -> None:
    from components import versions

    config = docker_host_config(DockerHostUserData(deploy_user="deploy", ssh_public_keys=[KEY]))
    [pin] = [f for f in config["write_files"] if f["path"].startswith("/etc/apt/preferences.d/")]
    assert f"Pin: version 5:{versions.DOCKER_ENGINE_MAJOR}.*" in pin["content"]
    assert "Pin-Priority: 1001" in pin["content"] and "docker-ce" in pin["content"]


def test_user_data_with_a_host_key_and_a_data_volume_passes_the_schema(tmp_path: Path) -> None:
    host_key = ("-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n", KEY.rsplit(" ", 1)[0])
    spec = DockerHostUserData(deploy_user="deploy", ssh_public_keys=[KEY], host_key=host_key, data_label="meteor-data")
    result = schema_check(tmp_path, docker_host_user_data(spec))
    assert result.returncode == 0, result.stdout + result.stderr
    config = docker_host_config(spec)
    assert config["ssh_deletekeys"] is True and config["ssh_keys"]["ed25519_public"] == host_key[1]
    assert config["mounts"][0][:2] == ["LABEL=meteor-data", "/var/lib/docker/volumes"]
    assert "mounts" not in docker_host_config(SPEC) and "ssh_keys" not in docker_host_config(SPEC)


# -- the EC2 host's key fetcher (components/machines/ssm_host_key.py, run on the host) ---------------


def test_the_host_key_fetcher_signs_get_parameter_as_botocore_does(monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    import botocore.auth
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    from components.machines import ssm_host_key

    now = datetime.datetime(2026, 11, 29, 22, 30, 5, tzinfo=datetime.UTC)
    credentials = {"access_key": "AKIDEXAMPLE", "secret_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "token": "session-token"}
    ours = ssm_host_key.get_parameter_request("eu-central-1", "/meteor-platform/aws-hosts/h-0/ssh-host-key", credentials, now)
    assert ours.full_url == "https://ssm.eu-central-1.amazonaws.com/" and ours.get_method() == "POST"
    assert json.loads(cast(bytes, ours.data)) == {"Name": "/meteor-platform/aws-hosts/h-0/ssh-host-key", "WithDecryption": True}
    # botocore's signer (pinned through parliament) over the same request, at the same time.
    signed_by_both = {k: v for k, v in ours.header_items() if k.lower() in ("content-type", "x-amz-target")}
    theirs = AWSRequest(method="POST", url=ours.full_url, data=ours.data, headers=signed_by_both)
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: now.replace(tzinfo=None))
    SigV4Auth(Credentials("AKIDEXAMPLE", credentials["secret_key"], "session-token"), "ssm", "eu-central-1").add_auth(theirs)
    ours_headers = {k.lower(): v for k, v in ours.header_items()}
    assert ours_headers["x-amz-security-token"] == theirs.headers["X-Amz-Security-Token"]
    assert ours_headers["x-amz-date"] == theirs.headers["X-Amz-Date"]
    assert ours_headers["authorization"] == theirs.headers["Authorization"]
    # Header values are signed trimmed, inner runs of spaces as one (the canonical form botocore signs too).
    content_type = {k: v for k, v in signed_by_both.items() if k.lower() == "content-type"}
    spaced = AWSRequest(
        method="POST", url=ours.full_url, data=ours.data, headers={**content_type, "X-Amz-Target": "  AmazonSSM.GetParameter  "}
    )
    SigV4Auth(Credentials("AKIDEXAMPLE", credentials["secret_key"], "session-token"), "ssm", "eu-central-1").add_auth(spaced)
    ours_spaced = ssm_host_key.sigv4_authorization(
        method="POST",
        host="ssm.eu-central-1.amazonaws.com",
        path="/",
        query="",
        headers={**{k: v for k, v in ours.header_items() if k.lower() != "authorization"}, "X-amz-target": "  AmazonSSM.GetParameter  "},
        payload=cast(bytes, ours.data),
        access_key="AKIDEXAMPLE",
        secret_key=credentials["secret_key"],
        region="eu-central-1",
        service="ssm",
        amz_date=ours_headers["x-amz-date"],
    )
    assert ours_spaced == spaced.headers["Authorization"] == theirs.headers["Authorization"]


def test_the_host_key_fetcher_writes_the_key_root_only_and_gives_up_loudly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.error

    from components.machines import ssm_host_key

    path = tmp_path / "ssh_host_ed25519_key"
    ssm_host_key.install("-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----", "ssh-ed25519 AAAA host ", str(path))
    assert path.stat().st_mode & 0o777 == 0o600 and path.read_text().endswith("-----\n")
    assert (tmp_path / "ssh_host_ed25519_key.pub").read_text() == "ssh-ed25519 AAAA host\n"
    attempts: list[str] = []

    def refused(region: str, name: str) -> str:
        attempts.append(name)
        raise urllib.error.URLError("403 AccessDeniedException")

    monkeypatch.setattr(ssm_host_key, "fetch_private_key", refused)
    monkeypatch.setattr(ssm_host_key.time, "sleep", lambda _: None)
    # A reboot with the key in place: nothing is fetched.
    assert ssm_host_key.main(["-c", "eu-central-1", "/p", "ssh-ed25519 AAAA host"], str(path)) == 0 and not attempts
    # Another key (or none): fetched, and every failure retried until the limit.
    assert ssm_host_key.main(["-c", "eu-central-1", "/p", "ssh-ed25519 BBBB host"], str(path)) == 1
    assert len(attempts) == ssm_host_key.ATTEMPTS


def test_the_fetcher_survives_any_error_of_an_attempt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty role list (IndexError) or a truncated response (http.client.IncompleteRead, an
    HTTPException, not an OSError) is one failed attempt, retried like the others."""
    import http.client

    from components.machines import ssm_host_key

    failures: list[BaseException] = [IndexError("list index out of range"), http.client.IncompleteRead(b"{")]

    def flaky(region: str, name: str) -> str:
        if failures:
            raise failures.pop(0)
        return "-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n"

    monkeypatch.setattr(ssm_host_key, "fetch_private_key", flaky)
    monkeypatch.setattr(ssm_host_key.time, "sleep", lambda _: None)
    path = tmp_path / "ssh_host_ed25519_key"
    assert ssm_host_key.main(["-c", "eu-central-1", "/p", "ssh-ed25519 AAAA host"], str(path)) == 0
    assert not failures and ssm_host_key.installed("ssh-ed25519 AAAA host", str(path))


# The fetcher's code is in every EC2 host's user data, and every instance sets user_data_replace_on_change:
# a new digest here replaces every EC2 Docker host at the next `up` (the data host delete-first: an outage).
HOST_KEY_FETCHER_DIGEST = "fc91f55ba33b6c3133a09dc7357431048520a277802a50d1002baf5de76bb6c4"


def test_the_fetcher_code_in_the_user_data_is_pinned() -> None:
    import hashlib

    from components.machines.cloud_init import host_key_fetcher_code

    digest = hashlib.sha256(host_key_fetcher_code().encode()).hexdigest()
    assert digest == HOST_KEY_FETCHER_DIGEST, (
        "the key fetcher's code changed (components/machines/ssm_host_key.py): "
        "its user data changes, and `up` REPLACES EVERY EC2 DOCKER HOST (the data host delete-first). "
        f"If that is intended, pin {digest} and say so in the change."
    )


def test_the_fetcher_code_leaves_out_comments_and_docstrings_and_still_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime

    from components.machines import cloud_init, ssm_host_key

    code = cloud_init.host_key_fetcher_code()
    assert '"""' not in code and "#" not in code
    # Cut from the source, never regenerated (ast.unparse writes 3.12-only f-strings on 3.12+, which
    # Debian 12's Python 3.11 cannot parse, and differs between the deployers' Pythons): every line
    # the host runs is a line of the module as written (or its code before a trailing comment).
    source_lines = cloud_init.HOST_KEY_FETCHER_SOURCE.read_text().splitlines()
    assert all(any(source.startswith(line) for source in source_lines) for line in code.splitlines())
    edited = tmp_path / "ssm_host_key.py"
    source = cloud_init.HOST_KEY_FETCHER_SOURCE.read_text()
    edited.write_text(
        source.replace('"""Installs an EC2 host', '"""Reworded: installs an EC2 host').replace(
            "\ndef main(", "\n# A new comment.\ndef main("
        )
    )
    assert edited.read_text() != source
    monkeypatch.setattr(cloud_init, "HOST_KEY_FETCHER_SOURCE", edited)
    assert cloud_init.host_key_fetcher_code() == code, "a comment or a docstring changes no user data"
    # What the host runs is the same program: its requests are signed alike.
    namespace: dict[str, object] = {"__name__": "meteor_ssh_host_key"}
    exec(compile(code, "<user data>", "exec"), namespace)
    now = datetime.datetime(2026, 11, 29, 22, 30, 5, tzinfo=datetime.UTC)
    credentials = {"access_key": "AKID", "secret_key": "secret", "token": "token"}
    request = namespace["get_parameter_request"]("eu-central-1", "/p", credentials, now)  # pyright: ignore[reportCallIssue]
    expected = ssm_host_key.get_parameter_request("eu-central-1", "/p", credentials, now)
    assert dict(request.header_items()) == dict(expected.header_items())  # pyright: ignore[reportAttributeAccessIssue, reportUnknownMemberType, reportUnknownArgumentType]


@pytest.mark.parametrize("distro", ["ubuntu", "debian"])
def test_user_data_with_the_host_key_from_ssm_and_an_ebs_volume_passes_the_schema(
    tmp_path: Path, distro: Literal["ubuntu", "debian"]
) -> None:
    from components.machines.cloud_init import HostKeyParameter

    spec = DockerHostUserData(
        deploy_user="deploy",
        ssh_public_keys=[KEY],
        distro=distro,
        host_key_parameter=HostKeyParameter("eu-central-1", "/meteor-platform/aws-hosts/h-0/ssh-host-key", KEY.rsplit(" ", 1)[0]),
        data_label="meteor-data",
        data_device="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0",
        instance_role_bridges="mpimds",
    )
    result = schema_check(tmp_path, docker_host_user_data(spec))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Valid cloud-config" in result.stdout
    assert docker_host_config(spec)["bootcmd"][0][:2] == ["python3", "-c"]


def test_the_fetcher_cut_keeps_what_is_inside_strings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Only comments and docstrings go: a string's own lines (blank, or starting with `#`) are code."""
    from components.machines import cloud_init

    module = tmp_path / "fetcher.py"
    module.write_text('"""Doc."""\n# a comment\nTEXT = """first\n# not a comment\n\nlast"""  # trailing\nHASH = "a # b"\n')
    monkeypatch.setattr(cloud_init, "HOST_KEY_FETCHER_SOURCE", module)
    namespace: dict[str, object] = {}
    exec(compile(cloud_init.host_key_fetcher_code(), "<user data>", "exec"), namespace)
    assert namespace["TEXT"] == "first\n# not a comment\n\nlast" and namespace["HASH"] == "a # b"
    assert "Doc." not in cloud_init.host_key_fetcher_code() and "comment\n" not in cloud_init.host_key_fetcher_code().split('"""')[0]
