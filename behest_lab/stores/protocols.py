"""The four store interfaces (behest's traits, synchronous) and the ``Store`` bundle.

Behaviour is behest's documented contract with the fixes in ``DECISIONS.md``; the conformance suite in
``tests/stores/`` pins every point on every backend.
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, TypeVar, runtime_checkable
from uuid import UUID

from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    Pagination,
    Provenance,
    ScoredEmbedding,
    Session,
    SessionFilter,
    SessionStats,
    TokenUsage,
    ToolExecution,
    UsageRecord,
)

if TYPE_CHECKING:
    import duckdb
    import polars as pl

T = TypeVar("T")

#: Any of the six record classes.
Record = Session | MessageRecord | ToolExecution | UsageRecord | EmbeddingRecord | Artifact


@runtime_checkable
class SessionStore(Protocol):
    """Sessions and their messages."""

    def create_session(self, session: Session) -> Session:
        """Store a new session; ``AlreadyExistsError`` if the id is taken."""
        ...

    def create_sessions(self, sessions: Sequence[Session]) -> list[Session]:
        """Bulk ``create_session``: all or nothing."""
        ...

    def list_sessions(self) -> list[Session]:
        """All sessions, most recently updated first (ties: larger id first)."""
        ...

    def get_session(self, id: UUID) -> Session | None:
        """The session, or None."""
        ...

    def delete_session(self, id: UUID) -> None:
        """Delete the session with its messages, tool executions and usage records; idempotent."""
        ...

    def update_session(self, id: UUID, title: str, model: str | None = None, metadata: Any = None) -> Session:
        """Set the title (always), model and metadata (when not None); ``updated_at`` = now. ``NotFoundError``."""
        ...

    def append_message(self, message: MessageRecord) -> MessageRecord:
        """Store a message of an existing session and set the session's ``updated_at`` to now."""
        ...

    def append_messages(self, messages: Sequence[MessageRecord], *, touch_session: bool = True) -> list[MessageRecord]:
        """Bulk ``append_message``: all or nothing.

        ``touch_session=False`` keeps the sessions' ``updated_at`` as stored (importers and generators that
        carry their own timestamps use it); the default sets it to now, as ``append_message`` does.
        """
        ...

    def list_messages(self, session_id: UUID) -> list[MessageRecord]:
        """Messages by ``created_at``, ties in append order; ``[]`` for an unknown session."""
        ...

    def update_usage(self, message_id: UUID, usage: TokenUsage) -> MessageRecord:
        """Replace a message's usage; ``NotFoundError`` for an unknown message."""
        ...

    def list_sessions_paginated(self, pagination: Pagination = ..., filter: SessionFilter = ...) -> list[Session]:
        """Filtered (metadata containment, created_after inclusive, created_before exclusive), then paged."""
        ...

    def list_messages_paginated(self, session_id: UUID, pagination: Pagination) -> list[MessageRecord]:
        """``list_messages`` then skip ``offset`` and take ``limit``."""
        ...

    def health_check(self) -> None:
        """Raise if the store cannot be used."""
        ...

    def get_latest_compaction(self, session_id: UUID) -> MessageRecord | None:
        """The last ``is_compaction`` message of the session, or None."""
        ...

    def mark_compacted(self, message_id: UUID) -> MessageRecord:
        """Set ``is_summary`` on the message; ``NotFoundError`` for an unknown id."""
        ...


@runtime_checkable
class EmbeddingStore(Protocol):
    """Vectors with cosine-similarity search."""

    def upsert(self, record: EmbeddingRecord) -> EmbeddingRecord:
        """Insert or replace the whole record by id."""
        ...

    def upsert_many(self, records: Sequence[EmbeddingRecord]) -> list[EmbeddingRecord]:
        """Bulk ``upsert``: all or nothing."""
        ...

    def get(self, id: UUID) -> EmbeddingRecord | None:
        """The record, or None."""
        ...

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[ScoredEmbedding]:
        """Top ``limit`` records of the query's dimension by float32 cosine similarity (ties: smaller id first)."""
        ...

    def delete(self, id: UUID) -> None:
        """Delete one record; idempotent."""
        ...

    def delete_by_session(self, session_id: UUID) -> int:
        """Delete the session's records; returns how many."""
        ...


