"""Settings of the agents service, all from AGENTMESH_* environment variables."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.monitoring.events import SystemEventKind
from agentmesh_agents.domain.monitoring.rules import DEFAULT_RULES, Rule
from agentmesh_core.quotas import parse_rate
from agentmesh_core.settings import NatsSettings

# The domain's Limits hold the one copy of each default; the settings below only
# make them configurable.
_DEFAULTS = Limits()


class MonitorRule(BaseModel):
    """One monitoring rule as written in AGENTMESH_MONITOR_RULES (JSON)."""

    kind: SystemEventKind
    count: int = Field(ge=1, le=10_000)
    window_seconds: float = Field(gt=0, le=7 * 24 * 3600)
    # Whether a trip may pause the agent (when the project allows it).
    pause: bool = True


def _default_rules() -> list[MonitorRule]:
    return [
        MonitorRule(kind=rule.kind, count=rule.count, window_seconds=rule.window.total_seconds(), pause=rule.pause)
        for rule in DEFAULT_RULES
    ]


class AgentsSettings(NatsSettings):
    """Everything the agents service reads from its environment.

    Built once in main(), never at import time.
    """

    database_url: str
    # Copies of the JetStream streams (3 on a 3-node NATS cluster); NATS allows 1..5.
    jetstream_replicas: int = Field(default=1, ge=1, le=5)
    agents_listen_addr: str = "127.0.0.1:50051"
    # Prometheus /metrics (host:port) on its own port; "" serves none (devstack and the chart set it).
    agents_metrics_addr: str = ""
    memory_service_addr: str = "127.0.0.1:50052"
    inference_service_addr: str = "127.0.0.1:50053"

    # Mailboxes and the runtime.
    inbox_partitions: int = Field(default=8, ge=1, le=256)
    inbox_fetch_batch: int = Field(default=16, ge=1, le=256)
    # A crashed runtime's messages come back after this (heartbeats keep long turns in progress).
    ack_wait_seconds: float = Field(default=6.0, gt=1)
    max_deliver: int = Field(default=200, ge=2)
    # How long a turn waits in all for inference or the database to come back before it fails.
    dependency_wait_seconds: float = Field(default=_DEFAULTS.dependency_wait_seconds, gt=0)
    paused_retry_seconds: float = Field(default=_DEFAULTS.paused_retry_seconds, gt=0)
    recovery_interval_seconds: float = Field(default=5.0, gt=0)
    # How long SendMessage waits for NATS before answering (the recovery sweep posts what it could not).
    send_publish_wait_seconds: float = Field(default=_DEFAULTS.send_publish_wait_seconds, gt=0)
    recovery_min_age_seconds: float = Field(default=_DEFAULTS.recovery_min_age_seconds, ge=0)
    recovery_stale_seconds: float = Field(default=_DEFAULTS.recovery_stale_seconds, gt=0)
    shutdown_grace_seconds: float = Field(default=10.0, ge=0)

    # Test meshes only (refused in production): agents whose system prompt holds an
    # `agentmesh-script:` line answer from it (adapters/prompt_scripts.py).
    prompt_scripts: bool = False

    # Calls to other services.
    inference_timeout_seconds: float = Field(default=300.0, gt=0)
    memory_timeout_seconds: float = Field(default=5.0, gt=0)

    # Per-project message rate (domain/admission.py), a `limits` spec counted by each replica.
    project_message_rate: str = "10/second;300/minute"
    # Back-pressure (domain/backlog.py): messages waiting for an answer, per project and in all.
    project_unanswered_max: int = Field(default=_DEFAULTS.project_unanswered_max, ge=1)
    unanswered_max: int = Field(default=_DEFAULTS.unanswered_max, ge=1)
    backlog_retry_after_seconds: float = Field(default=_DEFAULTS.backlog_retry_after_seconds, gt=0)

    # Limits on what clients may send.
    message_max_bytes: int = Field(default=_DEFAULTS.message_max_bytes, ge=1)
    name_max_length: int = Field(default=_DEFAULTS.name_max_length, ge=1)
    purpose_max_length: int = Field(default=_DEFAULTS.purpose_max_length, ge=1)
    system_prompt_max_length: int = Field(default=_DEFAULTS.system_prompt_max_length, ge=1)
    max_tokens_cap: int = Field(default=_DEFAULTS.max_tokens_cap, ge=1)
    default_max_tokens: int = Field(default=_DEFAULTS.default_max_tokens, ge=1)
    history_turns: int = Field(default=_DEFAULTS.history_turns, ge=0)
    memory_hits: int = Field(default=_DEFAULTS.memory_hits, ge=0)

    # Tools and the ReAct loop: per-turn defaults (an agent's model_config may ask for other
    # values up to the domain's caps), tool calls, approvals.
    react_max_steps: int = Field(default=_DEFAULTS.react_max_steps, ge=1, le=_DEFAULTS.react_max_steps_cap)
    react_token_budget: int = Field(default=_DEFAULTS.react_token_budget, ge=1, le=_DEFAULTS.react_token_budget_cap)
    react_time_budget_seconds: float = Field(
        default=_DEFAULTS.react_time_budget_seconds, gt=0, le=_DEFAULTS.react_time_budget_cap_seconds
    )
    tool_timeout_seconds: float = Field(default=_DEFAULTS.tool_timeout_seconds, gt=0)
    tool_output_max_chars: int = Field(default=_DEFAULTS.tool_output_max_chars, ge=100)
    approval_ttl_seconds: float = Field(default=_DEFAULTS.approval_ttl_seconds, gt=0)
    delegation_max_depth: int = Field(default=_DEFAULTS.delegation_max_depth, ge=0, le=16)
    delegation_timeout_seconds: float = Field(default=_DEFAULTS.delegation_timeout_seconds, gt=0)
    # MCP servers: how long listing or calling one may take; the Fernet key sealing their headers
    # (unset: derived from the internal secret).
    mcp_timeout_seconds: float = Field(default=15.0, gt=0)
    mcp_headers_key: SecretStr | None = None

    # The monitor (domain/monitoring): its rules (a JSON list of {"kind", "count", "window_seconds", "pause"}),
    # how old waiting work may get before it is reported, how often that is looked at, and the hour
    # (UTC) of the daily health summary.
    monitor_enabled: bool = True
    monitor_rules: list[MonitorRule] = Field(default_factory=_default_rules)
    monitor_mailbox_max_age_seconds: float = Field(default=900.0, gt=0)
    monitor_parked_max_age_seconds: float = Field(default=6 * 3600.0, gt=0)
    monitor_sweep_seconds: float = Field(default=60.0, gt=0)
    monitor_summary_hour: int = Field(default=6, ge=0, le=23)

    @field_validator("project_message_rate")
    @classmethod
    def _rate_spec(cls, value: str) -> str:
        parse_rate(value)  # a ValueError names the malformed spec
        return value

    @model_validator(mode="after")
    def _no_scripts_in_production(self) -> AgentsSettings:
        if self.prompt_scripts and self.environment == "production":
            raise ValueError("AGENTMESH_PROMPT_SCRIPTS is for test meshes; it is refused in production")
        return self

    def rules(self) -> tuple[Rule, ...]:
        """The monitor's rules, as the domain holds them."""
        return tuple(Rule(r.kind, r.count, timedelta(seconds=r.window_seconds), r.pause) for r in self.monitor_rules)

    def limits(self) -> Limits:
        """The domain's view of these settings."""
        return Limits(
            message_max_bytes=self.message_max_bytes,
            name_max_length=self.name_max_length,
            purpose_max_length=self.purpose_max_length,
            system_prompt_max_length=self.system_prompt_max_length,
            max_tokens_cap=self.max_tokens_cap,
            default_max_tokens=min(self.default_max_tokens, self.max_tokens_cap),
            history_turns=self.history_turns,
            memory_hits=self.memory_hits,
            paused_retry_seconds=self.paused_retry_seconds,
            dependency_wait_seconds=self.dependency_wait_seconds,
            heartbeat_seconds=max(1.0, self.ack_wait_seconds / 3),
            send_publish_wait_seconds=self.send_publish_wait_seconds,
            project_unanswered_max=self.project_unanswered_max,
            unanswered_max=self.unanswered_max,
            backlog_retry_after_seconds=self.backlog_retry_after_seconds,
            recovery_min_age_seconds=self.recovery_min_age_seconds,
            recovery_stale_seconds=self.recovery_stale_seconds,
            react_max_steps=self.react_max_steps,
            react_token_budget=self.react_token_budget,
            react_time_budget_seconds=self.react_time_budget_seconds,
            tool_timeout_seconds=self.tool_timeout_seconds,
            tool_output_max_chars=self.tool_output_max_chars,
            approval_ttl_seconds=self.approval_ttl_seconds,
            delegation_max_depth=self.delegation_max_depth,
            delegation_timeout_seconds=self.delegation_timeout_seconds,
        )
