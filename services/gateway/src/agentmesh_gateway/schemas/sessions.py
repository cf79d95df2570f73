"""Session tokens: what login and refresh hand out, and what refresh takes."""

from __future__ import annotations

from pydantic import Field

from agentmesh_gateway.schemas.accounts import TokenOut
from agentmesh_gateway.schemas.common import Strict
from agentmesh_gateway.schemas.values import Text


class SessionTokensOut(TokenOut):
    """TokenOut (access_token, token_type, expires_in) plus the session's refresh token.

    The refresh token is single-use: POST /auth/refresh returns the next one, and
    presenting a used one again ends the whole session (reuse detection).
    """

    refresh_token: str


class RefreshIn(Strict):
    # token_urlsafe(32) is 43 characters; the bound only keeps junk small.
    refresh_token: Text = Field(min_length=1, max_length=256)
