"""Exporting to behest's SQLite schema: behest's text shapes, one transaction, and re-import to equal records."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import timedelta
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import MessageRecord, MessageRole, Session, Store, open_store
from behest_lab.errors import InterchangeError
from behest_lab.interchange import export_behest_sqlite, import_behest_sqlite
from behest_lab.interchange.behest_schema import COLUMNS
from tests.interchange._behest_db import behest_db, insert, rows
from tests.interchange._data import T0, count, populate, snapshot

#: What behest's ``to_rfc3339()`` writes for microsecond values: +00:00, 0/3/6 fraction digits.
CACHE_FIELDS = ("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens")
BEHEST_TS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3}|\.\d{6})?\+00:00$")


def test_export_round_trips_through_behest_schema(store: Store, tmp_path: Path) -> None:
    populate(store, sample_sessions=0, sql_safe=True)
    path = tmp_path / "out.db"
    report = export_behest_sqlite(store, path)

    con = sqlite3.connect(path)
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    for table in COLUMNS:
        for (value,) in con.execute(f"SELECT created_at FROM {table}"):
            assert BEHEST_TS.match(value), (table, value)
    # behest lists messages with ORDER BY created_at (text): that must be the conversation order
    for s in store.sessions.list_sessions():
        ids = [
            UUID(r[0])
            for r in con.execute(
                "SELECT id FROM messages WHERE session_id = ? ORDER BY created_at, rowid", (str(s.id),)
            )
        ]
        assert ids == [m.id for m in store.sessions.list_messages(s.id)]
    con.close()

    assert report.written == {t: count(store, t) for t in COLUMNS}
    assert report.not_exported == {"embeddings": count(store, "embeddings"), "artifacts": count(store, "artifacts")}
    tool_results = sum(
        m.tool_call_id is not None for s in store.sessions.list_sessions() for m in store.sessions.list_messages(s.id)
    )
    assert report.lossy["messages.tool_call_id/tool_name"] == tool_results > 0
    assert "embeddings" in str(report)

    back = open_store(None)
    imported = import_behest_sqlite(back, path)
    assert imported.tool_ids_recovered == tool_results
    want, got = snapshot(store), snapshot(back)
    # what behest's schema cannot hold: usage records' cache counters, sub-millisecond durations
    ms = timedelta(milliseconds=1)
    usage = [[u.model_copy(update=dict.fromkeys(CACHE_FIELDS)) for u in per_session] for per_session in want.usage]
    executions = [[e.model_copy(update={"duration": e.duration // ms * ms}) for e in x] for x in want.executions]
    assert (got.sessions, got.messages, got.executions, got.usage) == (want.sessions, want.messages, executions, usage)


def test_json_and_integer_columns_have_behest_shapes(tmp_path: Path) -> None:
    store = open_store(None)
    populate(store, sample_sessions=0)
    path = tmp_path / "out.db"
    report = export_behest_sqlite(store, path)
    sessions = dict(rows(path, "SELECT title, metadata FROM sessions"))
    assert sessions == {"Ünïcode ✓": '{"a":1e+16,"b":[1]}', "": "null"}  # serde_json 1.0.150 prints 1e+16, raw UTF-8
    msg = {r[0]: r[1:] for r in rows(path, "SELECT role, content, tool_calls, usage, compaction_meta FROM messages")}
    content, tool_calls, usage, meta = msg["system"]
    assert (content, tool_calls, usage, meta) == ('[{"type":"text","text":"s"}]', "[]", None, None)
    [usage_text] = [r[0] for r in rows(path, "SELECT usage FROM messages WHERE usage IS NOT NULL")]
    assert json.loads(usage_text) == {
        "input_tokens": 2**64 - 2,  # u64 in JSON text: no wrapping there
        "output_tokens": 1,
        "total_tokens": 2**64 - 1,
        "cache_creation_input_tokens": None,
        "cache_read_input_tokens": 5,
        "cached_input_tokens": 0,
    }
    flags = rows(
        path, "SELECT is_compaction, is_summary, compaction_meta FROM messages WHERE compaction_meta IS NOT NULL"
    )
    assert sorted(flags) == [
        (0, 1, '{"tail_start_id":null,"previous_compaction_id":null,"summary_text":"sum"}'),
        (1, 0, '{"tail_start_id":null,"previous_compaction_id":null,"summary_text":null}'),
    ]
    # i64 columns: counters above 2**63-1 wrap negative, as behest's `as i64` cast does
    assert rows(path, "SELECT input_tokens, total_tokens FROM usage_records WHERE provider = 'anthropic'") == [(-1, 3)]
    execs = rows(path, "SELECT arguments, result, status, error, duration_ms FROM tool_executions ORDER BY status")
    assert execs == [("[1]", None, "failed", "no such file", 0), ("{}", '{"ok":[1,2.5]}', "success", None, 1500)]
    assert report.lossy["usage_records.cache counters"] == 1
    assert report.lossy["tool_executions.sub-ms"] == 1  # 1.50025 s is written as 1500 ms


def test_export_into_a_database_behest_created(tmp_path: Path) -> None:
    path = tmp_path / "behest.db"
    con = behest_db(path)
    insert(
        con,
        "sessions",
        id="0190a5d0-0000-7000-8000-0000000000ff",
        created_at="2025-01-01T00:00:00+00:00",
        updated_at="2025-01-01T00:00:00+00:00",
    )
    con.close()
    store = open_store(None)
    s = store.sessions.create_session(Session(title="t", model="m", created_at=T0, updated_at=T0))
    store.sessions.append_messages([MessageRecord.text(s.id, MessageRole.USER, "hi", created_at=T0)])
    first = export_behest_sqlite(store, path)
    assert first.written == {"sessions": 1, "messages": 1, "tool_executions": 0, "usage_records": 0}
    again = export_behest_sqlite(store, path)
    assert again.written == dict.fromkeys(first.written, 0)
    assert again.existing == first.written
    assert rows(path, "SELECT count(*) FROM sessions") == [(2,)]
    # deleting the session in the exported database cascades, so the rows are really tied by foreign keys
    con = sqlite3.connect(path)
    con.execute("PRAGMA foreign_keys=ON")
    con.execute("DELETE FROM sessions WHERE id = ?", (str(s.id),))
    con.commit()
    assert con.execute("SELECT count(*) FROM messages").fetchone() == (0,)
    con.close()


def test_a_failed_export_keeps_nothing(tmp_path: Path) -> None:
    path = tmp_path / "behest.db"
    con = behest_db(path)
    con.execute(
        "CREATE TRIGGER no_usage BEFORE INSERT ON usage_records BEGIN SELECT RAISE(ABORT, 'usage refused'); END"
    )
    con.close()
    store = open_store(None)
    populate(store, sample_sessions=0)
    with pytest.raises(InterchangeError, match="usage refused") as err:
        export_behest_sqlite(store, path)
    assert err.value.path == str(path)
    assert rows(path, "SELECT (SELECT count(*) FROM sessions) + (SELECT count(*) FROM messages)") == [(0,)]


def test_refuses_a_database_with_other_tables(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE sessions (id TEXT PRIMARY KEY, name TEXT)")
    con.close()
    with pytest.raises(InterchangeError, match="missing columns") as err:
        export_behest_sqlite(open_store(None), path)
    assert err.value.table == "sessions"


def test_sub_millisecond_durations_are_truncated_like_behest(tmp_path: Path) -> None:
    store = open_store(None)
    populate(store, sample_sessions=0)
    export_behest_sqlite(store, tmp_path / "out.db")
    back = open_store(None)
    import_behest_sqlite(back, tmp_path / "out.db")
    durations = {
        e.id: e.duration for s in store.sessions.list_sessions() for e in store.executions.list_executions(s.id)
    }
    got = {e.id: e.duration for s in back.sessions.list_sessions() for e in back.executions.list_executions(s.id)}
    assert got == {k: timedelta(milliseconds=v // timedelta(milliseconds=1)) for k, v in durations.items()}
