"""Readiness probes against the real NATS, Temporal and PostgreSQL, and with everything down."""

from __future__ import annotations

import time

import grpc
import httpx

from agentmesh_db.database import Database
from agentmesh_devstack.infra import NatsServer
from agentmesh_gateway.app import create_app
from agentmesh_gateway.clients.readiness import TEMPORAL_HEALTH_SERVICE, DependencyProbe, nats_handshake
from agentmesh_grpc.channel import check_health


async def test_nats_handshake_against_a_real_server(nats_url: str) -> None:
    assert await nats_handshake(nats_url)
    assert await nats_handshake(f"nats://127.0.0.1:9,{nats_url}")  # any server of a list
    started = time.monotonic()
    assert not await nats_handshake("nats://127.0.0.1:9")
    assert time.monotonic() - started < 1


async def test_nats_handshake_as_the_gateway_user(nats_server: NatsServer) -> None:
    user, password = nats_server.service_env("gateway").values()
    assert await nats_handshake(nats_server.url, user=user, password=password)
    assert not await nats_handshake(nats_server.url)  # the server has no anonymous users
    assert not await nats_handshake(nats_server.url, user=user, password="wrong")


async def test_temporal_frontend_health(temporal_address: str) -> None:
    async with grpc.aio.insecure_channel(temporal_address) as channel:
        assert await check_health(channel, TEMPORAL_HEALTH_SERVICE)


async def test_probe_reports_each_dependency(database_url: str, nats_url: str, temporal_address: str) -> None:
    database = Database(database_url, pool_size=1)
    channels = {name: grpc.aio.insecure_channel("127.0.0.1:9") for name in ("agents", "memory", "inference",
                                                                            "scheduler")}  # fmt: skip
    channels["temporal"] = grpc.aio.insecure_channel(temporal_address)
    try:
        started = time.monotonic()
        results = await DependencyProbe(database, channels, nats_url).check()
        assert time.monotonic() - started < 4
    finally:
        for channel in channels.values():
            await channel.close()
        database.dispose()
    assert results == {"database": True, "nats": True, "temporal": True, "agents": False, "memory": False,
                       "inference": False, "scheduler": False}  # fmt: skip


async def test_with_its_database_down_the_gateway_is_not_ready(settings) -> None:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        app.state.gateway.database.dispose()
        app.state.gateway.database = Database("postgresql://postgres@127.0.0.1:9/nothing", pool_size=1)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway") as api:
            started = time.monotonic()
            ready = await api.get("/readyz")
            assert time.monotonic() - started < 4
    assert ready.status_code == 503 and ready.json()["checks"]["database"] == "unavailable"


async def test_with_every_service_down_the_gateway_answers_503_quickly(settings, admin_headers_for) -> None:
    app = create_app(settings.model_copy(update={"nats_url": "nats://127.0.0.1:9", "temporal_address": "127.0.0.1:9"}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as api:
            started = time.monotonic()
            ready = await api.get("/readyz/dependencies")
            assert ready.status_code == 503
            assert ready.json()["checks"]["database"] == "ok" and ready.json()["checks"]["agents"] == "unavailable"
            # The gateway itself can serve: its own readiness stays 200 (no cascade).
            assert (await api.get("/readyz")).status_code == 200
            admin = await admin_headers_for(api)
            project = (await api.post("/projects", headers=admin, json={"name": "p"})).json()["id"]
            for method, path in (("GET", f"/projects/{project}/agents"), ("GET", f"/projects/{project}/memory"),
                                 ("GET", f"/projects/{project}/schedules")):  # fmt: skip
                response = await api.request(method, path, headers=admin)
                assert response.status_code == 503, (path, response.text)
                assert response.json()["error"]["code"] == "unavailable"
            # A project delete that cannot purge the services keeps the project (retry later).
            assert (await api.delete(f"/projects/{project}", headers=admin)).status_code == 503
            assert (await api.get(f"/projects/{project}", headers=admin)).status_code == 200
            assert time.monotonic() - started < 10
