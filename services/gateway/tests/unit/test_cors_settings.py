"""CORS settings: local allows the Next.js dev server, production nothing, never * with credentials."""

from __future__ import annotations

import json
import os

import pytest
from pydantic import ValidationError

from agentmesh_core.service_keys import new_keyring, public_key_of
from agentmesh_gateway.settings import LOCAL_CORS_ORIGINS, GatewaySettings

STRONG = "x" * 40


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch) -> None:
    for name in [n for n in os.environ if n.startswith("AGENTMESH_")]:
        monkeypatch.delenv(name)


def _production(monkeypatch) -> None:
    keyring = new_keyring()
    public = json.dumps({name: public_key_of(key) for name, key in keyring.items()})
    for name, value in {"ENVIRONMENT": "production", "JWT_SECRET": STRONG, "IDENTITY_KEY": keyring["gateway"],
                        "IDENTITY_PUBLIC_KEYS": public, "ADMIN_PASSWORD": STRONG}.items():  # fmt: skip
        monkeypatch.setenv(f"AGENTMESH_{name}", value)


def test_the_local_default_allows_the_dev_server_only() -> None:
    settings = GatewaySettings()
    assert settings.cors_allowed_origins == list(LOCAL_CORS_ORIGINS)
    assert settings.cors_allow_credentials and settings.cors_max_age_seconds == 600


def test_production_allows_nothing_until_origins_are_named(monkeypatch) -> None:
    _production(monkeypatch)
    assert GatewaySettings().cors_allowed_origins == []
    monkeypatch.setenv("AGENTMESH_CORS_ALLOWED_ORIGINS", '["https://app.example"]')
    assert GatewaySettings().cors_allowed_origins == ["https://app.example"]


def test_a_wildcard_with_credentials_is_refused(monkeypatch) -> None:
    monkeypatch.setenv("AGENTMESH_CORS_ALLOWED_ORIGINS", '["*"]')
    with pytest.raises(ValidationError, match="cannot be \\*"):
        GatewaySettings()
    monkeypatch.setenv("AGENTMESH_CORS_ALLOW_CREDENTIALS", "false")
    assert GatewaySettings().cors_allowed_origins == ["*"]


def test_stream_settings_are_bounded(monkeypatch) -> None:
    monkeypatch.setenv("AGENTMESH_STREAM_TICKET_TTL_SECONDS", "0")
    with pytest.raises(ValidationError):
        GatewaySettings()
