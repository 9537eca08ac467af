"""Record fields that take several columns, or whose columns share their batch build.

The column specs in ``behest_lab.stores.tables`` name these: a message's content parts (and the ``text`` column
made with them), tool calls, usage and compaction metadata; a tool execution's duration and result; an
embedding's vector (as floats, raw bytes and a checksum); an artifact's checksum. Each comes as the column kinds,
the one-row and batch conversions and the reader that rebuilds the field from a row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import timedelta
from itertools import accumulate, chain, pairwise
from typing import Any

import numpy as np
import pyarrow as pa

from behest_lab.errors import DataCorruptionError
from behest_lab.records import CompactionMeta, ImageUrlPart, JsonPart, TextPart, TokenUsage, ToolCall, ToolExecution
from behest_lab.stores.columns import U64, Batch, Column, Kind, Row, col, encode_free, encode_json, load_json
from behest_lab.vectors.parquet import vector_checksums

_STR = pa.string()
_US = timedelta(microseconds=1)
_I64_MAX = 2**63 - 1
_U64_RANGE = 2**64

#: The six token counters, in stored order, with what each counts: the columns of ``usage_records`` and of a
#: message's usage, and the fields of ``UsageRecord`` and ``TokenUsage``.
TOKEN_COUNTERS: dict[str, str] = {
    "input_tokens": "prompt tokens",
    "output_tokens": "completion tokens",
    "total_tokens": "total tokens as reported",
    "cache_creation_input_tokens": "prompt tokens written to the cache",
    "cache_read_input_tokens": "prompt tokens read from the cache",
    "cached_input_tokens": "OpenAI-style cached prompt tokens",
}


def _one_of(key: str, make: Callable[[Batch], tuple[pa.Array, ...]], index: int) -> Callable[[Batch], pa.Array]:
    """The batch builder of one of the columns ``make`` builds together (once per batch, kept under ``key``)."""

    def build(batch: Batch) -> pa.Array:
        built: tuple[pa.Array, ...] = batch.memo(key, make)
        return built[index]

    return build


# --- messages: content parts and tool calls -----------------------------------------------------------------------

_CONTENT_ARROW = pa.struct(
    [(n, _STR) for n in ("type", "text", "value", "url", "mime_type", "cache_kind", "cache_ttl")]
)
_CONTENT_SQL = (
    "STRUCT(type VARCHAR, text VARCHAR, value JSON, url VARCHAR, mime_type VARCHAR, cache_kind VARCHAR, "
    "cache_ttl VARCHAR)[]"
)
_CALL_ARROW = pa.struct([("id", _STR), ("name", _STR), ("arguments", _STR)])
_PART_TYPES: dict[type, str] = {TextPart: "text", JsonPart: "json", ImageUrlPart: "image_url"}


def _part_param(p: Any) -> dict[str, Any]:
    cc = p.cache_control
    kind = type(p)
    return {
        "type": _PART_TYPES[kind],
        "text": p.text if kind is TextPart else None,
        "value": encode_json(p.value) if kind is JsonPart else None,
        "url": p.url if kind is ImageUrlPart else None,
        "mime_type": p.mime_type if kind is ImageUrlPart else None,
        "cache_kind": None if cc is None else cc.kind.value,
        "cache_ttl": None if cc is None else cc.ttl.value,
    }


def joined_text(parts: list[Any]) -> str:
    """The text parts' text joined by newlines (one part: its text, or "" for another part type)."""
    if len(parts) == 1:
        return parts[0].text if type(parts[0]) is TextPart else ""
    return "\n".join([p.text for p in parts if type(p) is TextPart])


def content_arrays(batch: Batch) -> tuple[pa.Array, pa.Array]:
    """The ``content`` list column and the ``text`` column of a batch of messages, built together."""
    contents = batch.values(("content",))
    parts = list(chain.from_iterable(contents))
    bounds = list(accumulate(map(len, contents), initial=0))
    m = len(parts)
    null = pa.nulls(m, _STR)
    # a part's class (read from the object header) names its type: cheaper than reading the ``type`` field
    classes = list(map(type, parts))
    part_fields = [p.__dict__ for p in parts]
    if classes.count(TextPart) == m:  # the usual case: only text parts
        types: list[str] = ["text"] * m
        texts: list[str | None] = [f["text"] for f in part_fields]
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
                value_col[i] = encode_json(p.value)
            else:
                url_col[i], mime_col[i] = p.url, p.mime_type
        values, urls, mimes = pa.array(value_col, _STR), pa.array(url_col, _STR), pa.array(mime_col, _STR)
    text_parts = pa.array(texts, _STR)
    if m == len(contents) and texts.count(None) == 0 and contents.count([]) == 0:
        # the usual case: one text part per message, whose text is the message's text as it is
        joined_column = text_parts
    else:
        joined = [
            (texts[a] or "") if b - a == 1 else "\n".join([x for x in texts[a:b] if x is not None])
            for a, b in pairwise(bounds)
        ]
        joined_column = pa.array(joined, _STR)
    caches = [f["cache_control"] for f in part_fields]
    if caches.count(None) == m:
        kinds = ttls = null
    else:
        kinds = pa.array([None if c is None else c.kind.value for c in caches], _STR)
        ttls = pa.array([None if c is None else c.ttl.value for c in caches], _STR)
    struct = pa.StructArray.from_arrays(
        [pa.array(types, _STR), text_parts, values, urls, mimes, kinds, ttls], fields=list(_CONTENT_ARROW)
    )
    offsets = pa.array(bounds, pa.int32())
    return pa.ListArray.from_arrays(offsets, struct, type=pa.list_(_CONTENT_ARROW)), joined_column


