"""The metrics port (agentmesh_observability.metrics, as the service skeleton serves it): our
histograms and counters, gauges read from the use case, vLLM's stat logger."""

from __future__ import annotations

import httpx

from agentmesh_inference.adapters.engine_stats import StatsRecorder
from agentmesh_inference.adapters.metrics import PrometheusMetrics, watch
from agentmesh_inference.adapters.scripted_engine import ScriptedEngine
from agentmesh_inference.domain.inference import Inference
from agentmesh_inference.domain.limits import Limits
from agentmesh_observability.metrics import serve_metrics


def test_metrics_are_served_on_their_own_port():
    inference = Inference(Limits(), ScriptedEngine(max_batch_size=7))
    watch(inference)
    metrics = PrometheusMetrics()
    metrics.finished("p-metrics", 5, 9, 0.01, 0.09)
    metrics.rejected("p-metrics", "tokens")
    metrics.rejected("", "concurrency")
    server = serve_metrics("127.0.0.1:0")
    try:
        text = httpx.get(f"http://127.0.0.1:{server.port}/metrics", timeout=5).text
    finally:
        server.stop()
    assert 'agentmesh_inference_tokens_total{kind="completion",project="p-metrics"} 9.0' in text
    assert 'agentmesh_inference_quota_rejections_total{project="p-metrics",reason="tokens"} 1.0' in text
    assert 'agentmesh_inference_quota_rejections_total{project="none",reason="concurrency"} 1.0' in text
    assert "agentmesh_inference_time_to_first_token_seconds_count" in text
    assert "agentmesh_inference_time_per_output_token_seconds_count" in text
    assert "agentmesh_inference_max_batch_size 7.0" in text
    assert "agentmesh_inference_model_loaded 1.0" in text


class Scheduler:
    num_running_reqs, num_waiting_reqs, num_skipped_waiting_reqs, kv_cache_usage = 3, 2, 1, 0.25


class Iteration:
    num_generation_tokens = 40


def test_the_stat_logger_keeps_the_latest_figures_and_a_token_rate():
    now = [100.0]
    recorder = StatsRecorder(max_batch_size=64, clock=lambda: now[0])
    logger = recorder.logger_factory(object(), 0)
    logger.record(Scheduler(), Iteration())
    logger.record(None, Iteration())
    stats = recorder.snapshot()
    assert (stats.running_requests, stats.waiting_requests, stats.kv_cache_usage) == (3, 3, 0.25)
    assert stats.generation_tokens_per_second == 8.0  # 80 tokens over the 10 s window
    now[0] += 11
    assert recorder.snapshot().generation_tokens_per_second == 0.0
