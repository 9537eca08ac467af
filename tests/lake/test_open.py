"""Opening lake stores: layout, reopening, relative paths, refusals, schema versions, extensions, close."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from behest_lab import MessageRole, Store, TokenUsage, open_store, uuid7
from behest_lab.errors import ConnectionFailedError, MigrationError, MissingExtensionError
from behest_lab.records import Instant
from behest_lab.stores import tables
from behest_lab.stores.lake import LakeStore, engine, migrations
from tests.stores._build import artifact, embedding, execution, message, session, usage


def populate(store: Store) -> dict[str, Any]:
    """One session with a record in every table; returns what was written."""
    s = session(store, metadata={"k": [1, 2]})
    m1 = store.sessions.append_message(message(s.id, "one"))
    m2 = store.sessions.append_message(message(s.id, "two", role=MessageRole.ASSISTANT))
    store.sessions.update_usage(m2.id, TokenUsage.new(3, 4))
    return {
        "session": store.sessions.get_session(s.id),
        "messages": store.sessions.list_messages(s.id),
        "executions": [store.executions.record_execution(execution(s.id, m1.id, duration=timedelta(milliseconds=7)))],
        "usage": [store.executions.record_usage(usage(s.id, message_id=m2.id))],
        "embedding": store.embeddings.upsert(embedding([0.5, 0.25, 1.0], session_id=s.id)),
        "artifact": store.artifacts.put(artifact(b"\x00bytes\xff", session_id=s.id)),
    }


def read_back(store: Store, written: dict[str, Any]) -> dict[str, Any]:
    sid = written["session"].id
    return {
        "session": store.sessions.get_session(sid),
        "messages": store.sessions.list_messages(sid),
        "executions": store.executions.list_executions(sid),
        "usage": store.executions.list_usage(sid),
        "embedding": store.embeddings.get(written["embedding"].id),
        "artifact": store.artifacts.get(written["artifact"].id),
    }


def test_new_store_layout_and_reopen_keeps_everything(tmp_path: Path) -> None:
    folder = tmp_path / "store"
    with open_store(folder) as store:
        written = populate(store)
        assert read_back(store, written) == written
    assert (folder / engine.CATALOG_FILE).is_file()
    assert (folder / engine.DATA_DIR).is_dir()
    with open_store(folder) as again:
        assert read_back(again, written) == written
        assert again.sessions.list_sessions() == [written["session"]]


def test_reopen_after_compaction_keeps_everything(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as store:
        assert isinstance(store, LakeStore)
        written = populate(store)
        store.compact()
        assert list((tmp_path / "s" / "data").rglob("*.parquet"))
    with open_store(tmp_path / "s") as again:
        assert read_back(again, written) == written


def test_relative_path_opens_under_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    with open_store("behest-data") as store:
        s = session(store)
    with open_store(Path("behest-data")) as again:
        assert again.sessions.get_session(s.id) == s
    assert (tmp_path / "behest-data" / engine.CATALOG_FILE).is_file()


def test_a_folder_with_other_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("not a store")
    with pytest.raises(ConnectionFailedError, match=r"not a behest_lab store.*notes\.txt"):
        open_store(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_a_file_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(ConnectionFailedError, match="is a file"):
        open_store(f)


def _set_version(folder: Path, value: str) -> None:
    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        store._engine.write(
            lambda con: con.execute(
                f"UPDATE {migrations.META_TABLE} SET value = ? WHERE key = 'schema_version'", [value]
            ),
            "test: set schema version",
        )


def test_a_newer_schema_version_is_refused(tmp_path: Path) -> None:
    _set_version(tmp_path / "s", str(tables.SCHEMA_VERSION + 1))
    with pytest.raises(MigrationError, match="newer than this behest_lab supports") as info:
        open_store(tmp_path / "s")
    assert info.value.found == tables.SCHEMA_VERSION + 1
    assert info.value.supported == tables.SCHEMA_VERSION


def test_a_garbled_schema_version_is_refused(tmp_path: Path) -> None:
    _set_version(tmp_path / "s", "one")
    with pytest.raises(MigrationError, match="schema_version is 'one'"):
        open_store(tmp_path / "s")


def test_a_foreign_ducklake_is_refused(tmp_path: Path) -> None:
    folder = tmp_path / "foreign"
    (folder / "data").mkdir(parents=True)
    con = duckdb.connect()
    engine.load_extensions(con)
    con.execute(f"ATTACH 'ducklake:sqlite:{folder / 'catalog.sqlite'}' AS f (DATA_PATH '{folder / 'data'}/')")
    con.execute("CREATE TABLE f.main.other (x INTEGER)")
    con.close()
    with pytest.raises(MigrationError, match="not a behest_lab store"):
        open_store(folder)


def test_migration_plans_are_named_steps_or_refusals() -> None:
    steps = migrations.plan(0)
    assert [m.version for m in steps] == list(range(1, tables.SCHEMA_VERSION + 1))
    assert all(m.name for m in steps)
    assert migrations.plan(tables.SCHEMA_VERSION) == []
    with pytest.raises(MigrationError, match="no migration path from schema version -1"):
        migrations.plan(-1)


def test_a_missing_extension_names_its_pip_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(engine.EXTENSIONS, "behest_no_such_ext", "duckdb-extension-behest-no-such-ext")
    con = duckdb.connect()
    try:
        with pytest.raises(MissingExtensionError, match="pip package duckdb-extension-behest-no-such-ext==") as info:
            engine.load_extensions(con)
    finally:
        con.close()
    assert info.value.package == "duckdb-extension-behest-no-such-ext"


def test_close_releases_the_connection_and_the_lake(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s")
    assert isinstance(store, LakeStore)
    alias = store._engine.alias
    store.sql("select count(*) from sessions").fetchall()
    store.close()
    store.close()  # idempotent
    attached = {
        r[0] for r in engine.shared_instance().execute("SELECT database_name FROM duckdb_databases()").fetchall()
    }
    assert alias not in attached
    with pytest.raises(ConnectionFailedError, match="closed"):
        store.sessions.list_sessions()


def _messages_options(store: LakeStore) -> dict[str, str]:
    rows = store._engine.rows(
        f"SELECT option_name, value FROM ducklake_options('{store._engine.alias}') WHERE scope_entry = 'main.messages'"
    )
    return {r["option_name"]: r["value"] for r in rows}


def test_a_new_store_writes_messages_as_small_files(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as store:
        assert isinstance(store, LakeStore)
        options = _messages_options(store)
    assert options["parquet_row_group_size"] == "8192"
    assert options["target_file_size"] == "4000000"


def test_a_version_1_store_is_migrated_and_keeps_its_rows(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        kept = populate(store)

    # what a store written by schema version 1 looks like: version 1 recorded, no options for messages
    _set_version(folder, "1")
    with sqlite3.connect(folder / "catalog.sqlite") as catalog:
        deleted = catalog.execute(
            "DELETE FROM ducklake_metadata WHERE scope = 'table' AND key IN ('parquet_row_group_size', "
            "'target_file_size') AND scope_id = (SELECT table_id FROM ducklake_table WHERE table_name = 'messages')"
        ).rowcount
    catalog.close()
    assert deleted == 2
    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        assert store._engine.scalar(f"SELECT value FROM {migrations.META_TABLE}") == str(tables.SCHEMA_VERSION)
        options = _messages_options(store)
        assert store.sessions.list_messages(kept["session"].id) == kept["messages"]
    assert options["target_file_size"] == "4000000"
    assert options["parquet_row_group_size"] == "8192"


def test_a_version_2_store_gains_nanosecond_columns_and_keeps_its_rows(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        kept = populate(store)

    # what a store written by schema version 2 looks like: no <timestamp>_ns columns, version 2 recorded
    later = {"usage_cache_keys"}  # added by schema 4
    ns_columns = [
        (t, c.name) for t, cols in tables.TABLES.items() for c in cols if c.name.endswith("_ns") or c.name in later
    ]
    assert len(ns_columns) == 8

    def drop(con: duckdb.DuckDBPyConnection) -> None:
        for table, column in ns_columns:
            con.execute(f"ALTER TABLE {table} DROP COLUMN {column}")
        con.execute(f"UPDATE {migrations.META_TABLE} SET value = '2' WHERE key = 'schema_version'")

    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        store._engine.write(drop, "test: back to schema version 2")
    assert [m.name for m in migrations.plan(2)][:2] == ["timestamp_nanoseconds", "usage_key_shape"]

    with open_store(folder) as store:
        assert isinstance(store, LakeStore)
        assert store._engine.scalar(f"SELECT value FROM {migrations.META_TABLE}") == str(tables.SCHEMA_VERSION)
        # old rows: the sub-microsecond part was never stored, so the new columns hold NULL (read as 0)
        assert store.sql("SELECT count(*) FROM messages WHERE created_at_ns IS NULL").fetchone() == (2,)
        sid = kept["session"].id
        assert store.sessions.list_messages(sid) == kept["messages"]
        assert store.executions.list_executions(sid) == kept["executions"]
        assert store.executions.list_usage(sid) == kept["usage"]
        # new rows keep their nanoseconds and sort after an old row of the same microsecond
        last = kept["messages"][-1]
        newer = message(sid, "three").model_copy(
            update={"id": uuid7(), "created_at": Instant.from_datetime(last.created_at, 1)}
        )
        store.sessions.append_message(newer)
        assert store.sessions.list_messages(sid) == [*kept["messages"], newer]
        assert store.sessions.list_messages(sid)[-1].created_at.nanosecond == 1  # type: ignore[attr-defined]
