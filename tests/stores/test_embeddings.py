"""EmbeddingStore conformance: upsert, float32 cosine search with filters, deletes, bulk upsert."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from behest_lab import AlreadyExistsError, EmbeddingRecord, Store, VectorDimensionError, uuid7
from tests.stores._build import at, count, embedding, session


def _cosine64(a: list[float], b: list[float]) -> float:
    """Independent reference: float64 cosine, 0.0 when either norm is zero."""
    x, y = np.asarray(a, np.float64), np.asarray(b, np.float64)
    den = float(np.linalg.norm(x) * np.linalg.norm(y))
    return 0.0 if den == 0 else float(x @ y) / den


def test_upsert_returns_record_and_get_returns_equal(store: Store) -> None:
    r = embedding([0.1, -2.5, 3e-7], metadata={"text": "x"}, created_at=at(1))
    assert store.embeddings.upsert(r) == r
    assert store.embeddings.get(r.id) == r
    assert store.embeddings.get(uuid7()) is None


def test_upsert_replaces_whole_record(store: Store) -> None:
    s = session(store)
    old = embedding([1.0, 0.0], session_id=s.id, metadata={"v": 1}, created_at=at(1))
    store.embeddings.upsert(old)
    new = EmbeddingRecord(id=old.id, model="other", vector=[0.0, 1.0, 0.0], metadata=None, created_at=at(2))
    store.embeddings.upsert(new)
    assert store.embeddings.get(old.id) == new
    assert count(store, "embeddings") == 1
    with pytest.raises(VectorDimensionError):  # the old 2-d vector is gone: only a 3-d one remains
        store.embeddings.search([1.0, 0.0], 5)
    (hit,) = store.embeddings.search([0.0, 1.0, 0.0], 5)
    assert hit.record == new


def test_scores_match_float64_cosine_and_are_descending(store: Store) -> None:
    rng = np.random.default_rng(7)
    vectors = [rng.normal(size=8).astype(np.float32).tolist() for _ in range(40)]
    records = [embedding(v) for v in vectors]
    store.embeddings.upsert_many(records)
    query = rng.normal(size=8).astype(np.float32).tolist()
    hits = store.embeddings.search(query, 40)
    assert len(hits) == 40
    expected = {r.id: _cosine64(r.vector, query) for r in records}
    for h in hits:
        assert h.score == pytest.approx(expected[h.record.id], abs=1e-5)
    scores = [h.score for h in hits]
    assert scores == sorted(scores, reverse=True)
    best = max(expected, key=lambda k: expected[k])
    assert hits[0].record.id == best


def test_limit_truncates_to_best(store: Store) -> None:
    rng = np.random.default_rng(3)
    records = [embedding(rng.normal(size=4).tolist()) for _ in range(20)]
    store.embeddings.upsert_many(records)
    query = [1.0, 0.5, -0.25, 2.0]
    ranked = sorted(records, key=lambda r: -_cosine64(r.vector, query))
    assert [h.record.id for h in store.embeddings.search(query, 5)] == [r.id for r in ranked[:5]]


def test_higher_is_closer(store: Store) -> None:
    same, ortho, opposite = embedding([1.0, 0.0]), embedding([0.0, 1.0]), embedding([-1.0, 0.0])
    store.embeddings.upsert_many([opposite, ortho, same])
    hits = store.embeddings.search([2.0, 0.0], 3)
    assert [h.record.id for h in hits] == [same.id, ortho.id, opposite.id]
    assert [h.score for h in hits] == pytest.approx([1.0, 0.0, -1.0], abs=1e-6)


def test_zero_vectors_score_zero(store: Store) -> None:
    zero, unit = embedding([0.0, 0.0, 0.0]), embedding([0.0, 0.0, 1.0])
    store.embeddings.upsert_many([zero, unit])
    scores = {h.record.id: h.score for h in store.embeddings.search([0.0, 0.0, -3.0], 2)}
    assert scores == {zero.id: 0.0, unit.id: pytest.approx(-1.0, abs=1e-6)}
    assert [h.score for h in store.embeddings.search([0.0, 0.0, 0.0], 2)] == [0.0, 0.0]


def test_search_only_ranks_records_of_the_query_dimension(store: Store) -> None:
    two, three = embedding([1.0, 0.0]), embedding([1.0, 0.0, 0.0])
    store.embeddings.upsert_many([two, three])
    assert [h.record.id for h in store.embeddings.search([1.0, 1.0], 10)] == [two.id]
    assert [h.record.id for h in store.embeddings.search([1.0, 1.0, 1.0], 10)] == [three.id]


def test_query_dimension_matching_nothing_raises_naming_dimensions(store: Store) -> None:
    store.embeddings.upsert_many([embedding([1.0, 0.0]), embedding([1.0, 0.0, 0.0, 0.0])])
    with pytest.raises(VectorDimensionError) as info:
        store.embeddings.search([1.0, 1.0, 1.0], 3)
    assert isinstance(info.value, ValueError)
    assert info.value.dimension == 3
    assert info.value.present == [2, 4]
    assert "2" in str(info.value)
    assert "4" in str(info.value)


def test_model_filter(store: Store) -> None:
    a, b = embedding([1.0, 0.0], model="a"), embedding([0.9, 0.1], model="b")
    store.embeddings.upsert_many([a, b])
    assert [h.record.id for h in store.embeddings.search([1.0, 0.0], 5, model="b")] == [b.id]
    assert [h.record.id for h in store.embeddings.search([1.0, 0.0], 5, model="a")] == [a.id]
    assert store.embeddings.search([1.0, 0.0], 5, model="nope") == []


def test_session_filter(store: Store) -> None:
    s, t = session(store), session(store)
    a, b, loose = embedding([1.0, 0.0], session_id=s.id), embedding([0.0, 1.0], session_id=t.id), embedding([1.0, 1.0])
    store.embeddings.upsert_many([a, b, loose])
    assert [h.record.id for h in store.embeddings.search([1.0, 0.0], 5, session_id=t.id)] == [b.id]
    assert [h.record.id for h in store.embeddings.search([1.0, 0.0], 5, session_id=s.id, model="emb")] == [a.id]
    assert store.embeddings.search([1.0, 0.0], 5, session_id=uuid7()) == []
    assert len(store.embeddings.search([1.0, 0.0], 5)) == 3


def test_limit_zero_and_empty_store(store: Store) -> None:
    assert store.embeddings.search([1.0, 2.0], 5) == []
    store.embeddings.upsert(embedding([1.0, 2.0]))
    assert store.embeddings.search([1.0, 2.0], 0) == []


def test_ties_are_broken_by_smaller_id_first(store: Store) -> None:
    ids = sorted(uuid7() for _ in range(6))
    records = [embedding([1.0, 1.0], id=i) for i in reversed(ids)]  # inserted largest id first
    store.embeddings.upsert_many(records)
    for limit in (2, 6):
        assert [h.record.id for h in store.embeddings.search([3.0, 3.0], limit)] == ids[:limit]


def test_delete_is_idempotent(store: Store) -> None:
    r, keep = embedding([1.0]), embedding([2.0])
    store.embeddings.upsert_many([r, keep])
    store.embeddings.delete(r.id)
    assert store.embeddings.get(r.id) is None
    store.embeddings.delete(r.id)
    store.embeddings.delete(uuid7())
    assert [h.record.id for h in store.embeddings.search([1.0], 5)] == [keep.id]


def test_delete_by_session_counts_and_spares_others(store: Store) -> None:
    s, t = session(store), session(store)
    mine = [embedding([float(i), 1.0], session_id=s.id) for i in range(3)]
    theirs, loose = embedding([1.0, 1.0], session_id=t.id), embedding([1.0, 2.0])
    store.embeddings.upsert_many([*mine, theirs, loose])
    assert store.embeddings.delete_by_session(s.id) == 3
    assert store.embeddings.delete_by_session(s.id) == 0
    assert all(store.embeddings.get(r.id) is None for r in mine)
    assert store.embeddings.get(theirs.id) == theirs
    assert store.embeddings.get(loose.id) == loose


def test_upsert_many_returns_all(store: Store) -> None:
    batch = [embedding([1.0, float(i)]) for i in range(4)]
    assert store.embeddings.upsert_many(batch) == batch
    assert store.embeddings.upsert_many([]) == []
    assert count(store, "embeddings") == 4


def test_upsert_many_duplicate_inside_batch_stores_nothing(store: Store) -> None:
    r = embedding([1.0, 0.0])
    with pytest.raises(AlreadyExistsError) as info:
        store.embeddings.upsert_many([r, embedding([0.0, 1.0]), r])
    assert info.value.id == r.id
    assert count(store, "embeddings") == 0
    assert store.embeddings.search([1.0, 0.0], 5) == []


@pytest.mark.parametrize("bad", [None, [1.0, 2.0], {"model": "m", "vector": [1.0]}])
def test_upsert_wrong_type_raises_type_error(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError):
        store.embeddings.upsert(bad)
    assert count(store, "embeddings") == 0


def test_upsert_many_wrong_element_type_stores_nothing(store: Store) -> None:
    with pytest.raises(TypeError):
        store.embeddings.upsert_many([embedding([1.0]), [1.0]])  # type: ignore[list-item]
    assert count(store, "embeddings") == 0


@pytest.mark.parametrize("query", [[], [float("nan"), 1.0], [float("inf"), 0.0]])
def test_bad_query_raises_value_error(store: Store, query: list[float]) -> None:
    store.embeddings.upsert(embedding([1.0, 0.0]))
    with pytest.raises(ValueError, match="query"):
        store.embeddings.search(query, 3)


def test_sql_embeddings_table_reflects_writes(store: Store) -> None:
    r = embedding([0.5, 0.25, 0.125], model="e3")
    store.embeddings.upsert(r)
    row = store.sql("select model, dim, vector from embeddings where id = ?", [str(r.id)]).fetchone()
    assert row == ("e3", 3, [0.5, 0.25, 0.125])
    store.embeddings.delete(r.id)
    assert count(store, "embeddings") == 0
