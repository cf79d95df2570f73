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
    # A message's memory search starts when it is accepted (domain/recall_ahead.py); its turn
    # takes it if it starts within this many seconds, and searches afresh after (0: no search ahead).
    recall_ahead_seconds: float = 5.0

    # Runtime.
    paused_retry_seconds: float = 5.0
    # A call waits this long in all for inference or the database to come back
    # (domain/readiness.py) before its turn fails (or, for the database, is handed back).
    dependency_wait_seconds: float = 600.0
    # Times a chat turn restarts after its stream broke (a prompt that keeps crashing inference).
    stream_restarts_max: int = 5
    storage_retry_seconds: float = 5.0
    # An agent's messages are answered in order: a later one waits (retried this
    # often) while an earlier one is unfinished.
    order_retry_seconds: float = 1.0
    heartbeat_seconds: float = 2.0
    # A streamed answer's chunks go out as one TOKEN event per this interval at most (the first at once);
    # with many turns streaming at once the interval grows so that all of them send about
    # token_events_per_second events a second, up to token_event_seconds_max (domain/token_relay.py).
    token_event_seconds: float = 0.03
    token_events_per_second: float = 200.0
    token_event_seconds_max: float = 0.25

    # The tool catalog and grants.
    tool_description_max_length: int = 2000
    tool_schema_max_bytes: int = 16 * 1024
    grants_max: int = 64
    grant_config_max_bytes: int = 8 * 1024

    # The ReAct loop: per-turn budgets (defaults; an agent's model_config may set its own up to the cap).
    react_max_steps: int = 8
    react_max_steps_cap: int = 32
    react_token_budget: int = 16_384
    react_token_budget_cap: int = 262_144
    react_time_budget_seconds: float = 120.0
    react_time_budget_cap_seconds: float = 900.0
    tool_timeout_seconds: float = 30.0
    tool_output_max_chars: int = 4000  # an observation is cut to this before it enters the prompt
    tool_arguments_max_bytes: int = 16 * 1024
    step_schema_max_chars: int = 12_000  # larger step schemas fall back to a name enum (inference caps 16000)
    approval_ttl_seconds: float = 3600.0
    approval_comment_max_length: int = 2000
    approval_expiry_batch: int = 200
    # Delegation: how deep a chain of agents asking agents may go (a user's request is depth 0),
    # and how long a turn waits for the replies it needs before each becomes an error observation.
    delegation_max_depth: int = 4
    delegation_timeout_seconds: float = 300.0

    # Back-pressure (domain/backlog.py): SendMessage is refused (429, Retry-After) while this
    # many messages wait for an answer in the project, or in all projects.
    project_unanswered_max: int = 200
    unanswered_max: int = 2000
    backlog_retry_after_seconds: float = 5.0

    # SendMessage waits this long for the mailbox (JetStream's ack) before it answers;
    # a message not posted by then stays queued and the recovery sweep posts it.
    send_publish_wait_seconds: float = 0.5

    # Mailbox recovery.
    recovery_min_age_seconds: float = 5.0
    recovery_stale_seconds: float = 900.0
    recovery_batch: int = 500
