"""The SERVER span of each HTTP request, when tracing is on (agentmesh_observability.tracing).

Pure ASGI, inside the request id middleware (the span carries the request id)
and outside the rest, so the access log line and every gRPC call the route makes
belong to it; the caller's `traceparent` header, if any, is its parent. Named
`<METHOD> <route template>` once routing has matched. While tracing is off it
passes the request straight through.
"""

from __future__ import annotations

from opentelemetry import trace
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from agentmesh_observability import context, tracing


class TracingMiddleware:
    """One span per HTTP request, its status the response's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not tracing.active():
            await self.app(scope, receive, send)
            return
        method = scope.get("method", "")
        headers = {key.decode("latin-1"): value.decode("latin-1") for key, value in scope.get("headers") or ()}
        attributes = {"http.request.method": method}
        request_id = context.current("request_id")
        if request_id:
            attributes[tracing.REQUEST_ID_ATTRIBUTE] = request_id
        status = 0

        async def send_observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with tracing.span(method, tracing.extract(headers), trace.SpanKind.SERVER, attributes) as span:
            try:
                await self.app(scope, receive, send_observed)
            finally:
                if span is not None:
                    route = getattr(scope.get("route"), "path", None)
                    if route:
                        span.update_name(f"{method} {route}")
                        span.set_attribute("http.route", route)
                    if status:
                        span.set_attribute("http.response.status_code", status)
                    if status >= 500 or not status:
                        span.set_status(trace.StatusCode.ERROR)
