"""Record builders for the conformance suite: public record constructors only, no backend knowledge."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from behest_lab import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TextPart,
    ToolExecution,
    UsageRecord,
    uuid7,
)

#: A fixed instant well in the past, so "now" set by a store is always later than it.
T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """``T0`` plus ``seconds``."""
    return T0 + timedelta(seconds=seconds)


def session(store: Store, **fields: Any) -> Session:
    """Create and return a session (defaults: title "t", model "m", created/updated at ``T0``)."""
    fields.setdefault("title", "t")
    fields.setdefault("model", "m")
    fields.setdefault("created_at", T0)
    fields.setdefault("updated_at", fields["created_at"])
    return store.sessions.create_session(Session(**fields))


def message(
    session_id: UUID, text: str = "hi", *, role: MessageRole = MessageRole.USER, **fields: Any
) -> MessageRecord:
    """A one-text-part message (not stored)."""
    return MessageRecord(session_id=session_id, role=role, content=[TextPart(text=text)], **fields)


def execution(session_id: UUID, message_id: UUID | None = None, **fields: Any) -> ToolExecution:
    """A pending tool execution (not stored)."""
    fields.setdefault("call_id", "call-1")
    fields.setdefault("tool_name", "search")
    fields.setdefault("arguments", {"q": "x"})
    return ToolExecution(session_id=session_id, message_id=message_id or uuid7(), **fields)


def usage(session_id: UUID, input_tokens: int = 10, output_tokens: int = 5, **fields: Any) -> UsageRecord:
    """A usage record (not stored); ``total_tokens`` defaults to input + output."""
    fields.setdefault("total_tokens", input_tokens + output_tokens)
    fields.setdefault("provider", "openai")
    fields.setdefault("model", "gpt-4")
    return UsageRecord(
        session_id=session_id,
        message_id=fields.pop("message_id", None) or uuid7(),
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        **fields,
    )


def embedding(vector: list[float], **fields: Any) -> EmbeddingRecord:
    """An embedding record (not stored); model defaults to "emb"."""
    fields.setdefault("model", "emb")
    return EmbeddingRecord(vector=vector, **fields)


def artifact(data: bytes = b"\x00\x01\x02", **fields: Any) -> Artifact:
    """An artifact (not stored)."""
    fields.setdefault("name", "a.bin")
    fields.setdefault("content_type", "application/octet-stream")
    return Artifact(data=data, **fields)


def count(store: Store, table: str, where: str = "", params: list[Any] | None = None) -> int:
    """``select count(*)`` over one of the store's SQL tables."""
    row = store.sql(f"select count(*) from {table} {where}", params).fetchone()
    assert row is not None
    return int(row[0])
