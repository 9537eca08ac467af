"""VectorIndex: exact float32 cosine top-k, the same from records and from Arrow batches."""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa
import pytest

from behest_lab import EmbeddingRecord, VectorDimensionError, uuid7
from behest_lab.vectors import VectorIndex, cosine


def _records(n: int, dim: int, seed: int) -> list[EmbeddingRecord]:
    rng = np.random.default_rng(seed)
    sessions = [uuid7(), uuid7(), None]
    return [
        EmbeddingRecord(
            model=("a", "b")[i % 2],
            vector=rng.standard_normal(dim).astype(np.float32),
            session_id=sessions[i % 3],
            metadata=None if i % 5 == 0 else {"i": i},
        )
        for i in range(n)
    ]


def _arrow(records: list[EmbeddingRecord]) -> pa.Table:
    def uuids(values: list[object]) -> pa.Array:
        return pa.array([None if v is None else v.bytes for v in values], pa.binary(16))  # type: ignore[attr-defined]

    return pa.table(
        {
            "id": uuids([r.id for r in records]),
            "model": pa.array([r.model for r in records]),
            "session_id": uuids([r.session_id for r in records]),
            "dim": pa.array([len(r.vector) for r in records], pa.int32()),
            "vector_f32": pa.array([np.asarray(r.vector, "<f4").tobytes() for r in records], pa.binary()),
            "metadata": pa.array([None if r.metadata is None else json.dumps(r.metadata) for r in records]),
            "created_at": pa.array([r.created_at for r in records], pa.timestamp("us", tz="UTC")),
        }
    )


def _brute(records: list[EmbeddingRecord], q: list[float], k: int) -> list[tuple[int, float]]:
    scored = [(r.id.int, cosine(r.vector, q)) for r in records if len(r.vector) == len(q)]
    scored.sort(key=lambda t: (-t[1], t[0]))
    return scored[:k]


@pytest.mark.parametrize("source", ["records", "arrow"])
def test_search_equals_brute_force_and_rebuilds_records(source: str) -> None:
    records = _records(300, 8, 1) + _records(40, 3, 2)
    counts = {8: 300, 3: 40}
    if source == "records":
        index = VectorIndex.from_records(records)
    else:
        index = VectorIndex.from_arrow(_arrow(records).to_batches(max_chunksize=64), counts)
    assert index.count == 340
    by_id = {r.id.int: r for r in records}
    q = np.random.default_rng(9).standard_normal(8).tolist()
    hits = index.search(q, 25)
    expected = _brute(records, q, 25)
    assert [index.record(h).id.int for h in hits] == [i for i, _ in expected]
    assert np.allclose([h.score for h in hits], [s for _, s in expected], atol=1e-6)
    for h in hits:
        assert index.record(h) == by_id[index.record(h).id.int]
    only_b = index.search(q, 500, model="b")
    assert {index.record(h).model for h in only_b} == {"b"}
    assert len(only_b) == 150
    sid = records[0].session_id
    in_session = index.search(q, 500, session_id=sid)
    assert {index.record(h).session_id for h in in_session} == {sid}
    with pytest.raises(VectorDimensionError) as info:
        index.search([1.0] * 5, 3)
    assert info.value.present == [3, 8]


def test_zero_vectors_score_zero_and_ties_break_by_id() -> None:
    same = [EmbeddingRecord(model="m", vector=[1.0, 1.0]) for _ in range(5)]
    zero = EmbeddingRecord(model="m", vector=[0.0, 0.0])
    index = VectorIndex.from_records([*reversed(same), zero])
    hits = index.search([2.0, 2.0], 6)
    assert [index.record(h).id for h in hits[:5]] == sorted(r.id for r in same)
    assert index.record(hits[5]).id == zero.id
    assert hits[5].score == 0.0
    assert [index.record(h).id for h in index.search([3.0, 3.0], 2)] == sorted(r.id for r in same)[:2]
