"""Liveness, readiness and metrics (no auth, no secrets)."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from agentmesh_gateway.clients import readiness
from agentmesh_gateway.deps import State

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(state: State) -> JSONResponse:
    """Every dependency answers: database, NATS, Temporal, each service (inference = model loaded)."""
    checks = {
        "database": state.database.ping,
        "nats": lambda: readiness.nats_answers(state.settings.nats_url),
        "temporal": readiness.grpc_check(state.channels["temporal"], readiness.TEMPORAL_HEALTH_SERVICE),
    }
    for name, service in readiness.GRPC_SERVICES.items():
        checks[name] = readiness.grpc_check(state.channels[name], service)
    results = await readiness.run_checks(checks)
    ready = all(results.values())
    body = {
        "status": "ready" if ready else "not_ready",
        "checks": {name: "ok" if ok else "unavailable" for name, ok in results.items()},
    }
    return JSONResponse(body, status_code=200 if ready else 503)


@router.get("/metrics")
async def metrics() -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
