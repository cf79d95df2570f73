"""What the lifespan puts on app.state, typed."""

from __future__ import annotations

from dataclasses import dataclass, field

import grpc

from agentmesh_core.tokens import AccessTokens
from agentmesh_db.database import Database
from agentmesh_gateway.accounts.repository import AccountsRepository
from agentmesh_gateway.clients.agents import AgentsClient
from agentmesh_gateway.clients.memory import MemoryClient
from agentmesh_gateway.clients.scheduler import SchedulerClient
from agentmesh_gateway.settings import GatewaySettings


@dataclass
class GatewayState:
    """The gateway's dependencies; tests build one with fakes for the clients."""

    settings: GatewaySettings
    database: Database
    accounts: AccountsRepository
    tokens: AccessTokens
    agents: AgentsClient
    memory: MemoryClient
    scheduler: SchedulerClient
    channels: dict[str, grpc.aio.Channel] = field(default_factory=dict)
