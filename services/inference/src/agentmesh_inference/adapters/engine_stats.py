"""vLLM's own statistics, kept for GetEngineStatus (batch size, waiting requests, KV cache, tokens/s).

vLLM reports them to its stat loggers after every engine step; with stats on
(`disable_log_stats=False`) it also runs its default loggers: a periodic log
line and its Prometheus metrics (`vllm:*`, in this process's default registry,
served with ours on the metrics port). StatsRecorder adds one more logger that
keeps the latest figures for the service to read.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

from agentmesh_inference.domain.models import EngineStats

# Output tokens per second are averaged over this many seconds.
RATE_WINDOW_SECONDS = 10.0


class StatsRecorder:
    """The latest scheduler figures and a moving output-token rate."""

    def __init__(self, max_batch_size: int, clock: Any = time.monotonic) -> None:
        self.max_batch_size = max_batch_size
        self.running = 0
        self.waiting = 0
        self.kv_cache_usage = 0.0
        self._clock = clock
        self._tokens: deque[tuple[float, int]] = deque()

    def logger_factory(self, vllm_config: Any, engine_index: int = 0) -> Any:
        """A vLLM per-engine stat logger factory (`AsyncLLM(stat_loggers=[...])`).

        Typed Any: the logger implements StatLoggerBase's methods without importing vLLM."""
        del vllm_config, engine_index
        return _RecordingLogger(self)

    def observe(self, running: int, waiting: int, kv_cache_usage: float) -> None:
        """One step's scheduler figures."""
        self.running, self.waiting, self.kv_cache_usage = running, waiting, kv_cache_usage

    def add_tokens(self, tokens: int) -> None:
        """Output tokens produced by one step."""
        if tokens:
            self._tokens.append((self._clock(), tokens))

    def tokens_per_second(self) -> float:
        """Output tokens per second over the last RATE_WINDOW_SECONDS."""
        horizon = self._clock() - RATE_WINDOW_SECONDS
        while self._tokens and self._tokens[0][0] < horizon:
            self._tokens.popleft()
        return sum(tokens for _, tokens in self._tokens) / RATE_WINDOW_SECONDS

    def snapshot(self) -> EngineStats:
        """The figures as the domain's EngineStats."""
        return EngineStats(
            running_requests=self.running,
            waiting_requests=self.waiting,
            kv_cache_usage=self.kv_cache_usage,
            generation_tokens_per_second=self.tokens_per_second(),
            max_batch_size=self.max_batch_size,
        )


class _RecordingLogger:
    """The stat logger interface vLLM calls (StatLoggerBase's methods, duck-typed so
    that vLLM is imported only when an engine starts)."""

    def __init__(self, recorder: StatsRecorder) -> None:
        self._recorder = recorder

    def record(
        self, scheduler_stats: Any, iteration_stats: Any, mm_cache_stats: Any = None, engine_idx: int = 0
    ) -> None:
        del mm_cache_stats, engine_idx
        if scheduler_stats is not None:
            self._recorder.observe(
                scheduler_stats.num_running_reqs,
                scheduler_stats.num_waiting_reqs + scheduler_stats.num_skipped_waiting_reqs,
                float(scheduler_stats.kv_cache_usage),
            )
        if iteration_stats is not None:
            self._recorder.add_tokens(iteration_stats.num_generation_tokens)

    def log(self) -> None:
        """Nothing to log: vLLM's default logger writes the periodic line."""

    def log_engine_initialized(self) -> None:
        """Nothing to log."""

    def record_sleep_state(self, is_awake: int, level: int) -> None:
        """Sleep mode is not used."""
        del is_awake, level
