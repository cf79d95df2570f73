"""Per-project inference quotas: tokens per minute and requests at once.

Every generation is accounted to a project (see `charged_project`). Before it is
admitted, the project must have a free request slot and room in its token window:
the prompt plus output tokens of its requests that finished in the last 60 s.
Tokens are counted when a request ends (only then are they known), so requests in
flight can take a project past its budget; the concurrency limit bounds by how much.
A refusal is ResourceExhausted with the seconds after which a retry may be admitted.

Defaults come from the service's settings; a superadmin may override them per
project (SetProjectQuota), and the overrides are kept by a QuotaStore.
Counts live in this process: each replica admits its own budget.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, replace

from agentmesh_core.errors import InvalidInput, PermissionDenied, ResourceExhausted
from agentmesh_core.identity import GlobalRole, Identity, require_project_access
from agentmesh_inference.domain.ports import QuotaStore

WINDOW_SECONDS = 60.0
# What a caller refused for concurrency is told to wait: about one short request's time.
CONCURRENCY_RETRY_SECONDS = 1.0
# Requests that name no project (privileged debug calls, benchmarks) share this bucket.
UNSCOPED = ""
MAX_TOKENS_PER_MINUTE = 10**12
MAX_CONCURRENT = 100_000


class QuotaExceeded(ResourceExhausted):
    """A project is over its quota; `reason` is "concurrency" or "tokens"."""

    def __init__(self, message: str, retry_after: float, reason: str) -> None:
        super().__init__(message, retry_after=retry_after)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Quota:
    """A project's limits (None in an override: the default)."""

    tokens_per_minute: int | None = None
    max_concurrent: int | None = None

    def over(self, defaults: Quota) -> Quota:
        """This override with the defaults filled in."""
        return Quota(
            self.tokens_per_minute if self.tokens_per_minute is not None else defaults.tokens_per_minute,
            self.max_concurrent if self.max_concurrent is not None else defaults.max_concurrent,
        )

    @property
    def is_empty(self) -> bool:
        """True when it overrides nothing."""
        return self.tokens_per_minute is None and self.max_concurrent is None


@dataclass(frozen=True, slots=True)
class Totals:
    """What a project used since the service started."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    requests: int = 0
    rejections: int = 0


@dataclass(frozen=True, slots=True)
class QuotaState:
    """A project's quota in force and its use."""

    project_id: str
    quota: Quota
    overridden: bool
    tokens_last_minute: int
    in_flight: int
    totals: Totals


def charged_project(caller: Identity | None, requested: str) -> str:
    """The project a generation is accounted to.

    Platform services and superadmins may name any project (the agents service
    names the project whose turn it is); anyone else only their own. None is an
    in-process caller (benchmarks), trusted like a service.
    """
    if caller is None:
        return requested
    if not requested:
        return caller.project_id or UNSCOPED
    require_project_access(caller, requested)
    return requested


class _Window:
    """Tokens of finished requests, oldest first, over a moving window."""

    def __init__(self) -> None:
        self._entries: deque[tuple[float, int]] = deque()
        self.total = 0

    def add(self, now: float, tokens: int) -> None:
        self._entries.append((now, tokens))
        self.total += tokens

    def used(self, now: float) -> int:
        while self._entries and self._entries[0][0] <= now - WINDOW_SECONDS:
            self.total -= self._entries.popleft()[1]
        return self.total

    def retry_after(self, now: float, limit: int) -> float:
        """Seconds until the window holds fewer than `limit` tokens."""
        used = self.used(now)
        for at, tokens in self._entries:
            used -= tokens
            if used < limit:
                return max(at + WINDOW_SECONDS - now, 0.001)
        return WINDOW_SECONDS


