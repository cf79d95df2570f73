"""Adds survive kill -9 of the memory service: every acknowledged add is searchable, none is stored twice.

The service runs as `python -m agentmesh_memory` (real PostgreSQL, the embedded Qdrant
engine, the packaged model); clients add one document each under its own idempotency
key, concurrently, and retry any failed call with the same key until it is answered,
while the service is killed (SIGKILL) and started again a few times. The issue's
figure (3,000 adds over 8 kills) is measured with AGENTMESH_TEST_CRASH_ADDS=3000.
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
from collections import Counter
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from agentmesh.memory.v1 import memory_service_pb2 as pb
from agentmesh.memory.v1 import memory_service_pb2_grpc as pb_grpc
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_core.ids import new_id
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.identity import acting_as
from agentmesh_grpc.trust import ServiceKeys

pytestmark = pytest.mark.slow

SECRET = "memory-crash-test-secret-0123456789abcdef-000"
ADDS = int(os.environ.get("AGENTMESH_TEST_CRASH_ADDS", "300"))
KILLS = int(os.environ.get("AGENTMESH_TEST_CRASH_KILLS", "3"))
CLIENTS = 8
CALLER = Identity(subject="crash-test", role=GlobalRole.SERVICE)
# Answers a client retries (the service is away, starting or cut short); any other ends the test.
RETRIED = {
    grpc.StatusCode.UNAVAILABLE,
    grpc.StatusCode.DEADLINE_EXCEEDED,
    grpc.StatusCode.CANCELLED,
    grpc.StatusCode.UNKNOWN,
}
WORDS = "amber basalt cedar delta ember fjord garnet harbor indigo juniper kelp lagoon".split()


class MemoryProcess:
    """The memory service as a child process that can be killed and started again on the same data."""

    def __init__(self, database_url: str, run_dir: Path) -> None:
        self.address = f"127.0.0.1:{free_port()}"
        self._env = {
            **os.environ,
            "AGENTMESH_DATABASE_URL": database_url,
            "AGENTMESH_MEMORY_LISTEN_ADDR": self.address,
            "AGENTMESH_QDRANT_PATH": str(run_dir / "qdrant"),
            "AGENTMESH_SHUTDOWN_GRACE_SECONDS": "1",
            "AGENTMESH_PROJECT_ADDS_IN_FLIGHT": str(CLIENTS),
            "AGENTMESH_PROJECT_ADD_RATE": "1000000/minute",
            "AGENTMESH_PROJECT_SEARCH_RATE": "1000000/minute",
        }
        self._process: asyncio.subprocess.Process | None = None
        self._logs = run_dir / "logs"
        self._logs.mkdir()
        self.starts = 0

    def log_lines(self, needle: str) -> int:
        """How many log lines of all starts hold needle."""
        return sum(path.read_text().count(needle) for path in self._logs.iterdir())

    async def start(self) -> None:
        with (self._logs / f"start-{self.starts}.log").open("wb") as log:
            self._process = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "agentmesh_memory", env=self._env, stdout=log, stderr=log
            )
        self.starts += 1
        channel = create_channel(self.address, ServiceKeys.local("gateway").signer)
        health = health_pb2_grpc.HealthStub(channel)

        async def serving() -> bool:
            assert self._process is not None and self._process.returncode is None, "memory service exited"
            try:
                answer = await health.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
            except grpc.aio.AioRpcError:
                return False
            return answer.status == health_pb2.HealthCheckResponse.SERVING

        try:
            await eventually(serving, timeout=180, interval=0.2, what="the memory service to be SERVING")
        finally:
            await channel.close()

    async def kill(self) -> None:
        assert self._process is not None
        self._process.send_signal(signal.SIGKILL)
        await self._process.wait()

    async def stop(self) -> None:
        if self._process is not None and self._process.returncode is None:
            self._process.kill()
            await self._process.wait()


async def test_kill_9_during_adds_with_retries_by_key(database_url: str, tmp_path: Path) -> None:
    service = MemoryProcess(database_url, tmp_path)
    project_id = new_id()
    texts = [f"fact {i}: " + " ".join(random.Random(i).choices(WORDS, k=6)) + f" #{i}" for i in range(ADDS)]
    acknowledged: dict[int, str] = {}  # add number -> the entry id its answer named
    retried: Counter[str] = Counter()
    kill_at = [ADDS * (n + 1) // (KILLS + 1) for n in range(KILLS)]
    killer_due = asyncio.Event()
    todo: asyncio.Queue[int] = asyncio.Queue()
    for number in range(ADDS):
        todo.put_nowait(number)

    await service.start()
    channel = create_channel(service.address, ServiceKeys.local("gateway").signer)
    stub = pb_grpc.MemoryServiceStub(channel)

    async def add(number: int) -> None:
        request = pb.AddMemoriesRequest(
            project_id=project_id, documents=[pb.Document(content=texts[number])], idempotency_key=f"add-{number}"
        )
        while True:
            try:
                with acting_as(CALLER):
                    answer = await stub.AddMemories(request, timeout=30)
            except grpc.aio.AioRpcError as error:
                if error.code() not in RETRIED:
                    raise
                retried[error.code().name] += 1
                await asyncio.sleep(0.2)
                continue
            [entry] = answer.entries
            assert entry.content == texts[number]
            acknowledged[number] = entry.id
            if kill_at and len(acknowledged) >= kill_at[0]:
                kill_at.pop(0)
                killer_due.set()
            return

    async def client() -> None:
        while not todo.empty():
            await add(todo.get_nowait())

    async def killer() -> None:
        while service.starts <= KILLS:
            await killer_due.wait()
            killer_due.clear()
            await service.kill()
            await service.start()

    killing = asyncio.create_task(killer())
    try:
        await asyncio.wait_for(asyncio.gather(*(client() for _ in range(CLIENTS))), timeout=60 + ADDS * 0.5)
        await asyncio.wait_for(killing, timeout=240)  # the last restart finished

        # Every acknowledged add is listed once, and found by its own text.
        listed: list[pb.MemoryEntry] = []
        token = ""
        with acting_as(CALLER):
            while True:
                page = await stub.ListMemories(
                    pb.ListMemoriesRequest(project_id=project_id, page_size=100, page_token=token)
                )
                listed.extend(page.entries)
                if not (token := page.next_page_token):
                    break
            missing = []
            for number, entry_id in acknowledged.items():
                found = await stub.SearchMemories(
                    pb.SearchMemoriesRequest(project_id=project_id, query=texts[number], k=3)
                )
                if entry_id not in [hit.entry.id for hit in found.hits]:
                    missing.append(number)
    finally:
        killing.cancel()
        await channel.close()
        await service.stop()

    finished = service.log_lines("finishing an earlier add")
    print(f"\n{ADDS} adds, {service.starts - 1} kills, retried answers {dict(retried)}, {finished} adds cut short"
          " between rows and vectors finished by their retry")  # fmt: skip
    assert service.starts == KILLS + 1
    assert len(acknowledged) == ADDS
    duplicates = [text for text, count in Counter(e.content for e in listed).items() if count > 1]
    assert duplicates == []
    assert sorted(e.id for e in listed) == sorted(acknowledged.values())
    assert missing == []
