"""POST /projects/{p}/messages/{m}/cancel over the fakes (access, 404, 409), and delegation events as JSON."""

from __future__ import annotations

import uuid

import pytest

from agentmesh.agents.v1 import message_pb2
from agentmesh.common.v1 import participant_pb2
from agentmesh_gateway.clients.agents import event_out


@pytest.fixture
async def world(api, admin, make_user):
    _, owner = await make_user("owner")
    member_id, member = await make_user("member")
    other_id, other = await make_user("other")
    _, outsider = await make_user("outsider")
    project = (await api.post("/projects", headers=owner, json={"name": "p"})).json()["id"]
    for user_id in (member_id, other_id):
        added = await api.post(f"/projects/{project}/members", headers=owner, json={"user_id": user_id, "role": "user"})
        assert added.status_code == 201, added.text
    agent = (await api.post(f"/projects/{project}/agents", headers=owner, json={"name": "a"})).json()["id"]
    return {"project": project, "agent": agent, "owner": owner, "member": member, "other": other,
            "outsider": outsider}  # fmt: skip


async def _send(api, world, who: str) -> str:
    sent = await api.post(
        f"/projects/{world['project']}/agents/{world['agent']}/messages", headers=world[who], json={"content": "hi"}
    )
    assert sent.status_code == 202, sent.text
    return sent.json()["message_id"]


async def test_the_sender_cancels_once_then_409(api, world) -> None:
    message = await _send(api, world, "member")
    path = f"/projects/{world['project']}/messages/{message}/cancel"

    cancelled = await api.post(path, headers=world["member"])
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["id"], cancelled.json()["status"]) == (message, "cancelled")

    again = await api.post(path, headers=world["member"])
    assert again.status_code == 409, again.text
    assert again.json()["error"]["code"] == "failed_precondition"
    log = await api.get(
        f"/projects/{world['project']}/messages", headers=world["member"], params={"status": "cancelled"}
    )
    assert [m["id"] for m in log.json()["items"]] == [message]


async def test_an_admin_may_cancel_another_members_message_a_member_may_not(api, world) -> None:
    message = await _send(api, world, "member")
    path = f"/projects/{world['project']}/messages/{message}/cancel"

    refused = await api.post(path, headers=world["other"])
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "permission_denied"
    assert (await api.post(path, headers=world["owner"])).status_code == 200


@pytest.mark.parametrize("message_id", ["unknown", "not-a-uuid"])
async def test_unknown_messages_and_non_members_get_404(api, world, message_id) -> None:
    target = str(uuid.uuid4()) if message_id == "unknown" else message_id
    unknown = await api.post(f"/projects/{world['project']}/messages/{target}/cancel", headers=world["owner"])
    assert unknown.status_code == 404, unknown.text
    assert unknown.json()["error"]["code"] == "not_found"

    message = await _send(api, world, "member")
    outsider = await api.post(f"/projects/{world['project']}/messages/{message}/cancel", headers=world["outsider"])
    assert outsider.status_code == 404, outsider.text
    assert (await api.post(f"/projects/{world['project']}/messages/{message}/cancel")).status_code == 401


async def test_a_message_of_another_project_is_404(api, world) -> None:
    theirs = await _send(api, world, "member")
    mine = (await api.post("/projects", headers=world["owner"], json={"name": "q"})).json()["id"]

    response = await api.post(f"/projects/{mine}/messages/{theirs}/cancel", headers=world["owner"])

    assert response.status_code == 404, response.text


def _message(receiver: str) -> message_pb2.Message:
    agent = participant_pb2.PARTICIPANT_TYPE_AGENT
    return message_pb2.Message(
        id="d",
        project_id="p",
        conversation_id="c",
        sender=participant_pb2.Participant(type=agent, id="manager"),
        receiver=participant_pb2.Participant(type=agent, id=receiver),
        performative="request",
        status=message_pb2.MESSAGE_STATUS_COMPLETE,
        parent_id="m",
        correlation_id="m",
    )


def test_delegation_events_carry_the_delegated_message_and_the_answer() -> None:
    kind = message_pb2.CONVERSATION_EVENT_TYPE_DELEGATION_REPLY
    replied = event_out(
        message_pb2.ConversationEvent(
            sequence=3, type=kind, message_id="m", text="42 rows", delegation=_message("data")
        )
    )
    assert (replied.type, replied.text, replied.delegation.receiver.id) == ("delegation_reply", "42 rows", "data")
    assert (replied.delegation.parent_id, replied.delegation.correlation_id) == ("m", "m")

    kind = message_pb2.CONVERSATION_EVENT_TYPE_DELEGATED
    asked = event_out(message_pb2.ConversationEvent(sequence=2, type=kind, delegation=_message("analysis")))
    assert (asked.type, asked.delegation.receiver.id, asked.text) == ("delegated", "analysis", None)

    kind = message_pb2.CONVERSATION_EVENT_TYPE_CANCELLED
    cancelled = event_out(message_pb2.ConversationEvent(sequence=4, type=kind, message_id="m"))
    assert (cancelled.type, cancelled.status, cancelled.delegation) == ("cancelled", "cancelled", None)
