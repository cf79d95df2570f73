"""Settings every service shares. Each service subclasses CommonSettings and
builds its settings in main(), never at import time, through `load_settings`."""

from __future__ import annotations

import logging
from typing import Any, Literal, TypeVar

from pydantic import SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from agentmesh_core.service_keys import (
    is_local_key,
    load_private_key,
    load_public_key,
    local_private_key,
    local_public_keys,
)

log = logging.getLogger(__name__)

S = TypeVar("S", bound=BaseSettings)

# Well-known local defaults: fine on a laptop, refused in production (the local
# identity keys too: agentmesh_core.service_keys).
LOCAL_JWT_SECRET = "agentmesh-local-jwt-secret-change-me-0123456789abcdef"

# The exit status of a process started with bad settings (as argparse uses for bad arguments).
BAD_SETTINGS_EXIT_STATUS = 2


class CommonSettings(BaseSettings):
    """Fields every service reads, all from AGENTMESH_* variables."""

    model_config = SettingsConfigDict(env_prefix="AGENTMESH_", extra="ignore")

    environment: Literal["local", "production"] = "local"
    log_level: str = "INFO"
    # This service's own Ed25519 key (base64) that signs the identities it sends;
    # "" is the service's well-known local key.
    identity_key: SecretStr = SecretStr("")
    # Every service's public key (base64) by name, as JSON ({"gateway": "...", ...}):
    # how a receiver checks who signed a call. Empty: the well-known local keys.
    identity_public_keys: dict[str, str] = {}
    # The process that started this one (the dev stack sets its own): when it is gone, stop
    # (agentmesh_core.parent_watch). 0: none.
    stop_with_parent_pid: int = 0

    @model_validator(mode="after")
    def _check_identity_keys(self) -> CommonSettings:
        for name, key in self.identity_public_keys.items():
            try:
                load_public_key(key)
            except ValueError:
                raise ValueError(f"AGENTMESH_IDENTITY_PUBLIC_KEYS: {name}'s is not a base64 Ed25519 key") from None
        if self.identity_key.get_secret_value():
            try:
                load_private_key(self.identity_key.get_secret_value())
            except ValueError:
                raise ValueError("AGENTMESH_IDENTITY_KEY is not a base64 Ed25519 key") from None
        return self

    @model_validator(mode="after")
    def _refuse_local_secrets_in_production(self) -> CommonSettings:
        if self.environment != "production":
            return self
        for name, value in self._secrets().items():
            if value == LOCAL_JWT_SECRET or len(value) < 32:
                raise ValueError(f"AGENTMESH_{name.upper()} must be set to a strong secret in production")
        key = self.identity_key.get_secret_value()
        if not key or is_local_key(key):
            raise ValueError("AGENTMESH_IDENTITY_KEY must be set to this service's own key in production")
        if not self.identity_public_keys or any(map(is_local_key, self.identity_public_keys.values())):
            raise ValueError("AGENTMESH_IDENTITY_PUBLIC_KEYS must list the services' own keys in production")
        return self

    def _secrets(self) -> dict[str, str]:
        return {}

    def identity_private_key(self, service: str) -> str:
        """This service's signing key: the configured one, or service's local default."""
        return self.identity_key.get_secret_value() or local_private_key(service)

    def identity_verify_keys(self) -> dict[str, str]:
        """The public keys of every service, by name: the configured ones, or the local defaults."""
        return dict(self.identity_public_keys) or local_public_keys()


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
