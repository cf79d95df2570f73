"""What a schedule does after Temporal was down for several of its periods (the catch-up policy).

    python services/scheduler/bench/catchup.py [--period 10] [--down 35]

Runs the scheduler's worker against a Temporal dev server (headless, temp dir),
with in-memory storage and a fake agents service, and two schedules of one
`--period`: overlap SKIP (the default) and ALLOW_ALL, both with the default 1-hour
catch-up window. It stops the server for `--down` seconds (about 3 periods, as
`make run` stopped for 3 minutes is for a 1-minute schedule), starts it again on
the same database, and reports, from each Temporal Schedule's description, the
runs started after the restart (before the next regular firing), the firings skipped
as overlapping and those outside the catch-up window.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path

from temporalio.client import Client

from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_devstack.infra import TemporalDevServer
from agentmesh_devstack.ports import free_port
from agentmesh_scheduler.activities import ScheduleActivities
from agentmesh_scheduler.adapters.fakes import FakeAgents, InMemoryScheduleRepository
from agentmesh_scheduler.adapters.temporal_schedules import TemporalScheduleEngine
from agentmesh_scheduler.domain.models import IntervalTrigger, OverlapPolicy, ScheduleDraft, temporal_schedule_id
from agentmesh_scheduler.domain.scheduler import Scheduler
from agentmesh_scheduler.worker import build_worker


def _count(agents: FakeAgents, schedule_id: str) -> int:
    return sum(1 for message in agents.sent if message.correlation_id == schedule_id)


async def main(period: int, down: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = TemporalDevServer("127.0.0.1", free_port(), free_port(), Path(tmp) / "t.db", Path(tmp), headless=True)
        server.start()
        project_id, agent_id, task_queue = new_id(), new_id(), f"catchup-{uuid.uuid4().hex[:8]}"
        admin = Identity(subject=new_id(), role=GlobalRole.USER, project_id=project_id, project_role=ProjectRole.ADMIN)
        agents = FakeAgents()
        agents.add_agent(project_id, agent_id)
        repository = InMemoryScheduleRepository()
        client = await Client.connect(server.address)
        engine = TemporalScheduleEngine(task_queue, client)
        scheduler = Scheduler(repository, engine, agents)
        worker = build_worker(client, task_queue, ScheduleActivities(repository, engine, agents))
        running = asyncio.create_task(worker.run())
        made = {}
        for policy in (OverlapPolicy.SKIP, OverlapPolicy.ALLOW_ALL):
            draft = ScheduleDraft(agent_id, IntervalTrigger(period), "UTC", policy.value, True, overlap=policy)
            made[policy] = (await scheduler.create(admin, project_id, draft)).id
        await asyncio.sleep(period * 1.5)
        before = {policy: _count(agents, schedule_id) for policy, schedule_id in made.items()}
        server.stop()
        print(f"Temporal stopped for {down:.0f} s (period {period} s: {down / period:.1f} periods missed)")
        await asyncio.sleep(down)
        restarted = datetime.now(UTC)
        server.start()
        # Less than one period: only the catch-up can have run by then.
        await asyncio.sleep(period * 0.8)
        for policy, schedule_id in made.items():
            info = (await client.get_schedule_handle(temporal_schedule_id(project_id, schedule_id)).describe()).info
            caught_up = [a for a in info.recent_actions if a.started_at >= restarted]
            sent = _count(agents, schedule_id) - before[policy]
            print(
                f"  overlap {policy.value:10s}: {len(caught_up)} run(s) started after the restart "
                f"(for {sorted(a.scheduled_at.strftime('%H:%M:%S') for a in caught_up)}), {sent} message(s) sent, "
                f"{info.num_actions_skipped_overlap} skipped as overlapping, "
                f"{info.num_actions_missed_catchup_window} outside the catch-up window"
            )
        worker_done = worker.shutdown()
        await asyncio.wait_for(worker_done, 30)
        running.cancel()
        server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--period", type=int, default=10)
    parser.add_argument("--down", type=float, default=35.0)
    args = parser.parse_args()
    asyncio.run(main(args.period, args.down))
