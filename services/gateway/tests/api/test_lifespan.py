"""The app's start-up hook: `on_ready` runs once the state is prepared, before any request."""

from __future__ import annotations

from fastapi import FastAPI

from agentmesh_gateway.app import create_app
from agentmesh_gateway.settings import GatewaySettings

from ..conftest import with_fakes


async def test_on_ready_runs_once_after_the_state_is_prepared(settings: GatewaySettings) -> None:
    seen: list[bool] = []
    app: FastAPI

    def ready() -> None:
        seen.append(hasattr(app.state, "gateway"))

    app = create_app(settings, with_fakes, on_ready=ready)
    assert seen == []
    async with app.router.lifespan_context(app):
        assert seen == [True]
    assert seen == [True]
