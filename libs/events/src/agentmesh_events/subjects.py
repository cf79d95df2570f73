"""The subject table: every subject agentmesh uses, its stream and its payload type.

| subjects                                   | payload (protobuf)                    | stream    |
| ------------------------------------------ | ------------------------------------- | --------- |
| am.inbox.<partition>.<project>.<agent>     | agentmesh.agents.v1.Message           | AM_INBOX  |
| am.conv.<project>.<conversation>           | agentmesh.agents.v1.ConversationEvent | AM_EVENTS |
| am.system.<project>                        | agentmesh.common.v1.SystemEvent       | AM_SYSTEM |

`FAMILIES` is that table for code: `family_of(subject)` names the one stream
and payload type of a subject, and tests/contract/test_subjects.py checks that
the streams, the publishers and the consumers agree with it.

Mailboxes are partitioned: an agent always hashes to the same partition, and
one worker owns a partition, so each agent's messages are seen in order while
thousands of agents need only a handful of consumers.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class SubjectFamily:
    """Subjects of one shape: the wildcard that covers them, their stream, their payload."""

    wildcard: str
    stream: str
    # Full name of the protobuf message every message on these subjects holds.
    payload: str

    def covers(self, subject: str) -> bool:
        """Whether a concrete subject belongs to this family (`>` matches one or more tokens)."""
        prefix = self.wildcard.removesuffix(">")
        return subject.startswith(prefix) and len(subject) > len(prefix)


INBOX = SubjectFamily("am.inbox.>", "AM_INBOX", "agentmesh.agents.v1.Message")
# Must not overlap INBOX: a message may be stored by one stream only.
CONVERSATIONS = SubjectFamily("am.conv.>", "AM_EVENTS", "agentmesh.agents.v1.ConversationEvent")
# What went wrong in each project (failed turns, refused tools, stale mailboxes), for the monitor.
SYSTEM = SubjectFamily("am.system.>", "AM_SYSTEM", "agentmesh.common.v1.SystemEvent")
FAMILIES = (INBOX, CONVERSATIONS, SYSTEM)

INBOX_STREAM = INBOX.stream
INBOX_SUBJECTS = INBOX.wildcard
EVENTS_STREAM = CONVERSATIONS.stream
EVENTS_SUBJECTS = CONVERSATIONS.wildcard
SYSTEM_STREAM = SYSTEM.stream
SYSTEM_SUBJECTS = SYSTEM.wildcard


def family_of(subject: str) -> SubjectFamily:
    """The one family a subject belongs to; ValueError for a subject outside the table."""
    matches = [family for family in FAMILIES if family.covers(subject)]
    if len(matches) != 1:
        raise ValueError(f"subject {subject!r} is in {len(matches)} families of the subject table")
    return matches[0]


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


def system_subject(project_id: str) -> str:
    """Where a project's system events are published."""
    return f"am.system.{project_id}"
