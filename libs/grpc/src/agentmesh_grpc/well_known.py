"""google.protobuf's Timestamp and Duration to and from Python's datetime and seconds.

One way for every service, instead of a helper of its own in each. It is also
quicker than protobuf's own helpers, which are Python code over a time tuple:
`Timestamp.FromDatetime` costs 3.4-5.6 us here, `timestamp_proto` 1.0-1.8 us, and every
message, agent and conversation event a service sends carries one or two.

A Timestamp read from a peer may hold any 64-bit count of seconds; `datetime_of`
clamps it into datetime's range (years 1-9999) rather than raising, so an absurd
time reaches the domain's checks, which refuse it with their own message, instead
of failing the call as INTERNAL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import overload

from google.protobuf import duration_pb2, timestamp_pb2

# The range of datetime (years 1-9999) in seconds since the Unix epoch.
MIN_SECONDS = -62135596800
MAX_SECONDS = 253402300799
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@overload
def timestamp_proto(moment: datetime) -> timestamp_pb2.Timestamp: ...
@overload
def timestamp_proto(moment: datetime | None) -> timestamp_pb2.Timestamp | None: ...
def timestamp_proto(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    """A datetime as a Timestamp (a naive one is read as UTC, as protobuf reads it); None stays None."""
    if moment is None:
        return None
    since = (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)) - _EPOCH
    return timestamp_pb2.Timestamp(seconds=since.days * 86_400 + since.seconds, nanos=since.microseconds * 1000)


def datetime_of(stamp: timestamp_pb2.Timestamp) -> datetime:
    """A Timestamp as an aware UTC datetime, clamped into datetime's range (microseconds kept)."""
    seconds = min(max(stamp.seconds, MIN_SECONDS), MAX_SECONDS)
    nanos = min(max(stamp.nanos, 0), 999_999_999) if seconds == stamp.seconds else 0
    return _EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)


def duration_proto(seconds: float) -> duration_pb2.Duration:
    """Seconds as a Duration (to the nanosecond)."""
    duration = duration_pb2.Duration()
    duration.FromNanoseconds(round(seconds * 1e9))
    return duration


def duration_seconds(duration: duration_pb2.Duration) -> float:
    """A Duration as seconds."""
    return duration.seconds + duration.nanos / 1e9
