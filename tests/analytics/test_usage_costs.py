"""usage() and costs() against per-record Python computations (genai-prices' own calc_price for the money)."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from behest_lab import Store, UsageRecord
from behest_lab.analytics import costs, usage
from behest_lab.errors import DataCorruptionError
from tests.analytics._reference import Call, all_calls, close, genai_cost, normalise, utc_day
from tests.stores._build import session


def test_usage_rows_match_records_and_genai_prices(filled: Store) -> None:
    records = {str(u.id): u for u in all_calls(filled)}
    frame = usage(filled, exact=True)
    assert frame.height == len(records) > 0
    assert set(frame["source"]) == {"usage_record", "message_usage"}  # the edge session has message usage only
    assert frame["price_source"].unique().to_list() == ["genai-prices"]
    for row in frame.iter_rows(named=True):
        u = records[row["id"]]
        style, uncached, read, write = normalise(u)
        assert (
            row["token_style"],
            row["uncached_input_tokens"],
            row["cache_read_tokens"],
            row["cache_write_tokens"],
        ) == (
            style,
            uncached,
            read,
            write,
        )
        assert row["prompt_tokens"] == uncached + read + write
        assert (row["session_id"], row["model"], row["created_at"]) == (str(u.session_id), u.model, u.created_at)
        assert (row["source"], row["provider"], row["cache_recovered"]) == (u.source, u.provider, u.cache_recovered)
        assert close(row["cost"], genai_cost(u)), (u.model, row["cost"], genai_cost(u))
        parts = row["input_cost"] + row["output_cost"] + row["cache_read_cost"] + row["cache_write_cost"]
        assert close(parts, row["cost"])


@pytest.mark.parametrize(
    "by",
    [("day", "model"), ("week", "provider"), ("month",), ("session",), ("provider", "model", "day")],
)
def test_costs_match_python_aggregation(filled: Store, by: tuple[str, ...]) -> None:
    def key(u: Call) -> tuple[Any, ...]:
        day = utc_day(u)
        parts = {
            "day": day,
            "week": day - timedelta(days=day.weekday()),
            "month": day.replace(day=1),
            "model": u.model,
            "provider": u.provider,
            "session": str(u.session_id),
        }
        return tuple(parts[k] for k in by)

    expected: dict[tuple[Any, ...], dict[str, Any]] = defaultdict(
        lambda: {"requests": 0, "prompt": 0, "read": 0, "write": 0, "out": 0, "cost": Decimal(0)}
    )
    for u in all_calls(filled):
        _, uncached, read, write = normalise(u)
        e = expected[key(u)]
        e["requests"] += 1
        e["prompt"] += uncached + read + write
        e["read"] += read
        e["write"] += write
        e["out"] += u.output_tokens
        cost = genai_cost(u)
        assert cost is not None
        e["cost"] += cost
    frame = costs(filled, by=by, exact=True)
    names = [{"session": "session_id"}.get(k, k) for k in by]
    got = {tuple(r[n] for n in names): r for r in frame.iter_rows(named=True)}
    assert set(got) == set(expected)
    assert [tuple(r[n] for n in names) for r in frame.iter_rows(named=True)] == sorted(got)
    for k, e in expected.items():
        r = got[k]
        assert (
            r["requests"],
            r["prompt_tokens"],
            r["cache_read_tokens"],
            r["cache_write_tokens"],
            r["output_tokens"],
        ) == (
            e["requests"],
            e["prompt"],
            e["read"],
            e["write"],
            e["out"],
        )
        assert close(r["cost"], e["cost"]), (k, r["cost"], e["cost"])
        assert r["unpriced_requests"] == 0


def test_cost_filters_select_the_same_rows_as_python(filled: Store) -> None:
    records = all_calls(filled)
    days = sorted({utc_day(u) for u in records})
    since = datetime.combine(days[1], datetime.min.time(), UTC)
    until = since + timedelta(days=3)
    model = records[0].model
    expected = [u for u in records if since <= u.created_at < until and u.model == model]
    frame = usage(filled, since=since, until=until, model=model)
    assert sorted(frame["id"].to_list()) == sorted(str(u.id) for u in expected)
    sid = records[-1].session_id
    by_session = costs(filled, by="provider", session_id=sid)
    assert by_session["requests"].sum() == sum(1 for u in records if u.session_id == sid)
    provider = records[0].provider
    assert usage(filled, provider=provider).height == sum(1 for u in records if u.provider == provider)
    assert usage(filled, since=days[0].isoformat()).height == len(records)


def test_costs_rejects_unknown_keys_and_naive_times(filled: Store) -> None:
    with pytest.raises(ValueError, match="'year' is not one of"):
        costs(filled, by=("day", "year"))
    with pytest.raises(ValueError, match="repeats"):
        costs(filled, by=("day", "day"))
    with pytest.raises(ValueError, match="naive datetime"):
        usage(filled, since=datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="session_id"):
        usage(filled, session_id="not-a-uuid")


def test_openai_row_with_more_cached_than_input_tokens_is_corrupt(store: Store) -> None:
    s = session(store)
    bad = UsageRecord(
        session_id=s.id,
        message_id=s.id,
        provider="openai",
        model="gpt-4o",
        input_tokens=10,
        output_tokens=1,
        total_tokens=11,
        cached_input_tokens=50,
    )
    store.executions.record_usage(bad)
    with pytest.raises(DataCorruptionError, match=str(bad.id)) as info:
        usage(store)
    assert info.value.field == "usage_records.cached_input_tokens"


def test_empty_store_gives_empty_typed_frames(store: Store) -> None:
    assert usage(store).height == 0
    frame = costs(store)
    assert frame.height == 0
    assert frame.columns[:2] == ["day", "model"]
