"""How many database transactions one message costs, on the real PostgreSQL repositories.

SendMessage, then one delivery processed into a reply (with history and memory
in the prompt). Before the message path was straightened it cost 10 (send 3,
processing 7), then 6 (send 3, processing 3); then a send in the second after the
backlog's last count, far from the limits, did not count again: 5; now the read of
the delivery's state also begins the turn: 4. The statements processing runs are
counted too: 7, then 4 (the grants read only for an agent that has some, the
history read with the turn's start, the request completed before the reply is
stored, with no separate lock). The counts are pinned so a change that adds a
round trip fails here. The store of a send is one statement: the insert's condition
checks that the agent exists (it was a look-up, then the insert). Work of one write
runs without a transaction (autocommit): a transaction's BEGIN and COMMIT are round
trips of their own, so a send cost 3 round trips before its answer and processing 8;
then 1 and 6, the reply's store and the request's completion the one transaction left;
now 1 and 3: the request is completed and its reply stored in one statement.
"""

from __future__ import annotations

from sqlalchemy import event

from agentmesh_agents.adapters.agent_repository import SqlAgentRepository
from agentmesh_agents.adapters.fakes import InMemoryConversationEvents, InMemoryMailbox, StaticMemory
from agentmesh_agents.adapters.message_repository import SqlMessageRepository
from agentmesh_agents.adapters.queue_depth import SqlQueueDepth
from agentmesh_agents.adapters.scripted_inference import ScriptedInference
from agentmesh_agents.domain.backlog import Backlog
from agentmesh_agents.domain.events import EventPublisher
from agentmesh_agents.domain.limits import Limits
from agentmesh_agents.domain.messaging import Messaging, Outgoing
from agentmesh_agents.domain.models import Agent, MessageStatus
from agentmesh_agents.domain.processor import Delivery, MessageProcessor
from agentmesh_agents.domain.prompt import PromptBuilder
from agentmesh_agents.domain.registry import AgentRegistry
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole
from agentmesh_core.ids import new_id

# Sending: store the message (one statement, the agent checked in its condition), then mark it
# published once SendMessage has answered, each without a transaction. The unanswered messages
# (back-pressure) were counted by the send before, within the second.
SEND_STATEMENTS = 2
STORE_STATEMENTS = 1  # before the answer: the mark is written off the sender's path
SEND_TRANSACTIONS = 0
# Processing: the delivery's state (with whether the agent has grants); mark processing with the
# history; complete the request and store the reply. Each one statement, without a transaction.
PROCESS_STATEMENTS = 3
PROCESS_TRANSACTIONS = 0


def round_trips(statements: int, transactions: int) -> int:
    return statements + 2 * transactions  # a transaction's BEGIN and COMMIT


class TransactionCounter:
    """Counts the transactions the driver begins (not in autocommit) and commits, and the statements run."""

    def __init__(self, engine) -> None:
        self.begun = 0
        self.committed = 0
        self.statements = 0
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._commit)
        event.listen(engine, "before_cursor_execute", self._statement)

    def _statement(self, *_args) -> None:
        self.statements += 1

    def _begin(self, connection) -> None:
        if not connection.connection.dbapi_connection.autocommit:
            self.begun += 1

    def _commit(self, _connection) -> None:
        self.committed += 1


async def test_one_message_costs_no_transaction_and_five_round_trips(db):
    limits = Limits()
    agents, messages = SqlAgentRepository(db), SqlMessageRepository(db)
    events, mailbox = InMemoryConversationEvents(), InMemoryMailbox()
    project = new_id()
    admin = Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN)
    agent = await AgentRegistry(agents, limits).create(admin, project, Agent(id="", project_id="", name="helper"))
    messaging = Messaging(
        agents, messages, mailbox, events, limits, backlog=Backlog(SqlQueueDepth(db), limits, clock=lambda: 0.0)
    )  # a frozen clock: still trusted
    inference = ScriptedInference.echo()
    processor = MessageProcessor(
        messages, EventPublisher(events), inference, PromptBuilder(StaticMemory(["fact"]), limits), limits
    )
    first = await messaging.send(admin, project, Outgoing(agent_id=agent.id, content="earlier turn"))
    await processor.process(Delivery(project, agent.id, first.id))
    # The first send's mark is written off its path: on a busy machine it could land in the counted window.
    await messaging.settle()

    counter = TransactionCounter(db.engine)
    sent = await messaging.send(
        admin, project, Outgoing(agent_id=agent.id, content="ping", conversation_id=first.conversation_id)
    )
    answered = round_trips(counter.statements, counter.begun)
    await messaging.settle()
    sending = (counter.statements, counter.begun)
    mailbox.take()
    await processor.process(Delivery(project, agent.id, sent.id))
    processing = (counter.statements - sending[0], counter.begun - sending[1])
    committed = counter.committed

    assert (await messages.get(project, sent.id)).status is MessageStatus.COMPLETE
    assert [turn.content for turn in inference.calls[-1].turns[1:]] == ["earlier turn", "echo: earlier turn", "ping"]
    assert answered == round_trips(STORE_STATEMENTS, 0) == 1
    assert sending == (SEND_STATEMENTS, SEND_TRANSACTIONS)
    assert processing == (PROCESS_STATEMENTS, PROCESS_TRANSACTIONS)
    assert round_trips(*processing) == 3
    assert committed == SEND_TRANSACTIONS + PROCESS_TRANSACTIONS


async def test_the_agent_registrys_reads_and_writes_are_one_round_trip_each(db):
    """ListAgents, GetAgent and the rest are one statement each: no BEGIN and COMMIT around them."""
    agents = SqlAgentRepository(db)
    registry = AgentRegistry(agents, Limits())
    project = new_id()
    admin = Identity("admin-1", GlobalRole.USER, project, ProjectRole.ADMIN)
    agent = await registry.create(admin, project, Agent(id="", project_id="", name="helper"))

    counter = TransactionCounter(db.engine)
    listed = await agents.list(project, None, 10)
    got = await agents.get(project, agent.id)
    named = await agents.named(project, "helper")
    (depth_in_project, _) = await SqlQueueDepth(db).unanswered(project)

    assert [a.id for a in listed] == [agent.id] and got == agent and named == agent and depth_in_project == 0
    assert (counter.statements, counter.begun, counter.committed) == (4, 0, 0)
