"""What pulumi-tls answers for a key pair."""

from __future__ import annotations

from typing import Any

from offline_plan.fakes.answers import Answer, FakeContext
from offline_plan.fakes.deterministic import digest


def _private_key(mocks: FakeContext, name: str, state: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """An ed25519 key pair as pulumi-tls answers: OpenSSH forms; the private one is a generated secret."""
    import base64

    public = base64.b64encode(b"\x00\x00\x00\x0bssh-ed25519\x00\x00\x00\x20" + bytes.fromhex(digest("hostkey", name))).decode()
    private = "-----BEGIN OPENSSH PRIVATE KEY-----\n" + mocks.secret(f"{name}-private", 64) + "\n-----END OPENSSH PRIVATE KEY-----\n"
    return digest("tls", name)[:40], {
        "publicKeyOpenssh": f"ssh-ed25519 {public}\n",
        "privateKeyOpenssh": private,
        "privateKeyPem": private,
        "publicKeyFingerprintSha256": "SHA256:" + digest("fp256", name)[:43],
    }


OUTPUTS: dict[str, Answer] = {"tls:index/privateKey:PrivateKey": _private_key}
