"""Header limits in the HTTP server: a real uvicorn with the gateway's protocol, spoken to
over a socket, answers oversize heads 431 with the JSON error body and closes."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.types import Receive, Scope, Send

from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually
from agentmesh_gateway.http_limits import server_options

MAX_BYTES = 4096
MAX_COUNT = 20


async def ok_app(scope: Scope, receive: Receive, send: Send) -> None:
    if scope["type"] != "http":
        return
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"2")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


@pytest.fixture
async def port() -> AsyncIterator[int]:
    port = free_port()
    config = uvicorn.Config(
        ok_app, host="127.0.0.1", port=port, log_config=None, lifespan="off", **server_options(MAX_BYTES, MAX_COUNT)
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, timeout=5, interval=0.01, what="uvicorn to start")
    try:
        yield port
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


async def exchange(port: int, head: bytes) -> bytes:
    """Send head, then read until the server closes (or 5 s)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(head)
        await writer.drain()
        return await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        return b""
    finally:
        writer.close()


def request(*headers: tuple[str, str], path: str = "/") -> bytes:
    lines = [f"GET {path} HTTP/1.1", "Host: gateway", "Connection: close", *(f"{k}: {v}" for k, v in headers)]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def assert_431(answer: bytes) -> None:
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"content-type: application/json" in head
    assert json.loads(body)["error"]["code"] == "headers_too_large"


async def test_a_malformed_request_is_400_json(port: int) -> None:
    answer = await exchange(port, b"GET / HTTP/1.1\r\nHost: gateway\r\nbad header line\r\n\r\n")
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ") and b"content-type: application/json" in head, answer[:200]
    assert json.loads(body) == {"error": {"code": "invalid_argument", "message": "Invalid HTTP request received."}}


async def test_requests_within_the_limits_are_served(port: int) -> None:
    answer = await exchange(port, request(*[(f"x-h{i}", "v" * 100) for i in range(MAX_COUNT - 2)]))
    assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok")


async def test_too_many_header_bytes_is_431_json(port: int) -> None:
    assert_431(await exchange(port, request(("x-big", "v" * (MAX_BYTES + 1)))))


async def test_too_many_header_lines_is_431_json(port: int) -> None:
    assert_431(await exchange(port, request(*[(f"x-h{i}", "v") for i in range(MAX_COUNT + 1)])))


async def test_a_huge_url_is_431_json(port: int) -> None:
    assert_431(await exchange(port, request(path="/" + "a" * (MAX_BYTES + 1))))


async def test_an_endless_header_line_is_cut_off(port: int) -> None:
    # No line end ever comes, so no parser callback: the cap on unparsed head bytes answers.
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    sent, eight_mb = 0, 8 * 1024 * 1024
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: gateway\r\nx-endless: ")
        while sent < eight_mb:
            writer.write(b"v" * 65536)
            await writer.drain()
            sent += 65536
    except (ConnectionResetError, BrokenPipeError):
        pass
    try:
        answer = await asyncio.wait_for(reader.read(), 5)
    except ConnectionResetError:
        answer = b""  # the reset may overtake the answer
    finally:
        writer.close()
    assert sent < eight_mb, "the server kept reading an endless header"
    if answer:
        assert_431(answer)


async def test_a_large_body_does_not_count_against_the_next_requests_head(port: int) -> None:
    # The end of a large body and the next request's head arrive in one read: only the
    # head's bytes count, so the second request on the keep-alive connection is served.
    body = b"x" * (MAX_BYTES * 40)
    post = f"POST / HTTP/1.1\r\nHost: gateway\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body
    answer = await exchange(port, post + request())
    assert answer.count(b"HTTP/1.1 200 ") == 2, answer[:400]
