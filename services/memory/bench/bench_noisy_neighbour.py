"""Noisy neighbour: one project's memory search while another project saturates memory adds.

    python services/memory/bench/bench_noisy_neighbour.py [--rounds 3] [--searches 30] [--adders 3]

Starts a throwaway PostgreSQL and the memory service as it runs in production (its
own process, default settings: the real embedding model, Qdrant local mode), fills
a quiet project with some documents, then alternates two phases and times the quiet
project's searches (one at a time) in each:

- quiet: nothing else runs;
- noisy: `--adders` clients of another project keep 200,000-character adds going
  (two 100,000-character documents each, ~280 chunks to embed), retrying after the
  service's Retry-After when it refuses one for the project's limits.

Prints the search p50 of each phase, per round and overall, and their ratio (the
goal: within 2x), plus how the neighbour's adds fared. Timings are noisy on a
shared machine: compare the ratios within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import grpc

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id
from agentmesh_devstack.bench import Rounds, p50_ms, ratio
from agentmesh_devstack.infra import EmbeddedPostgres
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.processes import ManagedProcess
from agentmesh_grpc.channel import check_health, create_channel
from agentmesh_grpc.errors import from_rpc_error
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys

WORDS = (
    "river mountain ledger invoice harbor engine orchard signal lantern copper meadow "
    "archive beacon canyon delta ember falcon glacier horizon island jasmine kernel "
    "lattice marble nebula oasis prairie quarry summit timber valley willow"
).split()
QUERIES = ["copper harbor invoices", "glacier summit beacon", "orchard lantern signal", "falcon canyon delta"]


def text(chars: int, rng: random.Random) -> str:
    """Sentences of random words, about `chars` characters."""
    sentences, size = [], 0
    while size < chars:
        sentence = " ".join(rng.choice(WORDS) for _ in range(rng.randint(6, 14))).capitalize() + "."
        sentences.append(sentence)
        size += len(sentence) + 1
    return " ".join(sentences)[:chars]


def member(project_id: str) -> Identity:
    return Identity(new_id(), GlobalRole.USER, project_id=project_id, project_role=ProjectRole.ADMIN)


async def wait_serving(channel: grpc.aio.Channel, service: ManagedProcess) -> None:
    for _ in range(1200):
        if not service.running:
            raise RuntimeError("the memory service exited:\n" + service.tail())
        if await check_health(channel, timeout=1):
            return
        await asyncio.sleep(0.1)
    raise RuntimeError("the memory service did not become SERVING:\n" + service.tail())


async def search_latencies(stub: pb_grpc.MemoryServiceStub, project_id: str, count: int) -> list[float]:
    latencies = []
    for i in range(count):
        request = pb.SearchMemoriesRequest(project_id=project_id, query=QUERIES[i % len(QUERIES)], k=5)
        started = time.perf_counter()
        with acting_as(member(project_id)):
            response = await stub.SearchMemories(request, timeout=120)
        latencies.append(time.perf_counter() - started)
        if not response.hits:
            raise RuntimeError("a search of the quiet project found nothing")
        await asyncio.sleep(0.05)  # a user's pace, not a flood of searches
    return latencies


async def adder(stub: pb_grpc.MemoryServiceStub, project_id: str, stop: asyncio.Event, outcomes: Counter[str]) -> None:
    rng = random.Random()
    while not stop.is_set():
        documents = [pb.Document(content=text(100_000, rng)) for _ in range(2)]
        try:
            with acting_as(member(project_id)):
                await stub.AddMemories(pb.AddMemoriesRequest(project_id=project_id, documents=documents), timeout=600)
            outcomes["added"] += 1
        except grpc.aio.AioRpcError as failed:
            error = from_rpc_error(failed)
            outcomes[error.code] += 1
            retry_after = getattr(error, "retry_after", None) or 1.0
            try:
                await asyncio.wait_for(stop.wait(), retry_after)
            except TimeoutError:
                pass


async def noisy_searches(
    stub: pb_grpc.MemoryServiceStub, quiet: str, noisy: str, adders: int, searches: int, outcomes: Counter[str]
) -> list[float]:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(adder(stub, noisy, stop, outcomes)) for _ in range(adders)]
    await asyncio.sleep(3.0)  # the neighbour's adds are embedding by now
    try:
        return await search_latencies(stub, quiet, searches)
    finally:
        stop.set()
        for task in tasks:
            task.cancel()  # a cancelled add stops embedding on the service between batches
        await asyncio.gather(*tasks, return_exceptions=True)


def report(label: str, quiet: list[float], noisy: list[float]) -> None:
    q, n = statistics.median(quiet) * 1000, statistics.median(noisy) * 1000
    print(f"  {label:<8} quiet p50 {q:7.1f} ms   noisy p50 {n:7.1f} ms   ratio {n / q:5.2f}x")


async def run(args: argparse.Namespace, address: str, service: ManagedProcess) -> None:
    channel = create_channel(address, ServiceKeys.local("gateway").signer)
    try:
        await wait_serving(channel, service)
        stub = pb_grpc.MemoryServiceStub(channel)
        quiet_project, noisy_project = new_id(), new_id()
        rng = random.Random(7)
        seed = [pb.Document(content=text(600, rng)) for _ in range(40)]
        with acting_as(member(quiet_project)):
            await stub.AddMemories(pb.AddMemoriesRequest(project_id=quiet_project, documents=seed), timeout=600)
        await search_latencies(stub, quiet_project, 5)  # warm-up

        print(f"quiet project's search, one at a time: alone, then with {args.adders} clients of another project")
        print("keeping 200,000-character memory adds going:")
        all_quiet: list[float] = []
        all_noisy: list[float] = []
        outcomes: Counter[str] = Counter()
        quiet_p50s, noisy_p50s = Rounds("quiet (alone)", "ms"), Rounds(f"noisy ({args.adders} adders)", "ms")
        for round_ in range(1, args.rounds + 1):
            quiet = await search_latencies(stub, quiet_project, args.searches)
            noisy = await noisy_searches(stub, quiet_project, noisy_project, args.adders, args.searches, outcomes)
            report(f"round {round_}", quiet, noisy)
            quiet_p50s.values.append(p50_ms(quiet))
            noisy_p50s.values.append(p50_ms(noisy))
            all_quiet += quiet
            all_noisy += noisy
        report("all", all_quiet, all_noisy)
        ratio("noisy / quiet search p50 (medians of the rounds' p50s)", noisy_p50s, quiet_p50s, "goal <= 2")
        print(f"  the neighbour's adds: {dict(outcomes)} (resource_exhausted: refused for its project's limits)")
    finally:
        await channel.close()


def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="agentmesh-bench-") as tmp:
        postgres = EmbeddedPostgres(Path(tmp) / "postgres")
        postgres.start()
        address = f"127.0.0.1:{free_port()}"
        env = {
            **os.environ,
            "AGENTMESH_DATABASE_URL": postgres.database_url("bench_memory"),
            "AGENTMESH_MEMORY_LISTEN_ADDR": address,
            "AGENTMESH_QDRANT_PATH": str(Path(tmp) / "qdrant"),
            "AGENTMESH_AGENTS_SERVICE_ADDR": "127.0.0.1:9",  # entries here name no agent
            "AGENTMESH_LOG_LEVEL": "WARNING",
            "HF_HUB_OFFLINE": "1",
        }
        service = ManagedProcess("memory", [sys.executable, "-m", "agentmesh_memory"], Path(tmp) / "memory.log", env)
        service.start()
        try:
            asyncio.run(run(args, address, service))
        finally:
            service.stop()
            postgres.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="quiet/noisy round pairs")
    parser.add_argument("--searches", type=int, default=30, help="searches per phase")
    parser.add_argument("--adders", type=int, default=3, help="the neighbour's concurrent add clients")
    main(parser.parse_args())
