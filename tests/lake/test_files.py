"""``compact()`` deletes only the store's own files, and removes the files killed commits leave behind.

The catalog is edited the way a hostile or damaged store folder would be: real rows in the real SQLite catalog
naming files outside the store; the files are real files in the test's temporary folder.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest

from behest_lab import open_store
from behest_lab.stores.lake import LakeStore
from behest_lab.stores.lake.maintenance import UnsafePathWarning, is_inside
from tests.lake.template import lake_store
from tests.stores._build import message, session

DAY = 86400.0


def _parquet_files(root: Path) -> set[Path]:
    return {p for p in (root / "data").rglob("*.parquet") if not p.is_symlink()}


def _store_with_files(root: Path, batches: int = 3) -> tuple[LakeStore, set[Path]]:
    """A store whose messages span ``batches`` Parquet files (bulk writes of more rows than are inlined)."""
    store = lake_store(root)
    s = session(store)
    for b in range(batches):
        store.sessions.append_messages([message(s.id, f"b{b}-{i}") for i in range(1100)])
    return store, _parquet_files(root)


def _catalog(root: Path) -> sqlite3.Connection:
    return sqlite3.connect(root / "catalog.sqlite")


def _canary(path: Path) -> Path:
    path.write_text("must survive")
    return path


def test_compact_never_deletes_files_the_catalog_names_outside_the_store(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, written = _store_with_files(root)
    store.close()
    absolute = _canary(tmp_path / "absolute.txt")
    dotdot = _canary(tmp_path / "dotdot.txt")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    linked = _canary(outside / "linked.parquet")
    os.symlink(outside, root / "data" / "main" / "linked")  # a folder inside data/ that leads out of it
    with _catalog(root) as con:
        table_id = con.execute("SELECT table_id FROM ducklake_table WHERE table_name = 'messages'").fetchone()[0]
        # a data file of an old snapshot, named by absolute path: expiring the snapshot schedules it for deletion
        con.execute(
            "INSERT INTO ducklake_data_file (data_file_id, table_id, begin_snapshot, end_snapshot, path,"
            " path_is_relative, file_format, record_count, file_size_bytes, footer_size, row_id_start)"
            " VALUES (100000, ?, 1, 2, ?, 0, 'parquet', 1, 12, 4, 0)",
            [table_id, str(absolute)],
        )
        # files already scheduled: relative with ../ out of data/, and through the symlinked folder
        con.executemany(
            "INSERT INTO ducklake_files_scheduled_for_deletion VALUES (?, ?, 1, '2020-01-01 00:00:00+00')",
            [(100001, "../../dotdot.txt"), (100002, "main/linked/linked.parquet")],
        )
    with open_store(root) as store:
        assert isinstance(store, LakeStore)
        expected = len(store.sessions.list_messages(store.sessions.list_sessions()[0].id))
        with pytest.warns(UnsafePathWarning) as caught:
            report = store.compact(keep=timedelta(0))
        assert report.snapshots_expired
        for canary in (absolute, dotdot, linked):
            assert canary.read_text() == "must survive"
        refused = {os.path.realpath(p) for p in report.files_refused}
        assert refused == {str(absolute), str(dotdot), str(linked)}
        assert {str(w.message).split(" for deletion")[0].rsplit(" ", 1)[-1] for w in caught} == set(
            report.files_refused
        )
        # the store's own stale files (merged into one) are gone; what remains on disk is what the catalog uses
        assert report.files_deleted >= len(written)
        assert not (written & _parquet_files(root))
        assert len(store.sessions.list_messages(store.sessions.list_sessions()[0].id)) == expected
        # the refused entries were dropped from the catalog: the next compaction is clean
        again = store.compact(keep=timedelta(0))
        assert again.files_refused == []
    with _catalog(root) as con:
        assert con.execute("SELECT count(*) FROM ducklake_files_scheduled_for_deletion").fetchone() == (0,)


def test_compact_removes_old_orphans_and_keeps_fresh_ones(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, written = _store_with_files(root, batches=1)
    source = next(iter(written))
    folder = source.parent
    # what a commit killed after writing its Parquet file leaves behind: a file no catalog entry names
    old = folder / "ducklake-killed-commit.parquet"
    shutil.copyfile(source, old)
    os.utime(old, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    # a commit in flight in another process: just written, not yet in the catalog
    fresh = folder / "ducklake-in-flight.parquet"
    shutil.copyfile(source, fresh)
    sid = store.sessions.list_sessions()[0].id
    expected = store.sessions.list_messages(sid)
    with store:
        report = store.compact()
        assert report.orphans_deleted == 1
        assert report.files_refused == []
        assert not old.exists()
        assert fresh.exists()
        assert source.exists()  # a live file is never an orphan
        assert store.sessions.list_messages(sid) == expected
        # ``keep`` shorter than ORPHAN_MIN_AGE does not reach files a commit in flight may still need
        assert store.compact(keep=timedelta(0)).orphans_deleted == 0
        assert fresh.exists()


def test_orphans_resolving_outside_are_never_removed(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, written = _store_with_files(root, batches=1)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    canary = outside / "ducklake-outside.parquet"
    shutil.copyfile(next(iter(written)), canary)
    os.utime(canary, (time.time() - 2 * DAY, time.time() - 2 * DAY))
    os.symlink(outside, root / "data" / "main" / "messages" / "linked")
    with store:
        store.compact(keep=timedelta(0))
    assert canary.exists()


@pytest.mark.parametrize(
    ("path", "data_path", "inside"),
    [
        ("/s/data/main/t/f.parquet", "/s/data/", True),
        ("/s/data/../x", "/s/data/", False),
        ("/s/data", "/s/data/", False),
        ("/s/database/f", "/s/data/", False),
        ("/etc/passwd", "/s/data/", False),
        ("s3://b/lake/main/f.parquet", "s3://b/lake/", True),
        ("s3://b/lake/../other/f.parquet", "s3://b/lake/", False),
        ("s3://other/lake/f.parquet", "s3://b/lake/", False),
        ("/s/data/f.parquet", "s3://b/lake/", False),
    ],
)
def test_is_inside(path: str, data_path: str, inside: bool) -> None:
    assert is_inside(path, data_path) is inside
