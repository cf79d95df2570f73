"""A servicer registered before it can be built.

gRPC needs every service registered before the server starts, and the server
starts (health NOT_SERVING) before the dependencies are ready. A servicer that
can only be built from those dependencies (a NATS connection, say) is
registered as a LateServicer and bound once start-up is done; until then its
calls fail with UNAVAILABLE, as they would if the server were not listening.
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Callable
from typing import Any

from agentmesh_core.errors import Unavailable


class LateServicer:
    """Stands in for an instance of servicer_class until bind() gives the real one."""

    def __init__(self, servicer_class: type, what: str) -> None:
        self._class = servicer_class
        self._what = what
        self._servicer: object | None = None

    def bind(self, servicer: object) -> None:
        """From now on, calls go to servicer."""
        self._servicer = servicer

    def _target(self) -> Any:
        if self._servicer is None:
            raise Unavailable(f"{self._what} is starting")
        return self._servicer

    def __getattr__(self, name: str) -> Callable[..., Any]:
        # Only called for what this class lacks: the RPC methods, looked up when the servicer is registered.
        if name.startswith("_"):
            raise AttributeError(name)
        method = getattr(self._class, name)
        if inspect.isasyncgenfunction(method):

            async def stream(request: Any, context: Any) -> AsyncIterator[Any]:
                async for item in getattr(self._target(), name)(request, context):
                    yield item

            return stream

        async def unary(request: Any, context: Any) -> Any:
            return await getattr(self._target(), name)(request, context)

        return unary
