"""ASGI middleware: request ids and unexpected errors, access syncs, body size limit, Prometheus metrics.

Pure ASGI (not BaseHTTPMiddleware) so that SSE responses stream untouched.
Header limits are the HTTP server's (http_limits.py): they apply before a
request reaches any middleware.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence

from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentmesh_gateway.accounts.api_keys import looks_like_api_key
from agentmesh_observability import context
from agentmesh_observability.logging import error_summary

log = logging.getLogger(__name__)

REQUESTS = Counter("agentmesh_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram("agentmesh_http_request_seconds", "HTTP request latency", ["method", "route"])
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


async def _send_json(send: Send, status: int, body: dict, headers: Sequence[tuple[bytes, bytes]] = ()) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                        *headers],
        }
    )  # fmt: skip
    await send({"type": "http.response.body", "body": payload})


class RequestContextMiddleware:
    """Binds X-Request-ID (or a new id) for logs and gRPC metadata; echoes it back.

    It is also where an unexpected exception ends: logged once, in one short line
    with the request id (no exception text: it may hold tenant data), answered
    500 with the JSON error body if the response has not started. Nothing is
    re-raised, so the server does not log the traceback a second time.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if 0 < len(incoming) <= 128 and incoming.isprintable() else context.new_request_id()

        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", request_id.encode())]
            await send(message)

        with context.bind(request_id=request_id):
            try:
                await self.app(scope, receive, send_with_id)
            except Exception as error:  # noqa: BLE001 - the last stop: answered and logged here, once
                route = getattr(scope.get("route"), "path", "unmatched")
                log.error("%s %s failed: %s", scope.get("method", ""), route, error_summary(error))
                if not started:
                    await _send_json(send_with_id, 500, {"error": {"code": "internal", "message": "internal error"}})


class AccessSyncMiddleware:
    """Starts the access cache's sync as a request with a user's bearer token arrives.

    Its round trip to PostgreSQL (adapters/access_cache.py) then runs while the
    request is routed and its token checked, and the first session lookup awaits
    what is by then mostly done. Requests without a user token (API keys, tickets,
    none) look up no session here, so they start nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            state = getattr(scope["app"].state, "gateway", None)  # set once the lifespan has wired it
            if state is not None and state.access is not None and _user_token(scope):
                state.access.begin_sync()
        await self.app(scope, receive, send)


def _user_token(scope: Scope) -> bool:
    """Whether the request carries a bearer token that is not an API key."""
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, token = value.partition(b" ")
            return scheme.lower() == b"bearer" and bool(token) and not looks_like_api_key(token.decode("latin-1"))
    return False


class BodySizeLimitMiddleware:
    """Answers 413 when a request body is larger than the limit.

    A declared Content-Length is checked up front (the server holds the client
    to it); a chunked body is read up to the limit first, then replayed.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.isdigit() or int(declared) > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        if b"chunked" not in headers.get(b"transfer-encoding", b"").lower():
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return  # the client went away
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)

    async def _too_large(self, send: Send) -> None:
        body = {"error": {"code": "payload_too_large", "message": f"the body exceeds {self.max_bytes} bytes"}}
        await _send_json(send, 413, body)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class MetricsMiddleware:
    """Counts requests and observes latency by route template (not raw path)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            # Label by route template, never the raw path, so ids do not explode the series.
            template = getattr(scope.get("route"), "path", "unmatched")
            method = scope["method"] if scope["method"] in _METHODS else "OTHER"
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - started)
