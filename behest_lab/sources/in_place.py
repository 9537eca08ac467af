"""A read-only ``Store`` over behest's own SQL database, without copying: ``open_store("postgresql+behest://...")``.

DuckDB attaches the database read-only (PostgreSQL, MySQL/MariaDB or SQLite, through DuckDB's scanner extensions)
and shows behest's tables as behest_lab's analytical tables (views, see ``_in_place_sql``), so ``store.sql``, every
analytics function and every widget work on the live data. The record-level read methods (``list_sessions``,
``list_messages``, ``session_stats``, embedding ``search`` ...) read the same views. Every write raises
``ReadOnlyStoreError``: behest owns that database.

URL forms: ``postgresql+behest://user[:password]@host:5432/db``, ``mysql+behest://user[:password]@host:3306/db``
(MariaDB too), ``sqlite+behest:///path/agent.db``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NoReturn, TypeVar
from uuid import UUID

import duckdb

from behest_lab.errors import DataCorruptionError, ReadOnlyStoreError
from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    Pagination,
    ScoredEmbedding,
    Session,
    SessionFilter,
    SessionStats,
    ToolExecution,
    UsageRecord,
)
from behest_lab.sources import _in_place_sql as views
from behest_lab.sources._sql_connect import MYSQL, POSTGRES, SQLITE, SchemaInfo, SqlTarget, connect, parse_url
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store
from behest_lab.stores.rules import compute_stats, filter_and_page, page
from behest_lab.vectors import VectorIndex

T = TypeVar("T")

#: URL scheme -> dialect of the in-place store.
SCHEMES = {
    "postgresql+behest": POSTGRES,
    "postgres+behest": POSTGRES,
    "mysql+behest": MYSQL,
    "mariadb+behest": MYSQL,
    "sqlite+behest": SQLITE,
}


def is_in_place_url(path: object) -> bool:
    """Whether ``path`` is a URL ``open_behest_sql`` opens (``postgresql+behest://`` and friends)."""
    return isinstance(path, str) and path.split("://", 1)[0].lower() in SCHEMES


def _refuse(what: str) -> NoReturn:
    raise ReadOnlyStoreError(
        f"{what}: this store reads behest's own database in place and never writes to it; "
        "sync it into a behest_lab store to change records (behest_lab.sync)"
    )


class _Reader:
    """Shared access to the views for the four read-only stores."""

    def __init__(self, con: duckdb.DuckDBPyConnection, location: str) -> None:
        self.con = con
        self.location = location

    def rows(self, query: str, params: Sequence[Any] | None = None) -> list[dict[str, Any]]:
        try:
            rel = self.con.execute(query, params or [])
            names = [d[0] for d in rel.description or []]
            return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]
        except duckdb.Error as exc:
            raise DataCorruptionError("query", f"{self.location}: {exc}", path=self.location) from None

    def convert(self, table: str, rows: list[dict[str, Any]], convert: Callable[[dict[str, Any]], T]) -> list[T]:
        out = []
        for r in rows:
            try:
                out.append(convert(r))
            except DataCorruptionError as exc:
                raise DataCorruptionError(
                    exc.field,
                    f"{self.location}, table {table}, row {r.get('id')}: {exc}",
                    path=self.location,
                    table=table,
                ) from None
        return out


