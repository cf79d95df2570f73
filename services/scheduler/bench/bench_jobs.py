"""What Temporal costs the scheduler: job overhead per step, and schedule fire -> message delay.

    python services/scheduler/bench/bench_jobs.py [--steps 10] [--reply-ms 50] [--firings 30] [--rounds 3]

Starts a Temporal dev server (headless, temp dir) and the scheduler's real worker,
workflows and activities, with in-memory storage and a scripted agents service that
answers each message `--reply-ms` after it was sent (the LLM's turn). Prints:

1. a job of N sequential steps vs the same N messages sent and awaited directly,
   one after another, through the same scripted agents: the job's overhead per step
   (the workflow's activities, Temporal round trips and the reply poll);
2. a 1-second interval schedule, `--firings` firings for each of two runs side by
   side: the run as it is (the send is a local activity, inside the run's first
   workflow task) and as it was (the send a regular activity: a second trip through
   the task queue). Interleaved in `--rounds` rounds (ABBA order), each round a fresh
   schedule. For each: fire -> workflow started (Temporal's schedule alone: the fire
   time Temporal names in the run's workflow id to the run's start time), workflow
   started -> message queued (the run), and fire -> message queued, p50/p95 (goal:
   p95 <= 1 s).

Timings are noisy on shared cores: compare the figures of one run.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_devstack import bench
from agentmesh_devstack.infra import TemporalDevServer
from agentmesh_devstack.ports import free_port
from agentmesh_scheduler.activities import JobActivities, ScheduleActivities, SendMessageInput
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.job_fakes import InMemoryJobRepository
from agentmesh_scheduler.adapters.temporal_jobs import TemporalJobEngine
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.job_service import Jobs
from agentmesh_scheduler.domain.jobs import JobDraft, ReplyState, ReplyStatus, StepDraft
from agentmesh_scheduler.domain.models import IntervalTrigger, ScheduleDraft
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.worker import build_worker
from agentmesh_scheduler.workflows import WORKFLOW_NAME, ScheduledMessageInput, ScheduledMessageWorkflow
from agentmesh_scheduler.workflows.scheduled_message import SEND_RETRY, SEND_TIMEOUT


@workflow.defn(name=WORKFLOW_NAME, sandboxed=False)
class ScheduledRunSendingThroughTheQueue(ScheduledMessageWorkflow):
    """The scheduled run as it was: the send a regular activity, so a second task-queue round trip."""

    @workflow.run
    async def run(self, input: ScheduledMessageInput) -> str:
        return await ScheduledMessageWorkflow.run(self, input)

    async def _first_action(self, input: ScheduledMessageInput, idempotency_key: str) -> str:
        return await workflow.execute_activity_method(
            ScheduleActivities.send_scheduled_message,
            SendMessageInput(input.project_id, input.schedule_id, input.agent_id, input.payload_json, idempotency_key),
            start_to_close_timeout=SEND_TIMEOUT,
            retry_policy=SEND_RETRY,
        )


class ScriptedAgents(FakeAgents):
    """Answers every message reply_ms after it was sent; records when each was queued."""

    def __init__(self, reply_ms: float) -> None:
        super().__init__()
        self.reply_seconds = reply_ms / 1000
        self.sent_at: dict[str, float] = {}
        self.queued_at: list[tuple[str, datetime]] = []

    async def send(self, **kwargs):  # type: ignore[no-untyped-def]
        message_id = await super().send(**kwargs)
        self.sent_at.setdefault(message_id, time.monotonic())
        self.queued_at.append((kwargs["idempotency_key"], datetime.now(UTC)))
        return message_id

    async def reply_state(self, project_id: str, message_id: str, conversation_id: str) -> ReplyState:
        if time.monotonic() - self.sent_at.get(message_id, time.monotonic()) < self.reply_seconds:
            return ReplyState(ReplyStatus.WAITING)
        return await super().reply_state(project_id, message_id, conversation_id)


async def direct(agents: ScriptedAgents, project_id: str, agent_id: str, steps: int) -> float:
    """The same messages, each sent then awaited by a tight client-side poll (10 ms)."""
    started = time.perf_counter()
    for index in range(steps):
        sent = await agents.send_step(project_id=project_id, agent_id=agent_id, content=f"direct {index}",
                                      idempotency_key=uuid.uuid4().hex, correlation_id="direct")  # fmt: skip
        # A client's own poll, as tight as the job's first look.
        while (await agents.reply_state(project_id, sent.message_id, sent.conversation_id)).status is not (  # noqa: ASYNC110
            ReplyStatus.COMPLETE
        ):
            await asyncio.sleep(0.01)
    return time.perf_counter() - started


async def job(jobs: Jobs, admin: Identity, project_id: str, agent_id: str, steps: int) -> float:
    chain = [StepDraft(f"s{i}", agent_id, f"step {i}", (f"s{i - 1}",) if i else ()) for i in range(steps)]
    started = time.perf_counter()
    created = await jobs.create(admin, project_id, JobDraft("bench", tuple(chain)))
    while not (await jobs.get(admin, project_id, created.id)).status.is_final:  # noqa: ASYNC110 - a client's poll
        await asyncio.sleep(0.01)
    return time.perf_counter() - started


def _fire_time(idempotency_key: str) -> datetime:
    # <temporal schedule id>-<fire time, RFC 3339>:<run id>
    workflow_id = idempotency_key.rsplit(":", 1)[0]
    return datetime.fromisoformat(workflow_id[-20:].replace("Z", "+00:00"))


@dataclass
class Firing:
    """One firing's times, in seconds after its fire time."""

    started: float  # the run's workflow started (Temporal's schedule alone)
    queued: float  # the message was queued


