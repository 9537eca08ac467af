"""The analytical tables, derived from the records in one place.

Every backend exposes the same tables to SQL (``store.sql``): the lake stores them as Parquet in DuckLake, the
memory store builds them on demand. Columns are typed for analysis: token counts and durations are integers,
timestamps ``TIMESTAMPTZ``, message usage and compaction metadata are plain columns; JSON only holds free-form data
(metadata, tool arguments and results, json content parts).

``to_arrow(kind, records)`` turns records into an Arrow table with these columns; ``*_from_row`` turn a row (a
``dict`` of column values, as DuckDB or Arrow give them) back into a record.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import accumulate, chain, pairwise
from operator import itemgetter
from typing import Any

import numpy as np
import pyarrow as pa

from behest_lab.records import (
    Artifact,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    Session,
    TextPart,
    ToolCall,
    ToolExecution,
    UsageRecord,
)
from behest_lab.records.instant import nanosecond_of
from behest_lab.stores.rows import (  # records from rows: re-exported here
    artifact_from_row,
    embedding_from_row,
    execution_from_row,
    message_from_row,
    session_from_row,
    usage_from_row,
)
from behest_lab.vectors.parquet import vector_checksums

SCHEMA_VERSION = 7

_TS = pa.timestamp("us", tz="UTC")
_NS_DOC = "nanoseconds past {}'s microsecond, 0-999 (NULL in rows stored before schema 3: not known)"


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
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
        _c("updated_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("updated_at")),
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
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
        _c(
            "usage_cache_keys",
            "BOOLEAN",
            pa.bool_(),
            "FALSE: the usage had behest 0.3.1's three keys only (written back so); NULL: no usage or stored before "
            "schema 4",
        ),
    ],
    "tool_executions": [
        _c("id", "UUID", pa.string(), "execution id"),
        _c("session_id", "UUID", pa.string(), "session id"),
        _c("message_id", "UUID", pa.string(), "assistant message that issued the call"),
        _c("call_id", "VARCHAR", pa.string(), "tool call id"),
        _c("tool_name", "VARCHAR", pa.string(), "tool name"),
        _c("arguments", "JSON", pa.string(), "arguments"),
        _c("result", "JSON", pa.string(), "result (NULL when none; JSON null when behest held Some(null))"),
        _c("status", "VARCHAR", pa.string(), "pending, success or failed"),
        _c("error", "VARCHAR", pa.string(), "error message"),
        _c("duration_us", "BIGINT", pa.int64(), "duration in microseconds (NULL when beyond BIGINT)"),
        _c(
            "duration_ms",
            "BIGINT",
            pa.int64(),
            "duration in whole milliseconds (truncated; beyond BIGINT, behest's u64 wrapped negative as behest's "
            "SQL writes u64 counters)",
        ),
        _c("created_at", "TIMESTAMPTZ", _TS, "start time"),
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
    ],
    "usage_records": [
        _c("id", "UUID", pa.string(), "usage record id"),
        _c("session_id", "UUID", pa.string(), "session id"),
        _c("message_id", "UUID", pa.string(), "message id"),
        _c("provider", "VARCHAR", pa.string(), "provider"),
        _c("model", "VARCHAR", pa.string(), "model"),
        *_TOKENS,
        _c("created_at", "TIMESTAMPTZ", _TS, "time of the call"),
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
    ],
    "embeddings": [
        _c("id", "UUID", pa.string(), "embedding id"),
        _c("session_id", "UUID", pa.string(), "session id (NULL when none)"),
        _c("model", "VARCHAR", pa.string(), "embedding model"),
        _c("dim", "INTEGER", pa.int32(), "vector dimension"),
        _c("vector", "FLOAT[]", pa.list_(pa.float32()), "float32 components (for SQL: list_cosine_similarity, ...)"),
        # The same components as raw bytes: a search index loads 1M x 384 of these in about a second, where
        # DuckDB's FLOAT[] to Arrow conversion takes several (bench/bench_store.py measures the cold search).
        _c("vector_f32", "BLOB", pa.binary(), "the components as little-endian float32 bytes"),
        _c("metadata", "JSON", pa.string(), "free-form metadata"),
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
        # Parquet verifies none of the vector bytes: a search checks them against this (vectors.parquet)
        _c("vector_check", "BIGINT", pa.int64(), "checksum of vector_f32 (NULL in rows stored before schema 6)"),
    ],
    "artifacts": [
        _c("id", "UUID", pa.string(), "artifact id"),
        _c("session_id", "UUID", pa.string(), "session id (NULL when none)"),
        _c("name", "VARCHAR", pa.string(), "name"),
        _c("content_type", "VARCHAR", pa.string(), "MIME type"),
        _c("size", "BIGINT", pa.int64(), "number of bytes"),
        _c("metadata", "JSON", pa.string(), "free-form metadata"),
        _c("created_at", "TIMESTAMPTZ", _TS, "creation time"),
        _c("created_at_ns", "SMALLINT", pa.int16(), _NS_DOC.format("created_at")),
    ],
    "artifact_data": [
        _c("id", "UUID", pa.string(), "artifact id"),
        _c("data", "BLOB", pa.binary(), "the bytes"),
        # Parquet verifies none of these bytes: ``get`` checks them against this
        _c("sha256", "VARCHAR", pa.string(), "SHA-256 of the bytes, hex (NULL for bytes stored before schema 5)"),
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
# Each column is built directly from the records, one list comprehension per column, nested lists as flat child
# arrays plus offsets: a dict per row (the obvious way) costs several times more than the DuckDB insert of the
# result, and the garbage collector keeps scanning those dicts while a big batch is being built.


def _json_encoder(*, allow_nan: bool) -> Callable[[Any], str]:
    """``json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)``, made once.

    ``json.dumps`` with options builds a new encoder per call; calling the C encoder directly skips that. The
    values come from validated records, which cannot be circular, so the circular-reference check is off.
    """
    py = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=allow_nan)
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (other Python implementations)
        return py.encode
    c = make(None, py.default, json.encoder.encode_basestring, None, ":", ",", False, False, allow_nan)

    def encode(value: Any) -> str:
        return "".join(c(value, 0))

    return encode


_encode_json = _json_encoder(allow_nan=True)
# Free-form values (metadata, results): NaN and infinities are not JSON, so they fail here and not in DuckDB.
_encode_free = _json_encoder(allow_nan=False)

_STR = pa.string()
_U64 = pa.uint64()
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_US = timedelta(microseconds=1)
_I64_MAX = 2**63 - 1
_U64_RANGE = 2**64
_TOKEN_NAMES = [c.name for c in _TOKENS]
# a UUID's 32 hex digits go to these slices of its 36-character text; the four gaps are dashes
_UUID_GROUPS = ((0, 8), (8, 12), (12, 16), (16, 20), (20, 32))
_UUID_MAX_ROWS = (2**31 - 1) // 36  # int32 string offsets


def _strings(values: Sequence[Any]) -> pa.Array:
    return pa.array(values, _STR)


def _fields(records: Sequence[Any]) -> list[dict[str, Any]]:
    """Each record's field values: pydantic keeps them in the instance ``__dict__``, and reading a column through
    ``_column`` is cheaper than an attribute read per record (which looks in the model class first)."""
    return [r.__dict__ for r in records]


def _column(fields: list[dict[str, Any]], name: str) -> list[Any]:
    return list(map(itemgetter(name), fields))


def _optional_strings(values: list[Any]) -> pa.Array:
    """Strings or None; a column of None only (tool call ids of most messages) is made without a pass."""
    if values.count(None) == len(values):
        return pa.nulls(len(values), _STR)
    return pa.array(values, _STR)


def _flags(values: list[Any]) -> pa.Array:
    """Booleans; a column of False only (most messages' compaction flags) is made without a pass."""
    if values.count(True) == 0:
        return pa.array(np.zeros(len(values), dtype=bool))
    return pa.array(values, pa.bool_())


def _json_column(values: Sequence[Any]) -> pa.Array:
    """Free-form JSON text; None is NULL."""
    return pa.array([None if v is None else _encode_free(v) for v in values], _STR)


def _uuid_column(values: Sequence[Any]) -> pa.Array:
    """The canonical text of UUIDs (exactly ``str(uuid)``, lower-case with dashes); None is NULL.

    The hex digits of the whole column come from one ``bytes.hex()`` call and numpy puts in the dashes: ``str``
    per UUID would cost more than the rest of a message row.
    """
    n = len(values)
    missing = [v is None for v in values]
    has_missing = any(missing)
    if n > _UUID_MAX_ROWS:
        return pa.array([None if v is None else str(v) for v in values], _STR)
    raw = b"".join([b"\0" * 16 if v is None else v.int.to_bytes(16, "big") for v in values])
    digits = np.frombuffer(raw.hex().encode("ascii"), np.uint8).reshape(n, 32)
    text = np.full((n, 36), ord("-"), np.uint8)
    for i, (start, stop) in enumerate(_UUID_GROUPS):
        text[:, start + i : stop + i] = digits[:, start:stop]
    offsets = np.arange(0, 36 * n + 1, 36, dtype=np.int32)
    validity = None
    if has_missing:
        validity = pa.py_buffer(np.packbits(~np.array(missing, dtype=bool), bitorder="little"))
    return pa.Array.from_buffers(_STR, n, [validity, pa.py_buffer(offsets), pa.py_buffer(text)])


def _timestamp_column(values: Sequence[datetime]) -> pa.Array:
    """Aware datetimes as UTC microseconds (integer arithmetic is cheaper than Arrow's per-value tz handling)."""
    return pa.array([(datetime.__sub__(v, _EPOCH)) // _US for v in values], _TS)


def _ns_column(values: Sequence[datetime]) -> pa.Array:
    """The nanoseconds past the microsecond of each timestamp (``Instant.nanosecond``; 0 for a plain datetime)."""
    return pa.array([nanosecond_of(v) for v in values], pa.int16())


def _list_offsets(lists: Sequence[list[Any]]) -> pa.Array:
    return pa.array(list(accumulate(map(len, lists), initial=0)), pa.int32())


_PART_TYPES: dict[type, str] = {TextPart: "text", JsonPart: "json", ImageUrlPart: "image_url"}


def _content_columns(contents: Sequence[list[Any]]) -> tuple[pa.Array, pa.Array]:
    """The ``content`` list column and the ``text`` column (text parts joined by newlines) of messages."""
    parts = list(chain.from_iterable(contents))
    bounds = list(accumulate(map(len, contents), initial=0))
    m = len(parts)
    null = pa.nulls(m, _STR)
    # a part's class (read from the object header) names its type: cheaper than reading the ``type`` field
    classes = list(map(type, parts))
    part_fields = _fields(parts)
    if classes.count(TextPart) == m:  # the usual case: only text parts
        types: list[str] = ["text"] * m
        texts: list[str | None] = _column(part_fields, "text")
        values = urls = mimes = null
    else:
        types = [_PART_TYPES[c] for c in classes]
        texts = [p.text if c is TextPart else None for p, c in zip(parts, classes, strict=True)]
        # json and image parts are few: fill their columns by index instead of a pass over every part per column
        value_col: list[str | None] = [None] * m
        url_col: list[str | None] = [None] * m
        mime_col: list[str | None] = [None] * m
        for i in [i for i, c in enumerate(classes) if c is not TextPart]:
            p = parts[i]
            if classes[i] is JsonPart:
                value_col[i] = _encode_json(p.value)
            else:
                url_col[i], mime_col[i] = p.url, p.mime_type
        values, urls, mimes = _strings(value_col), _strings(url_col), _strings(mime_col)
    text_parts = _strings(texts)
    if m == len(contents) and texts.count(None) == 0 and contents.count([]) == 0:
        # the usual case: one text part per message, whose text is the message's text as it is
        joined_column = text_parts
    else:
        # most messages have one part: its text (or "" for another part type) needs no join
        joined = [
            (texts[a] or "") if b - a == 1 else "\n".join([x for x in texts[a:b] if x is not None])
            for a, b in pairwise(bounds)
        ]
        joined_column = _strings(joined)
    caches = _column(part_fields, "cache_control")
    if caches.count(None) == m:
        kinds = ttls = null
    else:
        kinds = _strings([None if c is None else c.kind.value for c in caches])
        ttls = _strings([None if c is None else c.ttl.value for c in caches])
    struct = pa.StructArray.from_arrays(
        [_strings(types), text_parts, values, urls, mimes, kinds, ttls], fields=list(_CONTENT_ARROW)
    )
    offsets = pa.array(bounds, pa.int32())
    return pa.ListArray.from_arrays(offsets, struct, type=pa.list_(_CONTENT_ARROW)), joined_column


def _calls_column(lists: list[list[ToolCall]]) -> pa.Array:
    calls = [c for cs in lists for c in cs] if lists.count([]) < len(lists) else []
    struct = pa.StructArray.from_arrays(
        [
            _strings([c.id for c in calls]),
            _strings([c.name for c in calls]),
            _strings([_encode_json(c.arguments) for c in calls]),
        ],
        fields=list(_CALL_ARROW),
    )
    return pa.ListArray.from_arrays(_list_offsets(lists), struct, type=pa.list_(_CALL_ARROW))


def _token_columns(usages: list[Any]) -> list[pa.Array]:
    """The six token counters of optional usages (NULL where the usage is None)."""
    n = len(usages)
    present = [u for u in usages if u is not None]
    if not present:
        return [pa.nulls(n, _U64) for _ in _TOKEN_NAMES]
    # read only the usages there are, then spread them over all rows with one take per column
    fields = _fields(present)
    arrays = [pa.array(_column(fields, name), _U64) for name in _TOKEN_NAMES]
    if len(present) == n:
        return arrays
    has = np.array([u is not None for u in usages], dtype=bool)
    index = pa.array(np.cumsum(has) - 1, pa.int64(), mask=~has)
    return [a.take(index) for a in arrays]


def _message_columns(records: list[MessageRecord], seqs: Sequence[int]) -> list[pa.Array]:
    n = len(records)
    if len(seqs) != n:
        raise ValueError(f"messages need one seq number each: got {n} messages and {len(seqs)} seqs")
    fields = _fields(records)
    content, text = _content_columns(_column(fields, "content"))
    metas = _column(fields, "compaction_meta")
    if metas.count(None) == n:
        meta_cols = [pa.array(np.zeros(n, dtype=bool)), pa.nulls(n, _STR), pa.nulls(n, _STR), pa.nulls(n, _STR)]
    else:
        meta_cols = [
            pa.array([m is not None for m in metas], pa.bool_()),
            _uuid_column([None if m is None else m.tail_start_id for m in metas]),
            _uuid_column([None if m is None else m.previous_compaction_id for m in metas]),
            _strings([None if m is None else m.summary_text for m in metas]),
        ]
    return [
        _uuid_column(_column(fields, "id")),
        _uuid_column(_column(fields, "session_id")),
        pa.array(seqs, pa.int64()),
        _strings(_column(fields, "role")),  # a StrEnum member is its value as a str
        content,
        text,
        _calls_column(_column(fields, "tool_calls")),
        _optional_strings(_column(fields, "tool_call_id")),
        _optional_strings(_column(fields, "tool_name")),
        *_token_columns(_column(fields, "usage")),
        _timestamp_column(_column(fields, "created_at")),
        _flags(_column(fields, "is_compaction")),
        _flags(_column(fields, "is_summary")),
        *meta_cols,
        _ns_column(_column(fields, "created_at")),
        pa.array([None if u is None or u.has_cache_keys else False for u in _column(fields, "usage")], pa.bool_()),
    ]


def _session_columns(records: list[Session]) -> list[pa.Array]:
    return [
        _uuid_column([r.id for r in records]),
        _strings([r.title for r in records]),
        _strings([r.model for r in records]),
        _timestamp_column([r.created_at for r in records]),
        _timestamp_column([r.updated_at for r in records]),
        _json_column([r.metadata for r in records]),
        _ns_column([r.created_at for r in records]),
        _ns_column([r.updated_at for r in records]),
    ]


def _duration_columns(records: list[ToolExecution]) -> tuple[pa.Array, pa.Array]:
    """``duration_us`` and ``duration_ms``: exact where BIGINT holds them (see ``TABLES``)."""
    us = [r.duration // _US for r in records]
    if max(us, default=0) <= _I64_MAX:  # the usual case: every duration fits
        arr = np.array(us, dtype=np.int64)
        return pa.array(arr, pa.int64()), pa.array(arr // 1000, pa.int64())  # floor division, as int // 1000
    ms = [r.duration_ms for r in records]
    return (
        pa.array([u if u <= _I64_MAX else None for u in us], pa.int64()),
        pa.array([m if m <= _I64_MAX else m - _U64_RANGE for m in ms], pa.int64()),
    )


def _execution_columns(records: list[ToolExecution]) -> list[pa.Array]:
    duration_us, duration_ms = _duration_columns(records)
    return [
        _uuid_column([r.id for r in records]),
        _uuid_column([r.session_id for r in records]),
        _uuid_column([r.message_id for r in records]),
        _strings([r.call_id for r in records]),
        _strings([r.tool_name for r in records]),
        _strings([_encode_json(r.arguments) for r in records]),
        pa.array(
            ["null" if r.result_null else None if r.result is None else _encode_free(r.result) for r in records], _STR
        ),
        _strings([r.status for r in records]),  # StrEnum
        _strings([r.error for r in records]),
        duration_us,
        duration_ms,
        _timestamp_column([r.created_at for r in records]),
        _ns_column([r.created_at for r in records]),
    ]


def _usage_columns(records: list[UsageRecord]) -> list[pa.Array]:
    return [
        _uuid_column([r.id for r in records]),
        _uuid_column([r.session_id for r in records]),
        _uuid_column([r.message_id for r in records]),
        _strings([r.provider for r in records]),
        _strings([r.model for r in records]),
        *[pa.array([getattr(r, name) for r in records], _U64) for name in _TOKEN_NAMES],
        _timestamp_column([r.created_at for r in records]),
        _ns_column([r.created_at for r in records]),
    ]


def _embedding_columns(records: list[EmbeddingRecord]) -> list[pa.Array]:
    vectors = [r.vector for r in records]
    dims = [len(v) for v in vectors]
    flat = np.fromiter(chain.from_iterable(vectors), dtype=np.float32, count=sum(dims))
    offsets = pa.array(list(accumulate(dims, initial=0)), pa.int32())
    raw = flat.astype("<f4")
    return [
        _uuid_column([r.id for r in records]),
        _uuid_column([r.session_id for r in records]),
        _strings([r.model for r in records]),
        pa.array(dims, pa.int32()),
        pa.ListArray.from_arrays(offsets, pa.array(flat), type=pa.list_(pa.float32())),
        pa.Array.from_buffers(
            pa.binary(),
            len(records),
            [None, pa.py_buffer(np.asarray(offsets) * 4), pa.py_buffer(raw.tobytes())],
        ),
        _json_column([r.metadata for r in records]),
        _timestamp_column([r.created_at for r in records]),
        _ns_column([r.created_at for r in records]),
        pa.array(vector_checksums(raw, np.asarray(offsets) * 4), pa.int64()),
    ]


def _artifact_columns(records: list[Artifact]) -> list[pa.Array]:
    return [
        _uuid_column([r.id for r in records]),
        _uuid_column([r.session_id for r in records]),
        _strings([r.name for r in records]),
        _strings([r.content_type for r in records]),
        pa.array([len(r.data) for r in records], pa.int64()),
        _json_column([r.metadata for r in records]),
        _timestamp_column([r.created_at for r in records]),
        _ns_column([r.created_at for r in records]),
    ]


def _artifact_data_columns(records: list[Artifact]) -> list[pa.Array]:
    return [
        _uuid_column([r.id for r in records]),
        pa.array([r.data for r in records], pa.binary()),
        pa.array([hashlib.sha256(r.data).hexdigest() for r in records], pa.string()),
    ]


_COLUMN_MAKERS: dict[str, Callable[[list[Any]], list[pa.Array]]] = {
    "sessions": _session_columns,
    "tool_executions": _execution_columns,
    "usage_records": _usage_columns,
    "embeddings": _embedding_columns,
    "artifacts": _artifact_columns,
    "artifact_data": _artifact_data_columns,
}
_SCHEMAS = {name: pa.schema([(c.name, c.arrow) for c in cols]) for name, cols in TABLES.items()}


def to_arrow(table: str, records: Iterable[Any], seqs: Sequence[int] | None = None) -> pa.Table:
    """Records as an Arrow table with ``table``'s columns and Arrow types (see ``TABLES``).

    Args:
        table: A key of ``TABLES``; ``artifacts`` and ``artifact_data`` both take ``Artifact`` records.
        records: The records, in row order.
        seqs: For ``messages`` only, and required there: each message's append order (``seq``), one per record.

    Raises:
        KeyError: ``table`` is not a table name.
        ValueError: ``messages`` without ``seqs`` or with a different number of them.
    """
    rows = list(records)
    if table == "messages":
        if seqs is None:
            raise ValueError("messages need their seq numbers")
        arrays = _message_columns(rows, seqs)
    elif table in _COLUMN_MAKERS:
        arrays = _COLUMN_MAKERS[table](rows)
    else:
        raise KeyError(f"unknown table {table!r}; the tables are {', '.join(TABLES)}")
    return pa.Table.from_arrays(arrays, schema=_SCHEMAS[table])


__all__ = [
    "SCHEMA_VERSION",
    "TABLES",
    "Column",
    "arrow_schema",
    "artifact_from_row",
    "cast_select_sql",
    "create_table_sql",
    "embedding_from_row",
    "execution_from_row",
    "message_from_row",
    "session_from_row",
    "to_arrow",
    "usage_from_row",
]
