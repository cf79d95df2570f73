"""Each run dir's own service identity keys (agentmesh_core.service_keys).

Made once per run dir (`identity-keys.json`, private: mode 0600) and kept, so a
service restarted in the same run dir keeps its key. Each service process gets its
own private key and every service's public key, as the chart gives them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from agentmesh_core.service_keys import new_keyring, public_key_of
from agentmesh_grpc.trust import ServiceKeys

KEYS_FILE = "identity-keys.json"


def run_dir_keyring(run_dir: Path) -> dict[str, str]:
    """The run dir's private key of every service, by name (made on first use)."""
    path = run_dir / KEYS_FILE
    if path.exists():
        return dict(json.loads(path.read_text()))
    keyring = new_keyring()
    run_dir.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        json.dump(keyring, file)
    return keyring


def identity_env(keyring: dict[str, str], service: str) -> dict[str, str]:
    """AGENTMESH_IDENTITY_KEY (service's own) and AGENTMESH_IDENTITY_PUBLIC_KEYS (everyone's)."""
    public = {name: public_key_of(key) for name, key in keyring.items()}
    return {"AGENTMESH_IDENTITY_KEY": keyring[service], "AGENTMESH_IDENTITY_PUBLIC_KEYS": json.dumps(public)}


def service_keys(keyring: dict[str, str], service: str) -> ServiceKeys:
    """Service's keys in this keyring: for a test that calls the mesh as that service."""
    return ServiceKeys.of(service, keyring[service], {name: public_key_of(key) for name, key in keyring.items()})
