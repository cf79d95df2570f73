"""One JSON access log line per request (and per WebSocket session, when it ends).

Fields: method, route (the template, never the raw path: ids stay out of the
series and tokens out of the log), status, duration_ms, and the request, user
and project ids. The query string and headers are never logged, so neither a
stream ticket nor a token can end up in a log line.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentmesh_observability import context

log = logging.getLogger("agentmesh_gateway.access")

# Where a dependency records the authenticated user for this line (scope["state"]).
USER_ID_KEY = "user_id"


def record_user(scope_state: object, user_id: str) -> None:
    """Called by the auth dependencies: the user the access line names."""
    if isinstance(scope_state, dict):
        scope_state[USER_ID_KEY] = user_id


class AccessLogMiddleware:
    """Logs each HTTP request once it has answered, and each WebSocket session once it ends."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})
        started = time.perf_counter()
        status = 500 if scope["type"] == "http" else 1006

        async def observe(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "websocket.accept" and status == 1006:
                status = 101
            elif message["type"] == "websocket.close":
                status = message.get("code", 1000)
            await send(message)

        try:
            await self.app(scope, receive, observe)
        finally:
            self._log(scope, status, time.perf_counter() - started)

    @staticmethod
    def _log(scope: Scope, status: int, seconds: float) -> None:
        route = getattr(scope.get("route"), "path", None) or "unmatched"
        params = scope.get("path_params") or {}
        project_id = params.get("project_id") if route != "unmatched" else None
        state = scope.get("state")
        user_id = state.get(USER_ID_KEY) if isinstance(state, dict) else None
        method = scope.get("method", "WS") if scope["type"] == "http" else "WS"
        log.info(
            "%s %s %d",
            method,
            route,
            status,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 2),
                "request_id": context.current("request_id"),
                "user_id": user_id,
                # The path's project id, bounded: an unknown or malformed one is still the caller's input.
                "project_id": project_id[:64] if isinstance(project_id, str) else None,
            },
        )
