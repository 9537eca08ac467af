"""The persistent backend.

A DuckLake lakehouse (catalog + Parquet files) queried through DuckDB.

A local store folder holds ``catalog.sqlite`` and ``data/``; a shared store (``open_lake(StoreConfig(...))``) keeps
its catalog in PostgreSQL and its files in S3-compatible storage, so processes on several machines use one lake.
Several processes may open the same store: readers see every committed write, writers retry conflicting commits
(``CommitConflictError`` when they keep failing). Every write method is one DuckLake transaction; small writes are
inlined into the catalog and ``compact()`` turns them into sorted Parquet files. ``open_lake(path, snapshot=N)`` or
``as_of=datetime`` opens a read-only view of the past.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from uuid import UUID

import duckdb

from behest_lab.errors import ConnectionFailedError, NoStoreError
from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    Provenance,
    Session,
    ToolExecution,
    UsageRecord,
)
from behest_lab.stores.lake import _sql, batches
from behest_lab.stores.lake.artifacts import LakeArtifactStore, delete_session_artifacts
from behest_lab.stores.lake.config import (
    CATALOG_FILE,
    DATA_DIR,
    AutoMerge,
    S3Options,
    StoreConfig,
    local_location,
    remote_location,
)
from behest_lab.stores.lake.embeddings import LakeEmbeddingStore
from behest_lab.stores.lake.engine import DEFAULT_FLUSH_EVERY, Engine, RetryPolicy
from behest_lab.stores.lake.executions import LakeExecutionStore
from behest_lab.stores.lake.maintenance import (
    DEFAULT_KEEP,
    AutoMerger,
    CompactionReport,
    Snapshot,
    compact,
    snapshots,
)
from behest_lab.stores.lake.migrations import migrate
from behest_lab.stores.lake.reads import consistent
from behest_lab.stores.lake.sessions import LakeSessionStore
from behest_lab.stores.protocols import TEMP_PREFIXES, Record, Store

__all__ = [
    "AutoMerge",
    "CompactionReport",
    "LakeArtifactStore",
    "LakeEmbeddingStore",
    "LakeExecutionStore",
    "LakeSessionStore",
    "LakeStore",
    "RetryPolicy",
    "S3Options",
    "Snapshot",
    "StoreConfig",
    "open_lake",
]

T = TypeVar("T")

#: The tables ``store.sql`` exposes under their plain names.
SQL_TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts", "provenance")


class LakeStore(Store):
    """The four lake stores over one DuckDB connection (see ``open_lake``)."""

    backend = "lake"

    def __init__(self, engine: Engine) -> None:
        """Create it (see the class docstring)."""
        self._engine = engine
        self.embeddings: LakeEmbeddingStore
        super().__init__(
            LakeSessionStore(engine),
            LakeEmbeddingStore(engine),
            LakeArtifactStore(engine),
            LakeExecutionStore(engine),
        )
        self._views = False

    @property
    def path(self) -> Path:
        """The store folder of a local store; ``AttributeError`` for a shared one (see ``location``)."""
        root = self._engine.root
        if root is None:
            raise AttributeError(f"a shared store has no local folder; its location is {self.location}")
        return root

    @property
    def location(self) -> str:
        """Where the store lives, without credentials: the folder, or ``<catalog URL> + <data path>``."""
        return self._engine.description

    def __repr__(self) -> str:
        """A short description for the REPL."""
        view = " read-only" if self.read_only else ""
        return f"<LakeStore backend={self.backend!r}{view} location={self.location!r}>"

    @property
    def read_only(self) -> bool:
        """True for a time-travel view."""
        return self._engine.read_only

    @property
    def snapshot_id(self) -> int:
        """The id of the snapshot this store currently sees (the latest one unless opened at a past snapshot)."""
        return self._engine.snapshot_id()

    def delete_session(self, id: UUID) -> None:
        """Delete the session and all its messages, executions, usage, embeddings and artifacts in ONE commit."""
        sid = str(id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            self._engine.forget_sessions([sid])
            for table in ("messages", "tool_executions", "usage_records", "embeddings"):
                _sql.delete_ids(con, table, [sid], "session_id")
            delete_session_artifacts(con, sid)
            _sql.delete_ids(con, "sessions", [sid])

        self._engine.write(body, f"delete_session {sid} (cascade)")

    def write_batch(
        self,
        *,
        sessions: Sequence[Session] = (),
        messages: Sequence[MessageRecord] = (),
        executions: Sequence[ToolExecution] = (),
        usages: Sequence[UsageRecord] = (),
        embeddings: Sequence[EmbeddingRecord] = (),
        artifacts: Sequence[Artifact] = (),
        touch_sessions: bool = True,
        replace: Sequence[Record] = (),
        delete: Sequence[tuple[str, UUID]] = (),
        provenance: Sequence[Provenance] = (),
        fingerprints: Sequence[int | None] = (),
    ) -> None:
        """Write records of several tables in ONE commit (see ``Store.write_batch`` and ``batches``)."""
        batches.write_batch(
            self,
            self._engine,
            sessions=sessions,
            messages=messages,
            executions=executions,
            usages=usages,
            embeddings=embeddings,
            artifacts=artifacts,
            touch_sessions=touch_sessions,
            replace=replace,
            delete=delete,
            provenance=provenance,
            fingerprints=fingerprints,
        )

    def sql(self, query: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation for ``query``.

        Plain table names (``sessions``, ``messages``, ``tool_executions``, ``usage_records``, ``embeddings``,
        ``artifacts``, ``provenance``) are views over the lake (``sessions.updated_at`` included as the stores
        return it). Similarity functions join with anything, e.g. ``list_cosine_similarity(vector, [..])`` or
        ``array_cosine_similarity(vector::FLOAT[384], ?)``.

        Raises:
            duckdb.Error: the query does not parse or bind (the DuckDB class, its text with every credential of a
                shared store replaced by ``***``). Errors while fetching rows come from the relation unchanged.
        """
        with self._engine.lock:
            con = self._engine.sql_con
            if not self._views:
                prefix = f"{self._engine.alias}.main."
                for name in SQL_TABLES:
                    body = (
                        _sql.sessions_select(prefix=prefix) if name == "sessions" else f"SELECT * FROM {prefix}{name}"
                    )
                    con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS {body}")
                self._views = True
            try:
                return con.sql(query, params=params)
            except duckdb.Error as exc:
                # the same exception class (callers tell CatalogException etc. apart), minus any credential
                text = self._engine.scrub(str(exc))
                if text == str(exc):
                    raise
                raise type(exc)(text) from None

    def _consistent_read(self, run: Callable[[], T], what: str, query: str | None = None) -> T:
        """``run()``, a read through ``sql`` that fetches its rows, as one consistent read of the lake.

        It runs again until no commit that moved rows landed while it ran (``reads.consistent``): ``query``,
        ``temp_table`` and ``session_scope`` never miss committed rows while other processes flush or compact.
        A ``query`` that reads only ``temp_table`` and ``session_scope`` rows (read consistently when they were
        made) runs as it is: those hold no lake files that a commit could move.
        """
        engine = self._engine
        if query is not None and _reads_temp_only(engine.sql_con, query):
            with engine.lock:
                return run()
        # the newest committed snapshot read straight from the catalog: one small catalog query (about 2 ms on a
        # local store), where ducklake_current_snapshot() costs tens of ms per call
        latest = f"SELECT max(snapshot_id) FROM {engine.meta}.ducklake_snapshot"
        with engine.lock:
            return consistent(engine.sql_con, latest, engine.meta, run, what[:80], engine.seen)

    def _scoped_select(self, table: str, match: str, pinned: Mapping[str, str]) -> str:
        """``Store._scoped_select``; ``sessions`` derives ``updated_at`` from the messages already pinned.

        The ``sessions`` view derives ``updated_at`` from a per-session aggregate over every message; the scope's
        own copy of these sessions' messages (pinned first, in the same consistent read) holds all it needs.
        """
        if table != "sessions" or "messages" not in pinned:
            return super()._scoped_select(table, match, pinned)
        return _sql.sessions_select(
            where=f"s.id {match}", prefix=f"{self._engine.alias}.main.", messages=pinned["messages"]
        )

    def compact(self, keep: timedelta = DEFAULT_KEEP) -> CompactionReport:
        """Flush inlined rows, merge small files, expire snapshots older than ``keep``, delete unused files.

        Safe while other processes read or write. See ``maintenance.compact``.
        """
        with self._engine.lock:
            return compact(self._engine, keep)

    def snapshots(self) -> list[Snapshot]:
        """The lake's kept snapshots, oldest first (``Snapshot``: ``id``, ``time``, ``changes``, ``message``)."""
        return snapshots(self._engine)

    def close(self) -> None:
        """Release the DuckDB connection (idempotent)."""
        self._engine.close()


