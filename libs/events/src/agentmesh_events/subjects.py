"""The subject table: every subject agentmesh uses, and the stream that keeps it.

| subject                                    | payload                          | stream    |
| ------------------------------------------ | -------------------------------- | --------- |
| am.inbox.<partition>.<project>.<agent>     | agentmesh.agents.v1.Message      | AM_INBOX  |
| am.conv.<project>.<conversation>           | agentmesh.agents.v1.ConversationEvent | AM_EVENTS |

Mailboxes are partitioned: an agent always hashes to the same partition, and
one worker owns a partition, so each agent's messages are seen in order while
thousands of agents need only a handful of consumers.
"""

from __future__ import annotations

import zlib

INBOX_STREAM = "AM_INBOX"
INBOX_SUBJECTS = "am.inbox.>"
EVENTS_STREAM = "AM_EVENTS"
EVENTS_SUBJECTS = "am.conv.>"  # must not overlap INBOX_SUBJECTS ("am.inbox.>")


def inbox_partition(agent_id: str, partitions: int) -> int:
    """The partition an agent's mailbox lives in (stable across processes)."""
    return zlib.crc32(agent_id.encode()) % partitions


def inbox_subject(project_id: str, agent_id: str, partitions: int) -> str:
    """Where messages for an agent are published."""
    return f"am.inbox.{inbox_partition(agent_id, partitions)}.{project_id}.{agent_id}"


def inbox_partition_filter(partition: int) -> str:
    """The filter subject of the consumer that owns a partition."""
    return f"am.inbox.{partition}.>"


def conversation_subject(project_id: str, conversation_id: str) -> str:
    """Where a conversation's events are published."""
    return f"am.conv.{project_id}.{conversation_id}"


def project_conversations_filter(project_id: str) -> str:
    """Every conversation event of a project (for purges)."""
    return f"am.conv.{project_id}.*"
