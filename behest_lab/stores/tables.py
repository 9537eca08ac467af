"""The analytical tables, declared once as column specs from which every conversion is generated.

Every backend exposes the same tables to SQL (``store.sql``): the lake stores them as Parquet in DuckLake, the
memory store builds them on demand. Columns are typed for analysis: token counts and durations are integers,
timestamps ``TIMESTAMPTZ``, message usage and compaction metadata are plain columns; JSON only holds free-form data
(metadata, tool arguments and results, json content parts).

``SPECS`` holds one ``columns.TableSpec`` per table: each column's name, type, where its value comes from in the
record and which record fields it restores. From them come ``arrow_schema``, ``to_arrow`` (bulk writes and the
memory store's SQL tables), ``row_params`` (single-row writes, no Arrow on the way) and the ``*_from_row``
functions. The lake's table definitions are not derived from here at run time: each migration step
(``stores/lake/migrations.py``) keeps the literal definitions it created, and a test holds a new store's tables to
these specs.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pyarrow as pa

from behest_lab.errors import SerializationError
from behest_lab.records import Artifact, EmbeddingRecord, MessageRecord, Session, TokenUsage, ToolExecution, UsageRecord
from behest_lab.stores import fields
from behest_lab.stores.columns import (
    BLOB,
    BOOL,
    I32,
    I64,
    JSON_FREE,
    JSON_TEXT,
    JSON_VALUE,
    NANOS,
    TEXT,
    TIMESTAMP,
    U64,
    UUID,
    Column,
    Kind,
    Row,
    TableSpec,
    arrow_batch,
    col,
    load_json,
    record_from_row,
)
from behest_lab.stores.columns import row_params as _row_params
from behest_lab.stores.fields import TOKEN_COUNTERS

SCHEMA_VERSION = 7

_NS_DOC = "nanoseconds past {}'s microsecond, 0-999 (NULL in rows stored before schema 3: not known)"


def _ns(name: str) -> Column:
    return col(f"{name}_ns", NANOS, _NS_DOC.format(name), source=(name,))


# --- the tables -------------------------------------------------------------------------------------------------

SPECS: dict[str, TableSpec] = {
    spec.name: spec
    for spec in (
        TableSpec(
            "sessions",
            (
                col("id", UUID, "session id"),
                col("title", TEXT, "title"),
                col("model", TEXT, "model name"),
                col("created_at", TIMESTAMP, "creation time"),
                col("updated_at", TIMESTAMP, "last change"),
                col("metadata", JSON_FREE, "free-form metadata"),
                _ns("created_at"),
                _ns("updated_at"),
            ),
            Session,
        ),
        TableSpec(
            "messages",
            (
                col("id", UUID, "message id"),
                col("session_id", UUID, "session id"),
                col("seq", I64, "append order (breaks created_at ties)", given=True),
                col("role", TEXT, "system, user, assistant or tool"),
                col(
                    "content",
                    fields.CONTENT,
                    "content parts",
                    bulk=fields.content_array,
                ),
                col(
                    "text",
                    TEXT,
                    "text parts joined by newlines",
                    source=("content",),
                    derive=fields.joined_text,
                    bulk=fields.text_array,
                ),
                col("tool_calls", fields.CALLS, "tool calls"),
                col("tool_call_id", TEXT, "tool result: the call it answers"),
                col("tool_name", TEXT, "tool result: the tool"),
                *fields.usage_columns(),
                col("created_at", TIMESTAMP, "creation time"),
                col("is_compaction", BOOL, "compaction marker message"),
                col("is_summary", BOOL, "summary message"),
                col(
                    "has_compaction_meta",
                    BOOL,
                    "compaction_meta present",
                    source=("compaction_meta",),
                    derive=lambda meta: meta is not None,
                    restores={"compaction_meta": fields.meta_from_row},
                ),
                col(
                    "tail_start_id", UUID, "compaction_meta.tail_start_id", source=("compaction_meta", "tail_start_id")
                ),
                col(
                    "previous_compaction_id",
                    UUID,
                    "compaction_meta.previous_compaction_id",
                    source=("compaction_meta", "previous_compaction_id"),
                ),
                col("summary_text", TEXT, "compaction_meta.summary_text", source=("compaction_meta", "summary_text")),
                _ns("created_at"),
                col(
                    "usage_cache_keys",
                    BOOL,
                    "FALSE: the usage had behest 0.3.1's three keys only (written back so); NULL: no usage or stored "
                    "before schema 4",
                    source=("usage",),
                    derive=fields.three_keys_flag,
                ),
            ),
            MessageRecord,
        ),
        TableSpec(
            "tool_executions",
            (
                col("id", UUID, "execution id"),
                col("session_id", UUID, "session id"),
                col("message_id", UUID, "assistant message that issued the call"),
                col("call_id", TEXT, "tool call id"),
                col("tool_name", TEXT, "tool name"),
                col("arguments", JSON_VALUE, "arguments"),
                col(
                    "result",
                    JSON_TEXT,
                    "result (NULL when none; JSON null when behest held Some(null))",
                    source=(),
                    derive=fields.result_text,
                    restores={
                        "result": lambda row: load_json(row["result"], "tool_executions.result"),
                        "result_null": fields.result_null,
                    },
                ),
                col("status", TEXT, "pending, success or failed"),
                col("error", TEXT, "error message"),
                col(
                    "duration_us",
                    I64,
                    "duration in microseconds (NULL when beyond BIGINT)",
                    source=(),
                    derive=fields.duration_us,
                    bulk=fields.duration_us_array,
                    restores={"duration": fields.duration_from_row},
                ),
                col(
                    "duration_ms",
                    I64,
                    "duration in whole milliseconds (truncated; beyond BIGINT, behest's u64 wrapped negative as "
                    "behest's SQL writes u64 counters)",
                    source=(),
                    derive=fields.duration_ms,
                    bulk=fields.duration_ms_array,
                ),
                col("created_at", TIMESTAMP, "start time"),
                _ns("created_at"),
            ),
            ToolExecution,
        ),
        TableSpec(
            "usage_records",
            (
                col("id", UUID, "usage record id"),
                col("session_id", UUID, "session id"),
                col("message_id", UUID, "message id"),
                col("provider", TEXT, "provider"),
                col("model", TEXT, "model"),
                *[col(name, U64, doc) for name, doc in TOKEN_COUNTERS.items()],
                col("created_at", TIMESTAMP, "time of the call"),
                _ns("created_at"),
            ),
            UsageRecord,
        ),
        TableSpec(
            "embeddings",
            (
                col("id", UUID, "embedding id"),
                col("session_id", UUID, "session id (NULL when none)"),
                col("model", TEXT, "embedding model"),
                col(
                    "dim",
                    I32,
                    "vector dimension",
                    source=("vector",),
                    derive=len,
                    bulk=fields.dims_array,
                ),
                col(
                    "vector",
                    Kind("FLOAT[]", pa.list_(pa.float32())),
                    "float32 components (for SQL: list_cosine_similarity, ...)",
                    bulk=fields.vectors_array,
                ),
                # The same components as raw bytes: a search index loads 1M x 384 of these in about a second, where
                # DuckDB's FLOAT[] to Arrow conversion takes several (bench/bench_store.py measures the cold search).
                col(
                    "vector_f32",
                    BLOB,
                    "the components as little-endian float32 bytes",
                    source=("vector",),
                    derive=fields.vector_bytes,
                    bulk=fields.vector_bytes_array,
                ),
                col("metadata", JSON_FREE, "free-form metadata"),
                col("created_at", TIMESTAMP, "creation time"),
                _ns("created_at"),
                # Parquet verifies none of the vector bytes: a search checks them against this (vectors.parquet)
                col(
                    "vector_check",
                    I64,
                    "checksum of vector_f32 (NULL in rows stored before schema 6)",
                    source=("vector",),
                    derive=fields.vector_check,
                    bulk=fields.vector_check_array,
                ),
            ),
            EmbeddingRecord,
        ),
        TableSpec(
            "artifacts",
            (
                col("id", UUID, "artifact id"),
                col("session_id", UUID, "session id (NULL when none)"),
                col("name", TEXT, "name"),
                col("content_type", TEXT, "MIME type"),
                col("size", I64, "number of bytes", source=("data",), derive=len),
                col("metadata", JSON_FREE, "free-form metadata"),
                col("created_at", TIMESTAMP, "creation time"),
                _ns("created_at"),
            ),
            Artifact,
            given_fields=("data",),
        ),
        TableSpec(
            "artifact_data",
            (
                col("id", UUID, "artifact id"),
                col("data", BLOB, "the bytes", restores={}),
                # Parquet verifies none of these bytes: ``get`` checks them against this
                col(
                    "sha256",
                    TEXT,
                    "SHA-256 of the bytes, hex (NULL for bytes stored before schema 5)",
                    source=("data",),
                    derive=fields.sha256,
                ),
            ),
        ),
    )
}

#: Each table's columns in stored order (the specs' columns; ``Column.sql``, ``.arrow`` and ``.doc`` describe them).
TABLES: dict[str, list[Column]] = {name: list(spec.columns) for name, spec in SPECS.items()}


def _spec(table: str) -> TableSpec:
    try:
        return SPECS[table]
    except KeyError:
        raise KeyError(f"unknown table {table!r}; the tables are {', '.join(SPECS)}") from None


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of ``table``."""
    return _spec(table).arrow_schema


