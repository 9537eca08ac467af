"""Lake ``EmbeddingStore``: vectors as ``FLOAT[]`` lists, searched through a cached ``VectorIndex``.

The index (raw float32 matrices with norms, plus the columns that rebuild records) is built without a Python loop
over vectors, so a search never reads storage: DuckDB reads the small columns with each row's file and position,
and the vector bytes come straight from the local Parquet files (see ``_build``). It is kept until the lake changes
the ``embeddings`` table: each search first reads the catalog's latest snapshot id (one tiny catalog query) and
only on a change looks whether that table was touched.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import duckdb
import numpy as np
import numpy.typing as npt
import pyarrow as pa

from behest_lab.errors import BackendError, DataCorruptionError, VectorChecksumError
from behest_lab.records import EmbeddingRecord, ScoredEmbedding
from behest_lab.stores import tables
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.stores.rules import check_batch, check_type
from behest_lab.vectors import F32Array, VectorIndex, dim_slots, empty_f32, scatter_f32, uuid_words
from behest_lab.vectors.parquet import FileRows, matrix_checksums, read_vectors, vector_checksums

_EMB = _sql.qualified("embeddings")
# reading the Parquet files directly failed: a file vanished or cannot be decoded by pyarrow (e.g. encrypted)
_DIRECT_ERRORS = (OSError, pa.ArrowException, DataCorruptionError)
# (file, position) pairs are packed into one integer: positions stay far below 2**40 rows
_KEY_SPAN = 1 << 40


def _is_local_file(name: str | None) -> bool:
    """Whether a ``filename`` value names a local Parquet file (inlined rows carry the catalog table's name)."""
    return name is not None and "://" not in name and os.path.isabs(name) and os.path.isfile(name)


def _checked(batches: Iterable[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
    """``batches`` with each vector checked against ``_check`` (``VectorChecksumError`` on a mismatch)."""
    for batch in batches:
        column = batch.column("vector_f32")
        if isinstance(column, pa.ChunkedArray):
            column = column.combine_chunks()
        kind = np.int64 if pa.types.is_large_binary(column.type) else np.int32
        n = len(column)
        if n == 0:
            yield batch
            continue
        offsets = np.frombuffer(column.buffers()[1], dtype=kind)[column.offset : column.offset + n + 1]
        raw = np.frombuffer(column.buffers()[2], dtype=np.uint8)
        got = vector_checksums(raw[: raw.size - raw.size % 4], offsets)
        check = batch.column("_check")
        known = check.is_valid().to_numpy(zero_copy_only=False)
        bad = np.flatnonzero(known & (got != check.fill_null(0).to_numpy(zero_copy_only=False)))
        if bad.size:
            row = int(bad[0])
            raise VectorChecksumError(str(batch.column("_file")[row].as_py()), int(batch.column("_pos")[row].as_py()))
        yield batch


class LakeEmbeddingStore:
    """Embedding records of one lake with exact float32 cosine search."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine
        self._index: VectorIndex | None = None
        self._index_snapshot = -1
        self._stamp: tuple[int, ...] | None = None
        self._stamp_snapshot = -1
        #: how the current index was read: "files" (vectors straight from the Parquet files), "duckdb" (streamed
        #: through DuckDB: mostly inlined rows, remote files, or the files could not be read directly) or None
        self.index_source: str | None = None

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

    def _catalog_stamp(self) -> tuple[int, ...] | None:
        """Size and mtime of the SQLite catalog and its WAL: every commit changes them (None if not SQLite)."""
        catalog = self._e.catalog_file
        if catalog is None:
            return None
        stamp: list[int] = []
        for path in (catalog, catalog.with_name(catalog.name + "-wal")):
            try:
                st = path.stat()
            except FileNotFoundError:
                if path == catalog:
                    return None
                stamp += [0, 0]
                continue
            # an empty WAL carries no commit; DuckDB's sqlite scanner recreates it on every query, so only a
            # non-empty one's mtime counts
            stamp += [st.st_size, st.st_mtime_ns if st.st_size or path == catalog else 0]
        return tuple(stamp)

    def _latest_snapshot(self) -> int:
        if self._e.read_only:
            return self._e.snapshot_id()
        # Asking the catalog through DuckDB costs ~10 ms, which would dominate a warm search; an unchanged
        # catalog file (and WAL) means no commit happened since the last ask, so the answer is the same.
        # (Reading the file with Python's own sqlite3 is not an option: in the same process as DuckDB's sqlite
        # copy it can keep seeing an old WAL snapshot.)
        stamp = self._catalog_stamp()
        if stamp is not None and stamp == self._stamp:
            return self._stamp_snapshot
        latest = int(self._e.scalar(f"SELECT max(snapshot_id) FROM {self._e.meta}.ducklake_snapshot"))
        self._stamp, self._stamp_snapshot = stamp, latest
        return latest

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
        """The index of the snapshot the connection sees now.

        One DuckDB transaction pins the snapshot. DuckDB reads every column but the vectors together with each
        row's data file and position in it (``filename``, ``file_row_number``), so deletes (delete files and
        inlined deletes), partly visible files and time travel are applied by DuckLake itself; the vector bytes,
        nearly all of the data, are then read straight from the local Parquet files with pyarrow on several
        threads. Rows that live elsewhere (inlined in the catalog, remote files) get their vectors through DuckDB.
        Any trouble reading the files directly (a file removed meanwhile, an encrypted lake) falls back to
        streaming everything through DuckDB.
        """
        con = self._e.con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                # ids as 16-byte Arrow UUIDs (arrow_lossless_conversion): no Python object per vector
                con.execute("SET arrow_lossless_conversion = true")
                try:
                    index = self._build_direct(con)
                except VectorChecksumError:
                    raise
                except _DIRECT_ERRORS:
                    index = None
                self.index_source = "files"
                if index is None:
                    index = self._build_streamed(con)
                    self.index_source = "duckdb"
            except BaseException:
                # ROLLBACK, not COMMIT: a failed (aborted) transaction cannot commit, and an error from COMMIT
                # would replace the one that explains what went wrong
                with contextlib.suppress(duckdb.Error):
                    con.execute("ROLLBACK")
                with contextlib.suppress(duckdb.Error):
                    con.execute("RESET arrow_lossless_conversion")
                raise
            con.execute("RESET arrow_lossless_conversion")
            con.execute("COMMIT")
        except duckdb.Error as exc:
            self._e.damaged(exc)  # a damaged file: DataCorruptionError naming it
            raise BackendError("ducklake", f"reading the embeddings: {self._e.scrub(str(exc))}") from None
        return index

    def _build_direct(self, con: duckdb.DuckDBPyConnection) -> VectorIndex | None:
        """The index with the vectors read from the Parquet files; None when most rows are not in local files.

        Raises:
            DataCorruptionError: what DuckDB and the files say disagrees (the caller falls back to streaming).
        """
        # ``file_index`` numbers the files of this scan (cheap, unlike a file name string per row); the first
        # query maps the numbers to names. Both run in one transaction, hence on one file list; every vector read
        # from a file is checked against the id DuckDB reported for that row all the same (see ``read_vectors``).
        names: dict[int, tuple[str, int]] = {}
        expected: dict[int, int] = {}  # rows per dimension
        for i, name, dim, n in con.execute(
            f"SELECT file_index, filename, dim, count(*) FROM {_EMB} GROUP BY ALL"
        ).fetchall():
            names[int(i)] = (str(name), names.get(int(i), ("", 0))[1] + int(n))
            expected[int(dim)] = expected.get(int(dim), 0) + int(n)
        # remote files (an object-store lake) or mostly inlined rows: one pass through DuckDB is cheaper
        if sum(n for name, n in names.values() if _is_local_file(name)) * 2 < sum(n for _, n in names.values()):
            return None
        # Mapping in the matrices' memory (about a third of a cold build) runs on a thread of its own while DuckDB
        # reads the other columns: both release the GIL.
        with ThreadPoolExecutor(1, thread_name_prefix="behest-vectors-alloc") as pool:
            allocated = pool.submit(lambda: {d: empty_f32(n, d) for d, n in expected.items()})
            cols = con.execute(
                "SELECT file_index AS _file, file_row_number AS _pos, id, model, session_id, dim, "
                f"metadata::VARCHAR AS metadata, created_at, created_at_ns, vector_check AS _check FROM {_EMB}"
            ).to_arrow_table()
            mats = allocated.result()
        codes = cols.column("_file").to_numpy(zero_copy_only=False).astype(np.int64)
        found, per_file = np.unique(codes, return_counts=True)
        if {int(c): int(n) for c, n in zip(found, per_file, strict=True)} != {c: n for c, (_, n) in names.items()}:
            raise DataCorruptionError("embeddings", "the scan's file list changed between two reads")
        dims = cols.column("dim").to_numpy(zero_copy_only=False)
        slots, counts = dim_slots(dims)
        if counts != expected:
            raise DataCorruptionError("embeddings.dim", "the scan's rows per dimension changed between two reads")
        positions = cols.column("_pos").to_numpy(zero_copy_only=False).astype(np.int64)
        hi, lo = uuid_words(cols.column("id"))
        plan: list[FileRows] = []
        elsewhere: dict[str, int] = {}
        by_file = np.argsort(codes, kind="stable")
        bounds = np.searchsorted(codes[by_file], [*sorted(names), max(names, default=0) + 1])
        for k, (code, (name, _)) in enumerate(sorted(names.items())):
            if _is_local_file(name):
                rows = by_file[bounds[k] : bounds[k + 1]]
                plan.append(FileRows(name, positions[rows], dims[rows], slots[rows], hi[rows], lo[rows]))
            else:
                elsewhere[name] = code
        norms = {d: np.empty(n, dtype=np.float32) for d, n in counts.items()}
        if elsewhere:
            self._fill_elsewhere(con, elsewhere, codes, positions, slots, mats, norms)
        field_ids = {
            str(name): int(cid)
            for name, cid in con.execute(
                f"SELECT c.column_name, c.column_id FROM {self._e.meta}.ducklake_column AS c "
                f"JOIN {self._e.meta}.ducklake_table AS t USING (table_id) WHERE t.table_name = 'embeddings' "
                "AND t.end_snapshot IS NULL AND c.end_snapshot IS NULL AND c.column_name IN ('id', 'vector_f32')"
            ).fetchall()
        }
        read_vectors(
            plan,
            mats,
            vector=("vector_f32", field_ids.get("vector_f32")),
            key=("id", field_ids.get("id")),
            norms=norms,
        )
        check = cols.column("_check")
        for d, matrix in mats.items():
            rows = np.flatnonzero(dims == d)
            want = np.zeros(matrix.shape[0], dtype=np.int64)
            known = np.zeros(matrix.shape[0], dtype=bool)
            at = slots[rows]
            want[at] = check.take(pa.array(rows)).fill_null(0).to_numpy(zero_copy_only=False)
            known[at] = check.take(pa.array(rows)).is_valid().to_numpy(zero_copy_only=False)
            bad = np.flatnonzero(known & (matrix_checksums(matrix) != want))
            if bad.size:
                row_of_slot = np.empty(matrix.shape[0], dtype=np.int64)
                row_of_slot[at] = rows
                row = int(row_of_slot[bad[0]])
                name = names[int(codes[row])][0]
                raise VectorChecksumError(name, int(positions[row]))
        return VectorIndex.from_columns(cols.drop_columns(["_file", "_pos", "_check"]), mats, norms)

    def _fill_elsewhere(
        self,
        con: duckdb.DuckDBPyConnection,
        elsewhere: dict[str, int],
        codes: npt.NDArray[np.int64],
        positions: npt.NDArray[np.int64],
        slots: npt.NDArray[np.int64],
        mats: dict[int, F32Array],
        norms: dict[int, F32Array],
    ) -> None:
        """Vectors (and their norms) of the rows not in local Parquet files (inlined rows, remote files).

        They are read through DuckDB and matched to their rows by (file, position).
        """
        got = con.execute(
            f"SELECT filename, file_row_number, dim, vector_f32 FROM {_EMB} "
            "WHERE filename IN (SELECT unnest(?::VARCHAR[]))",
            [list(elsewhere)],
        ).to_arrow_table()
        got_codes = np.asarray([elsewhere.get(n, -1) for n in got.column("filename").to_pylist()], dtype=np.int64)
        got_key = got_codes * _KEY_SPAN + got.column("file_row_number").to_numpy(zero_copy_only=False).astype(np.int64)
        want = np.flatnonzero(np.isin(codes, list(elsewhere.values())))
        want_key = codes[want] * _KEY_SPAN + positions[want]
        order = np.argsort(want_key)
        at = np.minimum(np.searchsorted(want_key, got_key, sorter=order), max(want.size - 1, 0))
        if got.num_rows != want.size or (want.size and not np.array_equal(want_key[order[at]], got_key)):
            raise DataCorruptionError("embeddings", "rows outside data files changed while being read")
        scatter_f32(
            got.column("vector_f32"),
            np.arange(got.num_rows, dtype=np.int64),
            got.column("dim").to_numpy(zero_copy_only=False),
            slots[want[order[at]]],
            mats,
            norms,
        )

    def _build_streamed(self, con: duckdb.DuckDBPyConnection) -> VectorIndex:
        """The index with everything streamed through DuckDB (any catalog, any file location)."""
        rows = con.execute(f"SELECT dim, count(*) FROM {_EMB} GROUP BY dim").fetchall()
        reader = con.execute(
            "SELECT id, model, session_id, dim, vector_f32, metadata::VARCHAR AS metadata, created_at, created_at_ns, "
            f"vector_check AS _check, filename AS _file, file_row_number AS _pos FROM {_EMB}"
        ).to_arrow_reader(20_000)
        return VectorIndex.from_arrow(_checked(reader), {int(d): int(n) for d, n in rows})

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
        return self._refresh().search_records(query, limit, model=model, session_id=session_id)

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
