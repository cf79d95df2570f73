"""Rules and the window counts they read.

A rule trips for one agent of one project (and one subject, e.g. a schedule, where the
events name one) when `count` of its events (distinct ids) fall within `window`,
counted by the events' own times, so every replica that reads the same stream of
events counts the same. A rule trips at most once per agent (and subject) per
window bucket (time cut into windows from the epoch): the bucket is in the alert's
dedup key, so replicas, restarts and replays of the stream raise an alert once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from agentmesh_agents.domain.monitoring.events import SystemEvent, SystemEventKind

_NOUNS = {
    SystemEventKind.TURN_FAILED: "failed turns",
    SystemEventKind.TOOL_REFUSED: "refused tool calls",
    SystemEventKind.MAILBOX_STALE: "reports of a stale mailbox",
    SystemEventKind.TURN_PARKED_LONG: "turns parked too long",
    SystemEventKind.SCHEDULE_FAILED: "failed schedule runs",
    SystemEventKind.JOB_FAILED: "failed jobs",
    SystemEventKind.QUOTA_REJECTED: "minutes with refused requests (message rate, backlog or inference quota)",
}


@dataclass(frozen=True, slots=True)
class Rule:
    """Trip when `count` events of `kind` for one agent fall within `window`.

    `pause`: a trip may pause the agent (when its project allows it); False for kinds whose
    agent is not the one at fault (a schedule's run fails because its target is paused or gone).
    """

    kind: SystemEventKind
    count: int
    window: timedelta
    pause: bool = True

    def __post_init__(self) -> None:
        if self.count < 1 or self.window <= timedelta(0):
            raise ValueError("a rule needs a count of at least 1 and a positive window")

    @property
    def name(self) -> str:
        return f"{self.kind.value}-{self.count}-in-{int(self.window.total_seconds())}s"

    def describe(self) -> str:
        """E.g. "5 failed turns within 10 minutes"."""
        seconds = int(self.window.total_seconds())
        span = f"{seconds // 60} minutes" if seconds % 60 == 0 else f"{seconds} seconds"
        return f"{self.count} {_NOUNS[self.kind]} within {span}"


# The defaults (settings may replace them): an agent failing 5 times in 10 minutes, refusing
# tools 5 times in 10 minutes, a stale mailbox or a long-parked turn once (their sweep decides
# what "stale" is; the window is how often the alert may repeat while it stays so), a project
# whose messages were refused (rate, back-pressure) in 5 minutes of 10, a schedule whose runs
# failed 3 times in an hour (its events' subject; alerts without pausing its target agent), 3 jobs failed
# at one agent's step in an hour (no pause either: its failed turns have their own rule).
DEFAULT_RULES = (
    Rule(SystemEventKind.TURN_FAILED, 5, timedelta(minutes=10)),
    Rule(SystemEventKind.TOOL_REFUSED, 5, timedelta(minutes=10)),
    Rule(SystemEventKind.MAILBOX_STALE, 1, timedelta(hours=1)),
    Rule(SystemEventKind.TURN_PARKED_LONG, 1, timedelta(hours=6)),
    Rule(SystemEventKind.QUOTA_REJECTED, 5, timedelta(minutes=10)),
    Rule(SystemEventKind.SCHEDULE_FAILED, 3, timedelta(hours=1), pause=False),
    Rule(SystemEventKind.JOB_FAILED, 3, timedelta(hours=1), pause=False),
)


@dataclass(frozen=True, slots=True)
class Trip:
    """A rule that tripped for an agent, at `event` (the one that reached the count)."""

    rule: Rule
    event: SystemEvent
    count: int
    bucket: int

    @property
    def key(self) -> str:
        """Deterministic: the same trip seen by two replicas (or after a restart) has the same key."""
        subject = f":{self.event.subject}" if self.event.subject else ""
        return f"monitor:{self.rule.name}:{self.event.agent_id or '-'}{subject}:{self.bucket}"


def _bucket(at: datetime, window: timedelta) -> int:
    return int(at.timestamp() // window.total_seconds())


class RuleBook:
    """Applies the rules to a stream of events, keeping per-agent window counts in memory."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self.rules = tuple(rules)
        # (rule, project, agent, subject) -> event id -> time, oldest first; the bucket it last tripped in.
        self._seen: dict[tuple[Rule, str, str, str], OrderedDict[str, datetime]] = {}
        self._tripped: dict[tuple[Rule, str, str, str], int] = {}

    @property
    def longest_window(self) -> timedelta:
        return max((rule.window for rule in self.rules), default=timedelta(0))

    def observe(self, event: SystemEvent) -> list[Trip]:
        """Count the event; the rules it trips (an event seen before is not counted again)."""
        trips = []
        for rule in self.rules:
            if rule.kind is not event.kind:
                continue
            key = (rule, event.project_id, event.agent_id, event.subject)
            seen = self._seen.setdefault(key, OrderedDict())
            if event.id in seen:
                continue
            seen[event.id] = event.occurred_at
            start = event.occurred_at - rule.window
            in_window = sum(1 for at in seen.values() if start < at <= event.occurred_at)
            bucket = _bucket(event.occurred_at, rule.window)
            if in_window >= rule.count and self._tripped.get(key) != bucket:
                self._tripped[key] = bucket
                trips.append(Trip(rule, event, in_window, bucket))
        return trips

    def forget_before(self, now: datetime) -> None:
        """Drop what no window can count any more (bounded memory on a long run)."""
        for key in list(self._seen):
            rule = key[0]
            seen = self._seen[key]
            for event_id, at in list(seen.items()):
                if at <= now - 2 * rule.window:
                    del seen[event_id]
            if not seen:
                del self._seen[key]
                self._tripped.pop(key, None)
