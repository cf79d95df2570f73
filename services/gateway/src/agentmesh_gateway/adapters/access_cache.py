"""Who may do what, remembered between the requests of one gateway replica.

Every authenticated request needs its session (live? whose? that user's state)
and, for a project route, the project and the caller's role in it: two database
round trips per request. This keeps both, and forgets them the moment they change:

- Every write that changes them announces it (`announce`: a NOTIFY in the writing
  transaction, so it is heard exactly when the change is committed) and forgets
  it locally once committed (`forget`), so this replica reads its own writes.
- Every replica LISTENs (agentmesh_db.notifications.Listener) and forgets what
  the others announce. While the listener is not listening (starting, or its
  connection was lost) nothing is served from here and nothing is kept, and on
  every reset everything is dropped: a lost notification can never leave a
  stale grant behind.
- A notification reaches a replica some time after the commit (well under a
  millisecond usually, several on a busy host), so before trusting what it
  keeps, a request makes the listener sync: one round trip on the listening
  connection, shared by the requests waiting at that moment, after which every
  change committed before the request came is known. The session and the role
  lookups of one request share one sync (`_synced_at`, per request task). A
  request that will need it starts it as it arrives (`begin_sync`, from
  AccessSyncMiddleware), so that the round trip overlaps the request's routing
  and token check instead of following them.
- A read that started before a change and ends after it must not store what it
  read: each fill carries the generation it started in, and any invalidation in
  between makes it stale (`generation`).
- Entries also expire after `ttl_seconds`, a backstop rather than the mechanism.

Announced keys: `user:<id>` (the user's state, sessions or memberships changed),
`session:<id>` (that session was revoked), `project:<id>` (the project changed
or is gone). Anything else drops everything.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Generic, Protocol, TypeVar

from sqlalchemy import Connection

from agentmesh_core.identity import ProjectRole
from agentmesh_db.notifications import notify
from agentmesh_gateway.accounts.models import Project, User

CHANNEL = "agentmesh_gateway_access"
# A sync made this recently by the same task (the same request) still counts.
SYNC_REUSE_SECONDS = 0.5
SessionEntry = tuple[User, bool]  # the user and whether the session is live
RoleEntry = tuple[Project, ProjectRole | None]
_synced_at: ContextVar[float] = ContextVar("agentmesh_access_synced_at", default=-math.inf)
# A sync this request task began early (begin_sync): when it began, and its answer.
_begun: ContextVar[tuple[float, asyncio.Future[bool]] | None] = ContextVar("agentmesh_access_sync_begun", default=None)
K = TypeVar("K")
V = TypeVar("V")


def user_key(user_id: str) -> str:
    return f"user:{user_id}"


def session_key(session_id: str) -> str:
    return f"session:{session_id}"


def project_key(project_id: str) -> str:
    return f"project:{project_id}"


def announce(connection: Connection, *keys: str) -> None:
    """Tell every replica, when this transaction commits, that these keys changed."""
    for key in keys:
        notify(connection, CHANNEL, key)


class Feed(Protocol):
    """Where the announcements are heard (agentmesh_db.notifications.Listener)."""

    @property
    def listening(self) -> bool:
        """Whether every announcement since the last reset has been heard or is on its way."""
        ...

    def begin_sync(self) -> asyncio.Future[bool]:
        """Start handing over every announcement committed before the call; False when that cannot be known."""
        ...


class _Entries(Generic[K, V]):
    """A bounded map of expiring values (oldest out first when full)."""

    def __init__(self, max_entries: int) -> None:
        self.values: dict[K, tuple[float, V]] = {}
        self._max = max_entries

    def get(self, key: K, now: float) -> V | None:
        found = self.values.get(key)
        if found is None:
            return None
        if found[0] <= now:
            del self.values[key]
            return None
        return found[1]

    def put(self, key: K, value: V, expires: float) -> None:
        self.values.pop(key, None)
        if len(self.values) >= self._max:
            del self.values[next(iter(self.values))]
        self.values[key] = (expires, value)

    def drop_where(self, match: Callable[[K, V], bool]) -> None:
        for key in [k for k, (_, v) in self.values.items() if match(k, v)]:
            del self.values[key]


class AccessCache:
    """Sessions by id and roles by (project, user); trusted only after the feed synced."""

    def __init__(
        self, ttl_seconds: float, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        self._sessions: _Entries[str, SessionEntry] = _Entries(max_entries)
        self._roles: _Entries[tuple[str, str], RoleEntry] = _Entries(max_entries)
        self._generation = 0
        self._feed: Feed | None = None

    def listen(self, feed: Feed) -> None:
        """Trust what is kept only while feed hears every announcement."""
        self._feed = feed

    async def session(self, session_id: str) -> tuple[SessionEntry | None, int | None]:
        """What is kept for the session (None: read it), and the generation a fill must present."""
        if not await self._trusted():
            return None, None
        return self._sessions.get(session_id, self._clock()), self._generation

    def keep_session(self, session_id: str, entry: SessionEntry, generation: int | None) -> None:
        if self._current(generation):
            self._sessions.put(session_id, entry, self._clock() + self._ttl)

    async def role(self, project_id: str, user_id: str) -> tuple[RoleEntry | None, int | None]:
        """What is kept for the user in the project (None: read it), and the generation a fill must present."""
        if not await self._trusted():
            return None, None
        return self._roles.get((project_id, user_id), self._clock()), self._generation

    def keep_role(self, project_id: str, user_id: str, entry: RoleEntry, generation: int | None) -> None:
        if self._current(generation):
            self._roles.put((project_id, user_id), entry, self._clock() + self._ttl)

    def forget(self, *keys: str) -> None:
        """Drop what the keys name (announced by this replica or heard from another)."""
        for key in keys:
            self._forget(*key.partition(":"))

    def _forget(self, kind: str, colon: str, value: str) -> None:
        self._generation += 1
        if kind == "user" and colon:
            self._sessions.drop_where(lambda _, entry: entry[0].id == value)
            self._roles.drop_where(lambda pair, _: pair[1] == value)
        elif kind == "session" and colon:
            self._sessions.values.pop(value, None)
        elif kind == "project" and colon:
            self._roles.drop_where(lambda pair, _: pair[0] == value)
        else:
            self.clear()

    def clear(self) -> None:
        """Drop everything (the listener stopped listening: notifications may have been missed)."""
        self._generation += 1
        self._sessions.values.clear()
        self._roles.values.clear()

    def begin_sync(self) -> None:
        """Start this request task's sync now; its first lookup awaits it (nothing while not caching)."""
        if self._ttl > 0 and self._feed is not None:
            _begun.set((time.monotonic(), self._feed.begin_sync()))

    async def _trusted(self) -> bool:
        if self._ttl <= 0 or self._feed is None:
            return False
        asked = time.monotonic()
        if asked - _synced_at.get() < SYNC_REUSE_SECONDS and self._feed.listening:
            return True
        begun = _begun.get()
        _begun.set(None)
        if begun is not None and asked - begun[0] < SYNC_REUSE_SECONDS:
            asked, answer = begun  # begun as the request arrived, after anything it must see was committed
        else:
            answer = self._feed.begin_sync()
        if not await asyncio.shield(answer):
            return False
        _synced_at.set(asked)  # the sync began after this
        return True

    def _current(self, generation: int | None) -> bool:
        listening = self._feed is not None and self._feed.listening
        return listening and generation is not None and generation == self._generation
