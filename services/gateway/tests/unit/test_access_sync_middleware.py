"""AccessSyncMiddleware starts the access sync for requests with a user's bearer token, and only those."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from agentmesh_gateway.middleware import AccessSyncMiddleware


class Access:
    def __init__(self) -> None:
        self.begun = 0

    def begin_sync(self) -> None:
        self.begun += 1


async def begun_for(headers: list[tuple[bytes, bytes]], kind: str = "http", wired: bool = True) -> int:
    access = Access()
    app = SimpleNamespace(state=SimpleNamespace(gateway=SimpleNamespace(access=access)) if wired else SimpleNamespace())
    reached = []

    async def inner(scope, receive, send) -> None:
        reached.append(scope)

    await AccessSyncMiddleware(inner)({"type": kind, "headers": headers, "app": app}, None, None)
    assert reached, "the request must always go on"
    return access.begun


@pytest.mark.parametrize(
    ("authorization", "begun"),
    [
        (b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", 1),
        (b"bearer eyJhbGciOiJIUzI1NiJ9.e30.sig", 1),  # the scheme is case-insensitive, as FastAPI reads it
        (b"Bearer amk_" + b"k" * 43, 0),  # a project API key: no session to look up
        (b"Bearer ", 0),
        (b"Basic dXNlcjpwYXNz", 0),
    ],
)
async def test_only_a_user_bearer_token_begins_a_sync(authorization: bytes, begun: int) -> None:
    assert await begun_for([(b"host", b"x"), (b"authorization", authorization)]) == begun


async def test_no_token_and_websockets_begin_nothing() -> None:
    assert await begun_for([(b"host", b"x")]) == 0
    assert await begun_for([(b"authorization", b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")], kind="websocket") == 0


async def test_a_request_before_the_state_is_wired_goes_on() -> None:
    await begun_for([(b"authorization", b"Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")], wired=False)
