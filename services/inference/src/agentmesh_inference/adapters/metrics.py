"""Prometheus metrics of the inference service, served on their own port (`/metrics`, by the
service skeleton: agentmesh_grpc.service with Listener.metrics_addr).

One registry per process, prometheus-client's default: vLLM's own metrics
(`vllm:*`, on once its stats are on) land in it too, so one scrape gets both.
Ours are `agentmesh_inference_*`: time to first token, time per output token,
tokens per project, quota refusals, and gauges read at scrape time from the
engine (batch size, waiting requests, KV-cache use, tokens/s) and the fair queue.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import Counter, Gauge, Histogram

from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.models import EngineStats

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_TOKEN_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1.0)

TTFT = Histogram(
    "agentmesh_inference_time_to_first_token_seconds",
    "From admission (quota and fair queue included) to the first output token",
    buckets=_LATENCY_BUCKETS,
)
TPOT = Histogram(
    "agentmesh_inference_time_per_output_token_seconds",
    "Time per output token after the first",
    buckets=_TOKEN_BUCKETS,
)
DURATION = Histogram("agentmesh_inference_request_seconds", "Whole request time", buckets=_LATENCY_BUCKETS)
TOKENS = Counter("agentmesh_inference_tokens_total", "Tokens processed, by project", ["project", "kind"])
REQUESTS = Counter("agentmesh_inference_requests_total", "Requests served, by project", ["project"])
REJECTIONS = Counter(
    "agentmesh_inference_quota_rejections_total", "Requests refused for quota, by project", ["project", "reason"]
)
RUNNING = Gauge("agentmesh_inference_requests_running", "Requests in the engine's running batch (the batch size)")
WAITING = Gauge("agentmesh_inference_requests_waiting", "Requests the engine holds but has not scheduled")
QUEUED = Gauge("agentmesh_inference_requests_queued", "Requests in the fair queue, not yet given to the engine")
KV_CACHE = Gauge("agentmesh_inference_kv_cache_usage_ratio", "Share of the KV cache in use (0 to 1)")
TOKENS_PER_SECOND = Gauge("agentmesh_inference_generation_tokens_per_second", "Output tokens/s, last 10 s")
BATCH_CAPACITY = Gauge("agentmesh_inference_max_batch_size", "Most sequences batched in one engine step")
LOADED = Gauge("agentmesh_inference_model_loaded", "1 once the model is loaded and serving")


def _label(project_id: str) -> str:
    return project_id or "none"


class PrometheusMetrics:
    """InferenceMetrics into the process's default registry."""

    def rejected(self, project_id: str, reason: str) -> None:
        """Count a quota refusal."""
        REJECTIONS.labels(_label(project_id), reason).inc()

    def finished(
        self, project_id: str, prompt_tokens: int, completion_tokens: int, ttft: float | None, duration: float
    ) -> None:
        """Count a finished request's tokens and time it."""
        project = _label(project_id)
        REQUESTS.labels(project).inc()
        TOKENS.labels(project, "prompt").inc(prompt_tokens)
        TOKENS.labels(project, "completion").inc(completion_tokens)
        DURATION.observe(duration)
        if ttft is not None:
            TTFT.observe(ttft)
            if completion_tokens > 1:
                TPOT.observe(max(duration - ttft, 0.0) / (completion_tokens - 1))


def watch(inference: Inference) -> None:
    """Read the gauges from the engine and the fair queue at each scrape."""

    def stat(read: Callable[[EngineStats], float]) -> Callable[[], float]:
        return lambda: read(inference.status().stats)

    RUNNING.set_function(stat(lambda s: s.running_requests))
    WAITING.set_function(stat(lambda s: s.waiting_requests))
    KV_CACHE.set_function(stat(lambda s: s.kv_cache_usage))
    TOKENS_PER_SECOND.set_function(stat(lambda s: s.generation_tokens_per_second))
    BATCH_CAPACITY.set_function(stat(lambda s: s.max_batch_size))
    QUEUED.set_function(lambda: inference.queue.queued)
    LOADED.set_function(lambda: 1.0 if inference.ready else 0.0)
