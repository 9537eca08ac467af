"""Importers name every bad row (file, line or rowid, table, row id, field) and ``skip_bad`` skips exactly that row.

The odd values are the ones behest's serde_json cannot write and read back: JSON nested beyond the records'
depth limit (even deep enough to exhaust Python's own decoder), lone surrogates, NaN and Infinity; and the largest
durations behest writes, which are accepted and written back unchanged.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from behest_lab import MessageRecord, MessageRole, Session, ToolExecution, open_store
from behest_lab.cli import main
from behest_lab.errors import InterchangeError
from behest_lab.interchange import export_behest_sqlite, export_jsonl, import_behest_sqlite, import_jsonl
from behest_lab.records import JsonPart, LongDuration, ToolCall
from behest_lab.records._checks import MAX_JSON_DEPTH
from tests.interchange._behest_db import behest_db, insert

GOOD_SID = "0190a5d0-0000-7000-8000-000000000001"
BAD_SID = "0190a5d0-0000-7000-8000-000000000002"
LAST_SID = "0190a5d0-0000-7000-8000-000000000003"
TIME = "2025-03-01T12:00:00Z"


def _deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def _session_line(sid: str, title: str = '"t"', metadata: str = "null") -> str:
    record = f'{{"id":"{sid}","title":{title},"model":"m","created_at":"{TIME}","updated_at":"{TIME}",'
    return f'{{"kind":"session","record":{record}"metadata":{metadata}}}}}'


#: A bad session line (as JSON text, so it can hold what ``json.dumps`` would not write) and the field to name.
BAD_SESSIONS: dict[str, tuple[str, str]] = {
    "deeper than Python decodes": (_session_line(BAD_SID, metadata=_deep(5000)), "record.metadata"),
    "deeper than the records hold": (_session_line(BAD_SID, metadata=_deep(MAX_JSON_DEPTH + 1)), "metadata"),
    "lone surrogate in the title": (_session_line(BAD_SID, title='"a\\ud800b"'), "title"),
    "lone surrogate in a metadata key": (_session_line(BAD_SID, metadata='{"k\\udfff":1}'), "metadata"),
    "NaN token in metadata": (_session_line(BAD_SID, metadata='{"x":NaN}'), "NaN"),
    "Infinity token in metadata": (_session_line(BAD_SID, metadata='{"x":[-Infinity]}'), "Infinity"),
    "number beyond float64 in metadata": (_session_line(BAD_SID, metadata='{"x":1e999}'), "metadata"),
}


def _jsonl(path: Path, bad_line: str) -> Path:
    lines = [_session_line(GOOD_SID), bad_line, _session_line(LAST_SID)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("case", sorted(BAD_SESSIONS))
def test_jsonl_names_the_bad_line_and_skip_bad_skips_only_it(tmp_path: Path, case: str) -> None:
    bad_line, field = BAD_SESSIONS[case]
    source = _jsonl(tmp_path / "in.jsonl", bad_line)
    store = open_store(None)
    with pytest.raises(InterchangeError) as err:
        import_jsonl(store, source)
    e = err.value
    assert (e.path, e.line, e.table, e.row_id) == (str(source), 2, "sessions", BAD_SID)
    assert field in e.reason
    assert store.sessions.list_sessions() == []  # the bad line's batch did not land

    fresh = open_store(None)
    report = import_jsonl(fresh, source, skip_bad=True)
    assert [(r.line, r.table, r.row_id) for r in report.bad_rows] == [(2, "sessions", BAD_SID)]
    assert sorted(str(s.id) for s in fresh.sessions.list_sessions()) == [GOOD_SID, LAST_SID]

    # what was accepted writes back, and reads back the same
    out = tmp_path / "out.jsonl"
    export_jsonl(fresh, out)
    again = open_store(None)
    assert import_jsonl(again, out).bad == 0
    export_jsonl(again, tmp_path / "again.jsonl")
    assert (tmp_path / "again.jsonl").read_bytes() == out.read_bytes()


def test_a_line_too_deep_to_decode_is_named_even_when_it_is_not_in_export_shape(tmp_path: Path) -> None:
    record = json.loads(_session_line(BAD_SID))["record"]
    line = json.dumps({"kind": "session", "record": {**record, "metadata": None}}).replace("null", _deep(3000))
    source = tmp_path / "spaced.jsonl"
    source.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InterchangeError) as err:
        import_jsonl(open_store(None), source)
    assert err.value.line == 1
    assert err.value.reason.startswith("record.metadata: invalid JSON: nested too deeply")


def _behest(path: Path, **bad_session: Any) -> Path:
    con = behest_db(path)
    insert(con, "sessions", id=GOOD_SID, created_at=TIME, updated_at=TIME)
    insert(con, "sessions", id=BAD_SID, created_at=TIME, updated_at=TIME, **bad_session)
    insert(con, "sessions", id=LAST_SID, created_at=TIME, updated_at=TIME)
    con.close()
    return path


#: Bad column values of behest's ``sessions`` table (SQLite text can hold what behest's JSON cannot).
BAD_COLUMNS: dict[str, dict[str, Any]] = {
    "deeper than Python decodes": {"metadata": _deep(5000)},
    "deeper than the records hold": {"metadata": _deep(MAX_JSON_DEPTH + 1)},
    "lone surrogate escape in metadata": {"metadata": '{"k":"\\ud800"}'},
    "NaN token in metadata": {"metadata": '{"x":NaN}'},
    "Infinity token in metadata": {"metadata": '{"x":Infinity}'},
}


@pytest.mark.parametrize("case", sorted(BAD_COLUMNS))
def test_behest_sqlite_names_the_bad_row_and_skip_bad_skips_only_it(tmp_path: Path, case: str) -> None:
    source = _behest(tmp_path / "behest.db", **BAD_COLUMNS[case])
    store = open_store(None)
    with pytest.raises(InterchangeError) as err:
        import_behest_sqlite(store, source)
    e = err.value
    assert (e.path, e.line, e.table, e.row_id) == (str(source), 2, "sessions", BAD_SID)
    assert e.reason.startswith("metadata")
    assert store.sessions.list_sessions() == []  # the batch held the bad row: nothing of it landed

    report = import_behest_sqlite(store, source, skip_bad=True)
    assert [(r.line, r.table, r.row_id) for r in report.bad_rows] == [(2, "sessions", BAD_SID)]
    assert sorted(str(s.id) for s in store.sessions.list_sessions()) == [GOOD_SID, LAST_SID]
    out = tmp_path / "out.db"
    export_behest_sqlite(store, out)
    assert import_behest_sqlite(open_store(None), out).tables["sessions"].imported == 2


def test_cli_skip_bad_reports_the_skipped_row(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _jsonl(tmp_path / "in.jsonl", _session_line(BAD_SID, metadata='{"x":NaN}'))
    store = tmp_path / "store"
    assert main(["import", "jsonl", str(source), "--store", str(store), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"behest-lab: error: {source}, table sessions, line 2, row {BAD_SID}: ")
    assert err.count("\n") == 1
    assert main(["import", "jsonl", str(source), "--store", str(store), "--no-progress", "--skip-bad"]) == 0
    out = capsys.readouterr().out
    assert "skipped bad rows: 1" in out
    (listed,) = [line for line in out.splitlines() if BAD_SID in line]
    assert "line 2" in listed
    assert "NaN" in listed


@pytest.mark.parametrize("ms", [86_399_999_999_999_999, 86_400_000_000_000_000, 2**63 - 1, 2**63, 2**64 - 1])
def test_the_longest_durations_import_and_export_unchanged(tmp_path: Path, ms: int) -> None:
    session = Session(title="t", model="m")
    message = MessageRecord.text(session.id, MessageRole.ASSISTANT, "x")
    execution = ToolExecution(session_id=session.id, message_id=message.id, call_id="c", tool_name="t", duration=ms)
    source = tmp_path / "in.jsonl"
    lines = [("session", session), ("message", message), ("tool_execution", execution)]
    source.write_text("".join(f'{{"kind":"{k}","record":{r.model_dump_json()}}}\n' for k, r in lines), "utf-8")
    store = open_store(tmp_path / "lake")
    try:
        assert import_jsonl(store, source).bad == 0
        (back,) = store.executions.list_executions(session.id)
        assert back.duration_ms == ms
        assert isinstance(back.duration, LongDuration) == (ms > 86_399_999_999_999_999)
        export_jsonl(store, tmp_path / "out.jsonl")
        assert (tmp_path / "out.jsonl").read_bytes() == source.read_bytes()
        # behest's SQL stores clamp a duration to i64::MAX milliseconds (documented in behest_sqlite)
        export_behest_sqlite(store, tmp_path / "out.db")
        again = open_store(None)
        import_behest_sqlite(again, tmp_path / "out.db")
        (row,) = again.executions.list_executions(session.id)
        assert row.duration_ms == min(ms, 2**63 - 1)
    finally:
        store.close()


# --- the rules, in the records --------------------------------------------------------------------------------


def test_free_form_json_holds_exactly_max_depth_levels() -> None:
    deepest = json.loads(_deep(MAX_JSON_DEPTH))
    assert Session(title="t", model="m", metadata=deepest).metadata == deepest
    sid = Session(title="t", model="m").id
    too_deep = json.loads(_deep(MAX_JSON_DEPTH + 1))
    builders = [
        lambda v: Session(title="t", model="m", metadata=v),
        lambda v: MessageRecord(session_id=sid, role=MessageRole.USER, content=[JsonPart(value=v)]),
        lambda v: ToolCall(id="c", name="n", arguments=v),
        lambda v: ToolExecution(session_id=sid, message_id=sid, call_id="c", tool_name="t", result=v),
    ]
    for build in builders:
        with pytest.raises(ValidationError, match=f"nested deeper than {MAX_JSON_DEPTH} levels"):
            build(too_deep)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_nan_and_infinity_are_refused_by_name_not_written_as_null(value: float) -> None:
    with pytest.raises(ValidationError, match=r"\$\['a'\]\[1\] is (nan|inf|-inf): JSON numbers are finite"):
        Session(title="t", model="m", metadata={"a": [1, value]})


def test_lone_surrogates_are_refused_and_nul_is_text() -> None:
    with pytest.raises(ValidationError, match=r"title\n.*lone surrogate '\\ud800' at character 1"):
        Session(title="a\ud800", model="m")
    with pytest.raises(ValidationError, match="tool_name"):
        ToolExecution(session_id=GOOD_SID, message_id=GOOD_SID, call_id="c", tool_name="\udc00", duration=0)
    s = Session(title="a\x00b", model="m", metadata={"k\x00": "v\x00"})
    assert Session.model_validate_json(s.model_dump_json()) == s
