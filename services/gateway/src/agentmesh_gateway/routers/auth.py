"""POST /auth/login, /auth/refresh and /auth/logout, and GET /auth/me.

Login answers a short-lived access token and a single-use refresh token of a
new session; refresh rotates them; logout revokes the session (or, with
?everywhere=true, every session of the user). Failed logins are throttled
per account and per client address: 429 with Retry-After, answered after a
short pause (backoff).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Query, Request, status
from pydantic import ValidationError

from agentmesh_core.errors import InvalidInput, ResourceExhausted, Unauthenticated
from agentmesh_gateway.accounts.models import SessionTokens
from agentmesh_gateway.deps import AccountsDep, BearerToken, CurrentUser, State
from agentmesh_gateway.schemas.accounts import LoginIn, MembershipOut, MeOut
from agentmesh_gateway.schemas.sessions import RefreshIn, SessionTokensOut

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


def _tokens_out(tokens: SessionTokens) -> SessionTokensOut:
    return SessionTokensOut(
        access_token=tokens.access_token, expires_in=tokens.expires_in, refresh_token=tokens.refresh_token
    )


@router.post("/login", response_model=SessionTokensOut, openapi_extra=_LOGIN_BODY)
async def login(request: Request, accounts: AccountsDep, state: State) -> SessionTokensOut:
    """Exchange a username and password for a bearer token and a refresh token."""
    credentials = await _credentials(request)
    address = request.client.host if request.client else ""
    try:
        return _tokens_out(await accounts.login(credentials.username, credentials.password, address))
    except ResourceExhausted as refused:
        # Backoff: a refusal is answered after a pause (at most its Retry-After), so a
        # client that logs in again at once, as floods do, sends one attempt per pause
        # instead of as many as the gateway can refuse. Waiting costs the gateway nothing.
        await asyncio.sleep(min(state.settings.login_refusal_delay_seconds, refused.retry_after or 0))
        raise


@router.post("/refresh", response_model=SessionTokensOut)
async def refresh(body: RefreshIn, accounts: AccountsDep) -> SessionTokensOut:
    """Exchange a refresh token for new tokens; each refresh token works once."""
    return _tokens_out(await accounts.refresh(body.refresh_token))


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    accounts: AccountsDep,
    token: BearerToken,
    everywhere: Annotated[bool, Query(description="end every session of the user, not only this one")] = False,
) -> None:
    """Revoke this token's session: its access and refresh tokens stop working."""
    if not token:
        raise Unauthenticated("missing bearer token")
    await accounts.logout(token, everywhere)


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
