"""NATS users per service on a real nats-server (the devstack's, configured from agentmesh_events.access).

The memory service's user (like every user but the agents service's) reads no
conversation and posts into no mailbox; the agents service's user does both.
The other tests that use `nats_url` run as the agents user too, so they check
that its permissions cover everything the service does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import nats
import pytest
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError

from agentmesh_devstack.infra import NatsServer
from agentmesh_devstack.waiting import eventually
from agentmesh_events import access, bus, subjects
from agentmesh_events.bus import outgoing_headers

# Long enough for an answer from a local server; a refused request never gets one.
REFUSED_WITHIN = 1.0


class Connection:
    """A client connected as one service's user, and the permission errors the server sent it."""

    def __init__(self, client: Client, errors: list[str]) -> None:
        self.client = client
        self.errors = errors
        self.js = client.jetstream(timeout=REFUSED_WITHIN)

    def refused(self, kind: str, subject: str) -> bool:
        """Whether the server reported a permissions violation for `kind` ('Publish', 'Subscription') to `subject`."""
        wanted = f'permissions violation for {kind} to "{subject}"'.lower()
        return any(wanted in error.lower() for error in self.errors)


@pytest.fixture
async def connect(nats_server: NatsServer) -> AsyncIterator[Callable[[str], Awaitable[Connection]]]:
    clients: list[Client] = []

    async def as_service(service: str) -> Connection:
        errors: list[str] = []

        async def on_error(error: Exception) -> None:
            errors.append(str(error))

        user, password = nats_server.service_env(service).values()
        client = await nats.connect(nats_server.url, user=user, password=password, error_cb=on_error)
        clients.append(client)
        return Connection(client, errors)

    yield as_service
    for client in clients:
        await client.close()


async def test_every_service_has_a_user_and_no_anonymous_client_gets_in(nats_server: NatsServer) -> None:
    assert set(nats_server.passwords()) == set(access.PERMISSIONS) >= {"agents", "gateway", "memory", "scheduler"}
    with pytest.raises(NatsError):
        await nats.connect(nats_server.url, allow_reconnect=False, connect_timeout=2)
    with pytest.raises(NatsError):
        await nats.connect(nats_server.url, user="memory", password="wrong", allow_reconnect=False)


async def test_memory_credentials_cannot_read_conversation_events(connect, project_id: str) -> None:
    agents, memory = await connect("agents"), await connect("memory")
    await bus.ensure_streams(agents.js)
    subject = subjects.conversation_subject(project_id, "c1")

    # A plain subscription to every conversation is refused by the server...
    spy = await memory.client.subscribe(subjects.EVENTS_SUBJECTS)
    await eventually(lambda: memory.refused("Subscription", subjects.EVENTS_SUBJECTS), what="the refused subscription")
    # ...and so are JetStream's ways in: a consumer on AM_EVENTS, a stored message by subject.
    with pytest.raises(NatsTimeout):
        await memory.js.subscribe(subject, stream=subjects.EVENTS_STREAM, ordered_consumer=True)
    with pytest.raises(NatsTimeout):
        await memory.js.get_last_msg(subjects.EVENTS_STREAM, subject)
    await eventually(
        lambda: memory.refused("Publish", f"$JS.API.CONSUMER.CREATE.{subjects.EVENTS_STREAM}"),
        what="the refused consumer",
    )

    # The agents user publishes and reads the same conversation; the spy got nothing of it.
    await agents.js.publish(subject, b"event", stream=subjects.EVENTS_STREAM, headers=outgoing_headers())
    assert (await agents.js.get_last_msg(subjects.EVENTS_STREAM, subject)).data == b"event"
    watch = await agents.js.subscribe(subject, stream=subjects.EVENTS_STREAM, ordered_consumer=True)
    assert (await watch.next_msg(timeout=5)).data == b"event"
    await memory.client.flush()  # anything routed to the spy before this round trip has arrived
    assert spy.pending_msgs == 0 and spy.delivered == 0


async def test_memory_credentials_cannot_post_into_a_mailbox(connect, project_id: str, agent_id: str) -> None:
    agents, memory = await connect("agents"), await connect("memory")
    await bus.ensure_streams(agents.js)
    mailbox = subjects.inbox_subject(project_id, agent_id, partitions=8)

    with pytest.raises(NatsTimeout):  # JetStream never sees it, so no acknowledgement comes
        await memory.js.publish(mailbox, b"forged", stream=subjects.INBOX_STREAM)
    await memory.client.publish(mailbox, b"forged too")
    await eventually(lambda: memory.refused("Publish", mailbox), what="the refused mailbox post")
    await memory.client.flush()
    with pytest.raises(NotFoundError):  # neither was stored
        await agents.js.get_last_msg(subjects.INBOX_STREAM, mailbox)

    await agents.js.publish(mailbox, b"real", stream=subjects.INBOX_STREAM)
    assert (await agents.js.get_last_msg(subjects.INBOX_STREAM, mailbox)).data == b"real"
    await agents.js.purge_stream(subjects.INBOX_STREAM, subject=mailbox)


@pytest.mark.parametrize("service", ["gateway", "memory", "inference", "scheduler"])
async def test_services_that_use_no_subject_may_use_none(connect, service: str) -> None:
    client = await connect(service)
    await client.client.flush()  # connected: the gateway's readiness probe needs no more
    await client.client.subscribe("_INBOX.>")
    await client.client.publish("$JS.API.INFO", b"")
    await eventually(lambda: client.refused("Subscription", "_INBOX.>"), what="the refused subscription")
    await eventually(lambda: client.refused("Publish", "$JS.API.INFO"), what="the refused publish")
