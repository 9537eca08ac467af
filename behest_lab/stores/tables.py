"""The analytical tables, derived from the records in one place.

Every backend exposes the same tables to SQL (``store.sql``): the lake stores them as Parquet in DuckLake, the
memory store builds them on demand. Columns are typed for analysis: token counts and durations are integers,
timestamps ``TIMESTAMPTZ``, message usage and compaction metadata are plain columns; JSON only holds free-form data
(metadata, tool arguments and results, json content parts).

``to_arrow(kind, records)`` turns records into an Arrow table with these columns; ``*_from_row`` turn a row (a
``dict`` of column values, as DuckDB or Arrow give them) back into a record.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pyarrow as pa
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

SCHEMA_VERSION = 1

_TS = pa.timestamp("us", tz="UTC")
_JSON_NULL = None


@dataclass(frozen=True)
class Column:
    """One column: its name, DuckDB type and Arrow type, and a one-line description."""

    name: str
    sql: str
    arrow: pa.DataType
    doc: str


def _c(name: str, sql: str, arrow: pa.DataType, doc: str) -> Column:
    return Column(name, sql, arrow, doc)


_CONTENT_STRUCT = (
    "STRUCT(type VARCHAR, text VARCHAR, value JSON, url VARCHAR, mime_type VARCHAR, "
    "cache_kind VARCHAR, cache_ttl VARCHAR)"
)
_CONTENT_ARROW = pa.struct(
    [
        ("type", pa.string()),
        ("text", pa.string()),
        ("value", pa.string()),
        ("url", pa.string()),
        ("mime_type", pa.string()),
        ("cache_kind", pa.string()),
        ("cache_ttl", pa.string()),
    ]
)
_CALL_STRUCT = "STRUCT(id VARCHAR, name VARCHAR, arguments JSON)"
_CALL_ARROW = pa.struct([("id", pa.string()), ("name", pa.string()), ("arguments", pa.string())])

_TOKENS = [
    _c("input_tokens", "UBIGINT", pa.uint64(), "prompt tokens"),
    _c("output_tokens", "UBIGINT", pa.uint64(), "completion tokens"),
    _c("total_tokens", "UBIGINT", pa.uint64(), "total tokens as reported"),
    _c("cache_creation_input_tokens", "UBIGINT", pa.uint64(), "prompt tokens written to the cache"),
    _c("cache_read_input_tokens", "UBIGINT", pa.uint64(), "prompt tokens read from the cache"),
    _c("cached_input_tokens", "UBIGINT", pa.uint64(), "OpenAI-style cached prompt tokens"),
]

TABLES: dict[str, list[Column]] = {
    "sessions": [
        _c("id", "UUID", pa.string(), "session id"),
        _c("title", "VARCHAR", pa.string(), "title"),
        _c("model", "VARCHAR", pa.string(), "model name"),
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
        _c("updated_at", "TIMESTAMPTZ", _TS, "last change"),
        _c("metadata", "JSON", pa.string(), "free-form metadata"),
    ],
    "messages": [
        _c("id", "UUID", pa.string(), "message id"),
        _c("session_id", "UUID", pa.string(), "session id"),
        _c("seq", "BIGINT", pa.int64(), "append order (breaks created_at ties)"),
        _c("role", "VARCHAR", pa.string(), "system, user, assistant or tool"),
        _c("content", f"{_CONTENT_STRUCT}[]", pa.list_(_CONTENT_ARROW), "content parts"),
        _c("text", "VARCHAR", pa.string(), "text parts joined by newlines"),
        _c("tool_calls", f"{_CALL_STRUCT}[]", pa.list_(_CALL_ARROW), "tool calls"),
        _c("tool_call_id", "VARCHAR", pa.string(), "tool result: the call it answers"),
        _c("tool_name", "VARCHAR", pa.string(), "tool result: the tool"),
        *[Column(c.name, c.sql, c.arrow, c.doc + " (message usage; NULL when the message has none)") for c in _TOKENS],
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
        _c("is_compaction", "BOOLEAN", pa.bool_(), "compaction marker message"),
        _c("is_summary", "BOOLEAN", pa.bool_(), "summary message"),
        _c("has_compaction_meta", "BOOLEAN", pa.bool_(), "compaction_meta present"),
        _c("tail_start_id", "UUID", pa.string(), "compaction_meta.tail_start_id"),
        _c("previous_compaction_id", "UUID", pa.string(), "compaction_meta.previous_compaction_id"),
        _c("summary_text", "VARCHAR", pa.string(), "compaction_meta.summary_text"),
    ],
    "tool_executions": [
        _c("id", "UUID", pa.string(), "execution id"),
        _c("session_id", "UUID", pa.string(), "session id"),
        _c("message_id", "UUID", pa.string(), "assistant message that issued the call"),
        _c("call_id", "VARCHAR", pa.string(), "tool call id"),
        _c("tool_name", "VARCHAR", pa.string(), "tool name"),
        _c("arguments", "JSON", pa.string(), "arguments"),
        _c("result", "JSON", pa.string(), "result (NULL when none)"),
        _c("status", "VARCHAR", pa.string(), "pending, success or failed"),
        _c("error", "VARCHAR", pa.string(), "error message"),
        _c("duration_us", "BIGINT", pa.int64(), "duration in microseconds"),
        _c("duration_ms", "BIGINT", pa.int64(), "duration in whole milliseconds (truncated)"),
        _c("created_at", "TIMESTAMPTZ", _TS, "start time"),
    ],
    "usage_records": [
        _c("id", "UUID", pa.string(), "usage record id"),
        _c("session_id", "UUID", pa.string(), "session id"),
        _c("message_id", "UUID", pa.string(), "message id"),
        _c("provider", "VARCHAR", pa.string(), "provider"),
        _c("model", "VARCHAR", pa.string(), "model"),
        *_TOKENS,
        _c("created_at", "TIMESTAMPTZ", _TS, "time of the call"),
    ],
    "embeddings": [
        _c("id", "UUID", pa.string(), "embedding id"),
        _c("session_id", "UUID", pa.string(), "session id (NULL when none)"),
        _c("model", "VARCHAR", pa.string(), "embedding model"),
        _c("dim", "INTEGER", pa.int32(), "vector dimension"),
        _c("vector", "FLOAT[]", pa.list_(pa.float32()), "float32 components"),
        _c("metadata", "JSON", pa.string(), "free-form metadata"),
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
    ],
    "artifacts": [
        _c("id", "UUID", pa.string(), "artifact id"),
        _c("session_id", "UUID", pa.string(), "session id (NULL when none)"),
        _c("name", "VARCHAR", pa.string(), "name"),
        _c("content_type", "VARCHAR", pa.string(), "MIME type"),
        _c("size", "BIGINT", pa.int64(), "number of bytes"),
        _c("metadata", "JSON", pa.string(), "free-form metadata"),
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
    ],
    "artifact_data": [
        _c("id", "UUID", pa.string(), "artifact id"),
        _c("data", "BLOB", pa.binary(), "the bytes"),
    ],
}


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``."""
    return pa.schema([(c.name, c.arrow) for c in TABLES[table]])


