"""Project API keys: what OpenAI clients send instead of a user's JWT.

A key is `amk_` plus 43 characters of URL-safe randomness (256 bits). It is shown
once, when made; the store keeps only its SHA-256 (a slow password hash buys
nothing for a random secret of that size), its first 12 characters for display,
a name, who made it, an optional expiry and when it was last used. A key acts
for its project only, with a member's rights on the OpenAI routes; deleting a key
revokes it (the row stays, so usage stays attributed to it).

A key that authenticated is remembered for CACHE_SECONDS, so that a burst of
calls does not ask the database once per call. A revocation through this
process takes effect at once; through another replica, within CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from agentmesh_core.errors import InvalidInput, NotFound, Unauthenticated

log = logging.getLogger(__name__)

KEY_PREFIX = "amk_"
DISPLAY_CHARS = 12
MAX_NAME_CHARS = 100
MAX_KEYS_PER_PROJECT = 100
# last_used is written at most this often per key (one write per call would cost more than the call).
TOUCH_INTERVAL = timedelta(seconds=60)
CACHE_SECONDS = 10.0
MAX_CACHED_KEYS = 10_000


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A project API key, without its secret."""

    id: str
    project_id: str
    name: str
    prefix: str
    created_by: str | None
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None = None

    def usable_at(self, now: datetime) -> bool:
        """Neither revoked nor expired."""
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A new key and its secret, which is shown this once."""

    key: ApiKey
    secret: str


class ApiKeyStore(Protocol):
    """Where keys are kept (SqlApiKeyStore in adapters/)."""

    async def add(self, key: ApiKey, key_hash: str) -> None: ...

    async def count_active(self, project_id: str) -> int: ...

    async def list_active(self, project_id: str) -> list[ApiKey]: ...

    async def by_hash(self, key_hash: str) -> ApiKey | None: ...

    async def revoke(self, project_id: str, key_id: str, at: datetime) -> bool: ...

    async def touch(self, key_id: str, at: datetime) -> None: ...


def looks_like_api_key(token: str) -> bool:
    """True for a bearer token in the API-key format (JWTs never start so)."""
    return token.startswith(KEY_PREFIX)


def key_hash(secret: str) -> str:
    """What the store keeps of a key."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _utcnow() -> datetime:
    return datetime.now(UTC)


class ApiKeys:
    """Make, list, revoke and check project API keys."""

    def __init__(self, store: ApiKeyStore, new_id: Callable[[], str], clock: Callable[[], datetime] = _utcnow) -> None:
        self._store = store
        self._new_id = new_id
        self._clock = clock
        self._touched: dict[str, datetime] = {}
        self._pending: set[asyncio.Task[None]] = set()
        self._cache: dict[str, tuple[ApiKey, float]] = {}  # key hash -> (key, monotonic expiry)
        # One store read per key hash at a time: a burst of calls with a key not cached (the
        # first, or after the cache expired) waits for that one read instead of queueing its own.
        self._reading: dict[str, asyncio.Future[ApiKey | None]] = {}
        self._revocations = 0  # a read begun before a revocation does not fill the cache

    async def create(self, project_id: str, user_id: str, name: str, expires_at: datetime | None) -> IssuedKey:
        """A new key for the project; the returned secret is never available again."""
        name = name.strip()
        if not 1 <= len(name) <= MAX_NAME_CHARS:
            raise InvalidInput(f"name must be 1 to {MAX_NAME_CHARS} characters")
        now = self._clock()
        if expires_at is not None and expires_at <= now:
            raise InvalidInput("expires_at must be in the future")
        if await self._store.count_active(project_id) >= MAX_KEYS_PER_PROJECT:
            raise InvalidInput(f"a project has at most {MAX_KEYS_PER_PROJECT} API keys; delete one first")
        secret = KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=self._new_id(),
            project_id=project_id,
            name=name,
            prefix=secret[:DISPLAY_CHARS],
            created_by=user_id,
            created_at=now,
            expires_at=expires_at,
            last_used_at=None,
        )
        await self._store.add(key, key_hash(secret))
        log.info("API key %s (%s) created in project %s", key.id, key.prefix, project_id)
        return IssuedKey(key, secret)

    async def list(self, project_id: str) -> list[ApiKey]:
        """The project's keys that are not revoked (expired ones included), newest first."""
        return await self._store.list_active(project_id)

    async def revoke(self, project_id: str, key_id: str) -> None:
        """Revoke a key of the project; NotFound when it has no such key."""
        if not await self._store.revoke(project_id, key_id, self._clock()):
            raise NotFound("API key not found")
        self._revocations += 1
        self._cache = {digest: entry for digest, entry in self._cache.items() if entry[0].id != key_id}
        log.info("API key %s revoked in project %s", key_id, project_id)

    async def authenticate(self, secret: str) -> ApiKey:
        """The usable key with this secret; Unauthenticated for anything else."""
        key = await self._lookup(key_hash(secret)) if looks_like_api_key(secret) else None
        now = self._clock()
        if key is None or not key.usable_at(now):
            raise Unauthenticated("invalid, revoked or expired API key")
        self._touch(key, now)
        return key

    async def _lookup(self, digest: str) -> ApiKey | None:
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > time.monotonic():
            return cached[0]
        reading = self._reading.get(digest)
        if reading is None:
            reading = self._reading[digest] = asyncio.ensure_future(self._read(digest))
            reading.add_done_callback(lambda _: self._reading.pop(digest, None))
        # Shielded: a caller that goes away does not cancel the read the others wait for.
        return await asyncio.shield(reading)

    async def _read(self, digest: str) -> ApiKey | None:
        revocations = self._revocations
        key = await self._store.by_hash(digest)
        if revocations != self._revocations:
            return key  # maybe read before the revocation committed: answer this call, cache nothing
        if key is None:
            self._cache.pop(digest, None)
        else:
            if len(self._cache) >= MAX_CACHED_KEYS:
                self._cache.clear()  # rare (that many keys in 10 s): start over rather than track ages
            self._cache[digest] = (key, time.monotonic() + CACHE_SECONDS)
        return key

    def _touch(self, key: ApiKey, now: datetime) -> None:
        last = self._touched.get(key.id) or key.last_used_at
        if last is not None and now - last < TOUCH_INTERVAL:
            return
        self._touched[key.id] = now
        # In the background: the call it records need not wait for the write.
        task = asyncio.create_task(self._store.touch(key.id, now))
        self._pending.add(task)
        task.add_done_callback(self._touch_done)

    def _touch_done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("could not record an API key's last use: %s", type(task.exception()).__name__)

    async def drain(self) -> None:
        """Wait for the background last-use writes (tests, shutdown)."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
