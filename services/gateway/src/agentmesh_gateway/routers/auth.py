"""POST /auth/login and GET /auth/me."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from pydantic import ValidationError

from agentmesh_core.errors import InvalidInput
from agentmesh_gateway.deps import AccountsDep, CurrentUser
from agentmesh_gateway.schemas.accounts import LoginIn, MembershipOut, MeOut, TokenOut

router = APIRouter(prefix="/auth", tags=["auth"])

_LOGIN_BODY = {
    "requestBody": {
        "content": {
            "application/json": {"schema": LoginIn.model_json_schema()},
            "application/x-www-form-urlencoded": {"schema": LoginIn.model_json_schema()},
        },
        "required": True,
    }
}


async def _credentials(request: Request) -> LoginIn:
    """JSON {"username","password"} or the OAuth2 password form."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            return LoginIn(username=str(form.get("username", "")), password=str(form.get("password", "")))
        return LoginIn.model_validate(json.loads(await request.body()))
    except (ValueError, ValidationError, RecursionError):
        raise InvalidInput('send JSON {"username", "password"} or an OAuth2 password form') from None


@router.post("/login", response_model=TokenOut, openapi_extra=_LOGIN_BODY)
async def login(request: Request, accounts: AccountsDep) -> TokenOut:
    """Exchange a username and password for a bearer token."""
    credentials = await _credentials(request)
    token = await accounts.login(credentials.username, credentials.password)
    return TokenOut(access_token=token, expires_in=accounts.tokens.ttl_seconds)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, accounts: AccountsDep) -> MeOut:
    """The caller, their global role, and their project memberships."""
    memberships = await accounts.memberships_of(user)
    return MeOut(
        id=user.id,
        username=user.username,
        role=user.role.value,
        is_active=user.is_active,
        created_at=user.created_at,
        last_login=user.last_login,
        memberships=[MembershipOut(project_id=m.project_id, project_name=m.project_name, role=m.role.value)
                     for m in memberships],
    )  # fmt: skip
