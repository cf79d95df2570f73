"""Bounds the gateway checks before it calls the service that owns them.

The owning service enforces each bound; the gateway repeats it so that a bad
request gets a 422 naming the field without a round trip, and so that the
OpenAPI document shows it. The gateway may not import a service, so the numbers
are written here once and tests/contract/test_limits.py asserts that
each equals its owner's default.
"""

from __future__ import annotations

# Agents (owner: agentmesh_agents.domain.limits.Limits and domain.validation).
AGENT_NAME_MAX_LENGTH = 100
AGENT_PURPOSE_MAX_LENGTH = 2000
SYSTEM_PROMPT_MAX_LENGTH = 16_000
AGENT_TYPE_MAX_LENGTH = 64
TOPICS_MAX = 32
TOPIC_MAX_LENGTH = 64
TOPIC_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"
IDEMPOTENCY_KEY_MAX_LENGTH = 200

# Tools (owner: agentmesh_agents.domain.tools and Limits).
TOOL_NAME_PATTERN = r"^[a-z][a-z0-9_.-]{0,63}$"
TOOL_NAME_MAX_LENGTH = 64
TOOL_DESCRIPTION_MAX_LENGTH = 2000
GRANTS_MAX = 64
APPROVAL_COMMENT_MAX_LENGTH = 2000

# Memory (owner: agentmesh_memory.domain.limits).
DOCUMENT_MAX_CHARS = 100_000
DOCUMENTS_MAX = 64
SEARCH_QUERY_MAX_CHARS = 2000
SEARCH_K_DEFAULT = 5
SEARCH_K_MAX = 50

# Scheduler (owner: agentmesh_scheduler.domain.validation).
CRON_MAX_LENGTH = 100
INTERVAL_SECONDS_MIN = 1
INTERVAL_SECONDS_MAX = 366 * 24 * 3600
TIME_ZONE_MAX_LENGTH = 64
CATCHUP_WINDOW_SECONDS_MIN = 10
CATCHUP_WINDOW_SECONDS_MAX = 366 * 24 * 3600
CATCHUP_WINDOW_SECONDS_DEFAULT = 3600

# Jobs (owner: agentmesh_scheduler.domain.job_plan).
JOB_STEPS_MAX = 50
JOB_NAME_MAX_LENGTH = 200
JOB_STEP_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
JOB_MAX_ATTEMPTS_MAX = 10
JOB_BACKOFF_SECONDS_MAX = 3600.0
JOB_TIMEOUT_SECONDS_MIN = 1.0
JOB_TIMEOUT_SECONDS_MAX = 24 * 3600.0
JOB_DEFAULT_MAX_ATTEMPTS = 1
JOB_DEFAULT_BACKOFF_SECONDS = 5.0
JOB_DEFAULT_TIMEOUT_SECONDS = 600.0
