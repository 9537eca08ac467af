"""Memory ``SessionStore``."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from behest_lab.errors import AlreadyExistsError, NotFoundError
from behest_lab.records import MessageRecord, Pagination, Session, SessionFilter, TokenUsage, utcnow
from behest_lab.stores.memory._state import MemoryState, SessionMessages
from behest_lab.stores.rules import check_batch, check_type, filter_and_page, page, session_order_key


class MemorySessionStore:
    """Sessions and messages in dicts; messages kept sorted by ``created_at`` then append order."""

    def __init__(self, state: MemoryState) -> None:
        """Work on the shared ``state``."""
        self._s = state

    def create_session(self, session: Session) -> Session:
        """Store a new session; ``AlreadyExistsError`` if the id is taken."""
        self.create_sessions([check_type(session, Session, "session")])
        return session

    def create_sessions(self, sessions: Sequence[Session]) -> list[Session]:
        """Bulk ``create_session``: all or nothing."""
        batch = check_batch(sessions, Session, "sessions")
        s = self._s
        with s.lock:
            for session in batch:
                if session.id in s.sessions:
                    raise AlreadyExistsError(session.id, "session")
            for session in batch:
                s.sessions[session.id] = session
                s.messages[session.id] = SessionMessages()
            if batch:
                s.touch()
        return batch

    def list_sessions(self) -> list[Session]:
        """All sessions, most recently updated first (ties: larger id first)."""
        with self._s.lock:
            return sorted(self._s.sessions.values(), key=session_order_key, reverse=True)

    def get_session(self, id: UUID) -> Session | None:
        """The session, or None."""
        return self._s.sessions.get(id)

    def delete_session(self, id: UUID) -> None:
        """Delete the session with its messages, tool executions and usage records; idempotent."""
        s = self._s
        with s.lock:
            if s.sessions.pop(id, None) is None:
                return
            for m in s.messages.pop(id, SessionMessages()).records:
                s.message_session.pop(m.id, None)
                s.message_seq.pop(m.id, None)
            for eid in s.executions.pop(id, {}):
                s.execution_session.pop(eid, None)
            for uid in s.usage.pop(id, {}):
                s.usage_session.pop(uid, None)
            s.touch()

    def update_session(self, id: UUID, title: str, model: str | None = None, metadata: Any = None) -> Session:
        """Set the title (always), model and metadata (when not None); ``updated_at`` = now. ``NotFoundError``."""
        check_type(title, str, "title")
        with self._s.lock:
            current = self._s.sessions.get(id)
            if current is None:
                raise NotFoundError(id, "session")
            changes: dict[str, Any] = {"title": title, "updated_at": utcnow()}
            if model is not None:
                changes["model"] = check_type(model, str, "model")
            if metadata is not None:
                changes["metadata"] = metadata
            updated = current._replace(**changes)
            self._s.sessions[id] = updated
            self._s.touch()
            return updated

    def append_message(self, message: MessageRecord) -> MessageRecord:
        """Store a message of an existing session and set the session's ``updated_at`` to now."""
        self.append_messages([check_type(message, MessageRecord, "message")])
        return message

    def append_messages(self, messages: Sequence[MessageRecord], *, touch_session: bool = True) -> list[MessageRecord]:
        """Bulk ``append_message``: all or nothing."""
        batch = check_batch(messages, MessageRecord, "messages")
        s = self._s
        with s.lock:
            for m in batch:  # validate everything before changing anything
                if m.session_id not in s.sessions:
                    raise NotFoundError(m.session_id, "session")
                if m.id in s.message_session:
                    raise AlreadyExistsError(m.id, "message")
            for m in batch:
                seq = next(s.seq)
                bucket = s.messages[m.session_id]
                key = (m.created_at, seq)
                if not bucket.keys or key >= bucket.keys[-1]:
                    bucket.keys.append(key)
                    bucket.records.append(m)
                else:
                    i = bisect.bisect_right(bucket.keys, key)
                    bucket.keys.insert(i, key)
                    bucket.records.insert(i, m)
                s.message_session[m.id] = m.session_id
                s.message_seq[m.id] = seq
            if touch_session:
                now = utcnow()
                for sid in {m.session_id for m in batch}:
                    s.sessions[sid] = s.sessions[sid]._replace(updated_at=now)
            if batch:
                s.touch()
        return batch

    def list_messages(self, session_id: UUID) -> list[MessageRecord]:
        """Messages by ``created_at``, ties in append order; ``[]`` for an unknown session."""
        with self._s.lock:
            bucket = self._s.messages.get(session_id)
            return list(bucket.records) if bucket else []

    def _replace_message(self, message_id: UUID, **changes: Any) -> MessageRecord:
        s = self._s
        with s.lock:
            sid = s.message_session.get(message_id)
            if sid is None:
                raise NotFoundError(message_id, "message")
            bucket = s.messages[sid]
            i = next(i for i, m in enumerate(bucket.records) if m.id == message_id)
            updated = bucket.records[i]._replace(**changes)
            bucket.records[i] = updated
            s.touch()
            return updated

    def update_usage(self, message_id: UUID, usage: TokenUsage) -> MessageRecord:
        """Replace a message's usage; ``NotFoundError`` for an unknown message."""
        return self._replace_message(message_id, usage=check_type(usage, TokenUsage, "usage"))

    def list_sessions_paginated(
        self, pagination: Pagination | None = None, filter: SessionFilter | None = None
    ) -> list[Session]:
        """Filtered (metadata containment, created_after inclusive, created_before exclusive), then paged."""
        return filter_and_page(self.list_sessions(), pagination or Pagination(), filter or SessionFilter())

    def list_messages_paginated(self, session_id: UUID, pagination: Pagination) -> list[MessageRecord]:
        """``list_messages`` then skip ``offset`` and take ``limit``."""
        return page(self.list_messages(session_id), pagination)

    def health_check(self) -> None:
        """Raise if the store cannot be used (an in-memory store always can)."""

    def get_latest_compaction(self, session_id: UUID) -> MessageRecord | None:
        """The last ``is_compaction`` message of the session, or None."""
        for m in reversed(self.list_messages(session_id)):
            if m.is_compaction:
                return m
        return None

    def mark_compacted(self, message_id: UUID) -> MessageRecord:
        """Set ``is_summary`` on the message; ``NotFoundError`` for an unknown id."""
        return self._replace_message(message_id, is_summary=True)