def create_table_sql(table: str, qualified: str | None = None) -> str:
    """``CREATE TABLE IF NOT EXISTS`` for ``table`` as the spec has it now (optionally under another name).

    The lake's tables are made by its migration steps, each with the definitions it created; this is for tables
    outside a store (benchmarks, checks that the steps arrive at the spec).
    """
    cols = ", ".join(f"{c.name} {c.sql}" for c in _spec(table).columns)
    return f"CREATE TABLE IF NOT EXISTS {qualified or table} ({cols})"


def cast_select_sql(table: str, source: str) -> str:
    """``SELECT`` that reads ``source`` (an Arrow scan with this table's columns) with the SQL column types."""
    cols = ", ".join(f"CAST({c.name} AS {c.sql}) AS {c.name}" for c in _spec(table).columns)
    return f"SELECT {cols} FROM {source}"


def to_arrow(table: str, records: Iterable[Any], seqs: Sequence[int] | None = None) -> pa.Table:
    """Records as an Arrow table with ``table``'s columns and Arrow types (see ``SPECS``).

    Args:
        table: A key of ``SPECS``; ``artifacts`` and ``artifact_data`` both take ``Artifact`` records.
        records: The records, in row order.
        seqs: For ``messages`` only, and required there: each message's append order (``seq``), one per record.

    Raises:
        KeyError: ``table`` is not a table name.
        ValueError: ``messages`` without ``seqs`` or with a different number of them.
        SerializationError: a free-form JSON value (metadata, a tool result) is NaN or an infinity.
    """
    spec = _spec(table)
    rows = list(records)
    given: dict[str, Sequence[int]] = {}
    if table == "messages":
        if seqs is None:
            raise ValueError("messages need their seq numbers")
        if len(seqs) != len(rows):
            raise ValueError(f"messages need one seq number each: got {len(rows)} messages and {len(seqs)} seqs")
        given["seq"] = seqs
    try:  # only free-form JSON fails here: NaN or an infinity in a record that skipped validation
        return arrow_batch(spec, rows, given)
    except ValueError as exc:
        raise SerializationError(table, f"a value is not JSON: {exc}") from None