def create_table_sql(table: str, qualified: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table`` (optionally under another qualified name)."""
    cols = ", ".join(f"{c.name} {c.sql}" for c in TABLES[table])
    return f"CREATE TABLE IF NOT EXISTS {qualified or table} ({cols})"


def cast_select_sql(table: str, source: str) -> str:
    """``SELECT`` that reads ``source`` (an Arrow scan with this table's columns) with the SQL column types."""
    cols = ", ".join(f"CAST({c.name} AS {c.sql}) AS {c.name}" for c in TABLES[table])
    return f"SELECT {cols} FROM {source}"


# --- records -> columns --------------------------------------------------------------------------------------


def _dump(value: Any) -> str | None:
    """JSON text of a free-form value (None stays NULL)."""
    if value is None:
        return None
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def _uuid(value: Any) -> str | None:
    return None if value is None else str(value)


def _content_row(part: Any) -> dict[str, Any]:
    cc = part.cache_control
    row: dict[str, Any] = {
        "type": part.type,
        "text": None,
        "value": None,
        "url": None,
        "mime_type": None,
        "cache_kind": None if cc is None else cc.kind.value,
        "cache_ttl": None if cc is None else cc.ttl.value,
    }
    if isinstance(part, TextPart):
        row["text"] = part.text
    elif isinstance(part, JsonPart):
        row["value"] = json.dumps(part.value, ensure_ascii=False, separators=(",", ":"))
    else:
        row["url"] = part.url
        row["mime_type"] = part.mime_type
    return row


def _session_cols(r: Session) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "title": r.title,
        "model": r.model,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "metadata": _dump(r.metadata),
    }


def _message_cols(r: MessageRecord, seq: int) -> dict[str, Any]:
    u = r.usage
    cm = r.compaction_meta
    return {
        "id": str(r.id),
        "session_id": str(r.session_id),
        "seq": seq,
        "role": r.role.value,
        "content": [_content_row(p) for p in r.content],
        "text": r.text_content,
        "tool_calls": [
            {
                "id": c.id,
                "name": c.name,
                "arguments": json.dumps(c.arguments, ensure_ascii=False, separators=(",", ":")),
            }
            for c in r.tool_calls
        ],
        "tool_call_id": r.tool_call_id,
        "tool_name": r.tool_name,
        "input_tokens": None if u is None else u.input_tokens,
        "output_tokens": None if u is None else u.output_tokens,
        "total_tokens": None if u is None else u.total_tokens,
        "cache_creation_input_tokens": None if u is None else u.cache_creation_input_tokens,
        "cache_read_input_tokens": None if u is None else u.cache_read_input_tokens,
        "cached_input_tokens": None if u is None else u.cached_input_tokens,
        "created_at": r.created_at,
        "is_compaction": r.is_compaction,
        "is_summary": r.is_summary,
        "has_compaction_meta": cm is not None,
        "tail_start_id": None if cm is None else _uuid(cm.tail_start_id),
        "previous_compaction_id": None if cm is None else _uuid(cm.previous_compaction_id),
        "summary_text": None if cm is None else cm.summary_text,
    }


def _execution_cols(r: ToolExecution) -> dict[str, Any]:
    us = r.duration // timedelta(microseconds=1)
    return {
        "id": str(r.id),
        "session_id": str(r.session_id),
        "message_id": str(r.message_id),
        "call_id": r.call_id,
        "tool_name": r.tool_name,
        "arguments": json.dumps(r.arguments, ensure_ascii=False, separators=(",", ":")),
        "result": _dump(r.result),
        "status": r.status.value,
        "error": r.error,
        "duration_us": us,
        "duration_ms": us // 1000,
        "created_at": r.created_at,
    }


def _usage_cols(r: UsageRecord) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "session_id": str(r.session_id),
        "message_id": str(r.message_id),
        "provider": r.provider,
        "model": r.model,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "total_tokens": r.total_tokens,
        "cache_creation_input_tokens": r.cache_creation_input_tokens,
        "cache_read_input_tokens": r.cache_read_input_tokens,
        "cached_input_tokens": r.cached_input_tokens,
        "created_at": r.created_at,
    }


