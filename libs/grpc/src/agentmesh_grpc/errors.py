"""Domain errors <-> gRPC status codes, in one table."""

from __future__ import annotations

import grpc

from agentmesh_core import errors

_TO_STATUS: dict[type[errors.AgentmeshError], grpc.StatusCode] = {
    errors.InvalidInput: grpc.StatusCode.INVALID_ARGUMENT,
    errors.NotFound: grpc.StatusCode.NOT_FOUND,
    errors.AlreadyExists: grpc.StatusCode.ALREADY_EXISTS,
    errors.Unauthenticated: grpc.StatusCode.UNAUTHENTICATED,
    errors.PermissionDenied: grpc.StatusCode.PERMISSION_DENIED,
    errors.FailedPrecondition: grpc.StatusCode.FAILED_PRECONDITION,
    errors.ResourceExhausted: grpc.StatusCode.RESOURCE_EXHAUSTED,
    errors.Unavailable: grpc.StatusCode.UNAVAILABLE,
    errors.DeadlineExceeded: grpc.StatusCode.DEADLINE_EXCEEDED,
}
_FROM_STATUS = {status: cls for cls, status in _TO_STATUS.items()}
# A status code by its number (google.rpc.Code), as a message that carries a status holds it.
STATUS_BY_NUMBER = {status.value[0]: status for status in grpc.StatusCode}
# Trailing metadata of a RESOURCE_EXHAUSTED answer: whole seconds until a retry may be admitted.
RETRY_AFTER_METADATA_KEY = "retry-after"


def status_for(error: errors.AgentmeshError) -> grpc.StatusCode:
    """The status code a domain error is sent as."""
    for cls, status in _TO_STATUS.items():
        if isinstance(error, cls):
            return status
    return grpc.StatusCode.INTERNAL


def from_rpc_error(error: grpc.aio.AioRpcError) -> errors.AgentmeshError:
    """Turn a failed call back into a domain error (adapters re-raise it)."""
    code = error.code()
    if code == grpc.StatusCode.CANCELLED:
        return errors.Unavailable("call cancelled")
    cls = _FROM_STATUS.get(code)
    if cls is None:
        return errors.AgentmeshError("internal error")
    details = error.details() or code.name.lower()
    # Transport failures name peer addresses ("ipv4:10.0.0.7:50051: Connection refused"): say less.
    transport_words = ("recvmsg", "failed to connect", "connection refused", "ipv4:", "ipv6:", "deadline exceeded")
    if cls in (errors.Unavailable, errors.DeadlineExceeded) and any(w in details.lower() for w in transport_words):
        details = "service unavailable" if cls is errors.Unavailable else "service did not answer in time"
    if cls is errors.ResourceExhausted:
        return errors.ResourceExhausted(details, retry_after=_retry_after(error))
    return cls(details)


def _retry_after(error: grpc.aio.AioRpcError) -> float | None:
    for key, value in error.trailing_metadata() or ():
        if key == RETRY_AFTER_METADATA_KEY and isinstance(value, str) and value.isdigit():
            return float(value)
    return None
