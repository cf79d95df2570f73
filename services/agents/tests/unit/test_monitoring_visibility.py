"""The monitoring conversation is the admins': other members neither list nor watch it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from agentmesh_agents.adapters.fakes import (
    InMemoryAgentRepository,
    InMemoryConversationEvents,
    InMemoryMailbox,
    InMemoryMessageRepository,
)
from agentmesh_agents.adapters.monitor_fakes import InMemoryMonitorAgents
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import Agent, MessageFilter
from agentmesh_agents.domain.monitoring.alerts import ALERT_PERFORMATIVE, Alerts
from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind
from agentmesh_agents.domain.monitoring.rules import Rule, Trip
from agentmesh_core.errors import NotFound
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id

PROJECT = "7a0c7d51-7a8f-4a43-9d1e-0b6f0f3c2a11"
ADMIN = Identity("admin-1", GlobalRole.USER, PROJECT, ProjectRole.ADMIN)
MEMBER = Identity("user-1", GlobalRole.USER, PROJECT, ProjectRole.USER)
ROOT = Identity("root", GlobalRole.SUPERADMIN)
NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
async def project():
    agents = InMemoryAgentRepository()
    messages = InMemoryMessageRepository(agents)
    monitors = InMemoryMonitorAgents(agents)
    events = InMemoryConversationEvents()
    messaging = Messaging(agents, messages, InMemoryMailbox(), events, Limits(), monitors=monitors)
    worker = await agents.add(Agent(new_id(), PROJECT, "worker", created_at=NOW))
    monitor = await agents.add(Agent(new_id(), PROJECT, "monitor", agent_type="monitor", created_at=NOW))
    rule = Rule(SystemEventKind.TURN_FAILED, 1, timedelta(minutes=10))
    event = SystemEvent("e-1", SystemEventKind.TURN_FAILED, PROJECT, NOW, worker.id, detail="boom")
    await Alerts(monitors, agents, messages).raise_alert(Trip(rule, event, 1, 0))
    chat = await messaging.send(MEMBER, PROJECT, Outgoing(worker.id, "hello"))
    return messaging, monitor, chat


async def _listed(messaging: Messaging, who: Identity, where: MessageFilter) -> list[str]:
    return [m.performative for m in (await messaging.list(who, PROJECT, where, 100, "")).items]


async def test_admins_read_the_monitoring_conversation(project) -> None:
    messaging, monitor, _ = project
    for who in (ADMIN, ROOT):
        assert await _listed(messaging, who, MessageFilter(conversation_id=monitor.id)) == [ALERT_PERFORMATIVE]
        assert ALERT_PERFORMATIVE in await _listed(messaging, who, MessageFilter())
    watched = await messaging.watch(ADMIN, PROJECT, monitor.id, 0)
    await watched.aclose()


async def test_other_members_see_the_rest_of_the_log_but_not_it(project) -> None:
    messaging, monitor, chat = project
    assert await _listed(messaging, MEMBER, MessageFilter(conversation_id=monitor.id)) == []
    assert await _listed(messaging, MEMBER, MessageFilter(agent_id=monitor.id)) == []
    assert await _listed(messaging, MEMBER, MessageFilter()) == ["request"]
    assert await _listed(messaging, MEMBER, MessageFilter(conversation_id=chat.conversation_id)) == ["request"]
    with pytest.raises(NotFound):
        await messaging.watch(MEMBER, PROJECT, monitor.id, 0)
