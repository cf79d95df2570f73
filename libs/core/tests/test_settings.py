"""load_settings: bad settings are one log line naming each variable, never its value, and exit 2."""

from __future__ import annotations

import logging

import pytest
from pydantic import AliasChoices, Field

from agentmesh_core.settings import CommonSettings, load_settings


class ExampleSettings(CommonSettings):
    database_url: str
    partitions: int = Field(default=8, ge=1)
    queue: str = Field(default="q", min_length=1, validation_alias=AliasChoices("AGENTMESH_EXAMPLE_QUEUE", "queue"))


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("DATABASE_URL", "PARTITIONS", "EXAMPLE_QUEUE", "ENVIRONMENT", "INTERNAL_SECRET"):
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
    assert "AGENTMESH_INTERNAL_SECRET must be set to a strong secret in production" in caplog.records[0].getMessage()
