"""Composition root: settings -> adapters -> domain -> servicer -> server; signals.

`python -m agentmesh_memory` runs the gRPC server. Health says NOT_SERVING
until the database is migrated, the embedding model is loaded and Qdrant is
open, then SERVING. SIGTERM/SIGINT stop it and close Qdrant (local mode holds
a lock on its directory until then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys

from pydantic import ValidationError

from agentmesh_core.tokens import IdentityTokens
from agentmesh_db.database import Database
from agentmesh_db.migrations import upgrade_to_head
from agentmesh_grpc.server import ServiceServer, stop_event_on_signals
from agentmesh_memory.adapters.embedder import SentenceTransformerEmbedder
from agentmesh_memory.adapters.qdrant_index import QdrantVectorIndex
from agentmesh_memory.adapters.repository import SqlEntryRepository
from agentmesh_memory.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_memory.domain.memory import Memory
from agentmesh_memory.rpc.servicer import SERVICE_NAME, MemoryServicer, register
from agentmesh_memory.settings import MemorySettings
from agentmesh_observability.logging import configure_logging

log = logging.getLogger(__name__)


async def _migrate(database: Database, timeout_seconds: float) -> None:
    """Apply migrations, waiting for PostgreSQL to accept connections."""
    deadline = asyncio.get_running_loop().time() + timeout_seconds
    while not await database.ping():
        if asyncio.get_running_loop().time() >= deadline:
            raise TimeoutError("database did not become reachable")
        log.info("waiting for the database")
        await asyncio.sleep(1.0)
    await asyncio.to_thread(upgrade_to_head, database.engine, MIGRATIONS_DIR, SCHEMA)


def _vector_index(settings: MemorySettings) -> QdrantVectorIndex:
    if settings.qdrant_url:
        api_key = settings.qdrant_api_key.get_secret_value() if settings.qdrant_api_key else None
        return QdrantVectorIndex.remote(settings.qdrant_url, api_key)
    settings.qdrant_location.mkdir(parents=True, exist_ok=True)
    return QdrantVectorIndex.local(str(settings.qdrant_location))


async def _start(settings: MemorySettings, database: Database, embedder, index: QdrantVectorIndex) -> None:
    await _migrate(database, settings.startup_timeout_seconds)
    await embedder.load(settings.embedding_model_path())
    await index.open(embedder.dimension)


async def serve(settings: MemorySettings, stop: asyncio.Event, ready: asyncio.Event | None = None) -> None:
    """Run the server until stop is set; ready is set once it is SERVING."""
    tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    database = Database(settings.database_url)
    embedder = SentenceTransformerEmbedder(settings.embedding_model_name, settings.embedding_batch_size)
    index = _vector_index(settings)
    memory = Memory(SqlEntryRepository(database), index, embedder)

    server = ServiceServer(tokens, settings.memory_listen_addr)
    server.add_service(SERVICE_NAME, register(MemoryServicer(memory)))
    try:
        await server.start()
        log.info("memory listening on %s (port %d)", settings.memory_listen_addr, server.port)
        starting = asyncio.create_task(_start(settings, database, embedder, index))
        stopped = asyncio.create_task(stop.wait())
        try:
            await asyncio.wait({starting, stopped}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopped.cancel()
        if not starting.done():
            starting.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await starting
            return
        starting.result()
        await server.set_serving()
        log.info("memory ready: model %s, %d dims", embedder.model_name, embedder.dimension)
        if ready is not None:
            ready.set()
        await stop.wait()
    finally:
        log.info("memory stopping")
        await server.stop(settings.shutdown_grace_seconds)
        await index.close()
        embedder.close()
        database.dispose()
        log.info("memory stopped")


async def main() -> None:
    """Build settings, then serve until SIGTERM or SIGINT."""
    settings = MemorySettings()  # type: ignore[call-arg]
    configure_logging("memory", settings.log_level)
    stop = stop_event_on_signals()
    await serve(settings, stop)


def run() -> None:
    """Console entry point; exits with status 1 when the service cannot start."""
    try:
        asyncio.run(main())
    except ValidationError as error:
        # Not str(error): it repeats the inputs, and the database URL may hold a password.
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}"
            for e in error.errors(include_url=False, include_context=False, include_input=False)
        )
        configure_logging("memory")
        log.critical("invalid settings: %s", problems)
        sys.exit(1)
    except Exception:
        log.critical("memory service failed", exc_info=True)
        sys.exit(1)
