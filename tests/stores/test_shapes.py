"""Conformance: what behest leaves absent stays absent (0.3.1 usage keys, Some(null) against None results)."""

from __future__ import annotations

from datetime import timedelta

from behest_lab import MessageRecord, Store, TokenUsage, ToolExecution, uuid7
from tests.stores._build import message, session

V031_USAGE = '{"input_tokens":7,"output_tokens":2,"total_tokens":9}'
V059_USAGE = (
    '{"input_tokens":7,"output_tokens":2,"total_tokens":9,"cache_creation_input_tokens":null,'
    '"cache_read_input_tokens":3,"cached_input_tokens":null}'
)


def test_usage_keeps_its_key_shape(store: Store) -> None:
    s = session(store)
    for usage in (V031_USAGE, V059_USAGE):
        m = message(s.id, "x").with_usage(TokenUsage.model_validate_json(usage))
        store.sessions.append_message(m)
    got = [m.usage.model_dump_json() for m in store.sessions.list_messages(s.id) if m.usage is not None]
    assert got == [V031_USAGE, V059_USAGE]


def test_usage_set_later_keeps_its_key_shape(store: Store) -> None:
    s = session(store)
    m = store.sessions.append_message(message(s.id, "x"))
    store.sessions.update_usage(m.id, TokenUsage.model_validate_json(V031_USAGE))
    (got,) = store.sessions.list_messages(s.id)
    assert isinstance(got, MessageRecord)
    assert got.usage is not None
    assert got.usage.model_dump_json() == V031_USAGE


def test_null_result_and_no_result_stay_apart(store: Store) -> None:
    s = session(store)
    mid = uuid7()
    base = ToolExecution(session_id=s.id, message_id=mid, call_id="c", tool_name="t")
    some_null = base.with_success(None, timedelta(milliseconds=1))
    absent = ToolExecution(session_id=s.id, message_id=mid, call_id="d", tool_name="t", created_at=base.created_at)
    store.executions.record_execution(some_null)
    store.executions.record_execution(absent)
    got = {e.call_id: e for e in store.executions.list_executions(s.id)}
    assert got["c"].result_null
    assert not got["d"].result_null
    assert got["c"].result is None
    assert got["d"].result is None


def test_durations_beyond_timedelta_are_kept(store: Store) -> None:
    s = session(store)
    mid = uuid7()
    longest = timedelta.max // timedelta(milliseconds=1)
    durations = [2**64 - 1, 2**63 - 1, longest + 1, longest]  # u64::MAX, behest's SQL clamp, just past timedelta
    for i, ms in enumerate(durations):
        e = ToolExecution.from_dict(
            {
                **ToolExecution(session_id=s.id, message_id=mid, call_id=str(i), tool_name="t").model_dump(mode="json"),
                "duration": ms,
            }
        )
        store.executions.record_execution(e)
    got = sorted(store.executions.list_executions(s.id), key=lambda e: e.call_id)
    assert [e.duration_ms for e in got] == durations
    stats = store.executions.session_stats(s.id)
    assert stats.avg_tool_duration_ms == sum(durations) // len(durations)
