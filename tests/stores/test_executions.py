"""ExecutionStore conformance: tool executions, usage records, session stats, bulk forms."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from behest_lab import AlreadyExistsError, NotFoundError, SessionStats, Store, ToolExecutionStatus, uuid7
from tests.stores._build import at, count, execution, message, session, usage


def test_record_execution_returns_it_and_lists_it(store: Store) -> None:
    s = session(store)
    e = execution(s.id, arguments={"q": [1, 2]}, created_at=at(1)).with_success(
        {"ok": True}, timedelta(microseconds=1_999_999)
    )
    assert store.executions.record_execution(e) == e
    assert store.executions.list_executions(s.id) == [e]


def test_record_execution_unknown_session_raises_and_stores_nothing(store: Store) -> None:
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.executions.record_execution(execution(missing))
    assert info.value.id == missing
    assert store.executions.list_executions(missing) == []
    assert count(store, "tool_executions") == 0


def test_record_usage_unknown_session_raises_and_stores_nothing(store: Store) -> None:
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.executions.record_usage(usage(missing))
    assert info.value.id == missing
    assert store.executions.list_usage(missing) == []
    assert count(store, "usage_records") == 0


def test_message_id_is_not_checked(store: Store) -> None:
    s = session(store)
    unknown_message = uuid7()
    e = store.executions.record_execution(execution(s.id, unknown_message))
    u = store.executions.record_usage(usage(s.id, message_id=unknown_message))
    assert store.executions.list_executions_by_message(unknown_message) == [e]
    assert store.executions.list_usage(s.id) == [u]


def test_record_execution_replaces_by_id(store: Store) -> None:
    s = session(store)
    pending = store.executions.record_execution(execution(s.id, created_at=at(1)))
    done = pending.with_failure("boom", timedelta(milliseconds=12))
    store.executions.record_execution(done)
    assert store.executions.list_executions(s.id) == [done]
    assert count(store, "tool_executions") == 1


def test_record_usage_replaces_by_id(store: Store) -> None:
    s = session(store)
    u = store.executions.record_usage(usage(s.id, 1, 1))
    replaced = usage(s.id, 7, 8, id=u.id, message_id=u.message_id, created_at=u.created_at)
    store.executions.record_usage(replaced)
    assert store.executions.list_usage(s.id) == [replaced]


def test_executions_ordered_by_created_at_ties_in_recording_order(store: Store) -> None:
    s = session(store)
    plan = [("c", 3), ("a", 1), ("t1", 2), ("t2", 2), ("z", 0), ("t3", 2)]
    for call_id, second in plan:
        store.executions.record_execution(execution(s.id, call_id=call_id, created_at=at(second)))
    expected = [c for _, _, c in sorted((sec, i, c) for i, (c, sec) in enumerate(plan))]
    assert [e.call_id for e in store.executions.list_executions(s.id)] == expected


def test_usage_ordered_by_created_at_ties_in_recording_order(store: Store) -> None:
    s = session(store)
    plan = [(30, 3), (10, 1), (21, 2), (22, 2), (0, 0)]
    for tokens, second in plan:
        store.executions.record_usage(usage(s.id, tokens, created_at=at(second)))
    expected = [t for _, _, t in sorted((sec, i, t) for i, (t, sec) in enumerate(plan))]
    assert [u.input_tokens for u in store.executions.list_usage(s.id)] == expected


def test_lists_are_per_session_and_empty_for_unknown(store: Store) -> None:
    a, b = session(store), session(store)
    ea = store.executions.record_execution(execution(a.id))
    ub = store.executions.record_usage(usage(b.id))
    assert store.executions.list_executions(a.id) == [ea]
    assert store.executions.list_executions(b.id) == []
    assert store.executions.list_usage(b.id) == [ub]
    assert store.executions.list_usage(a.id) == []
    assert store.executions.list_executions(uuid7()) == []
    assert store.executions.list_usage(uuid7()) == []


def test_list_executions_by_message(store: Store) -> None:
    a, b = session(store), session(store)
    m1, m2 = uuid7(), uuid7()
    late = store.executions.record_execution(execution(a.id, m1, call_id="late", created_at=at(5)))
    other = store.executions.record_execution(execution(a.id, m2, call_id="other"))
    early = store.executions.record_execution(execution(b.id, m1, call_id="early", created_at=at(1)))
    assert store.executions.list_executions_by_message(m1) == [early, late]
    assert store.executions.list_executions_by_message(m2) == [other]
    assert store.executions.list_executions_by_message(uuid7()) == []


def test_session_stats(store: Store) -> None:
    s, other = session(store), session(store)
    store.sessions.append_messages([message(s.id) for _ in range(4)])
    store.sessions.append_message(message(other.id))
    durations = [timedelta(microseconds=1_999_999), timedelta(milliseconds=1), timedelta(0), timedelta(milliseconds=7)]
    statuses = ["success", "failed", "pending", "failed"]
    for d, st in zip(durations, statuses, strict=True):
        e = execution(s.id)
        e = e.with_success(1, d) if st == "success" else e.with_failure("x", d) if st == "failed" else e
        store.executions.record_execution(e)
    store.executions.record_execution(execution(other.id).with_success(1, timedelta(seconds=100)))
    records = [
        usage(s.id, 10, 5, total_tokens=100),
        usage(s.id, 1, 2, total_tokens=3),
        usage(s.id, 0, 0, total_tokens=0),
    ]
    store.executions.record_usages(records)
    store.executions.record_usage(usage(other.id, 1000, 1000))
    whole_ms = [d // timedelta(milliseconds=1) for d in durations]
    assert store.executions.session_stats(s.id) == SessionStats(
        session_id=s.id,
        message_count=4,
        tool_call_count=4,
        tool_success_count=statuses.count("success"),
        tool_failure_count=statuses.count("failed"),
        total_input_tokens=sum(r.input_tokens for r in records),
        total_output_tokens=sum(r.output_tokens for r in records),
        total_tokens=sum(r.total_tokens for r in records),
        avg_tool_duration_ms=sum(whole_ms) // len(whole_ms),
    )
    assert whole_ms[0] == 1999  # truncated to whole ms before averaging


def test_session_stats_ignores_message_usage(store: Store) -> None:
    s = session(store)
    from behest_lab import TokenUsage

    store.sessions.append_message(message(s.id, usage=TokenUsage.new(50, 50)))
    stats = store.executions.session_stats(s.id)
    assert (stats.message_count, stats.total_tokens, stats.total_input_tokens) == (1, 0, 0)


def test_session_stats_unknown_session_is_zeros(store: Store) -> None:
    missing = uuid7()
    assert store.executions.session_stats(missing) == SessionStats.empty(missing)


def test_delete_by_session_counts_executions_and_usage(store: Store) -> None:
    s, t = session(store), session(store)
    store.executions.record_executions([execution(s.id) for _ in range(2)])
    store.executions.record_usages([usage(s.id) for _ in range(3)])
    kept_e = store.executions.record_execution(execution(t.id))
    kept_u = store.executions.record_usage(usage(t.id))
    assert store.executions.delete_by_session(s.id) == 5
    assert store.executions.delete_by_session(s.id) == 0
    assert store.executions.list_executions(s.id) == []
    assert store.executions.list_usage(s.id) == []
    assert store.executions.list_executions(t.id) == [kept_e]
    assert store.executions.list_usage(t.id) == [kept_u]


# --- bulk forms ----------------------------------------------------------------------------------------------


def test_record_executions_and_usages_store_all(store: Store) -> None:
    s = session(store)
    es = [execution(s.id, call_id=str(i), created_at=at(i)) for i in range(3)]
    us = [usage(s.id, i, created_at=at(i)) for i in range(3)]
    assert store.executions.record_executions(es) == es
    assert store.executions.record_usages(us) == us
    assert store.executions.list_executions(s.id) == es
    assert store.executions.list_usage(s.id) == us
    assert store.executions.record_executions([]) == []
    assert store.executions.record_usages([]) == []


def test_record_executions_missing_session_stores_nothing(store: Store) -> None:
    s = session(store)
    missing = uuid7()
    with pytest.raises(NotFoundError) as info:
        store.executions.record_executions([execution(s.id), execution(missing), execution(s.id)])
    assert info.value.id == missing
    assert store.executions.list_executions(s.id) == []
    assert count(store, "tool_executions") == 0


def test_record_usages_missing_session_stores_nothing(store: Store) -> None:
    s = session(store)
    missing = uuid7()
    with pytest.raises(NotFoundError):
        store.executions.record_usages([usage(s.id), usage(missing)])
    assert store.executions.list_usage(s.id) == []
    assert count(store, "usage_records") == 0


def test_record_executions_duplicate_inside_batch_stores_nothing(store: Store) -> None:
    s = session(store)
    e = execution(s.id)
    with pytest.raises(AlreadyExistsError) as info:
        store.executions.record_executions([e, execution(s.id), e.with_success(1, timedelta(0))])
    assert info.value.id == e.id
    assert store.executions.list_executions(s.id) == []


def test_record_usages_duplicate_inside_batch_stores_nothing(store: Store) -> None:
    s = session(store)
    u = usage(s.id)
    with pytest.raises(AlreadyExistsError):
        store.executions.record_usages([usage(s.id), u, u])
    assert store.executions.list_usage(s.id) == []


@pytest.mark.parametrize("bad", [None, "x", {"session_id": "x"}])
def test_wrong_types_raise_type_error(store: Store, bad: Any) -> None:
    s = session(store)
    with pytest.raises(TypeError):
        store.executions.record_execution(bad)
    with pytest.raises(TypeError):
        store.executions.record_usage(bad)
    with pytest.raises(TypeError):
        store.executions.record_executions([execution(s.id), bad])
    with pytest.raises(TypeError):
        store.executions.record_usages([usage(s.id), bad])
    with pytest.raises(TypeError):
        store.executions.record_usages([execution(s.id)])  # type: ignore[list-item]
    assert count(store, "tool_executions") == 0
    assert count(store, "usage_records") == 0


def test_sql_tables_reflect_writes(store: Store) -> None:
    s = session(store)
    e = store.executions.record_execution(execution(s.id).with_success({"n": 1}, timedelta(microseconds=2_500)))
    store.executions.record_usage(usage(s.id, 4, 6, total_tokens=11))
    row = store.sql(
        "select status, duration_ms, result->>'n' from tool_executions where id = ?", [str(e.id)]
    ).fetchone()
    assert row == (ToolExecutionStatus.SUCCESS.value, 2, "1")
    assert store.sql("select sum(total_tokens) from usage_records").fetchone() == (11,)
    store.executions.delete_by_session(s.id)
    assert count(store, "tool_executions") == 0
    assert count(store, "usage_records") == 0
