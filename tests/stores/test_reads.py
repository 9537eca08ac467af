"""Store reads for analytics: ``query`` (eager, consistent), ``temp_table`` and ``session_scope``, on every backend."""

from __future__ import annotations

import duckdb
import polars as pl
import pytest

from behest_lab import Store, uuid7
from tests.stores._build import execution, message, session, usage


def _fill(store: Store) -> tuple[str, str]:
    a, b = session(store, title="a"), session(store, title="b")
    for s, n in ((a, 3), (b, 2)):
        for i in range(n):
            m = store.sessions.append_message(message(s.id, f"{s.title}{i}"))
            store.executions.record_execution(execution(s.id, m.id))
            store.executions.record_usage(usage(s.id, 10 * (i + 1), 1, message_id=m.id))
    return str(a.id), str(b.id)


def test_query_returns_a_polars_frame_at_once(store: Store) -> None:
    a, _ = _fill(store)
    frame = store.query("SELECT CAST(session_id AS VARCHAR) AS s, count(*) AS n FROM messages GROUP BY 1 ORDER BY 2")
    assert isinstance(frame, pl.DataFrame)
    assert frame.rows() == [(frame["s"][0], 2), (a, 3)]
    assert store.query("SELECT ? + 1 AS x", [41]).item() == 42
    with pytest.raises(duckdb.Error):
        store.query("SELECT * FROM no_such_table")


def test_query_sees_writes_made_after_an_earlier_query(store: Store) -> None:
    s = session(store)
    assert store.query("SELECT count(*) FROM messages").item() == 0
    store.sessions.append_message(message(s.id, "later"))
    assert store.query("SELECT count(*) FROM messages").item() == 1


def test_temp_table_keeps_the_rows_of_its_query_until_dropped(store: Store) -> None:
    _fill(store)
    table = store.temp_table("SELECT session_id, count(*) AS n FROM messages GROUP BY 1")
    extra = session(store)
    store.sessions.append_message(message(extra.id, "not in the table"))
    assert store.query(f"SELECT sum(n) FROM {table.name}").item() == 5  # the rows as they were
    table.drop()
    table.drop()  # idempotent
    with pytest.raises(duckdb.Error):
        store.query(f"SELECT * FROM {table.name}")
    with store.temp_table("SELECT 1 AS x") as t:
        assert store.query(f"SELECT x FROM {t.name}").item() == 1


def test_session_scope_reads_only_its_sessions(store: Store) -> None:
    a, b = _fill(store)
    with store.session_scope([a]) as scope:
        assert [str(i) for i in scope.session_ids] == [a]
        assert scope.query("SELECT count(*) FROM messages").item() == 3
        assert scope.query("SELECT count(*) FROM usage_records").item() == 3
        assert scope.query("SELECT count(*) FROM tool_executions").item() == 3
        assert scope.query("SELECT title FROM sessions").rows() == [("a",)]
        # the whole row as the store's own view gives it (the lake derives updated_at from the messages)
        assert (
            scope.query("SELECT * FROM sessions").rows()
            == store.query("SELECT * FROM sessions WHERE id = CAST(? AS UUID)", [a]).rows()
        )
        assert scope.query("SELECT sum(input_tokens) FROM usage_records WHERE input_tokens > ?", [10]).item() == 50
    with store.session_scope([a, b, str(uuid7())]) as both:
        assert both.query("SELECT count(*) FROM messages").item() == 5
        assert sorted(both.query("SELECT title FROM sessions")["title"]) == ["a", "b"]


def test_session_scope_is_pinned_and_closes(store: Store) -> None:
    a, _ = _fill(store)
    scope = store.session_scope([a])
    store.sessions.append_message(message(scope.session_ids[0], "after"))
    assert scope.query("SELECT count(*) FROM messages").item() == 3  # pinned at opening
    assert store.session_scope([a]).query("SELECT count(*) FROM messages").item() == 4
    scope.close()
    scope.close()
    with pytest.raises(duckdb.Error):
        scope.query("SELECT count(*) FROM messages")
    assert store.query("SELECT count(*) FROM messages").item() == 6  # the store's tables are untouched


def test_session_scope_refuses_no_ids_and_non_uuids(store: Store) -> None:
    with pytest.raises(ValueError, match="at least one"):
        store.session_scope([])
    with pytest.raises(ValueError, match="not a UUID"):
        store.session_scope(["nope"])
