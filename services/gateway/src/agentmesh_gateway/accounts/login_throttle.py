"""Login throttling: per account and per client address, answered 429 with a retry time.

The policy (the numbers are settings):

- An account admits a few attempts per window ("5/minute;20/hour" by default)
  from all addresses together, counted *before* the password is checked (so a
  burst of parallel guesses cannot all slip past the count) and forgotten when
  the account logs in successfully. A guesser therefore reaches the password
  hasher 5 times a minute and 20 times an hour per account, and the moving
  windows make the wait grow with the failures: a minute, then the hour.
  While the account waits, the real user waits too (from any address): the
  price of protecting the password; it ends when the window moves.
- A client address admits a number of *failed* logins per window ("20/minute;
  200/hour"), so one address cannot spray guesses over many accounts.
  Successful logins do not count: many users behind one NAT keep logging in.

The counts live in this replica's memory (agentmesh_core.quotas): N gateway
replicas admit N times the budget, which keeps the numbers small enough; a
shared `limits` storage URI makes them one budget if that ever matters.
"""

from __future__ import annotations

from agentmesh_core.errors import ResourceExhausted
from agentmesh_core.quotas import RateLimit

# Keys are bounded so that a hostile username cannot bloat the counters.
_MAX_KEY = 128


class LoginThrottle:
    """Decides, before a password is checked, whether this login may be tried now."""

    def __init__(self, per_account: str, per_address: str, storage_uri: str = "memory://") -> None:
        self._accounts = RateLimit(per_account, "login attempts", storage_uri)
        self._addresses = RateLimit(per_address, "failed logins", storage_uri)

    def admit(self, username: str, address: str) -> None:
        """Count an attempt on the account, or raise ResourceExhausted (with retry_after)."""
        account, address = username[:_MAX_KEY], address[:_MAX_KEY]
        wait = self._addresses.retry_after(address) or self._accounts.retry_after(account)
        if wait:
            # One message for both limits: a refusal does not say which one it was.
            raise ResourceExhausted("too many login attempts; retry later", retry_after=wait)
        self._accounts.hit(account)

    def failed(self, address: str) -> None:
        """A login from address failed."""
        self._addresses.hit(address[:_MAX_KEY])

    def succeeded(self, username: str) -> None:
        """The account logged in: its failures are forgiven."""
        self._accounts.clear(username[:_MAX_KEY])