def _embedding_cols(r: EmbeddingRecord) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "session_id": _uuid(r.session_id),
        "model": r.model,
        "dim": len(r.vector),
        "vector": r.vector,
        "metadata": _dump(r.metadata),
        "created_at": r.created_at,
    }


def _artifact_cols(r: Artifact) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "session_id": _uuid(r.session_id),
        "name": r.name,
        "content_type": r.content_type,
        "size": len(r.data),
        "metadata": _dump(r.metadata),
        "created_at": r.created_at,
    }


_ROW_MAKERS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "sessions": _session_cols,
    "tool_executions": _execution_cols,
    "usage_records": _usage_cols,
    "embeddings": _embedding_cols,
    "artifacts": _artifact_cols,
    "artifact_data": lambda r: {"id": str(r.id), "data": r.data},
}


def to_arrow(table: str, records: Iterable[Any], seqs: Sequence[int] | None = None) -> pa.Table:
    """Records as an Arrow table with ``table``'s columns (``seqs`` gives the messages' append order)."""
    if table == "messages":
        if seqs is None:
            raise ValueError("messages need their seq numbers")
        rows = [_message_cols(r, s) for r, s in zip(records, seqs, strict=True)]
    else:
        make = _ROW_MAKERS[table]
        rows = [make(r) for r in records]
    schema = arrow_schema(table)
    columns = {c.name: [row[c.name] for row in rows] for c in TABLES[table]}
    return pa.table(columns, schema=schema)


# --- columns -> records --------------------------------------------------------------------------------------


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
            created_at=row["created_at"],
            updated_at=row["updated_at"],
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
        if row["total_tokens"] is not None:
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
            created_at=row["created_at"],
            is_compaction=bool(row["is_compaction"]),
            is_summary=bool(row["is_summary"]),
            compaction_meta=meta,
        )
    except ValidationError as exc:
        raise _corrupt("messages", exc) from None


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
            status=row["status"],
            error=row["error"],
            duration=timedelta(microseconds=row["duration_us"]),
            created_at=row["created_at"],
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
            created_at=row["created_at"],
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
            created_at=row["created_at"],
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
            created_at=row["created_at"],
        )
    except ValidationError as exc:
        raise _corrupt("artifacts", exc) from None
