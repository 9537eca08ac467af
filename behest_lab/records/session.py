"""Sessions and their messages (``behest_store::Session``, ``MessageRecord`` and friends)."""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, Self
from uuid import UUID

from pydantic import Field, ValidationInfo, model_validator

from behest_lab.records._base import BehestRecord, Json, Text, Timestamp
from behest_lab.records._wire import utcnow, uuid7
from behest_lab.records.parts import ContentPart, TextPart, TokenUsage, ToolCall


class MessageRole(StrEnum):
    """Who wrote a message; behest's snake_case wire values."""

    SYSTEM = "system"
    USER = "user"
    ASSISTANT = "assistant"
    TOOL = "tool"


class Session(BehestRecord):
    """One agent conversation.

    ``Session(title="Chat", model="gpt-4")`` gets a new UUIDv7 id and ``created_at == updated_at == now``.
    """

    _wire_required: ClassVar[tuple[str, ...]] = (
        "id",
        "title",
        "model",
        "created_at",
        "updated_at",
        "metadata",
    )

    id: UUID = Field(default_factory=uuid7)
    """Session id (UUIDv7 by default)."""
    title: Text
    """Human-readable title; may be empty."""
    model: Text
    """Model name (behest's ``ModelName``, a bare string)."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Creation time (aware UTC)."""
    updated_at: Timestamp = Field(default_factory=utcnow)
    """Last change: set to now by ``append_message`` and ``update_session``."""
    metadata: Json = None
    """Free-form JSON; ``null`` by default."""

    @model_validator(mode="before")
    @classmethod
    def _default_times(cls, data: Any, info: ValidationInfo) -> Any:
        if isinstance(data, dict) and not (info.context and info.context.get("wire")):
            if "created_at" not in data or data["created_at"] is None:
                data = {**data, "created_at": utcnow()}
            if "updated_at" not in data or data["updated_at"] is None:
                data = {**data, "updated_at": data["created_at"]}
        return data

    @classmethod
    def new(cls, title: str, model: str) -> Self:
        """``Session::new(title, model)``."""
        return cls(title=title, model=model)

    def with_metadata(self, metadata: Json) -> Self:
        """A copy with ``metadata`` replaced."""
        return self._replace(metadata=metadata)


class CompactionMeta(BehestRecord):
    """Bookkeeping on compaction and summary messages; all three keys always serialised."""

    tail_start_id: UUID | None = None
    """First message kept verbatim after the compaction."""
    previous_compaction_id: UUID | None = None
    """The compaction this one continues, if any."""
    summary_text: Text | None = None
    """The summary (set on the summary message)."""

    @classmethod
    def new(cls, tail_start_id: UUID | None) -> Self:
        """``CompactionMeta::new(tail)``."""
        return cls(tail_start_id=tail_start_id)

    def with_previous(self, previous_compaction_id: UUID) -> Self:
        """A copy with ``previous_compaction_id`` set."""
        return self._replace(previous_compaction_id=previous_compaction_id)

    def with_summary(self, summary_text: str) -> Self:
        """A copy with ``summary_text`` set."""
        return self._replace(summary_text=summary_text)


class MessageRecord(BehestRecord):
    """One stored message of a session."""

    _omit_if_none: ClassVar[tuple[str, ...]] = ("tool_call_id", "tool_name", "usage", "compaction_meta")
    _omit_if_empty: ClassVar[tuple[str, ...]] = ("tool_calls",)
    _wire_required: ClassVar[tuple[str, ...]] = ("id", "session_id", "role", "content", "created_at")

    id: UUID = Field(default_factory=uuid7)
    """Message id (UUIDv7 by default)."""
    session_id: UUID
    """The session it belongs to."""
    role: MessageRole
    """system, user, assistant or tool."""
    content: list[ContentPart]
    """Content parts (may be empty)."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    """Tool calls issued by an assistant message; omitted from JSON when empty."""
    tool_call_id: Text | None = None
    """On a tool result: the call it answers; omitted from JSON when None."""
    tool_name: Text | None = None
    """On a tool result: the tool's name; omitted from JSON when None."""
    usage: TokenUsage | None = None
    """Token usage of the model call that produced it; omitted from JSON when None."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Creation time (aware UTC)."""
    is_compaction: bool = False
    """True on the user message that marks a compaction."""
    is_summary: bool = False
    """True on the assistant message holding a compaction summary (or marked by ``mark_compacted``)."""
    compaction_meta: CompactionMeta | None = None
    """Compaction bookkeeping; omitted from JSON when None."""

    @classmethod
    def new(cls, session_id: UUID, role: MessageRole, content: list[Any]) -> Self:
        """``MessageRecord::new(session_id, role, content)``."""
        return cls(session_id=session_id, role=role, content=content)

    @classmethod
    def text(cls, session_id: UUID, role: MessageRole, text: str, **fields: Any) -> Self:
        """Shortcut for a message with one text part."""
        return cls(session_id=session_id, role=role, content=[TextPart(text=text)], **fields)

    def with_tool_result(self, call_id: str, name: str) -> Self:
        """A copy marked as the result of tool call ``call_id`` of tool ``name``."""
        return self._replace(tool_call_id=call_id, tool_name=name)

    def with_tool_calls(self, tool_calls: list[ToolCall]) -> Self:
        """A copy with ``tool_calls`` replaced."""
        return self._replace(tool_calls=tool_calls)

    def with_usage(self, usage: TokenUsage) -> Self:
        """A copy with ``usage`` set."""
        return self._replace(usage=usage)

    def with_compaction(self, meta: CompactionMeta) -> Self:
        """A copy marked as a compaction message (``is_compaction``) carrying ``meta``."""
        return self._replace(is_compaction=True, compaction_meta=meta)

    def with_summary(self, meta: CompactionMeta) -> Self:
        """A copy marked as a summary message (``is_summary``) carrying ``meta``."""
        return self._replace(is_summary=True, compaction_meta=meta)

    @property
    def text_content(self) -> str:
        """The text parts joined by newlines."""
        return "\n".join(p.text for p in self.content if isinstance(p, TextPart))


class Pagination(BehestRecord):
    """``limit``/``offset`` window; defaults 100 and 0. Both keys required in JSON."""

    _wire_required: ClassVar[tuple[str, ...]] = ("limit", "offset")

    limit: int = Field(default=100, strict=True, ge=0, le=2**32 - 1)
    """Maximum number of items (u32)."""
    offset: int = Field(default=0, strict=True, ge=0, le=2**32 - 1)
    """Items to skip (u32)."""


class SessionFilter(BehestRecord):
    """Filter for ``list_sessions_paginated``.

    ``metadata_filter`` matches by containment (every key of the filter present with an equal value, recursively);
    ``created_after`` is inclusive and ``created_before`` exclusive.
    """

    metadata_filter: Json = None
    """Containment filter on session metadata; None means no filter."""
    created_after: Timestamp | None = None
    """Keep sessions created at or after this instant."""
    created_before: Timestamp | None = None
    """Keep sessions created strictly before this instant."""


__all__ = ["CompactionMeta", "MessageRecord", "MessageRole", "Pagination", "Session", "SessionFilter"]
