"""The analytics functions the views call: one rule for unpriced sums, raw token counts, store contents, tool
latency and call lists, usage per day, and the per-session measures, each checked against the records or against
the analytics frame it must agree with."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from decimal import Decimal

import polars as pl
import pytest

from behest_lab import Store, ToolExecutionStatus, analytics
from behest_lab.analytics import SessionList, SessionQuery, SessionView, ToolCalls, UsageDays


def test_priced_total_is_the_sum_of_the_priced_and_null_when_none_is() -> None:
    frame = pl.DataFrame({"g": ["a", "a", "b", "b", "c"], "cost": [1.5, None, None, None, 0.0]})
    got = dict(frame.group_by("g").agg(analytics.priced_total("cost")).sort("g").iter_rows())
    assert got == {"a": 1.5, "b": None, "c": 0.0}  # a group without a priced call is null, never 0
    assert frame.select(analytics.priced_total("cost")).item() == 1.5
    assert (
        pl.DataFrame({"cost": [None, None]}, schema={"cost": pl.Float64}).select(analytics.priced_total()).item()
        is None
    )


def _records(store: Store) -> tuple[list, list, list]:  # type: ignore[type-arg]
    sessions = store.sessions.list_sessions()
    messages = [m for s in sessions for m in store.sessions.list_messages(s.id)]
    executions = [e for s in sessions for e in store.executions.list_executions(s.id)]
    return sessions, messages, executions


def test_store_counts_and_messages_by_role_match_the_records(filled: Store) -> None:
    sessions, messages, executions = _records(filled)
    counts = analytics.store_counts(filled)
    assert list(counts) == list(analytics.CONTENT_COUNTS)
    assert counts["sessions"] == len(sessions)
    assert counts["messages"] == len(messages)
    assert counts["compactions"] == sum(m.is_compaction for m in messages)
    assert counts["tool_executions"] == len(executions)
    assert counts["usage_records"] == sum(len(filled.executions.list_usage(s.id)) for s in sessions)
    assert analytics.messages_by_role(filled) == dict(Counter(m.role.value for m in messages))


def test_token_counts_sum_the_raw_counters_of_usage_with_the_costs_of_costs(filled: Store) -> None:
    calls = analytics.usage(filled, exact=True)
    got = analytics.token_counts(filled, by=("provider", "model"), exact=True)
    assert got.get_column("requests").sum() == calls.height
    for c in analytics.USAGE_COUNTERS:
        reported = calls.get_column(c).drop_nulls()
        assert got.get_column(c).sum() == (reported.sum() if reported.len() else 0), c
    by_cost = analytics.costs(filled, by=("provider", "model"), exact=True)
    want = {(r["provider"], r["model"]): (r["cost"], r["unpriced_requests"]) for r in by_cost.iter_rows(named=True)}
    have = {(r["provider"], r["model"]): (r["cost"], r["unpriced_requests"]) for r in got.iter_rows(named=True)}
    assert have == want
    with pytest.raises(ValueError, match="not one of"):
        analytics.token_counts(filled, by="day")


def test_tool_stats_over_everything_and_latency_quantiles(filled: Store) -> None:
    per_tool = analytics.tool_stats(filled)
    total = analytics.tool_stats(filled, by=())
    assert "tool_name" not in total.columns
    assert total.height == 1
    for c in ("calls", "successes", "failures", "pending"):
        assert total[c][0] == per_tool[c].sum(), c
    quantiles = analytics.tool_latency_quantiles(filled)
    assert quantiles.get_column("tool_name").to_list() == sorted(per_tool.get_column("tool_name"), reverse=True)
    p50 = dict(per_tool.select("tool_name", "p50_ms").iter_rows())
    for tool, q in quantiles.iter_rows():
        assert len(q) == len(analytics.LATENCY_QUANTILES)
        assert q[2] == pytest.approx(p50[tool])


def test_tool_calls_lists_the_slowest_and_latest_failed(filled: Store) -> None:
    _, _, executions = _records(filled)
    calls = ToolCalls(filled)
    assert calls.lists() == ([], [])
    calls.select()
    slow, failed = calls.lists()
    finished = [e for e in executions if e.status is not ToolExecutionStatus.PENDING]
    want_slow = sorted(finished, key=lambda e: (-e.duration / timedelta(microseconds=1), str(e.id)))
    assert [r[0] for r in slow] == [str(e.id) for e in want_slow[: analytics.LIST_LIMIT]]
    bad = sorted((e for e in executions if e.status is ToolExecutionStatus.FAILED), key=lambda e: str(e.id))
    bad.sort(key=lambda e: e.created_at, reverse=True)  # latest first, ties by id (a stable sort)
    assert [r[0] for r in failed] == [str(e.id) for e in bad[: analytics.LIST_LIMIT]]
    tool = slow[0][2]
    only = calls.lists(tool)[0]
    assert only
    assert {r[2] for r in only} == {tool}
    calls.drop()
    calls.drop()
    assert calls.lists() == ([], [])


def test_usage_days_gives_the_numbers_of_costs(filled: Store) -> None:
    days = UsageDays(filled)
    try:
        got = days.aggregate("day", "model")
        want = analytics.costs(filled, by=("day", "model"), exact=True)
        assert (
            got.select("day", "model", "requests", "cost").rows()
            == want.select("day", "model", "requests", "cost").rows()
        )
        months = days.aggregate("month", "provider")
        assert months.get_column("requests").sum() == want.get_column("requests").sum()
        with pytest.raises(ValueError, match="period"):
            days.aggregate("year", "model")
    finally:
        days.drop()


def test_session_list_and_view_measures_are_those_of_sessions(filled: Store) -> None:
    frame = analytics.sessions(filled, exact=True)
    want = {
        r["id"]: (r["cost"], r["prompt_tokens"] + r["output_tokens"], r["tool_failures"])
        for r in frame.iter_rows(named=True)
    }
    listing = SessionList(filled)
    try:
        for sort in ("updated", "cost"):
            page = listing.page(SessionQuery(sort=sort, page_size=100), 0)
            assert {r["id"]: (r["cost"], r["tokens"], r["failures"]) for r in page} == want
        assert listing.count(SessionQuery()) == frame.height
    finally:
        listing.drop()
    sid = frame["id"][0]
    with SessionView(filled, [sid]) as view:
        usage, total = view.message_usage()
        assert total == (want[sid][0] if usage.height else Decimal(0))
        assert view.measures()[sid] == dict(zip(("cost", "tokens", "failures"), want[sid], strict=True))
