"""Composition root: `python -m agentmesh_gateway [serve]` serves the API;
`python -m agentmesh_gateway create-admin --username X --password Y` makes a superadmin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from agentmesh_core.errors import AgentmeshError, AlreadyExists
from agentmesh_core.gc_heap import freeze_startup_heap
from agentmesh_core.identity import GlobalRole
from agentmesh_core.parent_watch import stop_with_parent
from agentmesh_core.settings import load_settings
from agentmesh_core.tokens import AccessTokens
from agentmesh_db.database import Database
from agentmesh_db.migrations import migrate
from agentmesh_gateway.accounts.service import Accounts
from agentmesh_gateway.adapters.accounts_repository import SqlAccountsRepository
from agentmesh_gateway.adapters.tables import MIGRATIONS_DIR, SCHEMA
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_observability.logging import configure_logging
from agentmesh_observability.tracing import configure_tracing, shutdown_tracing

log = logging.getLogger("agentmesh_gateway")

MIN_PASSWORD_LENGTH = 8


def serve(settings: GatewaySettings) -> None:
    """Run the API with uvicorn until SIGINT/SIGTERM (graceful: in-flight requests finish)."""
    # Imported here, once the settings are valid: the web stack is most of the start-up time.
    import uvicorn

    from agentmesh_gateway.app import create_app
    from agentmesh_gateway.http_limits import server_options

    uvicorn.run(
        # The process's start-up heap is frozen once the app is ready (agentmesh_core.gc_heap).
        create_app(settings, on_ready=freeze_startup_heap),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,  # keep our JSON logging; uvicorn's own lines go through it
        access_log=False,  # the app logs one JSON access line per request (access_log.py)
        # The client address (login throttling) comes from X-Forwarded-For only when the
        # peer is a trusted proxy (uvicorn's --forwarded-allow-ips, default 127.0.0.1).
        proxy_headers=True,
        timeout_graceful_shutdown=5,
        loop="uvloop",  # as every service process runs (agentmesh_grpc.entry)
        **server_options(settings.max_header_bytes, settings.max_header_count),
    )


async def create_admin(settings: GatewaySettings, username: str, password: str) -> int:
    """Create a superadmin account; exit status 1 when the username is taken."""
    database = Database(settings.database_url, pool_size=1)
    repository = SqlAccountsRepository(database)
    tokens = AccessTokens(settings.jwt_secret.get_secret_value(), settings.access_token_ttl_seconds)
    accounts = Accounts(repository, tokens, settings.allow_user_projects)
    try:
        # One attempt, no waiting: an operator runs this by hand against a running database.
        await migrate(database, MIGRATIONS_DIR, SCHEMA, timeout=0)
        await accounts.create_user(username, password, GlobalRole.SUPERADMIN)
    except TimeoutError:
        log.error("could not create user %r: database unavailable", username)
        return 1
    except AlreadyExists:
        log.error("user %r already exists", username)
        return 1
    except AgentmeshError as error:
        log.error("could not create user %r: %s", username, error.message)
        return 1
    finally:
        database.dispose()
    log.info("created superadmin %r", username)
    return 0


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="python -m agentmesh_gateway", description="the agentmesh REST gateway")
    commands = cli.add_subparsers(dest="command")
    commands.add_parser("serve", help="serve the REST API (the default)")
    admin = commands.add_parser("create-admin", help="create a superadmin account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", required=True)
    return cli


def run(argv: list[str] | None = None) -> None:
    """The entry point of `python -m agentmesh_gateway`."""
    cli = parser()
    args = cli.parse_args(argv)
    configure_logging("gateway")
    settings = load_settings(GatewaySettings)
    configure_logging("gateway", settings.log_level)
    if args.command == "create-admin":
        if len(args.password) < MIN_PASSWORD_LENGTH:
            cli.error(f"--password must be at least {MIN_PASSWORD_LENGTH} characters")
        sys.exit(asyncio.run(create_admin(settings, args.username, args.password)))
    configure_tracing("gateway")
    stop_with_parent(settings.stop_with_parent_pid)
    try:
        serve(settings)
    finally:
        shutdown_tracing()
