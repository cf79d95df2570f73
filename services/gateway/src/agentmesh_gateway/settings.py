"""Gateway settings, all from AGENTMESH_* variables; built in main(), never at import."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator, model_validator

from agentmesh_core.quotas import parse_rate
from agentmesh_core.settings import LOCAL_JWT_SECRET, NatsSettings

LOCAL_ADMIN_USERNAME = "admin"
LOCAL_ADMIN_PASSWORD = "agentmesh-admin"
MIN_PRODUCTION_ADMIN_PASSWORD = 12
# The Next.js dev server, allowed by the local run only.
LOCAL_CORS_ORIGINS = ("http://localhost:3000", "http://127.0.0.1:3000")


class GatewaySettings(NatsSettings):
    """Where the gateway listens, what it talks to, and how it authenticates users.

    Outside the local run (AGENTMESH_ENVIRONMENT=production) the well-known local
    JWT and internal secrets are refused, and the bootstrap admin password must
    be set to something of at least 12 characters.
    """

    database_url: str = "postgresql://postgres@127.0.0.1:5432/agentmesh"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = Field(default=8000, ge=0, le=65535)

    jwt_secret: SecretStr = SecretStr(LOCAL_JWT_SECRET)
    # Short access tokens; a client keeps its session with POST /auth/refresh.
    access_token_ttl_seconds: int = Field(default=900, ge=60, le=7 * 24 * 3600)
    refresh_token_ttl_seconds: int = Field(default=14 * 24 * 3600, ge=300, le=90 * 24 * 3600)
    # Sessions and project roles are kept per replica this long at most; each change is announced
    # to every replica and forgotten at once (adapters/access_cache.py). 0: always read them.
    access_cache_seconds: float = Field(default=10.0, ge=0, le=300)
    admin_username: str = LOCAL_ADMIN_USERNAME
    admin_password: SecretStr = SecretStr(LOCAL_ADMIN_PASSWORD)
    allow_user_projects: bool = True
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_header_bytes: int = Field(default=32 * 1024, ge=1024)
    max_header_count: int = Field(default=100, ge=8)

    # Login throttling (accounts/login_throttle.py): `limits` rate specs, counted per replica.
    login_attempts_per_account: str = "5/minute;20/hour"
    login_failures_per_address: str = "20/minute;200/hour"
    rate_limit_storage_uri: str = "memory://"
    # A refused login (429) is answered after this pause, at most its Retry-After.
    login_refusal_delay_seconds: float = Field(default=1.0, ge=0, le=30)
    # Password hashing runs on its own threads, at a lower priority (nice, Linux); at most
    # threads + queue hashes at once.
    password_hash_threads: int = Field(default=1, ge=1, le=64)
    password_hash_queue: int = Field(default=8, ge=0, le=1024)
    password_hash_nice: int = Field(default=10, ge=0, le=19)

    agents_service_addr: str = "127.0.0.1:50051"
    memory_service_addr: str = "127.0.0.1:50052"
    inference_service_addr: str = "127.0.0.1:50053"
    scheduler_service_addr: str = "127.0.0.1:50054"
    temporal_address: str = "127.0.0.1:7233"

    # Browsers on these origins may call the API (CORS). Unset: the local run allows the
    # Next.js dev server; production allows nothing until origins are named. "*" is
    # refused when credentials are allowed (browsers refuse it too).
    cors_allowed_origins: list[str] | None = None
    cors_allow_credentials: bool = True
    cors_max_age_seconds: int = Field(default=600, ge=0, le=86400)
    # Single-use tickets that let EventSource/WebSocket authenticate without a token in the URL.
    stream_ticket_ttl_seconds: int = Field(default=60, ge=5, le=600)
    # How often an open SSE stream or WebSocket re-checks its caller's access.
    stream_access_recheck_seconds: float = Field(default=2.0, gt=0, le=60)
    # The dashboard waits this long for each service before marking its section unavailable.
    dashboard_deadline_seconds: float = Field(default=2.0, gt=0, le=30)

    @field_validator("login_attempts_per_account", "login_failures_per_address")
    @classmethod
    def _rate_spec(cls, value: str) -> str:
        parse_rate(value)  # a ValueError names the malformed spec
        return value

    @model_validator(mode="after")
    def _cors_origins(self) -> GatewaySettings:
        if self.cors_allowed_origins is None:
            self.cors_allowed_origins = [] if self.environment == "production" else list(LOCAL_CORS_ORIGINS)
        if "*" in self.cors_allowed_origins and self.cors_allow_credentials:
            raise ValueError("AGENTMESH_CORS_ALLOWED_ORIGINS cannot be * while credentials are allowed")
        return self

    @model_validator(mode="after")
    def _refresh_outlives_access(self) -> GatewaySettings:
        if self.refresh_token_ttl_seconds < self.access_token_ttl_seconds:
            raise ValueError("AGENTMESH_REFRESH_TOKEN_TTL_SECONDS must be at least the access token TTL")
        return self

    @model_validator(mode="after")
    def _refuse_local_admin_password_in_production(self) -> GatewaySettings:
        if self.environment == "production":
            password = self.admin_password.get_secret_value()
            if password == LOCAL_ADMIN_PASSWORD or len(password) < MIN_PRODUCTION_ADMIN_PASSWORD:
                raise ValueError(
                    f"AGENTMESH_ADMIN_PASSWORD must be set ({MIN_PRODUCTION_ADMIN_PASSWORD}+ characters) in production"
                )
        return self

    def _secrets(self) -> dict[str, str]:
        return {**super()._secrets(), "jwt_secret": self.jwt_secret.get_secret_value()}
