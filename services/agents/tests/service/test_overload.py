"""Overload: offered far more messages than the runtime answers, the excess is refused with a retry time
(RESOURCE_EXHAUSTED, the gateway's 429) while the backlog stays bounded, and every accepted message is answered.

The model takes ~0.2 s a turn (a scripted echo with a delay per chunk) over four agents, so the runtime
answers at most 20 messages a second (about 12 measured on a busy 2-core machine); the test offers 60 a
second for 5 s (measured: 78 accepted, 222 refused, every accepted one answered 7 s after the first send).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import grpc
import pytest
from google.protobuf import struct_pb2

from agentmesh.agents.v1 import agent_pb2, message_pb2
from agentmesh.agents.v1 import agent_service_pb2 as pb
from agentmesh_devstack.waiting import eventually
from agentmesh_grpc.identity import acting_as

pytestmark = pytest.mark.slow

BACKLOG = 20
AGENTS = 4
OFFERED_PER_SECOND = 60
SECONDS = 5


@pytest.fixture(autouse=True)
def overload_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """A small backlog, and no per-project rate in the way (the service fixture reads the environment)."""
    monkeypatch.setenv("AGENTMESH_PROJECT_UNANSWERED_MAX", str(BACKLOG))
    monkeypatch.setenv("AGENTMESH_PROJECT_MESSAGE_RATE", "100000/second")


async def test_the_excess_is_refused_and_every_accepted_message_is_answered(service) -> None:
    service.inference.chunk_delay = 0.1
    with acting_as(service.admin):
        agents = [
            (await service.stub.CreateAgent(
                pb.CreateAgentRequest(project_id=service.project, agent=agent_pb2.Agent(name=f"worker-{n}"))
            )).agent
            for n in range(AGENTS)
        ]  # fmt: skip
    accepted: list[str] = []
    answers: Counter[str] = Counter()

    async def send(n: int) -> None:
        request = pb.SendMessageRequest(
            project_id=service.project,
            agent_id=agents[n % AGENTS].id,
            content=struct_pb2.Value(string_value=f"job {n}"),
        )
        try:
            with acting_as(service.member):
                response = await service.stub.SendMessage(request, timeout=30)
        except grpc.aio.AioRpcError as error:
            answers[error.code().name] += 1
            return
        answers["OK"] += 1
        accepted.append(response.message.id)

    started = time.monotonic()
    sends = []
    for n in range(OFFERED_PER_SECOND * SECONDS):
        sends.append(asyncio.create_task(send(n)))
        await asyncio.sleep(max(0.0, started + (n + 1) / OFFERED_PER_SECOND - time.monotonic()))
    await asyncio.gather(*sends)
    offered_for = time.monotonic() - started

    async def all_answered() -> bool:
        replied_to, token = set(), ""
        with acting_as(service.member):
            while True:
                page = await service.stub.ListMessages(
                    pb.ListMessagesRequest(
                        project_id=service.project,
                        status=message_pb2.MESSAGE_STATUS_COMPLETE,
                        page_size=200,
                        page_token=token,
                    )
                )
                replied_to.update(m.parent_id for m in page.messages if m.parent_id)
                if not (token := page.next_page_token):
                    break
        return set(accepted) <= replied_to

    await eventually(all_answered, timeout=120, interval=0.5, what="every accepted message to be answered")
    drained_after = time.monotonic() - started
    print(
        f"\noffered {OFFERED_PER_SECOND * SECONDS} in {offered_for:.1f} s: {dict(answers)}; "
        f"all {len(accepted)} accepted answered {drained_after:.1f} s after the first send"
    )
    assert set(answers) <= {"OK", "RESOURCE_EXHAUSTED"}
    assert answers["RESOURCE_EXHAUSTED"] > 0 and answers["OK"] >= BACKLOG
