"""A database in behest's SQLite layout, written with behest's text shapes, comes back with zero changed cells.

The rows are written as behest's SQL store writes them (derived from its code, not from behest_lab's output):
timestamps from chrono's ``to_rfc3339()`` (``+00:00``, 0/3/6/9 fraction digits, 4-digit years), JSON columns from
``serde_json::to_string`` (serde_json 1.0.150: ``1e+16``), a ``Some(null)`` result as the text ``null``, u64
counters through a wrapping i64 cast, durations clamped to ``i64::MAX`` ms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from behest_lab import open_store
from behest_lab.errors import InterchangeError
from behest_lab.interchange import export_behest_sqlite, import_behest_sqlite
from behest_lab.stores.protocols import Store
from tests.interchange._behest_db import behest_db, insert, rows

S1 = "01890a5d-ac96-774b-bcce-b302099a8001"
S2 = "01890a5d-ac96-774b-bcce-b302099a8002"
S3 = "01890a5d-ac96-774b-bcce-b302099a8003"


def _id(prefix: str, n: int) -> str:
    return f"01890a5d-ac96-7{prefix}-8a1e-5f0b3c9d{n:04d}"


def _meta(tail: str, summary: str) -> str:
    return f'{{"tail_start_id":"{tail}","previous_compaction_id":null,"summary_text":{summary}}}'


def _messages(con: Any) -> None:
    m = [_id("c4b", i) for i in range(8)]
    base = "2025-03-01T12:00:00"
    calls = '[{"id":"call_1","name":"calc","arguments":{"x":1e+16,"y":-2.5e-7}}]'
    for i, (role, content, tool_calls, usage, created, extra) in enumerate(
        [
            ("user", '[{"type":"text","text":"hi ✓"}]', "[]", None, f"{base}.000000001+00:00", {}),
            (
                "assistant",
                '[{"type":"text","text":"calling","cache_control":{"kind":"ephemeral","ttl":"one_hour"}}]',
                calls,
                '{"input_tokens":100,"output_tokens":20,"total_tokens":120}',  # behest 0.3.1's three keys
                f"{base}.000000002+00:00",  # one nanosecond after the previous message
                {},
            ),
            ("tool", '[{"type":"json","value":{"r":1e-7,"n":null}}]', "[]", None, f"{base}.123456789+00:00", {}),
            (
                "assistant",
                '[{"type":"image_url","url":"https://x/y.png","mime_type":null}]',
                "[]",
                '{"input_tokens":18446744073709551615,"output_tokens":0,"total_tokens":5,'
                '"cache_creation_input_tokens":null,"cache_read_input_tokens":80,"cached_input_tokens":null}',
                f"{base}.999999999+00:00",
                {},
            ),
            (
                "user",
                '[{"type":"text","text":"[compaction]"}]',
                "[]",
                None,
                "2025-03-01T12:00:01.500+00:00",
                {
                    "is_compaction": 1,
                    "compaction_meta": _meta(m[2], "null"),
                },
            ),
            (
                "assistant",
                '[{"type":"text","text":"summary"}]',
                "[]",
                None,
                "2025-03-01T12:00:01.500000001+00:00",
                {
                    "is_summary": 1,
                    "compaction_meta": _meta(m[2], '"s"'),
                },
            ),
        ]
    ):
        insert(
            con,
            "messages",
            id=m[i],
            session_id=S1,
            role=role,
            content=content,
            tool_calls=tool_calls,
            usage=usage,
            created_at=created,
            **extra,
        )


def _golden_db(path: Path) -> None:
    con = behest_db(path)
    insert(
        con,
        "sessions",
        id=S1,
        title="Chat ✓",
        model="gpt-4",
        metadata='{"big":1e+16,"fixed":1000000000000000.0,"tiny":1e-6,"u64":18446744073709551615,"z":[1.5,null]}',
        created_at="2025-03-01T12:00:00.123456789+00:00",
        updated_at="2025-03-01T12:30:00.120+00:00",
    )
    insert(
        con,
        "sessions",
        id=S2,
        title="",
        model="m",
        metadata="null",
        created_at="0001-01-01T00:00:00+00:00",
        updated_at="9999-12-31T23:59:59.999999999+00:00",
    )
    insert(
        con,
        "sessions",
        id=S3,
        model="m",
        metadata="{}",
        created_at="0999-06-01T00:00:00.000001+00:00",
        updated_at="2025-03-01T00:00:00+00:00",
    )
    _messages(con)
    msg = _id("c4b", 1)
    for i, (result, status, error, duration, created) in enumerate(
        [
            ("null", "success", None, 9223372036854775807, "2025-03-01T12:00:00.000000003+00:00"),  # Some(null)
            (None, "pending", None, 0, "2025-03-01T12:00:00.000000004+00:00"),  # None
            ('{"v":[1e+21,0.1]}', "success", None, 1999, "2025-03-01T12:00:00.500+00:00"),
            (None, "failed", "boom", 7, "2025-03-01T12:00:00.000001+00:00"),
        ]
    ):
        insert(
            con,
            "tool_executions",
            id=_id("d00", i),
            session_id=S1,
            message_id=msg,
            call_id=f"call_{i}",
            arguments='{"x":1e+16}',
            result=result,
            status=status,
            error=error,
            duration_ms=duration,
            created_at=created,
        )
    insert(
        con,
        "usage_records",
        id=_id("e00", 1),
        session_id=S1,
        message_id=msg,
        input_tokens=-1,  # u64::MAX through behest's wrapping cast
        output_tokens=5,
        total_tokens=-2,
        created_at="2025-03-01T12:00:00.000000005+00:00",
    )
    con.close()


_TABLES = ("sessions", "messages", "tool_executions", "usage_records")


def _cells(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {t: rows(path, f"SELECT * FROM {t} ORDER BY id") for t in _TABLES}


@pytest.mark.parametrize("backend", ["memory", "lake"])
def test_a_behest_database_comes_back_with_zero_changed_cells(backend: str, tmp_path: Path) -> None:
    source = tmp_path / "behest.db"
    _golden_db(source)
    store: Store = open_store(None if backend == "memory" else tmp_path / "lake")
    report = import_behest_sqlite(store, source)
    assert report.bad == 0
    assert report.imported == 3 + 6 + 4 + 1
    out = tmp_path / "out.db"
    export_behest_sqlite(store, out)
    want, got = _cells(source), _cells(out)
    changed = [
        (t, a[0], b[0], col)
        for t in _TABLES
        for a, b in zip(want[t], got[t], strict=True)
        for col, (x, y) in enumerate(zip(a, b, strict=True))
        if x != y or type(x) is not type(y)
    ]
    assert changed == []
    assert {t: len(r) for t, r in got.items()} == {t: len(r) for t, r in want.items()}
    store.close()


def _db_with_values_python_cannot_hold(path: Path) -> None:
    con = behest_db(path)
    insert(con, "sessions", id=S1, created_at="2025-03-01T12:00:00+00:00", updated_at="2025-03-01T12:00:00+00:00")
    insert(con, "sessions", id=S2, created_at="0000-01-01T00:00:00+00:00", updated_at="2025-03-01T12:00:00+00:00")
    insert(con, "messages", id=_id("c4b", 1), session_id=S1, created_at="2016-12-31T23:59:60.5+00:00")
    insert(con, "messages", id=_id("c4b", 2), session_id=S1, created_at="2025-03-01T12:00:01+00:00")
    insert(
        con,
        "tool_executions",
        id=_id("d00", 1),
        session_id=S1,
        message_id=_id("c4b", 2),
        duration_ms=9223372036854775807,
        created_at="+10000-01-01T00:00:00+00:00",
    )
    con.close()


def test_values_python_cannot_hold_are_named_bad_rows(tmp_path: Path) -> None:
    source = tmp_path / "edge.db"
    _db_with_values_python_cannot_hold(source)
    with pytest.raises(InterchangeError, match="year 0 is outside"):
        import_behest_sqlite(open_store(None), source)
    store = open_store(None)
    report = import_behest_sqlite(store, source, skip_bad=True)
    reasons = sorted((b.table, b.reason.split(": ", 1)[0]) for b in report.bad_rows)
    assert reasons == [("messages", "created_at"), ("sessions", "created_at"), ("tool_executions", "created_at")]
    assert "leap second" in str(report.bad_rows)
    assert (report.tables["sessions"].imported, report.tables["messages"].imported) == (1, 1)
