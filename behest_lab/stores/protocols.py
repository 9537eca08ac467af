"""The four store interfaces (behest's traits, synchronous) and the ``Store`` bundle.

Behaviour is behest's documented contract with the fixes in ``DECISIONS.md``; the conformance suite in
``tests/stores/`` pins every point on every backend.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, Self, runtime_checkable
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
    (see ``behest_lab.stores.tables``).
    """

    backend: str = "abstract"

    def __init__(
        self,
        sessions: SessionStore,
        embeddings: EmbeddingStore,
        artifacts: ArtifactStore,
        executions: ExecutionStore,
    ) -> None:
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
        """A DuckDB relation for ``query`` over the tables ``sessions``, ``messages``, ``tool_executions``,
        ``usage_records``, ``embeddings``, ``artifacts``."""

    @abstractmethod
    def close(self) -> None:
        """Release resources; the store must not be used afterwards."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} backend={self.backend!r}>"
