"""The non-LLM overhead of one ReAct step: the agents service's runtime with a scripted LLM and the calculator.

The real domain, PostgreSQL (embedded), NATS (JetStream mailbox) and the runtime;
only the model is scripted (it answers at once). A turn is two calculator steps
and a final answer. A step's overhead is the time from the model's output to the
next model call on the same turn: parse, grant re-read, schema check, the tool run,
the audit and log rows, the events, the turn's stored state, the next prompt.

    python services/agents/bench/bench_react.py [--turns 100]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import statistics
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA
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
from agentmesh_events import bus
from agentmesh_events.bus import ensure_streams

log = logging.getLogger("bench_react")


class TimedModel:
    """Two calculator steps, then the answer; records when each call started and returned."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.finals = 0

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling, request_id: str):  # type: ignore[no-untyped-def]
        raise AssertionError("a tool agent never streams")
        yield ""

    async def generate(self, turns: Sequence[ChatTurn], sampling, request_id: str, json_schema: str) -> Generation:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        seen = sum(1 for t in turns if t.content.startswith("Observation: "))
        step = {"tool": "calculator", "arguments": {"expression": "6*7"}} if seen < 2 else {"final": "42"}
        self.finals += seen >= 2
        # request ids are <message>-<attempt>-<step>: group by message
        self.spans[request_id.rsplit("-", 2)[0]].append((started, time.perf_counter()))
        return Generation(json.dumps(step), prompt_tokens=10, completion_tokens=10)


async def run(turns: int, root: Path) -> None:
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
        inbox_partitions=2,
        project_message_rate="10000/second",
    )
    db = Database(url, pool_size=4)
    nc = await bus.connect(nats.url_for("agents"), "bench-react")
    js = nc.jetstream()
    await ensure_streams(js)
    model = TimedModel()
    components = build_components(settings, db, js, model, StaticMemory())  # type: ignore[arg-type]
    try:
        await seed_builtin_tools(components)
        await components.runtime.start()
        project = str(uuid.uuid4())
        admin = Identity("admin", GlobalRole.USER, project, ProjectRole.ADMIN)
        agent = await components.registry.create(admin, project, Agent(id="", project_id="", name="calc"))
        grants = components.servicer._grants
        await grants.set(Identity("root", GlobalRole.SUPERADMIN), project, agent.id, [Grant("calculator")])
        for index in range(turns):
            await components.messaging.send(admin, project, Outgoing(agent_id=agent.id, content=f"turn {index}"))
            deadline = time.monotonic() + 30
            while model.finals <= index:
                assert time.monotonic() < deadline, "a turn did not finish"
                await asyncio.sleep(0.001)
        overheads = [
            (nxt[0] - prev[1]) * 1000 for spans in model.spans.values() for prev, nxt in itertools.pairwise(spans)
        ]
        cuts = statistics.quantiles(overheads, n=100)
        log.info("ReAct step overhead over %d steps (%d turns): p50 %.2f ms, p99 %.2f ms",
                 len(overheads), turns, statistics.median(overheads), cuts[98])  # fmt: skip
    finally:
        await components.runtime.stop(grace=1)
        await nc.drain()
        db.dispose()
        nats.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-react-") as tmp:
        asyncio.run(run(args.turns, Path(tmp)))


if __name__ == "__main__":
    main()
