"""The benches' lean HTTP client against a real uvicorn server: kept-alive GETs and JSON POSTs, and
a streamed answer read line by line across chunk boundaries."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse
from starlette.routing import Route

from agentmesh_devstack.lean_http import LeanHttp
from agentmesh_devstack.ports import free_port
from agentmesh_devstack.waiting import eventually


async def echo(request: Request) -> JSONResponse:
    body = await request.json() if request.method == "POST" else None
    return JSONResponse({"method": request.method, "token": request.headers.get("authorization"), "body": body})


async def events(_request: Request) -> StreamingResponse:
    async def frames() -> AsyncIterator[bytes]:
        yield b"event: status\ndata: {}\n\nevent: to"  # a line split across two chunks
        await asyncio.sleep(0.01)
        yield b'ken\ndata: {"text": "hi"}\n\n'
        yield b"event: reply\r\ndata: {}\r\n\r\n"
        await asyncio.sleep(60)  # the stream stays open: the reader closes it

    return StreamingResponse(frames(), media_type="text/event-stream")


async def missing(_request: Request) -> JSONResponse:
    return JSONResponse({"error": "no"}, status_code=404)


@pytest.fixture
async def server() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/echo", echo, methods=["GET", "POST"]), Route("/events", events),
                            Route("/missing", missing)])  # fmt: skip
    port = free_port()
    served = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    task = asyncio.create_task(served.serve())
    await eventually(lambda: served.started, what="uvicorn serving")
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    await task


async def test_get_and_post_share_a_kept_alive_connection(server: str):
    client = LeanHttp(server, {"Authorization": "Bearer t"})
    status, body = await client.get("/echo")
    assert (status, json.loads(body)) == (200, {"method": "GET", "token": "Bearer t", "body": None})
    status, body = await client.post_json("/echo", {"content": "héllo"})
    assert (status, json.loads(body)["body"]) == (200, {"content": "héllo"})
    assert len(client._idle) == 1  # the one connection, back in the pool after each answer
    assert (await client.get("/missing"))[0] == 404
    await client.close()


async def test_a_stream_is_read_line_by_line_until_the_reader_stops(server: str):
    client = LeanHttp(server, {})
    seen = []
    stream = client.lines("/events")
    async for line in stream:
        seen.append(line)
        if line == "event: reply":
            break
    await stream.aclose()
    assert seen == ["event: status", "data: {}", "", "event: token", 'data: {"text": "hi"}', "", "event: reply"]


async def test_a_stream_that_is_not_chunked_is_refused(server: str):
    with pytest.raises(RuntimeError, match="without a chunked stream"):
        async for _ in LeanHttp(server, {}).lines("/echo"):
            pass