def row_params(table: str, record: Any, **given: Any) -> list[Any]:
    """The SQL parameters of one record's row in ``table``'s column order (``seq=`` for a message).

    The single-row write binds these straight from the record: the same values ``to_arrow`` would store.

    Raises:
        SerializationError: a free-form JSON value (metadata, a tool result) is NaN or an infinity.
    """
    try:  # only free-form JSON fails here: NaN or an infinity in a record that skipped validation
        return _row_params(_spec(table), record, given)
    except ValueError as exc:
        raise SerializationError(table, f"a value is not JSON: {exc}") from None


def usage_params(usage: TokenUsage) -> dict[str, Any]:
    """The ``messages`` columns holding a message's usage, with their values for ``usage``."""
    return {c.name: c.value_of(getattr(usage, c.source[1]) if len(c.source) > 1 else usage) for c in _usage_part()}


def _usage_part() -> list[Column]:
    return [c for c in SPECS["messages"].columns if c.source[:1] == ("usage",)]


def session_from_row(row: Row) -> Session:
    """A ``Session`` from a ``sessions`` row."""
    result: Session = record_from_row(SPECS["sessions"], row)
    return result


def message_from_row(row: Row) -> MessageRecord:
    """A ``MessageRecord`` from a ``messages`` row."""
    result: MessageRecord = record_from_row(SPECS["messages"], row)
    return result


def execution_from_row(row: Row) -> ToolExecution:
    """A ``ToolExecution`` from a ``tool_executions`` row."""
    result: ToolExecution = record_from_row(SPECS["tool_executions"], row)
    return result


def usage_from_row(row: Row) -> UsageRecord:
    """A ``UsageRecord`` from a ``usage_records`` row."""
    result: UsageRecord = record_from_row(SPECS["usage_records"], row)
    return result


def embedding_from_row(row: Row) -> EmbeddingRecord:
    """An ``EmbeddingRecord`` from an ``embeddings`` row."""
    result: EmbeddingRecord = record_from_row(SPECS["embeddings"], row)
    return result


def artifact_from_row(row: Row, data: bytes) -> Artifact:
    """An ``Artifact`` from an ``artifacts`` row and its bytes."""
    result: Artifact = record_from_row(SPECS["artifacts"], row, data=data)
    return result


__all__ = [
    "SCHEMA_VERSION",
    "SPECS",
    "TABLES",
    "TOKEN_COUNTERS",
    "Column",
    "arrow_schema",
    "artifact_from_row",
    "cast_select_sql",
    "create_table_sql",
    "embedding_from_row",
    "execution_from_row",
    "message_from_row",
    "row_params",
    "session_from_row",
    "to_arrow",
    "usage_from_row",
    "usage_params",
]
