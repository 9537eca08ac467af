"""behest_lab's DDL builds behest's SQLite schema, and records behest's migrations as sqlx does."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from behest_lab import open_store
from behest_lab.interchange import export_behest_sqlite, import_behest_sqlite
from behest_lab.interchange.behest_schema import COLUMNS, MIGRATIONS, create_behest_schema
from tests.interchange._behest_db import BEHEST_MIGRATIONS, behest_db, rows
from tests.interchange._data import populate


def _structure(path: Path) -> dict[str, Any]:
    """Tables with their columns (name, type, NOT NULL, default, primary key), foreign keys and indexes."""
    con = sqlite3.connect(path)
    try:
        out: dict[str, Any] = {}
        for table in COLUMNS:
            columns = [tuple(r[1:]) for r in con.execute(f"PRAGMA table_info({table})")]
            fks = [tuple(r[2:]) for r in con.execute(f"PRAGMA foreign_key_list({table})")]
            indexes = {}
            for _, name, unique, origin, partial in con.execute(f"PRAGMA index_list({table})"):
                keys = [(r[2], r[3]) for r in con.execute(f"PRAGMA index_xinfo({name})") if r[5]]  # key columns
                indexes[name if origin == "c" else f"{origin}:{keys}"] = (unique, origin, partial, keys)
            out[table] = {"columns": columns, "foreign_keys": fks, "indexes": indexes}
        return out
    finally:
        con.close()


def test_the_schema_is_behests(tmp_path: Path) -> None:
    ours = tmp_path / "ours.db"
    con = sqlite3.connect(ours)
    create_behest_schema(con)
    con.close()
    reference = tmp_path / "behest.db"
    behest_db(reference).close()
    got, want = _structure(ours), _structure(reference)
    assert got == want
    # the comparison sees what matters: every table, its columns with defaults, the DESC index, the cascades
    assert [c[0] for c in want["messages"]["columns"]] == list(COLUMNS["messages"])
    assert ("updated_at", 1) in want["sessions"]["indexes"]["idx_sessions_updated"][3]
    assert want["usage_records"]["foreign_keys"] == [("sessions", "session_id", "id", "NO ACTION", "CASCADE", "NONE")]
    assert want["tool_executions"]["indexes"]["idx_tool_executions_message"][3] == [("message_id", 0)]


def test_sqlx_bookkeeping_is_recorded(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    export_behest_sqlite(open_store(None), path)
    layout = rows(path, "SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('_sqlx_migrations')")
    assert layout == [
        ("version", "BIGINT", 0, None, 1),
        ("description", "TEXT", 1, None, 0),
        ("installed_on", "TIMESTAMP", 1, "CURRENT_TIMESTAMP", 0),
        ("success", "BOOLEAN", 1, None, 0),
        ("checksum", "BLOB", 1, None, 0),
        ("execution_time", "BIGINT", 1, None, 0),
    ]
    recorded = rows(
        path,
        "SELECT version, description, success, checksum, execution_time, installed_on FROM "
        "_sqlx_migrations ORDER BY version",
    )
    assert [(v, d, s, c.hex()) for v, d, s, c, _, _ in recorded] == [
        (m.version, m.description, 1, m.checksum) for m in MIGRATIONS
    ]
    assert [v for v, *_ in recorded] == list(BEHEST_MIGRATIONS)
    assert all(len(r[3]) == 48 for r in recorded)  # SHA-384
    assert all(isinstance(t, int) and t > 0 for *_, t, _ in recorded)
    assert all(isinstance(i, str) and len(i) == 19 for *_, i in recorded)  # CURRENT_TIMESTAMP text


def _sqlx_migrate(path: Path) -> list[int]:
    """What behest's ``migrate()`` does with the file: run each migration whose version is not recorded with the
    same checksum (a recorded version with another checksum is an error); returns the versions it ran."""
    con = sqlite3.connect(path, isolation_level=None)
    try:
        present = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        applied = {}
        if "_sqlx_migrations" in present:
            applied = {v: bytes(c).hex() for v, c in con.execute("SELECT version, checksum FROM _sqlx_migrations")}
        ran = []
        for m in MIGRATIONS:
            if m.version in applied:
                if applied[m.version] != m.checksum:
                    raise AssertionError(f"migration {m.version} was previously applied but has been modified")
                continue
            for statement in BEHEST_MIGRATIONS[m.version]:
                con.execute(statement)
            ran.append(m.version)
        return ran
    finally:
        con.close()


def test_behests_migrate_finds_nothing_to_run_on_an_export(tmp_path: Path) -> None:
    store = open_store(None)
    populate(store, sample_sessions=0)
    path = tmp_path / "new.db"
    export_behest_sqlite(store, path)
    assert _sqlx_migrate(path) == []
    back = open_store(None)
    report = import_behest_sqlite(back, path)
    assert report.tables["sessions"].imported == len(store.sessions.list_sessions())


def test_without_the_bookkeeping_behests_migrate_fails(tmp_path: Path) -> None:
    path = tmp_path / "bare.db"
    con = sqlite3.connect(path)
    create_behest_schema(con, record_migrations=False)
    con.close()
    with pytest.raises(sqlite3.OperationalError, match="duplicate column name: is_compaction"):
        _sqlx_migrate(path)


def test_export_into_a_database_behest_migrated_keeps_its_bookkeeping(tmp_path: Path) -> None:
    path = tmp_path / "behest.db"
    behest_db(path).close()  # behest's tables; its bookkeeping is not ours to write into such a file
    store = open_store(None)
    populate(store, sample_sessions=0)
    report = export_behest_sqlite(store, path)
    assert report.written["sessions"] > 0
    assert rows(path, "SELECT count(*) FROM sqlite_master WHERE name = '_sqlx_migrations'") == [(0,)]


def test_migrated_at_makes_the_export_reproducible(tmp_path: Path) -> None:
    store = open_store(None)
    populate(store, sample_sessions=0)
    at = datetime(987, 6, 5, 4, 3, 2, tzinfo=UTC)
    for name in ("a.db", "b.db"):
        export_behest_sqlite(store, tmp_path / name, migrated_at=at)
    assert (tmp_path / "a.db").read_bytes() == (tmp_path / "b.db").read_bytes()
    assert rows(tmp_path / "a.db", "SELECT DISTINCT installed_on, execution_time FROM _sqlx_migrations") == [
        ("0987-06-05 04:03:02", 0)
    ]
