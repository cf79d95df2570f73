"""StopSignals: the first stop signal interrupts once, at a safe point; later ones are ignored."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from agentmesh_devstack.signals import STOP_SIGNALS, StopSignals


@pytest.fixture
def stop_signals() -> Iterator[StopSignals]:
    saved = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    handler = StopSignals()
    handler.install()
    try:
        yield handler
    finally:
        for signum, previous in saved.items():
            signal.signal(signum, previous)


def _send(signum: int) -> None:
    os.kill(os.getpid(), signum)  # the handler runs in the main thread before kill() returns to Python code


def test_first_signal_interrupts_and_later_ones_are_ignored(stop_signals: StopSignals) -> None:
    with pytest.raises(KeyboardInterrupt):
        _send(signal.SIGTERM)
    for signum in STOP_SIGNALS:  # make forwarding SIGTERM, a second Ctrl-C, a hang-up: the stop goes on
        _send(signum)
    assert stop_signals.stopping


def test_a_signal_during_a_deferred_step_is_raised_when_the_step_ends(stop_signals: StopSignals) -> None:
    finished = []
    with pytest.raises(KeyboardInterrupt), stop_signals.deferred():
        _send(signal.SIGINT)
        finished.append("started and recorded")
    assert finished == ["started and recorded"]


def test_no_signal_once_the_clean_stop_began(stop_signals: StopSignals) -> None:
    stop_signals.ignore_further()
    _send(signal.SIGTERM)
    _send(signal.SIGINT)
    with stop_signals.deferred():
        pass
