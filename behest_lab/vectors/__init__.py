"""Exact float32 cosine search in numpy.

``VectorIndex`` keeps, per dimension, the raw float32 matrix of the stored vectors with their norms and the few
columns needed to hand back whole records (ids, model, session, creation time, metadata). A search is one
matrix-vector product over the matrix (memory-bandwidth bound), a division by the norms and a partial sort; the
hits come back as records without touching storage. Both stores use it: the memory store rebuilds it after writes,
the lake store when the lake's snapshot changes (``from_columns`` with matrices filled straight from the Parquet
files by ``vectors.parquet``, or ``from_arrow`` streaming Arrow batches into preallocated matrices).
"""

from __future__ import annotations

import json
import mmap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast
from uuid import UUID

import numpy as np
import numpy.typing as npt
import pyarrow as pa

from behest_lab.errors import DataCorruptionError, VectorDimensionError
from behest_lab.records import EmbeddingRecord, ScoredEmbedding
from behest_lab.records.instant import Instant, nanosecond_of

F32Array = npt.NDArray[np.float32]
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_NO_SESSION = -1
_POPULATE_FROM = 64 << 20  # bytes


def as_query(query: Sequence[float] | Any) -> F32Array:
    """The query as a float32 vector; empty or non-finite queries are a ``ValueError``."""
    q = np.asarray(query, dtype=np.float32)
    if q.ndim != 1 or q.size == 0:
        raise ValueError(f"query must be a non-empty one-dimensional vector, got shape {q.shape}")
    if not np.isfinite(q).all():
        raise ValueError("query has NaN or infinite components")
    return q


def empty_f32(rows: int, dim: int) -> F32Array:
    """An uninitialised (rows, dim) float32 matrix whose memory is already mapped in.

    Touching fresh memory page by page costs a page fault per 4 KiB; on virtual machines that is about as slow as
    the copy that follows (1.2-1.4 s CPU for 1.5 GB measured here). Large matrices are therefore mapped with
    ``MAP_POPULATE``, which the kernel fills in one go (0.5-0.65 s CPU for the same size; splitting that over two
    threads with ``MADV_POPULATE_WRITE`` measured no faster); the mapping is released with the array. Small
    matrices, and systems without ``MAP_POPULATE``, use ``np.empty``.
    """
    nbytes = rows * dim * 4
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if nbytes < _POPULATE_FROM or not populate:
        return np.empty((rows, dim), dtype=np.float32)
    try:
        buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    except OSError:
        return np.empty((rows, dim), dtype=np.float32)
    return np.frombuffer(buf, dtype=np.float32).reshape(rows, dim)


