"""behest JSON Lines: lossless, byte-stable round trips, duplicate skipping, bad lines, batches."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import MessageRecord, MessageRole, Session, Store, ToolExecution, open_store, uuid7
from behest_lab.errors import InterchangeError, ReadOnlyStoreError
from behest_lab.interchange import export_jsonl, import_jsonl
from behest_lab.interchange.jsonl import KINDS
from behest_lab.records import Instant
from tests.interchange._data import T0, count, populate, snapshot


def test_round_trip_from_the_store_is_lossless_and_byte_identical(store: Store, tmp_path: Path) -> None:
    populate(store, sample_sessions=0)
    first = export_jsonl(store, tmp_path / "a.jsonl")
    fresh = open_store(None)
    report = import_jsonl(fresh, tmp_path / "a.jsonl", max_batch_records=7)
    export_jsonl(fresh, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert snapshot(fresh) == snapshot(store)
    assert first.written == {t: count(store, t) for t in first.written}
    assert {t: c.imported for t, c in report.tables.items()} == first.written


def test_every_line_is_an_envelope_around_behest_json(tmp_path: Path) -> None:
    source = open_store(None)
    populate(source, sample_sessions=0)
    export_jsonl(source, tmp_path / "a.jsonl")
    kinds = []
    extras = 0
    for line in (tmp_path / "a.jsonl").read_text(encoding="utf-8").splitlines():
        envelope = json.loads(line)
        kind = envelope["kind"]
        _, cls = KINDS[kind]
        end = line.rfind(',"duration_us":') if "duration_us" in envelope else -1
        record_text = line[len(f'{{"kind":"{kind}","record":') : end]
        if "duration_us" in envelope:
            # only executions whose duration has a sub-millisecond part carry it next to behest's JSON
            assert list(envelope) == ["kind", "record", "duration_us"]
            assert envelope["duration_us"] // 1000 == envelope["record"]["duration"]
            assert envelope["duration_us"] % 1000 != 0
            extras += 1
        else:
            assert list(envelope) == ["kind", "record"]
        # the embedded text is exactly behest's serde JSON of the record
        assert cls.model_validate_json(record_text).model_dump_json() == record_text
        kinds.append(kind)
    # each session is followed by its own records; records of no session come last
    assert kinds[0] == "session"
    assert kinds[-2:] == ["embedding", "artifact"]
    assert extras > 0


@pytest.mark.parametrize(
    ("duration_us", "reason"), [(1501999, "does not match the record's duration of 1500 ms"), (-1, "non-negative")]
)
def test_exact_duration_must_agree_with_behest_milliseconds(tmp_path: Path, duration_us: int, reason: str) -> None:
    s = Session(title="t", model="m", created_at=T0, updated_at=T0)
    e = ToolExecution(session_id=s.id, message_id=uuid7(), call_id="c", tool_name="x", duration=timedelta(seconds=1.5))
    path = tmp_path / "d.jsonl"
    path.write_text(
        f'{{"kind":"session","record":{s.model_dump_json()}}}\n'
        f'{{"kind":"tool_execution","record":{e.model_dump_json()},"duration_us":{duration_us}}}\n',
        encoding="utf-8",
    )
    with pytest.raises(InterchangeError, match=reason) as err:
        import_jsonl(open_store(None), path)
    assert (err.value.line, err.value.table, err.value.row_id) == (2, "tool_executions", str(e.id))


def test_round_trip_into_the_store_then_reimport_adds_nothing(store: Store, tmp_path: Path) -> None:
    source = open_store(None)
    populate(source, sample_sessions=0)
    export_jsonl(source, tmp_path / "a.jsonl")
    first = import_jsonl(store, tmp_path / "a.jsonl", batch_sessions=2)
    export_jsonl(store, tmp_path / "b.jsonl")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    before = snapshot(store)
    assert before == snapshot(source)

    again = import_jsonl(store, tmp_path / "a.jsonl")
    assert again.imported == 0
    assert {t: c.duplicates for t, c in again.tables.items()} == {t: c.imported for t, c in first.tables.items()}
    assert snapshot(store) == before


def _line(kind: str, record: object) -> str:
    return json.dumps({"kind": kind, "record": record})


def test_reads_what_behest_writes_nanoseconds_and_offsets(tmp_path: Path) -> None:
    sid = str(uuid7())
    session = {
        "id": sid,
        "title": "t",
        "model": "m",
        "created_at": "2025-03-01T12:00:00.123456789Z",
        "updated_at": "2025-03-01T14:00:00+02:00",
        "metadata": None,
        "unknown_key": 1,
    }
    path = tmp_path / "behest.jsonl"
    path.write_text(_line("session", session) + "\n\n", encoding="utf-8")
    store = open_store(None)
    import_jsonl(store, path)
    got = store.sessions.get_session(UUID(sid))
    assert got is not None
    assert (got.created_at, got.updated_at) == (Instant.from_datetime(T0.replace(microsecond=123456), 789), T0)
    assert '"created_at":"2025-03-01T12:00:00.123456789Z","updated_at":"2025-03-01T12:00:00Z"' in got.model_dump_json()


def _file_with_bad_lines(path: Path) -> tuple[str, str]:
    s = Session(title="t", model="m", created_at=T0, updated_at=T0)
    good = MessageRecord.text(s.id, MessageRole.USER, "ok", created_at=T0)
    naive = json.loads(MessageRecord.text(s.id, MessageRole.USER, "x").model_dump_json())
    naive["created_at"] = "2025-03-01T12:00:00"
    orphan = MessageRecord.text(uuid7(), MessageRole.USER, "lost")
    lines = [
        f'{{"kind":"session","record":{s.model_dump_json()}}}',  # 1
        "{not json",  # 2
        _line("widget", {"id": "x"}),  # 3
        _line("message", naive),  # 4
        f'{{"kind":"message","record":{orphan.model_dump_json()}}}',  # 5
        f'{{"kind":"message","record":{good.model_dump_json()}}}',  # 6
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return naive["id"], str(orphan.id)


def test_bad_lines_stop_the_import_with_their_position(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    _file_with_bad_lines(path)
    store = open_store(None)
    with pytest.raises(InterchangeError, match="invalid JSON") as err:
        import_jsonl(store, path)
    assert (err.value.path, err.value.line, err.value.table) == (str(path), 2, None)
    assert store.sessions.list_sessions() == []


def test_skip_bad_counts_every_bad_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    naive_id, orphan_id = _file_with_bad_lines(path)
    store = open_store(None)
    report = import_jsonl(store, path, skip_bad=True)
    assert [(r.line, r.table, r.row_id) for r in report.bad_rows] == [
        (2, "?", None),
        (3, "?", None),
        (4, "messages", naive_id),
        (5, "messages", orphan_id),
    ]
    assert "unknown kind 'widget'" in report.bad_rows[1].reason
    assert "created_at" in report.bad_rows[2].reason
    assert "neither in the store nor imported" in report.bad_rows[3].reason
    assert (report.unreadable, report.tables["messages"].bad, report.bad) == (2, 2, 4)
    assert (report.tables["sessions"].imported, report.tables["messages"].imported) == (1, 1)
    assert "skipped bad rows: 4" in str(report)


def test_a_bad_line_keeps_its_whole_batch_out(store: Store, tmp_path: Path) -> None:
    sessions = [Session(title=str(i), model="m", created_at=T0, updated_at=T0) for i in range(3)]
    lines = []
    for i, s in enumerate(sessions):
        lines.append(f'{{"kind":"session","record":{s.model_dump_json()}}}')
        m = MessageRecord.text(s.id, MessageRole.USER, "hi", created_at=T0)
        text = m.model_dump_json()
        lines.append(f'{{"kind":"message","record":{text if i != 1 else text.replace("user", "robot")}}}')
    path = tmp_path / "batches.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(InterchangeError, match="role") as err:
        import_jsonl(store, path, batch_sessions=1)
    assert (err.value.line, err.value.table) == (4, "messages")
    assert [s.id for s in store.sessions.list_sessions()] == [sessions[0].id]
    report = import_jsonl(store, path, batch_sessions=1, skip_bad=True)
    assert (report.tables["sessions"].imported, report.tables["sessions"].duplicates, report.bad) == (2, 1, 1)


def test_unreadable_paths(tmp_path: Path) -> None:
    store = open_store(None)
    with pytest.raises(InterchangeError, match="cannot read") as err:
        import_jsonl(store, tmp_path / "missing.jsonl")
    assert err.value.path == str(tmp_path / "missing.jsonl")
    with pytest.raises(InterchangeError, match="cannot write"):
        export_jsonl(store, tmp_path / "no" / "such" / "dir.jsonl")
    assert list(tmp_path.iterdir()) == []


def test_a_store_that_refuses_the_write_gives_one_clear_error(tmp_path: Path) -> None:
    source = open_store(None)
    source.sessions.create_session(Session(title="t", model="m", created_at=T0, updated_at=T0))
    export_jsonl(source, tmp_path / "a.jsonl")
    open_store(tmp_path / "s").close()
    with open_store(tmp_path / "s", as_of=datetime.now(UTC)) as read_only:  # a past snapshot: writes are refused
        with pytest.raises(InterchangeError, match="nothing of it was kept") as err:
            import_jsonl(read_only, tmp_path / "a.jsonl")
        assert isinstance(err.value.__cause__, ReadOnlyStoreError)
        assert read_only.sessions.list_sessions() == []
