"""The lake's index read straight from the Parquet files: exact, and refreshed on every kind of change.

Each test compares ``search`` with a brute-force cosine over the records that should be live (kept in Python,
independent of the store), and checks that the index really came from the files (``index_source``).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from uuid import UUID

import numpy as np
import pyarrow as pa
import pytest

from behest_lab import EmbeddingRecord, open_store
from behest_lab.errors import DataCorruptionError
from behest_lab.records import Instant
from behest_lab.stores.lake import LakeStore
from behest_lab.vectors import dim_slots, row_norms, scatter_f32
from behest_lab.vectors.parquet import FileRows, read_vectors
from tests.lake.template import lake_store
from tests.lake.test_vectors import brute_force
from tests.stores._build import embedding, session

ROOT = Path(__file__).resolve().parents[2]


def _records(n: int, dim: int, seed: int, **fields: object) -> list[EmbeddingRecord]:
    rng = np.random.default_rng(seed)
    made = [embedding(rng.standard_normal(dim).astype(np.float32).tolist(), **fields) for _ in range(n)]
    # nanosecond timestamps: the index rebuilds records from the files' created_at and created_at_ns columns
    return [
        r.model_copy(update={"created_at": Instant.from_datetime(r.created_at, i % 1000)}) for i, r in enumerate(made)
    ]


def _check(store: LakeStore, live: dict[UUID, EmbeddingRecord], seed: int, dim: int = 16, *, source: str) -> None:
    """Several queries (one an exact copy of a stored vector) against brute force; whole records round-trip."""
    rng = np.random.default_rng(seed)
    records = list(live.values())
    queries = [rng.standard_normal(dim).astype(np.float32) for _ in range(3)]
    if records:
        queries.append(np.asarray(records[len(records) // 2].vector, dtype=np.float32))
    for q in queries:
        got = store.embeddings.search(q.tolist(), 15)
        expected = brute_force(records, q, 15)
        assert [h.record.id for h in got] == [i for i, _ in expected]
        assert np.allclose([h.score for h in got], [s for _, s in expected], atol=1e-5, rtol=0)
        assert all(h.record == live[h.record.id] for h in got)
    assert store.embeddings.index_source == source


def _catalog_count(store: LakeStore, table: str) -> int:
    engine = store._engine
    return int(engine.scalar(f"SELECT count(*) FROM {engine.meta}.{table} WHERE end_snapshot IS NULL"))


@pytest.mark.slow
def test_files_inlined_rows_and_both_kinds_of_delete(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    s = session(store)
    first = _records(1500, 16, 1, session_id=s.id, metadata={"k": "v"})  # over the inlining limit: a Parquet file
    second = _records(1200, 16, 2, model="other")  # a second file, whose row ids do not start at 0
    live = {r.id: r for r in first + second}
    store.embeddings.upsert_many(first)
    store.embeddings.upsert_many(second)
    _check(store, live, 10, source="files")
    assert _catalog_count(store, "ducklake_data_file") == 2

    inlined = _records(7, 16, 3)  # below the limit: kept inside the catalog
    store.embeddings.upsert_many(inlined)
    live.update((r.id, r) for r in inlined)
    _check(store, live, 11, source="files")

    # a few deletes are inlined into the catalog, a large one writes a delete file
    for r in first[:3] + inlined[:2]:
        store.embeddings.delete(r.id)
        del live[r.id]
    _check(store, live, 12, source="files")
    assert store.embeddings.delete_by_session(s.id) == len(first) - 3
    for r in first[3:]:
        del live[r.id]
    assert _catalog_count(store, "ducklake_delete_file") >= 1
    _check(store, live, 13, source="files")

    # an upsert of stored ids replaces their vectors (delete + insert in one commit)
    changed = [r.model_copy(update={"vector": [float(x) * -1.0 for x in r.vector]}) for r in second[:4]]
    store.embeddings.upsert_many(changed)
    live.update((r.id, r) for r in changed)
    _check(store, live, 14, source="files")

    store.compact()  # merged files: positions and row ids change, the index must follow
    _check(store, live, 15, source="files")
    store.close()


def test_time_travel_view_reads_the_files_of_its_snapshot(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    s = session(store)
    records = _records(1100, 16, 4, session_id=s.id) + _records(900, 16, 5)
    store.embeddings.upsert_many(records)
    then = store.snapshot_id
    store.embeddings.upsert_many(_records(1500, 16, 6))  # later: another file
    assert store.embeddings.delete_by_session(s.id) == 1100  # later: a delete file
    with open_store(tmp_path / "s", snapshot=then) as past:
        assert isinstance(past, LakeStore)
        _check(past, {r.id: r for r in records}, 20, source="files")
    store.close()


_WRITER = textwrap.dedent(
    """
    import sys, numpy as np
    from uuid import UUID
    from behest_lab import EmbeddingRecord, open_store
    with open_store(sys.argv[1]) as store:
        rng = np.random.default_rng(int(sys.argv[2]))
        new = [EmbeddingRecord(model="p", vector=rng.standard_normal(16).astype(np.float32)) for _ in range(1100)]
        store.embeddings.upsert_many(new)
        for line in sys.argv[3:]:
            store.embeddings.delete(UUID(line))
        print("\\n".join(r.model_dump_json() for r in new))
    """
)


@pytest.mark.slow
def test_index_refreshes_after_another_process_writes_and_deletes(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    records = _records(1300, 16, 6)
    store.embeddings.upsert_many(records)
    live = {r.id: r for r in records}
    _check(store, live, 30, source="files")
    gone = records[:5]
    out = subprocess.run(
        [sys.executable, "-c", _WRITER, str(tmp_path / "s"), "99", *(str(r.id) for r in gone)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout.splitlines()
    for r in gone:
        del live[r.id]
    written = [EmbeddingRecord.model_validate_json(line) for line in out]
    assert len(written) == 1100
    live.update((r.id, r) for r in written)
    _check(store, live, 31, source="files")
    store.close()


def test_only_inlined_rows_go_through_duckdb(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    records = _records(40, 16, 7)
    store.embeddings.upsert_many(records)
    _check(store, {r.id: r for r in records}, 40, source="duckdb")
    store.close()


def test_read_vectors_rejects_rows_that_are_not_where_the_lake_says(tmp_path: Path) -> None:
    store = lake_store(tmp_path / "s")
    records = _records(1200, 8, 8)
    store.embeddings.upsert_many(records)
    store.close()
    files = list((tmp_path / "s" / "data").rglob("*.parquet"))
    assert len(files) == 1
    path = str(files[0])
    ids = [r.id.int for r in records]
    hi = np.asarray([i >> 64 for i in ids], dtype=np.uint64)
    lo = np.asarray([i & (2**64 - 1) for i in ids], dtype=np.uint64)
    dims = np.full(len(records), 8)
    slots, counts = dim_slots(dims)
    positions = np.arange(len(records), dtype=np.int64)
    mats = {8: np.zeros((counts[8], 8), dtype=np.float32)}
    norms = {8: np.full(counts[8], np.nan, dtype=np.float32)}
    read_vectors([FileRows(path, positions, dims, slots, hi, lo)], mats, threads=2, norms=norms)
    expected = np.asarray([r.vector for r in records], dtype=np.float32)
    assert np.array_equal(mats[8], expected)
    # the norms are filled for every row, by the reading threads, as the index would compute them
    assert np.array_equal(norms[8], row_norms(expected))
    with pytest.raises(DataCorruptionError, match="ids in"):  # rows shifted by one: caught by the id check
        read_vectors([FileRows(path, positions[:-1] + 1, dims[:-1], slots[:-1], hi[:-1], lo[:-1])], mats)
    with pytest.raises(DataCorruptionError, match="outside"):
        read_vectors([FileRows(path, positions + 1, dims, slots, hi, lo)], mats)


def test_scatter_handles_mixed_lengths_and_rejects_wrong_ones() -> None:
    rng = np.random.default_rng(9)
    vectors = [rng.standard_normal(d).astype("<f4") for d in (3, 5, 3, 5, 5, 3)]
    column = pa.array([v.tobytes() for v in vectors], pa.binary())
    dims = np.asarray([v.size for v in vectors])
    order = np.asarray([5, 0, 3, 1], dtype=np.int64)  # any subset, any order
    slots, counts = dim_slots(dims[order])
    mats = {d: np.zeros((n, d), dtype=np.float32) for d, n in counts.items()}
    norms = {d: np.full(n, np.nan, dtype=np.float32) for d, n in counts.items()}
    scatter_f32(column, order, dims[order], slots, mats, norms)
    assert np.array_equal(mats[3], np.stack([vectors[5], vectors[0]]))
    assert np.array_equal(mats[5], np.stack([vectors[3], vectors[1]]))
    for d in (3, 5):
        assert np.array_equal(norms[d], row_norms(mats[d]))
    with pytest.raises(DataCorruptionError, match="byte length"):
        scatter_f32(column, np.asarray([1], dtype=np.int64), np.asarray([3]), np.asarray([0], dtype=np.int64), mats)
