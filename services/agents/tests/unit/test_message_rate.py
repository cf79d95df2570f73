"""The per-project message rate: past it SendMessage is refused with a retry time and
nothing is stored or posted; other projects keep their own budget."""

from __future__ import annotations

import pytest

from agentmesh_agents.domain.admission import MessageAdmission
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import Agent, MessageFilter
from agentmesh_core.errors import ResourceExhausted
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

OTHER = "0b7a4c1e-2d3f-4a5b-8c6d-7e8f9a0b1c2d"


async def test_a_project_over_its_message_rate_is_refused_before_anything_is_stored(world) -> None:
    world.messaging = Messaging(
        world.agents, world.messages, world.mailbox, world.events, world.limits, world.clock,
        admission=MessageAdmission("3/minute"),
    )  # fmt: skip
    agent = await world.agent()
    for i in range(3):
        await world.send(agent, f"message {i}")
    posted = len(world.mailbox.posted)

    with pytest.raises(ResourceExhausted, match="too many messages") as refused:
        await world.send(agent, "one too many")
    assert 0 < (refused.value.retry_after or 0) <= 60
    page = await world.messaging.list(world.user, world.project, MessageFilter(), 50, "")
    assert len(page.items) == 3 and len(world.mailbox.posted) == posted

    other_admin = Identity("admin-2", GlobalRole.USER, project_id=OTHER, project_role=ProjectRole.ADMIN)
    elsewhere = await world.registry.create(other_admin, OTHER, Agent(id="", project_id="", name="helper"))
    await world.messaging.send(other_admin, OTHER, Outgoing(agent_id=elsewhere.id, content="fine"))


async def test_no_rate_admits_everything() -> None:
    admission = MessageAdmission(None)
    for _ in range(1000):
        admission.sending("p")
