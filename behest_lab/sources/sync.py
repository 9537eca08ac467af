"""``sync(source, store)``: copy a behest backend into a store, then keep it up to date with what changed.

Each run asks the source for its fingerprints (``Source.fingerprints``: one id and hash per row) and compares them
with the fingerprints kept in the store's ``provenance`` table for that source's location:

* rows the store has no fingerprint for are **new** (written; a record whose id the store already holds, for
  example from an earlier ``import behest-sqlite``, replaces the stored one);
* rows whose hash differs are **changed in place** (behest's ``update_usage``, ``update_session``, an execution
  recorded again when it finished): the stored record is replaced;
* rows the store has a fingerprint for that the source no longer holds are **deleted** there (behest's cascading
  ``delete_session``): reported, and removed from the store with ``mirror_deletes=True``.

A source that also gives per-session digests (``base.SessionDigests``: SQLite, PostgreSQL, MySQL) is first compared
session by session (``_digests``): only the sessions whose digest differs from the sums of the kept fingerprints are
listed row by row. Since the digests come from the same kept rows every run, a run killed part-way leaves nothing
to reconcile: the sessions it did not finish still differ next time.

Only sessions holding new or changed rows are read and decoded. Records are written in batches with
``Store.write_batch``; each batch carries its new records, its replacements, its deletions and the provenance rows
(with fingerprints) of every record in it, in one commit. A run killed at any point therefore leaves whole
batches whose fingerprints match what they hold, and the next run finds exactly the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from behest_lab.errors import SourceError
from behest_lab.interchange.bundle import Bundle
from behest_lab.records import Provenance
from behest_lab.sources._digests import digest_diff, stored_digests
from behest_lab.sources.base import TABLES, SessionDigests, Source, Want
from behest_lab.stores.protocols import Record, Store

#: Records per commit.
DEFAULT_BATCH_ROWS = 20_000
_KEEP_BAD = 100


@dataclass
class SyncReport:
    """What one ``sync`` run found and did.

    Attributes:
        source: The kind of source.
        location: The source, without secrets.
        new: Rows written for the first time, per table.
        updated: Rows changed in the source and replaced in the store, per table.
        deleted: Rows the store holds that the source no longer has, per table (removed only with
            ``mirror_deletes``).
        removed: Of those, rows removed from the store (``mirror_deletes=True``), per table.
        unchanged: Rows whose fingerprint matched: not read.
        bad: Rows skipped because they do not decode (``skip_bad=True``).
        bad_rows: The first 100 of them, as the errors that describe them.
        commits: Batches written.
        seconds: Wall-clock time of the run.
    """

    source: str
    location: str
    new: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    updated: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    deleted: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    removed: dict[str, int] = field(default_factory=lambda: dict.fromkeys(TABLES, 0))
    unchanged: int = 0
    bad: int = 0
    bad_rows: list[SourceError] = field(default_factory=list)
    commits: int = 0
    seconds: float = 0.0

    @property
    def changed(self) -> int:
        """Rows written or replaced, all tables together."""
        return sum(self.new.values()) + sum(self.updated.values())

    def status(self) -> str:
        """One line: new, updated, deleted, bad and unchanged rows."""
        deleted = sum(self.deleted.values())
        gone = f", {sum(self.removed.values())} removed" if any(self.removed.values()) else ""
        return (
            f"{self.source} {self.location}: {sum(self.new.values())} new, {sum(self.updated.values())} updated, "
            f"{deleted} deleted in source{gone}, {self.bad} bad, {self.unchanged} unchanged ({self.seconds:.2f} s)"
        )

    def __str__(self) -> str:
        """The status line, then counts per table and the first skipped rows."""
        lines = [self.status()]
        for table in TABLES:
            counts = (self.new[table], self.updated[table], self.deleted[table], self.removed[table])
            if any(counts):
                lines.append(
                    f"  {table}: {counts[0]} new, {counts[1]} updated, {counts[2]} deleted, {counts[3]} removed"
                )
        lines += [f"  skipped: {e}" for e in self.bad_rows[:20]]
        return "\n".join(lines)


_DIFF = """
WITH cur AS (SELECT DISTINCT ON ("table", id) "table", id, session_id, fp FROM _fp),
old AS (SELECT "table", id, fp FROM _state)
SELECT c."table", c.id, c.session_id, c.fp, o.id IS NULL AS is_new
FROM cur AS c LEFT JOIN old AS o ON o."table" = c."table" AND o.id = c.id
WHERE o.id IS NULL OR o.fp IS DISTINCT FROM c.fp
"""
_GONE = """
SELECT o."table", o.id FROM _state AS o ANTI JOIN _fp AS c ON o."table" = c."table" AND o.id = c.id
"""


#: Rows are compared in buckets (a hash of table and id): first one digest per bucket on each side, computed where
#: the rows are, then row by row only in the buckets whose digests differ. An idle run moves a few thousand numbers
#: instead of every kept fingerprint.
_BUCKETS = 1 << 16
_BUCKET = f'hash("table", {{id}}) % {_BUCKETS}'
_DIGESTS = (
    'SELECT {bucket} AS b, count(*) AS n, bit_xor(hash("table", {id}, {fp})) AS x FROM {source} {where} GROUP BY 1'
)
# buckets and digests hash the id as a UUID on both sides: the store's column as it is, the source's text cast
_STORED_ID = "record_id"
_SOURCE_ID = "TRY_CAST(id AS UUID)"


def _changed_buckets(store: Store, con: duckdb.DuckDBPyConnection, location: str) -> tuple[list[int], int]:
    """Buckets whose rows differ between the source and the store, and the count of rows kept for ``location``.

    The source's fingerprints are ``_all`` on ``con``; the store's are the ones kept with its provenance.
    """
    stored = store.sql(
        _DIGESTS.format(
            bucket=_BUCKET.format(id=_STORED_ID),
            id=_STORED_ID,
            fp="fingerprint",
            source="provenance",
            where="WHERE location = ?",
        ),
        [location],
    ).to_arrow_table()
    con.register("_stored", stored)
    current = _DIGESTS.format(bucket=_BUCKET.format(id=_SOURCE_ID), id=_SOURCE_ID, fp="fp", source="_all", where="")
    rows = con.execute(
        f"SELECT coalesce(c.b, s.b) FROM ({current}) AS c FULL JOIN _stored AS s ON c.b = s.b "
        "WHERE c.n IS DISTINCT FROM s.n OR c.x IS DISTINCT FROM s.x"
    ).fetchall()
    kept = con.execute("SELECT coalesce(sum(n), 0) FROM _stored").fetchone()
    return [int(r[0]) for r in rows], int(kept[0]) if kept else 0


def _state(store: Store, location: str, buckets: list[int]) -> pa.Table:
    """The kept fingerprints of ``location`` in ``buckets``."""
    rel = store.sql(
        f'SELECT "table", CAST(record_id AS VARCHAR) AS id, fingerprint AS fp FROM provenance WHERE location = ? '
        f"AND {_BUCKET.format(id=_STORED_ID)} IN (SELECT unnest(?::UBIGINT[]))",
        [location, buckets],
    )
    return rel.to_arrow_table()


def _existing(store: Store, table: str, ids: list[str]) -> set[str]:
    """Which of ``ids`` the store's ``table`` holds already (an empty table, as in most first syncs: none)."""
    if not ids or store.sql(f"SELECT 1 FROM {table} LIMIT 1").fetchone() is None:
        return set()
    rows = store.sql(
        f"SELECT CAST(id AS VARCHAR) FROM {table} WHERE id IN (SELECT TRY_CAST(unnest(?::VARCHAR[]) AS UUID))", [ids]
    ).fetchall()
    return {r[0] for r in rows}


