"""How the vLLM engine is configured: engine arguments and the process environment it needs.

vLLM reads part of its configuration from environment variables, in this process
and in the engine processes it spawns (which inherit the environment), so those
are set here, once, before vLLM is imported.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any, Literal

# The dtypes vLLM accepts (its ModelDType; vLLM itself is imported only once the
# environment is set, so it is restated here).
Dtype = Literal["auto", "half", "float16", "bfloat16", "float", "float32"]


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """What the vLLM engine needs to load and serve one model."""

    model: str
    max_model_len: int = 2048
    max_num_seqs: int = 64
    dtype: Dtype = "auto"
    enforce_eager: bool = True
    cpu_kv_cache_gib: int = 1
    # The model's OpenMP threads on a CPU build (OMP_NUM_THREADS of the engine process).
    cpu_threads: int = 1
    gpu_memory_utilization: float = 0.85
    random_weights: bool = False
    log_level: str = "INFO"
    log_config_dir: Path | None = None
    seed: int = 0
    # Output tokens per streamed chunk after the first (vLLM's --stream-interval; the first
    # and the last are sent at once). 1 streams every token; more means fewer messages.
    stream_interval: int = 1

    def engine_args(self) -> Any:
        """vLLM's AsyncEngineArgs for this config."""
        from vllm.config import StructuredOutputsConfig
        from vllm.engine.arg_utils import AsyncEngineArgs

        # Only when set: vLLM builds without the option (before 0.11) still take the default.
        extra: dict[str, Any] = {"stream_interval": self.stream_interval} if self.stream_interval > 1 else {}
        return AsyncEngineArgs(
            model=self.model,
            max_model_len=self.max_model_len,
            max_num_seqs=self.max_num_seqs,
            dtype=self.dtype,
            # CUDA graphs and torch.compile cost minutes at start-up and win little on CPU.
            enforce_eager=self.enforce_eager,
            # No weight-loading progress bar: plain text in the service's JSON log.
            use_tqdm_on_load=False,
            gpu_memory_utilization=self.gpu_memory_utilization,
            # Structured output: xgrammar, and no free whitespace between JSON tokens. With any
            # whitespace allowed, weak models wander in whitespace until max_tokens runs out
            # (measured: 0 of 8 parsed with a random model; 8 of 8 with this setting). The per-request
            # disable_any_whitespace had no effect in vLLM 0.32; the engine-level one does.
            structured_outputs_config=StructuredOutputsConfig(backend="xgrammar", disable_any_whitespace=True),
            # vLLM's statistics on: its periodic log line, its Prometheus metrics (vllm:*), and
            # the figures GetEngineStatus reports (adapters/engine_stats.py).
            disable_log_stats=False,
            seed=self.seed,
            **extra,
        )


def prepare_environment(config: EngineConfig) -> None:
    """Set vLLM's environment (engine_environment), offline loading and JSON logs."""
    os.environ.update(engine_environment(config))
    if Path(config.model).is_dir():
        # A local model needs no hub; never let a loader try to reach one.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    if config.log_config_dir is not None and "VLLM_LOGGING_CONFIG_PATH" not in os.environ:
        path = write_logging_config(config.log_config_dir, config.log_level)
        os.environ["VLLM_LOGGING_CONFIG_PATH"] = str(path)


def cache_vllm_environment(enabled: bool) -> None:
    """Whether vLLM reads its settings from the environment once (True) or at every use (False).

    vLLM reads each setting from os.environ at every use, on per-request and per-step
    paths too (SamplingParams' checks, the iteration statistics of every output):
    measured here, 6% of the serving process's CPU at 64 streams. Its engine process
    caches them once started; this process does the same once its engine is up, and
    reads them afresh before it starts another. A build without the cache reads them
    each time.
    """
    from vllm import envs

    switch = getattr(envs, "enable_envs_cache" if enabled else "disable_envs_cache", None)
    if switch is not None:
        switch()


def engine_environment(config: EngineConfig) -> dict[str, str]:
    """The variables vLLM's processes need for this config (benchmarks give vLLM's own server the same).

    On a CPU build the model runs in the engine process, on `cpu_threads` OpenMP
    threads. vLLM's default there is a worker process of its own, with one OpenMP
    thread per core, and both sides wait for each other by spinning: the engine
    spins on the worker's shared-memory queue for a second after each answer, and
    the idle OpenMP threads spin between operations. Measured on 2 cores, tiny model,
    64 tokens a request, vLLM's default and this alternating, twice each: 16 requests
    at once took 37-47 ms of CPU a request (default 69-86) at 25-34 requests/s
    (23-29), the engine using 1.2 cores instead of all of both; one request at a time
    took about as long either way (295-383 ms, default 270-391) at half the CPU.
    """
    environment = {"VLLM_CPU_KVCACHE_SPACE": str(config.cpu_kv_cache_gib)}  # GiB; ignored on GPU
    if is_cpu_build():
        environment["VLLM_ENABLE_V1_MULTIPROCESSING"] = "0"  # no worker process (the engine process stays)
        environment["OMP_NUM_THREADS"] = str(config.cpu_threads)
    return environment


def is_cpu_build() -> bool:
    """Whether the installed vLLM is its CPU build (tested as vLLM's own platform check does)."""
    if os.environ.get("VLLM_TARGET_DEVICE") == "cpu":
        return True
    built = _installed_version("vllm")
    return "cpu" in built if built is not None else _installed_version("vllm-cpu") is not None


def _installed_version(distribution: str) -> str | None:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return None


def write_logging_config(directory: Path, level: str) -> Path:
    """A logging config that makes vLLM log JSON lines like the rest of the service.

    vLLM applies it in every process it starts, so the engine processes' lines
    are JSON too (with vllm_process_name telling them apart).
    """
    logging_config = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "json": {"()": "agentmesh_observability.logging.JsonFormatter", "service": "inference"},
        },
        "handlers": {
            "json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        "loggers": {"vllm": {"handlers": ["json"], "level": level.upper(), "propagate": False}},
    }
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "vllm-logging.json"
    path.write_text(json.dumps(logging_config, indent=2) + "\n")
    return path
