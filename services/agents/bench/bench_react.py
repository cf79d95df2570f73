"""The agents service's own overhead around the model: ReAct steps, and chat turns at 1 and 16 busy agents.

The real domain, PostgreSQL (embedded), NATS (JetStream mailbox) and the runtime;
only the model is scripted.

ReAct steps: a turn is two calculator steps and a final answer (the model answers
at once). A step's overhead is the time from the model's output to the next model
call on the same turn: parse, grant re-read, schema check, the tool run, the audit
and log rows, the events, the turn's stored state, the next prompt.

Chat turns: the model streams `--chunks` chunks over about `--busy-ms` (a busy agent; turns vary
in length, so agents do not fall into step).
One caller per agent sends a message and waits for its reply, over and over; with
1 agent, then with 16 at once (in the 8 default partitions), in alternating rounds.
Read from the conversation's events as a watcher sees them: send (the call until
it is accepted), pick-up (accepted → the PROCESSING event), round trip (the send →
the REPLY event), token events per turn. Goal (issue 14): pick-up with 16 busy
agents within 2x of one agent's.

The runtime runs in this process with the agents service process's GIL switch interval
(agentmesh_agents.main; `--switch-interval 0.005` is CPython's default).

    python services/agents/bench/bench_react.py [--turns 100] [--rounds 5] [--switch-interval S]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from nats.js.api import ConsumerConfig, DeliverPolicy

from agentmesh.agents.v1 import message_pb2
from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_agents.domain.messaging import Outgoing
from agentmesh_agents.domain.models import Agent
from agentmesh_agents.domain.ports import ChatTurn, Generation
from agentmesh_agents.domain.tool_models import Grant
from agentmesh_agents.main import ENTRY as AGENTS_ENTRY
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components, seed_builtin_tools
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack import bench
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.templates import migrations
from agentmesh_events import bus, subjects
from agentmesh_events.bus import ensure_streams

log = logging.getLogger("bench_react")


class TimedModel:
    """Two calculator steps, then the answer; records when each call started and returned."""

    def __init__(self) -> None:
        self.spans: dict[str, list[tuple[float, float]]] = defaultdict(list)
        self.finals = 0

    def stream_chat(self, turns: Sequence[ChatTurn], sampling, request_id: str):  # type: ignore[no-untyped-def]
        raise AssertionError("a tool agent never streams")

    async def generate(self, turns: Sequence[ChatTurn], sampling, request_id: str, json_schema: str) -> Generation:  # type: ignore[no-untyped-def]
        started = time.perf_counter()
        seen = sum(1 for t in turns if t.content.startswith("Observation: "))
        step = {"tool": "calculator", "arguments": {"expression": "6*7"}} if seen < 2 else {"final": "42"}
        self.finals += seen >= 2
        # request ids are <message>-<attempt>-<step>: group by message
        self.spans[request_id.rsplit("-", 2)[0]].append((started, time.perf_counter()))
        return Generation(json.dumps(step), prompt_tokens=10, completion_tokens=10)


class BusyModel:
    """Chat only: streams `chunks` chunks over `busy` seconds on average (a quarter to 1.75 times it, seeded)."""

    def __init__(self, busy: float, chunks: int) -> None:
        self.busy = busy
        self.chunks = chunks
        self._random = random.Random(14)

    async def stream_chat(self, turns: Sequence[ChatTurn], sampling, request_id: str):  # type: ignore[no-untyped-def]
        gap = self.busy * self._random.uniform(0.25, 1.75) / self.chunks
        for _ in range(self.chunks):
            await asyncio.sleep(gap)
            yield "tok "

    async def generate(self, turns, sampling, request_id: str, json_schema: str) -> Generation:  # type: ignore[no-untyped-def]
        raise AssertionError("a chat agent never asks for a step")


class Watcher:
    """The project's conversation events as a watcher gets them: when each message was picked up and answered."""

    def __init__(self) -> None:
        self.picked: dict[str, float] = {}
        self.replied: dict[str, asyncio.Event] = defaultdict(asyncio.Event)
        self.replied_at: dict[str, float] = {}
        self.tokens: dict[str, int] = defaultdict(int)

    async def on_event(self, msg) -> None:  # type: ignore[no-untyped-def]
        now = time.perf_counter()
        event = message_pb2.ConversationEvent.FromString(msg.data)
        kind = message_pb2.ConversationEventType.Name(event.type)
        if kind.endswith("STATUS") and event.message_id not in self.picked:
            self.picked[event.message_id] = now
        elif kind.endswith("TOKEN"):
            self.tokens[event.message_id] += 1
        elif kind.endswith("REPLY"):
            self.replied_at[event.message_id] = now
            self.replied[event.message_id].set()