class _Batch:
    """Records of one commit: new ones, replacements, provenance rows with fingerprints."""

    def __init__(self) -> None:
        self.new: dict[str, list[Any]] = {t: [] for t in TABLES}
        self.replace: list[Record] = []
        self.provenance: list[Provenance] = []
        self.fingerprints: list[int | None] = []
        self.size = 0

    def write(self, store: Store, delete: list[tuple[str, UUID]]) -> None:
        store.write_batch(
            sessions=self.new["sessions"],
            messages=self.new["messages"],
            executions=self.new["tool_executions"],
            usages=self.new["usage_records"],
            embeddings=self.new["embeddings"],
            artifacts=self.new["artifacts"],
            touch_sessions=False,
            replace=self.replace,
            delete=delete,
            provenance=self.provenance,
            fingerprints=self.fingerprints,
        )


def _records(bundle: Bundle) -> Iterable[tuple[str, Any]]:
    if bundle.session is not None:
        yield "sessions", bundle.session
    for table, records in (
        ("messages", bundle.messages),
        ("tool_executions", bundle.executions),
        ("usage_records", bundle.usage),
        ("embeddings", bundle.embeddings),
        ("artifacts", bundle.artifacts),
    ):
        for r in records:
            yield table, r


def sync(
    source: Source | str,
    store: Store,
    *,
    mirror_deletes: bool = False,
    skip_bad: bool = False,
    progress: Callable[[SyncReport], None] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
) -> SyncReport:
    """Bring ``store`` up to date with ``source`` (see the module docstring): idempotent, incremental, resumable.

    Args:
        source: A ``Source``, or a URL or path for ``open_source`` (opened and closed here).
        store: The target store.
        mirror_deletes: Remove from the store the rows the source no longer holds (else only count them).
        skip_bad: Skip and count rows that do not decode instead of stopping at the first.
        progress: Called with the report so far after each commit.
        batch_rows: Records per commit.

    Returns:
        What was new, updated, deleted, bad and unchanged.

    Raises:
        SourceError: The source cannot be read, or (without ``skip_bad``) a row does not decode; the batches
            written before stay, and the next run goes on from there.
    """
    if batch_rows < 1:
        raise ValueError("batch_rows must be at least 1")
    if isinstance(source, str):
        from behest_lab.sources import open_source

        opened = open_source(source)
        try:
            return sync(
                opened,
                store,
                mirror_deletes=mirror_deletes,
                skip_bad=skip_bad,
                progress=progress,
                batch_rows=batch_rows,
            )
        finally:
            opened.close()
    started = time.perf_counter()
    report = SyncReport(source=source.kind, location=source.location)
    con = duckdb.connect()
    try:
        todo: list[Any] = []
        gone: list[Any] = []
        if isinstance(source, SessionDigests) and (digests := stored_digests(store, source.location)).num_rows:
            # per-session digests: only the sessions whose digest changed are listed row by row
            kept = int(pc.sum(digests["n"]).as_py() or 0)
            current, state, total = digest_diff(source, store, source.location, digests, con)
            con.register("_fp", current)
            con.register("_state", state)
            todo = con.execute(_DIFF).fetchall()
            gone = con.execute(_GONE).fetchall()
            report.unchanged = total - len(todo)
        else:
            todo, gone, kept = _bucket_diff(source, store, con, report)
    finally:
        con.close()
    for table, _ in gone:
        report.deleted[table] += 1
    if todo:
        _copy(
            source,
            store,
            report,
            todo,
            first=kept == 0,
            skip_bad=skip_bad,
            progress=progress,
            batch_rows=batch_rows,
        )
    if gone and mirror_deletes:
        delete = [(t, UUID(i)) for t, i in gone]
        for i in range(0, len(delete), batch_rows):
            _Batch().write(store, delete[i : i + batch_rows])
            report.commits += 1
        for table, _ in gone:
            report.removed[table] += 1
    report.seconds = time.perf_counter() - started
    if progress is not None:
        progress(report)
    return report


