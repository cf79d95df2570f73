"""argon2id password hashing (OWASP minimum: 19 MiB, t=2, p=1) on its own bounded threads.

Hashing is the one CPU-heavy thing the gateway does (~20 ms of a core each).
It runs on a small executor of its own, never asyncio's default pool (which
the database used to share), and at most `threads + queue` hashes wait or run
at once: one more is refused (ResourceExhausted) instead of queued. The hashing
threads also run at a lower scheduling priority (`nice`, Linux): they take the
CPU that is spare, and give way to the threads and processes serving other
requests when there is none, so a flood of logins cannot slow everyone down.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from agentmesh_core.errors import ResourceExhausted

T = TypeVar("T")
log = logging.getLogger(__name__)

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# Verifying against this keeps unknown usernames as slow as wrong passwords.
_DUMMY_HASH = _hasher.hash("agentmesh-dummy-password")
# What a caller refused for a full queue is told to wait.
_BUSY_RETRY_SECONDS = 1.0


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def _lower_priority(nice: int) -> None:
    # On Linux, PRIO_PROCESS with a thread id reprioritises just that thread.
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
    except (AttributeError, OSError) as error:
        log.warning("could not lower the password hashing priority (%s)", type(error).__name__)


class Passwords:
    """Hashes and verifies passwords on `threads` threads, with at most `queue` waiting."""

    def __init__(self, threads: int = 1, queue: int = 8, nice: int = 10) -> None:
        self._executor = ThreadPoolExecutor(
            max_workers=threads, thread_name_prefix="argon2", initializer=_lower_priority, initargs=(nice,)
        )
        self._capacity = threads + queue
        self._admitted = 0
        self.verifications = 0  # how many verifications reached the hasher (benchmarks read it)

    async def hash(self, password: str) -> str:
        """An argon2id hash of password."""
        return await self._run(_hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when password matches; constant work whether or not the user exists."""
        return await self._run(_verify, password_hash, password)

    def check_room(self) -> None:
        """ResourceExhausted when a hash would be refused now (lets callers refuse before other work)."""
        if self._admitted >= self._capacity:
            raise ResourceExhausted("too many logins in progress; retry later", retry_after=_BUSY_RETRY_SECONDS)

    async def _run(self, work: Callable[..., T], *args: str | None) -> T:
        self.check_room()
        self._admitted += 1
        if work is _verify:
            self.verifications += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._executor, work, *args)
        finally:
            self._admitted -= 1

    def close(self) -> None:
        """Stop the threads (queued work is dropped)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
