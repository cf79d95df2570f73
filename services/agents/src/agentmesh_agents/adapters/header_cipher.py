"""MCP server headers at rest: Fernet (AES-128-CBC + HMAC-SHA256) from the `cryptography` package.

The key is AGENTMESH_MCP_HEADERS_KEY (a Fernet key) when set, else derived
from the agents service's identity key with a label, so a local run needs no extra
setting. Changing either makes stored headers unreadable: re-register the servers.

Upgrading from the shared internal secret (AGENTMESH_INTERNAL_SECRET, before
per-service identity keys): the headers were sealed with the key derived from that
secret. Keep them readable by setting AGENTMESH_MCP_HEADERS_KEY to
`python -m agentmesh_agents.adapters.header_cipher <the old secret>`.
"""

from __future__ import annotations

import base64
import hashlib
import json

from cryptography.fernet import Fernet, InvalidToken

from agentmesh_core.errors import FailedPrecondition


def derived_key(secret: str) -> bytes:
    """A Fernet key derived from a secret (SHA-256 of a label and the secret)."""
    return base64.urlsafe_b64encode(hashlib.sha256(b"agentmesh-mcp-headers\x00" + secret.encode()).digest())


class HeaderCipher:
    """Encrypts and decrypts a header dict."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, headers: dict[str, str]) -> str:
        """The headers as a token safe to store."""
        return self._fernet.encrypt(json.dumps(headers, sort_keys=True).encode()).decode("ascii")

    def open(self, token: str) -> dict[str, str]:
        """The headers back; FailedPrecondition when the key changed since they were stored."""
        try:
            return dict(json.loads(self._fernet.decrypt(token.encode("ascii"))))
        except InvalidToken:
            raise FailedPrecondition("stored MCP headers cannot be decrypted (key changed?)") from None


if __name__ == "__main__":  # the key for AGENTMESH_MCP_HEADERS_KEY that a secret derives (see above)
    import sys

    print(derived_key(sys.argv[1]).decode("ascii"))