#: The ``content`` and ``text`` columns of a batch of messages, built together.
content_array = _one_of("content", content_arrays, 0)
text_array = _one_of("content", content_arrays, 1)


def _calls_array(lists: list[list[ToolCall]]) -> pa.Array:
    """The ``tool_calls`` column of a batch of messages."""
    calls = [c for cs in lists for c in cs] if lists.count([]) < len(lists) else []
    struct = pa.StructArray.from_arrays(
        [
            pa.array([c.id for c in calls], _STR),
            pa.array([c.name for c in calls], _STR),
            pa.array([encode_json(c.arguments) for c in calls], _STR),
        ],
        fields=list(_CALL_ARROW),
    )
    offsets = pa.array(list(accumulate(map(len, lists), initial=0)), pa.int32())
    return pa.ListArray.from_arrays(offsets, struct, type=pa.list_(_CALL_ARROW))


def _part_from_row(p: Row) -> Any:
    cc = None
    if p.get("cache_kind") is not None:
        cc = {"kind": p["cache_kind"], "ttl": p["cache_ttl"]}
    kind = p["type"]
    if kind == "text":
        return TextPart(text=p["text"], cache_control=cc)
    if kind == "json":
        return JsonPart(value=load_json(p["value"], "messages.content.value"), cache_control=cc)
    if kind == "image_url":
        return ImageUrlPart(url=p["url"], mime_type=p["mime_type"], cache_control=cc)
    raise DataCorruptionError("messages.content.type", f"unknown content part type {kind!r}")


#: A message's content parts: a list of structs, one per part, its type's fields filled and the others NULL.
CONTENT = Kind(
    _CONTENT_SQL,
    pa.list_(_CONTENT_ARROW),
    lambda parts: [_part_param(p) for p in parts],
    reader=lambda name, where: lambda row: [_part_from_row(p) for p in row[name] or []],
)
#: A message's tool calls: a list of structs, the arguments as JSON text.
CALLS = Kind(
    "STRUCT(id VARCHAR, name VARCHAR, arguments JSON)[]",
    pa.list_(_CALL_ARROW),
    lambda calls: [{"id": c.id, "name": c.name, "arguments": encode_json(c.arguments)} for c in calls],
    _calls_array,
    lambda name, where: (
        lambda row: [
            ToolCall(id=c["id"], name=c["name"], arguments=load_json(c["arguments"], "messages.tool_calls"))
            for c in row[name] or []
        ]
    ),
)


# --- messages: usage and compaction metadata ------------------------------------------------------------------


def _usage_from_row(row: Row) -> TokenUsage | None:
    if row["total_tokens"] is None:
        return None
    if row.get("usage_cache_keys") is False:  # behest 0.3.1's three keys
        return TokenUsage.without_cache_keys(row["input_tokens"], row["output_tokens"], row["total_tokens"])
    return TokenUsage(**{name: row[name] for name in TOKEN_COUNTERS})


def three_keys_flag(usage: TokenUsage | None) -> bool | None:
    """``usage_cache_keys``: FALSE for a usage with behest 0.3.1's three keys only, else NULL."""
    return None if usage is None or usage.has_cache_keys else False


def meta_from_row(row: Row) -> CompactionMeta | None:
    """A message's ``compaction_meta`` from its row (None when ``has_compaction_meta`` is false)."""
    if not row["has_compaction_meta"]:
        return None
    return CompactionMeta(
        tail_start_id=row["tail_start_id"],
        previous_compaction_id=row["previous_compaction_id"],
        summary_text=row["summary_text"],
    )


