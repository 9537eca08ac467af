"""Lake ``EmbeddingStore``: vectors as ``FLOAT[]`` lists, searched through a cached ``VectorIndex``.

The index (row-normalised float32 matrices) is built from the ``vector`` column read as Arrow, without a Python
loop over vectors, and kept until the lake changes the ``embeddings`` table: each search first compares the
catalog's latest snapshot id (one small catalog query) and only on a change looks whether that table was touched.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.compute as pc

from behest_lab.errors import BackendError, DataCorruptionError
from behest_lab.records import EmbeddingRecord, ScoredEmbedding
from behest_lab.stores import tables
from behest_lab.stores._common import check_batch, check_type
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.vectors import VectorIndex

_EMB = _sql.qualified("embeddings")


def _codes(column: pa.Array, codes: dict[Any, int], key: Callable[[str], Any]) -> npt.NDArray[np.int64]:
    """Integer codes of a string column (NULL -> -1), extending ``codes``: one dictionary encode per batch, Python
    work only per distinct value."""
    encoded = column.dictionary_encode()
    mapping = np.asarray(
        [codes.setdefault(key(v), len(codes)) for v in encoded.dictionary.to_pylist()] or [0], dtype=np.int64
    )
    idx = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return np.where(idx >= 0, mapping[np.maximum(idx, 0)], -1)


def build_index(batches: pa.Table | Iterable[pa.RecordBatch], counts: dict[int, int] | None = None) -> VectorIndex:
    """A ``VectorIndex`` from Arrow data with columns ``id``, ``model``, ``session_id``, ``dim``, ``vector``.

    Args:
        batches: an Arrow table or a stream of record batches (for example DuckDB's record-batch reader).
        counts: rows per dimension; computed from ``batches`` when it is a table.

    Each dimension's matrix is allocated once and filled batch by batch from the flattened list values (no
    per-vector Python work), then normalised in place: the peak stays near the raw vector bytes plus one batch.
    """
    if isinstance(batches, pa.Table):
        dims_col = batches.column("dim").to_numpy()
        values, n = np.unique(dims_col, return_counts=True)
        counts = {int(d): int(c) for d, c in zip(values, n, strict=True)}
        batches = batches.to_batches()
    counts = counts or {}
    index = VectorIndex()
    matrices = {d: np.empty((n, d), dtype=np.float32) for d, n in counts.items()}
    filled = dict.fromkeys(counts, 0)
    ids: dict[int, list[UUID]] = {d: [] for d in counts}
    models: dict[int, list[npt.NDArray[np.int64]]] = {d: [] for d in counts}
    sessions: dict[int, list[npt.NDArray[np.int64]]] = {d: [] for d in counts}
    for batch in batches:
        dims = batch.column("dim").to_numpy(zero_copy_only=False)
        for dim in np.unique(dims):
            d = int(dim)
            rows = np.flatnonzero(dims == dim)
            part = batch if rows.size == batch.num_rows else batch.take(pa.array(rows))
            if d not in matrices or filled[d] + rows.size > matrices[d].shape[0]:
                raise DataCorruptionError("embeddings.dim", f"more vectors of dimension {d} than counted")
            vectors = part.column("vector")
            if vectors.null_count or pc.any(pc.not_equal(pc.list_value_length(vectors), d)).as_py():
                raise DataCorruptionError("embeddings.vector", f"a vector's length differs from its dim {d}")
            flat = vectors.flatten().to_numpy(zero_copy_only=False)
            matrices[d][filled[d] : filled[d] + rows.size] = flat.reshape(rows.size, d)
            filled[d] += rows.size
            ids[d].extend(UUID(v) for v in part.column("id").to_pylist())
            models[d].append(_codes(part.column("model"), index.model_codes, str))
            sessions[d].append(_codes(part.column("session_id"), index.session_codes, UUID))
    for d, matrix in matrices.items():
        if filled[d] != matrix.shape[0]:
            raise DataCorruptionError("embeddings.dim", f"fewer vectors of dimension {d} than counted")
        norms = np.sqrt(np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32))
        norms[norms == 0] = 1.0
        matrix /= norms[:, None]
        index.add_group(
            d,
            ids[d],
            np.concatenate(models[d] or [np.empty(0, np.int64)]).astype(np.int32),
            np.concatenate(sessions[d] or [np.empty(0, np.int64)]),
            matrix,
            normalized=True,
        )
    return index


class LakeEmbeddingStore:
    """Embedding records of one lake with exact float32 cosine search."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine
        self._index: VectorIndex | None = None
        self._index_snapshot = -1

    def upsert(self, record: EmbeddingRecord) -> EmbeddingRecord:
        self.upsert_many([check_type(record, EmbeddingRecord, "record")])
        return record

    def upsert_many(self, records: Sequence[EmbeddingRecord]) -> list[EmbeddingRecord]:
        batch = check_batch(records, EmbeddingRecord, "records")
        if not batch:
            return batch
        self._e.check_writable()
        data = tables.to_arrow("embeddings", batch)
        ids = [str(r.id) for r in batch]

        def body(con: duckdb.DuckDBPyConnection) -> None:
            _sql.delete_ids(con, "embeddings", ids)
            _sql.insert_arrow(con, "embeddings", data)

        self._e.write(body, f"upsert embeddings {len(batch)}")
        return batch

    def get(self, id: UUID) -> EmbeddingRecord | None:
        rows = self._e.rows(f"SELECT * FROM {_EMB} WHERE id = ?", [str(id)])
        return tables.embedding_from_row(rows[0]) if rows else None

    # --- the cached index ----------------------------------------------------------------------------------

    def _latest_snapshot(self) -> int:
        if self._e.read_only:
            return self._e.snapshot_id()
        return int(self._e.scalar(f"SELECT max(snapshot_id) FROM {self._e.meta}.ducklake_snapshot"))

    def _embeddings_changed(self, since: int, until: int) -> bool:
        """Whether a snapshot in ``(since, until]`` touched the embeddings table (True when unsure)."""
        table_id = self._e.scalar(
            f"SELECT table_id FROM {self._e.meta}.ducklake_table "
            "WHERE table_name = 'embeddings' AND end_snapshot IS NULL"
        )
        rows = self._e.rows(
            f"SELECT snapshot_id, changes_made FROM {self._e.meta}.ducklake_snapshot_changes "
            "WHERE snapshot_id > ? AND snapshot_id <= ?",
            [since, until],
        )
        if len(rows) < until - since:  # expired snapshots hide what changed
            return True
        pattern = re.compile(rf":{table_id}(,|$)")
        return any(pattern.search(r["changes_made"] or "") for r in rows)

    def _build(self) -> VectorIndex:
        # one snapshot for both queries, so the counts match the streamed rows
        con = self._e.con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                rows = con.execute(f"SELECT dim, count(*) FROM {_EMB} GROUP BY dim").fetchall()
                reader = con.execute(f"SELECT id, model, session_id, dim, vector FROM {_EMB} ORDER BY dim, id")
                index = build_index(reader.to_arrow_reader(20_000), {int(d): int(n) for d, n in rows})
            finally:
                con.execute("COMMIT")
        except duckdb.Error as exc:
            raise BackendError("ducklake", f"reading the embeddings: {exc}") from None
        return index

    def _refresh(self) -> VectorIndex:
        """The index for the lake's current snapshot, rebuilt only if the embeddings changed since it was built."""
        with self._e.lock:
            latest = self._latest_snapshot()
            if self._index is not None and latest == self._index_snapshot:
                return self._index
            if self._index is None or self._embeddings_changed(self._index_snapshot, latest):
                self._index = None  # let the old matrices go before the new ones are built
                self._index = self._build()
            self._index_snapshot = latest
            return self._index

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[ScoredEmbedding]:
        hits = self._refresh().search(query, limit, model=model, session_id=session_id)
        if not hits:
            return []
        # literal ids (our own UUIDs) let DuckDB prune row groups by id; a bound list would scan every vector
        ids = ", ".join(f"'{i}'" for i, _ in hits)
        rows = self._e.rows(f"SELECT * FROM {_EMB} WHERE id IN ({ids})")
        by_id = {UUID(str(r["id"])): r for r in rows}
        return [ScoredEmbedding(record=tables.embedding_from_row(by_id[i]), score=s) for i, s in hits if i in by_id]

    def delete(self, id: UUID) -> None:
        sid = str(id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            _sql.delete_ids(con, "embeddings", [sid])

        self._e.write(body, f"delete embedding {sid}")

    def delete_by_session(self, session_id: UUID) -> int:
        sid = str(session_id)

        def body(con: duckdb.DuckDBPyConnection) -> int:
            return _sql.delete_ids(con, "embeddings", [sid], "session_id")

        return self._e.write(body, f"delete embeddings of {sid}")
