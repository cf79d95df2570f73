"""Access tokens already verified, remembered until they expire.

A bearer token is presented on every request, and verifying its HMAC signature
with PyJWT costs a few hundred microseconds (most of it PyJWT checking that the
key is not a public key, each time). A token that verified once is the same
token until it expires, so its claims are remembered by its exact text, bounded
in number. Whether its session is still live is asked on every request anyway
(Accounts.authenticate): revocation does not wait for the token to expire.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable

from agentmesh_core.errors import Unauthenticated
from agentmesh_core.tokens import AccessClaims, AccessTokens

# Enough for every token in use on a replica; when full, the memory starts over.
MAX_REMEMBERED = 4096


def _expiry(token: str) -> float:
    """The exp claim of a token whose signature was just verified (so its payload is authentic)."""
    payload = token.split(".")[1]
    return float(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["exp"])


class VerifiedTokens:
    """AccessTokens.verify, remembered per token until its exp."""

    def __init__(self, tokens: AccessTokens, clock: Callable[[], float] = time.time) -> None:
        self._tokens = tokens
        self._clock = clock
        self._known: dict[str, tuple[AccessClaims, float]] = {}

    def verify(self, token: str) -> AccessClaims:
        """The claims of a well-signed, unexpired token of ours; Unauthenticated otherwise."""
        known = self._known.get(token)
        if known is not None and known[1] > self._clock():
            return known[0]
        claims = self._tokens.verify(token)  # an expired one raises here
        try:
            expires = _expiry(token)
        except (IndexError, ValueError, KeyError, TypeError):  # verified, so never; but never trust a parse
            raise Unauthenticated("invalid token") from None
        if len(self._known) >= MAX_REMEMBERED:
            self._known.clear()
        self._known[token] = (claims, expires)
        return claims
