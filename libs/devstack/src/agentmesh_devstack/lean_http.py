"""A lean HTTP/1.1 client for the benchmarks: a few lines over asyncio streams, as `wrk` would be.

The benchmarks run their clients on the same two cores as the services they
measure. httpx costs about a millisecond of CPU a request there (and more for each
line of a streamed answer), more than the gRPC client of the raw part it is compared
with, so a benchmark that drives the REST API through it measures httpx as much as
the gateway. This client costs a fraction of that. It speaks only what the benches
need: GET, and POST with a JSON body, on kept-alive connections (answers with a
Content-Length), and a streamed (chunked) answer read line by line on a connection
of its own, closed when the reader stops.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Mapping

import httpx

Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class LeanHttp:
    """Requests over kept-alive HTTP/1.1 connections, one request at a time on each (a pool of them)."""

    def __init__(self, url: str, headers: Mapping[str, str]) -> None:
        address = httpx.URL(url)
        self._host, self._port = address.host, address.port or 80
        self._headers = "".join(f"{key}: {value}\r\n" for key, value in headers.items())
        self._idle: list[Connection] = []

    async def get(self, path: str) -> tuple[int, bytes]:
        """GET path: the status and the body."""
        return await self._request(self._head("GET", path))

    async def post_json(self, path: str, body: object) -> tuple[int, bytes]:
        """POST path with `body` as JSON: the status and the answer's body."""
        payload = json.dumps(body).encode()
        head = self._head("POST", path, f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n")
        return await self._request(head + payload)

    async def lines(self, path: str) -> AsyncIterator[str]:
        """GET a streamed (chunked) answer on a new connection and yield its lines; the connection closes after."""
        reader, writer = await asyncio.open_connection(self._host, self._port)
        try:
            writer.write(self._head("GET", path, "Accept: text/event-stream\r\n"))
            status, fields = _parse_head(await reader.readuntil(b"\r\n\r\n"))
            if status != 200 or fields.get("transfer-encoding", "").lower() != "chunked":
                raise RuntimeError(f"GET {path} answered {status} without a chunked stream")
            pending = b""
            while size := int((await reader.readuntil(b"\r\n")).strip(), 16):
                pending += (await reader.readexactly(size + 2))[:-2]
                *complete, pending = pending.split(b"\n")
                for line in complete:
                    yield line.rstrip(b"\r").decode()
        finally:
            writer.close()

    async def close(self) -> None:
        for _, writer in self._idle:
            writer.close()

    def _head(self, method: str, path: str, extra: str = "") -> bytes:
        return f"{method} {path} HTTP/1.1\r\nHost: {self._host}\r\n{self._headers}{extra}\r\n".encode()

    async def _request(self, request: bytes) -> tuple[int, bytes]:
        while self._idle:  # the server closes a connection idle for its keep-alive timeout: take the next
            reader, writer = self._idle.pop()
            writer.write(request)
            try:
                return await self._answer(reader, writer)
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()
        reader, writer = await asyncio.open_connection(self._host, self._port)
        writer.write(request)
        return await self._answer(reader, writer)

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> tuple[int, bytes]:
        status, fields = _parse_head(await reader.readuntil(b"\r\n\r\n"))
        if "content-length" not in fields:
            raise RuntimeError("the lean client reads Content-Length bodies only")
        body = await reader.readexactly(int(fields["content-length"]))
        self._idle.append((reader, writer))
        return status, body


def _parse_head(head: bytes) -> tuple[int, dict[str, str]]:
    """An answer's status and its header fields (names in lower case)."""
    status_line, *field_lines = head.decode("latin-1").split("\r\n")
    fields = {}
    for line in field_lines:
        if line:
            name, _, value = line.partition(":")
            fields[name.strip().lower()] = value.strip()
    return int(status_line.split(" ")[1]), fields
