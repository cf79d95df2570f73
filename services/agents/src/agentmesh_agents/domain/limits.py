"""Limits on client input and the runtime's retry and recovery timings."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limits:
    """Every bound the domain enforces, in one place (built from settings).

    These defaults are the service's defaults: `AgentsSettings` takes its
    defaults from here, so `Limits()` in tests is what a default deployment runs.
    """

    # Client input.
    message_max_bytes: int = 32 * 1024
    name_max_length: int = 100
    purpose_max_length: int = 2000
    system_prompt_max_length: int = 16_000
    agent_type_max_length: int = 64
    topics_max: int = 32
    topic_max_length: int = 64
    idempotency_key_max_length: int = 200
    correlation_id_max_length: int = 200
    performative_max_length: int = 32
    max_tokens_cap: int = 512
    default_max_tokens: int = 128
    stop_strings_max: int = 8

    # Prompt building.
    history_turns: int = 20
    memory_hits: int = 3
    memory_query_max_chars: int = 2000

    # Runtime.
    paused_retry_seconds: float = 5.0
    inference_max_attempts: int = 4
    retry_base_seconds: float = 1.0
    retry_max_seconds: float = 30.0
    storage_retry_seconds: float = 5.0
    # An agent's messages are answered in order: a later one waits (retried this
    # often) while an earlier one is unfinished and has moved within the window.
    order_retry_seconds: float = 1.0
    order_window_seconds: float = 300.0
    heartbeat_seconds: float = 20.0

    # Mailbox recovery.
    recovery_min_age_seconds: float = 10.0
    recovery_stale_seconds: float = 900.0
    recovery_batch: int = 500

    def retry_delay(self, attempt: int) -> float:
        """Exponential backoff for the attempt-th delivery (1-based)."""
        return min(self.retry_base_seconds * 2.0 ** max(attempt - 1, 0), self.retry_max_seconds)
