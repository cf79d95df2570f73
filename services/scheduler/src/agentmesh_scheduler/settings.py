"""Settings of the scheduler service, all from AGENTMESH_* environment variables."""

from __future__ import annotations

from pydantic import AliasChoices, Field
from pydantic_settings import SettingsConfigDict

from agentmesh_core.settings import CommonSettings

# The one task queue the scheduler's worker polls (tests override it per test).
TASK_QUEUE = "agentmesh-scheduler"


class SchedulerSettings(CommonSettings):
    """Everything the scheduler reads from its environment.

    Built once in main(), never at import time.
    """

    model_config = SettingsConfigDict(env_prefix="AGENTMESH_", extra="ignore", populate_by_name=True)

    database_url: str
    scheduler_listen_addr: str = "127.0.0.1:50054"
    # Prometheus /metrics (host:port) on its own port; "" serves none (devstack and the chart set it).
    scheduler_metrics_addr: str = ""
    # Set explicitly, these win; otherwise the SDK's environment configuration
    # (TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE, a TOML profile) decides, then these
    # defaults. TLS and API keys come from that configuration only.
    temporal_address: str = "127.0.0.1:7233"
    temporal_namespace: str = "default"
    # Where operators open a job's workflow (the dev server's UI by default).
    temporal_ui_url: str = "http://127.0.0.1:8233"
    task_queue: str = Field(
        default=TASK_QUEUE,
        validation_alias=AliasChoices("AGENTMESH_SCHEDULER_TASK_QUEUE", "task_queue"),
        min_length=1,
    )
    agents_service_addr: str = "127.0.0.1:50051"

    # Waiting for dependencies at start-up and stopping.
    startup_timeout_seconds: float = Field(default=120.0, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    # Calls to other services.
    agents_timeout_seconds: float = Field(default=10.0, gt=0)
    temporal_rpc_timeout_seconds: float = Field(default=10.0, gt=0)
    # How long a schedule or job call keeps trying a Temporal it cannot reach before it
    # answers UNAVAILABLE (the gateway's 503); the worker keeps the SDK's own retries.
    temporal_retry_seconds: float = Field(default=1.0, gt=0)
