"""``behest-lab import`` / ``behest-lab export`` against a persistent store folder."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from behest_lab.cli import STORE_ENV, main
from tests.interchange._behest_db import behest_db, insert

SID = "0190a5d0-0000-7000-8000-00000000000a"


def _behest_file(path: Path, *, bad: bool = False) -> Path:
    con = behest_db(path)
    insert(con, "sessions", id=SID, created_at="2025-03-01T12:00:00+00:00", updated_at="2025-03-01T12:00:09+00:00")
    insert(
        con,
        "messages",
        id="0190a5d0-0000-7000-8000-000000000101",
        session_id=SID,
        role="assistant",
        tool_calls='[{"id":"c1","name":"search","arguments":{}}]',
        created_at="2025-03-01T12:00:01+00:00",
    )
    insert(
        con,
        "messages",
        id="0190a5d0-0000-7000-8000-000000000102",
        session_id=SID,
        role="tool",
        content="not json" if bad else "[]",
        created_at="2025-03-01T12:00:02+00:00",
    )
    con.close()
    return path


def test_import_then_export_every_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = _behest_file(tmp_path / "behest.db")
    store = tmp_path / "s"
    assert main(["import", "behest-sqlite", str(source), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"imported {source} (behest-sqlite)")
    assert "tool result ids recovered from the preceding tool calls: 1" in out

    jsonl, db, folder = tmp_path / "a.jsonl", tmp_path / "out.db", tmp_path / "pq"
    assert main(["export", "jsonl", "--store", str(store), str(jsonl)]) == 0
    assert main(["export", "sqlite", "--store", str(store), str(db)]) == 0
    assert main(["export", "parquet", "--store", str(store), str(folder)]) == 0
    printed = capsys.readouterr().out
    assert f"exported to {db} (behest-sqlite)" in printed
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert [line["kind"] for line in lines] == ["session", "message", "message"]
    assert lines[2]["record"]["tool_call_id"] == "c1"  # recovered on import from the assistant's tool call
    con = sqlite3.connect(db)
    assert con.execute("SELECT count(*) FROM messages").fetchone() == (2,)
    con.close()
    assert (folder / "messages.parquet").is_file()

    # importing what was just exported adds nothing
    assert main(["import", "jsonl", str(jsonl), "--store", str(store), "--no-progress"]) == 0
    again = capsys.readouterr().out
    assert [line.split() for line in again.splitlines() if line.startswith("  messages")] == [
        ["messages", "2", "0", "2", "0"]
    ]


def test_errors_are_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = _behest_file(tmp_path / "bad.db", bad=True)
    store = tmp_path / "s"
    assert main(["import", "behest-sqlite", str(bad), "--store", str(store)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith(f"behest-lab: error: {bad}, table messages, line 2, row 0190a5d0-0000-7000-8000-000000000102")
    assert "content: invalid JSON" in err

    assert main(["import", "behest-sqlite", str(bad), "--store", str(store), "--skip-bad"]) == 0
    assert "skipped bad rows: 1" in capsys.readouterr().out

    assert main(["import", "jsonl", str(tmp_path / "missing.jsonl"), "--store", str(store)]) == 1
    assert capsys.readouterr().err == f"behest-lab: error: {tmp_path / 'missing.jsonl'}: no such file\n"
    assert main(["export", "jsonl", "--store", str(tmp_path / "nowhere"), str(tmp_path / "x.jsonl")]) == 1
    assert capsys.readouterr().err == f"behest-lab: error: store folder {str(tmp_path / 'nowhere')!r} does not exist\n"
    assert not (tmp_path / "nowhere").exists()
    assert not (tmp_path / "x.jsonl").exists()


def test_import_creates_the_store_of_the_environment_variable_and_export_reads_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = _behest_file(tmp_path / "behest.db")
    store = tmp_path / "from-env"
    monkeypatch.setenv(STORE_ENV, str(store))
    assert main(["import", "behest-sqlite", str(source), "--no-progress"]) == 0
    assert capsys.readouterr().out.startswith(f"imported {source} (behest-sqlite)")
    assert (store / "catalog.sqlite").is_file()
    out = tmp_path / "out.jsonl"
    assert main(["export", "jsonl", str(out), "--no-progress"]) == 0
    assert [json.loads(line)["kind"] for line in out.read_text(encoding="utf-8").splitlines()] == [
        "session",
        "message",
        "message",
    ]
    # --store wins over the environment; an existing empty folder is not turned into a store by an export
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["export", "parquet", "--store", str(empty), str(tmp_path / "pq"), "--no-progress"]) == 1
    assert capsys.readouterr().err == f"behest-lab: error: no behest_lab store in {empty} (no catalog.sqlite)\n"
    assert list(empty.iterdir()) == []
    assert not (tmp_path / "pq").exists()
