"""Signed tokens: user access tokens (gateway) and internal identity tokens.

Both are HS256 JWTs with required exp/iat/sub and a fixed audience; any other
algorithm (including "none") is rejected. They use different secrets and
audiences, so a user token can never pass as an internal identity. Access
tokens also carry (and must carry) the gateway as issuer, a token id and the
login session they belong to, so that the gateway can refuse the tokens of a
session that was logged out or revoked before they expire.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from agentmesh_core.errors import Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

_ALGORITHM = "HS256"
_USER_AUDIENCE = "agentmesh-api"
_INTERNAL_AUDIENCE = "agentmesh-internal"
USER_TOKEN_ISSUER = "agentmesh-gateway"
_REQUIRED = ["exp", "iat", "sub", "aud"]
_REQUIRED_USER = [*_REQUIRED, "iss", "jti", "sid"]


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified user access token says."""

    user_id: str
    role: GlobalRole
    session_id: str
    token_id: str


def _decode(
    token: str, secret: str, audience: str, required: list[str] = _REQUIRED, issuer: str | None = None
) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            secret,
            algorithms=[_ALGORITHM],
            audience=audience,
            issuer=issuer,
            options={"require": required},
        )
    except jwt.ExpiredSignatureError:
        raise Unauthenticated("token expired") from None
    except jwt.PyJWTError:
        raise Unauthenticated("invalid token") from None


class AccessTokens:
    """Issues and verifies the bearer tokens users present to the gateway."""

    def __init__(self, secret: str, ttl_seconds: int) -> None:
        self._secret = secret
        self.ttl_seconds = ttl_seconds

    def issue(self, user_id: str, role: GlobalRole, session_id: str) -> str:
        """A token for user_id, valid for ttl_seconds unless its session is revoked first."""
        now = int(time.time())
        claims = {
            "iss": USER_TOKEN_ISSUER,
            "sub": user_id,
            "role": role.value,
            "sid": session_id,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + self.ttl_seconds,
            "aud": _USER_AUDIENCE,
        }
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> AccessClaims:
        """The claims of a well-signed, unexpired token of ours; Unauthenticated otherwise."""
        claims = _decode(token, self._secret, _USER_AUDIENCE, _REQUIRED_USER, USER_TOKEN_ISSUER)
        try:
            role = GlobalRole(claims.get("role", ""))
        except ValueError:
            raise Unauthenticated("invalid token") from None
        if role is GlobalRole.SERVICE:
            raise Unauthenticated("invalid token")
        return AccessClaims(
            user_id=str(claims["sub"]), role=role, session_id=str(claims["sid"]), token_id=str(claims["jti"])
        )


class IdentityTokens:
    """Signs the caller identity that travels in internal gRPC metadata."""

    def __init__(self, secret: str, ttl_seconds: int = 300) -> None:
        self._secret = secret
        self._ttl = ttl_seconds

    def issue(self, identity: Identity) -> str:
        now = int(time.time())
        claims = {
            "sub": identity.subject,
            "role": identity.role.value,
            "iat": now,
            "exp": now + self._ttl,
            "aud": _INTERNAL_AUDIENCE,
        }
        if identity.project_id:
            claims["pid"] = identity.project_id
        if identity.project_role:
            claims["prole"] = identity.project_role.value
        return jwt.encode(claims, self._secret, algorithm=_ALGORITHM)

    def verify(self, token: str) -> Identity:
        claims = _decode(token, self._secret, _INTERNAL_AUDIENCE)
        try:
            role = GlobalRole(claims.get("role", ""))
            project_role = ProjectRole(claims["prole"]) if claims.get("prole") else None
        except ValueError:
            raise Unauthenticated("invalid identity") from None
        return Identity(
            subject=str(claims["sub"]),
            role=role,
            project_id=claims.get("pid"),
            project_role=project_role,
        )
