"""Validation of triggers, time zones and payloads."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from agentmesh_core.errors import InvalidInput
from agentmesh_scheduler.domain import validation
from agentmesh_scheduler.domain.models import CronTrigger, IntervalTrigger, OneOffTrigger

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "expression",
    ["*/5 * * * *", "0 9 * * mon-fri", "0 0 1 jan *", "15,45 8-18/2 * * 1-5", "  0   9 * *   MON  "],
)
def test_valid_cron_is_normalized(expression: str) -> None:
    trigger = validation.cron_expression(expression, "Europe/Berlin")
    assert trigger == CronTrigger(" ".join(expression.split()))


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("", "must not be empty"),
        ("* * * *", "5 fields"),
        ("* * * * * *", "5 fields"),
        ("@daily", "5 fields"),
        ("61 * * * *", "invalid cron"),
        ("* 24 * * *", "invalid cron"),
        ("0 0 L * *", "only numbers"),
        ("0 0 * * 5#2", "only numbers"),
        ("0 0 ? * *", "only numbers"),
        ("H * * * *", "only numbers"),
        ("0 0 * * monday", "invalid cron"),
        ("0 0 * * 1L", "only numbers"),
        ("0 0 30 2 *", "never fires"),
        ("* * * * " + "1," * 60 + "1", "at most"),
    ],
)
def test_invalid_cron_is_rejected(expression: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validation.cron_expression(expression, "UTC")


@pytest.mark.parametrize("seconds", [1, 2, 3600, validation.MAX_INTERVAL_SECONDS])
def test_interval_within_bounds(seconds: int) -> None:
    assert validation.interval_seconds(seconds) == IntervalTrigger(seconds)


@pytest.mark.parametrize("seconds", [0, -1, validation.MAX_INTERVAL_SECONDS + 1, 2**62])
def test_interval_out_of_bounds(seconds: int) -> None:
    with pytest.raises(InvalidInput, match="interval_seconds"):
        validation.interval_seconds(seconds)


def test_run_at_in_the_future_is_kept_in_utc() -> None:
    berlin = timezone(timedelta(hours=1))
    trigger = validation.run_at(datetime(2026, 11, 24, 14, 0, tzinfo=berlin), NOW)
    assert trigger == OneOffTrigger(datetime(2026, 11, 24, 13, 0, tzinfo=UTC))


@pytest.mark.parametrize("when", [NOW, NOW - timedelta(seconds=1), datetime(1, 1, 1, tzinfo=UTC)])
def test_run_at_not_in_the_future(when: datetime) -> None:
    with pytest.raises(InvalidInput, match="in the future"):
        validation.run_at(when, NOW)


def test_run_at_too_far_ahead() -> None:
    with pytest.raises(InvalidInput, match="within 10 years"):
        validation.run_at(NOW + timedelta(days=11 * 366), NOW)


def test_run_at_without_zone() -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        validation.run_at(datetime(2030, 1, 1), NOW)


@pytest.mark.parametrize(("name", "expected"), [("", "UTC"), ("  ", "UTC"), ("Europe/Berlin", "Europe/Berlin")])
def test_time_zone_accepted(name: str, expected: str) -> None:
    assert validation.time_zone(name) == expected


@pytest.mark.parametrize("name", ["Mars/Base", "../../etc/passwd", "/etc/localtime", "x" * 65, "Europe/"])
def test_time_zone_rejected(name: str) -> None:
    with pytest.raises(InvalidInput):
        validation.time_zone(name)


@pytest.mark.parametrize("value", ["write the daily report", {"task": "report", "n": 3}, [1, 2], 7, True])
def test_payload_accepted(value: object) -> None:
    assert validation.payload(value) == value


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "required"),
        ("", "empty"),
        ("   ", "empty"),
        ({}, "empty"),
        ([], "empty"),
        ("x" * (validation.PAYLOAD_MAX_BYTES + 1), "at most"),
        ("a\x00b", "NUL"),
        ({"k": "lone \udc80"}, "lone surrogates"),
        ({"n": float("nan")}, "finite"),
        ([float("inf")], "finite"),
        ({"n": 10**20}, "integer between"),
        (json.loads("[" * 21 + "1" + "]" * 21), "nested more than 20"),
    ],
)
def test_payload_rejected(value: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        validation.payload(value)


def test_trigger_requires_exactly_one() -> None:
    with pytest.raises(InvalidInput, match="exactly one"):
        validation.trigger(None, "UTC", NOW)


def test_trigger_dispatches_to_each_kind() -> None:
    assert validation.trigger(CronTrigger("0 9 * * *"), "UTC", NOW) == CronTrigger("0 9 * * *")
    assert validation.trigger(IntervalTrigger(60), "UTC", NOW) == IntervalTrigger(60)
    later = NOW + timedelta(hours=1)
    assert validation.trigger(OneOffTrigger(later), "UTC", NOW) == OneOffTrigger(later)
