"""Lake ``EmbeddingStore``: vectors as ``FLOAT[]`` lists, searched through a cached ``VectorIndex``.

The index (raw float32 matrices with norms, plus the columns that rebuild records) is built from the table read
as Arrow, without a Python loop over vectors, so a search never reads storage. It is kept until the lake changes
the ``embeddings`` table: each search first reads the catalog's latest snapshot id (one tiny catalog query) and
only on a change looks whether that table was touched.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any
from uuid import UUID

import duckdb

from behest_lab.errors import BackendError
from behest_lab.records import EmbeddingRecord, ScoredEmbedding
from behest_lab.stores import tables
from behest_lab.stores._common import check_batch, check_type
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import Engine
from behest_lab.vectors import VectorIndex

_EMB = _sql.qualified("embeddings")


class LakeEmbeddingStore:
    """Embedding records of one lake with exact float32 cosine search."""

    def __init__(self, engine: Engine) -> None:
        self._e = engine
        self._index: VectorIndex | None = None
        self._index_snapshot = -1
        self._stamp: tuple[int, ...] | None = None
        self._stamp_snapshot = -1

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
        # one snapshot for both queries, so the counts match the streamed rows; ids as 16-byte Arrow UUIDs
        # (arrow_lossless_conversion) so no Python object is made per vector
        con = self._e.con
        try:
            con.execute("BEGIN TRANSACTION")
            try:
                rows = con.execute(f"SELECT dim, count(*) FROM {_EMB} GROUP BY dim").fetchall()
                con.execute("SET arrow_lossless_conversion = true")
                reader = con.execute(
                    "SELECT id, model, session_id, dim, vector_f32, metadata::VARCHAR AS metadata, created_at "
                    f"FROM {_EMB}"
                ).to_arrow_reader(20_000)
                index = VectorIndex.from_arrow(reader, {int(d): int(n) for d, n in rows})
            finally:
                con.execute("RESET arrow_lossless_conversion")
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
