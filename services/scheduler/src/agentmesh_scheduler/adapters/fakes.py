"""In-memory stand-ins for the scheduler's ports (unit and service tests).

The adapter test suite runs the same cases over these and the real adapters,
so the fakes stay honest.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime

from agentmesh_core.errors import AgentmeshError, AlreadyExists, NotFound
from agentmesh_core.identity import Identity
from agentmesh_core.ids import new_id
from agentmesh_grpc.identity import current_identity
from agentmesh_scheduler.domain.failures import Failure
from agentmesh_scheduler.domain.jobs import ReplyState, ReplyStatus
from agentmesh_scheduler.domain.jobs import SentMessage as StepMessage
from agentmesh_scheduler.domain.models import JsonValue, Schedule, ScheduleRun, pause_note
from agentmesh_scheduler.domain.ports import EngineSchedule
from agentmesh_scheduler.domain.timing import next_fire_time


class InMemoryScheduleRepository:
    """ScheduleRepository in a dict."""

    def __init__(self) -> None:
        self.rows: dict[str, Schedule] = {}
        self.runs: dict[str, dict[str, ScheduleRun]] = {}

    async def add(self, schedule: Schedule) -> None:
        self.rows[schedule.id] = schedule

    async def get(self, project_id: str, schedule_id: str) -> Schedule | None:
        schedule = self.rows.get(schedule_id)
        return schedule if schedule and schedule.project_id == project_id else None

    async def list_page(self, project_id: str, after: tuple[datetime, str] | None, limit: int) -> list[Schedule]:
        mine = await self.list_project(project_id)
        return [s for s in mine if after is None or (s.created_at, s.id) > after][:limit]

    async def list_project(self, project_id: str) -> list[Schedule]:
        mine = [s for s in self.rows.values() if s.project_id == project_id]
        return sorted(mine, key=lambda s: (s.created_at, s.id))

    async def list_all(self, after_id: str, limit: int) -> list[Schedule]:
        return sorted((s for s in self.rows.values() if s.id > after_id), key=lambda s: s.id)[:limit]

    async def update(self, schedule: Schedule, expected_revision: int) -> bool:
        current = await self.get(schedule.project_id, schedule.id)
        if current is None or current.revision != expected_revision:
            return False
        self.rows[schedule.id] = dataclasses.replace(
            schedule,
            last_run_at=current.last_run_at,
            last_run_outcome=current.last_run_outcome,
            next_runs=(),
            recent_runs=(),
        )
        return True

    async def recent_runs(self, project_id: str, schedule_id: str, limit: int) -> list[ScheduleRun]:
        if await self.get(project_id, schedule_id) is None:
            return []
        runs = self.runs.get(schedule_id, {}).values()
        return sorted(runs, key=lambda run: run.ran_at, reverse=True)[:limit]

    async def remove(self, project_id: str, schedule_id: str) -> bool:
        if await self.get(project_id, schedule_id) is None:
            return False
        del self.rows[schedule_id]
        self.runs.pop(schedule_id, None)
        return True

    async def record_run(
        self,
        project_id: str,
        schedule_id: str,
        ran_at: datetime,
        outcome: str,
        next_run_at: datetime | None,
        run_key: str | None = None,
    ) -> bool:
        schedule = await self.get(project_id, schedule_id)
        if schedule is None:
            return False
        if run_key:
            self.runs.setdefault(schedule_id, {}).setdefault(run_key, ScheduleRun(ran_at, outcome))
        if schedule.last_run_at is not None and schedule.last_run_at > ran_at:
            return False
        self.rows[schedule_id] = dataclasses.replace(
            schedule, last_run_at=ran_at, last_run_outcome=outcome, next_run_at=next_run_at
        )
        return True


class FakeScheduleEngine:
    """ScheduleEngine that remembers schedules; set `fail_with` to make calls fail, or
    queue errors in `fail_next` to fail that many calls.

    `schedules` holds what was last written (its revision included), `paused`
    the paused state and note, `triggered` every trigger.
    """

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self.schedules: dict[str, Schedule] = {}
        self.next_runs: dict[str, datetime | None] = {}
        self.paused: dict[str, tuple[bool, str]] = {}
        self.triggered: list[str] = []
        self.fail_with: AgentmeshError | None = None
        self.fail_next: list[AgentmeshError] = []

    def _maybe_fail(self) -> None:
        if self.fail_next:
            raise self.fail_next.pop(0)
        if self.fail_with is not None:
            raise self.fail_with

    def _existing(self, temporal_schedule_id: str) -> Schedule:
        schedule = self.schedules.get(temporal_schedule_id)
        if schedule is None:
            raise NotFound("schedule not found")
        return schedule

    async def create(self, schedule: Schedule) -> None:
        self._maybe_fail()
        if schedule.temporal_schedule_id in self.schedules:
            raise AlreadyExists("schedule already exists")
        self.schedules[schedule.temporal_schedule_id] = schedule
        self.paused[schedule.temporal_schedule_id] = (not schedule.enabled, "disabled" if not schedule.enabled else "")

    async def delete(self, temporal_schedule_id: str) -> bool:
        self._maybe_fail()
        self.paused.pop(temporal_schedule_id, None)
        return self.schedules.pop(temporal_schedule_id, None) is not None

    def _next_run(self, temporal_schedule_id: str) -> datetime | None:
        schedule = self._existing(temporal_schedule_id)
        if self.paused[temporal_schedule_id][0]:
            return None
        if temporal_schedule_id in self.next_runs:
            return self.next_runs[temporal_schedule_id]
        # As Temporal would compute it (tests may set next_runs instead).
        return next_fire_time(dataclasses.replace(schedule, enabled=True), self._clock())

    async def next_run_time(self, temporal_schedule_id: str) -> datetime | None:
        self._maybe_fail()
        return self._next_run(temporal_schedule_id)

    async def describe(self, temporal_schedule_id: str) -> EngineSchedule:
        self._maybe_fail()
        next_run = self._next_run(temporal_schedule_id)
        revision = self._existing(temporal_schedule_id).revision
        return EngineSchedule(self.paused[temporal_schedule_id][0], (next_run,) if next_run else (), revision)

    async def update(self, schedule: Schedule, *, rearm: bool) -> None:
        self._maybe_fail()
        self._existing(schedule.temporal_schedule_id)
        self.schedules[schedule.temporal_schedule_id] = schedule
        if self.paused[schedule.temporal_schedule_id][0] == schedule.enabled:  # as Temporal's: paused follows
            self.paused[schedule.temporal_schedule_id] = (not schedule.enabled, pause_note(schedule.enabled))

    async def set_paused(self, temporal_schedule_id: str, paused: bool, note: str) -> None:
        self._maybe_fail()
        self._existing(temporal_schedule_id)
        self.paused[temporal_schedule_id] = (paused, note)

    async def trigger(self, temporal_schedule_id: str) -> None:
        self._maybe_fail()
        self._existing(temporal_schedule_id)
        self.triggered.append(temporal_schedule_id)

    async def schedule_ids(self) -> list[str]:
        self._maybe_fail()
        return list(self.schedules)


@dataclasses.dataclass
class SentMessage:
    """One message the fake agents service accepted."""

    project_id: str
    agent_id: str
    content: JsonValue
    idempotency_key: str
    correlation_id: str
    message_id: str
    sent_as: Identity | None


@dataclasses.dataclass(frozen=True)
class ReportedFailure:
    """A failed run or job as FakeAgents received its report."""

    what: Failure
    project_id: str
    agent_id: str
    detail: str
    identity: Identity | None
    subject: str = ""


def _echo(message: SentMessage) -> ReplyState:
    return ReplyState(ReplyStatus.COMPLETE, output=f"done: {message.content}")


class FakeAgents:
    """AgentDirectory and MessageSender: known agents, and a log of sends.

    Sends with a repeated idempotency key return the first message, as the
    real agents service does. Set `fail_with` to make every send fail, or
    queue errors in `fail_next` to fail that many sends. Each send records the
    identity it was made as (what the real client would sign onto the call).
    """

    def __init__(self, agents: dict[str, set[str]] | None = None) -> None:
        self.agents: dict[str, set[str]] = agents or {}
        self.sent: list[SentMessage] = []
        self.attempts = 0
        self.fail_with: AgentmeshError | None = None
        self.fail_next: list[AgentmeshError] = []
        # Job steps: how each message is answered (default: a reply echoing its content).
        self.replies: dict[str, ReplyState] = {}
        self.cancelled: list[str] = []  # message ids, in the order their turns were cancelled
        self.answer: Callable[[SentMessage], ReplyState] = _echo
        # Failed runs and jobs reported to the monitor, by occurrence key (a repeat is the same report).
        self.failures: dict[str, ReportedFailure] = {}
        self.report_fails_with: AgentmeshError | None = None

    def add_agent(self, project_id: str, agent_id: str) -> None:
        self.agents.setdefault(project_id, set()).add(agent_id)

    async def require_agent(self, project_id: str, agent_id: str) -> None:
        if agent_id not in self.agents.get(project_id, set()):
            raise NotFound("agent not found")

    async def send(
        self,
        *,
        project_id: str,
        agent_id: str,
        content: JsonValue,
        idempotency_key: str,
        correlation_id: str,
    ) -> str:
        self.attempts += 1
        if self.fail_next:
            raise self.fail_next.pop(0)
        if self.fail_with is not None:
            raise self.fail_with
        await self.require_agent(project_id, agent_id)
        for message in self.sent:
            if message.idempotency_key == idempotency_key:
                return message.message_id
        message_id = new_id()
        self.sent.append(
            SentMessage(project_id, agent_id, content, idempotency_key, correlation_id, message_id, current_identity())
        )
        return message_id

    async def failed(
        self, what: Failure, *, project_id: str, agent_id: str, detail: str, occurrence_key: str, subject: str = ""
    ) -> None:
        if self.report_fails_with is not None:
            raise self.report_fails_with
        if agent_id:
            await self.require_agent(project_id, agent_id)
        reported = ReportedFailure(what, project_id, agent_id, detail, current_identity(), subject)
        self.failures.setdefault(occurrence_key, reported)

    async def send_step(
        self, *, project_id: str, agent_id: str, content: JsonValue, idempotency_key: str, correlation_id: str
    ) -> StepMessage:
        message_id = await self.send(
            project_id=project_id,
            agent_id=agent_id,
            content=content,
            idempotency_key=idempotency_key,
            correlation_id=correlation_id,
        )
        return StepMessage(message_id, f"conversation-of-{message_id}")

    async def reply_state(self, project_id: str, message_id: str, conversation_id: str) -> ReplyState:
        if self.fail_with is not None:
            raise self.fail_with
        message = next((m for m in self.sent if m.message_id == message_id and m.project_id == project_id), None)
        if message is None:
            return ReplyState(ReplyStatus.WAITING)
        if message_id not in self.replies:
            self.replies[message_id] = self.answer(message)
        return self.replies[message_id]

    async def cancel_step(self, project_id: str, message_id: str) -> None:
        if any(m.message_id == message_id and m.project_id == project_id for m in self.sent):
            self.cancelled.append(message_id)
            self.replies.setdefault(message_id, ReplyState(ReplyStatus.FAILED, error="the agent's turn was cancelled"))
