"""Access tokens verified once are remembered until they expire, never longer."""

from __future__ import annotations

import time

import pytest

from agentmesh_core.errors import Unauthenticated
from agentmesh_core.identity import GlobalRole
from agentmesh_core.tokens import AccessClaims, AccessTokens
from agentmesh_gateway.accounts.verified_tokens import VerifiedTokens

SECRET = "a-test-secret-that-is-long-enough-for-hs256"


class CountingTokens(AccessTokens):
    def __init__(self, ttl_seconds: int = 300) -> None:
        super().__init__(SECRET, ttl_seconds)
        self.verified = 0

    def verify(self, token: str) -> AccessClaims:
        self.verified += 1
        return super().verify(token)


def test_a_token_is_verified_once_then_remembered() -> None:
    tokens = CountingTokens()
    memo = VerifiedTokens(tokens)
    token = tokens.issue("u-1", GlobalRole.USER, "s-1")
    first, second = memo.verify(token), memo.verify(token)
    assert first == second and first.user_id == "u-1" and first.session_id == "s-1"
    assert tokens.verified == 1


def test_a_remembered_token_past_its_exp_is_verified_again() -> None:
    tokens = CountingTokens(ttl_seconds=300)
    now = [time.time()]
    memo = VerifiedTokens(tokens, clock=lambda: now[0])
    token = tokens.issue("u-1", GlobalRole.USER, "s-1")
    memo.verify(token)
    now[0] += 301
    memo.verify(token)  # PyJWT, on the real clock, still finds it valid
    assert tokens.verified == 2


def test_expired_and_forged_tokens_are_refused_every_time() -> None:
    expired = AccessTokens(SECRET, -10).issue("u-1", GlobalRole.USER, "s-1")
    forged = AccessTokens("another-secret-that-is-long-enough-too", 300).issue("u-1", GlobalRole.SUPERADMIN, "s-1")
    memo = VerifiedTokens(CountingTokens())
    for token in (expired, forged, expired, forged, "not.a.token"):
        with pytest.raises(Unauthenticated):
            memo.verify(token)
