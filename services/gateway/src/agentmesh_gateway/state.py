"""What the lifespan puts on app.state, typed."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from agentmesh_db.database import Database
from agentmesh_db.notifications import Listener
from agentmesh_gateway.accounts.api_keys import ApiKeys
from agentmesh_gateway.accounts.service import Accounts
from agentmesh_gateway.accounts.stream_tickets import StreamTickets
from agentmesh_gateway.accounts.usage import UsageLedger
from agentmesh_gateway.adapters.access_cache import AccessCache
from agentmesh_gateway.adapters.accounts_repository import SqlAccountsRepository
from agentmesh_gateway.clients.ports import AgentsApi, InferenceApi, MemoryApi, SchedulerApi, ToolsApi
from agentmesh_gateway.clients.readiness import ReadinessProbe
from agentmesh_gateway.settings import GatewaySettings


@dataclass
class GatewayState:
    """The gateway's dependencies; tests swap the service clients for fakes."""

    settings: GatewaySettings
    database: Database
    repository: SqlAccountsRepository
    accounts: Accounts
    agents: AgentsApi
    memory: MemoryApi
    scheduler: SchedulerApi
    tools: ToolsApi
    readiness: ReadinessProbe
    inference: InferenceApi
    api_keys: ApiKeys
    usage: UsageLedger
    stream_tickets: StreamTickets
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
    # Sessions and project roles, kept between requests; and where it hears the access changes
    # other replicas announce (adapters/access_cache.py).
    access: AccessCache | None = None
    access_listener: Listener | None = None

    async def close(self) -> None:
        """Close the channels, the password hashing threads, the access listener and the database pool."""
        if self.access_listener is not None:
            await self.access_listener.close()
        for channel in self.channels.values():
            await channel.close()
        self.accounts.passwords.close()
        await self.usage.drain()  # the last second of API usage, before the pool goes
        self.database.dispose()
