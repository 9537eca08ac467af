"""Reports print readably; progress bars appear only when asked or on a terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from behest_lab import open_store
from behest_lab.interchange import ImportReport, export_jsonl, import_jsonl
from behest_lab.interchange._progress import show_progress
from behest_lab.interchange._report import BadRow
from tests.interchange._data import populate


def test_import_report_text_lists_every_table_and_the_first_bad_rows() -> None:
    report = ImportReport(path="x.db", format="behest-sqlite")
    report.tables["messages"].read = 12345
    report.tables["messages"].imported = 12000
    report.tables["messages"].bad = 345
    report.bad_rows = [BadRow("messages", i, f"id-{i}", "content: invalid JSON") for i in range(25)]
    report.roles_mapped["developer"] = 2
    lines = str(report).splitlines()
    assert lines[0] == "imported x.db (behest-sqlite)"
    header, *table_rows = lines[1:8]
    assert header.split() == ["table", "read", "imported", "duplicates", "bad"]
    assert [r.split()[0] for r in table_rows] == list(report.tables)
    assert table_rows[1].split() == ["messages", "12345", "12000", "0", "345"]
    assert len({len(r) for r in lines[1:8]}) == 1  # aligned columns
    assert "unknown roles mapped to user: 'developer' x2" in lines
    assert "  messages, line 0, row id-0: content: invalid JSON" in lines
    assert lines[-1] == "  ... and 5 more"
    assert report.bad == 345


def test_progress_is_off_without_a_terminal_and_on_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = open_store(None)
    populate(store, sample_sessions=0)
    assert show_progress(None) is False  # pytest's captured stderr is no terminal
    export_jsonl(store, tmp_path / "a.jsonl")
    import_jsonl(open_store(None), tmp_path / "a.jsonl", progress=None)
    assert capsys.readouterr().err == ""
    import_jsonl(open_store(None), tmp_path / "a.jsonl", progress=True)
    assert "import jsonl" in capsys.readouterr().err
    import_jsonl(open_store(None), tmp_path / "a.jsonl", progress=False)
    assert capsys.readouterr().err == ""
