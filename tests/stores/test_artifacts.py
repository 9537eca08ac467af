"""ArtifactStore conformance: bytes round-trip, replace, per-session listing and deletes."""

from __future__ import annotations

from typing import Any

import pytest

from behest_lab import Artifact, Store, uuid7
from tests.stores._build import artifact, at, count, session

ALL_BYTES = bytes(range(256))


@pytest.mark.parametrize("data", [b"", b"\x00", ALL_BYTES, ALL_BYTES * 300, "h\u00e9llo\n".encode()])
def test_put_returns_artifact_and_get_gives_identical_bytes(store: Store, data: bytes) -> None:
    a = artifact(data, metadata={"k": 1}, created_at=at(1))
    assert store.artifacts.put(a) == a
    got = store.artifacts.get(a.id)
    assert got == a
    assert got is not None
    assert got.data == data
    assert type(got.data) is bytes


def test_get_unknown_is_none(store: Store) -> None:
    assert store.artifacts.get(uuid7()) is None


def test_put_replaces_by_id(store: Store) -> None:
    s = session(store)
    old = artifact(b"old", session_id=s.id, created_at=at(1))
    store.artifacts.put(old)
    new = Artifact(id=old.id, name="n.txt", content_type="text/plain", data=b"new!", metadata=[1], created_at=at(2))
    store.artifacts.put(new)
    assert store.artifacts.get(old.id) == new
    assert store.artifacts.list_by_session(s.id) == []
    assert count(store, "artifacts") == 1


def test_list_by_session_orders_by_created_at_and_skips_others(store: Store) -> None:
    s, t = session(store), session(store)
    mine = [artifact(bytes([i]), session_id=s.id, created_at=at(3 - i)) for i in range(3)]
    store.artifacts.put(artifact(session_id=t.id))
    store.artifacts.put(artifact())
    for a in mine:
        store.artifacts.put(a)
    assert store.artifacts.list_by_session(s.id) == sorted(mine, key=lambda a: a.created_at)
    assert store.artifacts.list_by_session(uuid7()) == []


def test_list_by_session_ties_by_id(store: Store) -> None:
    s = session(store)
    ids = sorted(uuid7() for _ in range(4))
    for i in reversed(ids):
        store.artifacts.put(artifact(id=i, session_id=s.id, created_at=at(0)))
    assert [a.id for a in store.artifacts.list_by_session(s.id)] == ids


def test_delete_is_idempotent(store: Store) -> None:
    a, keep = artifact(), artifact()
    store.artifacts.put(a)
    store.artifacts.put(keep)
    store.artifacts.delete(a.id)
    assert store.artifacts.get(a.id) is None
    store.artifacts.delete(a.id)
    store.artifacts.delete(uuid7())
    assert store.artifacts.get(keep.id) == keep


def test_delete_by_session_counts_and_spares_others(store: Store) -> None:
    s, t = session(store), session(store)
    mine = [artifact(session_id=s.id) for _ in range(3)]
    theirs, loose = artifact(session_id=t.id), artifact()
    for a in [*mine, theirs, loose]:
        store.artifacts.put(a)
    assert store.artifacts.delete_by_session(s.id) == 3
    assert store.artifacts.delete_by_session(s.id) == 0
    assert store.artifacts.list_by_session(s.id) == []
    assert all(store.artifacts.get(a.id) is None for a in mine)
    assert store.artifacts.get(theirs.id) == theirs
    assert store.artifacts.get(loose.id) == loose


@pytest.mark.parametrize("bad", [None, b"bytes", {"name": "x"}])
def test_put_wrong_type_raises_type_error(store: Store, bad: Any) -> None:
    with pytest.raises(TypeError):
        store.artifacts.put(bad)
    assert count(store, "artifacts") == 0


def test_sql_artifacts_table_reflects_writes(store: Store) -> None:
    a = artifact(b"12345", name="r.csv", content_type="text/csv")
    store.artifacts.put(a)
    row = store.sql("select name, content_type, size from artifacts where id = ?", [str(a.id)]).fetchone()
    assert row == ("r.csv", "text/csv", 5)
    store.artifacts.delete(a.id)
    assert count(store, "artifacts") == 0


def test_put_many_stores_and_replaces(store: Store) -> None:
    s = session(store)
    first = artifact(b"one", session_id=s.id, created_at=at(1))
    store.artifacts.put(first)
    batch = [first.with_metadata({"v": 2}), artifact(b"two", session_id=s.id, created_at=at(2))]
    assert store.artifacts.put_many(batch) == batch
    assert store.artifacts.list_by_session(s.id) == batch
    assert count(store, "artifacts") == 2


def test_put_many_is_all_or_nothing(store: Store) -> None:
    good = artifact(b"ok")
    with pytest.raises(TypeError):
        store.artifacts.put_many([good, "not an artifact"])  # type: ignore[list-item]
    assert store.artifacts.get(good.id) is None
    assert count(store, "artifacts") == 0