async def schedule_firings(
    client: Client, scheduler: Scheduler, agents: ScriptedAgents, admin: Identity, project_id: str, agent_id: str,
    firings: int,
) -> list[Firing]:  # fmt: skip
    """`firings` firings of a fresh 1 s schedule."""
    agents.queued_at.clear()
    draft = ScheduleDraft(agent_id, IntervalTrigger(1), "UTC", "ping", True)
    created = await scheduler.create(admin, project_id, draft)
    try:
        while len(agents.queued_at) < firings + 1:  # noqa: ASYNC110 - the fake only records
            await asyncio.sleep(0.2)
    finally:
        await scheduler.delete(admin, project_id, created.id)
    measured = []
    # The first firing may have been due before the schedule existed: skip it.
    for key, queued in agents.queued_at[1 : firings + 1]:
        fired = _fire_time(key)
        described = await client.get_workflow_handle(key.rsplit(":", 1)[0]).describe()
        measured.append(Firing((described.start_time - fired).total_seconds(), (queued - fired).total_seconds()))
    return measured


def _figures(values: list[float]) -> str:
    return (f"p50 {statistics.median(values) * 1000:4.0f} ms, p95 {_percentile(values, 0.95) * 1000:4.0f} ms, "
            f"max {max(values) * 1000:4.0f} ms")  # fmt: skip


def report_schedules(firings: dict[str, list[Firing]]) -> None:
    print(f"schedule fire -> message queued, 1 s interval, {len(next(iter(firings.values())))} firings each:")
    for name, measured in firings.items():
        print(f"  {name}:")
        print(f"    fire -> workflow started (Temporal) {_figures([f.started for f in measured])}")
        print(f"    workflow started -> queued (run)    {_figures([f.queued - f.started for f in measured])}")
        print(f"    fire -> message queued              {_figures([f.queued for f in measured])}")
    (now, now_runs), (before, before_runs) = firings.items()
    for label, share in (("p50", 0.5), ("p95", 0.95)):
        ratio = _percentile([f.queued for f in now_runs], share) / _percentile([f.queued for f in before_runs], share)
        print(f"  fire -> queued {label}, {now} / {before}: {ratio:.2f}")
    p95s = [_percentile([f.queued for f in runs], 0.95) * 1000 for runs in (now_runs, before_runs)]
    bench.record(
        # The report's columns give the medians of the firings: the p95s the ratio is of go in the label.
        f"fire -> message queued p95 ({p95s[0]:.0f} ms / {p95s[1]:.0f} ms), {now} / {before}",
        p95s[0] / p95s[1],
        bench.Rounds(now, "ms", [f.queued * 1000 for f in now_runs]),
        bench.Rounds(before, "ms", [f.queued * 1000 for f in before_runs]),
        f"{now}: p95 <= 1,000 ms",
    )


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def main(steps: int, reply_ms: float, firings: int, rounds: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporalDevServer("127.0.0.1", free_port(), free_port(), Path(tmp) / "t.db", Path(tmp), headless=True)
        server.start()
        try:
            client = await Client.connect(server.address)
            project_id, agent_id, task_queue = new_id(), new_id(), f"bench-{uuid.uuid4().hex[:8]}"
            admin = Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id,
                             project_role=ProjectRole.ADMIN)  # fmt: skip
            agents = ScriptedAgents(reply_ms)
            agents.answer = lambda message: ReplyState(ReplyStatus.COMPLETE, output=f"done {message.content}")
            agents.add_agent(project_id, agent_id)
            schedules = InMemoryScheduleRepository()
            engine = TemporalScheduleEngine(task_queue, client)
            job_repository = InMemoryJobRepository()
            jobs = Jobs(job_repository, TemporalJobEngine(task_queue, client), agents)
            activities = ScheduleActivities(schedules, engine, agents)
            worker = build_worker(client, task_queue, activities, JobActivities(job_repository, agents))
            # The run as it was, on a task queue of its own (its schedules' action names it).
            before_queue = f"{task_queue}-before"
            before_engine = TemporalScheduleEngine(before_queue, client)
            before_worker = Worker(
                client,
                task_queue=before_queue,
                workflows=[ScheduledRunSendingThroughTheQueue],
                activities=[activities.send_scheduled_message, activities.record_run_outcome],
            )
            variants = {
                "local send (now)": Scheduler(schedules, engine, agents),
                "activity send (before)": Scheduler(schedules, before_engine, agents),
            }
            measured: dict[str, list[Firing]] = {name: [] for name in variants}
            async with worker, before_worker:
                await job(jobs, admin, project_id, agent_id, 2)  # warm up
                direct_s = await direct(agents, project_id, agent_id, steps)
                job_s = await job(jobs, admin, project_id, agent_id, steps)
                order = list(variants)
                for round_ in range(rounds):
                    for name in order if round_ % 2 == 0 else reversed(order):
                        measured[name] += await schedule_firings(client, variants[name], agents, admin, project_id,
                                                                 agent_id, firings // rounds)  # fmt: skip
        finally:
            server.stop()
    print(f"job of {steps} sequential steps, agent reply after {reply_ms:.0f} ms:")
    print(f"  direct   {direct_s:6.2f} s  ({direct_s / steps * 1000:6.0f} ms per message)")
    print(f"  job      {job_s:6.2f} s  ({job_s / steps * 1000:6.0f} ms per step)")
    print(f"  overhead {(job_s - direct_s) / steps * 1000:6.0f} ms per step")
    report_schedules(measured)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--reply-ms", type=float, default=50.0)
    parser.add_argument("--firings", type=int, default=30, help="firings of each variant, over all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.steps, args.reply_ms, args.firings, args.rounds))
