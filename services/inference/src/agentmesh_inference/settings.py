"""InferenceService settings, all from AGENTMESH_* environment variables (built in main())."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from agentmesh_core.settings import CommonSettings
from agentmesh_inference.adapters.engine_config import Dtype, EngineConfig
from agentmesh_inference.domain.limits import Limits
from agentmesh_inference.domain.quotas import Quota
from agentmesh_inference.tiny_model import is_random_model

TINY_MODEL_SUBDIR = Path("models") / "tiny-llama"
# The domain's Limits hold the one copy of each request-limit default.
_DEFAULTS = Limits()


class InferenceSettings(CommonSettings):
    """What the inference service reads from its environment.

    `model` is a local path or a Hugging Face id. Unset, the service serves the
    tiny random-weight model in `<run_dir>/models/tiny-llama` (created on first
    start): every code path works, but its text is gibberish.
    """

    run_dir: Path = Path(".run")
    model: str | None = None
    inference_listen_addr: str = "127.0.0.1:50053"
    # Prometheus /metrics on its own port ("" serves none).
    inference_metrics_addr: str = "127.0.0.1:9153"

    # Engine
    max_model_len: int = Field(2048, ge=64)
    max_num_seqs: int = Field(64, ge=1, description="most sequences batched together")
    inference_dtype: Dtype = "auto"
    inference_enforce_eager: bool = True
    cpu_kv_cache_gib: int = Field(1, ge=1, description="sets VLLM_CPU_KVCACHE_SPACE (CPU only)")
    inference_cpu_threads: int = Field(1, ge=1, description="the model's OpenMP threads (CPU only)")
    gpu_memory_utilization: float = Field(0.85, gt=0, le=1)
    # Tokens per streamed chunk after the first (the first and last go out at once): more
    # means fewer messages to serve per token, tokens arriving in small groups.
    stream_interval: int = Field(1, ge=1, le=64)
    # A stream's messages go out at most once per this many seconds after the first (the last
    # at once): when tokens come faster, they are sent together (0: each as it comes).
    stream_flush_seconds: float = Field(0.02, ge=0, le=1)

    # Fair sharing: requests given to the engine at once (0: max_num_seqs); the rest wait
    # in the fair queue. Per-project defaults; superadmins override them per project.
    engine_slots: int = Field(0, ge=0)
    project_tokens_per_minute: int = Field(1_000_000, ge=0)
    project_max_concurrent_requests: int = Field(64, ge=0)

    # Request limits
    max_tokens_cap: int = Field(_DEFAULTS.max_tokens_cap, ge=1)
    default_max_tokens: int = Field(_DEFAULTS.default_max_tokens, ge=1)
    max_prompt_chars: int = Field(_DEFAULTS.max_prompt_chars, ge=1)

    @property
    def uses_default_model(self) -> bool:
        """True when no model is configured and the tiny random one is served."""
        return not self.model

    @property
    def model_path(self) -> str:
        """The model to load: AGENTMESH_MODEL, or the tiny model in the run dir."""
        return self.model or str(self.run_dir / TINY_MODEL_SUBDIR)

    def limits(self) -> Limits:
        """Request limits for the domain."""
        return Limits(
            max_tokens_cap=self.max_tokens_cap,
            default_max_tokens=min(self.default_max_tokens, self.max_tokens_cap),
            max_prompt_chars=self.max_prompt_chars,
        )

    def default_quota(self) -> Quota:
        """The quota of every project without an override."""
        return Quota(self.project_tokens_per_minute, self.project_max_concurrent_requests)

    @property
    def queue_slots(self) -> int:
        """Requests the fair queue lets into the engine at once."""
        return self.engine_slots or self.max_num_seqs

    @property
    def quota_file(self) -> Path:
        """Where superadmins' per-project quota overrides are kept."""
        return self.run_dir / "inference" / "quotas.json"

    def engine_config(self) -> EngineConfig:
        """Engine configuration for the vLLM adapter."""
        model = self.model_path
        return EngineConfig(
            model=model,
            max_model_len=self.max_model_len,
            max_num_seqs=self.max_num_seqs,
            dtype=self.inference_dtype,
            enforce_eager=self.inference_enforce_eager,
            cpu_kv_cache_gib=self.cpu_kv_cache_gib,
            cpu_threads=self.inference_cpu_threads,
            gpu_memory_utilization=self.gpu_memory_utilization,
            random_weights=Path(model).is_dir() and is_random_model(Path(model)),
            log_level=self.log_level,
            log_config_dir=self.run_dir / "inference",
            stream_interval=self.stream_interval,
        )
