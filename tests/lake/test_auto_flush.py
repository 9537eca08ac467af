"""Inlined rows are flushed to Parquet every ``flush_every`` single writes, so reads stay fast between compactions."""

from __future__ import annotations

from pathlib import Path

import pytest

from behest_lab import open_store
from behest_lab.stores.lake import LakeStore
from tests.stores._build import message, session


def _layout(store: LakeStore, table: str = "messages") -> tuple[int, int]:
    """(live inlined rows, live data files) of ``table``, read from the catalog itself."""
    e = store._engine
    files = int(e.scalar(f"SELECT count(*) FROM ducklake_list_files('{e.alias}', '{table}')"))
    inlined_tables = e.rows(
        f"SELECT i.table_name FROM {e.meta}.ducklake_inlined_data_tables AS i "
        f"JOIN {e.meta}.ducklake_table AS t USING (table_id) WHERE t.table_name = ? AND t.end_snapshot IS NULL",
        [table],
    )
    inlined = sum(
        int(e.scalar(f"SELECT count(*) FROM {e.meta}.{r['table_name']} WHERE end_snapshot IS NULL"))
        for r in inlined_tables
    )
    return inlined, files


def test_single_writes_are_flushed_every_n(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s", flush_every=5)
    assert isinstance(store, LakeStore)
    s = session(store)  # small write 1
    sent = [store.sessions.append_message(message(s.id, f"m{i}")) for i in range(11)]  # small writes 2..12
    # flushed after writes 5 and 10: the two messages of writes 11 and 12 are still inlined
    assert _layout(store) == (2, 2)
    assert _layout(store, "sessions") == (0, 1)
    assert store.sessions.list_messages(s.id) == sent
    assert store._engine.flushes_skipped == 0
    store.close()
    with open_store(tmp_path / "s") as reopened:
        assert reopened.sessions.list_messages(s.id) == sent


def test_without_flush_every_rows_stay_inlined_until_compact(tmp_path: Path) -> None:
    store = open_store(tmp_path / "s", flush_every=None)
    assert isinstance(store, LakeStore)
    s = session(store)
    sent = [store.sessions.append_message(message(s.id, f"m{i}")) for i in range(12)]
    assert _layout(store) == (12, 0)
    store.compact()
    assert _layout(store) == (0, 1)
    assert store.sessions.list_messages(s.id) == sent
    store.close()


def test_a_failed_flush_leaves_the_write_done(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = open_store(tmp_path / "s", flush_every=2)
    assert isinstance(store, LakeStore)
    s = session(store)
    # the flush statement fails (as a DuckDB error would); the append that triggered it has already committed
    monkeypatch.setattr(
        type(store._engine),
        "flush_inlined",
        lambda self, retry=None: self.write(lambda con: con.execute("CALL no_such_procedure()"), "flush"),
    )
    sent = store.sessions.append_message(message(s.id, "kept"))
    assert store._engine.flushes_skipped == 1
    assert store.sessions.list_messages(s.id) == [sent]
    assert _layout(store) == (1, 0)
    store.close()


def test_flush_every_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="flush_every"):
        open_store(tmp_path / "s", flush_every=0)
