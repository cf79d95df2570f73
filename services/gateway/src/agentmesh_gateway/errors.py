"""One mapping from errors to HTTP, and the JSON body every error has:
{"error": {"code": "...", "message": "..."}}. No traceback ever reaches a client.

A 429 carries Retry-After (whole seconds) from the error's retry time, whether
the gateway refused (login throttling) or a service did (RESOURCE_EXHAUSTED).
Unexpected exceptions are answered and logged once, in middleware.py.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

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


def validation_problem(item: Mapping[str, Any], content_type: str) -> tuple[str | None, str]:
    """One of a request's validation errors: the field it names (None for the body as a
    whole) and a message saying what to fix."""
    location = [str(part) for part in item.get("loc", ()) if part != "body"]
    if item.get("type") == "json_invalid":  # its location is the character the parser stopped at
        reason = (item.get("ctx") or {}).get("error", "invalid JSON")
        position = f"at character {location[-1]}: " if location else ""
        return None, f"the body is not valid JSON ({position}{reason})"
    if item.get("type") == "model_attributes_type" and not location:
        if content_type and "json" not in content_type:  # read as JSON only when it says so (or says nothing)
            return None, f"the body must be a JSON object sent as application/json, not {content_type}"
        return None, "the body must be a JSON object"
    param = ".".join(location) or None
    message = item.get("msg", "invalid value")
    return param, f"{param}: {message}" if param else message


def _describe_validation(error: RequestValidationError, content_type: str) -> str:
    messages = [validation_problem(item, content_type)[1] for item in error.errors()[:5]]
    return "; ".join(messages) or "invalid request"


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


async def _on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    content_type = request.headers.get("content-type", "")
    return error_response(422, "invalid_argument", _describe_validation(error, content_type))


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
