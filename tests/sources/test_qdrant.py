"""``QdrantSource`` over a qdrant-client local-mode folder holding points shaped as behest 0.3.1's Qdrant store writes.

behest creates the collection with one unnamed cosine vector of a fixed size and upserts each record with a payload
of text values: ``id``, ``model``, ``session_id`` (only when the record has one), ``metadata`` (JSON text) and
``created_at`` (``to_rfc3339()``, ``+00:00``). behest names the point by the id's 128-bit integer in decimal text,
which Qdrant refuses (it is neither an unsigned 64-bit integer nor a UUID); these points are named by a UUID or an
integer instead, and the reader takes the record id from the payload either way.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from qdrant_client import QdrantClient, models

from behest_lab.errors import SourceError
from behest_lab.sources.base import Want
from behest_lab.sources.qdrant import QdrantSource
from tests.services import free_port

S1 = "01890a5d-ac96-774b-b0a0-000000000001"


def _eid(n: int) -> str:
    return f"01890a5d-ac96-774b-d000-{n:012d}"


def _payload(n: int, session: str | None, metadata: str = '{"chunk":1}') -> dict[str, Any]:
    payload: dict[str, Any] = {"id": _eid(n), "model": "text-embedding-3-small"}
    if session is not None:
        payload["session_id"] = session
    payload["metadata"] = metadata
    payload["created_at"] = "2026-03-01T10:00:00.123456789+00:00"
    return payload


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    client = QdrantClient(path=str(tmp_path))
    client.create_collection("behest", vectors_config=models.VectorParams(size=3, distance=models.Distance.COSINE))
    client.upsert(
        "behest",
        points=[
            models.PointStruct(id=_eid(1), vector=[1.0, 0.0, 0.0], payload=_payload(1, S1)),
            models.PointStruct(id=_eid(2), vector=[3.0, 4.0, 0.0], payload=_payload(2, S1, "null")),
            models.PointStruct(id=42, vector=[0.0, 0.0, 2.0], payload=_payload(3, None)),
        ],
    )
    client.close()
    return tmp_path


def _add(folder: Path, payload: dict[str, Any], *, collection: str = "behest", point: Any = 99) -> None:
    client = QdrantClient(path=str(folder))
    client.upsert(collection, points=[models.PointStruct(id=point, vector=[0.0, 1.0, 0.0], payload=payload)])
    client.close()


def test_reads_every_point_as_behest_decodes_it(folder: Path) -> None:
    with QdrantSource(folder) as source:
        assert source.collection == "behest"
        bundles = list(source.bundles())
    assert all(b.session is None for b in bundles)
    by_id = {e.id: e for b in bundles for e in b.embeddings}
    assert set(by_id) == {UUID(_eid(n)) for n in (1, 2, 3)}
    first = by_id[UUID(_eid(1))]
    assert first.session_id == UUID(S1)
    assert first.model == "text-embedding-3-small"
    assert first.metadata == {"chunk": 1}
    assert first.created_at.nanosecond == 789
    assert first.vector == [1.0, 0.0, 0.0]
    # the vector as Qdrant returns it: [3, 4, 0], or its unit form where Qdrant normalised it for cosine
    second = by_id[UUID(_eid(2))]
    norm = math.sqrt(sum(v * v for v in second.vector))
    assert [round(v / norm, 6) for v in second.vector] == [0.6, 0.8, 0.0]
    assert second.metadata is None  # the JSON text "null"
    assert by_id[UUID(_eid(3))].session_id is None  # no session_id in the payload
    # the record id is the payload's, whatever the point is called (point 42)
    refs = {p.record_id: p.ref for b in bundles for p in b.provenance}
    assert refs[UUID(_eid(3))] == "behest/42"
    assert refs[UUID(_eid(1))] == f"behest/{_eid(1)}"
    assert sorted(len(b.embeddings) for b in bundles) == [1, 2]  # grouped by session
    assert all(p.location.endswith("#behest") for b in bundles for p in b.provenance)


def test_missing_metadata_reads_as_an_empty_object(folder: Path) -> None:
    payload = _payload(7, S1)
    del payload["metadata"]
    _add(folder, payload)
    with QdrantSource(folder, collection="behest") as source:
        records = [e for b in source.bundles() for e in b.embeddings if e.id == UUID(_eid(7))]
    assert records[0].metadata == {}


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"id": None}, "payload has no id"),
        ({"model": None}, "payload has no model"),
        ({"created_at": "yesterday"}, "RFC 3339"),
        ({"metadata": "{broken"}, "metadata is not JSON"),
        ({"session_id": "not-a-uuid"}, "badly formed"),
        ({"id": 17}, "payload id is int"),
    ],
    ids=["no-id", "no-model", "bad-time", "bad-metadata", "bad-session", "numeric-id"],
)
def test_a_point_that_is_not_behests_is_named(folder: Path, change: dict[str, Any], fragment: str) -> None:
    payload = {**_payload(8, S1), **change}
    _add(folder, {k: v for k, v in payload.items() if v is not None}, point=123)
    with QdrantSource(folder) as source, pytest.raises(SourceError) as info:
        list(source.bundles())
    assert fragment in str(info.value)
    assert (info.value.table, info.value.key) == ("embeddings", "behest/123")


def test_collection_must_exist_and_be_named_when_there_are_several(folder: Path) -> None:
    client = QdrantClient(path=str(folder))
    client.create_collection("other", vectors_config=models.VectorParams(size=2, distance=models.Distance.COSINE))
    client.close()
    with pytest.raises(SourceError, match="name the collection"):
        QdrantSource(folder)
    with pytest.raises(SourceError, match="no collection 'nope'"):
        QdrantSource(folder, collection="nope")
    with QdrantSource(folder, collection="behest") as source:
        assert sum(len(b.embeddings) for b in source.bundles()) == 3


def test_unreachable_server_is_named_without_the_api_key() -> None:
    url = f"qdrant://:key-0f9e8d@127.0.0.1:{free_port()}/behest"
    with pytest.raises(SourceError, match="cannot connect") as info:
        QdrantSource(url)
    assert "key-0f9e8d" not in str(info.value)
    assert info.value.location == url.replace(":key-0f9e8d@", "")


def test_fingerprints_and_read_with_want_and_bad_points(folder: Path) -> None:
    assert QdrantSource.sniff(folder)
    assert not QdrantSource.sniff(folder / "collection")
    _add(folder, {"model": "m"}, point=77)  # no id: not behest's
    with QdrantSource(folder) as source:
        rows = {r["id"]: r for r in source.fingerprints().to_pylist()}
        assert set(rows) == {_eid(1), _eid(2), _eid(3), "behest/77"}
        assert rows[_eid(1)]["session_id"] == S1
        bad: list[SourceError] = []
        got = [
            e.id for b in source.read(Want(rows={"embeddings": frozenset({_eid(3)})}), bad.append) for e in b.embeddings
        ]
        assert got == [UUID(_eid(3))]
        assert [e.key for e in bad] == ["behest/77"]
    _add(folder, _payload(1, S1, '{"chunk":2}'), point=_eid(1))
    with QdrantSource(folder) as source:
        after = {r["id"]: r["fp"] for r in source.fingerprints().to_pylist()}
    assert [i for i in rows if rows[i]["fp"] != after[i]] == [_eid(1)]
