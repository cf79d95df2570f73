"""The embedded infrastructure really starts and answers."""

from __future__ import annotations

import nats
import psycopg2
from temporalio.client import Client

from agentmesh_events import bus, subjects


def test_postgres_answers_sql(database_url: str) -> None:
    with psycopg2.connect(database_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_database(), version()")
        name, version = cur.fetchone()
    conn.close()
    assert name.startswith("t_")
    assert "PostgreSQL" in version


async def test_nats_has_jetstream(nats_url: str) -> None:
    nc = await nats.connect(nats_url)  # as the agents service, whose user declares the streams
    try:
        js = nc.jetstream()
        await bus.ensure_streams(js)
        info = await js.stream_info(subjects.INBOX_STREAM)
        assert info.config.subjects == [subjects.INBOX_SUBJECTS]
    finally:
        await nc.close()


async def test_temporal_dev_server_accepts_clients(temporal_address: str) -> None:
    client = await Client.connect(temporal_address, namespace="default")
    result = await client.workflow_service.get_system_info(
        __import__("temporalio.api.workflowservice.v1", fromlist=["x"]).GetSystemInfoRequest()
    )
    assert result.server_version
