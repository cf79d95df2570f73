"""Builds the service's object graph from its adapters (used by main and by tests)."""

from __future__ import annotations

from dataclasses import dataclass

from nats.js import JetStreamContext

from agentmesh_agents.adapters.agent_repository import PostgresAgentRepository
from agentmesh_agents.adapters.mailbox_runtime import MailboxRuntime
from agentmesh_agents.adapters.message_repository import PostgresMessageRepository
from agentmesh_agents.adapters.nats_events import NatsConversationEvents
from agentmesh_agents.adapters.nats_mailbox import NatsMailbox
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.lanes import LaneRunner
from agentmesh_agents.domain.messaging import Messaging
from agentmesh_agents.domain.ports import Inference, Memory
from agentmesh_agents.domain.processor import MessageProcessor
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.recovery import MailboxRecovery
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_agents.rpc.servicer import AgentServicer
from agentmesh_agents.settings import AgentsSettings
from agentmesh_db.database import Database


@dataclass
class Components:
    """Everything main() starts and stops."""

    servicer: AgentServicer
    runtime: MailboxRuntime
    recovery: MailboxRecovery
    messaging: Messaging
    registry: AgentRegistry


def build_components(
    settings: AgentsSettings, db: Database, js: JetStreamContext, inference: Inference, memory: Memory
) -> Components:
    """Wire repositories, bus adapters and service clients into the domain and the servicer."""
    limits = settings.limits()
    agents = PostgresAgentRepository(db)
    messages = PostgresMessageRepository(db)
    events = NatsConversationEvents(js)
    mailbox = NatsMailbox(js, settings.inbox_partitions)
    registry = AgentRegistry(agents, limits)
    messaging = Messaging(agents, messages, mailbox, events, limits)
    processor = MessageProcessor(
        agents, messages, EventPublisher(events), inference, PromptBuilder(messages, memory, limits), limits
    )
    runtime = MailboxRuntime(
        js,
        LaneRunner(processor, limits.heartbeat_seconds),
        partitions=settings.inbox_partitions,
        batch=settings.inbox_fetch_batch,
        ack_wait=settings.ack_wait_seconds,
        max_deliver=settings.max_deliver,
    )
    return Components(
        servicer=AgentServicer(registry, messaging),
        runtime=runtime,
        recovery=MailboxRecovery(messages, messaging, limits),
        messaging=messaging,
        registry=registry,
    )
