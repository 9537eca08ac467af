"""The DuckDB side of the lake store: offline extensions, attaching the lake, transactions with retries.

A local lake folder holds ``catalog.sqlite`` (the DuckLake catalog; SQLite so that several processes can attach it
at once) and ``data/`` (Parquet files); a shared lake keeps its catalog in PostgreSQL and its files in S3-compatible
storage (see ``config.Location``). Every store owns one DuckDB connection with the lake attached under its own
alias; internal SQL always names tables ``<table>`` because ``store.sql`` puts same-named temp views in front.

Several machines writing one lake collide in ways a single machine rarely does, and each is retried here: the
first ATTACH of an empty PostgreSQL catalog by two processes at once (one loses with "Failed to initialize
DuckLake ... duplicate key"), concurrent ``CREATE TABLE`` (migrations; "has been created by another transaction"),
and delete/update against another host's commit ("Transaction conflict"): ``write`` re-runs the whole transaction.
Error text passes through ``Location.scrub`` so no credential ever reaches an exception.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import duckdb
import pyarrow as pa

from behest_lab.errors import (
    BackendError,
    BehestLabError,
    CommitConflictError,
    ConnectionFailedError,
    NoStoreError,
    ReadOnlyStoreError,
)

# re-exported: the folder layout's names are part of the engine's interface
from behest_lab.stores.lake.config import CATALOG_FILE as CATALOG_FILE
from behest_lab.stores.lake.config import DATA_DIR as DATA_DIR
from behest_lab.stores.lake.config import Location, local_location
from behest_lab.stores.lake.corruption import translate
from behest_lab.stores.lake.instances import EXTENSIONS as EXTENSIONS
from behest_lab.stores.lake.instances import REMOTE_EXTENSIONS as REMOTE_EXTENSIONS
from behest_lab.stores.lake.instances import SMALL_WRITE_OPTIMIZERS as SMALL_WRITE_OPTIMIZERS
from behest_lab.stores.lake.instances import install_lock as _install_lock
from behest_lab.stores.lake.instances import load_extensions as load_extensions
from behest_lab.stores.lake.instances import shared_instance as shared_instance
from behest_lab.stores.lake.instances import small_instance as small_instance
from behest_lab.stores.lake.locking import WriterLock
from behest_lab.stores.lake.reads import LastSeen, consistent
from behest_lab.stores.lake.retry import ATTACH_RETRYABLE, CONTENTION, FLUSH_RETRY, RETRYABLE, VAGUE_ATTEMPTS
from behest_lab.stores.lake.retry import RetryPolicy as RetryPolicy
from behest_lab.stores.lake.secrets import HeldSecrets
from behest_lab.stores.lake.seq import SEQ as SEQ
from behest_lab.stores.lake.seq import SeqClock as SeqClock

T = TypeVar("T")

_aliases = itertools.count()
# Catalog files this process has attached, with how many engines hold each (guarded by ``_install_lock``).
_attached: dict[Path, int] = {}
#: Small writes between automatic flushes of inlined rows (see ``Engine.flush_inlined``).
DEFAULT_FLUSH_EVERY = 500


# ATTACH with READ_ONLY or CREATE_IF_NOT_EXISTS false of a catalog that holds no lake
_NO_LAKE = re.compile(r"creating a new DuckLake is explicitly disabled", re.IGNORECASE)


def _use_wal(catalog: Path) -> None:
    """Put the SQLite catalog in WAL mode (persistent in the file).

    In SQLite's default rollback-journal mode a reader that still holds a result (a notebook iterating over a
    ``store.sql`` relation, another process scanning) blocks every commit with "database is locked"; with WAL,
    readers and the one committing writer proceed side by side.
    """
    con = sqlite3.connect(catalog, timeout=30)
    try:
        mode = con.execute("PRAGMA journal_mode").fetchone()
        if mode is None or str(mode[0]).lower() != "wal":
            con.execute("PRAGMA journal_mode=WAL")
    finally:
        con.close()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Engine:
    """One DuckDB connection with the lake attached, a lock, and transactions with retries.

    Secrets (``Location.setup``) are created in the process-wide instances under names derived from their content,
    so stores with different credentials share the instances without seeing each other's logins: the PostgreSQL
    password is picked by name in ATTACH, and S3 secrets are scoped to each lake's data path.

    Args:
        location: where the lake lives (a ``Path`` is the local folder layout).
        snapshot: attach this snapshot id read-only (time travel).
        as_of: attach the snapshot current at this time read-only.
        inlining_row_limit: inserts of at most this many rows stay inside the catalog (no Parquet file per write).
        retry: back-off policy for commit conflicts.
        create: allow creating the lake in an empty catalog (False: ``NoStoreError`` when there is none; time
            travel never creates one).
        flush_every: after this many small writes through this engine, flush the lake's inlined rows to Parquet
            (see ``flush_inlined``); None: only ``compact()`` flushes.
    """

    def __init__(
        self,
        location: Location | Path,
        *,
        snapshot: int | None = None,
        as_of: datetime | None = None,
        inlining_row_limit: int = 1000,
        retry: RetryPolicy | None = None,
        create: bool = True,
        flush_every: int | None = DEFAULT_FLUSH_EVERY,
    ) -> None:
        if flush_every is not None and flush_every < 1:
            raise ValueError(
                f"flush_every: must be at least 1 (or None to never flush automatically), got {flush_every}"
            )
        if isinstance(location, Path):
            location = local_location(location)
        self.location = location
        #: the local store folder (None for a shared lake)
        self.root: Path | None = location.root
        #: redacted text naming the lake
        self.description = location.description
        self.read_only = snapshot is not None or as_of is not None
        self.retry = retry or RetryPolicy()
        self.lock = threading.RLock()
        #: one committing writer at a time in a local store (``locking``); None for a shared lake or a time-travel view
        self._writer_lock = WriterLock(location.root) if location.root is not None and not self.read_only else None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._sql_con: duckdb.DuckDBPyConnection | None = None
        self.alias = f"behest_lake_{next(_aliases)}"
        # Session ids known to exist in snapshot ``_known_at`` (see ``known_sessions``).
        self._known: set[str] = set()
        self._known_at: int | None = None
        #: the newest snapshot id a read through this engine has seen (``reads.LastSeen``)
        self.seen = LastSeen()
        self._tx_snapshot: int | None = None
        self._tx_changed = False
        self._tx_new: set[str] = set()
        #: while set (only inside a ``write`` body, lock held), ``write`` runs bodies in this open transaction
        self.joined: duckdb.DuckDBPyConnection | None = None
        #: the DuckLake catalog database DuckDB attaches next to the lake (snapshot and file bookkeeping)
        self.meta = f"__ducklake_metadata_{self.alias}"
        self._snapshot = snapshot
        self._as_of = as_of
        self._inlining_row_limit = inlining_row_limit
        self._create = create
        self._small_con: duckdb.DuckDBPyConnection | None = None
        #: ATTACH tries the last attach needed (more than 1: it raced another process creating the catalog)
        self.attach_attempts = 0
        #: transactions re-run after a commit conflict, since the engine was opened (a diagnostic count)
        self.conflicts_retried = 0
        self.flush_every = flush_every
        self._small_writes = 0
        #: automatic flushes that were given up (a conflict or an error; the rows stay inlined until the next try)
        self.flushes_skipped = 0
        #: called after each committed write that is not ``small`` (bulk writes, flushes); must not raise
        #: (``maintenance.AutoMerger`` when automatic merging is on)
        self.after_write: Callable[[], None] | None = None
        catalog = location.catalog_file
        if catalog is not None:
            with _install_lock:
                # Python's sqlite3 is another copy of SQLite: closing its file descriptor would drop the POSIX
                # locks DuckDB's copy holds on the same file, so it only touches catalogs no engine here has
                # attached (those are in WAL mode already: the mode is stored in the file).
                if not self.read_only and not _attached.get(catalog):
                    try:
                        _use_wal(catalog)
                    except sqlite3.DatabaseError as exc:
                        translate(exc, catalog=catalog)
                        raise
        # the secrets this engine created, per instance, released by ``close``
        self._secrets = HeldSecrets()
        shared = shared_instance()
        con = shared.cursor()
        try:
            self._setup(con, shared)
        except BaseException as exc:
            # a lake that failed half-way (a damaged catalog) must not stay attached to the shared instance:
            # every later query of the instance would report it
            for name in (self.alias, self.meta):
                with contextlib.suppress(duckdb.Error):
                    con.execute(f"DETACH DATABASE IF EXISTS {name}")
            con.close()
            self._secrets.release(shared)
            translate(exc, catalog=catalog, scrub=self.scrub)
            raise
        self._con = con
        self._catalog = catalog
        #: the local catalog file, whose size and mtime change with every commit (None when the catalog is not a
        #: local file); readers use it to skip asking the catalog for the latest snapshot
        self.catalog_file: Path | None = catalog
        #: a local folder for derived data this process may keep between runs (never part of the lake itself;
        #: for a shared lake a per-user folder keyed by the redacted catalog URL and data path)
        self.cache_dir: Path = location.cache_dir
        if catalog is not None:
            with _install_lock:
                _attached[catalog] = _attached.get(catalog, 0) + 1

    def damaged(self, exc: BaseException) -> None:
        """Raise ``DataCorruptionError`` naming the file when ``exc`` reports a damaged store file.

        Returns otherwise. See ``corruption.translate``.
        """
        data_dir = None if self.root is None else self.root / DATA_DIR
        translate(exc, catalog=self.location.catalog_file, data_dir=data_dir, scrub=self.scrub)

    def scrub(self, text: str) -> str:
        """``text`` without any credential of this lake (see ``Location.scrub``)."""
        return self.location.scrub(text)

    def _setup(self, con: duckdb.DuckDBPyConnection, instance: duckdb.DuckDBPyConnection) -> None:
        """Session settings, then attach the lake as ``alias`` and make it the default database.

        Args:
            con: the cursor to set up.
            instance: the process-wide connection ``con`` is a cursor of (its secrets are instance-wide).
        """
        # TIMESTAMPTZ values come back in UTC and derived timestamps are built in UTC.
        con.execute("SET TimeZone = 'UTC'")
        # DuckLake's own commit retries are short; our outer loop (``write``) adds jittered back-off.
        con.execute("SET ducklake_retry_wait_ms = 5")
        con.execute("SET ducklake_max_retry_count = 20")
        location = self.location
        if location.extensions:
            load_extensions(con, names=location.extensions)
        setup = list(location.setup)
        if location.data_path is not None:
            setup.append(location.s3_secret(location.data_path) or "")
        self._create_secrets(con, instance, setup)
        target = _quote("ducklake:" + location.metadata)
        self._attach(con, f"ATTACH {target} AS {self.alias} ({', '.join(self._attach_options())})")
        if not self.read_only:
            # the inlining limit as this connection's setting, not an ATTACH option (which would take precedence):
            # a write holding NUL in nested text lowers it for its own insert (``_sql.files_for_nul``)
            con.execute(f"SET SESSION ducklake_default_data_inlining_row_limit = {int(self._inlining_row_limit)}")
        if location.data_path is None and location.s3_fields is not None:
            self._scope_s3_to_catalog_data_path(con, instance)
        con.execute(f"USE {self.alias}")

    def _attach_options(self) -> list[str]:
        """The options of the ``ATTACH`` statement: data path, snapshot of a time-travel view, or no creation."""
        location = self.location
        options = list(location.attach_options)
        if location.data_path is not None:
            options.append(f"DATA_PATH {_quote(location.data_path)}")
        if location.override_data_path:
            options.append("OVERRIDE_DATA_PATH TRUE")
        if self.read_only:
            options.append("READ_ONLY")
            if self._snapshot is not None:
                options.append(f"SNAPSHOT_VERSION {int(self._snapshot)}")
            elif self._as_of is not None:
                options.append(f"SNAPSHOT_TIME {_quote(self._as_of.isoformat())}")
        elif not self._create:
            options.append("CREATE_IF_NOT_EXISTS false")
        return options

    def _scope_s3_to_catalog_data_path(
        self, con: duckdb.DuckDBPyConnection, instance: duckdb.DuckDBPyConnection
    ) -> None:
        """Create the S3 secret for the data path the catalog names (a shared lake attached without DATA_PATH)."""
        row = con.execute(
            f"SELECT value FROM ducklake_options('{self.alias}') WHERE option_name = 'data_path'"
        ).fetchone()
        if row is not None and row[0]:
            self._create_secrets(con, instance, [self.location.s3_secret(str(row[0])) or ""])

    def _create_secrets(
        self, con: duckdb.DuckDBPyConnection, instance: duckdb.DuckDBPyConnection, statements: Sequence[str]
    ) -> None:
        def fail(exc: duckdb.Error) -> ConnectionFailedError:
            return ConnectionFailedError(
                "ducklake", f"cannot create the credentials for {self.description}: {self.scrub(str(exc))}"
            )

        self._secrets.create(con, instance, statements, fail)

    def _attach(self, con: duckdb.DuckDBPyConnection, statement: str) -> None:
        for attempt in range(1, self.retry.attempts + 1):
            self.attach_attempts = attempt
            try:
                con.execute(statement)
                return
            except duckdb.Error as exc:
                text = str(exc)
                if ATTACH_RETRYABLE.search(text) and attempt < self.retry.attempts:
                    # a failed ATTACH may leave the alias behind; the next try needs it free
                    for name in (self.alias, self.meta):
                        with contextlib.suppress(duckdb.Error):
                            con.execute(f"DETACH DATABASE IF EXISTS {name}")
                    time.sleep(self.retry.delay(attempt))
                    continue
                if _NO_LAKE.search(text):
                    raise NoStoreError("ducklake", f"no behest_lab store in {self.description}") from None
                translate(exc, catalog=self.location.catalog_file, scrub=self.scrub)
                raise ConnectionFailedError(
                    "ducklake", f"cannot attach the lake {self.description}: {self.scrub(text)}"
                ) from None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection; ``ConnectionFailedError`` after ``close``."""
        if self._con is None:
            raise ConnectionFailedError("ducklake", f"the store {self.description} is closed")
        return self._con

    @property
    def small_con(self) -> duckdb.DuckDBPyConnection:
        """The connection for small writes (see ``write``), created on first use.

        It is a cursor of ``small_instance()`` with the same lake attached under the same alias.
        """
        if self._con is None:
            raise ConnectionFailedError("ducklake", f"the store {self.description} is closed")
        if self._small_con is None:
            instance = small_instance()
            small = instance.cursor()
            try:
                self._setup(small, instance)
            except BaseException:
                small.close()
                self._secrets.release(instance)
                raise
            self._small_con = small
        return self._small_con

    @property
    def sql_con(self) -> duckdb.DuckDBPyConnection:
        """A second connection for ``store.sql`` (its temp views must not shadow the tables internal SQL uses)."""
        con = self.con
        if self._sql_con is None:
            self._sql_con = con.cursor()
            self._sql_con.execute("SET TimeZone = 'UTC'")
        return self._sql_con

    def close(self) -> None:
        """Detach the lake, close the connections and drop the secrets no other open engine uses (idempotent)."""
        with self.lock:
            if self._writer_lock is not None:
                self._writer_lock.close()
            if self._sql_con is not None:
                self._sql_con.close()
                self._sql_con = None
            if self._small_con is not None:
                small, self._small_con = self._small_con, None
                try:
                    small.execute("USE memory")
                    small.execute(f"DETACH {self.alias}")
                finally:
                    small.close()
                    self._secrets.release(small_instance())
            if self._con is not None:
                con, self._con = self._con, None
                try:
                    con.execute("USE memory")
                    con.execute(f"DETACH {self.alias}")
                finally:
                    con.close()
                    self._secrets.release(shared_instance())
                    if self._catalog is not None:
                        with _install_lock:
                            left = _attached.get(self._catalog, 1) - 1
                            if left > 0:
                                _attached[self._catalog] = left
                            else:
                                _attached.pop(self._catalog, None)

    # --- reads ---------------------------------------------------------------------------------------------

    def _read(self, run: Callable[[duckdb.DuckDBPyConnection], T], query: str) -> T:
        """``run(con)`` as a read that never misses committed rows (see ``reads.consistent``)."""
        with self.lock:
            con = self.con
            latest = (
                f"SELECT max(snapshot_id) FROM {self.meta}.ducklake_snapshot"
                if self.read_only
                else f"SELECT id FROM ducklake_current_snapshot('{self.alias}')"
            )
            try:
                return consistent(con, latest, self.meta, lambda: run(con), query[:80], self.seen)
            except duckdb.Error as exc:
                self.damaged(exc)
                raise BackendError("ducklake", self.scrub(str(exc))) from None

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        """Run ``query`` and return its rows as dicts."""

        def run(con: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
            cur = con.execute(query, params)
            names = [d[0] for d in cur.description or []]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        return self._read(run, query)

    def scalar(self, query: str, params: Sequence[Any] | None = None) -> Any:
        """The first column of the first row (None if there is no row)."""
        row = self._read(lambda con: con.execute(query, params).fetchone(), query)
        return None if row is None else row[0]

    def arrow(self, query: str, params: Sequence[Any] | None = None) -> pa.Table:
        """Run ``query`` and return an Arrow table."""
        return self._read(lambda con: con.execute(query, params).to_arrow_table(), query)

    def snapshot_id(self) -> int:
        """The id of the lake's latest (or, for a time-travel view, attached) snapshot."""
        with self.lock:
            try:
                row = self.con.execute(f"SELECT id FROM ducklake_current_snapshot('{self.alias}')").fetchone()
            except duckdb.Error as exc:
                raise BackendError("ducklake", self.scrub(str(exc))) from None
        if row is None:
            raise BackendError("ducklake", f"{self.description}: the catalog names no current snapshot")
        return int(row[0])

    # --- writes --------------------------------------------------------------------------------------------

    def check_writable(self) -> None:
        """``ReadOnlyStoreError`` on a time-travel view."""
        if self.read_only:
            raise ReadOnlyStoreError(f"the store {self.description} is opened read-only at a past snapshot")

    def write(
        self,
        body: Callable[[duckdb.DuckDBPyConnection], T],
        what: str,
        *,
        small: bool = False,
        retry: RetryPolicy | None = None,
    ) -> T:
        """Run ``body(con)`` inside one DuckLake transaction and commit it, retrying on conflicts.

        ``body`` may raise a ``BehestLabError`` (for example ``NotFoundError`` after a failed check): the
        transaction is rolled back and the error propagates unchanged. Conflicting commits are retried with
        back-off and jitter (the WHOLE transaction, ``body`` included, so a delete or update that lost against
        another host's commit is redone on the new state); after ``retry.attempts`` tries ``CommitConflictError``
        is raised. Any other engine
        error becomes ``BackendError``; nothing is applied in every failure case.

        Args:
            body: statements of the transaction; its return value is returned.
            what: a short description stored as the snapshot's commit message.
            small: a write of one row or so: run it on ``small_con`` (single-threaded, much cheaper per statement).
                Bulk writes and maintenance stay on ``con``, whose threads speed up writing Parquet files.
            retry: the back-off policy for this write (default: the engine's).
        """
        self.check_writable()
        policy = retry or self.retry
        with self.lock:
            if self.joined is not None:  # a step of a larger transaction (``batches.write_batch``)
                return body(self.joined)
            con = self.small_con if small else self.con
            last = ""
            for attempt in range(1, policy.attempts + 1):
                try:
                    with self._writer_lock.held() if self._writer_lock is not None else contextlib.nullcontext():
                        con.execute("BEGIN TRANSACTION")
                        self._begin_tx(con)
                        result = body(con)
                        con.execute(f"CALL {self.alias}.set_commit_message('behest_lab', ?)", [what])
                        con.execute("COMMIT")
                    self._committed()
                except (BehestLabError, ValueError, TypeError):
                    # a refused value (a record's validation error) as well: the transaction must not stay open
                    self._rollback(con)
                    raise
                except duckdb.Error as exc:
                    self._rollback(con)
                    last = self._failed_attempt(exc, what, attempt)
                else:
                    # committed: housekeeping runs outside the handlers above, so it can never re-run the body
                    if small:
                        self._after_small_write()
                    elif self.after_write is not None:
                        self.after_write()
                    return result
                if attempt < policy.attempts:
                    self.conflicts_retried += 1
                    time.sleep(policy.delay(attempt))
            raise CommitConflictError(policy.attempts, f"{what}: {last}")

    def _failed_attempt(self, exc: duckdb.Error, what: str, attempt: int) -> str:
        """The scrubbed text of ``exc`` from a rolled-back try of ``write`` when another try is worth it; else raise.

        ``DataCorruptionError`` for a damaged file, ``BackendError`` for no conflict at all, ``CommitConflictError`` for
        a vague conflict that lasted ``VAGUE_ATTEMPTS`` tries.
        """
        last = self.scrub(str(exc))
        self.damaged(exc)
        if not RETRYABLE.search(last):
            raise BackendError("ducklake", f"{what}: {last}") from None
        if attempt >= VAGUE_ATTEMPTS and not CONTENTION.search(last):
            raise CommitConflictError(attempt, f"{what}: {last}") from None
        return last

    # --- inlined rows -------------------------------------------------------------------------------------------
    #
    # Small writes keep their rows inside the catalog (no Parquet file per message), and DuckLake reads every
    # inlined row of a table on each query of it: after 3,000 single writes one session's read took about twice as
    # long with the rows left inlined as with them flushed every 500 writes (bench/bench_store.py, a live store).
    # Flushing keeps that bounded between compactions at the cost of one small file per flush (``compact`` merges
    # them).

    def _after_small_write(self) -> None:
        self._small_writes += 1
        if self.flush_every is not None and self._small_writes >= self.flush_every:
            self._small_writes = 0
            try:
                self.flush_inlined(retry=FLUSH_RETRY)
            except (CommitConflictError, BackendError):
                # the write itself has committed; another writer is busy (or flushing): try again next time
                self.flushes_skipped += 1

    def flush_inlined(self, *, retry: RetryPolicy | None = None) -> None:
        """Move every table's inlined rows into Parquet files (one commit; what ``compact`` does first)."""

        def body(con: duckdb.DuckDBPyConnection) -> None:
            con.execute(f"CALL ducklake_flush_inlined_data('{self.alias}')").fetchall()
            self.changed()

        self.write(body, "flush inlined rows", retry=retry)

    # --- sessions known to exist ------------------------------------------------------------------------------
    #
    # Checking that a session exists scans the ``sessions`` table: four or five catalog queries, 4-9 ms, a third
    # of a single append. Writes therefore remember the session ids they have seen, tagged with the lake snapshot
    # they were seen in. DuckLake numbers snapshots consecutively, so a transaction that starts from snapshot N may
    # trust the ids known in N; after a commit known to have changed something the ids stay valid for N + 1, which
    # is our own snapshot exactly when no other writer committed in between. Any other snapshot (a commit by
    # another process or store, a compaction, our commit being retried behind another one) empties the set.
    # Deleting a session forgets it at once. The check thus sees the same state a scan inside the transaction
    # would: a session deleted by a concurrent commit after our transaction began is missed either way.

    def _begin_tx(self, con: duckdb.DuckDBPyConnection) -> None:
        row = con.execute(f"SELECT id FROM ducklake_current_snapshot('{self.alias}')").fetchone()
        self._tx_snapshot = None if row is None else int(row[0])
        self._tx_changed = False
        self._tx_new = set()
        if self._tx_snapshot is None or self._tx_snapshot != self._known_at:
            self._known.clear()
            self._known_at = self._tx_snapshot

    def _committed(self) -> None:
        if self._tx_snapshot is None:
            self._known.clear()
            self._known_at = None
            return
        self._known |= self._tx_new
        # without a certain change the commit may or may not have made a snapshot: stay at N, so that either
        # outcome other than "nothing happened anywhere" empties the set on the next write
        self._known_at = self._tx_snapshot + 1 if self._tx_changed else self._tx_snapshot

    def changed(self) -> None:
        """Record that the current write transaction changed rows (so its commit makes a new snapshot)."""
        self._tx_changed = True

    def known_sessions(self, session_ids: Sequence[str]) -> set[str]:
        """Those of ``session_ids`` that exist in the current write transaction's snapshot as far as remembered.

        Only call inside ``write``'s body; ids not returned may exist all the same (check them with a scan, then
        ``remember_sessions``).
        """
        return {s for s in session_ids if s in self._known}

    def remember_sessions(self, session_ids: Sequence[str]) -> None:
        """Session ids seen in, or created by, the current write transaction (trusted once it commits)."""
        self._tx_new.update(session_ids)

    def forget_sessions(self, session_ids: Sequence[str]) -> None:
        """Session ids being deleted: never trusted again until seen anew."""
        self._known.difference_update(session_ids)
        self._tx_new.difference_update(session_ids)

    @staticmethod
    def _rollback(con: duckdb.DuckDBPyConnection) -> None:
        try:
            con.execute("ROLLBACK")
        except duckdb.Error:
            # no transaction open (BEGIN itself failed, or COMMIT already ended it)
            return

    @contextmanager
    def registered(self, con: duckdb.DuckDBPyConnection, name: str, table: pa.Table) -> Iterator[str]:
        """Expose an Arrow table to SQL as ``name`` for the duration of the block."""
        con.register(name, table)
        try:
            yield name
        finally:
            con.unregister(name)
