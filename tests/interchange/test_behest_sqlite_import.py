"""Importing behest SQLite databases: behest's text shapes, role/status mapping, tool-id recovery, batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import (
    CacheControl,
    CompactionMeta,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    open_store,
)
from behest_lab.errors import InterchangeError
from behest_lab.interchange import import_behest_sqlite
from behest_lab.records import Instant
from tests.interchange._behest_db import behest_db, insert

SA = "0190a5d0-0000-7000-8000-00000000000a"
SB = "0190a5d0-0000-7000-8000-00000000000b"
SC = "0190a5d0-0000-7000-8000-00000000000c"


def mid(n: int) -> str:
    """Message id number ``n``."""
    return f"0190a5d0-0000-7000-8000-0000000001{n:02d}"


def xid(n: int) -> str:
    """Execution / usage id number ``n``."""
    return f"0190a5d0-0000-7000-8000-0000000002{n:02d}"


def t(hms: str, frac: str = "", tz: str = "+00:00") -> str:
    """A timestamp of 2025-03-01 in behest's text shape."""
    return f"2025-03-01T{hms}{'.' + frac if frac else ''}{tz}"


def dt(h: int, m: int, s: int, us: int = 0, day: int = 1, ns: int = 0) -> datetime:
    return Instant(2025, 3, day, h, m, s, us, tzinfo=UTC, nanosecond=ns)


CALLS = (
    '[{"id":"call_a","name":"search","arguments":{"q":"x"}},{"id":"call_b","name":"read","arguments":{"path":"/a"}}]'
)
USAGE6 = (
    '{"input_tokens":100,"output_tokens":20,"total_tokens":120,"cache_creation_input_tokens":null,'
    '"cache_read_input_tokens":80,"cached_input_tokens":null}'
)


@pytest.fixture
def tricky_db(tmp_path: Path) -> Path:
    """A database with every shape behest (0.3.1 and 0.5.9) leaves behind."""
    path = tmp_path / "behest.db"
    con = behest_db(path)
    insert(
        con,
        "sessions",
        id=SA,
        title="Chat",
        metadata="null",
        created_at=t("12:00:00", "123456789"),
        updated_at="2025-03-01T12:30:00.500Z",
    )
    insert(
        con,
        "sessions",
        id=SB,
        title="",
        metadata="{}",
        created_at="2025-03-02T08:00:00+00:00",
        updated_at="2025-03-02T08:00:09+00:00",
    )
    insert(con, "sessions", id=SC, metadata='{"team":"x","n":1.5}')  # DDL default timestamps (…Z)
    cache = '[{"type":"text","text":"hello","cache_control":{"kind":"ephemeral","ttl":"one_hour"}}]'
    meta = f'{{"tail_start_id":"{mid(5)}","previous_compaction_id":null,"summary_text":%s}}'
    msgs: list[dict[str, object]] = [
        {"id": mid(1), "content": cache, "created_at": t("12:00:01")},
        {
            "id": mid(2),
            "role": "assistant",
            "content": '[{"type":"text","text":"calling"}]',
            "tool_calls": CALLS,
            "usage": USAGE6,
            "created_at": t("12:00:02", "500"),
        },
        {
            "id": mid(3),
            "role": "tool",
            "content": '[{"type":"json","value":{"hits":[1,2]}}]',
            "created_at": t("12:00:03", "123456"),
        },
        # same microsecond as the previous one, 789 ns later: kept to the nanosecond
        {
            "id": mid(4),
            "role": "tool",
            "content": '[{"type":"text","text":"file"}]',
            "created_at": t("12:00:03", "123456789"),
        },
        {
            "id": mid(5),
            "role": "assistant",
            "content": '[{"type":"text","text":"done"}]',
            "usage": '{"input_tokens":150,"output_tokens":30,"total_tokens":180}',
            "created_at": t("12:00:04", tz="Z"),
        },
        # sorts before the previous row as text ('.' < 'Z') but is later in time
        {
            "id": mid(6),
            "role": "developer",
            "content": '[{"type":"image_url","url":"https://x/y.png","mime_type":null}]',
            "created_at": t("12:00:04", "500"),
        },
        {
            "id": mid(7),
            "content": '[{"type":"text","text":"[compaction]"}]',
            "is_compaction": 1,
            "created_at": t("12:00:06"),
            "compaction_meta": meta % "null",
        },
        {
            "id": mid(8),
            "role": "assistant",
            "content": '[{"type":"text","text":"sum"}]',
            "is_summary": 1,
            "created_at": t("12:00:07"),
            "compaction_meta": meta % '"sum"',
        },
    ]
    for m in [msgs[1], msgs[0], *msgs[2:]]:  # rowid order differs from time order for the first two
        insert(con, "messages", session_id=SA, **m)
    insert(con, "messages", id=mid(9), session_id=SB, role="assistant", created_at="2025-03-02T08:00:01+00:00")
    insert(con, "messages", id=mid(10), session_id=SB, role="tool", created_at="2025-03-02T08:00:02+00:00")
    insert(
        con,
        "tool_executions",
        id=xid(1),
        session_id=SA,
        message_id=mid(2),
        call_id="call_a",
        status="success",
        result='{"hits":2}',
        duration_ms=1500,
        created_at=t("12:00:02", "600"),
    )
    insert(
        con,
        "tool_executions",
        id=xid(2),
        session_id=SA,
        message_id=mid(2),
        call_id="call_b",
        tool_name="read",
        status="cancelled",
        error="timeout",
        created_at=t("12:00:02", "700"),
    )
    insert(
        con,
        "tool_executions",
        id=xid(3),
        session_id=SB,
        message_id=mid(9),
        result="null",
        status="failed",
        error="boom",
        duration_ms=7,
        created_at="2025-03-02T08:00:01.5Z",
    )
    # behest writes u64 counters through a wrapping i64 cast: 2**64-1 is stored as -1
    insert(
        con,
        "usage_records",
        id=xid(4),
        session_id=SA,
        message_id=mid(2),
        input_tokens=-1,
        output_tokens=5,
        total_tokens=-2,
        created_at=t("12:00:02", "500"),
    )
    con.close()
    return path


