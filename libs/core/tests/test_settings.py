"""load_settings: bad settings are one log line naming each variable, never its value, and exit 2."""

from __future__ import annotations

import json
import logging

import pytest
from pydantic import AliasChoices, Field

from agentmesh_core.service_keys import local_private_key, local_public_keys, new_keyring, public_key_of
from agentmesh_core.settings import CommonSettings, load_settings


class ExampleSettings(CommonSettings):
    database_url: str
    partitions: int = Field(default=8, ge=1)
    queue: str = Field(default="q", min_length=1, validation_alias=AliasChoices("AGENTMESH_EXAMPLE_QUEUE", "queue"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PARTITIONS", "EXAMPLE_QUEUE", "ENVIRONMENT", "IDENTITY_KEY", "IDENTITY_PUBLIC_KEYS"):
        monkeypatch.delenv(f"AGENTMESH_{name}", raising=False)


def test_good_settings_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    assert load_settings(ExampleSettings).partitions == 8


def test_bad_settings_are_named_by_variable_without_values(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTMESH_PARTITIONS", "0")
    monkeypatch.setenv("AGENTMESH_EXAMPLE_QUEUE", "")
    monkeypatch.setenv("AGENTMESH_ENVIRONMENT", "staging-secret-value")
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as exited:
        load_settings(ExampleSettings)
    assert exited.value.code == 2
    [record] = caplog.records
    message = record.getMessage()
    assert message.startswith("invalid settings: ")
    for variable in (
        "AGENTMESH_DATABASE_URL",
        "AGENTMESH_PARTITIONS",
        "AGENTMESH_EXAMPLE_QUEUE",
        "AGENTMESH_ENVIRONMENT",
    ):
        assert f"{variable}: " in message
    assert "staging-secret-value" not in message


def test_a_rule_across_settings_is_reported_by_its_message(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("AGENTMESH_ENVIRONMENT", "production")
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        load_settings(ExampleSettings)
    assert (
        "AGENTMESH_IDENTITY_KEY must be set to this service's own key in production" in caplog.records[0].getMessage()
    )


def _production(monkeypatch: pytest.MonkeyPatch, key: str, public_keys: dict[str, str]) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("AGENTMESH_ENVIRONMENT", "production")
    monkeypatch.setenv("AGENTMESH_IDENTITY_KEY", key)
    monkeypatch.setenv("AGENTMESH_IDENTITY_PUBLIC_KEYS", json.dumps(public_keys))


def test_production_takes_the_services_own_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    keyring = new_keyring()
    public = {name: public_key_of(key) for name, key in keyring.items()}
    _production(monkeypatch, keyring["memory"], public)
    settings = load_settings(ExampleSettings)
    assert settings.identity_private_key("memory") == keyring["memory"]
    assert settings.identity_verify_keys() == public


@pytest.mark.parametrize("which", ["private", "public"])
def test_production_refuses_the_local_identity_keys(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, which: str
) -> None:
    keyring = new_keyring()
    public = {name: public_key_of(key) for name, key in keyring.items()}
    if which == "private":
        _production(monkeypatch, local_private_key("memory"), public)
    else:
        _production(monkeypatch, keyring["memory"], {**public, "gateway": local_public_keys()["gateway"]})
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        load_settings(ExampleSettings)
    assert "in production" in caplog.records[0].getMessage()


def test_keys_that_are_not_ed25519_keys_are_named(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    monkeypatch.setenv("AGENTMESH_IDENTITY_PUBLIC_KEYS", json.dumps({"gateway": "c2hvcnQ"}))
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit):
        load_settings(ExampleSettings)
    assert "gateway's is not a base64 Ed25519 key" in caplog.records[0].getMessage()
    assert "c2hvcnQ" not in caplog.records[0].getMessage()


def test_nothing_configured_means_the_local_keys(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    settings = load_settings(ExampleSettings)
    assert settings.identity_private_key("agents") == local_private_key("agents")
    assert settings.identity_verify_keys() == local_public_keys()