def row_norms(matrix: F32Array) -> F32Array:
    """L2 norm of every row, in float32."""
    return cast(F32Array, np.sqrt(np.einsum("ij,ij->i", matrix, matrix, dtype=np.float32)))


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two vectors in float32 (0.0 if either is zero or the lengths differ)."""
    x = np.asarray(a, dtype=np.float32)
    y = np.asarray(b, dtype=np.float32)
    if x.shape != y.shape or x.size == 0:
        return 0.0
    den = np.float32(np.sqrt(np.dot(x, x))) * np.float32(np.sqrt(np.dot(y, y)))
    if den == 0:
        return 0.0
    return float(np.float32(np.dot(x, y)) / den)


@dataclass(frozen=True)
class Hit:
    """One search result: where the vector sits in the index and its score."""

    dim: int
    row: int
    score: float


@dataclass
class _Group:
    """All vectors of one dimension, row-aligned arrays."""

    hi: npt.NDArray[np.uint64]  # id, high 64 bits
    lo: npt.NDArray[np.uint64]  # id, low 64 bits
    models: npt.NDArray[np.int32]
    sessions: npt.NDArray[np.int64]  # code into VectorIndex.session_ids, -1 for none
    created_us: npt.NDArray[np.int64]
    created_ns: npt.NDArray[np.int16]  # nanoseconds past created_us (Instant.nanosecond)
    metadata: list[str | None]  # JSON text
    matrix: F32Array  # raw vectors, exactly as stored
    norms: F32Array


@dataclass
class VectorIndex:
    """Float32 matrices per dimension with the columns that rebuild records and filter by model or session."""

    groups: dict[int, _Group] = field(default_factory=dict)
    model_names: list[str] = field(default_factory=list)
    model_codes: dict[str, int] = field(default_factory=dict)
    session_ids: list[UUID] = field(default_factory=list)
    session_codes: dict[UUID, int] = field(default_factory=dict)

    # --- building --------------------------------------------------------------------------------------------

    def _model_code(self, name: str) -> int:
        code = self.model_codes.get(name)
        if code is None:
            code = self.model_codes[name] = len(self.model_names)
            self.model_names.append(name)
        return code

    def _session_code(self, sid: UUID | None) -> int:
        if sid is None:
            return _NO_SESSION
        code = self.session_codes.get(sid)
        if code is None:
            code = self.session_codes[sid] = len(self.session_ids)
            self.session_ids.append(sid)
        return code

    @classmethod
    def from_records(cls, records: Iterable[EmbeddingRecord]) -> VectorIndex:
        """Build from records (the memory store's path)."""
        index = cls()
        by_dim: dict[int, list[EmbeddingRecord]] = {}
        for r in records:
            by_dim.setdefault(len(r.vector), []).append(r)
        for dim, rs in by_dim.items():
            ints = [r.id.int for r in rs]
            matrix = np.asarray([r.vector for r in rs], dtype=np.float32).reshape(len(rs), dim)
            index.groups[dim] = _Group(
                hi=np.asarray([i >> 64 for i in ints], dtype=np.uint64),
                lo=np.asarray([i & 0xFFFF_FFFF_FFFF_FFFF for i in ints], dtype=np.uint64),
                models=np.asarray([index._model_code(r.model) for r in rs], dtype=np.int32),
                sessions=np.asarray([index._session_code(r.session_id) for r in rs], dtype=np.int64),
                created_us=np.asarray([(r.created_at - _EPOCH) // timedelta(microseconds=1) for r in rs], np.int64),
                created_ns=np.asarray([nanosecond_of(r.created_at) for r in rs], np.int16),
                metadata=[None if r.metadata is None else json.dumps(r.metadata) for r in rs],
                matrix=matrix,
                norms=row_norms(matrix),
            )
        return index

    @classmethod
    def from_arrow(cls, batches: Iterable[pa.RecordBatch], counts: dict[int, int]) -> VectorIndex:
        """Build from Arrow batches of embedding rows.

        The columns are ``id`` and ``session_id`` (16-byte UUIDs, e.g. DuckDB's ``arrow.uuid`` export),
        ``model``, ``dim``, ``vector_f32`` (raw little-endian float32 bytes), ``metadata`` (JSON text),
        ``created_at`` (timestamp). ``counts`` gives the rows per dimension, so each matrix is allocated once and
        filled in place: peak memory stays near the raw vector bytes plus one batch. No Python loop runs per
        vector; Python work is per batch and per distinct model or session.
        """
        index = cls()
        mats = {d: empty_f32(n, d) for d, n in counts.items()}
        filled = dict.fromkeys(counts, 0)
        parts: dict[int, list[dict[str, Any]]] = {d: [] for d in counts}
        for batch in batches:
            dims = batch.column("dim").to_numpy(zero_copy_only=False)
            for d in (int(x) for x in np.unique(dims)):
                rows = np.flatnonzero(dims == d)
                part = batch if rows.size == batch.num_rows else batch.take(pa.array(rows))
                if d not in mats or filled[d] + rows.size > mats[d].shape[0]:
                    raise DataCorruptionError("embeddings.dim", f"more vectors of dimension {d} than counted")
                mats[d][filled[d] : filled[d] + rows.size] = _f32_rows(part.column("vector_f32"), d)
                filled[d] += rows.size
                parts[d].append(index._part(part))
        for d, matrix in mats.items():
            if filled[d] != matrix.shape[0]:
                raise DataCorruptionError("embeddings.dim", f"fewer vectors of dimension {d} than counted")
        index._add_groups(parts, mats)
        return index

    @classmethod
    def from_columns(
        cls, columns: pa.Table, matrices: dict[int, F32Array], norms: dict[int, F32Array] | None = None
    ) -> VectorIndex:
        """Build from the record columns of ``from_arrow`` without ``vector_f32`` plus ready matrices.

        ``matrices[d]`` holds, in row order, the vectors of the rows of ``columns`` whose ``dim`` is ``d`` (see
        ``dim_slots`` for where each row's vector goes). The matrices are kept as they are (no copy). ``norms``,
        when given, holds each matrix's row norms (as ``scatter_f32`` computes them); otherwise they are computed.

        Raises:
            DataCorruptionError: a matrix's shape does not match the rows of its dimension.
        """
        index = cls()
        dims = columns.column("dim").to_numpy(zero_copy_only=False)
        parts: dict[int, list[dict[str, Any]]] = {}
        present = {int(x) for x in np.unique(dims)}
        if present != set(matrices):
            raise DataCorruptionError("embeddings.dim", f"dimensions {sorted(present)} but matrices {sorted(matrices)}")
        for d in sorted(present):
            rows = np.flatnonzero(dims == d)
            if matrices[d].shape != (rows.size, d):
                raise DataCorruptionError(
                    "embeddings.dim", f"{rows.size} vectors of dimension {d}, matrix shape {matrices[d].shape}"
                )
            if norms is not None and norms[d].shape != (rows.size,):
                raise DataCorruptionError(
                    "embeddings.dim", f"{rows.size} vectors of dimension {d}, {norms[d].size} norms"
                )
            part = columns if rows.size == columns.num_rows else columns.take(pa.array(rows))
            parts[d] = [index._part(part)]
        index._add_groups(parts, matrices, norms)
        return index

    def _part(self, part: pa.Table | pa.RecordBatch) -> dict[str, Any]:
        """The non-vector columns of ``part`` (rows of one dimension) as arrays."""
        hi, lo = uuid_words(part.column("id"))
        return {
            "hi": hi,
            "lo": lo,
            "models": self._codes(part.column("model")),
            "sessions": self._session_codes(part.column("session_id")),
            "created_us": part.column("created_at")
            .cast(pa.timestamp("us", tz="UTC"))
            .cast(pa.int64())
            .to_numpy(zero_copy_only=False),
            "created_ns": (
                part.column("created_at_ns").fill_null(0).to_numpy(zero_copy_only=False)
                if "created_at_ns" in part.column_names
                else np.zeros(part.num_rows, np.int16)
            ),
            "metadata": part.column("metadata").to_pylist(),
        }

    def _add_groups(
        self,
        parts: dict[int, list[dict[str, Any]]],
        mats: dict[int, F32Array],
        norms: dict[int, F32Array] | None = None,
    ) -> None:
        for d, matrix in mats.items():
            ps = parts[d]

            def cat(key: str, dtype: Any, ps: list[dict[str, Any]] = ps) -> Any:
                return np.concatenate([p[key] for p in ps]).astype(dtype, copy=False) if ps else np.empty(0, dtype)

            self.groups[d] = _Group(
                hi=cat("hi", np.uint64),
                lo=cat("lo", np.uint64),
                models=cat("models", np.int32),
                sessions=cat("sessions", np.int64),
                created_us=cat("created_us", np.int64),
                created_ns=cat("created_ns", np.int16),
                metadata=[m for p in ps for m in p["metadata"]],
                matrix=matrix,
                norms=row_norms(matrix) if norms is None else norms[d],
            )

    def _codes(self, column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        encoded = column.dictionary_encode()
        mapping = np.asarray([self._model_code(v) for v in encoded.dictionary.to_pylist()] or [0], dtype=np.int64)
        return cast(npt.NDArray[np.int64], mapping[encoded.indices.to_numpy(zero_copy_only=False)])

    def _session_codes(self, column: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.int64]:
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        hi, lo = uuid_words(column)
        valid = ~np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        out = np.full(len(column), _NO_SESSION, dtype=np.int64)
        if valid.any():
            pairs = np.stack([hi[valid], lo[valid]], axis=1)
            uniq, inverse = np.unique(pairs, axis=0, return_inverse=True)
            mapping = np.asarray(
                [self._session_code(UUID(int=(int(h) << 64) | int(low))) for h, low in uniq], dtype=np.int64
            )
            out[valid] = mapping[inverse.reshape(-1)]
        return out

    # --- reading ---------------------------------------------------------------------------------------------

    @property
    def count(self) -> int:
        """Number of indexed vectors."""
        return sum(len(g.hi) for g in self.groups.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by the matrices."""
        return sum(g.matrix.nbytes for g in self.groups.values())

    def record(self, hit: Hit) -> EmbeddingRecord:
        """The stored record behind a hit, rebuilt from the index (vector bytes exactly as stored)."""
        g = self.groups[hit.dim]
        i = hit.row
        session = int(g.sessions[i])
        meta = g.metadata[i]
        return EmbeddingRecord(
            id=UUID(int=(int(g.hi[i]) << 64) | int(g.lo[i])),
            session_id=None if session == _NO_SESSION else self.session_ids[session],
            model=self.model_names[int(g.models[i])],
            vector=g.matrix[i],
            metadata=None if meta is None else json.loads(meta),
            created_at=Instant.from_datetime(
                _EPOCH + timedelta(microseconds=int(g.created_us[i])), int(g.created_ns[i])
            ),
        )

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[Hit]:
        """The best ``limit`` matches of the query's dimension: score descending, ties by smaller id first.

        Raises:
            VectorDimensionError: vectors exist (after the model/session filters) but none of the query's dimension.
        """
        if limit < 0:
            raise ValueError("limit must not be negative")
        q = as_query(query)
        if limit == 0 or not self.groups:
            return []
        group = self.groups.get(q.size)
        if group is None:
            return self._no_match(q.size, model, session_id)
        mask: npt.NDArray[np.bool_] | None = None
        if model is not None:
            code = self.model_codes.get(model)
            if code is None:
                return []
            mask = group.models == code
        if session_id is not None:
            scode = self.session_codes.get(session_id)
            if scode is None:
                return []
            smask = group.sessions == scode
            mask = smask if mask is None else mask & smask
        qnorm = np.float32(np.sqrt(np.dot(q, q)))
        if mask is None:
            rows = None
            dots = cast(F32Array, group.matrix @ q)
            den = group.norms * qnorm
        else:
            rows = np.flatnonzero(mask)
            if rows.size == 0:
                return self._no_match(q.size, model, session_id)
            dots = cast(F32Array, group.matrix[rows] @ q)
            den = group.norms[rows] * qnorm
        scores = np.divide(dots, den, out=np.zeros_like(dots), where=den != 0)
        return self._top(q.size, group, scores, rows, limit)

    def search_records(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[ScoredEmbedding]:
        """``search`` with each hit rebuilt as a ``ScoredEmbedding`` (what the stores' ``search`` returns)."""
        hits = self.search(query, limit, model=model, session_id=session_id)
        return [ScoredEmbedding(record=self.record(h), score=h.score) for h in hits]

    def _top(
        self, dim: int, group: _Group, scores: F32Array, rows: npt.NDArray[np.intp] | None, limit: int
    ) -> list[Hit]:
        n = scores.size
        k = min(limit, n)
        if k < n:
            kth = scores[np.argpartition(-scores, k - 1)[k - 1]]
            # keep every row tied with the k-th score so ties are broken by id, not by partition order
            cand = np.flatnonzero(scores >= kth)
        else:
            cand = np.arange(n)
        pos = cand if rows is None else rows[cand]
        # score descending, then smaller id (high word, then low word) first; only the candidates are sorted
        order = np.lexsort((group.lo[pos], group.hi[pos], -scores[cand]))[:k]
        return [Hit(dim, int(pos[i]), float(scores[cand[i]])) for i in order]

    def _no_match(self, dim: int, model: str | None, session_id: UUID | None) -> list[Hit]:
        present = []
        mcode = self.model_codes.get(model, -2) if model is not None else None
        scode = self.session_codes.get(session_id, -2) if session_id is not None else None
        for d, g in self.groups.items():
            m = np.ones(len(g.hi), dtype=bool)
            if mcode is not None:
                m &= g.models == mcode
            if scode is not None:
                m &= g.sessions == scode
            if m.any():
                present.append(d)
        if present:
            raise VectorDimensionError(dim, present)
        return []


def uuid_words(column: pa.Array | pa.ChunkedArray) -> tuple[npt.NDArray[np.uint64], npt.NDArray[np.uint64]]:
    """High and low 64-bit words of a 16-byte UUID column (nulls read as zeros)."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    storage = column.storage if isinstance(column, pa.ExtensionArray) else column
    if not pa.types.is_fixed_size_binary(storage.type) or storage.type.byte_width != 16:
        raise DataCorruptionError("embeddings.id", f"expected 16-byte UUIDs, got {storage.type}")
    raw = np.frombuffer(storage.buffers()[1], dtype=">u8")[2 * storage.offset : 2 * (storage.offset + len(storage))]
    words = raw.reshape(-1, 2).astype(np.uint64)
    return words[:, 0].copy(), words[:, 1].copy()


def _binary_column(column: pa.Array | pa.ChunkedArray) -> tuple[pa.Array, Any]:
    """``column`` as one binary array, with the numpy dtype of its offsets."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_large_binary(column.type):
        return column, np.int64
    if pa.types.is_binary(column.type):
        return column, np.int32
    raise DataCorruptionError("embeddings.vector_f32", f"expected a binary column, got {column.type}")


def _f32_rows(column: pa.Array, dim: int) -> F32Array:
    """A binary column of raw little-endian float32 vectors of ``dim`` components as an (n, dim) array view."""
    column, offset_type = _binary_column(column)
    n = len(column)
    offsets = np.frombuffer(column.buffers()[1], dtype=offset_type)[column.offset : column.offset + n + 1]
    if column.null_count or not np.array_equal(np.diff(offsets), np.full(n, dim * 4, dtype=offset_type)):
        raise DataCorruptionError("embeddings.vector_f32", f"a vector's byte length differs from 4 x dim {dim}")
    data = np.frombuffer(column.buffers()[2], dtype="<f4")
    start = int(offsets[0]) // 4
    return cast(F32Array, data[start : start + n * dim].reshape(n, dim))


def dim_slots(dims: npt.NDArray[Any]) -> tuple[npt.NDArray[np.int64], dict[int, int]]:
    """Each row's slot in its dimension's matrix and the row count per dimension, for rows of dimensions ``dims``.

    Rows of one dimension keep their order; the result is what ``from_columns`` expects.
    """
    dims = np.asarray(dims)
    slots = np.empty(dims.size, dtype=np.int64)
    counts: dict[int, int] = {}
    for d in (int(x) for x in np.unique(dims)):
        rows = np.flatnonzero(dims == d)
        slots[rows] = np.arange(rows.size)
        counts[d] = int(rows.size)
    return slots, counts


def scatter_f32(
    column: pa.Array | pa.ChunkedArray,
    positions: npt.NDArray[np.int64],
    dims: npt.NDArray[Any],
    slots: npt.NDArray[np.int64],
    matrices: dict[int, F32Array],
    norms: dict[int, F32Array] | None = None,
) -> None:
    """Copy the raw float32 vectors at ``positions`` of a binary column into ``matrices[dims[i]][slots[i]]``.

    One vectorised copy per dimension; the common case (every value of the column has one length) reads the
    column's data buffer as a matrix without an intermediate copy. With ``norms`` given, ``norms[d][slots[i]]``
    gets each copied vector's L2 norm, computed while the rows are still in the CPU cache (``read_vectors`` runs
    this on several threads, so the norms of a large index come nearly for free).

    Raises:
        DataCorruptionError: a value at one of the positions is null or not ``4 x dim`` bytes long.
    """
    column, offset_type = _binary_column(column)
    n = len(column)
    if positions.size and (int(positions.min()) < 0 or int(positions.max()) >= n):
        raise DataCorruptionError("embeddings.vector_f32", f"a row position is outside the column's {n} rows")
    if column.null_count and column.is_null().take(pa.array(positions)).to_numpy(zero_copy_only=False).any():
        raise DataCorruptionError("embeddings.vector_f32", "a stored vector is null")
    offsets = np.frombuffer(column.buffers()[1], dtype=offset_type)[column.offset : column.offset + n + 1]
    data = column.buffers()[2]
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, np.uint8)
    lengths = offsets[1:] - offsets[:-1]
    for d in (int(x) for x in np.unique(dims)):
        sel = np.flatnonzero(dims == d) if dims.size else np.empty(0, np.int64)
        pos = positions if sel.size == positions.size else positions[sel]
        if not np.array_equal(lengths[pos], np.full(pos.size, 4 * d, dtype=offset_type)):
            raise DataCorruptionError("embeddings.vector_f32", f"a vector's byte length differs from 4 x dim {d}")
        dest = slots if sel.size == slots.size else slots[sel]
        start = int(offsets[0])
        if n and np.all(lengths == 4 * d) and start % 4 == 0:
            whole = raw[start : start + n * 4 * d].view("<f4").reshape(n, d)
            if _is_run(pos) and _is_run(dest):
                # the usual case (a compacted file read in order): one block copy, no temporary
                block = slice(int(dest[0]), int(dest[0]) + dest.size)
                matrices[d][block] = whole[int(pos[0]) : int(pos[0]) + pos.size]
                if norms is not None:
                    norms[d][block] = row_norms(matrices[d][block])
                continue
            values = whole[pos]
        else:
            byte_index = offsets[pos].astype(np.int64)[:, None] + np.arange(4 * d, dtype=np.int64)
            values = raw[byte_index].view("<f4").reshape(pos.size, d)
        matrices[d][dest] = values
        if norms is not None:
            norms[d][dest] = row_norms(values)


def _is_run(values: npt.NDArray[np.int64]) -> bool:
    """Whether ``values`` are consecutive ascending integers (at least one)."""
    return (
        bool(values.size) and int(values[-1]) - int(values[0]) == values.size - 1 and bool(np.all(np.diff(values) == 1))
    )
