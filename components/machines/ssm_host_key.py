#!/usr/bin/env python3
"""Installs an EC2 host's ssh host key from its SecureString parameter, at first boot.

Runs on the host as root from cloud-init's bootcmd, before sshd starts (cloud_init.py passes this
file's code): `python3 -c <this> <region> <parameter name> <public key>`. It runs on every boot:
when the installed public key is the pinned one it returns at once, otherwise it fetches the key
again (so a reboot recovers from a failed first fetch).
The private key is never in the user data (readable with ec2:DescribeInstanceAttribute and by
whatever reaches the metadata service): the host asks SSM for it with its instance role's
credentials. Only the Python standard library: Ubuntu 24.04 and Debian 12 AMIs ship python3 (for
cloud-init) but no AWS CLI, so the request is signed here (Signature Version 4,
docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html; a test checks
the signature against botocore's signer). Retries for a few minutes: a new role's policy takes a
while to reach every endpoint (IAM is eventually consistent).
"""

from __future__ import annotations

import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request

IMDS = "http://169.254.169.254"
PRIVATE_KEY_PATH = "/etc/ssh/ssh_host_ed25519_key"
ATTEMPTS = 30
PAUSE_SECONDS = 10


def _imds(path: str, token: str | None = None) -> str:
    if token is None:
        request = urllib.request.Request(f"{IMDS}/latest/api/token", method="PUT", headers={"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    else:
        request = urllib.request.Request(f"{IMDS}{path}", headers={"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.read().decode()


def instance_credentials() -> dict[str, str]:
    """The instance role's temporary credentials (IMDSv2)."""
    token = _imds("", None)
    role = _imds("/latest/meta-data/iam/security-credentials/", token).split()[0]
    document = json.loads(_imds(f"/latest/meta-data/iam/security-credentials/{role}", token))
    return {"access_key": document["AccessKeyId"], "secret_key": document["SecretAccessKey"], "token": document["Token"]}


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def sigv4_authorization(
    *,
    method: str,
    host: str,
    path: str,
    query: str,
    headers: dict[str, str],
    payload: bytes,
    access_key: str,
    secret_key: str,
    region: str,
    service: str,
    amz_date: str,
) -> str:
    """The Authorization header of a request whose `headers` (host and x-amz-date included) are all signed.
    `query` is already in canonical form (sorted, URI-encoded)."""
    names = sorted(name.lower() for name in headers)
    values = {name.lower(): " ".join(value.strip().split()) for name, value in headers.items()}
    canonical_request = "\n".join(
        [
            method,
            path,
            query,
            "".join(f"{name}:{values[name]}\n" for name in names),
            ";".join(names),
            hashlib.sha256(payload).hexdigest(),
        ]
    )
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()])
    key = _hmac(_hmac(_hmac(_hmac(f"AWS4{secret_key}".encode(), amz_date[:8]), region), service), "aws4_request")
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    return f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"


def get_parameter_request(region: str, name: str, credentials: dict[str, str], now: datetime.datetime) -> urllib.request.Request:
    """SSM GetParameter with decryption (the JSON protocol: docs.aws.amazon.com/systems-manager/latest/APIReference/API_GetParameter.html)."""
    host = f"ssm.{region}.amazonaws.com"
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    payload = json.dumps({"Name": name, "WithDecryption": True}).encode()
    headers = {
        "Content-Type": "application/x-amz-json-1.1",
        "Host": host,
        "X-Amz-Date": amz_date,
        "X-Amz-Security-Token": credentials["token"],
        "X-Amz-Target": "AmazonSSM.GetParameter",
    }
    headers["Authorization"] = sigv4_authorization(
        method="POST",
        host=host,
        path="/",
        query="",
        headers=headers,
        payload=payload,
        access_key=credentials["access_key"],
        secret_key=credentials["secret_key"],
        region=region,
        service="ssm",
        amz_date=amz_date,
    )
    return urllib.request.Request(f"https://{host}/", data=payload, method="POST", headers=headers)


def fetch_private_key(region: str, name: str) -> str:
    request = get_parameter_request(region, name, instance_credentials(), datetime.datetime.now(datetime.UTC))
    with urllib.request.urlopen(request, timeout=20) as response:
        return str(json.loads(response.read().decode())["Parameter"]["Value"])


def install(private_key: str, public_key: str, path: str = PRIVATE_KEY_PATH) -> None:
    """Writes the key pair as sshd reads it: the private key root-only, created so (never world-readable)."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as private:
        private.write(private_key if private_key.endswith("\n") else private_key + "\n")
    os.chmod(path, 0o600)
    with open(f"{path}.pub", "w") as public:
        public.write(public_key.strip() + "\n")
    os.chmod(f"{path}.pub", 0o644)


def installed(public_key: str, path: str = PRIVATE_KEY_PATH) -> bool:
    """The key pair is in place already (a reboot): nothing to fetch."""
    try:
        with open(f"{path}.pub") as public:
            return public.read().strip() == public_key.strip() and os.path.getsize(path) > 0
    except OSError:
        return False


def main(argv: list[str], path: str = PRIVATE_KEY_PATH) -> int:
    region, name, public_key = argv[1:4]
    if installed(public_key, path):
        return 0
    for attempt in range(1, ATTEMPTS + 1):
        try:
            install(fetch_private_key(region, name), public_key, path)
            return 0
        except Exception as error:
            # Whatever failed is retried: an empty role list (IndexError) and http.client's
            # IncompleteRead (an HTTPException, no OSError) as much as a refused request.
            # The error names the failure (HTTP status, missing field), never the key.
            print(f"meteor-ssh-host-key: attempt {attempt}/{ATTEMPTS}: {type(error).__name__}: {error}", file=sys.stderr)
            time.sleep(PAUSE_SECONDS)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
