"""The FastAPI application: create_app(settings), lifespan wiring, routers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import grpc
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from agentmesh_core.ids import new_id
from agentmesh_core.tokens import AccessTokens
from agentmesh_db.database import Database
from agentmesh_db.migrations import migrate
from agentmesh_db.notifications import Listener
from agentmesh_gateway.access_log import AccessLogMiddleware
from agentmesh_gateway.accounts.api_keys import ApiKeys
from agentmesh_gateway.accounts.login_throttle import LoginThrottle
from agentmesh_gateway.accounts.passwords import Passwords
from agentmesh_gateway.accounts.service import Accounts
from agentmesh_gateway.accounts.stream_tickets import StreamTickets
from agentmesh_gateway.accounts.usage import UsageLedger
from agentmesh_gateway.adapters.access_cache import CHANNEL, AccessCache
from agentmesh_gateway.adapters.accounts_repository import SqlAccountsRepository
from agentmesh_gateway.adapters.api_keys_repository import SqlApiKeyStore, SqlUsageStore
from agentmesh_gateway.adapters.sessions_repository import SqlSessionsRepository
from agentmesh_gateway.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_gateway.adapters.tickets_repository import SqlStreamTicketStore
from agentmesh_gateway.clients.agents import AgentsClient
from agentmesh_gateway.clients.inference import InferenceClient
from agentmesh_gateway.clients.memory import MemoryClient
from agentmesh_gateway.clients.readiness import DependencyProbe
from agentmesh_gateway.clients.scheduler import SchedulerClient
from agentmesh_gateway.clients.tools import ToolsClient
from agentmesh_gateway.docs_pages import install_docs
from agentmesh_gateway.errors import install_error_handlers
from agentmesh_gateway.middleware import (
    AccessSyncMiddleware,
    BodySizeLimitMiddleware,
    MetricsMiddleware,
    RequestContextMiddleware,
)
from agentmesh_gateway.openapi_doc import OPENAPI_TAGS, build_openapi, operation_id
from agentmesh_gateway.routers import (
    agent_tools,
    agents,
    api_keys,
    approvals,
    auth,
    conversations,
    dashboard,
    health,
    jobs,
    llm,
    mcp_servers,
    memory,
    messages,
    openai,
    projects,
    schedules,
    stream_tickets,
    tool_calls,
    tools,
    topics,
    usage,
    users,
    websocket,
)
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_gateway.state import GatewayState
from agentmesh_gateway.tracing_middleware import TracingMiddleware
from agentmesh_grpc.channel import create_channel
from agentmesh_grpc.trust import ServiceKeys

log = logging.getLogger(__name__)

SERVICES = ("agents", "memory", "inference", "scheduler")
CORS_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
CORS_HEADERS = ("Authorization", "Content-Type", "Last-Event-ID", "X-Request-ID")
# How long start-up waits for PostgreSQL before the gateway gives up.
DATABASE_WAIT_SECONDS = 30.0


def build_state(settings: GatewaySettings) -> GatewayState:
    """Wire the real adapters: database, accounts, gRPC channels and clients."""
    signer = ServiceKeys.from_settings("gateway", settings).signer
    channels = {name: create_channel(getattr(settings, f"{name}_service_addr"), signer) for name in SERVICES}
    # Temporal gets a plain channel, used for its health only: our identity tokens are for our services.
    channels["temporal"] = grpc.aio.insecure_channel(settings.temporal_address)
    database = Database(settings.database_url)
    access = AccessCache(settings.access_cache_seconds)
    listener = Listener(database, CHANNEL, access.forget, access.clear)
    access.listen(listener)
    repository = SqlAccountsRepository(database, access)
    tokens = AccessTokens(settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds)
    accounts = Accounts(
        repository,
        tokens,
        settings.allow_user_projects,
        sessions=SqlSessionsRepository(database, access),
        passwords=Passwords(settings.password_hash_threads, settings.password_hash_queue, settings.password_hash_nice),
        throttle=LoginThrottle(
            settings.login_attempts_per_account, settings.login_failures_per_address, settings.rate_limit_storage_uri
        ),
        refresh_ttl_seconds=settings.refresh_token_ttl_seconds,
    )
    return GatewayState(
        settings=settings,
        database=database,
        repository=repository,
        accounts=accounts,
        agents=AgentsClient(channels["agents"]),
        memory=MemoryClient(channels["memory"]),
        scheduler=SchedulerClient(channels["scheduler"]),
        tools=ToolsClient(channels["agents"]),
        readiness=DependencyProbe(
            database, channels, settings.nats_url, (settings.nats_user, settings.nats_password.get_secret_value())
        ),
        inference=InferenceClient(channels["inference"], signer),
        api_keys=ApiKeys(SqlApiKeyStore(database), new_id),
        usage=UsageLedger(SqlUsageStore(database)),
        stream_tickets=StreamTickets(
            SqlStreamTicketStore(database), accounts.sessions, settings.stream_ticket_ttl_seconds
        ),
        channels=channels,
        access=access,
        access_listener=listener,
    )


async def prepare(state: GatewayState) -> None:
    """Migrate the gateway schema (waiting for the database) and bootstrap the first superadmin."""
    await migrate(state.database, MIGRATIONS_DIR, SCHEMA, timeout=DATABASE_WAIT_SECONDS)
    if state.access_listener is not None:
        state.access_listener.start()  # until it listens, access is read from the database each time
    settings = state.settings
    await state.accounts.bootstrap_admin(settings.admin_username, settings.admin_password.get_secret_value())


def create_app(
    settings: GatewaySettings,
    state_factory: Callable[[GatewaySettings], GatewayState] = build_state,
    on_ready: Callable[[], None] | None = None,
) -> FastAPI:
    """The gateway app; the lifespan builds its state (tests pass a factory with fakes).

    `on_ready` runs once the state is prepared, before the first request is served.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = state_factory(settings)
        try:
            await prepare(state)
            app.state.gateway = state
            if on_ready is not None:
                on_ready()
            log.info("gateway ready to serve on %s:%d", settings.gateway_host, settings.gateway_port)
            yield
        finally:
            await state.close()

    app = FastAPI(
        title="agentmesh",
        summary="REST/JSON backend for the multi-agent AI platform",
        version="0.1.0",
        lifespan=lifespan,
        # Served by the gateway itself (docs_pages.py), never from a CDN.
        docs_url=None,
        redoc_url=None,
        openapi_tags=OPENAPI_TAGS,
        generate_unique_id_function=operation_id,
    )
    app.openapi = lambda: build_openapi(app)  # type: ignore[method-assign]
    install_docs(app)
    install_error_handlers(app)
    for module in (auth, users, projects, agents, messages, conversations, memory, schedules, jobs, health,
                   api_keys, usage, llm, openai):  # fmt: skip
        app.include_router(module.router)
    for module in (mcp_servers, tools, agent_tools, tool_calls, approvals):
        app.include_router(module.router)
    for module in (stream_tickets, websocket, dashboard, topics):
        app.include_router(module.router)
    # Added innermost first: a request meets the request id, the start of its access sync, its span,
    # then the access log, then CORS (preflights end there), then metrics, then the size limit.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_allowed_origins or [],
        allow_credentials=settings.cors_allow_credentials,
        allow_methods=list(CORS_METHODS),
        allow_headers=list(CORS_HEADERS),
        expose_headers=["X-Request-ID", "Retry-After", "Location"],
        max_age=settings.cors_max_age_seconds,
    )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(TracingMiddleware)  # a span per request when tracing is on
    app.add_middleware(AccessSyncMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
