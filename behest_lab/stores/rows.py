"""Rows of the analytical tables back to records (the inverse of ``tables.to_arrow``).

A row is a ``dict`` of column values as DuckDB or Arrow give them; ``behest_lab.stores.tables`` re-exports these
functions, so callers use ``tables.message_from_row`` and friends.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from pydantic import ValidationError

from behest_lab.errors import DataCorruptionError
from behest_lab.records import (
    Artifact,
    CompactionMeta,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    Session,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    UsageRecord,
)
from behest_lab.records.instant import Instant

_U64_RANGE = 2**64


def _instant(row: dict[str, Any], name: str) -> Any:
    """Column ``name`` with its ``<name>_ns`` column (absent or NULL: 0) as an ``Instant``; None stays None."""
    value = row[name]
    if not isinstance(value, datetime):
        return value
    return Instant.from_datetime(value, row.get(f"{name}_ns") or 0)


def _load(value: Any, field: str) -> Any:
    if value is None:
        return None
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except json.JSONDecodeError as exc:
        raise DataCorruptionError(field, f"invalid JSON: {exc}") from None


def _corrupt(table: str, exc: ValidationError) -> DataCorruptionError:
    err = exc.errors()[0]
    loc = ".".join(str(x) for x in err["loc"])
    return DataCorruptionError(f"{table}.{loc}", err["msg"])


def session_from_row(row: dict[str, Any]) -> Session:
    """A ``Session`` from a ``sessions`` row."""
    try:
        return Session(
            id=row["id"],
            title=row["title"],
            model=row["model"],
            created_at=_instant(row, "created_at"),
            updated_at=_instant(row, "updated_at"),
            metadata=_load(row["metadata"], "sessions.metadata"),
        )
    except ValidationError as exc:
        raise _corrupt("sessions", exc) from None


def _part_from_row(p: dict[str, Any]) -> Any:
    cc = None
    if p.get("cache_kind") is not None:
        cc = {"kind": p["cache_kind"], "ttl": p["cache_ttl"]}
    kind = p["type"]
    if kind == "text":
        return TextPart(text=p["text"], cache_control=cc)
    if kind == "json":
        return JsonPart(value=_load(p["value"], "messages.content.value"), cache_control=cc)
    if kind == "image_url":
        return ImageUrlPart(url=p["url"], mime_type=p["mime_type"], cache_control=cc)
    raise DataCorruptionError("messages.content.type", f"unknown content part type {kind!r}")


def message_from_row(row: dict[str, Any]) -> MessageRecord:
    """A ``MessageRecord`` from a ``messages`` row."""
    try:
        usage = None
        if row["total_tokens"] is not None and row.get("usage_cache_keys") is False:
            usage = TokenUsage.without_cache_keys(row["input_tokens"], row["output_tokens"], row["total_tokens"])
        elif row["total_tokens"] is not None:
            usage = TokenUsage(
                input_tokens=row["input_tokens"],
                output_tokens=row["output_tokens"],
                total_tokens=row["total_tokens"],
                cache_creation_input_tokens=row["cache_creation_input_tokens"],
                cache_read_input_tokens=row["cache_read_input_tokens"],
                cached_input_tokens=row["cached_input_tokens"],
            )
        meta = None
        if row["has_compaction_meta"]:
            meta = CompactionMeta(
                tail_start_id=row["tail_start_id"],
                previous_compaction_id=row["previous_compaction_id"],
                summary_text=row["summary_text"],
            )
        return MessageRecord(
            id=row["id"],
            session_id=row["session_id"],
            role=row["role"],
            content=[_part_from_row(p) for p in row["content"] or []],
            tool_calls=[
                ToolCall(id=c["id"], name=c["name"], arguments=_load(c["arguments"], "messages.tool_calls"))
                for c in row["tool_calls"] or []
            ],
            tool_call_id=row["tool_call_id"],
            tool_name=row["tool_name"],
            usage=usage,
            created_at=_instant(row, "created_at"),
            is_compaction=bool(row["is_compaction"]),
            is_summary=bool(row["is_summary"]),
            compaction_meta=meta,
        )
    except ValidationError as exc:
        raise _corrupt("messages", exc) from None


def _duration(row: dict[str, Any]) -> Any:
    if row["duration_us"] is not None:
        return timedelta(microseconds=row["duration_us"])
    ms = row["duration_ms"]
    return ms + _U64_RANGE if ms is not None and ms < 0 else ms  # whole ms, a LongDuration when long


def execution_from_row(row: dict[str, Any]) -> ToolExecution:
    """A ``ToolExecution`` from a ``tool_executions`` row."""
    try:
        return ToolExecution(
            id=row["id"],
            session_id=row["session_id"],
            message_id=row["message_id"],
            call_id=row["call_id"],
            tool_name=row["tool_name"],
            arguments=_load(row["arguments"], "tool_executions.arguments"),
            result=_load(row["result"], "tool_executions.result"),
            result_null=row["result"] is not None and _load(row["result"], "tool_executions.result") is None,
            status=row["status"],
            error=row["error"],
            duration=_duration(row),
            created_at=_instant(row, "created_at"),
        )
    except ValidationError as exc:
        raise _corrupt("tool_executions", exc) from None


def usage_from_row(row: dict[str, Any]) -> UsageRecord:
    """A ``UsageRecord`` from a ``usage_records`` row."""
    try:
        return UsageRecord(
            id=row["id"],
            session_id=row["session_id"],
            message_id=row["message_id"],
            provider=row["provider"],
            model=row["model"],
            input_tokens=row["input_tokens"],
            output_tokens=row["output_tokens"],
            total_tokens=row["total_tokens"],
            cache_creation_input_tokens=row["cache_creation_input_tokens"],
            cache_read_input_tokens=row["cache_read_input_tokens"],
            cached_input_tokens=row["cached_input_tokens"],
            created_at=_instant(row, "created_at"),
        )
    except ValidationError as exc:
        raise _corrupt("usage_records", exc) from None


def embedding_from_row(row: dict[str, Any]) -> EmbeddingRecord:
    """An ``EmbeddingRecord`` from an ``embeddings`` row."""
    try:
        return EmbeddingRecord(
            id=row["id"],
            session_id=row["session_id"],
            model=row["model"],
            vector=row["vector"],
            metadata=_load(row["metadata"], "embeddings.metadata"),
            created_at=_instant(row, "created_at"),
        )
    except ValidationError as exc:
        raise _corrupt("embeddings", exc) from None


def artifact_from_row(row: dict[str, Any], data: bytes) -> Artifact:
    """An ``Artifact`` from an ``artifacts`` row and its bytes."""
    try:
        return Artifact(
            id=row["id"],
            session_id=row["session_id"],
            name=row["name"],
            content_type=row["content_type"],
            data=data,
            metadata=_load(row["metadata"], "artifacts.metadata"),
            created_at=_instant(row, "created_at"),
        )
    except ValidationError as exc:
        raise _corrupt("artifacts", exc) from None


__all__ = [
    "artifact_from_row",
    "embedding_from_row",
    "execution_from_row",
    "message_from_row",
    "session_from_row",
    "usage_from_row",
]