class ProjectQuotas:
    """Admits generations within each project's quota and counts what they used."""

    def __init__(self, defaults: Quota, store: QuotaStore, clock: Callable[[], float] = time.monotonic) -> None:
        if defaults.tokens_per_minute is None or defaults.max_concurrent is None:
            raise ValueError("default quotas need both limits")
        self.defaults = defaults
        self._store = store
        self._overrides: dict[str, Quota] = dict(store.load())
        self._clock = clock
        self._windows: dict[str, _Window] = {}
        self._in_flight: dict[str, int] = {}
        self._totals: dict[str, Totals] = {}

    def quota_for(self, project_id: str) -> Quota:
        """The limits in force for a project."""
        return self._overrides.get(project_id, Quota()).over(self.defaults)

    def acquire(self, project_id: str) -> None:
        """Take one of the project's request slots (give it back with `release`); QuotaExceeded when over quota."""
        quota = self.quota_for(project_id)
        in_flight = self._in_flight.get(project_id, 0)
        assert quota.max_concurrent is not None and quota.tokens_per_minute is not None
        if in_flight >= quota.max_concurrent:
            self._reject(project_id)
            raise QuotaExceeded(
                f"project inference quota: at most {quota.max_concurrent} requests at once; retry later",
                CONCURRENCY_RETRY_SECONDS,
                "concurrency",
            )
        window = self._windows.setdefault(project_id, _Window())
        now = self._clock()
        if window.used(now) >= quota.tokens_per_minute:
            self._reject(project_id)
            raise QuotaExceeded(
                f"project inference quota: {quota.tokens_per_minute} tokens per minute used; retry later",
                window.retry_after(now, quota.tokens_per_minute),
                "tokens",
            )
        self._in_flight[project_id] = in_flight + 1

    def release(self, project_id: str) -> None:
        """Give back a slot taken by `acquire`."""
        left = self._in_flight.get(project_id, 0) - 1
        if left > 0:
            self._in_flight[project_id] = left
        else:
            self._in_flight.pop(project_id, None)

    def record(self, project_id: str, prompt_tokens: int, completion_tokens: int) -> None:
        """Count a finished (or stopped) request's tokens against the project."""
        self._windows.setdefault(project_id, _Window()).add(self._clock(), prompt_tokens + completion_tokens)
        totals = self._totals.get(project_id, Totals())
        self._totals[project_id] = replace(
            totals,
            prompt_tokens=totals.prompt_tokens + prompt_tokens,
            completion_tokens=totals.completion_tokens + completion_tokens,
            requests=totals.requests + 1,
        )

    def state(self, caller: Identity, project_id: str) -> QuotaState:
        """A project's quota and use, for its members (and superadmins and services)."""
        _require_project(project_id)
        require_project_access(caller, project_id)
        return self._state(project_id)

    def override(self, caller: Identity, project_id: str, quota: Quota) -> QuotaState:
        """Set a project's limits (superadmins only); an empty quota removes the override."""
        if caller.role is not GlobalRole.SUPERADMIN:
            raise PermissionDenied("superadmin role required to change quotas")
        _require_project(project_id)
        if quota.tokens_per_minute is not None and not 0 <= quota.tokens_per_minute <= MAX_TOKENS_PER_MINUTE:
            raise InvalidInput(f"tokens_per_minute must be between 0 and {MAX_TOKENS_PER_MINUTE}")
        if quota.max_concurrent is not None and not 0 <= quota.max_concurrent <= MAX_CONCURRENT:
            raise InvalidInput(f"max_concurrent_requests must be between 0 and {MAX_CONCURRENT}")
        overrides = dict(self._overrides)
        if quota.is_empty:
            overrides.pop(project_id, None)
        else:
            overrides[project_id] = quota
        self._store.save(overrides)
        self._overrides = overrides
        return self._state(project_id)

    def _state(self, project_id: str) -> QuotaState:
        window = self._windows.get(project_id)
        return QuotaState(
            project_id=project_id,
            quota=self.quota_for(project_id),
            overridden=project_id in self._overrides,
            tokens_last_minute=window.used(self._clock()) if window else 0,
            in_flight=self._in_flight.get(project_id, 0),
            totals=self._totals.get(project_id, Totals()),
        )

    def _reject(self, project_id: str) -> None:
        totals = self._totals.get(project_id, Totals())
        self._totals[project_id] = replace(totals, rejections=totals.rejections + 1)


def _require_project(project_id: str) -> None:
    if not project_id or len(project_id) > 64:
        raise InvalidInput("project_id is required")
