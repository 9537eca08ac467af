"""Parquet export: one file per table, readable by any Parquet reader, same rows as the store's tables."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from behest_lab import Store
from behest_lab.interchange import export_parquet
from behest_lab.stores import tables
from tests.interchange._data import count, populate, snapshot

STORE_TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


def test_one_file_per_table_with_the_store_rows(store: Store, tmp_path: Path) -> None:
    populate(store, sample_sessions=0)
    out = tmp_path / "pq" / "nested"
    report = export_parquet(store, out)
    assert sorted(p.name for p in out.iterdir()) == sorted(f"{t}.parquet" for t in (*STORE_TABLES, "artifact_data"))
    for table in STORE_TABLES:
        data = pq.read_table(out / f"{table}.parquet")
        assert data.column_names == [c.name for c in tables.TABLES[table]]
        assert data.num_rows == count(store, table) == report.written[table]
    ids = {str(i) for (i,) in store.sql("SELECT id FROM messages").fetchall()}
    assert {str(i) for i in pq.read_table(out / "messages.parquet").column("id").to_pylist()} == ids
    data = pq.read_table(out / "artifact_data.parquet").to_pylist()
    assert {str(r["id"]): r["data"] for r in data} == {str(a.id): a.data for a in snapshot(store).artifacts}
    again = export_parquet(store, out)
    assert again.written == report.written
