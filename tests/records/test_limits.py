"""Values behest can hold at the edges of Python's types: kept where the type allows, else a named error."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from behest_lab.records import Instant, LongDuration, Session, ToolExecution

SID = "01890a5d-ac96-774b-bcce-b302099a8057"
U64_MAX = 2**64 - 1
I64_MAX = 2**63 - 1


def _session(created_at: str) -> str:
    return (
        f'{{"id":"{SID}","title":"t","model":"m","created_at":"{created_at}",'
        f'"updated_at":"2023-06-29T15:06:40Z","metadata":null}}'
    )


def _execution(duration: int) -> str:
    return (
        f'{{"id":"{SID}","session_id":"{SID}","message_id":"{SID}","call_id":"c","tool_name":"t","arguments":null,'
        f'"result":null,"status":"success","error":null,"duration":{duration},"created_at":"2023-06-29T15:06:40Z"}}'
    )


@pytest.mark.parametrize(
    "text",
    ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999999999Z", "0999-05-06T07:08:09.000000001Z"],
)
def test_years_1_to_9999_round_trip_with_four_digits(text: str) -> None:
    assert Session.model_validate_json(_session(text)).model_dump_json() == _session(text)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0000-01-01T00:00:00Z", "year 0 is outside the years 1-9999"),
        ("-0044-03-15T12:00:00Z", "year -44 is outside"),
        ("+10000-01-01T00:00:00Z", "year 10000 is outside"),
        ("10000-01-01T00:00:00Z", "year 10000 is outside"),
        ("2016-12-31T23:59:60.5Z", "leap second"),
        ("0001-01-01T00:30:00+01:00", "outside the range a Python datetime holds"),
    ],
)
def test_timestamps_a_datetime_cannot_hold_are_a_named_field_error(text: str, reason: str) -> None:
    with pytest.raises(ValidationError, match=reason) as info:
        Session.model_validate_json(_session(text))
    assert info.value.errors()[0]["loc"] == ("created_at",)


@pytest.mark.parametrize("ms", [U64_MAX - 1, I64_MAX, 86_400_000_000_000_000])
def test_durations_beyond_timedelta_are_kept_exactly(ms: int) -> None:
    e = ToolExecution.model_validate_json(_execution(ms))
    assert isinstance(e.duration, LongDuration)
    assert e.duration_ms == ms
    # a timedelta for arithmetic (the longest one there is), never equal to a plain one (which is shorter)
    assert timedelta(e.duration.days, e.duration.seconds, e.duration.microseconds) == timedelta.max
    assert e.duration > timedelta(days=1)
    assert e.duration != timedelta.max
    assert e.duration == LongDuration(ms)
    assert e.duration != LongDuration(ms + 1)
    assert e.model_dump_json() == _execution(ms)
    assert pickle.loads(pickle.dumps(e)) == e


def test_the_longest_timedelta_stays_a_timedelta() -> None:
    ms = timedelta.max // timedelta(milliseconds=1)
    e = ToolExecution.model_validate_json(_execution(ms))
    assert type(e.duration) is timedelta
    assert e.model_dump_json() == _execution(ms)


def test_durations_beyond_u64_are_a_named_field_error() -> None:
    with pytest.raises(ValidationError, match="beyond u64") as info:
        ToolExecution.model_validate_json(_execution(U64_MAX + 1))
    assert info.value.errors()[0]["loc"] == ("duration",)


def test_instant_behaves_like_an_aware_datetime() -> None:
    t = Instant(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC, nanosecond=7)
    plain = datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)
    assert isinstance(t, datetime)
    assert t > plain
    assert plain < t
    assert t != plain
    assert Instant.from_datetime(plain) == plain
    assert hash(Instant.from_datetime(plain)) == hash(plain)
    assert (t + timedelta(seconds=1)).nanosecond == 7
    assert (t - timedelta(days=1)).nanosecond == 7
    assert t - plain == timedelta(0)
    assert t.epoch_ns - Instant.from_datetime(plain).epoch_ns == 7
    assert Instant.from_epoch_ns(t.epoch_ns) == t
    assert sorted([t, plain, Instant.from_datetime(plain, 6)]) == [plain, Instant.from_datetime(plain, 6), t]
    assert t.astimezone(UTC).nanosecond == 7
    assert t.replace(year=2020).nanosecond == 7
    assert t.isoformat() == "2026-01-02T03:04:05.000006007+00:00"
    assert pickle.loads(pickle.dumps(t)).nanosecond == 7
    with pytest.raises(ValueError, match=r"0\.\.999"):
        Instant(2026, 1, 1, tzinfo=UTC, nanosecond=1000)