def usage_columns() -> list[Column]:
    """The message's usage: one column per token counter (the first restores the whole usage)."""
    return [
        col(
            name,
            U64,
            f"{doc} (message usage; NULL when the message has none)",
            source=("usage", name),
            restores={"usage": _usage_from_row} if i == 0 else None,
        )
        for i, (name, doc) in enumerate(TOKEN_COUNTERS.items())
    ]


# --- tool executions: durations and results -------------------------------------------------------------------


def duration_us(execution: ToolExecution) -> int | None:
    """Whole microseconds, None beyond BIGINT."""
    us = execution.duration // _US
    return us if us <= _I64_MAX else None


def duration_ms(execution: ToolExecution) -> int:
    """Whole milliseconds (truncated); beyond BIGINT wrapped negative, as behest's SQL writes u64 counters."""
    ms = execution.duration_ms
    return ms if ms <= _I64_MAX else ms - _U64_RANGE


def durations(batch: Batch) -> tuple[pa.Array, pa.Array]:
    """``duration_us`` and ``duration_ms`` of a batch of executions: exact where BIGINT holds them."""
    records: list[ToolExecution] = batch.records
    us = [r.duration // _US for r in records]
    if max(us, default=0) <= _I64_MAX:  # the usual case: every duration fits
        arr = np.array(us, dtype=np.int64)
        return pa.array(arr, pa.int64()), pa.array(arr // 1000, pa.int64())  # floor division, as int // 1000
    return pa.array(list(map(duration_us, records)), pa.int64()), pa.array(list(map(duration_ms, records)), pa.int64())


#: The ``duration_us`` and ``duration_ms`` columns of a batch of executions, built together.
duration_us_array = _one_of("durations", durations, 0)
duration_ms_array = _one_of("durations", durations, 1)


def duration_from_row(row: Row) -> Any:
    """An execution's duration from its row: microseconds, else whole milliseconds (a long duration)."""
    if row["duration_us"] is not None:
        return timedelta(microseconds=row["duration_us"])
    ms = row["duration_ms"]
    return ms + _U64_RANGE if ms is not None and ms < 0 else ms  # whole ms, a LongDuration when long


def result_text(execution: ToolExecution) -> str | None:
    """The JSON text ``null`` for behest's ``Some(null)``, NULL for no result."""
    if execution.result_null:
        return "null"
    return None if execution.result is None else encode_free(execution.result)


def result_null(row: Row) -> bool:
    """Whether the row's result is the JSON text ``null`` (behest's ``Some(null)``)."""
    return row["result"] is not None and load_json(row["result"], "tool_executions.result") is None


# --- embeddings and artifacts ---------------------------------------------------------------------------------


def flat_vectors(batch: Batch) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The batch's vector dimensions, all components as one float32 array, and the row offsets."""
    vectors = batch.values(("vector",))
    dims = [len(v) for v in vectors]
    flat = np.fromiter(chain.from_iterable(vectors), dtype=np.float32, count=sum(dims))
    offsets = np.fromiter(accumulate(dims, initial=0), dtype=np.int32, count=len(dims) + 1)
    return dims, flat.astype("<f4"), offsets


def vector_bytes(vector: list[float]) -> bytes:
    """One vector as little-endian float32 bytes."""
    return np.asarray(vector, dtype="<f4").tobytes()


def vector_check(vector: list[float]) -> int:
    """The ``vector_check`` of one vector."""
    raw = np.asarray(vector, dtype="<f4")
    return int(vector_checksums(raw, np.array([0, raw.nbytes], dtype=np.int64))[0])


def dims_array(batch: Batch) -> pa.Array:
    """The ``dim`` column of a batch of embeddings."""
    return pa.array(batch.memo("vectors", flat_vectors)[0], pa.int32())


def vectors_array(batch: Batch) -> pa.Array:
    """The ``vector`` column (float32 lists) of a batch of embeddings."""
    _, flat, offsets = batch.memo("vectors", flat_vectors)
    return pa.ListArray.from_arrays(pa.array(offsets), pa.array(flat), type=pa.list_(pa.float32()))


def vector_bytes_array(batch: Batch) -> pa.Array:
    """The ``vector_f32`` column of a batch of embeddings."""
    _, flat, offsets = batch.memo("vectors", flat_vectors)
    buffers = [None, pa.py_buffer(offsets * 4), pa.py_buffer(flat.tobytes())]
    return pa.Array.from_buffers(pa.binary(), len(batch), buffers)


def vector_check_array(batch: Batch) -> pa.Array:
    """The ``vector_check`` column of a batch of embeddings."""
    _, flat, offsets = batch.memo("vectors", flat_vectors)
    return pa.array(vector_checksums(flat, offsets * 4), pa.int64())


def sha256(data: bytes) -> str:
    """The SHA-256 of ``data``, hex."""
    return hashlib.sha256(data).hexdigest()
