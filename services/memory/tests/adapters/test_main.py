"""The composed service: `python -m agentmesh_memory` serves, then stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
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
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.edge_migration import MARKER
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.settings import MemorySettings

SECRET = "memory-main-test-secret-0123456789abcdef-0000"


def test_settings_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AGENTMESH_RUN_DIR", "AGENTMESH_QDRANT_PATH", "AGENTMESH_QDRANT_URL", "AGENTMESH_EMBEDDING_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENTMESH_DATABASE_URL", "postgresql://x/y")
    settings = MemorySettings()  # type: ignore[call-arg]
    assert settings.memory_listen_addr == "127.0.0.1:50052"
    assert settings.qdrant_location == Path(".run") / "qdrant"
    assert settings.vector_shard_path == Path(".run") / "qdrant" / "edge"
    assert settings.embedding_threads == 1
    assert settings.embedding_model_name == "all-MiniLM-L6-v2"
    assert (settings.embedding_model_path() / "config.json").exists()
    monkeypatch.setenv("AGENTMESH_RUN_DIR", "/tmp/run")
    assert MemorySettings().qdrant_location == Path("/tmp/run/qdrant")  # type: ignore[call-arg]
    monkeypatch.setenv("AGENTMESH_QDRANT_PATH", "/data/q")
    assert MemorySettings().qdrant_location == Path("/data/q")  # type: ignore[call-arg]


async def _wait_serving(address: str, process: asyncio.subprocess.Process, timeout: float = 90.0) -> None:
    channel = create_channel(address, ServiceKeys.local("gateway").signer)
    stub = health_pb2_grpc.HealthStub(channel)

    async def serving() -> bool:
        if process.returncode is not None:
            pytest.fail("memory service exited")
        try:
            response = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1.0)
        except grpc.aio.AioRpcError:  # not listening yet
            return False
        return response.status == health_pb2.HealthCheckResponse.SERVING

    try:
        await eventually(serving, timeout=timeout, interval=0.3, what="the memory service to be SERVING")
    finally:
        await channel.close()


async def test_python_m_serves_and_stops_on_sigterm(database_url: str, tmp_path: Path) -> None:
    address = f"127.0.0.1:{free_port()}"
    qdrant_path = tmp_path / "qdrant"
    # Vectors left by an earlier release (qdrant-client local mode) are moved into the shard at start-up.
    legacy = QdrantVectorIndex.local(str(qdrant_path))
    await legacy.open(384)
    await legacy.close()
    env = {
        **os.environ,
        "AGENTMESH_DATABASE_URL": database_url,
        "AGENTMESH_MEMORY_LISTEN_ADDR": address,
        "AGENTMESH_QDRANT_PATH": str(qdrant_path),
        "AGENTMESH_SHUTDOWN_GRACE_SECONDS": "1",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "agentmesh_memory",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_serving(address, process)
        project_id = new_id()
        channel = create_channel(address, ServiceKeys.local("gateway").signer)
        try:
            stub = pb_grpc.MemoryServiceStub(channel)
            with acting_as(Identity(subject="test", role=GlobalRole.SERVICE)):
                await stub.AddMemories(
                    pb.AddMemoriesRequest(project_id=project_id, documents=[pb.Document(content="Paris is in France.")])
                )
                hits = await stub.SearchMemories(pb.SearchMemoriesRequest(project_id=project_id, query="France"))
        finally:
            await channel.close()
        assert [h.entry.content for h in hits.hits] == ["Paris is in France."]

        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()

    # The shard's lock was released: another holder can open it, and holds the added vector.
    assert (qdrant_path / MARKER).exists()
    index = EdgeVectorIndex(qdrant_path / "edge")
    await index.open(384)
    try:
        assert await index.count(project_id) == 1
    finally:
        await index.close()
