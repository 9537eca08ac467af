"""Damaged store files are named: ``DataCorruptionError`` with the file (and table), never a raw engine error.

Every test damages a REAL file of a real store (truncates it, zeroes a range, flips bits) and reads the store
through the API, the analytics and the command line; undamaged tables must stay readable.
"""

from __future__ import annotations

import hashlib
import random
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

import numpy as np
import pyarrow.parquet as pq
import pytest

import behest_lab.analytics as analytics
from behest_lab import open_store
from behest_lab.errors import DataCorruptionError
from behest_lab.stores.lake import LakeStore
from tests.lake.template import lake_store
from tests.stores._build import artifact, embedding, execution, message, session

Damage = Callable[[Path], None]


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _zero_range(path: Path) -> None:
    # 64 bytes in the middle of the footer (the file's metadata: schema, row groups, page offsets)
    data = bytearray(path.read_bytes())
    footer = int.from_bytes(data[-8:-4], "little")
    start = len(data) - 8 - footer // 2
    data[start : start + 64] = bytes(64)
    path.write_bytes(bytes(data))


def _flip_footer(path: Path) -> None:
    # the footer's length field (the 4 bytes before the closing magic "PAR1"), one bit flipped
    data = bytearray(path.read_bytes())
    data[-6] ^= 0x40
    path.write_bytes(bytes(data))