def _reads_temp_only(con: duckdb.DuckDBPyConnection, query: str) -> bool:
    """Whether every table ``query`` names is a ``temp_table`` or ``session_scope`` table (DuckDB's parser says).

    Only a query that mentions such a table is parsed: parsing costs as much as planning (tens of ms for a query
    carrying a price table), where the text test costs nothing.
    """
    if not any(prefix in query for prefix in TEMP_PREFIXES):
        return False
    try:
        names = con.get_table_names(query)
    except duckdb.Error:
        return False  # run under the guard, which reports the error
    return all(name.startswith(TEMP_PREFIXES) for name in names)


def _prepare_folder(root: Path, *, create: bool) -> None:
    if root.exists() and not root.is_dir():
        raise ConnectionFailedError("ducklake", f"{root} is a file, not a store folder")
    if (root / CATALOG_FILE).is_file():
        return
    if root.is_dir() and any(root.iterdir()):
        found = ", ".join(sorted(p.name for p in root.iterdir())[:5])
        raise ConnectionFailedError(
            "ducklake", f"{root} is not a behest_lab store: it has no {CATALOG_FILE} but holds other files ({found})"
        )
    if not create:
        raise NoStoreError("ducklake", f"no behest_lab store in {root} (no {CATALOG_FILE})")
    (root / DATA_DIR).mkdir(parents=True, exist_ok=True)


