"""The monitor in the running service, over real PostgreSQL and NATS, with two replicas.

Failed turns of the real runtime become system events on JetStream; two monitors
(two replicas' object graphs over one database and one bus) both read them, and
exactly one alert lands in the monitoring conversation and one pause happens.
The daily summary request goes through the monitoring agent's real turn: the
(scripted) model's reply, the summary, lands in the same conversation.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime

from prometheus_client import REGISTRY

from agentmesh_agents.adapters.fakes import StaticMemory
from agentmesh_agents.domain.messaging import Outgoing
from agentmesh_agents.domain.models import Agent, AgentStatus, MessageFilter, MessageStatus
from agentmesh_agents.domain.monitoring.alerts import ALERT_PERFORMATIVE
from agentmesh_agents.domain.monitoring.summary import SUMMARY_PERFORMATIVE
from agentmesh_agents.domain.ports import ChatTurn
from agentmesh_agents.settings import AgentsSettings
from agentmesh_agents.wiring import Components, build_components
from agentmesh_core.errors import InvalidInput
from agentmesh_core.identity import GlobalRole, Identity
from agentmesh_db.database import Database
from agentmesh_devstack.waiting import eventually


def _model(turns: Sequence[ChatTurn]) -> Sequence[str | BaseException]:
    """Refuses every request that starts with "fail"; answers the rest (the summary) with what it was given."""
    last = turns[-1].content
    return [InvalidInput("the model refused")] if last.startswith("fail") else ["Summary: ", last]


@contextlib.asynccontextmanager
async def _replica(service, migrated_database_url: str, nats_url: str) -> AsyncIterator[Components]:
    """A second replica's object graph over the same database and bus, its monitor running."""
    settings = AgentsSettings(database_url=migrated_database_url, nats_url=nats_url, inbox_partitions=2)
    db = Database(migrated_database_url, pool_size=2)
    components = build_components(settings, db, service.js, service.inference, StaticMemory())
    stop = asyncio.Event()
    task = asyncio.create_task(components.monitoring.monitor.run(components.monitoring.feed, stop))
    try:
        yield components
    finally:
        stop.set()
        await task
        db.dispose()


async def _messages(components: Components, project: str, conversation: str) -> list:
    page = await components.messaging.list(_root(), project, MessageFilter(conversation_id=conversation), 100, "")
    return page.items


def _root() -> Identity:
    return Identity("root", GlobalRole.SUPERADMIN)


async def test_two_replicas_one_alert_one_pause_and_the_summary_phrased_by_the_monitoring_agent(
    service, migrated_database_url: str, nats_url: str
) -> None:
    service.inference.script[:] = [_model]
    components = service.components
    monitor = await components.registry.create(
        service.admin,
        service.project,
        Agent("", "", "monitor", agent_type="monitor", model_config={"pause_offenders": True}),
    )
    worker = await components.registry.create(service.admin, service.project, Agent("", "", "worker"))
    alerts_before, reported_before = _sample(ALERT_SERIES), _sample(REPORTED_SERIES)

    replicas = (_replica(service, migrated_database_url, nats_url), _replica(service, migrated_database_url, nats_url))
    async with replicas[0] as one, replicas[1] as two:
        sent = [
            await components.messaging.send(service.admin, service.project, Outgoing(worker.id, f"fail {n}"))
            for n in range(5)
        ]

        async def failed() -> bool:
            page = await components.messaging.list(service.admin, service.project, MessageFilter(), 100, "")
            by_id = {m.id: m for m in page.items}
            return all(by_id[m.id].status is MessageStatus.ERROR for m in sent)

        await eventually(failed, timeout=30, what="five failed turns")
        alerts = await eventually(
            lambda: _alerts(components, service.project, monitor.id), timeout=30, what="the monitoring alert"
        )
        await eventually(
            lambda: _paused(components, service.admin, service.project, worker.id), timeout=10, what="the pause"
        )
        # Both replicas have counted the five failures: the second one's trip found the alert already there.
        for replica in (one, two):
            await eventually(lambda r=replica: _counted(r, service.project) == 5, timeout=10, what="both counting")

        # The daily summary: both replicas send it; one request, answered by the monitoring agent's turn.
        now = datetime.now(UTC)
        (request,) = [m for m in await one.monitoring.summary.send(now) if m.project_id == service.project]
        (again,) = [m for m in await two.monitoring.summary.send(now) if m.project_id == service.project]
        assert again.id == request.id and request.performative == SUMMARY_PERFORMATIVE
        assert "- turn_failed: 5 (worker: 5)" in request.content

        async def replied() -> list:
            return [m for m in await _messages(components, service.project, monitor.id) if m.parent_id == request.id]

        (reply,) = await eventually(replied, timeout=30, what="the monitoring agent's summary")
        assert reply.content.startswith("Summary: ") and "turn_failed: 5" in reply.content
    assert len(alerts) == 1 and len(await _alerts(components, service.project, monitor.id)) == 1
    assert alerts[0].content["alert"]["agent_id"] == worker.id and alerts[0].content["alert"]["paused"] is True
    assert "the model refused" in alerts[0].content["alert"]["detail"]
    # The figures: one alert posted across both replicas (they share this process's registry), five failures reported.
    assert _sample(ALERT_SERIES) - alerts_before == 1
    assert _sample(REPORTED_SERIES) - reported_before == 5


ALERT_SERIES = ("agentmesh_agents_monitor_alerts_total", {"kind": "turn_failed", "paused": "true"})
REPORTED_SERIES = ("agentmesh_agents_system_events_reported_total", {"kind": "turn_failed"})


def _sample(series: tuple[str, dict[str, str]]) -> float:
    return REGISTRY.get_sample_value(*series) or 0.0


async def _alerts(components: Components, project: str, conversation: str) -> list:
    return [m for m in await _messages(components, project, conversation) if m.performative == ALERT_PERFORMATIVE]


def _counted(replica: Components, project: str) -> int:
    figures = replica.monitoring.monitor.tally.figures(project, datetime(2000, 1, 1, tzinfo=UTC))
    return sum(sum(per_agent.values()) for per_agent in figures.values())


async def _paused(components: Components, who, project: str, agent_id: str) -> bool:
    return (await components.registry.get(who, project, agent_id)).status is AgentStatus.PAUSED