def _flip_magic(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


DATA_DAMAGE: dict[str, Damage] = {
    "truncate": _truncate,
    "zero_range": _zero_range,
    "flip_footer_length": _flip_footer,
    "flip_magic": _flip_magic,
}


def _table_files(root: Path, table: str) -> list[Path]:
    return sorted((root / "data" / "main" / table).glob("*.parquet"))


def _store_with_messages(root: Path) -> tuple[LakeStore, object]:
    """A store with one session and its messages in a Parquet file (a bulk write above the inlining limit)."""
    store = lake_store(root)
    s = session(store)
    store.sessions.append_messages([message(s.id, f"m{i} " + "x" * 50) for i in range(1100)])
    store.executions.record_execution(execution(s.id))
    store.artifacts.put(artifact(b"kept", session_id=s.id))
    return store, s.id


@pytest.mark.parametrize("damage", sorted(DATA_DAMAGE))
def test_a_damaged_data_file_is_named_by_the_api_and_analytics(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "store"
    store, sid = _store_with_messages(root)
    store.close()
    [target] = _table_files(root, "messages")
    DATA_DAMAGE[damage](target)
    store = open_store(root)
    try:
        with pytest.raises(DataCorruptionError) as caught:
            store.sessions.list_messages(sid)  # type: ignore[arg-type]
        assert caught.value.path == str(target)
        assert caught.value.table == "messages"
        assert str(target) in str(caught.value)
        with pytest.raises(DataCorruptionError) as caught:
            analytics.sessions(store)
        assert caught.value.path == str(target)
        # undamaged tables stay readable
        assert len(store.executions.list_executions(sid)) == 1  # type: ignore[arg-type]
        assert [a.data for a in store.artifacts.list_by_session(sid)] == [b"kept"]  # type: ignore[arg-type]
    finally:
        store.close()


def _cli_sessions(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(Path(sys.executable).with_name("behest-lab")), "sessions", "--store", str(root)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def _assert_one_line(result: subprocess.CompletedProcess[str], path: Path) -> None:
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("behest-lab: error: data corruption")
    assert str(path) in lines[0]


def test_the_cli_names_a_damaged_data_file_in_one_line(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, _ = _store_with_messages(root)
    store.close()
    [target] = _table_files(root, "messages")
    _truncate(target)
    _assert_one_line(_cli_sessions(root), target)


CATALOG_DAMAGE: dict[str, Damage] = {
    "zero_header": lambda p: p.write_bytes(bytes(16) + p.read_bytes()[16:]),
    "truncate": lambda p: p.write_bytes(p.read_bytes()[:4196]),
    "zero_a_page": lambda p: p.write_bytes(p.read_bytes()[:8192] + bytes(512) + p.read_bytes()[8704:]),
}


@pytest.mark.parametrize("damage", sorted(CATALOG_DAMAGE))
def test_a_damaged_catalog_is_named(tmp_path: Path, damage: str) -> None:
    root = tmp_path / "store"
    store, _ = _store_with_messages(root)
    store.close()
    catalog = root / "catalog.sqlite"
    CATALOG_DAMAGE[damage](catalog)
    with pytest.raises(DataCorruptionError) as caught:
        open_store(root)
    assert caught.value.path == str(catalog)
    assert caught.value.field == "catalog"
    _assert_one_line(_cli_sessions(root), catalog)


def test_undamaged_data_is_read_as_before(tmp_path: Path) -> None:
    root = tmp_path / "store"
    store, sid = _store_with_messages(root)
    try:
        assert len(store.sessions.list_messages(sid)) == 1100  # type: ignore[arg-type]
        assert analytics.sessions(store).height == 1
    finally:
        store.close()
    result = _cli_sessions(root)
    assert result.returncode == 0, result.stderr


# --- bytes the file format does not verify: checked against the store's checksums ---------------------------


def _overwrite_in_file(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert data.count(old) == 1, "the artifact's bytes are stored as written, once, in the file"
    path.write_bytes(data.replace(old, new))


PAYLOAD = random.Random(7).randbytes(16384)  # incompressible: the file holds the bytes as written
CHANGED = b"\xde\xad\xbe\xef" * 4


def _artifact_store(root: Path) -> tuple[Path, UUID, UUID]:
    """A store with an artifact of ``PAYLOAD`` and a second one, then one slice of the payload overwritten in the
    ``artifact_data`` Parquet file; returns the file, the damaged artifact's id and the other's."""
    store = lake_store(root)
    s = session(store)
    damaged, kept = artifact(PAYLOAD, session_id=s.id), artifact(b"untouched", session_id=s.id)
    store.artifacts.put_many([damaged, kept])
    store.compact()  # the rows leave the catalog for a Parquet file
    store.close()
    [target] = _table_files(root, "artifact_data")
    _overwrite_in_file(target, PAYLOAD[1000:1016], CHANGED)
    return target, damaged.id, kept.id


def test_overwritten_artifact_bytes_are_named(tmp_path: Path) -> None:
    target, damaged, kept = _artifact_store(tmp_path / "store")
    store = open_store(tmp_path / "store")
    try:
        with pytest.raises(DataCorruptionError) as caught:
            store.artifacts.get(damaged)
        assert caught.value.table == "artifact_data"
        assert caught.value.path == str(target)
        assert str(damaged) in str(caught.value)
        kept_artifact = store.artifacts.get(kept)
        assert kept_artifact is not None
        assert kept_artifact.data == b"untouched"
    finally:
        store.close()


def test_without_the_checksum_the_overwritten_artifact_bytes_read_silently(tmp_path: Path) -> None:
    """What the checksum guards against: the Parquet file itself reads with the changed bytes and no error."""
    target, _damaged, _ = _artifact_store(tmp_path / "store")
    rows = pq.read_table(target, columns=["data"]).column("data").to_pylist()
    changed = [bytes(d) for d in rows if len(d) == len(PAYLOAD)]
    assert len(changed) == 1
    assert changed[0] != PAYLOAD
    assert CHANGED in changed[0]


def test_artifacts_stored_before_checksums_are_read_unverified_and_new_ones_checked(tmp_path: Path) -> None:
    """A store from schema 4 (no ``artifact_data.sha256``) gains the column by the named step; its old artifacts
    read as stored (NULL checksum: unverified), artifacts put afterwards carry a checksum."""
    from behest_lab.stores.lake import migrations

    root = tmp_path / "store"
    store = lake_store(root)
    old = artifact(b"from schema 4")
    store.artifacts.put(old)

    def back_to_4(con: object) -> None:
        con.execute("ALTER TABLE artifact_data DROP COLUMN sha256")  # type: ignore[attr-defined]
        con.execute(f"UPDATE {migrations.META_TABLE} SET value = '4' WHERE key = 'schema_version'")  # type: ignore[attr-defined]

    store._engine.write(back_to_4, "test: back to schema version 4")
    store.close()
    assert [m.name for m in migrations.plan(4)] == ["artifact_checksums", "vector_checksums", "provenance"]
    store = open_store(root)
    try:
        assert store.sql("SELECT count(*) FROM artifacts").fetchone() == (1,)
        got = store.artifacts.get(old.id)
        assert got is not None
        assert got.data == b"from schema 4"
        new = store.artifacts.put(artifact(b"checked"))
        engine = store._engine  # type: ignore[attr-defined]
        sums = dict(engine.con.execute("SELECT id::VARCHAR, sha256 FROM artifact_data").fetchall())
        assert sums[str(old.id)] is None
        assert sums[str(new.id)] == hashlib.sha256(b"checked").hexdigest()
    finally:
        store.close()


# --- vectors ---------------------------------------------------------------------------------------------------

DIM = 16


def _vector_store(root: Path) -> tuple[Path, list[float], UUID]:
    """A store whose embeddings sit in one uncompressed Parquet file; returns the file, a query and the id of the
    vector that best matches it. The file is then damaged: one bit of that vector's bytes flipped, so that a
    different vector now ranks first."""
    rng = random.Random(3)
    vectors = [[rng.uniform(-1, 1) for _ in range(DIM)] for _ in range(1200)]
    store = lake_store(root)
    records = [embedding(v) for v in vectors]
    store.embeddings.upsert_many(records)  # more rows than are inlined: a Parquet file
    store.close()
    [target] = _table_files(root, "embeddings")
    query = vectors[0]
    # the exponent's top bit of the best match's first component: it turns into a huge (or tiny) number
    raw = struct.pack(f"<{DIM}f", *[float(x) for x in np.asarray(vectors[0], dtype=np.float32)])
    data = bytearray(target.read_bytes())
    # stored as written (uncompressed) twice: in ``vector`` (FLOAT[]) and, later in the row group, ``vector_f32``
    # (the raw bytes a search reads)
    assert data.count(raw) == 2
    at = data.rindex(raw) + 3
    data[at] ^= 0x40
    target.write_bytes(bytes(data))
    return target, query, records[0].id


def test_a_flipped_bit_in_an_embeddings_file_is_named_by_search(tmp_path: Path) -> None:
    target, query, _ = _vector_store(tmp_path / "store")
    store = open_store(tmp_path / "store")
    try:
        with pytest.raises(DataCorruptionError) as caught:
            store.embeddings.search(query, 3)
        assert caught.value.path == str(target)
        assert caught.value.table == "embeddings"
    finally:
        store.close()


def test_without_the_checksum_the_flipped_bit_changes_search_results_silently(tmp_path: Path) -> None:
    """What the checksum guards against: with the checksums cleared (a store from before them), the same damage
    changes the best match with no error."""
    _target, query, best = _vector_store(tmp_path / "store")
    store = open_store(tmp_path / "store")
    try:
        store._engine.write(  # type: ignore[attr-defined]
            lambda con: con.execute("UPDATE embeddings SET vector_check = NULL"), "test: forget the checksums"
        )
        hits = store.embeddings.search(query, 1)
        assert hits[0].record.id != best
    finally:
        store.close()
