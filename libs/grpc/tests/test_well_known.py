from datetime import UTC, datetime, timedelta, timezone

import pytest
from google.protobuf import duration_pb2, timestamp_pb2

from agentmesh_grpc.well_known import (
    MAX_SECONDS,
    MIN_SECONDS,
    datetime_of,
    duration_proto,
    duration_seconds,
    timestamp_proto,
)

MOMENTS = [
    datetime(2026, 12, 2, 4, 30, 15, 123456, tzinfo=UTC),
    datetime(2026, 12, 2, 7, 30, 15, 999999, tzinfo=timezone(timedelta(hours=3))),
    datetime(1965, 3, 4, 5, 6, 7, 1, tzinfo=timezone(timedelta(hours=-9, minutes=-30))),
    datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC),  # just before the epoch: negative seconds
    datetime(1970, 1, 1, tzinfo=UTC),
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    datetime(2026, 12, 2, 4, 30, 15, 42),  # naive: read as UTC
]


@pytest.mark.parametrize("moment", MOMENTS)
def test_timestamp_proto_is_what_protobuf_makes(moment: datetime) -> None:
    expected = timestamp_pb2.Timestamp()
    expected.FromDatetime(moment)

    assert timestamp_proto(moment) == expected


@pytest.mark.parametrize("moment", MOMENTS)
def test_datetime_of_reads_back_the_same_instant_in_utc(moment: datetime) -> None:
    back = datetime_of(timestamp_proto(moment))

    assert back.tzinfo is UTC
    assert back == (moment if moment.tzinfo else moment.replace(tzinfo=UTC))


def test_none_stays_none() -> None:
    assert timestamp_proto(None) is None


@pytest.mark.parametrize(
    ("seconds", "nanos", "expected"),
    [
        (MAX_SECONDS + 1, 5, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (2**62, 0, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)),
        (-(2**62), 0, datetime(1, 1, 1, tzinfo=UTC)),
        (MIN_SECONDS, 0, datetime(1, 1, 1, tzinfo=UTC)),
        (0, 2_000_000_000, datetime(1970, 1, 1, 0, 0, 0, 999999, tzinfo=UTC)),  # nanos past a second
        (0, -5, datetime(1970, 1, 1, tzinfo=UTC)),
    ],
)
def test_datetime_of_clamps_what_datetime_cannot_hold(seconds: int, nanos: int, expected: datetime) -> None:
    assert datetime_of(timestamp_pb2.Timestamp(seconds=seconds, nanos=nanos)) == expected


@pytest.mark.parametrize("seconds", [0.0, 1.5, 30.0, 0.000000001, 86_400 * 3 + 0.25])
def test_durations_round_trip(seconds: float) -> None:
    proto = duration_proto(seconds)

    expected = duration_pb2.Duration()
    expected.FromNanoseconds(round(seconds * 1e9))
    assert proto == expected
    assert duration_seconds(proto) == pytest.approx(seconds, abs=1e-9)
