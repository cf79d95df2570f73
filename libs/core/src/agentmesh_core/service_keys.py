"""Each service's own Ed25519 signing key, and the public keys its callers are checked with.

Keys travel as text: the 32 raw bytes, base64 (urlsafe, unpadded), as WireGuard keys do.
With nothing configured, each service falls back to a well-known *local* key derived
from its name: fine on a laptop and in tests, refused in production (settings.py).
The devstack generates fresh keys for each run dir instead.
"""

from __future__ import annotations

import base64
import hashlib
from functools import cache

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

# Every process that signs internal identities (the gateway signs, the others sign and verify).
SERVICE_NAMES = ("gateway", "agents", "memory", "scheduler", "inference")

_LOCAL_SEED = b"agentmesh-local-identity-key-change-me:"


def _text(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _raw(text: str) -> bytes:
    raw = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(raw) != 32:
        raise ValueError("an Ed25519 key is 32 bytes (base64)")
    return raw


def new_private_key() -> str:
    """A fresh random private key, as text."""
    return _text(Ed25519PrivateKey.generate().private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()))


@cache
def local_private_key(service: str) -> str:
    """The well-known local default key of service (public knowledge: never for production)."""
    return _text(hashlib.sha256(_LOCAL_SEED + service.encode()).digest())


def public_key_of(private_key: str) -> str:
    """The public key (as text) of a private key given as text."""
    return _text(load_private_key(private_key).public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))


@cache
def local_public_keys() -> dict[str, str]:
    """Every service's local default public key, by service name."""
    return {name: public_key_of(local_private_key(name)) for name in SERVICE_NAMES}


def is_local_key(key: str) -> bool:
    """True for any service's well-known local private or public key."""
    locals_ = {*local_public_keys().values(), *(local_private_key(name) for name in SERVICE_NAMES)}
    return key.strip() in locals_


def load_private_key(text: str) -> Ed25519PrivateKey:
    """ValueError unless text is a base64 32-byte Ed25519 private key."""
    return Ed25519PrivateKey.from_private_bytes(_raw(text))


def load_public_key(text: str) -> Ed25519PublicKey:
    """ValueError unless text is a base64 32-byte Ed25519 public key."""
    return Ed25519PublicKey.from_public_bytes(_raw(text))


def new_keyring() -> dict[str, str]:
    """A fresh private key for every service, by name (what the devstack writes per run dir)."""
    return {name: new_private_key() for name in SERVICE_NAMES}


def _helm_values(keyring: dict[str, str]) -> str:
    """Chart values holding a keyring: public keys (ConfigMap) and private keys (Secret)."""
    lines = ["identity:", "  publicKeys:"]
    lines += [f"    {name}: {public_key_of(key)}" for name, key in keyring.items()]
    lines += ["secrets:", "  identityKeys:"]
    lines += [f"    {name}: {key}" for name, key in keyring.items()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # `python -m agentmesh_core.service_keys > identity-keys.yaml`: a fresh keyring as chart values.
    print(_helm_values(new_keyring()), end="")
