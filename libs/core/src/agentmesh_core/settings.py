"""Settings every service shares. Each service subclasses CommonSettings and
builds its settings in main(), never at import time."""

from __future__ import annotations

from typing import Literal

from pydantic import SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

# Well-known local defaults: fine on a laptop, refused in production.
LOCAL_INTERNAL_SECRET = "agentmesh-local-internal-secret-change-me-0123456789"
LOCAL_JWT_SECRET = "agentmesh-local-jwt-secret-change-me-0123456789abcdef"


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
