"""Settings: AGENTMESH_* variables, and no local defaults in production."""

from __future__ import annotations

import os

import pytest
from pydantic import ValidationError

from agentmesh_core.service_keys import new_keyring, public_key_of
from agentmesh_core.settings import LOCAL_JWT_SECRET
from agentmesh_gateway.settings import GatewaySettings

STRONG = "x" * 40
_KEYRING = new_keyring()
# The gateway's own identity key and every service's public key, as production needs them.
KEYS = {
    "identity_key": _KEYRING["gateway"],
    "identity_public_keys": {name: public_key_of(key) for name, key in _KEYRING.items()},
}


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch) -> None:
    """Only what a test sets counts: drop AGENTMESH_* from the outer environment."""
    for name in [n for n in os.environ if n.startswith("AGENTMESH_")]:
        monkeypatch.delenv(name)


def test_defaults_and_environment(monkeypatch) -> None:
    monkeypatch.setenv("AGENTMESH_GATEWAY_PORT", "8123")
    monkeypatch.setenv("AGENTMESH_ALLOW_USER_PROJECTS", "false")
    settings = GatewaySettings()
    assert (settings.gateway_host, settings.gateway_port, settings.allow_user_projects) == ("127.0.0.1", 8123, False)
    assert settings.jwt_secret.get_secret_value() == LOCAL_JWT_SECRET
    assert (settings.admin_username, settings.admin_password.get_secret_value()) == ("admin", "agentmesh-admin")
    assert settings.max_body_bytes == 1024 * 1024 and settings.access_token_ttl_seconds == 900
    assert settings.scheduler_service_addr == "127.0.0.1:50054"


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({**KEYS, "admin_password": "long-enough-pw"}, "JWT_SECRET"),
        ({"jwt_secret": STRONG, "admin_password": "long-enough-pw"}, "IDENTITY_KEY"),
        (
            {**KEYS, "identity_public_keys": {}, "jwt_secret": STRONG, "admin_password": "long-enough-pw"},
            "IDENTITY_PUBLIC_KEYS",
        ),
        ({**KEYS, "jwt_secret": STRONG}, "ADMIN_PASSWORD"),
        ({**KEYS, "jwt_secret": STRONG, "admin_password": "short"}, "ADMIN_PASSWORD"),
    ],
)
def test_production_refuses_local_secrets(overrides, named) -> None:
    with pytest.raises(ValidationError, match=named):
        GatewaySettings(environment="production", **overrides)


def test_production_with_real_secrets() -> None:
    settings = GatewaySettings(environment="production", jwt_secret=STRONG, admin_password="long-enough-pw", **KEYS)
    assert settings.environment == "production"
