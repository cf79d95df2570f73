"""Token and identity rules: the security seams every service relies on."""

from __future__ import annotations

import time

import jwt
import pytest

from agentmesh_core.errors import InvalidInput, NotFound, PermissionDenied, Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole, project_in_scope, require_project_access
from agentmesh_core.service_keys import load_private_key, new_private_key, public_key_of
from agentmesh_core.tokens import AccessTokens, IdentitySigner, IdentityVerifier, SignedIdentity

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


GATEWAY_KEY = new_private_key()
GATEWAY = IdentitySigner("gateway", load_private_key(GATEWAY_KEY))
VERIFIER = IdentityVerifier("agents", {"gateway": load_private_key(GATEWAY_KEY).public_key()})
ADMIN = Identity("u", GlobalRole.USER, project_id="p1", project_role=ProjectRole.ADMIN)


def _identity_claims(**changes: object) -> dict[str, object]:
    now = int(time.time())
    claims: dict[str, object] = {"iss": "gateway", "sub": "u", "role": "user", "aud": "agents", "iat": now,
                                 "exp": now + 60}  # fmt: skip
    return {**claims, **changes}


def test_identity_round_trip_names_its_issuer_and_keeps_project_scope() -> None:
    assert VERIFIER.verify(GATEWAY.issue(ADMIN, "agents")) == SignedIdentity("gateway", ADMIN)
    raw = jwt.decode(GATEWAY.issue(ADMIN, "agents"), options={"verify_signature": False})
    assert (raw["iss"], raw["aud"], raw["exp"] - raw["iat"]) == ("gateway", "agents", 300)


def test_a_signer_reuses_its_token_for_the_same_identity_and_receiver() -> None:
    assert GATEWAY.issue(ADMIN, "agents") == GATEWAY.issue(ADMIN, "agents")
    assert GATEWAY.issue(ADMIN, "agents") != GATEWAY.issue(ADMIN, "memory")


def test_a_signer_clock_a_little_ahead_is_tolerated() -> None:
    ahead = int(time.time()) + 3
    assert VERIFIER.verify(_forged(_identity_claims(iat=ahead, exp=ahead + 60))).identity.subject == "u"


def test_user_token_is_not_an_internal_identity() -> None:
    user_token = AccessTokens(SECRET, ttl_seconds=60).issue("u", GlobalRole.SUPERADMIN, "s")
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(user_token)


def _forged(claims: dict[str, object], key: str = GATEWAY_KEY, kid: str = "gateway", algorithm: str = "EdDSA") -> str:
    signing_key = load_private_key(key) if algorithm == "EdDSA" else public_key_of(GATEWAY_KEY)
    return jwt.encode(claims, signing_key, algorithm=algorithm, headers={"kid": kid})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "token",
    [
        _forged(_identity_claims(), key=new_private_key()),  # claims to be the gateway, signed by another key
        _forged(_identity_claims(iss="memory")),  # header and claims disagree on the issuer
        _forged(_identity_claims(), kid="memory"),  # an issuer the receiver does not know
        _forged(_identity_claims(aud="memory")),  # addressed to another service
        _forged(_identity_claims(exp=int(time.time()) - 60)),
        _forged({k: v for k, v in _identity_claims().items() if k != "exp"}),
        _forged(_identity_claims(role="root")),
        _forged(_identity_claims(), algorithm="HS256"),  # the public key used as an HMAC secret
        jwt.encode(_identity_claims(), None, algorithm="none", headers={"kid": "gateway"}),
        "not-a-jwt",
    ],
    ids=["other-key", "iss-mismatch", "unknown-issuer", "audience", "expired", "no-exp", "bad-role", "hs256",
         "alg-none", "garbage"],
)  # fmt: skip
def test_identity_rejects_bad_tokens(token: str) -> None:
    with pytest.raises(Unauthenticated):
        VERIFIER.verify(token)


def test_project_access_rules() -> None:
    member = Identity("u", GlobalRole.USER, project_id="p1", project_role=ProjectRole.USER)
    require_project_access(member, "p1")
    with pytest.raises(PermissionDenied):
        require_project_access(member, "p1", admin=True)
    with pytest.raises(NotFound):
        require_project_access(member, "p2")
    require_project_access(Identity("root", GlobalRole.SUPERADMIN), "p2", admin=True)
    require_project_access(Identity("scheduler", GlobalRole.SERVICE), "p2", admin=True)


def test_a_project_in_scope_is_its_canonical_id_once_the_caller_may_act_there() -> None:
    project = "0b1f5b0e-0c1d-4e5f-8a9b-0c1d2e3f4a5b"
    member = Identity("u", GlobalRole.USER, project_id=project, project_role=ProjectRole.USER)

    assert project_in_scope(member, project.upper()) == project  # compared in canonical form
    assert project_in_scope(Identity("root", GlobalRole.SUPERADMIN), f"{{{project}}}", admin=True) == project
    with pytest.raises(PermissionDenied):
        project_in_scope(member, project, admin=True)
    with pytest.raises(NotFound):
        project_in_scope(member, "7c9e6679-7425-40de-944b-e07fc1f90ae7")
    with pytest.raises(InvalidInput):
        project_in_scope(member, "not-an-id")
