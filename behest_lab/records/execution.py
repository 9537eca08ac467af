"""Tool executions, usage records and per-session statistics."""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import ClassVar, Self
from uuid import UUID

from pydantic import Field, model_validator

from behest_lab.records._base import U64, BehestRecord, DurationMs, Json, Text, Timestamp
from behest_lab.records._wire import utcnow, uuid7
from behest_lab.records.duration import milliseconds_of
from behest_lab.records.parts import TokenUsage


class ToolExecutionStatus(StrEnum):
    """Outcome of a tool execution; behest's wire values."""

    PENDING = "pending"
    SUCCESS = "success"
    FAILED = "failed"


class ToolExecution(BehestRecord):
    """One run of a tool: arguments, result or error, duration, status."""

    _wire_required: ClassVar[tuple[str, ...]] = (
        "id",
        "session_id",
        "message_id",
        "call_id",
        "tool_name",
        "arguments",
        "status",
        "duration",
        "created_at",
    )

    id: UUID = Field(default_factory=uuid7)
    """Execution id (UUIDv7 by default)."""
    session_id: UUID
    """Session it ran in."""
    message_id: UUID
    """The assistant message that issued the call."""
    call_id: Text
    """Tool call id (``ToolCall.id``)."""
    tool_name: Text
    """Tool name."""
    arguments: Json = None
    """Arguments as JSON."""
    result: Json = None
    """Result as JSON; None until it succeeds (``null`` in JSON)."""
    status: ToolExecutionStatus = ToolExecutionStatus.PENDING
    """pending, success or failed."""
    error: Text | None = None
    """Error message of a failed run."""
    duration: DurationMs = timedelta(0)
    """Wall time; whole milliseconds in JSON."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Start time (aware UTC)."""
    result_null: bool = Field(default=False, exclude=True)
    """True when the result is the JSON value ``null`` itself (behest's ``Some(Value::Null)``), not absent.

    behest's SQL stores tell the two apart (the text ``null`` against SQL NULL); its JSON writes both as ``null``,
    so this flag is not part of the JSON. ``result`` is None either way."""

    @model_validator(mode="after")
    def _null_result(self) -> Self:
        if self.result_null and self.result is not None:
            raise ValueError("result_null is only for a result that is JSON null (result=None)")
        return self

    def with_success(self, result: Json, duration: timedelta) -> Self:
        """A copy with the result, status ``success`` and the duration (the error is left as it was).

        A result of None is behest's ``Some(Value::Null)``: present and JSON null (``result_null``).
        """
        return self._replace(
            result=result, result_null=result is None, status=ToolExecutionStatus.SUCCESS, duration=duration
        )

    def with_failure(self, error: str, duration: timedelta) -> Self:
        """A copy with the error, status ``failed`` and the duration (the result is left as it was)."""
        return self._replace(error=error, status=ToolExecutionStatus.FAILED, duration=duration)

    @property
    def duration_ms(self) -> int:
        """Whole milliseconds, truncated (what behest stores)."""
        return milliseconds_of(self.duration)


class UsageRecord(BehestRecord):
    """Token usage of one model call, attributed to a provider and model.

    behest's record has only input/output/total; behest_lab adds the three optional cache counters so costs can
    price cache reads and writes. They are omitted from JSON when None, so behest reads our JSON unchanged.
    """

    _omit_if_none: ClassVar[tuple[str, ...]] = (
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "cached_input_tokens",
    )
    _wire_required: ClassVar[tuple[str, ...]] = (
        "id",
        "session_id",
        "message_id",
        "provider",
        "model",
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "created_at",
    )

    id: UUID = Field(default_factory=uuid7)
    """Usage record id (UUIDv7 by default)."""
    session_id: UUID
    """Session of the call."""
    message_id: UUID
    """Message produced by the call."""
    provider: Text
    """Provider name (``anthropic``, ``openai``, ...)."""
    model: Text
    """Model name as the provider reports it."""
    input_tokens: U64
    """Prompt tokens."""
    output_tokens: U64
    """Completion tokens."""
    total_tokens: U64
    """Total as reported (not recomputed)."""
    created_at: Timestamp = Field(default_factory=utcnow)
    """Time of the call (aware UTC)."""
    cache_creation_input_tokens: U64 | None = None
    """Prompt tokens written to the cache (behest_lab extension; omitted from JSON when None)."""
    cache_read_input_tokens: U64 | None = None
    """Prompt tokens read from the cache (behest_lab extension; omitted from JSON when None)."""
    cached_input_tokens: U64 | None = None
    """OpenAI-style cached prompt tokens (behest_lab extension; omitted from JSON when None)."""

    @classmethod
    def new(cls, session_id: UUID, message_id: UUID, provider: str, model: str, usage: TokenUsage) -> Self:
        """``UsageRecord::new``: copies the counters (total as given, not recomputed) and the cache counters."""
        return cls(
            session_id=session_id,
            message_id=message_id,
            provider=provider,
            model=model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            total_tokens=usage.total_tokens,
            cache_creation_input_tokens=usage.cache_creation_input_tokens,
            cache_read_input_tokens=usage.cache_read_input_tokens,
            cached_input_tokens=usage.cached_input_tokens,
        )


class SessionStats(BehestRecord):
    """Aggregates of one session (``ExecutionStore::session_stats``)."""

    session_id: UUID
    """The session."""
    message_count: U64 = 0
    """Number of stored messages."""
    tool_call_count: U64 = 0
    """Tool executions, any status."""
    tool_success_count: U64 = 0
    """Executions with status success."""
    tool_failure_count: U64 = 0
    """Executions with status failed."""
    total_input_tokens: U64 = 0
    """Sum of ``UsageRecord.input_tokens``."""
    total_output_tokens: U64 = 0
    """Sum of ``UsageRecord.output_tokens``."""
    total_tokens: U64 = 0
    """Sum of the stored ``UsageRecord.total_tokens``."""
    avg_tool_duration_ms: U64 = 0
    """Floor of the mean whole-millisecond duration over all executions; 0 when there are none."""

    @classmethod
    def empty(cls, session_id: UUID) -> Self:
        """All zeros."""
        return cls(session_id=session_id)


__all__ = ["SessionStats", "ToolExecution", "ToolExecutionStatus", "UsageRecord"]
