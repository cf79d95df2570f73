"""Liveness, readiness and metrics: no auth, and no secrets in them."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentmesh_gateway.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """200 when every dependency is ready, else 503; one check per dependency.

    database, nats, temporal, and the agents, memory, inference (model loaded)
    and scheduler services.
    """
    results = await state.readiness.check()
    ready = bool(results) and all(results.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: "ok" if ok else "unavailable" for name, ok in sorted(results.items())},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics: HTTP requests and latencies by route template and status."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