@runtime_checkable
class ArtifactStore(Protocol):
    """Binary artifacts."""

    def put(self, artifact: Artifact) -> Artifact:
        """Insert or replace by id."""
        ...

    def put_many(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Bulk ``put``: all or nothing."""
        ...

    def get(self, id: UUID) -> Artifact | None:
        """The artifact with its bytes, or None."""
        ...

    def delete(self, id: UUID) -> None:
        """Delete one artifact; idempotent."""
        ...

    def list_by_session(self, session_id: UUID) -> list[Artifact]:
        """The session's artifacts by ``created_at`` (ties by id)."""
        ...

    def delete_by_session(self, session_id: UUID) -> int:
        """Delete the session's artifacts; returns how many."""
        ...


@runtime_checkable
class ExecutionStore(Protocol):
    """Tool executions, usage records and per-session stats."""

    def record_execution(self, execution: ToolExecution) -> ToolExecution:
        """Insert or replace by id; the session must exist."""
        ...

    def record_executions(self, executions: Sequence[ToolExecution]) -> list[ToolExecution]:
        """Bulk ``record_execution``: all or nothing."""
        ...

    def list_executions(self, session_id: UUID) -> list[ToolExecution]:
        """The session's executions by ``created_at`` (ties in recording order)."""
        ...

    def list_executions_by_message(self, message_id: UUID) -> list[ToolExecution]:
        """Executions issued by one message, by ``created_at``."""
        ...

    def record_usage(self, record: UsageRecord) -> UsageRecord:
        """Insert or replace by id; the session must exist."""
        ...

    def record_usages(self, records: Sequence[UsageRecord]) -> list[UsageRecord]:
        """Bulk ``record_usage``: all or nothing."""
        ...

    def list_usage(self, session_id: UUID) -> list[UsageRecord]:
        """The session's usage records by ``created_at`` (ties in recording order)."""
        ...

    def session_stats(self, session_id: UUID) -> SessionStats:
        """Counts and sums for one session; zeros for an unknown session."""
        ...

    def delete_by_session(self, session_id: UUID) -> int:
        """Delete the session's executions and usage records; returns how many."""
        ...


class Store(ABC):
    """The four stores of one backend, with a cascading ``delete_session`` and an all-or-nothing ``write_batch``.

    Use as a context manager or call ``close()``. ``sql(query)`` runs DuckDB SQL over the store's tables
    (see ``behest_lab.stores.tables``) and returns a lazy relation; ``query(query)`` runs it at once as one
    consistent read and returns a polars frame; ``temp_table(query)`` keeps a query's rows for later queries;
    ``session_scope(ids)`` pins a few sessions' rows so that many queries over them cost one read of the store.
    ``behest_lab.analytics`` reads only through ``query``, ``temp_table`` and ``session_scope``.
    """

    backend: str = "abstract"

    def __init__(
        self,
        sessions: SessionStore,
        embeddings: EmbeddingStore,
        artifacts: ArtifactStore,
        executions: ExecutionStore,
    ) -> None:
        """Create it (see the class docstring)."""
        self.sessions = sessions
        self.embeddings = embeddings
        self.artifacts = artifacts
        self.executions = executions

    def delete_session(self, id: UUID) -> None:
        """Delete a session and everything of it: messages, executions, usage, embeddings, artifacts."""
        self.sessions.delete_session(id)
        self.executions.delete_by_session(id)
        self.embeddings.delete_by_session(id)
        self.artifacts.delete_by_session(id)

    @abstractmethod
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
        """Write records of several tables all or nothing: one commit, so no reader and no crash ever sees part.

        Each table follows its bulk method (``create_sessions``, ``append_messages``, ``record_executions``,
        ``record_usages``, ``upsert_many``, ``put_many``), in that order: messages, executions and usage records may
        belong to sessions of the same batch. ``touch_sessions`` is ``append_messages``' ``touch_session``.

        Then, in the same commit: each record of ``replace`` (any record class) takes the place of the stored record
        with its id, keeping its position (a message its append order), or is added when none is stored (a
        replaced session keeps its messages; its ``updated_at`` is the record's). ``delete`` names ``(table, id)``
        rows to remove (a session with its messages, executions and usage records; a row of another table alone;
        unknown ids are ignored). ``provenance`` rows are stored in the ``provenance`` table, each replacing the row
        of the same ``(record_id, table, location)``, with ``fingerprints[i]`` (when given) as its ``fingerprint``;
        every deleted record's provenance rows go with it.

        Raises:
            TypeError: an element is not of its table's record class.
            AlreadyExistsError: a session or message id is already stored, or appears twice in its list.
            NotFoundError: a message, execution or usage record names a session neither stored nor in ``sessions``.
        """

    @abstractmethod
    def sql(self, query: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A lazy DuckDB relation for ``query`` over the store's tables.

        The tables: ``sessions``, ``messages``, ``tool_executions``, ``usage_records``, ``embeddings``,
        ``artifacts``. The relation runs when it is fetched; ``query`` runs at once, as one consistent read.
        """

    def query(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a read-only ``query`` now and return all its rows as a polars frame.

        Unlike ``sql``, whose relation runs later when it is fetched, the query runs inside the call as one
        consistent read: on the lake store it never misses rows that were committed before it started, while
        other processes flush inlined rows or run ``compact()`` (``behest_lab.stores.lake.reads``); the memory
        store reads its own state under its lock. The tables are those of ``sql``, plus any ``temp_table``.

        Args:
            query: one DuckDB SELECT (or WITH ... SELECT).
            params: values for the query's ``?`` placeholders.

        Returns:
            The rows; DuckDB's types as polars maps them (timestamps keep their time zone).

        Raises:
            duckdb.Error: the query does not parse, bind or run (as ``sql`` raises it).
        """
        return self._consistent_read(lambda: self.sql(query, params).pl(), query, query)

    def temp_table(self, query: str, params: Sequence[Any] | None = None) -> TempTable:
        """Keep the rows of a read-only ``query`` in a temporary table of this store object (one consistent read).

        Later ``query`` and ``temp_table`` calls read the table by its ``name`` without reading the store again;
        it lives until ``drop()`` or ``close()`` (of the table or the store) and is invisible to other store
        objects and processes.

        Raises:
            duckdb.Error: the query does not parse, bind or run.
        """
        name = f"{TEMP_PREFIXES[0]}{uuid.uuid4().hex}"
        create = f"CREATE OR REPLACE TEMP TABLE {name} AS {query}"
        self._consistent_read(lambda: self._statement(create, params), query, query)
        return TempTable(self, name)

    def session_scope(self, session_ids: Sequence[UUID | str]) -> SessionScope:
        """These sessions' rows, read once and queried as often as needed (a ``SessionScope``).

        The rows of ``sessions``, ``messages``, ``tool_executions`` and ``usage_records`` are read in one
        consistent read of the four tables.

        Raises:
            ValueError: no id, or one that is not a UUID.
        """
        return SessionScope(self, session_ids)

    def _consistent_read(self, run: Callable[[], T], what: str, query: str | None = None) -> T:
        """``run()``, a read through ``sql``, as one consistent read of the store (backends that need more override it).

        ``what`` describes it in errors; ``query`` is the one SELECT ``run`` executes, when it is one (a backend
        may read it to skip its guard for a query of ``temp_table`` and ``session_scope`` rows only).
        """
        return run()

    def _scoped_select(self, table: str, match: str, pinned: Mapping[str, str]) -> str:
        """The SELECT of ``table``'s rows whose session id satisfies ``match`` (SQL such as ``= CAST(.. AS UUID)``).

        ``pinned`` names the temporary tables of the tables pinned before this one (``SCOPED_TABLES`` order).
        Backends whose views are costly to filter afterwards override it.
        """
        return f"SELECT * FROM {table} WHERE {'id' if table == 'sessions' else 'session_id'} {match}"

    def _statement(self, statement: str, params: Sequence[Any] | None = None) -> None:
        """Run a statement that returns no rows (creating or dropping a temporary table) through ``sql``."""
        self.sql(statement, params)

    @abstractmethod
    def close(self) -> None:
        """Release resources; the store must not be used afterwards."""

    def __enter__(self) -> Self:
        """Use the object in a ``with`` block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release it on leaving the ``with`` block."""
        self.close()

    def __repr__(self) -> str:
        """A short description for the REPL."""
        return f"<{type(self).__name__} backend={self.backend!r}>"


class TempTable:
    """A query's rows kept in a DuckDB temporary table of one store object (see ``Store.temp_table``).

    Use its ``name`` in the store's ``query`` and ``temp_table`` calls; ``drop()`` (idempotent) or leaving a
    ``with`` block frees it. Closing the store frees it too.
    """

    def __init__(self, store: Store, name: str) -> None:
        """Wrap the temporary table ``name`` that ``store.temp_table`` created."""
        self.store = store
        self.name = name
        self._dropped = False

    def drop(self) -> None:
        """Drop the table (idempotent)."""
        if not self._dropped:
            self._dropped = True
            self.store._statement(f"DROP TABLE IF EXISTS {self.name}")

    def __enter__(self) -> Self:
        """Use the object in a ``with`` block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release it on leaving the ``with`` block."""
        self.drop()

    def __repr__(self) -> str:
        """A short description for the REPL."""
        return f"<TempTable {self.name}{' dropped' if self._dropped else ''}>"


TEMP_PREFIXES = ("behest_temp_", "behest_scope_")
"""How the names of ``temp_table`` and ``session_scope`` tables begin (rows already read, local to the object)."""

SCOPED_TABLES = ("messages", "tool_executions", "usage_records", "sessions")
"""The tables a ``SessionScope`` holds the sessions' rows of, in the order it pins them (messages first: the
lake derives the sessions' ``updated_at`` from them)."""


class SessionScope:
    """A few sessions' rows read from the store once, then queried as often as needed (``Store.session_scope``).

    Each table of ``SCOPED_TABLES`` is copied, restricted to the sessions, into a temporary table in one
    consistent read: on the lake store a scan costs a catalog round trip however few rows it reads, so a view that
    asks ten questions about one session pays for four scans instead of ten. ``query`` runs SQL in which those
    table names mean the sessions' rows (``embeddings`` and ``artifacts`` are not scoped). The rows do not follow
    later writes: open a new scope to see them. ``close()`` (idempotent) or leaving a ``with`` block frees them.

    Args:
        store: the store to read.
        session_ids: the sessions, at least one (UUIDs or their text); ids the store does not have scope no rows.

    Raises:
        ValueError: no id, or one that is not a UUID.
    """

    def __init__(self, store: Store, session_ids: Sequence[UUID | str]) -> None:
        """Read the sessions' rows (see the class docstring)."""
        try:
            ids = tuple(dict.fromkeys(s if isinstance(s, UUID) else UUID(str(s)) for s in session_ids))
        except ValueError:
            raise ValueError(f"session_ids: {list(session_ids)!r} holds a value that is not a UUID") from None
        if not ids:
            raise ValueError("session_ids: give at least one session")
        self.store = store
        self.session_ids = ids
        # one id: an equality the scan prunes files and row groups with; several: a semi join on an unnested list
        # (its join filter prunes the scan too, where a long IN list is evaluated on every row: 20x slower)
        match = (
            f"= CAST('{ids[0]}' AS UUID)"
            if len(ids) == 1
            else "IN (SELECT unnest(CAST([" + ", ".join(f"'{i}'" for i in ids) + "] AS UUID[])))"
        )
        base = f"{TEMP_PREFIXES[1]}{uuid.uuid4().hex}"
        self._names = {t: f"{base}_{t}" for t in SCOPED_TABLES}
        self._made: list[str] = []

        def pin() -> None:
            pinned: dict[str, str] = {}
            for table, name in self._names.items():
                select = store._scoped_select(table, match, pinned)
                store._statement(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
                pinned[table] = name
                if name not in self._made:
                    self._made.append(name)

        try:
            store._consistent_read(pin, f"session scope of {len(ids)} session(s)")
        except BaseException:
            self.close()
            raise
        self._ctes = ", ".join(f"{t} AS (SELECT * FROM {n})" for t, n in self._names.items())

    def query(self, query: str, params: Sequence[Any] | None = None) -> pl.DataFrame:
        """Run a read-only ``query`` over the sessions' rows (see ``Store.query``: the same rules and errors)."""
        return self.store.query(f"WITH {self._ctes} SELECT * FROM ({query})", params)

    def close(self) -> None:
        """Drop the pinned rows (idempotent)."""
        while self._made:
            self.store._statement(f"DROP TABLE IF EXISTS {self._made.pop()}")

    def __enter__(self) -> Self:
        """Use the object in a ``with`` block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release it on leaving the ``with`` block."""
        self.close()

    def __repr__(self) -> str:
        """A short description for the REPL."""
        return f"<SessionScope of {len(self.session_ids)} session(s){'' if self._made else ' closed'}>"
