"""Signed tokens: user access tokens (gateway) and internal identity tokens.

Access tokens are HS256 JWTs under the gateway's secret, with required
exp/iat/sub/iss, a fixed audience, a token id and the login session they belong
to, so that the gateway can refuse the tokens of a session that was logged out
or revoked before they expire.

Internal identity tokens are EdDSA (Ed25519) JWTs signed by the calling service
with its own key (service_keys.py): the issuer is the signing service, the
audience the receiving service. Each verifier accepts exactly one algorithm, so
neither kind passes as the other, and "none" passes as neither.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from agentmesh_core.errors import Unauthenticated
from agentmesh_core.identity import GlobalRole, Identity, ProjectRole

_ALGORITHM = "HS256"
_IDENTITY_ALGORITHM = "EdDSA"
_USER_AUDIENCE = "agentmesh-api"
USER_TOKEN_ISSUER = "agentmesh-gateway"
_REQUIRED = ["exp", "iat", "sub", "aud", "iss"]
_REQUIRED_USER = [*_REQUIRED, "jti", "sid"]
_REQUIRED_INTERNAL = _REQUIRED
# Signer and receiver run on different machines: a token "issued" a moment in the future is fine.
_CLOCK_SKEW = 5.0
# Remembered tokens (signed or verified) per signer or verifier; the memory is dropped when full.
_CACHE_SIZE = 4096


@dataclass(frozen=True, slots=True)
class AccessClaims:
    """What a verified user access token says."""

    user_id: str
    role: GlobalRole
    session_id: str
    token_id: str


def _decode(
    token: str,
    key: str | Ed25519PublicKey,
    audience: str,
    required: list[str],
    issuer: str,
    algorithm: str = _ALGORITHM,
    leeway: float = 0,
) -> dict[str, Any]:
    try:
        return jwt.decode(
            token,
            key,
            algorithms=[algorithm],
            audience=audience,
            issuer=issuer,
            options={"require": required},
            leeway=leeway,
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


@dataclass(frozen=True, slots=True)
class SignedIdentity:
    """A verified internal identity token: who signed it (issuer) and whom it names."""

    issuer: str
    identity: Identity


class IdentitySigner:
    """Signs caller identities as one service (the issuer), each for one receiver (the audience).

    EdDSA (Ed25519) with the issuer's own private key: only the issuer can sign as
    itself, and a receiver checks both the signature and what that issuer may assert
    (agentmesh_grpc.trust). A token is reused while more than half its life is left,
    so a busy caller signs about once per (identity, receiver) a few minutes.
    """

    def __init__(self, issuer: str, private_key: Ed25519PrivateKey, ttl_seconds: int = 300) -> None:
        self.issuer = issuer
        self._key = private_key
        self._ttl = ttl_seconds
        self._cache: dict[tuple[Identity, str], tuple[str, float]] = {}

    def issue(self, identity: Identity, audience: str) -> str:
        """A token saying issuer vouches for identity, valid at audience only, for ttl_seconds."""
        now = time.time()
        cached = self._cache.get((identity, audience))
        if cached is not None and cached[1] > now:
            return cached[0]
        token = self._sign(identity, audience, int(now))
        if len(self._cache) >= _CACHE_SIZE:
            self._cache.clear()
        self._cache[(identity, audience)] = (token, now + self._ttl / 2)
        return token

    def _sign(self, identity: Identity, audience: str, now: int) -> str:
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "sub": identity.subject,
            "role": identity.role.value,
            "iat": now,
            "exp": now + self._ttl,
            "aud": audience,
        }
        if identity.project_id:
            claims["pid"] = identity.project_id
        if identity.project_role:
            claims["prole"] = identity.project_role.value
        return jwt.encode(claims, self._key, algorithm=_IDENTITY_ALGORITHM, headers={"kid": self.issuer})


class IdentityVerifier:
    """Verifies identity tokens addressed to one receiver, signed by the issuers it knows.

    The issuer is named in the token's header (`kid`) and claims (`iss`), which must
    agree; the signature must be that issuer's. Verified tokens are remembered until
    they expire, so a repeated token costs a dictionary lookup, not a signature check.
    """

    def __init__(self, audience: str, public_keys: Mapping[str, Ed25519PublicKey]) -> None:
        self.audience = audience
        self._keys = dict(public_keys)
        self._verified: dict[str, tuple[SignedIdentity, float]] = {}

    def verify(self, token: str) -> SignedIdentity:
        """The issuer and identity of a well-signed, unexpired token for us; Unauthenticated otherwise."""
        known = self._verified.get(token)
        if known is not None and known[1] > time.time():
            return known[0]
        signed, expires = self._check(token)
        if len(self._verified) >= _CACHE_SIZE:
            self._verified.clear()
        self._verified[token] = (signed, expires)
        return signed

    def _check(self, token: str) -> tuple[SignedIdentity, float]:
        try:
            issuer = jwt.get_unverified_header(token).get("kid")
        except jwt.PyJWTError:
            raise Unauthenticated("invalid identity") from None
        key = self._keys.get(issuer) if isinstance(issuer, str) else None
        if key is None or not isinstance(issuer, str):
            raise Unauthenticated("identity signed by an unknown service")
        claims = _decode(token, key, self.audience, _REQUIRED_INTERNAL, issuer, _IDENTITY_ALGORITHM, _CLOCK_SKEW)
        try:
            role = GlobalRole(claims.get("role", ""))
            project_role = ProjectRole(claims["prole"]) if claims.get("prole") else None
        except ValueError:
            raise Unauthenticated("invalid identity") from None
        identity = Identity(
            subject=str(claims["sub"]),
            role=role,
            project_id=claims.get("pid"),
            project_role=project_role,
        )
        return SignedIdentity(issuer, identity), float(claims["exp"])