def _bucket_diff(
    source: Source, store: Store, con: duckdb.DuckDBPyConnection, report: SyncReport
) -> tuple[list[Any], list[Any], int]:
    """Rows new or changed and rows gone, found by comparing all of the source's fingerprints, bucket by bucket.

    Returns ``(todo, gone, kept)``: ``kept`` is the count of fingerprints kept for the source before this run.
    """
    prints = source.fingerprints()
    con.register("_all", prints)
    buckets, kept = _changed_buckets(store, con, source.location)
    todo: list[Any] = []
    gone: list[Any] = []
    if buckets:
        state = _state(store, source.location, buckets)
        con.execute(
            f"CREATE TEMP TABLE _fp AS SELECT * FROM _all WHERE {_BUCKET.format(id=_SOURCE_ID)} "
            "IN (SELECT unnest(?::UBIGINT[]))",
            [buckets],
        )
        con.register("_state", state)
        todo = con.execute(_DIFF).fetchall()
        gone = con.execute(_GONE).fetchall()
    report.unchanged = prints.num_rows - len(todo)
    return todo, gone, kept


def _copy(
    source: Source,
    store: Store,
    report: SyncReport,
    todo: list[tuple[str, str, str | None, int, bool]],
    *,
    first: bool,
    skip_bad: bool,
    progress: Callable[[SyncReport], None] | None,
    batch_rows: int,
) -> None:
    wanted, rows, sessions = _index(todo)
    # "new" rows whose id the store already holds (imported before, or synced from another location) replace it
    stored = {table: _existing(store, table, [i for i in ids if wanted[(table, i)][1]]) for table, ids in rows.items()}
    want = None if first else Want(sessions=frozenset(sessions), rows={t: frozenset(v) for t, v in rows.items()})
    batch = _Batch()
    for bundle in source.read(want, _bad_row_handler(report, skip_bad=skip_bad)):
        _collect(source, bundle, wanted, stored, batch, report)
        if batch.size >= batch_rows:
            batch.write(store, [])
            report.commits += 1
            batch = _Batch()
            if progress is not None:
                progress(report)
    if batch.size:
        batch.write(store, [])
        report.commits += 1


