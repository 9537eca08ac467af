"""Lake ``SessionStore``: sessions and messages in DuckLake tables.

``list_messages`` orders by ``created_at`` and breaks ties by ``seq`` (append order; wall-clock nanoseconds made
strictly increasing per process, so appends from several processes interleave correctly). A session's
``updated_at`` is derived (see ``_sql.sessions_select``): appending stays a single insert.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

import duckdb
import pyarrow.compute as pc

from behest_lab.errors import AlreadyExistsError, NotFoundError
from behest_lab.records import MessageRecord, Pagination, Session, SessionFilter, TokenUsage, utcnow
from behest_lab.stores import tables
from behest_lab.stores.lake import _sql
from behest_lab.stores.lake.engine import SEQ, Engine
from behest_lab.stores.rules import check_batch, check_type, filter_and_page

_MSG = _sql.qualified("messages")
# message order: created_at to the nanosecond (rows stored before schema 3 have NULL nanoseconds: 0), then append order
_IN_ORDER = "created_at, created_at_ns NULLS FIRST, seq"
_LATEST_FIRST = "created_at DESC, created_at_ns DESC NULLS LAST, seq DESC"
_SESS = _sql.qualified("sessions")


class LakeSessionStore:
    """Sessions and messages of one lake."""

    def __init__(self, engine: Engine) -> None:
        """Work on ``engine``."""
        self._e = engine

    def create_session(self, session: Session) -> Session:
        """Store a new session; ``AlreadyExistsError`` if the id is taken."""
        check_type(session, Session, "session")
        self._e.check_writable()
        sid = str(session.id)
        values = tables.row_params("sessions", session)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            if _sql.has_id(con, "sessions", sid):
                raise AlreadyExistsError(session.id, "session")
            _sql.insert_row(con, "sessions", values)
            self._e.changed()
            self._e.remember_sessions([sid])

        self._e.write(body, f"create_session {sid}", small=True)
        return session

    def create_sessions(self, sessions: Sequence[Session]) -> list[Session]:
        """Bulk ``create_session``: all or nothing."""
        batch = check_batch(sessions, Session, "sessions")
        if not batch:
            return batch
        self._e.check_writable()
        data = tables.to_arrow("sessions", batch)
        ids = [str(s.id) for s in batch]

        def body(con: duckdb.DuckDBPyConnection) -> None:
            taken = con.execute(
                f"SELECT id FROM {_SESS} WHERE id IN (SELECT unnest(?::UUID[])) LIMIT 1", [ids]
            ).fetchone()
            if taken is not None:
                raise AlreadyExistsError(taken[0], "session")
            _sql.insert_arrow(con, "sessions", data)
            self._e.changed()
            self._e.remember_sessions(ids)

        self._e.write(body, f"create_sessions {len(batch)}")
        return batch

    def list_sessions(self) -> list[Session]:
        """All sessions, most recently updated first (ties: larger id first)."""
        rows = self._e.rows(
            _sql.sessions_select() + " ORDER BY updated_at DESC, updated_at_ns DESC NULLS LAST, s.id DESC"
        )
        return [tables.session_from_row(r) for r in rows]

    def get_session(self, id: UUID) -> Session | None:
        """The session, or None."""
        rows = self._e.rows(_sql.sessions_select("s.id = ?"), [str(id), str(id)])
        return tables.session_from_row(rows[0]) if rows else None

    def delete_session(self, id: UUID) -> None:
        """Delete the session with its messages, tool executions and usage records; idempotent."""
        sid = str(id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            self._e.forget_sessions([sid])
            for table in ("messages", "tool_executions", "usage_records"):
                _sql.delete_ids(con, table, [sid], "session_id")
            _sql.delete_ids(con, "sessions", [sid])

        self._e.write(body, f"delete_session {sid}")

    def update_session(self, id: UUID, title: str, model: str | None = None, metadata: Any = None) -> Session:
        """Set the title (always), model and metadata (when not None); ``updated_at`` = now. ``NotFoundError``."""
        check_type(title, str, "title")
        if model is not None:
            check_type(model, str, "model")
        self._e.check_writable()
        sid = str(id)

        def body(con: duckdb.DuckDBPyConnection) -> Session:
            cur = con.execute(_sql.sessions_select("s.id = ?"), [sid, sid])
            names = [d[0] for d in cur.description or []]
            row = cur.fetchone()
            if row is None:
                raise NotFoundError(id, "session")
            current = tables.session_from_row(dict(zip(names, row, strict=True)))
            changes: dict[str, Any] = {"title": title, "updated_at": utcnow()}
            if model is not None:
                changes["model"] = model
            if metadata is not None:
                changes["metadata"] = metadata
            updated: Session = current._replace(**changes)
            _sql.update_row(con, "sessions", tables.row_params("sessions", updated))
            return updated

        return self._e.write(body, f"update_session {sid}", small=True)

    def append_message(self, message: MessageRecord) -> MessageRecord:
        """Store a message of an existing session and set the session's ``updated_at`` to now."""
        check_type(message, MessageRecord, "message")
        self._e.check_writable()
        values = tables.row_params("messages", message, seq=SEQ.take(1, touch=True)[0])
        sid, mid = str(message.session_id), str(message.id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            # the session check is skipped for a session this store has seen in the current snapshot
            if not self._e.known_sessions([sid]) and not _sql.has_id(con, "sessions", sid):
                raise NotFoundError(message.session_id, "session")
            if _sql.has_id(con, "messages", mid):
                raise AlreadyExistsError(message.id, "message")
            _sql.insert_row(con, "messages", values)
            self._e.changed()
            self._e.remember_sessions([sid])

        self._e.write(body, f"append_message {mid}", small=True)
        return message

    def append_messages(self, messages: Sequence[MessageRecord], *, touch_session: bool = True) -> list[MessageRecord]:
        """Bulk ``append_message``: all or nothing."""
        batch = check_batch(messages, MessageRecord, "messages")
        if not batch:
            return []
        self._e.check_writable()
        data = tables.to_arrow("messages", batch, SEQ.take(len(batch), touch=touch_session))
        # ids straight from the Arrow columns: no str() per record; pc.unique keeps first-seen order
        session_ids: list[str] = pc.unique(data.column("session_id")).to_pylist()
        id_column = data.select(["id"])

        def body(con: duckdb.DuckDBPyConnection) -> None:
            known = self._e.known_sessions(session_ids)
            missing = _sql.missing_sessions(con, [s for s in session_ids if s not in known])
            if missing:
                raise NotFoundError(UUID(missing[0]), "session")
            with self._e.registered(con, "_behest_new_ids", id_column) as new_ids:
                dup = con.execute(
                    f"SELECT id FROM {_MSG} WHERE id IN (SELECT CAST(id AS UUID) FROM {new_ids}) LIMIT 1"
                ).fetchone()
            if dup is not None:
                raise AlreadyExistsError(dup[0], "message")
            _sql.insert_arrow(con, "messages", data)
            self._e.changed()
            self._e.remember_sessions(session_ids)

        self._e.write(body, f"append_messages {len(batch)}")
        return batch

    def list_messages(self, session_id: UUID) -> list[MessageRecord]:
        """Messages by ``created_at``, ties in append order; ``[]`` for an unknown session."""
        rows = self._e.rows(
            f"SELECT * FROM {_MSG} WHERE session_id = ? ORDER BY {_IN_ORDER}",
            [str(session_id)],
        )
        return [tables.message_from_row(r) for r in rows]

    def _update_message(self, message_id: UUID, assignments: str, params: list[Any], what: str) -> MessageRecord:
        mid = str(message_id)

        def body(con: duckdb.DuckDBPyConnection) -> None:
            # the rewritten row is written anew: one holding NUL in nested text, or a large one, goes to a file
            # (``_sql.files_for_nul``, ``_sql.large_limit``)
            nul = con.execute(
                f"SELECT 1 FROM {_MSG} WHERE id = ? AND "
                "(strpos(CAST(content AS VARCHAR) || CAST(tool_calls AS VARCHAR), chr(0)) > 0 "
                "OR strlen(coalesce(CAST(content AS VARCHAR), '')) + strlen(coalesce(text, '')) > ?)",
                [mid, _sql.large_limit()],
            ).fetchone()
            with _sql.files_for_nul(con, nul is not None):
                row = con.execute(f"UPDATE {_MSG} SET {assignments} WHERE id = ?", [*params, mid]).fetchone()
            if row is None or row[0] == 0:
                raise NotFoundError(message_id, "message")

        self._e.write(body, f"{what} {mid}", small=True)
        rows = self._e.rows(f"SELECT * FROM {_MSG} WHERE id = ?", [mid])
        return tables.message_from_row(rows[0])

    def update_usage(self, message_id: UUID, usage: TokenUsage) -> MessageRecord:
        """Replace a message's usage; ``NotFoundError`` for an unknown message."""
        check_type(usage, TokenUsage, "usage")
        # the token counters and usage_cache_keys (FALSE keeps a three-key, behest 0.3.1, usage three keys)
        columns = tables.usage_params(usage)
        assignments = ", ".join(f"{n} = ?" for n in columns)
        values = list(columns.values())
        return self._update_message(message_id, assignments, values, "update_usage")

    def list_sessions_paginated(
        self, pagination: Pagination | None = None, filter: SessionFilter | None = None
    ) -> list[Session]:
        """Filtered (metadata containment, created_after inclusive, created_before exclusive), then paged."""
        return filter_and_page(self.list_sessions(), pagination or Pagination(), filter or SessionFilter())

    def list_messages_paginated(self, session_id: UUID, pagination: Pagination) -> list[MessageRecord]:
        """``list_messages`` then skip ``offset`` and take ``limit``."""
        check_type(pagination, Pagination, "pagination")
        rows = self._e.rows(
            f"SELECT * FROM {_MSG} WHERE session_id = ? ORDER BY {_IN_ORDER} LIMIT ? OFFSET ?",
            [str(session_id), pagination.limit, pagination.offset],
        )
        return [tables.message_from_row(r) for r in rows]

    def health_check(self) -> None:
        """Raise if the store cannot be used."""
        self._e.scalar(f"SELECT count(*) FROM {_SESS} WHERE false")

    def get_latest_compaction(self, session_id: UUID) -> MessageRecord | None:
        """The last ``is_compaction`` message of the session, or None."""
        rows = self._e.rows(
            f"SELECT * FROM {_MSG} WHERE session_id = ? AND is_compaction ORDER BY {_LATEST_FIRST} LIMIT 1",
            [str(session_id)],
        )
        return tables.message_from_row(rows[0]) if rows else None

    def mark_compacted(self, message_id: UUID) -> MessageRecord:
        """Set ``is_summary`` on the message; ``NotFoundError`` for an unknown id."""
        return self._update_message(message_id, "is_summary = true", [], "mark_compacted")