async def chat_rounds(components, nc, rounds: int, per_caller: int, busy: float, chunks: int) -> None:  # type: ignore[no-untyped-def]
    """Pick-up and round trip with 1 and with 16 busy agents, in alternating rounds."""
    watcher = Watcher()
    project = str(uuid.uuid4())
    # A JetStream push consumer, as the gateway watches (the agents' NATS user subscribes to inboxes only).
    await nc.jetstream().subscribe(
        subjects.project_conversations_filter(project),
        stream=subjects.EVENTS_STREAM,
        cb=watcher.on_event,
        ordered_consumer=True,
        deliver_policy=DeliverPolicy.NEW,
        config=ConsumerConfig(),
    )
    admin = Identity("admin", GlobalRole.USER, project, ProjectRole.ADMIN)
    agents = [
        await components.registry.create(admin, project, Agent(id="", project_id="", name=f"chat{i}"))
        for i in range(16)
    ]

    async def caller(agent: Agent, count: int, picks: list[float], trips: list[float], tokens: list[int],
                     sends: list[float]) -> None:  # fmt: skip
        for index in range(count):
            sent = time.perf_counter()
            message = await components.messaging.send(admin, project, Outgoing(agent_id=agent.id, content=f"m{index}"))
            accepted = time.perf_counter()
            await asyncio.wait_for(watcher.replied[message.id].wait(), 60)
            picks.append((watcher.picked[message.id] - accepted) * 1000)
            sends.append((accepted - sent) * 1000)
            trips.append((watcher.replied_at[message.id] - sent) * 1000)
            tokens.append(watcher.tokens[message.id])

    figures: dict[int, dict[str, list[float]]] = {1: defaultdict(list), 16: defaultdict(list)}
    for _ in range(rounds):
        for width in (1, 16):
            picks: list[float] = []
            trips: list[float] = []
            tokens: list[int] = []
            sends: list[float] = []
            count = per_caller * (4 if width == 1 else 1)
            await asyncio.gather(*(caller(agent, count, picks, trips, tokens, sends) for agent in agents[:width]))
            figures[width]["pick"].append(statistics.median(picks))
            figures[width]["trip"].append(statistics.median(trips))
            figures[width]["tokens"].append(statistics.median(tokens))
            figures[width]["send"].append(statistics.median(sends))
    for width, figure in figures.items():
        log.info(
            "chat, %2d busy agent(s) (%d ms, %d chunks a turn), medians of %d rounds (min/median/max): "
            "send (until accepted) %s ms, pick-up (after) %s ms, round trip %s ms, token events a turn %s",
            width, busy * 1000, chunks, rounds, _spread(figure["send"]), _spread(figure["pick"]),
            _spread(figure["trip"]), _spread(figure["tokens"]),
        )  # fmt: skip
    one, many = statistics.median(figures[1]["pick"]), statistics.median(figures[16]["pick"])
    log.info("pick-up, 16 busy agents / 1 agent: %.2fx (goal <= 2x); load average %s", many / one, _load())
    bench.record(
        "pick-up, 16 busy agents / 1 agent (medians of the rounds)",
        many / one,
        bench.Rounds("16 busy agents", "ms", figures[16]["pick"]),
        bench.Rounds("1 agent", "ms", figures[1]["pick"]),
        "<= 2",
    )
    bench.record(
        "round trip, 16 busy agents / 1 agent (medians of the rounds)",
        statistics.median(figures[16]["trip"]) / statistics.median(figures[1]["trip"]),
        bench.Rounds("16 busy agents", "ms", figures[16]["trip"]),
        bench.Rounds("1 agent", "ms", figures[1]["trip"]),
    )


def _spread(values: list[float]) -> str:
    return "/".join(f"{v:.1f}" for v in (min(values), statistics.median(values), max(values)))


def _load() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


async def run(turns: int, root: Path, chat: argparse.Namespace) -> None:
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
    db = Database(url)  # the pool the agents service uses (wiring.py)
    nc = await bus.connect(nats.url_for("agents"), "bench-react")
    js = nc.jetstream()
    await ensure_streams(js)
    model = TimedModel()
    components = build_components(settings, db, js, model, StaticMemory())  # type: ignore[arg-type]
    chat_settings = settings.model_copy(update={"inbox_partitions": 8})
    chat_components = build_components(
        chat_settings,
        db,
        js,
        BusyModel(chat.busy_ms / 1000, chat.chunks),
        StaticMemory(),  # type: ignore[arg-type]
    )
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
        await components.runtime.stop(grace=1)
        if chat.rounds:
            await chat_components.runtime.start()
            await chat_rounds(chat_components, nc, chat.rounds, chat.per_caller, chat.busy_ms / 1000, chat.chunks)
    finally:
        await components.runtime.stop(grace=1)
        await chat_components.runtime.stop(grace=1)
        await nc.drain()
        db.dispose()
        nats.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=100)
    # Five: runs of three rounds on an unchanged runtime gave pick-up ratios of 2.07-2.61x.
    parser.add_argument("--rounds", type=int, default=5, help="chat rounds (0: none)")
    parser.add_argument("--per-caller", type=int, default=4, help="chat messages per caller at 16 agents")
    parser.add_argument("--busy-ms", type=int, default=400, help="a chat turn's model time")
    parser.add_argument("--chunks", type=int, default=40, help="chunks a chat turn streams")
    parser.add_argument("--switch-interval", type=float, default=AGENTS_ENTRY.switch_interval_seconds,
                        help="the GIL switch interval, s (default: the agents service process's)")  # fmt: skip
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if args.switch_interval is not None:  # the runtime runs in this process, as in the service's
        sys.setswitchinterval(args.switch_interval)
    log.info("GIL switch interval %.4f s", sys.getswitchinterval())
    with tempfile.TemporaryDirectory(prefix="bench-react-") as tmp:
        asyncio.run(run(args.turns, Path(tmp), args))


if __name__ == "__main__":
    main()
