"""Gateway settings, all from AGENTMESH_* variables; built in main(), never at import."""

from __future__ import annotations

from pydantic import SecretStr, model_validator

from agentmesh_core.settings import LOCAL_JWT_SECRET, CommonSettings

LOCAL_ADMIN_PASSWORD = "agentmesh-admin"


class GatewaySettings(CommonSettings):
    """Where the gateway listens, what it talks to, and its auth settings."""

    database_url: str = "postgresql://postgres@localhost:5432/agentmesh"
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    jwt_secret: SecretStr = SecretStr(LOCAL_JWT_SECRET)
    access_token_ttl_seconds: int = 3600
    admin_username: str = "admin"
    admin_password: SecretStr = SecretStr(LOCAL_ADMIN_PASSWORD)
    allow_user_projects: bool = True
    max_body_bytes: int = 1024 * 1024

    agents_service_addr: str = "127.0.0.1:50051"
    memory_service_addr: str = "127.0.0.1:50052"
    inference_service_addr: str = "127.0.0.1:50053"
    scheduler_service_addr: str = "127.0.0.1:50054"
    nats_url: str = "nats://127.0.0.1:4222"
    temporal_address: str = "127.0.0.1:7233"

    @model_validator(mode="after")
    def _refuse_local_admin_password_in_production(self) -> GatewaySettings:
        if self.environment == "production":
            password = self.admin_password.get_secret_value()
            if password == LOCAL_ADMIN_PASSWORD or len(password) < 12:
                raise ValueError("AGENTMESH_ADMIN_PASSWORD must be set (12+ characters) in production")
        return self

    def _secrets(self) -> dict[str, str]:
        return {**super()._secrets(), "jwt_secret": self.jwt_secret.get_secret_value()}