def test_imports_every_behest_shape(store: Store, tricky_db: Path) -> None:
    report = import_behest_sqlite(store, tricky_db)

    sa, sb, sc = UUID(SA), UUID(SB), UUID(SC)
    assert store.sessions.get_session(sa) == Session(
        id=sa, title="Chat", model="gpt-4", created_at=dt(12, 0, 0, 123456, ns=789), updated_at=dt(12, 30, 0, 500000)
    )
    assert store.sessions.get_session(sb) == Session(
        id=sb, title="", model="gpt-4", metadata={}, created_at=dt(8, 0, 0, day=2), updated_at=dt(8, 0, 9, day=2)
    )
    got_c = store.sessions.get_session(sc)
    assert got_c is not None
    assert got_c.metadata == {"team": "x", "n": 1.5}
    assert got_c.created_at.tzinfo is not None

    meta = CompactionMeta(tail_start_id=UUID(mid(5)))

    def m(n: int, role: MessageRole, content: list[object], created: datetime, **kw: object) -> MessageRecord:
        return MessageRecord(id=UUID(mid(n)), session_id=sa, role=role, content=content, created_at=created, **kw)

    calls = [
        ToolCall(id="call_a", name="search", arguments={"q": "x"}),
        ToolCall(id="call_b", name="read", arguments={"path": "/a"}),
    ]
    expected = [
        m(1, MessageRole.USER, [TextPart(text="hello", cache_control=CacheControl(ttl="one_hour"))], dt(12, 0, 1)),
        m(
            2,
            MessageRole.ASSISTANT,
            [TextPart(text="calling")],
            dt(12, 0, 2, 500000),
            tool_calls=calls,
            usage=TokenUsage(input_tokens=100, output_tokens=20, total_tokens=120, cache_read_input_tokens=80),
        ),
        m(
            3,
            MessageRole.TOOL,
            [JsonPart(value={"hits": [1, 2]})],
            dt(12, 0, 3, 123456),
            tool_call_id="call_a",
            tool_name="search",
        ),
        m(
            4,
            MessageRole.TOOL,
            [TextPart(text="file")],
            dt(12, 0, 3, 123456, ns=789),
            tool_call_id="call_b",
            tool_name="read",
        ),
        m(
            5,
            MessageRole.ASSISTANT,
            [TextPart(text="done")],
            dt(12, 0, 4),
            usage=TokenUsage(input_tokens=150, output_tokens=30, total_tokens=180),
        ),
        m(6, MessageRole.USER, [ImageUrlPart(url="https://x/y.png")], dt(12, 0, 4, 500000)),
        m(7, MessageRole.USER, [TextPart(text="[compaction]")], dt(12, 0, 6), is_compaction=True, compaction_meta=meta),
        m(
            8,
            MessageRole.ASSISTANT,
            [TextPart(text="sum")],
            dt(12, 0, 7),
            is_summary=True,
            compaction_meta=meta.with_summary("sum"),
        ),
    ]
    assert store.sessions.list_messages(sa) == expected
    assert [x.tool_call_id for x in store.sessions.list_messages(sb)] == [None, None]

    assert store.executions.list_executions(sa) == [
        ToolExecution(
            id=UUID(xid(1)),
            session_id=sa,
            message_id=UUID(mid(2)),
            call_id="call_a",
            tool_name="search",
            arguments={"q": "x"},
            result={"hits": 2},
            status=ToolExecutionStatus.SUCCESS,
            duration=timedelta(milliseconds=1500),
            created_at=dt(12, 0, 2, 600000),
        ),
        ToolExecution(
            id=UUID(xid(2)),
            session_id=sa,
            message_id=UUID(mid(2)),
            call_id="call_b",
            tool_name="read",
            arguments={"q": "x"},
            status=ToolExecutionStatus.PENDING,
            error="timeout",
            created_at=dt(12, 0, 2, 700000),
        ),
    ]
    [failed] = store.executions.list_executions(sb)
    assert (failed.result, failed.status, failed.duration) == (None, ToolExecutionStatus.FAILED, timedelta(0, 0, 7000))
    assert store.executions.list_usage(sa) == [
        UsageRecord(
            id=UUID(xid(4)),
            session_id=sa,
            message_id=UUID(mid(2)),
            provider="openai",
            model="gpt-4",
            input_tokens=2**64 - 1,
            output_tokens=5,
            total_tokens=2**64 - 2,
            created_at=dt(12, 0, 2, 500000),
        )
    ]

    assert dict(report.roles_mapped) == {"developer": 1}
    assert dict(report.statuses_mapped) == {"cancelled": 1}
    assert (report.tool_ids_recovered, report.tool_ids_unpaired) == (2, 1)
    counts = {name: (c.read, c.imported, c.duplicates, c.bad) for name, c in report.tables.items()}
    assert counts == {
        "sessions": (3, 3, 0, 0),
        "messages": (10, 10, 0, 0),
        "tool_executions": (3, 3, 0, 0),
        "usage_records": (1, 1, 0, 0),
        "embeddings": (0, 0, 0, 0),
        "artifacts": (0, 0, 0, 0),
    }
    text = str(report)
    assert "'developer' x1" in text
    assert "'cancelled' x1" in text


