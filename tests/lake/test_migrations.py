"""Schema migrations: each step keeps the definitions it made, and every old version arrives at the specs.

A store at schema version ``k`` is made here as behest_lab made it then: by the migration steps up to ``k`` (their
literal definitions are frozen in ``migrations.py``), its rows holding only that version's columns. Opened by the
current code it must end with the same tables, options and records as a store created new.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
import pytest

import behest_lab.stores.lake as lake_package
from behest_lab import Session, TokenUsage, open_store
from behest_lab.stores import provenance, tables
from behest_lab.stores.lake import LakeStore, migrations
from tests.stores._build import T0, artifact, embedding, execution, message, usage

_TABLES_SQL = (
    "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = ? AND schema_name = 'main' "
    "AND table_name != ? ORDER BY table_name, column_index"
)


def _columns(store: LakeStore) -> list[tuple[str, str, str]]:
    rows = store._engine.rows(_TABLES_SQL, [store._engine.alias, migrations.META_TABLE])
    return [(r["table_name"], r["column_name"], r["data_type"]) for r in rows]


def _options(store: LakeStore) -> set[tuple[str, str, str]]:
    """The lake's options by scope, without the ones naming the store's own folder."""
    rows = store._engine.rows(
        f"SELECT option_name, value, scope_entry FROM ducklake_options('{store._engine.alias}') "
        "WHERE option_name NOT IN ('data_path')"
    )
    return {(r["option_name"], str(r["value"]), str(r["scope_entry"])) for r in rows}


def _spec_columns() -> list[tuple[str, str, str]]:
    """The columns of ``tables.SPECS`` as DuckDB names their types."""
    con = duckdb.connect()
    for table in tables.SPECS:
        con.execute(tables.create_table_sql(table))
    rows = con.execute(
        "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE database_name = 'memory' "
        "AND schema_name = 'main' ORDER BY table_name, column_index"
    ).fetchall()
    con.close()
    return [(t, c, d) for t, c, d in rows]


def _records() -> dict[str, list[Any]]:
    """One record per table, timestamps on whole microseconds and usage with every counter (what every schema
    version can hold)."""
    s = Session(title="t", model="m", created_at=T0, updated_at=T0, metadata={"k": [1]})
    used = message(s.id, "two", created_at=T0).model_copy(
        update={"usage": TokenUsage.new(3, 4).with_cache_stats(1, 2, 0)}
    )
    return {
        "sessions": [s],
        "messages": [message(s.id, "one", created_at=T0), used],
        "tool_executions": [execution(s.id, used.id, created_at=T0, result={"ok": True})],
        "usage_records": [usage(s.id, message_id=used.id, created_at=T0, cached_input_tokens=5)],
        "embeddings": [embedding([0.5, 0.25, 1.0], session_id=s.id, created_at=T0)],
        "artifacts": [artifact(b"\x00bytes\xff", session_id=s.id, created_at=T0)],
    }


def _write_as_of_its_version(store: LakeStore, records: dict[str, list[Any]]) -> None:
    """Insert ``records`` with only the columns the store's tables have (as the code of that version did)."""
    data = {t: tables.to_arrow(t, rs, list(range(len(rs))) if t == "messages" else None) for t, rs in records.items()}
    data["artifact_data"] = tables.to_arrow("artifact_data", records["artifacts"])
    present: dict[str, list[str]] = {}
    for table, column, _ in _columns(store):
        present.setdefault(table, []).append(column)

    def body(con: duckdb.DuckDBPyConnection) -> None:
        for table, arrow in data.items():
            cols = ", ".join(present[table])
            con.register("_old_rows", arrow)
            con.execute(
                f"INSERT INTO {table} ({cols}) SELECT {cols} FROM ({tables.cast_select_sql(table, '_old_rows')})"
            )
            con.unregister("_old_rows")

    store._engine.write(body, "test: rows as an older behest_lab wrote them")


def _read_all(store: LakeStore, records: dict[str, list[Any]]) -> dict[str, Any]:
    sid = records["sessions"][0].id
    return {
        "session": store.sessions.get_session(sid),
        "messages": store.sessions.list_messages(sid),
        "executions": store.executions.list_executions(sid),
        "usage": store.executions.list_usage(sid),
        "embedding": store.embeddings.get(records["embeddings"][0].id),
        "artifact": store.artifacts.get(records["artifacts"][0].id),
    }


def _open(folder: Path) -> LakeStore:
    store = open_store(folder)
    assert isinstance(store, LakeStore)
    return store


@pytest.fixture(scope="module")
def new_store(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A store created at the current version, holding ``_records()``: what every migrated store must equal."""
    records = _records()
    with _open(tmp_path_factory.mktemp("new") / "s") as store:
        _write_as_of_its_version(store, records)
        return {
            "columns": _columns(store),
            "options": _options(store),
            "records": records,
            "read": _read_all(store, records),
        }


def test_a_new_store_has_the_tables_of_the_specs(new_store: dict[str, Any]) -> None:
    """The record tables follow ``tables.SPECS``; ``provenance`` (behest_lab's own bookkeeping) its ``COLUMNS``."""
    own = [("provenance", c, d) for c, d in provenance.COLUMNS]
    # ordered by table name, each table's columns in their own order (a stable sort keeps them)
    assert new_store["columns"] == sorted(_spec_columns() + own, key=lambda c: c[0])


def test_the_steps_are_frozen_definitions_not_the_specs() -> None:
    """Version 1 made the tables without the columns later steps added (their names appear in no earlier step)."""
    later = {c for step in (migrations._V3_COLUMNS, migrations._V4_COLUMNS) for _, c, _ in step}
    later |= {c for step in (migrations._V5_COLUMNS, migrations._V6_COLUMNS) for _, c, _ in step}
    v1 = {f"{t}.{c.split()[0]}" for t, cols in migrations._V1_TABLES.items() for c in cols.split(", ") if " " in c}
    assert not any(name.endswith(f".{c}") for name in v1 for c in later)
    added = [
        (t, c)
        for step in (migrations._V3_COLUMNS, migrations._V4_COLUMNS, migrations._V5_COLUMNS, migrations._V6_COLUMNS)
        for t, c, _ in step
    ]
    assert sorted(added) == sorted(
        (t, c.name) for t, spec in tables.SPECS.items() for c in spec.columns if f"{t}.{c.name}" not in v1
    )


@pytest.mark.parametrize("version", range(1, tables.SCHEMA_VERSION))
def test_a_store_of_each_older_version_migrates_to_the_same_store(
    version: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, new_store: dict[str, Any]
) -> None:
    folder = tmp_path / "s"
    with monkeypatch.context() as patch:
        patch.setattr(lake_package, "migrate", lambda engine: migrations.migrate(engine, version))
        with _open(folder) as old:
            assert old._engine.scalar(f"SELECT value FROM {migrations.META_TABLE}") == str(version)
            assert len(_columns(old)) < len(new_store["columns"])
            _write_as_of_its_version(old, new_store["records"])

    with _open(folder) as store:
        assert store._engine.scalar(f"SELECT value FROM {migrations.META_TABLE}") == str(tables.SCHEMA_VERSION)
        assert _columns(store) == new_store["columns"]
        assert _options(store) == new_store["options"]
        assert _read_all(store, new_store["records"]) == new_store["read"]
