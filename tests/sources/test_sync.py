"""``behest_lab.sync`` from behest's SQLite backend: first copy, incremental runs, changes in place, deletes, bad
rows, provenance, on every store backend."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import SourceError, Store, TokenUsage, ToolExecutionStatus, sync
from behest_lab.interchange import import_behest_sqlite
from behest_lab.sources import open_source
from tests.sources._behest import BehestSqlite


@pytest.fixture
def behest(tmp_path: Path) -> BehestSqlite:
    db = BehestSqlite(tmp_path / "agent.db")
    for _ in range(3):
        db.conversation(turns=2)
    return db


def _url(db: BehestSqlite) -> str:
    return f"sqlite://{db.path}"


def _count(store: Store, table: str) -> int:
    row = store.sql(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])


def test_first_sync_copies_everything_as_the_import_reads_it(behest: BehestSqlite, store: Store) -> None:
    report = sync(_url(behest), store)
    assert report.new == {
        "sessions": 3,
        "messages": 18,
        "tool_executions": 6,
        "usage_records": 6,
        "embeddings": 0,
        "artifacts": 0,
    }
    assert report.bad == 0
    assert report.commits == 1
    from behest_lab import MemoryStore

    with MemoryStore() as imported:
        import_behest_sqlite(imported, behest.path)
        for s in imported.sessions.list_sessions():
            assert store.sessions.get_session(s.id) == s
            assert store.sessions.list_messages(s.id) == imported.sessions.list_messages(s.id)
            assert store.executions.list_executions(s.id) == imported.executions.list_executions(s.id)
            assert store.executions.list_usage(s.id) == imported.executions.list_usage(s.id)
    # tool-result ids recovered from the preceding assistant message, as the import does
    tools = [
        m for s in store.sessions.list_sessions() for m in store.sessions.list_messages(s.id) if m.role.value == "tool"
    ]
    assert tools
    assert all(m.tool_call_id is not None and m.tool_name == "search" for m in tools)


def test_a_second_sync_moves_nothing(behest: BehestSqlite, store: Store) -> None:
    sync(_url(behest), store)
    again = sync(_url(behest), store)
    assert again.changed == 0
    assert again.commits == 0
    assert again.unchanged == 33
    assert _count(store, "messages") == 18


def test_new_rows_and_changes_in_place_are_found(behest: BehestSqlite, store: Store) -> None:
    sync(_url(behest), store)
    sid = behest.create_session("later")
    mid = behest.append_message(sid, "assistant", "answer")
    old_sid = behest.conversation(turns=1)
    first = store.sessions.list_sessions()[-1]
    behest.update_session(str(first.id), "renamed", "gpt-5")
    target = store.sessions.list_messages(first.id)[1]
    behest.update_usage(str(target.id), 7, 8)
    ex = store.executions.list_executions(first.id)[0]
    behest.con.execute("UPDATE tool_executions SET status = 'pending', duration_ms = 0 WHERE id = ?", (str(ex.id),))
    report = sync(_url(behest), store)
    assert report.new["sessions"] == 2
    assert report.new["messages"] == 1 + 3
    assert report.updated == {
        "sessions": 1,
        "messages": 1,
        "tool_executions": 1,
        "usage_records": 0,
        "embeddings": 0,
        "artifacts": 0,
    }
    got = store.sessions.get_session(first.id)
    assert got is not None
    assert (got.title, got.model) == ("renamed", "gpt-5")
    assert got.updated_at > first.updated_at
    assert store.sessions.list_messages(first.id)[1].usage == TokenUsage(
        input_tokens=7, output_tokens=8, total_tokens=15
    )
    assert store.executions.list_executions(first.id)[0].status is ToolExecutionStatus.PENDING
    assert [m.id for m in store.sessions.list_messages(UUID(sid))] == [UUID(mid)]
    assert store.sessions.get_session(UUID(old_sid)) is not None
    assert sync(_url(behest), store).changed == 0


def test_an_execution_recorded_again_when_it_finished_is_updated(behest: BehestSqlite, store: Store) -> None:
    sid = behest.create_session()
    mid = behest.append_message(sid, "assistant", "", [{"id": "c", "name": "search", "arguments": {}}])
    eid = behest.record_execution(sid, mid, call_id="c", status="pending")
    sync(_url(behest), store)
    behest.finish_execution(eid, {"hits": 3}, 250)
    report = sync(_url(behest), store)
    assert report.updated["tool_executions"] == 1
    assert report.changed == 1
    (e,) = store.executions.list_executions(UUID(sid))
    assert (e.status, e.result, e.duration_ms) == (ToolExecutionStatus.SUCCESS, {"hits": 3}, 250)


def test_deleted_sessions_are_reported_and_removed_only_when_mirrored(behest: BehestSqlite, store: Store) -> None:
    sync(_url(behest), store)
    victim = store.sessions.list_sessions()[0].id
    behest.delete_session(str(victim))  # behest's cascade: messages, executions, usage records
    report = sync(_url(behest), store)
    assert report.deleted["sessions"] == 1
    assert report.deleted["messages"] == 6
    assert sum(report.removed.values()) == 0
    assert store.sessions.get_session(victim) is not None
    mirrored = sync(_url(behest), store, mirror_deletes=True)
    assert mirrored.removed == mirrored.deleted
    assert mirrored.removed["tool_executions"] == 2
    assert store.sessions.get_session(victim) is None
    assert _count(store, "messages") == 12
    assert _count(store, "provenance") == 2 + 12 + 4 + 4
    assert sum(sync(_url(behest), store).deleted.values()) == 0


def test_provenance_names_the_source_without_secrets(behest: BehestSqlite, store: Store) -> None:
    sync(_url(behest), store)
    rows = store.sql("SELECT DISTINCT source, location FROM provenance").fetchall()
    assert rows == [("sqlite", str(behest.path.resolve()))]
    by_source = store.sql(
        "SELECT p.source, count(*) FROM sessions AS s JOIN provenance AS p ON p.record_id = s.id "
        "AND p.\"table\" = 'sessions' GROUP BY 1"
    ).fetchall()
    assert by_source == [("sqlite", 3)]


def test_a_bad_row_is_named_or_skipped_and_counted(behest: BehestSqlite, store: Store) -> None:
    sid = behest.create_session()
    bad = behest.append_message(sid, "user", "x")
    behest.con.execute('UPDATE messages SET content = \'[{"type": "nope"}\' WHERE id = ?', (bad,))
    with pytest.raises(SourceError) as info:
        sync(_url(behest), store)
    err = info.value
    assert (err.source, err.table, err.key) == ("sqlite", "messages", bad)
    assert err.row is not None
    assert str(behest.path.resolve()) in str(err)
    assert "messages" in str(err)
    report = sync(_url(behest), store, skip_bad=True)
    assert report.bad == 1
    assert report.bad_rows[0].key == bad
    assert report.new["messages"] == 18
    assert store.sessions.get_session(UUID(sid)) is not None
    # the bad row is read again next time (it was never stored), and counted again
    assert sync(_url(behest), store, skip_bad=True).bad == 1


def test_a_sync_after_an_import_replaces_instead_of_failing(behest: BehestSqlite, store: Store) -> None:
    import_behest_sqlite(store, behest.path)
    report = sync(_url(behest), store)
    assert sum(report.new.values()) == 0
    assert report.updated["messages"] == 18
    assert _count(store, "messages") == 18
    assert _count(store, "provenance") == 33


def test_sources_that_are_not_behest_give_named_errors(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file"):
        open_source(f"sqlite://{tmp_path}/missing.db")
    (tmp_path / "text.db").write_text("not sqlite at all, just text that is long enough")
    with pytest.raises(SourceError, match="SQLite"):
        open_source(f"sqlite://{tmp_path}/text.db")
    import sqlite3

    other = sqlite3.connect(tmp_path / "other.db")
    other.execute("CREATE TABLE things (id TEXT)")
    other.commit()
    other.close()
    with pytest.raises(SourceError, match="not a behest database") as info:
        open_source(str(tmp_path / "other.db"))
    assert info.value.table == "sessions"


def test_a_schema_from_an_unknown_behest_version_is_refused(behest: BehestSqlite) -> None:
    # sqlx's bookkeeping table, as sqlx creates it, naming a sixth migration this behest_lab does not know
    behest.con.execute(
        "CREATE TABLE _sqlx_migrations (version BIGINT PRIMARY KEY, description TEXT NOT NULL, installed_on "
        "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP, success BOOLEAN NOT NULL, checksum BLOB NOT NULL, "
        "execution_time BIGINT NOT NULL)"
    )
    behest.con.execute("INSERT INTO _sqlx_migrations VALUES (6, 'future', '2030-01-01', 1, x'00', 1)")
    with pytest.raises(SourceError, match=r"migrations \[6\]") as info:
        open_source(str(behest.path))
    assert info.value.table == "_sqlx_migrations"


def test_a_tool_result_changed_in_place_keeps_its_recovered_ids(behest: BehestSqlite, store: Store) -> None:
    sync(_url(behest), store)
    session = store.sessions.list_sessions()[0]
    tools = [m for m in store.sessions.list_messages(session.id) if m.role.value == "tool"]
    assert len(tools) == 2
    for m in tools:
        behest.update_usage(str(m.id), 1, 1)
    report = sync(_url(behest), store)
    assert report.updated["messages"] == 2
    assert report.changed == 2
    after = [m for m in store.sessions.list_messages(session.id) if m.role.value == "tool"]
    assert [(m.tool_call_id, m.tool_name) for m in after] == [(m.tool_call_id, m.tool_name) for m in tools]
    assert [m.tool_call_id for m in after] == ["call-0", "call-1"]
    assert all(m.usage is not None for m in after)