def open_lake(
    path: str | os.PathLike[str] | StoreConfig,
    *,
    snapshot: int | None = None,
    as_of: datetime | None = None,
    inlining_row_limit: int | None = None,
    retry: RetryPolicy | None = None,
    create: bool = True,
    flush_every: int | None = DEFAULT_FLUSH_EVERY,
    auto_merge: AutoMerge | None = AutoMerge(),  # noqa: B008 -- frozen settings, never mutated
) -> LakeStore:
    """Open (or create) the lake store in folder ``path``, or the shared store a ``StoreConfig`` describes.

    Args:
        path: the store folder; created with an empty lake when missing or empty. Relative paths are resolved
            against the current directory once, at open. A ``StoreConfig`` with a ``postgresql://`` catalog opens
            (or, on an empty database, creates) the shared store; several processes may do so at once.
        snapshot: open this snapshot id read-only (writes raise ``ReadOnlyStoreError``).
        as_of: open the snapshot current at this (timezone-aware) time read-only.
        inlining_row_limit: inserts up to this many rows are kept inside the catalog until ``compact()``
            (default: the config's, else 1000).
        retry: commit-conflict retry policy (default: ``RetryPolicy()``).
        create: allow creating a new store (False: the folder, or the catalog database, must hold one already;
            always False for time travel).
        flush_every: after this many single writes (``append_message``, ``create_session``, ...) through this
            store, move the rows they left inlined in the catalog into a Parquet file; every query of a table reads
            all its inlined rows, so this keeps reads fast between compactions. None: only ``compact()`` flushes.
        auto_merge: after each bulk write or flush through this store, merge a table's small Parquet files once
            it holds more than ``AutoMerge.threshold`` of them (bounded work, see ``AutoMerge``); None: only
            ``compact()`` merges files.

    Raises:
        NoStoreError: ``create`` is False (or time travel) and there is no store there (a ``ConnectionFailedError``).
        ConnectionFailedError: ``path`` is a file, a folder with other content, or (for time travel) no store;
            the catalog server or object storage cannot be reached or refuses the credentials (the message never
            contains a password or secret key).
        MigrationError: the store has a newer schema version, or an older one without a migration path.
        MissingExtensionError: a DuckDB extension wheel is not installed (the message names the pip package).
    """
    if snapshot is not None and as_of is not None:
        raise TypeError("give either snapshot or as_of, not both")
    if as_of is not None and as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware")
    create = create and snapshot is None and as_of is None
    if isinstance(path, StoreConfig):
        limit = path.inlining_row_limit if inlining_row_limit is None else inlining_row_limit
        if path.is_local:
            if path.data_path is not None or path.s3 is not None:
                raise ValueError("StoreConfig: a local store folder takes no data_path or s3 options")
            root = Path(path.catalog).expanduser().resolve()
            _prepare_folder(root, create=create)
            location = local_location(root)
        else:
            location = remote_location(path)
    else:
        limit = 1000 if inlining_row_limit is None else inlining_row_limit
        root = Path(path).expanduser().resolve()
        _prepare_folder(root, create=create)
        location = local_location(root)
    engine = Engine(
        location,
        snapshot=snapshot,
        as_of=as_of,
        inlining_row_limit=limit,
        retry=retry,
        create=create,
        flush_every=flush_every,
    )
    try:
        migrate(engine)
    except BaseException:
        engine.close()
        raise
    if auto_merge is not None and not engine.read_only:
        engine.after_write = AutoMerger(engine, auto_merge)
    return LakeStore(engine)
