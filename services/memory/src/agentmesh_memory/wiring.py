"""The memory service's parts, as the service skeleton (agentmesh_grpc.service) runs them.

Memory calls the agents service (is an entry's agent one of the project's?)
over a lazy channel: it needs no agents service to start, only to add an
entry that names an agent.

Health says NOT_SERVING until the database is migrated, the embedding model is
loaded and the vector index is open (an older local-mode collection migrated
into the embedded engine's shard, once) and adds cut short by a crash are swept
(domain Memory.sweep_pending; a background task sweeps again periodically), then
SERVING. On stop, the index is
closed (the embedded shard holds a lock on its directory until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from contextlib import AsyncExitStack
from datetime import timedelta

from agentmesh_core.aio import wait_set
from agentmesh_core.startup import unless_stopped
from agentmesh_db.database import Database
from agentmesh_db.migrations import migrate
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.service import Listener, Registration
from agentmesh_grpc.trust import ServiceKeys
from agentmesh_memory.adapters.agents_client import AgentsClient
from agentmesh_memory.adapters.edge_index import EdgeVectorIndex
from agentmesh_memory.adapters.edge_migration import migrate_local_collection
from agentmesh_memory.adapters.embedder import SentenceTransformerEmbedder
from agentmesh_memory.adapters.metrics import (
    INDEX_SIZE_REFRESH_SECONDS,
    ObservedEmbedder,
    ObservedVectorIndex,
    count_index_entries,
)
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.adapters.repository import SqlEntryRepository
from agentmesh_memory.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_memory.domain.admission import ProjectAdmission, ProjectQuotas
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.rpc.servicer import SERVICE_NAME, MemoryServicer, register
from agentmesh_memory.settings import MemorySettings

log = logging.getLogger(__name__)


def vector_index(settings: MemorySettings) -> QdrantVectorIndex | EdgeVectorIndex:
    """Qdrant as a server when a URL is set, else Qdrant's engine in-process on disk."""
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantVectorIndex.remote(settings.qdrant_url, api_key)
    settings.qdrant_location.mkdir(parents=True, exist_ok=True)
    return EdgeVectorIndex(settings.vector_shard_path, index_after=settings.vector_index_after)


class MemoryWiring:
    """Repository, vector index and embedder behind the MemoryService servicer."""

    name = "memory"

    def __init__(self, settings: MemorySettings) -> None:
        self._settings = settings
        self.listener = Listener(
            settings.memory_listen_addr,
            ServiceKeys.from_settings(self.name, settings),
            settings.shutdown_grace_seconds,
            settings.memory_metrics_addr,
        )
        self._database = Database(settings.database_url)
        self._embedder = SentenceTransformerEmbedder(
            settings.embedding_model_name,
            settings.embedding_batch_size,
            bulk_batch_size=settings.embedding_bulk_batch_size,
            threads=settings.embedding_threads,
            query_lane=settings.embedding_query_lane,
            bulk_nice=settings.embedding_bulk_nice,
            window=settings.embedding_batch_window_ms / 1000,
        )
        self._index = vector_index(settings)
        self._agents_channel = create_channel(settings.agents_service_addr, self.listener.keys.signer)
        quotas = ProjectQuotas(settings.project_adds_in_flight, settings.project_add_rate, settings.project_search_rate)
        self._memory = memory = Memory(
            SqlEntryRepository(self._database),
            ObservedVectorIndex(self._index),
            ObservedEmbedder(self._embedder),
            AgentsClient(self._agents_channel),
            admission=ProjectAdmission(quotas),
        )
        self.registrations = [Registration(SERVICE_NAME, register, MemoryServicer(memory))]

    async def start(self, stack: AsyncExitStack, stop: asyncio.Event) -> Sequence[asyncio.Task[None]]:
        settings = self._settings
        stack.callback(self._database.dispose)
        stack.push_async_callback(self._agents_channel.close)
        stack.callback(self._embedder.close)
        stack.push_async_callback(self._index.close)
        await migrate(self._database, MIGRATIONS_DIR, SCHEMA, stop=stop, timeout=settings.startup_timeout_seconds)
        await unless_stopped(stop, self._embedder.load(settings.embedding_model_path()))
        await unless_stopped(stop, self._index.open(self._embedder.dimension))
        if isinstance(self._index, EdgeVectorIndex):
            await unless_stopped(stop, migrate_local_collection(settings.qdrant_location, self._index))
        grace = timedelta(seconds=settings.pending_add_grace_seconds)
        await unless_stopped(stop, self._memory.sweep_pending(grace))
        sweeper = asyncio.create_task(self._sweep_periodically(grace, stop), name="memory-pending-sweep")
        stack.push_async_callback(_cancelled, sweeper)
        if settings.memory_metrics_addr:
            counting = count_index_entries(self._database, stop, INDEX_SIZE_REFRESH_SECONDS)
            stack.callback(asyncio.create_task(counting, name="memory-index-size").cancel)
        log.info("memory ready: model %s, %d dims", self._embedder.model_name, self._embedder.dimension)
        return ()

    async def _sweep_periodically(self, grace: timedelta, stop: asyncio.Event) -> None:
        """Remove adds cut short (on this or another replica) every sweep interval, until stop."""
        interval = self._settings.pending_sweep_interval_seconds
        while not stop.is_set():
            if await wait_set(stop, interval):
                return
            try:
                await self._memory.sweep_pending(grace)
            except Exception:  # the database or index away for a while: the next round tries again
                log.warning("the sweep of pending memory entries failed", exc_info=True)


async def _cancelled(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