def test_reimport_adds_nothing_and_picks_up_new_rows(store: Store, tricky_db: Path) -> None:
    first = import_behest_sqlite(store, tricky_db)
    again = import_behest_sqlite(store, tricky_db)
    assert again.imported == 0
    assert again.duplicates == first.imported
    assert {n: c.duplicates for n, c in again.tables.items()} == {n: c.imported for n, c in first.tables.items()}
    assert len(store.sessions.list_messages(UUID(SA))) == 8

    con = behest_db(tricky_db, migrations=0)
    insert(con, "messages", id=mid(20), session_id=SA, created_at=t("12:00:09"))
    con.close()
    third = import_behest_sqlite(store, tricky_db)
    assert (third.tables["messages"].imported, third.tables["messages"].duplicates) == (1, 10)
    assert store.sessions.list_messages(UUID(SA))[-1].id == UUID(mid(20))
    # the session keeps the updated_at of the source, not the time of the import
    session = store.sessions.get_session(UUID(SA))
    assert session is not None
    assert session.updated_at == dt(12, 30, 0, 500000)


def test_database_before_migration_005_reads_default_compaction_fields(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    con = behest_db(path, migrations=4)
    insert(con, "sessions", id=SA, created_at=t("12:00:00"), updated_at=t("12:00:00"))
    insert(con, "messages", id=mid(1), session_id=SA, created_at=t("12:00:01"))
    con.close()
    store = open_store(None)
    import_behest_sqlite(store, path)
    [msg] = store.sessions.list_messages(UUID(SA))
    assert (msg.is_compaction, msg.is_summary, msg.compaction_meta) == (False, False, None)


# --- bad rows ----------------------------------------------------------------------------------------------------

BAD_CASES = [
    ("messages", {"id": "not-a-uuid"}, "not-a-uuid", "id: not a UUID"),
    ("messages", {"content": '[{"type":"text"'}, mid(2), "content: invalid JSON"),
    ("messages", {"content": '[{"type":"audio","data":"x"}]'}, mid(2), "content.0"),
    ("messages", {"created_at": "2025-03-01T12:00:00"}, mid(2), "created_at: not an RFC 3339 timestamp"),
    ("messages", {"usage": '{"input_tokens":1}'}, mid(2), "usage"),
    ("messages", {"is_summary": "yes"}, mid(2), "is_summary: expected an integer"),
    ("tool_executions", {"arguments": "{oops"}, xid(2), "arguments: invalid JSON"),
    ("tool_executions", {"duration_ms": -5}, xid(2), "duration_ms: negative"),
    ("usage_records", {"input_tokens": 1.5}, xid(2), "input_tokens: expected an integer"),
    ("usage_records", {"message_id": "x"}, xid(2), "message_id: not a UUID"),
]


def _two_sessions_with_a_bad_row(path: Path, table: str, bad: dict[str, object]) -> int:
    """Sessions SA (fine) and SB (one bad row in ``table``); returns the bad row's rowid."""
    con = behest_db(path)
    for sid, day in ((SA, "01"), (SB, "02")):
        insert(
            con,
            "sessions",
            id=sid,
            created_at=f"2025-03-{day}T00:00:00+00:00",
            updated_at=f"2025-03-{day}T00:00:00+00:00",
        )
    insert(con, "messages", id=mid(1), session_id=SA, created_at=t("12:00:01"))
    insert(con, "tool_executions", id=xid(1), session_id=SA, message_id=mid(1), created_at=t("12:00:01"))
    insert(con, "usage_records", id=xid(3), session_id=SA, message_id=mid(1), created_at=t("12:00:01"))
    ids = {"messages": mid(2), "tool_executions": xid(2), "usage_records": xid(2)}
    fields: dict[str, object] = {"id": ids[table], "session_id": SB, "created_at": t("12:00:02")}
    if table != "messages":
        fields["message_id"] = mid(1)
    fields.update(bad)
    rowid = insert(con, table, **fields)
    con.close()
    return rowid


@pytest.mark.parametrize(("table", "bad", "row_id", "reason"), BAD_CASES)
def test_bad_row_stops_the_import_and_nothing_of_its_batch_lands(
    tmp_path: Path, table: str, bad: dict[str, object], row_id: str, reason: str
) -> None:
    path = tmp_path / "bad.db"
    rowid = _two_sessions_with_a_bad_row(path, table, bad)
    store = open_store(None)
    with pytest.raises(InterchangeError) as err:
        import_behest_sqlite(store, path)
    e = err.value
    assert (e.path, e.table, e.line, e.row_id) == (str(path), table, rowid, row_id)
    assert reason in str(e)
    assert store.sessions.list_sessions() == []
    assert store.sql("SELECT count(*) FROM messages").fetchone() == (0,)


@pytest.mark.parametrize(("table", "bad", "row_id", "reason"), BAD_CASES)
def test_skip_bad_skips_and_counts_the_bad_row(
    tmp_path: Path, table: str, bad: dict[str, object], row_id: str, reason: str
) -> None:
    path = tmp_path / "bad.db"
    rowid = _two_sessions_with_a_bad_row(path, table, bad)
    store = open_store(None)
    report = import_behest_sqlite(store, path, skip_bad=True)
    [row] = report.bad_rows
    assert (row.table, row.line, row.row_id) == (table, rowid, row_id)
    assert reason in row.reason
    assert report.tables[table].bad == 1
    assert report.tables[table].imported == report.tables[table].read - 1 == 1
    assert len(store.sessions.list_sessions()) == 2
    assert reason in str(report)


def test_bad_session_takes_its_rows_with_it_under_skip_bad(tmp_path: Path) -> None:
    path = tmp_path / "bad.db"
    con = behest_db(path)
    insert(con, "sessions", id=SA, created_at="2025-03-01 12:00:00", updated_at=t("12:00:00"))  # no offset
    insert(con, "messages", id=mid(1), session_id=SA, created_at=t("12:00:01"))
    insert(con, "tool_executions", id=xid(1), session_id=SA, message_id=mid(1), created_at=t("12:00:01"))
    con.close()
    store = open_store(None)
    with pytest.raises(InterchangeError, match="created_at") as err:
        import_behest_sqlite(store, path)
    assert (err.value.table, err.value.row_id) == ("sessions", SA)

    report = import_behest_sqlite(store, path, skip_bad=True)
    assert [(r.table, r.row_id) for r in report.bad_rows] == [
        ("sessions", SA),
        ("messages", mid(1)),
        ("tool_executions", xid(1)),
    ]
    assert "neither in the store nor imported" in report.bad_rows[1].reason
    assert report.imported == 0


def test_batches_before_a_bad_row_stay_and_a_rerun_skips_them(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "batches.db"
    con = behest_db(path)
    sessions = [SA, SB, SC]
    for i, sid in enumerate(sessions, start=1):
        insert(con, "sessions", id=sid, created_at=t(f"1{i}:00:00"), updated_at=t(f"1{i}:00:00"))
        insert(con, "messages", id=mid(i), session_id=sid, created_at=t(f"1{i}:00:01"))
        insert(
            con,
            "messages",
            id=mid(10 + i),
            session_id=sid,
            created_at=t(f"1{i}:00:02"),
            content="[]" if i != 2 else "not json",
        )
    con.close()

    with pytest.raises(InterchangeError) as err:
        import_behest_sqlite(store, path, batch_sessions=1)
    assert err.value.row_id == mid(12)
    assert [s.id for s in store.sessions.list_sessions()] == [UUID(SA)]
    assert len(store.sessions.list_messages(UUID(SA))) == 2
    assert store.sessions.list_messages(UUID(SB)) == []

    report = import_behest_sqlite(store, path, batch_sessions=1, skip_bad=True)
    assert (report.tables["sessions"].duplicates, report.tables["sessions"].imported) == (1, 2)
    assert (report.tables["messages"].duplicates, report.tables["messages"].imported, report.bad) == (2, 3, 1)
    assert [len(store.sessions.list_messages(UUID(s))) for s in sessions] == [2, 1, 2]


def test_rows_of_a_missing_session_are_reported_before_anything_is_written(tmp_path: Path) -> None:
    path = tmp_path / "orphans.db"
    con = behest_db(path)
    insert(con, "sessions", id=SA, created_at=t("12:00:00"), updated_at=t("12:00:00"))
    con.execute("PRAGMA foreign_keys=OFF")  # what a writer without sqlx's default could leave
    rowid = insert(con, "messages", id=mid(1), session_id=SB, created_at=t("12:00:01"))
    con.close()
    store = open_store(None)
    with pytest.raises(InterchangeError, match="does not exist") as err:
        import_behest_sqlite(store, path)
    assert (err.value.table, err.value.line, err.value.row_id) == ("messages", rowid, mid(1))
    assert store.sessions.list_sessions() == []
    report = import_behest_sqlite(store, path, skip_bad=True)
    assert (report.tables["messages"].bad, report.tables["sessions"].imported) == (1, 1)


def test_files_that_are_not_behest_databases(tmp_path: Path) -> None:
    store = open_store(None)
    with pytest.raises(InterchangeError, match="no such file"):
        import_behest_sqlite(store, tmp_path / "missing.db")
    text = tmp_path / "notes.txt"
    text.write_text("hello, not a database, just some text that is long enough to be a page" * 20)
    with pytest.raises(InterchangeError, match="cannot read as SQLite"):
        import_behest_sqlite(store, text)
    other = tmp_path / "other.db"
    behest_db(other, migrations=1).close()
    with pytest.raises(InterchangeError, match="not a behest database") as err:
        import_behest_sqlite(store, other)
    assert err.value.table == "messages"
    with pytest.raises(ValueError, match="batch_sessions"):
        import_behest_sqlite(store, other, batch_sessions=0)


def test_source_database_is_opened_read_only(tmp_path: Path, tricky_db: Path) -> None:
    before = tricky_db.read_bytes()
    import_behest_sqlite(open_store(None), tricky_db)
    assert tricky_db.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["behest.db"]  # no journal or wal files left behind
