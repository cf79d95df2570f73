"""Composition root: `python -m agentmesh_gateway` serves; `create-admin` makes a superadmin."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from agentmesh_core.errors import AlreadyExists
from agentmesh_core.identity import GlobalRole
from agentmesh_db.database import Database
from agentmesh_gateway.accounts.passwords import hash_password
from agentmesh_gateway.accounts.repository import AccountsRepository
from agentmesh_gateway.app import create_app
from agentmesh_gateway.settings import GatewaySettings
from agentmesh_observability.logging import configure_logging

log = logging.getLogger("agentmesh_gateway")


def serve(settings: GatewaySettings) -> None:
    app = create_app(settings)
    uvicorn.run(
        app,
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,  # our JSON logging, configured once
        access_log=False,
        timeout_graceful_shutdown=5,
    )


async def create_admin(settings: GatewaySettings, username: str, password: str) -> int:
    database = Database(settings.database_url)
    accounts = AccountsRepository(database)
    try:
        accounts.migrate()
        await accounts.create_user(username, await hash_password(password), GlobalRole.SUPERADMIN)
    except AlreadyExists:
        log.error("user %r already exists", username)
        return 1
    finally:
        database.dispose()
    log.info("created superadmin %r", username)
    return 0


def run() -> None:
    parser = argparse.ArgumentParser(prog="python -m agentmesh_gateway")
    sub = parser.add_subparsers(dest="command")
    admin = sub.add_parser("create-admin", help="create a superadmin account")
    admin.add_argument("--username", required=True)
    admin.add_argument("--password", required=True)
    args = parser.parse_args()

    settings = GatewaySettings()
    configure_logging("gateway", settings.log_level)
    if args.command == "create-admin":
        if len(args.password) < 8:
            parser.error("--password must be at least 8 characters")
        sys.exit(asyncio.run(create_admin(settings, args.username, args.password)))
    serve(settings)
