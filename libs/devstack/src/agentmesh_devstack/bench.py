"""Benchmark figures: rounds summarised as min/median/max, ratios of medians, the load average.

Timings on a shared machine are noisy, so every comparison is interleaved (ours and
the raw part take turns, round after round) and reported as the spread of the
rounds' values plus the ratio of the medians.

Every ratio a benchmark prints through `ratio()` is also recorded, with both sides'
values and the load average, as one JSON line in the file that AGENTMESH_BENCH_RESULTS
names (`make bench` sets it; scripts/bench_report.py turns the file into the report
under bench/results/). A benchmark run by hand, with the variable unset, only prints.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

RESULTS_ENV = "AGENTMESH_BENCH_RESULTS"


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
    """Print numerator's median / denominator's median, and record the comparison."""
    value = numerator.median / denominator.median
    print(f"  {label}: {value:.2f}x{f'  ({goal})' if goal else ''}")
    record(label, value, numerator, denominator, goal)
    return value


def record(label: str, value: float, numerator: Rounds, denominator: Rounds, goal: str = "") -> None:
    """Append one comparison to the results file, if `make bench` named one."""
    path = os.environ.get(RESULTS_ENV)
    if not path:
        return
    line = {
        "bench": Path(sys.argv[0]).stem,
        "label": label,
        "ratio": value,
        "goal": goal,
        "numerator": asdict(numerator),
        "denominator": asdict(denominator),
        "load": list(os.getloadavg()),
        "cores": os.cpu_count(),
        "time": time.time(),
    }
    with open(path, "a", encoding="utf-8") as results:
        results.write(json.dumps(line) + "\n")


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def p50_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def tree_cpu_seconds(pid: int, leave_out: str = "") -> float:
    """CPU seconds used so far by process pid and its children, those whose name starts with leave_out left out.

    Children that have exited count too (a server's short-lived workers, say), as far as pid has reaped them.
    """
    import psutil  # type: ignore[import-untyped]  # here: only the benches that measure CPU need it (no stubs)

    root = psutil.Process(pid)
    reaped = root.cpu_times()
    total = reaped.children_user + reaped.children_system
    for process in (root, *root.children(recursive=True)):
        try:
            if leave_out and process.name().startswith(leave_out):
                continue
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def timed(work: Callable[[], Awaitable[object]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started
