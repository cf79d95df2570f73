"""Liveness, readiness and metrics: no auth, and no secrets in them.

/readyz answers for the gateway's own ability to serve (its database and its
channels), so a dependency's outage or rollout does not take every gateway pod
out of its Service; /readyz/dependencies reports every dependency.
"""

from __future__ import annotations

import asyncio
import logging

import grpc
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentmesh_gateway.deps import State

log = logging.getLogger(__name__)
router = APIRouter(tags=["health"])

OWN_CHECK_TIMEOUT = 2.0


def _readiness(results: dict[str, bool]) -> JSONResponse:
    ready = bool(results) and all(results.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: "ok" if ok else "unavailable" for name, ok in sorted(results.items())},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """200 when the gateway itself can serve (its database answers, its channels are open), else 503.

    A service being down is not the gateway's unreadiness: routes that need it
    answer 503 on their own, and everything else keeps working.
    """
    try:
        async with asyncio.timeout(OWN_CHECK_TIMEOUT):
            database = await state.database.ping()
    except Exception as error:  # noqa: BLE001 - a probe answers; it does not raise
        log.warning("readiness: database check failed: %s", type(error).__name__)
        database = False
    channels = all(
        channel.get_state(try_to_connect=False) is not grpc.ChannelConnectivity.SHUTDOWN
        for channel in state.channels.values()
    )
    return _readiness({"database": database is True, "channels": channels})


@router.get("/readyz/dependencies")
async def readyz_dependencies(state: State) -> JSONResponse:
    """200 when every dependency is ready, else 503; one check per dependency.

    database, nats, temporal, and the agents, memory, inference (model loaded)
    and scheduler services.
    """
    return _readiness(await state.readiness.check())


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics: HTTP requests and latencies by route template and status."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
