"""The one error vocabulary of agentmesh.

Domain code raises these; the gRPC seam maps them to status codes and the
gateway maps status codes to HTTP, each exactly once. Messages are written for
clients: never put exception text or internals in them.
"""

from __future__ import annotations


class AgentmeshError(Exception):
    """Base of every error a client may see."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidInput(AgentmeshError):
    """The request is malformed or violates a limit."""

    code = "invalid_argument"


class NotFound(AgentmeshError):
    """The thing does not exist, or the caller may not know that it does."""

    code = "not_found"


class AlreadyExists(AgentmeshError):
    """A unique key is taken."""

    code = "already_exists"


class Unauthenticated(AgentmeshError):
    """No valid credentials."""

    code = "unauthenticated"


class PermissionDenied(AgentmeshError):
    """The caller is known but not allowed to do this."""

    code = "permission_denied"


class FailedPrecondition(AgentmeshError):
    """The system is not in a state that allows this."""

    code = "failed_precondition"


class ResourceExhausted(AgentmeshError):
    """A limit or quota was hit; retrying later may work.

    retry_after: seconds after which a retry may be admitted (None: unknown).
    """

    code = "resource_exhausted"

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Unavailable(AgentmeshError):
    """A dependency is down; retrying later may work."""

    code = "unavailable"


class DeadlineExceeded(AgentmeshError):
    """A dependency did not answer in time."""

    code = "deadline_exceeded"
