"""Vector search on the lake equals a brute-force float32 cosine; SQL similarity and index refresh."""

from __future__ import annotations

from pathlib import Path
from uuid import UUID

import numpy as np
import pytest

from behest_lab import EmbeddingRecord, open_store
from behest_lab.stores.lake import LakeStore
from tests.stores._build import embedding, session


def brute_force(records: list[EmbeddingRecord], query: np.ndarray, limit: int) -> list[tuple[UUID, float]]:
    """Top ``limit`` by float32 cosine, ties by smaller id, computed one record at a time."""
    q = query.astype(np.float32)
    qn = q / np.float32(np.sqrt(np.dot(q, q)))
    scored = []
    for r in records:
        v = np.asarray(r.vector, dtype=np.float32)
        if v.size != q.size:
            continue
        n = np.float32(np.sqrt(np.dot(v, v)))
        scored.append((r.id, float(np.dot(v / n, qn)) if n > 0 else 0.0))
    scored.sort(key=lambda t: (-t[1], t[0].int))
    return scored[:limit]


@pytest.fixture
def lake(tmp_path: Path) -> LakeStore:
    store = open_store(tmp_path / "s")
    assert isinstance(store, LakeStore)
    return store


def test_search_equals_brute_force(lake: LakeStore) -> None:
    rng = np.random.default_rng(7)
    s1, s2 = session(lake), session(lake)
    records = [
        embedding(
            rng.standard_normal(24).astype(np.float32).tolist(),
            session_id=(s1.id, s2.id, None)[i % 3],
            model=("a", "b")[i % 2],
        )
        for i in range(300)
    ]
    records += [embedding(rng.standard_normal(5).tolist()) for _ in range(10)]  # another dimension
    records.append(embedding(records[0].vector))  # an exact tie with records[0]
    lake.embeddings.upsert_many(records)
    by_id = {r.id: r for r in records}
    for k in range(5):
        query = rng.standard_normal(24).astype(np.float32) if k else np.asarray(records[0].vector, np.float32)
        for model, sid in [(None, None), ("a", None), (None, s2.id), ("b", s1.id)]:
            expected = brute_force(
                [r for r in records if (model is None or r.model == model) and (sid is None or r.session_id == sid)],
                query,
                12,
            )
            got = lake.embeddings.search(query.tolist(), 12, model=model, session_id=sid)
            assert [h.record.id for h in got] == [i for i, _ in expected]
            assert np.allclose([h.score for h in got], [s for _, s in expected], atol=1e-5, rtol=0)
            assert all(h.record == by_id[h.record.id] for h in got)


def test_sql_similarity_joins_with_the_tables(lake: LakeStore) -> None:
    s = session(lake, title="vectors")
    vectors = [[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.0, 2.0]]
    lake.embeddings.upsert_many([embedding(v, session_id=s.id) for v in vectors])
    query = [1.0, 1.0, 0.0]
    rows = lake.sql(
        "select s.title, list_cosine_similarity(e.vector, ?::FLOAT[]) as l, "
        "array_cosine_similarity(e.vector::FLOAT[3], ?::FLOAT[3]) as a "
        "from embeddings e join sessions s on s.id = e.session_id order by l desc",
        [query, query],
    ).fetchall()
    q = np.asarray(query)
    expected = sorted((float(np.dot(v, q) / np.linalg.norm(v) / np.linalg.norm(q)) for v in vectors), reverse=True)
    assert [r[0] for r in rows] == ["vectors"] * 3
    assert np.allclose([r[1] for r in rows], expected, atol=1e-6)
    assert np.allclose([r[2] for r in rows], expected, atol=1e-6)


def test_index_follows_writes_from_another_store_object(tmp_path: Path) -> None:
    with open_store(tmp_path / "s") as reader, open_store(tmp_path / "s") as writer:
        assert reader.embeddings.search([1.0, 0.0], 3) == []
        first = writer.embeddings.upsert(embedding([1.0, 0.0]))
        assert [h.record for h in reader.embeddings.search([1.0, 0.0], 3)] == [first]
        s = session(writer)  # a snapshot that does not touch embeddings keeps the cached index
        assert writer.sessions.get_session(s.id) == s
        assert [h.record for h in reader.embeddings.search([1.0, 0.0], 3)] == [first]
        writer.embeddings.delete(first.id)
        assert reader.embeddings.search([1.0, 0.0], 3) == []


def test_search_hands_back_stored_records_without_reading_storage(lake: LakeStore) -> None:
    rng = np.random.default_rng(3)
    s = session(lake)
    records = [
        embedding(rng.standard_normal(16).tolist(), model="m", session_id=s.id, metadata={"i": i, "t": "é<"})
        for i in range(50)
    ]
    records.append(embedding([0.0] * 16, model="m"))
    lake.embeddings.upsert_many(records)
    hits = lake.embeddings.search(rng.standard_normal(16).tolist(), len(records))
    assert sorted(h.record.id.int for h in hits) == sorted(r.id.int for r in records)
    for h in hits:
        assert h.record == lake.embeddings.get(h.record.id)
    assert [h.score for h in hits if h.record.id == records[-1].id] == [0.0]
