"""SqlQueueDepth counts messages to agents that are queued or processing, per project and in all."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.queue_depth import SqlQueueDepth
from agentmesh_agents.domain.models import Agent, Message, MessageStatus, Participant, ParticipantType
from agentmesh_db.database import Database

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


async def _agent(db: Database, project: str) -> str:
    agent = Agent(id=str(uuid.uuid4()), project_id=project, name=f"a-{uuid.uuid4()}", created_at=NOW, updated_at=NOW)
    return (await SqlAgentRepository(db).add(agent)).id


def _to(agent_id: str, project: str) -> Message:
    return Message(
        id=str(uuid.uuid4()),
        project_id=project,
        conversation_id=str(uuid.uuid4()),
        sender=Participant(ParticipantType.USER, "user-1"),
        receiver=Participant(ParticipantType.AGENT, agent_id),
        content="hello",
        created_at=NOW,
        updated_at=NOW,
    )


async def test_unanswered_messages_per_project_and_in_all(db: Database) -> None:
    mine, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    depth = SqlQueueDepth(db)
    before_mine, before_all = await depth.unanswered(mine)
    assert before_mine == 0

    repository = SqlMessageRepository(db)
    my_agent, their_agent = await _agent(db, mine), await _agent(db, theirs)
    sent = [(await repository.add(_to(my_agent, mine)))[0] for _ in range(4)]
    await repository.add(_to(their_agent, theirs))
    await repository.set_status(mine, sent[0].id, MessageStatus.PROCESSING)  # still unanswered
    await repository.set_status(mine, sent[1].id, MessageStatus.COMPLETE)
    await repository.set_status(mine, sent[2].id, MessageStatus.AWAITING_APPROVAL)  # waits for a person

    assert await depth.unanswered(mine) == (2, before_all + 3)
    assert (await depth.unanswered(theirs))[0] == 1