class BehestSqlSessionStore:
    """Sessions and messages of behest's database (read-only)."""

    def __init__(self, reader: _Reader) -> None:
        self._r = reader

    def _sessions(self, where: str = "", params: Sequence[Any] = ()) -> list[Session]:
        rows = self._r.rows(f"SELECT * FROM sessions {where} ORDER BY updated_at DESC, id DESC", params)
        return self._r.convert("sessions", rows, tables.session_from_row)

    def list_sessions(self) -> list[Session]:
        """All sessions, most recently updated first (ties: larger id first)."""
        return self._sessions()

    def get_session(self, id: UUID) -> Session | None:
        """The session, or None."""
        found = self._sessions("WHERE id = ?", [str(id)])
        return found[0] if found else None

    def list_messages(self, session_id: UUID) -> list[MessageRecord]:
        """Messages by ``created_at``, ties in append order."""
        rows = self._r.rows("SELECT * FROM messages WHERE session_id = ? ORDER BY created_at, seq", [str(session_id)])
        return self._r.convert("messages", rows, tables.message_from_row)

    def list_sessions_paginated(
        self, pagination: Pagination | None = None, filter: SessionFilter | None = None
    ) -> list[Session]:
        """Filtered, then paged (see ``SessionStore``)."""
        return filter_and_page(self.list_sessions(), pagination or Pagination(), filter or SessionFilter())

    def list_messages_paginated(self, session_id: UUID, pagination: Pagination) -> list[MessageRecord]:
        """``list_messages`` then skip ``offset`` and take ``limit``."""
        return page(self.list_messages(session_id), pagination)

    def health_check(self) -> None:
        """Raise if the database cannot be read."""
        self._r.rows("SELECT count(*) FROM sessions")

    def get_latest_compaction(self, session_id: UUID) -> MessageRecord | None:
        """The last ``is_compaction`` message of the session, or None."""
        for m in reversed(self.list_messages(session_id)):
            if m.is_compaction:
                return m
        return None

    def create_session(self, session: Session) -> Session:
        """Refused: read-only."""
        _refuse("create_session")

    def create_sessions(self, sessions: Sequence[Session]) -> list[Session]:
        """Refused: read-only."""
        _refuse("create_sessions")

    def delete_session(self, id: UUID) -> None:
        """Refused: read-only."""
        _refuse("delete_session")

    def update_session(self, id: UUID, title: str, model: str | None = None, metadata: Any = None) -> Session:
        """Refused: read-only."""
        _refuse("update_session")

    def append_message(self, message: MessageRecord) -> MessageRecord:
        """Refused: read-only."""
        _refuse("append_message")

    def append_messages(self, messages: Sequence[MessageRecord], *, touch_session: bool = True) -> list[MessageRecord]:
        """Refused: read-only."""
        _refuse("append_messages")

    def update_usage(self, message_id: UUID, usage: Any) -> MessageRecord:
        """Refused: read-only."""
        _refuse("update_usage")

    def mark_compacted(self, message_id: UUID) -> MessageRecord:
        """Refused: read-only."""
        _refuse("mark_compacted")


class BehestSqlExecutionStore:
    """Tool executions and usage records of behest's database (read-only)."""

    def __init__(self, reader: _Reader) -> None:
        self._r = reader

    def _executions(self, column: str, id: UUID) -> list[ToolExecution]:
        rows = self._r.rows(f"SELECT * FROM tool_executions WHERE {column} = ? ORDER BY created_at, id", [str(id)])
        return self._r.convert("tool_executions", rows, tables.execution_from_row)

    def list_executions(self, session_id: UUID) -> list[ToolExecution]:
        """The session's executions by ``created_at``."""
        return self._executions("session_id", session_id)

    def list_executions_by_message(self, message_id: UUID) -> list[ToolExecution]:
        """Executions issued by one message, by ``created_at``."""
        return self._executions("message_id", message_id)

    def list_usage(self, session_id: UUID) -> list[UsageRecord]:
        """The session's usage records by ``created_at``."""
        rows = self._r.rows(
            "SELECT * FROM usage_records WHERE session_id = ? ORDER BY created_at, id", [str(session_id)]
        )
        return self._r.convert("usage_records", rows, tables.usage_from_row)

    def session_stats(self, session_id: UUID) -> SessionStats:
        """Counts and sums for one session (the same rule as every store); zeros for an unknown session."""
        found = self._r.rows("SELECT count(*) AS n FROM messages WHERE session_id = ?", [str(session_id)])
        return compute_stats(
            session_id, int(found[0]["n"]), self.list_executions(session_id), self.list_usage(session_id)
        )

    def record_execution(self, execution: ToolExecution) -> ToolExecution:
        """Refused: read-only."""
        _refuse("record_execution")

    def record_executions(self, executions: Sequence[ToolExecution]) -> list[ToolExecution]:
        """Refused: read-only."""
        _refuse("record_executions")

    def record_usage(self, record: UsageRecord) -> UsageRecord:
        """Refused: read-only."""
        _refuse("record_usage")

    def record_usages(self, records: Sequence[UsageRecord]) -> list[UsageRecord]:
        """Refused: read-only."""
        _refuse("record_usages")

    def delete_by_session(self, session_id: UUID) -> int:
        """Refused: read-only."""
        _refuse("delete_by_session")


class BehestSqlEmbeddingStore:
    """behest's ``embeddings`` table (PostgreSQL; empty elsewhere), searched exactly in float32 (read-only)."""

    def __init__(self, reader: _Reader) -> None:
        self._r = reader

    def _all(self, where: str = "", params: Sequence[Any] = ()) -> list[EmbeddingRecord]:
        rows = self._r.rows(f"SELECT * FROM embeddings {where} ORDER BY created_at, id", params)
        return self._r.convert("embeddings", rows, tables.embedding_from_row)

    def get(self, id: UUID) -> EmbeddingRecord | None:
        """The record, or None."""
        found = self._all("WHERE id = ?", [str(id)])
        return found[0] if found else None

    def search(
        self,
        query: Sequence[float] | Any,
        limit: int,
        *,
        model: str | None = None,
        session_id: UUID | None = None,
    ) -> list[ScoredEmbedding]:
        """Top ``limit`` by cosine similarity over the current rows (read live: an index is built per call)."""
        return VectorIndex.from_records(self._all()).search_records(query, limit, model=model, session_id=session_id)

    def upsert(self, record: EmbeddingRecord) -> EmbeddingRecord:
        """Refused: read-only."""
        _refuse("upsert")

    def upsert_many(self, records: Sequence[EmbeddingRecord]) -> list[EmbeddingRecord]:
        """Refused: read-only."""
        _refuse("upsert_many")

    def delete(self, id: UUID) -> None:
        """Refused: read-only."""
        _refuse("delete")

    def delete_by_session(self, session_id: UUID) -> int:
        """Refused: read-only."""
        _refuse("delete_by_session")


