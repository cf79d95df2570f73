"""Figures for the memory benchmarks: per-round p50s summarised as min/median/max, ratios, load.

Timings on a shared machine are noisy, so every comparison is interleaved (ours and
the raw part take turns, round after round) and reported as the spread of the
rounds' medians plus the ratio of the medians.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass
class Rounds:
    """One measured thing: a value per round (p50 latency in ms, or a rate)."""

    label: str
    unit: str
    values: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    def line(self) -> str:
        low, mid, high = min(self.values), self.median, max(self.values)
        return f"  {self.label:<60} {low:9.2f} {mid:9.2f} {high:9.2f}  {self.unit}"


def header(title: str) -> None:
    print()
    print(title)
    print(f"  {'':<60} {'min':>9} {'median':>9} {'max':>9}  (over the rounds)")


def ratio(label: str, numerator: Rounds, denominator: Rounds, goal: str = "") -> float:
    value = numerator.median / denominator.median
    print(f"  {label}: {value:.2f}x{f'  ({goal})' if goal else ''}")
    return value


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started
