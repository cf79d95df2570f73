"""Publishing to project topics: the fan-out to every subscribed agent."""

from __future__ import annotations

from fastapi import APIRouter, status

from agentmesh_gateway.deps import AgentsDep, Scope
from agentmesh_gateway.schemas.topics import TopicDelivery, TopicMessageIn, TopicName, TopicPublished

router = APIRouter(prefix="/projects/{project_id}", tags=["messages"])


@router.post("/topics/{topic}/messages", response_model=TopicPublished, status_code=status.HTTP_202_ACCEPTED)
async def publish_to_topic(topic: TopicName, body: TopicMessageIn, scope: Scope, agents: AgentsDep) -> TopicPublished:
    """Queue one message in the mailbox of every agent of the project subscribed to the topic.

    Replies arrive on each delivery's conversation. A topic nobody subscribes to answers
    with no deliveries. The same `idempotency_key` sent again delivers nothing twice.
    """
    with scope.acting():
        sent = await agents.publish_to_topic(scope.project.id, topic, body)
    deliveries = [
        TopicDelivery(message_id=m.id, agent_id=m.receiver.id, conversation_id=m.conversation_id, status=m.status)
        for m in sent
    ]
    return TopicPublished(topic=topic, message_ids=[d.message_id for d in deliveries], deliveries=deliveries)
