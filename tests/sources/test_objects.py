"""``ObjectSource`` over behest's disk and S3 artifact layout (S3: the moto server the shared-store tests use).

Objects are written the way behest's ``DiskArtifactStore``/``S3ArtifactStore.put`` writes them: the raw bytes at
``artifacts/{id}`` and the whole Artifact as serde JSON (``data`` in standard base64, ``Z`` times) at
``metadata/{id}.json``. The JSON is built here by hand, never by behest_lab's serialiser.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from behest_lab.errors import SourceError
from behest_lab.sources.base import Want
from behest_lab.sources.objects import ObjectSource
from tests.services import S3Server

S1 = "01890a5d-ac96-774b-b0a0-000000000001"


def _aid(n: int) -> str:
    return f"01890a5d-ac96-774b-c000-{n:012d}"


def _artifact(n: int, data: bytes, session: str | None) -> dict[str, Any]:
    return {
        "id": _aid(n),
        "session_id": session,
        "name": f"file{n}.bin",
        "content_type": "application/octet-stream",
        "data": base64.b64encode(data).decode(),
        "metadata": {"n": n} if n % 2 else None,
        "created_at": "2026-03-01T10:00:00.123456789Z",
    }


Put = Callable[[str, bytes], None]


def _load(put: Put) -> None:
    for n, session in ((1, S1), (2, S1), (3, None)):
        raw = bytes([n, 0, 255, 250]) * n
        put(f"artifacts/{_aid(n)}", raw)
        put(f"metadata/{_aid(n)}.json", json.dumps(_artifact(n, raw, session), separators=(",", ":")).encode())
    # metadata whose raw object is missing: the JSON's base64 data is kept
    put(f"metadata/{_aid(4)}.json", json.dumps(_artifact(4, b"from-json", S1)).encode())
    # raw bytes that differ from the JSON's copy: the raw object wins, as in behest's get
    put(f"artifacts/{_aid(5)}", b"raw wins")
    put(f"metadata/{_aid(5)}.json", json.dumps(_artifact(5, b"stale", S1)).encode())
    put("unrelated/readme.txt", b"not an artifact")


def _check(source: ObjectSource) -> None:
    bundles = list(source.bundles())
    assert all(b.session is None for b in bundles)
    by_id = {a.id: a for b in bundles for a in b.artifacts}
    assert len(by_id) == 5
    assert by_id[UUID(_aid(2))].data == bytes([2, 0, 255, 250]) * 2
    assert by_id[UUID(_aid(1))].metadata == {"n": 1}
    assert by_id[UUID(_aid(2))].metadata is None
    assert by_id[UUID(_aid(3))].session_id is None
    assert by_id[UUID(_aid(4))].data == b"from-json"
    assert by_id[UUID(_aid(5))].data == b"raw wins"
    assert by_id[UUID(_aid(1))].created_at.nanosecond == 789
    assert source.missing_data == 1
    # grouped by session: one bundle for S1's four artifacts, one for the artifact without a session
    assert sorted(len(b.artifacts) for b in bundles) == [1, 4]
    refs = {p.ref for b in bundles for p in b.provenance}
    assert f"metadata/{_aid(3)}.json" in refs
    assert all(p.table == "artifacts" and p.location == source.location for b in bundles for p in b.provenance)


def _disk_put(root: Path) -> Put:
    def put(name: str, data: bytes) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return put


def test_disk_store_by_path_and_file_url(tmp_path: Path) -> None:
    _load(_disk_put(tmp_path))
    with ObjectSource(tmp_path) as source:
        assert (source.kind, source.store) == ("objects", "disk")
        _check(source)
    _check(ObjectSource(f"file://{tmp_path}"))


def test_an_empty_store_yields_nothing(tmp_path: Path) -> None:
    assert list(ObjectSource(tmp_path).bundles()) == []


def test_bad_metadata_json_names_the_object(tmp_path: Path) -> None:
    put = _disk_put(tmp_path)
    _load(put)
    put(f"metadata/{_aid(9)}.json", b'{"id": "x"}')
    with pytest.raises(SourceError) as info:
        list(ObjectSource(tmp_path).bundles())
    assert info.value.key == f"metadata/{_aid(9)}.json"
    assert info.value.table == "artifacts"
    assert "not a behest artifact" in str(info.value)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not a folder"):
        ObjectSource(tmp_path / "nope")


# --- S3 (moto) -----------------------------------------------------------------------------------------------------


@pytest.fixture
def bucket(s3_server: S3Server) -> Iterator[tuple[str, Any]]:
    import boto3  # type: ignore[import-untyped]

    from tests.services import S3_KEY_ID, S3_REGION, S3_SECRET

    url = s3_server.new_bucket("artifacts")
    client = boto3.client(
        "s3",
        endpoint_url=s3_server.url,
        aws_access_key_id=S3_KEY_ID,
        aws_secret_access_key=S3_SECRET,
        region_name=S3_REGION,
    )
    yield url, client
    client.close()


def test_s3_store_under_a_prefix(bucket: tuple[str, Any], s3_server: S3Server) -> None:
    url, client = bucket
    name = url.removeprefix("s3://").strip("/")

    def put(key: str, data: bytes) -> None:
        client.put_object(Bucket=name, Key=f"team/behest/{key}", Body=data)

    _load(put)
    client.put_object(Bucket=name, Key=f"metadata/{_aid(8)}.json", Body=b"outside the prefix")
    with ObjectSource(f"{url}team/behest", s3=s3_server.options()) as source:
        assert (source.kind, source.store) == ("objects", "s3")
        assert source.location == f"s3://{name}/team/behest/"
        _check(source)


def test_s3_bucket_root(bucket: tuple[str, Any], s3_server: S3Server) -> None:
    url, client = bucket
    name = url.removeprefix("s3://").strip("/")
    _load(lambda key, data: client.put_object(Bucket=name, Key=key, Body=data))
    _check(ObjectSource(url, s3=s3_server.options()))


def test_s3_unknown_bucket_is_named_without_the_secret(s3_server: S3Server) -> None:
    from tests.services import S3_SECRET

    with pytest.raises(SourceError, match="cannot list the bucket") as info:
        ObjectSource("s3://no-such-bucket-kv/x", s3=s3_server.options())
    assert S3_SECRET not in str(info.value)
    assert info.value.source == "objects"


def test_fingerprints_notice_a_rewritten_artifact_and_read_skips_bad_objects(tmp_path: Path) -> None:
    put = _disk_put(tmp_path)
    _load(put)
    put(f"metadata/{_aid(9)}.json", b"not json")
    assert ObjectSource.sniff(tmp_path)
    assert not ObjectSource.sniff(tmp_path / "artifacts")
    source = ObjectSource(f"file://{tmp_path}")
    before = {row["id"]: row for row in source.fingerprints().to_pylist()}
    assert set(before) == {_aid(n) for n in (1, 2, 3, 4, 5, 9)}
    assert before[_aid(1)]["session_id"] == S1
    assert before[_aid(3)]["session_id"] is None
    put(f"artifacts/{_aid(2)}", b"new bytes, same metadata")
    after = {row["id"]: row["fp"] for row in source.fingerprints().to_pylist()}
    assert [i for i in before if before[i]["fp"] != after[i]] == [_aid(2)]
    bad: list[SourceError] = []
    wanted = list(source.read(Want(rows={"artifacts": frozenset({_aid(2)})}), bad.append))
    assert [a.data for b in wanted for a in b.artifacts] == [b"new bytes, same metadata"]
    assert [e.key for e in bad] == [f"metadata/{_aid(9)}.json"]
