"""Token and identity rules: the security seams every service relies on."""

from __future__ import annotations

import time

import jwt
import pytest

from agentmesh_core.errors import NotFound, PermissionDenied, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole, require_project_access
from agentmesh_core.tokens import AccessTokens, IdentityTokens

SECRET = "s" * 48


def test_access_token_round_trip() -> None:
    tokens = AccessTokens(SECRET, ttl_seconds=60)
    token = tokens.issue("user-1", GlobalRole.USER, "session-1")
    claims = tokens.verify(token)
    assert (claims.user_id, claims.role, claims.session_id) == ("user-1", GlobalRole.USER, "session-1")
    raw = jwt.decode(token, options={"verify_signature": False})
    assert raw["iss"] == "agentmesh-gateway"
    assert raw["jti"] == claims.token_id
    assert tokens.verify(tokens.issue("user-1", GlobalRole.USER, "session-1")).token_id != claims.token_id


def _user_claims(**changes: object) -> dict[str, object]:
    claims: dict[str, object] = {"iss": "agentmesh-gateway", "sub": "u", "role": "user", "sid": "s", "jti": "j",
                                 "aud": "agentmesh-api", "iat": 1, "exp": 9999999999}  # fmt: skip
    claims.update(changes)
    return {key: value for key, value in claims.items() if value is not None}


def test_well_formed_user_claims_pass() -> None:
    # The baseline the next test varies one claim of.
    assert AccessTokens(SECRET, 60).verify(jwt.encode(_user_claims(), SECRET, algorithm="HS256")).session_id == "s"


@pytest.mark.parametrize(
    "changes",
    [{"iss": None}, {"iss": "someone-else"}, {"sid": None}, {"jti": None}],
    ids=["no-iss", "foreign-iss", "no-session", "no-token-id"],
)
def test_access_token_requires_issuer_session_and_id(changes: dict[str, object]) -> None:
    with pytest.raises(Unauthenticated):
        AccessTokens(SECRET, 60).verify(jwt.encode(_user_claims(**changes), SECRET, algorithm="HS256"))


@pytest.mark.parametrize(
    "token",
    [
        jwt.encode({"sub": "u", "role": "superadmin", "aud": "agentmesh-api", "iat": 1, "exp": 9999999999},
                   "wrong-secret-wrong-secret-wrong-secret!!", algorithm="HS256"),
        jwt.encode({"sub": "u", "role": "superadmin", "aud": "agentmesh-api", "iat": 1, "exp": 9999999999},
                   None, algorithm="none"),
        jwt.encode({"sub": "u", "role": "superadmin", "aud": "agentmesh-api", "iat": 1}, SECRET, algorithm="HS256"),
        jwt.encode({"sub": "u", "role": "service", "aud": "agentmesh-api", "iat": 1, "exp": 9999999999},
                   SECRET, algorithm="HS256"),
        "not-a-jwt",
    ],
    ids=["forged", "alg-none", "no-exp", "service-role", "garbage"],
)  # fmt: skip
def test_access_token_rejects_bad_tokens(token: str) -> None:
    with pytest.raises(Unauthenticated):
        AccessTokens(SECRET, ttl_seconds=60).verify(token)


def test_access_token_expires() -> None:
    token = jwt.encode(_user_claims(exp=int(time.time()) - 5), SECRET, algorithm="HS256")
    with pytest.raises(Unauthenticated, match="expired"):
        AccessTokens(SECRET, ttl_seconds=60).verify(token)


def test_user_token_is_not_an_internal_identity() -> None:
    user_token = AccessTokens(SECRET, ttl_seconds=60).issue("u", GlobalRole.SUPERADMIN, "s")
    with pytest.raises(Unauthenticated):
        IdentityTokens(SECRET).verify(user_token)


def test_identity_round_trip_keeps_project_scope() -> None:
    tokens = IdentityTokens(SECRET)
    identity = Identity("u", GlobalRole.USER, project_id="p1", project_role=ProjectRole.ADMIN)
    assert tokens.verify(tokens.issue(identity)) == identity


def test_project_access_rules() -> None:
    member = Identity("u", GlobalRole.USER, project_id="p1", project_role=ProjectRole.USER)
    require_project_access(member, "p1")
    with pytest.raises(PermissionDenied):
        require_project_access(member, "p1", admin=True)
    with pytest.raises(NotFound):
        require_project_access(member, "p2")
    require_project_access(Identity("root", GlobalRole.SUPERADMIN), "p2", admin=True)
    require_project_access(Identity("scheduler", GlobalRole.SERVICE), "p2", admin=True)
