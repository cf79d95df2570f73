"""Settings every service shares. Each service subclasses CommonSettings and
builds its settings in main(), never at import time, through `load_settings`."""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeVar

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseSettings)

# Well-known local defaults: fine on a laptop, refused in production.
LOCAL_INTERNAL_SECRET = "agentmesh-local-internal-secret-change-me-0123456789"
LOCAL_JWT_SECRET = "agentmesh-local-jwt-secret-change-me-0123456789abcdef"

# The exit status of a process started with bad settings (as argparse uses for bad arguments).
BAD_SETTINGS_EXIT_STATUS = 2


class CommonSettings(BaseSettings):
    """Fields every service reads, all from AGENTMESH_* variables."""

    model_config = SettingsConfigDict(env_prefix="AGENTMESH_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    log_level: str = "INFO"
    internal_secret: SecretStr = SecretStr(LOCAL_INTERNAL_SECRET)

    @model_validator(mode="after")
    def _refuse_local_secrets_in_production(self) -> CommonSettings:
        if self.environment == "production":
            for name, value in self._secrets().items():
                if value in (LOCAL_INTERNAL_SECRET, LOCAL_JWT_SECRET) or len(value) < 32:
                    raise ValueError(f"AGENTMESH_{name.upper()} must be set to a strong secret in production")
        return self

    def _secrets(self) -> dict[str, str]:
        return {"internal_secret": self.internal_secret.get_secret_value()}


class NatsSettings(CommonSettings):
    """CommonSettings of a service that connects to NATS (agents, and the gateway's readiness probe)."""

    # One server or a comma-separated list; `tls://` connects over TLS.
    nats_url: str = "nats://127.0.0.1:4222"
    # The service's NATS user, whose permissions name the subjects it may use
    # (agentmesh_events.access). Empty: no credentials (a server without authorization).
    nats_user: str = ""
    nats_password: SecretStr = SecretStr("")


def load_settings(settings_class: type[S]) -> S:
    """Build a service's settings from its environment, or exit with status 2.

    Bad settings are reported as one log line naming each bad variable and
    what is wrong with it, never its value (a database URL may hold a
    password). Configure logging before calling this, so the line is JSON.
    """
    try:
        return settings_class()
    except ValidationError as error:
        log.error("invalid settings: %s", describe_invalid_settings(error, settings_class))
    except SettingsError as error:
        # Raised when a value cannot even be decoded; its message names the field, not the value.
        log.error("invalid settings: %s", error)
    raise SystemExit(BAD_SETTINGS_EXIT_STATUS)


def describe_invalid_settings(error: ValidationError, settings_class: type[BaseSettings]) -> str:
    """'AGENTMESH_X: what is wrong; AGENTMESH_Y: ...', without the values."""
    problems = error.errors(include_url=False, include_context=False, include_input=False)
    return "; ".join(_describe(problem, settings_class) for problem in problems)


def _describe(problem: Any, settings_class: type[BaseSettings]) -> str:
    where = _variable(problem["loc"], settings_class)
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])


def _variable(loc: tuple[int | str, ...], settings_class: type[BaseSettings]) -> str:
    """The environment variable behind an error location (a field name, or already an alias)."""
    if not loc:
        return ""
    first, rest = str(loc[0]), [str(part) for part in loc[1:]]
    if first in settings_class.model_fields:
        prefix = str(settings_class.model_config.get("env_prefix") or "")
        first = (prefix + first).upper()
    return ".".join([first, *rest])
