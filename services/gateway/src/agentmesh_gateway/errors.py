"""One mapping from errors to HTTP, and the JSON body every error has:
{"error": {"code": "...", "message": "..."}}. No traceback ever reaches a client.

A 429 carries Retry-After (whole seconds) from the error's retry time, whether
the gateway refused (login throttling) or a service did (RESOURCE_EXHAUSTED).
Unexpected exceptions are answered and logged once, in middleware.py.
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from agentmesh_core import errors
from agentmesh_core.quotas import retry_after_header

log = logging.getLogger(__name__)


# The one table from error codes (the google.rpc names) to HTTP statuses.
HTTP_STATUS: dict[str, int] = {
    errors.InvalidInput.code: 400,
    errors.Unauthenticated.code: 401,
    errors.PermissionDenied.code: 403,
    errors.NotFound.code: 404,
    errors.AlreadyExists.code: 409,
    errors.FailedPrecondition.code: 409,
    errors.ResourceExhausted.code: 429,
    errors.Unavailable.code: 503,
    errors.DeadlineExceeded.code: 503,
}

_CODE_FOR_HTTP = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    409: "already_exists",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_argument",
    429: "resource_exhausted",
    431: "headers_too_large",
}


def error_response(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """The one error body: {"error": {"code", "message"}}."""
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status, headers=headers)


def _describe_validation(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        location = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        message = item.get("msg", "invalid value")
        parts.append(f"{location}: {message}" if location else message)
    return "; ".join(parts) or "invalid request"


async def _on_domain_error(request: Request, error: errors.AgentmeshError) -> JSONResponse:
    status = HTTP_STATUS.get(error.code, 500)
    if status >= 500:
        log.warning("%s %s answered %d: %s", request.method, request.url.path, status, error.code)
    if status == 500:
        return error_response(500, "internal", "internal error")
    headers = None
    if status == 401:
        headers = {"WWW-Authenticate": "Bearer"}
    elif isinstance(error, errors.ResourceExhausted):
        headers = {"Retry-After": retry_after_header(error.retry_after)}
    return error_response(status, error.code, error.message, headers)


async def _on_validation_error(_request: Request, error: RequestValidationError) -> JSONResponse:
    return error_response(422, "invalid_argument", _describe_validation(error))


async def _on_http_error(_request: Request, error: StarletteHTTPException) -> JSONResponse:
    code = _CODE_FOR_HTTP.get(error.status_code, "internal" if error.status_code >= 500 else "error")
    message = error.detail if isinstance(error.detail, str) else "request failed"
    if error.status_code == 404 and message == "Not Found":
        message = "no such route"
    return error_response(error.status_code, code, message, getattr(error, "headers", None))


def install_error_handlers(app: FastAPI) -> None:
    """Every error, ours or the framework's, leaves as the one JSON body (the unexpected
    ones through RequestContextMiddleware, which logs them once)."""
    # The decorator form registers the same way; add_exception_handler's type wants
    # handlers of plain Exception, which handlers of one subclass are not.
    app.exception_handler(errors.AgentmeshError)(_on_domain_error)
    app.exception_handler(RequestValidationError)(_on_validation_error)
    app.exception_handler(StarletteHTTPException)(_on_http_error)
