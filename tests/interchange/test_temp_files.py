"""Writers create their temporary files exclusively and never write through a symbolic link planted beside the
target (``behest_lab.files``)."""

from __future__ import annotations

import os
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from behest_lab import open_store
from behest_lab.files import create_exclusive, replace_atomically, write_text_atomically
from behest_lab.interchange import export_jsonl, export_parquet, import_jsonl
from behest_lab.interchange.parquet import ORDER
from behest_lab.report.page import write_atomically
from tests.interchange._data import count, populate, snapshot

SECRET = "canary: must not change\n"


def _canary(tmp_path: Path) -> Path:
    canary = tmp_path / "canary.txt"
    canary.write_text(SECRET)
    return canary


def _plant(link: Path, canary: Path) -> None:
    link.symlink_to(canary)


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith((".partial", ".tmp")) and not p.is_symlink())


def test_export_jsonl_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    canary = _canary(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    target = out / "export.jsonl"
    # the names the exporter used to write to, and a link already at the target
    _plant(out / "export.jsonl.partial", canary)
    _plant(out / ".export.jsonl.tmp", canary)
    source = open_store(None)
    populate(source, sample_sessions=0)
    export_jsonl(source, target)
    assert canary.read_text() == SECRET
    assert (out / "export.jsonl.partial").resolve() == canary.resolve()
    copy = open_store(None)
    import_jsonl(copy, target)
    assert snapshot(copy) == snapshot(source)
    assert _leftovers(out) == []


def test_export_jsonl_replaces_a_link_at_the_target_not_what_it_points_to(tmp_path: Path) -> None:
    canary = _canary(tmp_path)
    target = tmp_path / "export.jsonl"
    _plant(target, canary)
    source = open_store(None)
    populate(source, sample_sessions=0)
    export_jsonl(source, target)
    assert canary.read_text() == SECRET
    assert not target.is_symlink()
    assert target.read_text(encoding="utf-8").count("\n") == sum(
        count(source, t)
        for t in ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")
    )


def test_export_parquet_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    canary = _canary(tmp_path)
    out = tmp_path / "pq"
    out.mkdir()
    for table in [*ORDER, "artifact_data"]:
        _plant(out / f"{table}.parquet.partial", canary)
    source = open_store(None)
    populate(source, sample_sessions=0)
    report = export_parquet(source, out)
    assert canary.read_text() == SECRET
    for table in ORDER:
        assert pq.read_table(out / f"{table}.parquet").num_rows == count(source, table) == report.written[table]
    assert pq.read_table(out / "artifact_data.parquet").num_rows == count(source, "artifacts")
    assert _leftovers(out) == []


def test_report_page_never_writes_through_a_planted_link(tmp_path: Path) -> None:
    canary = _canary(tmp_path)
    _plant(tmp_path / ".report.html.tmp", canary)
    _plant(tmp_path / "report.html.partial", canary)
    target = write_atomically(tmp_path / "report.html", "<!doctype html><p>ok</p>")
    assert canary.read_text() == SECRET
    assert target.read_text(encoding="utf-8") == "<!doctype html><p>ok</p>"


@pytest.mark.parametrize("dangling", [False, True])
def test_create_exclusive_refuses_a_link(tmp_path: Path, dangling: bool) -> None:
    canary = tmp_path / "canary.txt"
    if not dangling:
        canary.write_text(SECRET)
    link = tmp_path / "link"
    _plant(link, canary)
    with pytest.raises(FileExistsError):
        create_exclusive(link)
    assert link.is_symlink()
    assert canary.exists() is not dangling
    if not dangling:
        assert canary.read_text() == SECRET


def test_create_exclusive_makes_a_new_file_with_the_usual_permissions(tmp_path: Path) -> None:
    fd = create_exclusive(tmp_path / "new")
    os.close(fd)
    (tmp_path / "plain").touch()  # what ``open(path, "w")`` would have made: 0o666 less the umask
    assert (tmp_path / "new").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777


def test_a_failed_write_leaves_the_target_and_no_temporary_file(tmp_path: Path) -> None:
    target = write_text_atomically(tmp_path / "t.txt", "old")

    def failing_writer() -> None:
        with replace_atomically(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("writer failed")

    with pytest.raises(RuntimeError, match="writer failed"):
        failing_writer()
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["t.txt"]