def _index(
    todo: list[tuple[str, str, str | None, int, bool]],
) -> tuple[dict[tuple[str, str], tuple[int, bool]], dict[str, set[str]], set[str]]:
    """``todo`` as ``(table, id) -> (fingerprint, is_new)``, the ids per table, and the session ids it names."""
    wanted: dict[tuple[str, str], tuple[int, bool]] = {}
    rows: dict[str, set[str]] = {}
    sessions: set[str] = set()
    for table, id, sid, fp, is_new in todo:
        wanted[(table, id)] = (fp, is_new)
        rows.setdefault(table, set()).add(id)
        if sid is not None:
            sessions.add(sid)
    return wanted, rows, sessions


def _bad_row_handler(report: SyncReport, *, skip_bad: bool) -> Callable[[SourceError], None]:
    """The ``on_bad`` of a sync: raise the error, or (with ``skip_bad``) count it and keep the first ones."""

    def on_bad(error: SourceError) -> None:
        if not skip_bad:
            raise error
        report.bad += 1
        if len(report.bad_rows) < _KEEP_BAD:
            report.bad_rows.append(error)

    return on_bad


def _collect(
    source: Source,
    bundle: Bundle,
    wanted: dict[tuple[str, str], tuple[int, bool]],
    stored: dict[str, set[str]],
    batch: _Batch,
    report: SyncReport,
) -> None:
    """Move the records of ``bundle`` that ``wanted`` still lists into ``batch``, with provenance and fingerprint.

    A record is new unless the store holds its id already (then, like a changed record, it replaces the stored one).
    """
    origin = {(p.table, p.record_id): p for p in bundle.provenance}
    for table, record in _records(bundle):
        key = (table, str(record.id))
        hit = wanted.pop(key, None)
        if hit is None:
            continue  # unchanged, or written after the fingerprints were taken (the next run takes it)
        fp, is_new = hit
        if is_new and key[1] not in stored.get(table, set()):
            batch.new[table].append(record)
            report.new[table] += 1
        else:
            batch.replace.append(record)
            report.updated[table] += 1
        p = origin.get((table, record.id)) or Provenance.model_construct(
            record_id=record.id,
            table=table,
            source=source.kind,
            location=source.location,
            ref=f"{table}:{record.id}",
        )
        batch.provenance.append(p)
        batch.fingerprints.append(fp)
        batch.size += 1


__all__ = ["DEFAULT_BATCH_ROWS", "SyncReport", "sync"]
