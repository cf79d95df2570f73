"""Stop requests for `make run`: SIGINT, SIGTERM and SIGHUP each mean "stop cleanly", once.

A stop rarely arrives as one signal. Ctrl-C or `kill -TERM -<pgid>` reaches every
process of the group, GNU make forwards SIGTERM to its recipe once more, `timeout`
signals its child and then the whole group, process managers repeat themselves and
people press Ctrl-C twice. The children run in sessions of their own (so the stop
can go in order), which means nobody but this process stops them: a second signal
that raised KeyboardInterrupt inside the clean stop would leave them all running.
So only the first signal interrupts the main thread; every later one is logged and
ignored.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class StopSignals:
    """Turns the first stop signal into one KeyboardInterrupt, raised at a safe point."""

    def __init__(self) -> None:
        self.stopping = False
        self._deferring = 0
        self._pending = False

    def install(self) -> None:
        """Handle every stop signal, even one the parent shell left ignored (Ctrl-C must work)."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._handle)

    def _handle(self, signum: int, _frame: FrameType | None) -> None:
        if self.stopping:
            log.info("already stopping; %s ignored", signal.Signals(signum).name)
            return
        self.stopping = True  # first, so a signal nested in this handler is ignored too
        if self._deferring:
            self._pending = True
            return
        raise KeyboardInterrupt

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """Hold a stop request until the block ends, then raise it.

        For the steps that start processes: an interrupt between starting a
        process and recording it would leave that process behind.
        """
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self._pending and not self._deferring:
            self._pending = False
            raise KeyboardInterrupt

    def ignore_further(self) -> None:
        """The clean stop begins: from now on no signal may interrupt it."""
        self.stopping = True