class BehestSqlArtifactStore:
    """behest's SQL backends keep no artifacts: always empty (read-only)."""

    def get(self, id: UUID) -> Artifact | None:
        """Always None."""
        return None

    def list_by_session(self, session_id: UUID) -> list[Artifact]:
        """Always empty."""
        return []

    def put(self, artifact: Artifact) -> Artifact:
        """Refused: read-only."""
        _refuse("put")

    def put_many(self, artifacts: Sequence[Artifact]) -> list[Artifact]:
        """Refused: read-only."""
        _refuse("put_many")

    def delete(self, id: UUID) -> None:
        """Refused: read-only."""
        _refuse("delete")

    def delete_by_session(self, session_id: UUID) -> int:
        """Refused: read-only."""
        _refuse("delete_by_session")


class BehestSqlStore(Store):
    """behest's SQL database as a read-only ``Store`` (see the module docstring).

    Attributes:
        location: the database without its password.
        schema: the migrations and columns found.
    """

    def __init__(self, url: str, *, password: str | None = None) -> None:
        """Attach the database and create the views (see ``open_behest_sql``)."""
        scheme, _, rest = url.partition("://")
        dialect = SCHEMES[scheme.lower()]
        plain = f"{dialect.schemes[0]}://{rest}"
        self._target: SqlTarget = parse_url(plain, dialect, password=password)
        self.backend = f"behest-{dialect.kind}"
        self.location = self._target.location
        con, schema = connect(self._target)
        self.schema: SchemaInfo = schema
        self._con: duckdb.DuckDBPyConnection | None = con
        try:
            self._create_views(con)
        except BaseException:
            con.close()
            raise
        reader = _Reader(con, self.location)
        super().__init__(
            BehestSqlSessionStore(reader),
            BehestSqlEmbeddingStore(reader),
            BehestSqlArtifactStore(),
            BehestSqlExecutionStore(reader),
        )

    def _create_views(self, con: duckdb.DuckDBPyConnection) -> None:
        d = self._target.dialect
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"CREATE VIEW sessions AS {views.sessions_sql(d, self.schema)}")
        con.execute(f"CREATE VIEW messages AS {views.messages_sql(d, self.schema)}")
        con.execute(f"CREATE VIEW tool_executions AS {views.executions_sql(d, self.schema)}")
        con.execute(f"CREATE VIEW usage_records AS {views.usage_sql(d, self.schema)}")
        embeddings = views.embeddings_sql(d)
        if embeddings is None:
            con.execute(tables.create_table_sql("embeddings"))
        else:
            con.execute(f"CREATE VIEW embeddings AS {embeddings}")
        con.execute(tables.create_table_sql("artifacts"))
        con.execute(tables.create_table_sql("artifact_data"))

    def delete_session(self, id: UUID) -> None:
        """Refused: read-only."""
        _refuse("delete_session")

    def write_batch(self, **records: Any) -> None:
        """Refused: read-only."""
        _refuse("write_batch")

    def sql(self, query: str, params: Sequence[Any] | None = None) -> duckdb.DuckDBPyRelation:
        """A DuckDB relation for ``query`` over the live views (the same tables every store shows)."""
        if self._con is None:
            raise ReadOnlyStoreError("the store is closed")
        return self._con.sql(query, params=params)

    def close(self) -> None:
        """Detach the database; idempotent."""
        if self._con is not None:
            self._con.close()
            self._con = None

    def __repr__(self) -> str:
        """``<BehestSqlStore location>`` (never the password)."""
        return f"<BehestSqlStore {self.location}>"


def open_behest_sql(url: str, *, password: str | None = None) -> BehestSqlStore:
    """Open behest's own database in place as a read-only store (see the module docstring for URL forms).

    Raises:
        SourceError: unreachable server, wrong credentials, not behest's tables, or an unknown schema version.
        MissingExtensionError: DuckDB's scanner extension wheel for this backend is not installed.
    """
    return BehestSqlStore(url, password=password)


__all__ = ["SCHEMES", "BehestSqlStore", "is_in_place_url", "open_behest_sql"]
