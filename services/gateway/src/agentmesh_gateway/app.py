"""The FastAPI application: create_app(settings), lifespan wiring, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI

from agentmesh_core.identity import GlobalRole
from agentmesh_core.tokens import AccessTokens, IdentityTokens
from agentmesh_db.database import Database
from agentmesh_gateway.accounts.passwords import hash_password
from agentmesh_gateway.accounts.repository import AccountsRepository
from agentmesh_gateway.clients.agents import AgentsClient
from agentmesh_gateway.clients.memory import MemoryClient
from agentmesh_gateway.clients.scheduler import SchedulerClient
from agentmesh_gateway.errors import install_error_handlers
from agentmesh_gateway.middleware import BodySizeLimitMiddleware, MetricsMiddleware, RequestContextMiddleware
from agentmesh_gateway.routers import agents, auth, conversations, health, memory, messages, projects, schedules, users
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState
from agentmesh_grpc.channel import create_channel

log = logging.getLogger(__name__)

SERVICE_CHANNELS = ("agents", "memory", "inference", "scheduler")


async def bootstrap_admin(state: GatewayState) -> None:
    """The first start creates a superadmin when no user exists."""
    if await state.accounts.count_users() > 0:
        return
    settings = state.settings
    password_hash = await hash_password(settings.admin_password.get_secret_value())
    await state.accounts.create_user(settings.admin_username, password_hash, GlobalRole.SUPERADMIN)
    log.warning("created the bootstrap superadmin %r (no user existed)", settings.admin_username)


def build_state(settings: GatewaySettings) -> GatewayState:
    """Wire the real adapters: database, tokens, gRPC channels and clients."""
    identity_tokens = IdentityTokens(settings.internal_secret.get_secret_value())
    channels = {
        name: create_channel(getattr(settings, f"{name}_service_addr"), identity_tokens) for name in SERVICE_CHANNELS
    }
    # Temporal gets a plain channel: our identity tokens are for our services only.
    channels["temporal"] = grpc.aio.insecure_channel(settings.temporal_address)
    database = Database(settings.database_url)
    return GatewayState(
        settings=settings,
        database=database,
        accounts=AccountsRepository(database),
        tokens=AccessTokens(settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds),
        agents=AgentsClient(channels["agents"]),
        memory=MemoryClient(channels["memory"]),
        scheduler=SchedulerClient(channels["scheduler"]),
        channels=channels,
    )


def create_app(settings: GatewaySettings, state: GatewayState | None = None) -> FastAPI:
    """The gateway app; pass `state` to run it over other adapters (tests)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gateway = state or build_state(settings)
        gateway.accounts.migrate()
        await bootstrap_admin(gateway)
        app.state.gateway = gateway
        try:
            yield
        finally:
            for channel in gateway.channels.values():
                await channel.close()
            gateway.database.dispose()

    app = FastAPI(
        title="agentmesh",
        summary="REST/JSON backend for the multi-agent AI platform",
        version="0.1.0",
        lifespan=lifespan,
    )
    install_error_handlers(app)
    for router in (auth, users, projects, agents, messages, conversations, memory, schedules, health):
        app.include_router(router.router)
    # Outermost last: request id binds first, then metrics, then the size limit.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
