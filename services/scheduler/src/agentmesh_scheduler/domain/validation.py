"""Checks on client input: triggers, time zones and payloads.

Payloads follow the platform's one free-form JSON rule (agentmesh_core.json_values)
with the scheduler's size cap. Every failure is an InvalidInput with a message
written for the client; the text of library exceptions never reaches it.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, timedelta

from croniter import CroniterBadCronError, CroniterBadDateError, CroniterError, croniter

from agentmesh_core.errors import InvalidInput
from agentmesh_core.json_values import check_json
from agentmesh_scheduler.domain.models import (
    CronTrigger,
    IntervalTrigger,
    JsonValue,
    OneOffTrigger,
    Trigger,
)

CRON_MAX_LENGTH = 100
MIN_INTERVAL_SECONDS = 1
MAX_INTERVAL_SECONDS = 366 * 24 * 3600
MAX_RUN_AT_AHEAD = timedelta(days=10 * 366)
TIME_ZONE_MAX_LENGTH = 64
PAYLOAD_MAX_BYTES = 32 * 1024

# Numbers, ranges, steps, lists, and month/day names in their fields: the cron
# both croniter and Temporal read the same way ("L", "W", "#", "?" and "H"
# differ between them or are not supported by one).
_NUMERIC_FIELD = re.compile(r"^[0-9*,/\-]+$")
_NAMED_FIELD = re.compile(r"^(?:[0-9*,/\-]|[A-Za-z]{3})+$")
_CRON_FIELDS = (_NUMERIC_FIELD, _NUMERIC_FIELD, _NUMERIC_FIELD, _NAMED_FIELD, _NAMED_FIELD)
_CRON_HELP = "cron must have 5 fields: minute hour day-of-month month day-of-week"


def cron_expression(expression: str, time_zone: str) -> CronTrigger:
    """A 5-field cron expression that parses and fires at least once."""
    expression = " ".join(expression.split())
    if not expression:
        raise InvalidInput("cron must not be empty")
    if len(expression) > CRON_MAX_LENGTH:
        raise InvalidInput(f"cron must be at most {CRON_MAX_LENGTH} characters")
    fields = expression.split(" ")
    if len(fields) != 5:
        raise InvalidInput(_CRON_HELP)
    if not all(pattern.match(field) for pattern, field in zip(_CRON_FIELDS, fields, strict=True)):
        raise InvalidInput("cron may use only numbers, names, '*', ',', '-' and '/'")
    start = datetime.now(zoneinfo.ZoneInfo(time_zone))
    try:
        croniter(expression, start).get_next(datetime)
    except CroniterBadDateError:
        raise InvalidInput(f"cron expression never fires: {expression!r}") from None
    except (CroniterBadCronError, CroniterError, ValueError, KeyError, IndexError):
        raise InvalidInput(f"invalid cron expression: {expression!r}") from None
    return CronTrigger(expression)


def interval_seconds(seconds: int) -> IntervalTrigger:
    """An interval between one second and a year."""
    if not MIN_INTERVAL_SECONDS <= seconds <= MAX_INTERVAL_SECONDS:
        raise InvalidInput(f"interval_seconds must be between {MIN_INTERVAL_SECONDS} and {MAX_INTERVAL_SECONDS}")
    return IntervalTrigger(seconds)


def run_at(when: datetime, now: datetime) -> OneOffTrigger:
    """A one-off time in the future (and not absurdly far in it)."""
    if when.tzinfo is None:
        raise InvalidInput("run_at must carry a time zone")
    when = when.astimezone(UTC)
    if when <= now:
        raise InvalidInput("run_at must be in the future")
    if when - now > MAX_RUN_AT_AHEAD:
        raise InvalidInput("run_at must be within 10 years")
    return OneOffTrigger(when)


def time_zone(name: str) -> str:
    """An IANA time zone name; "UTC" when empty."""
    name = name.strip()
    if not name:
        return "UTC"
    if len(name) > TIME_ZONE_MAX_LENGTH or name.startswith(("/", ".")) or ".." in name:
        raise InvalidInput("time_zone must be an IANA time zone name such as Europe/Berlin")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise InvalidInput(f"unknown time zone: {name!r}") from None
    return name


def payload(value: JsonValue) -> JsonValue:
    """A payload must say something, keep the JSON rule, and fit the size cap (as UTF-8 JSON)."""
    if value is None:
        raise InvalidInput("payload is required")
    if isinstance(value, str) and not value.strip():
        raise InvalidInput("payload must not be empty")
    if isinstance(value, dict | list) and not value:
        raise InvalidInput("payload must not be empty")
    return check_json(value, "payload", max_bytes=PAYLOAD_MAX_BYTES)


def trigger(raw: Trigger | None, zone: str, now: datetime) -> Trigger:
    """Validate whichever trigger was given; exactly one is required."""
    match raw:
        case CronTrigger(expression):
            return cron_expression(expression, zone)
        case IntervalTrigger(seconds):
            return interval_seconds(seconds)
        case OneOffTrigger(when):
            return run_at(when, now)
        case _:
            raise InvalidInput("exactly one of cron, interval_seconds or run_at is required")
