"""publish_to_topic: one message to every agent of the project subscribed to a topic.

The project and the sending agent come from the call context, never from the
arguments; the agent itself is left out of its own fan-out. The turn's step keys
the publication, so a step run again (a redelivered turn) delivers nothing twice.
"""

from __future__ import annotations

from typing import Any

from agentmesh_agents.domain.tooling import NO_CONFIG, CallContext, Observation, config_by_schema
from agentmesh_agents.domain.topics import Topics

CONTENT_MAX_CHARS = 8000
IDS_SHOWN = 10  # message ids named in the observation


class PublishToTopic:
    """Publishes a text to a project topic; subscribers answer in conversations of their own."""

    name = "publish_to_topic"
    description = (
        "Send a message to every agent of the project subscribed to a topic; "
        "returns how many received it. Their answers do not come back to this turn."
    )
    restricted = False
    requires_approval = False

    def __init__(self, topics: Topics) -> None:
        self._topics = topics
        self.parameters: dict[str, Any] = {
            "type": "object",
            "properties": {
                "topic": {"type": "string", "minLength": 1, "maxLength": topics.limits.topic_max_length},
                "content": {"type": "string", "minLength": 1, "maxLength": CONTENT_MAX_CHARS},
            },
            "required": ["topic", "content"],
            "additionalProperties": False,
        }

    def validate_config(self, config: dict[str, Any]) -> dict[str, Any]:
        return config_by_schema(NO_CONFIG, config, self.name)

    async def run(self, call: CallContext, arguments: dict[str, Any], config: dict[str, Any]) -> Observation:
        topic = arguments["topic"]
        sent = await self._topics.publish_from_agent(
            call.project_id,
            call.agent_id,
            call.message_id,
            topic,
            arguments["content"],
            key=f"step:{call.message_id}:{call.step}",
        )
        if not sent:
            return Observation(f"no agent is subscribed to {topic!r}; nothing was sent")
        ids = ", ".join(message.id for message in sent[:IDS_SHOWN]) + (", ..." if len(sent) > IDS_SHOWN else "")
        return Observation(f"sent to {len(sent)} subscriber(s) of {topic!r} (messages {ids})")
