"""``tables.to_arrow`` against a plain per-row construction, and the round trip through ``*_from_row``.

The reference below builds each row as a dict from the records' public attributes with ``json.dumps`` and
``str(uuid)``: the obvious construction, independent of the column-wise one in ``tables``.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pyarrow as pa
import pytest

from behest_lab import sample
from behest_lab.errors import DataCorruptionError
from behest_lab.records import (
    Artifact,
    CacheControl,
    CacheTtl,
    CompactionMeta,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    Session,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    UsageRecord,
    uuid7,
)
from behest_lab.records.execution import ToolExecutionStatus
from behest_lab.records.instant import Instant, nanosecond_of
from behest_lab.stores import tables
from behest_lab.vectors.parquet import matrix_checksums

EPOCH = datetime.fromtimestamp(0, UTC)

T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
SID = uuid7()
MID = uuid7()

JSON_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -7,
    2**63,
    1.5,
    -0.0,
    1e16,
    2.5e-7,
    "",
    "plain",
    'quote " and \\ and \n newline',
    "héllo wörld ✓ 日本",
    [],
    [1, "two", None, [3.0]],
    {},
    {"nested": {"a": [1, {"b": None}], "ü": "ß"}, "n": 1},
]


def _js(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _free(value: Any) -> str | None:
    return None if value is None else _js(value)


def _opt_uuid(value: Any) -> str | None:
    return None if value is None else str(value)


def _ref_part(p: Any) -> dict[str, Any]:
    cc = p.cache_control
    return {
        "type": p.type,
        "text": p.text if isinstance(p, TextPart) else None,
        "value": _js(p.value) if isinstance(p, JsonPart) else None,
        "url": p.url if isinstance(p, ImageUrlPart) else None,
        "mime_type": p.mime_type if isinstance(p, ImageUrlPart) else None,
        "cache_kind": None if cc is None else str(cc.kind.value),
        "cache_ttl": None if cc is None else str(cc.ttl.value),
    }


def _ref_message(r: MessageRecord, seq: int) -> dict[str, Any]:
    u, cm = r.usage, r.compaction_meta
    row: dict[str, Any] = {
        "id": str(r.id),
        "session_id": str(r.session_id),
        "seq": seq,
        "role": str(r.role.value),
        "content": [_ref_part(p) for p in r.content],
        "text": "\n".join(p.text for p in r.content if isinstance(p, TextPart)),
        "tool_calls": [{"id": c.id, "name": c.name, "arguments": _js(c.arguments)} for c in r.tool_calls],
        "tool_call_id": r.tool_call_id,
        "tool_name": r.tool_name,
    }
    for name in ("input_tokens", "output_tokens", "total_tokens"):
        row[name] = None if u is None else getattr(u, name)
    for name in ("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens"):
        row[name] = None if u is None else getattr(u, name)
    row.update(
        created_at=r.created_at,
        is_compaction=r.is_compaction,
        is_summary=r.is_summary,
        has_compaction_meta=cm is not None,
        tail_start_id=None if cm is None else _opt_uuid(cm.tail_start_id),
        previous_compaction_id=None if cm is None else _opt_uuid(cm.previous_compaction_id),
        summary_text=None if cm is None else cm.summary_text,
        usage_cache_keys=None if u is None or u.has_cache_keys else False,
    )
    return row


def _ref_session(r: Session) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "title": r.title,
        "model": r.model,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "metadata": _free(r.metadata),
    }


def _ref_execution(r: ToolExecution) -> dict[str, Any]:
    us = r.duration.days * 86_400_000_000 + r.duration.seconds * 1_000_000 + r.duration.microseconds
    return {
        "id": str(r.id),
        "session_id": str(r.session_id),
        "message_id": str(r.message_id),
        "call_id": r.call_id,
        "tool_name": r.tool_name,
        "arguments": _js(r.arguments),
        "result": "null" if r.result_null else _free(r.result),
        "status": str(r.status.value),
        "error": r.error,
        "duration_us": us,
        "duration_ms": us // 1000,
        "created_at": r.created_at,
    }


def _ref_usage(r: UsageRecord) -> dict[str, Any]:
    names = ["id", "session_id", "message_id"]
    row: dict[str, Any] = {n: str(getattr(r, n)) for n in names}
    for n in ("provider", "model", "input_tokens", "output_tokens", "total_tokens"):
        row[n] = getattr(r, n)
    for n in ("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens", "created_at"):
        row[n] = getattr(r, n)
    return row


def _ref_embedding(r: EmbeddingRecord) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "session_id": _opt_uuid(r.session_id),
        "model": r.model,
        "dim": len(r.vector),
        "vector": list(r.vector),
        "vector_f32": struct.pack(f"<{len(r.vector)}f", *r.vector),
        "metadata": _free(r.metadata),
        "created_at": r.created_at,
        "vector_check": int(matrix_checksums(np.asarray([r.vector], dtype=np.float32))[0]),
    }


def _ref_artifact(r: Artifact) -> dict[str, Any]:
    return {
        "id": str(r.id),
        "session_id": _opt_uuid(r.session_id),
        "name": r.name,
        "content_type": r.content_type,
        "size": len(r.data),
        "metadata": _free(r.metadata),
        "created_at": r.created_at,
    }


def _split_timestamps(table: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The reference rows with each timestamp split as the table stores it: microseconds + ``<name>_ns``."""
    out = []
    for row in rows:
        row = dict(row)
        for c in tables.TABLES[table]:
            if c.name.endswith("_ns"):
                value = row[c.name.removesuffix("_ns")]
                row[c.name] = nanosecond_of(value)
                row[c.name.removesuffix("_ns")] = datetime.fromtimestamp(0, UTC) + (value - EPOCH)
        out.append(row)
    return out


def _check(table: str, got: pa.Table, rows: list[dict[str, Any]]) -> None:
    rows = _split_timestamps(table, rows)
    assert got.schema.equals(tables.arrow_schema(table))
    assert got.column_names == [c.name for c in tables.TABLES[table]]
    assert got.num_rows == len(rows)
    for col in got.column_names:
        assert got.column(col).to_pylist() == [r[col] for r in rows], col
    for col in got.column_names:  # timestamps: same instant and UTC-aware
        if got.schema.field(col).type == pa.timestamp("us", tz="UTC"):
            assert all(v.utcoffset() == timedelta(0) for v in got.column(col).to_pylist())


# --- records -------------------------------------------------------------------------------------------------

ONE_HOUR = CacheControl(ttl=CacheTtl.ONE_HOUR)


def _messages_mixed() -> list[MessageRecord]:
    def msg(content: list[Any], **fields: Any) -> MessageRecord:
        fields.setdefault("role", MessageRole.USER)
        return MessageRecord(session_id=SID, content=content, created_at=fields.pop("at", T0), **fields)

    return [
        msg([]),
        msg([TextPart(text="plain")]),
        msg([TextPart(text="a", cache_control=CacheControl()), TextPart(text="b\nc")], role=MessageRole.SYSTEM),
        msg([JsonPart(value=v) for v in JSON_VALUES], role=MessageRole.TOOL, tool_call_id="c1", tool_name="t"),
        msg([JsonPart(value={"k": 1}, cache_control=ONE_HOUR), TextPart(text="после")]),
        msg(
            [
                ImageUrlPart(url="https://x/y.png", mime_type="image/png"),
                ImageUrlPart(url="data:image/gif;base64,R0lG", cache_control=CacheControl()),
                TextPart(text=""),
            ],
            at=datetime(2024, 12, 31, 23, 59, 59, tzinfo=timezone(timedelta(hours=-5))),
        ),
        msg(
            [TextPart(text="calling")],
            role=MessageRole.ASSISTANT,
            tool_calls=[
                ToolCall(id="c1", name="search", arguments={"q": "ü", "n": [1, 2.5]}),
                ToolCall(id="c2", name="none", arguments=None),
                ToolCall(id="c3", name="s", arguments="text"),
            ],
            usage=TokenUsage.without_cache_keys(10, 5, 15),  # behest 0.3.1's three keys
        ),
        msg(
            [TextPart(text="u")],
            usage=TokenUsage(input_tokens=2**64 - 1, output_tokens=0, total_tokens=3).with_cache_stats(1, None, 7),
        ),
        msg([TextPart(text="c")], is_compaction=True, compaction_meta=CompactionMeta()),
        msg(
            [TextPart(text="s")],
            is_summary=True,
            compaction_meta=CompactionMeta(tail_start_id=MID, previous_compaction_id=uuid7(), summary_text="sum"),
        ),
        msg([TextPart(text="summary only")], compaction_meta=CompactionMeta(summary_text="ω")),
    ]


def _messages_text_only() -> list[MessageRecord]:
    """Only text parts, no cache markers, usage or compaction meta: the batch-wide fast paths."""
    return [
        MessageRecord(
            session_id=SID,
            role=MessageRole.USER,
            content=[TextPart(text=t) for t in texts],
            created_at=Instant.from_datetime(T0, ns),  # nanoseconds go to created_at_ns
        )
        for ns, texts in enumerate(([], ["one"], ["a", "b", "c"], ["ünï"], [""]))
    ]


def _messages_one_text_part_each() -> list[MessageRecord]:
    """One text part per message (the common shape, whose text column is the parts' text as it is); all flags
    False and no tool calls."""
    return [
        MessageRecord(session_id=SID, role=MessageRole.ASSISTANT, content=[TextPart(text=t)], created_at=T0)
        for t in ("one", "", "two\nlines", "ü")
    ]


def _sessions() -> list[Session]:
    return [
        Session(
            title="t", model="m", created_at=T0, updated_at=Instant.from_datetime(T0 + timedelta(microseconds=1), 999)
        ),
        Session(title="日本", model="", created_at=T0, updated_at=T0, metadata={"a": [1, None], "b": "ü"}),
        Session(title="x", model="m", created_at=T0, updated_at=T0, metadata={}),
    ]


def _executions() -> list[ToolExecution]:
    base = {"session_id": SID, "message_id": MID, "call_id": "c", "tool_name": "t", "created_at": T0}
    return [
        ToolExecution(**base),
        ToolExecution(**base, arguments={"x": [1, "ü"]}, result=[1, {"k": None}], status=ToolExecutionStatus.SUCCESS),
        ToolExecution(**base, status=ToolExecutionStatus.FAILED, error="boom", duration=timedelta(microseconds=999)),
        ToolExecution(**base, result="r", duration=timedelta(seconds=3, microseconds=1_500)),
        ToolExecution(**base, result=0, duration=timedelta(days=2, milliseconds=7)),
        ToolExecution(**{**base, "created_at": Instant.from_datetime(T0, 1)}),
        ToolExecution(**base).with_success(None, timedelta(0)),  # Some(null): the JSON text null
    ]


def _usages() -> list[UsageRecord]:
    base = {"session_id": SID, "message_id": MID, "provider": "p", "model": "m", "created_at": T0}
    return [
        UsageRecord(**base, input_tokens=1, output_tokens=2, total_tokens=3),
        UsageRecord(
            **{**base, "created_at": Instant.from_datetime(T0, 123)}, input_tokens=1, output_tokens=2, total_tokens=3
        ),
        UsageRecord(
            **base,
            input_tokens=2**64 - 1,
            output_tokens=0,
            total_tokens=5,
            cache_creation_input_tokens=4,
            cache_read_input_tokens=None,
            cached_input_tokens=0,
        ),
    ]


def _embeddings() -> list[EmbeddingRecord]:
    return [
        EmbeddingRecord(model="m", vector=[0.1], created_at=Instant.from_datetime(T0, 7)),
        EmbeddingRecord(session_id=SID, model="m", vector=[1.0, -2.5, 1e-7, 3.4e38], metadata={"t": "ü"}),
        EmbeddingRecord(model="other", vector=[float(i) / 7 for i in range(300)], created_at=T0, metadata={}),
    ]


def _artifacts() -> list[Artifact]:
    return [
        Artifact(
            name="empty", content_type="application/octet-stream", data=b"", created_at=Instant.from_datetime(T0, 8)
        ),
        Artifact(session_id=SID, name="ß.txt", content_type="text/plain", data="ü".encode(), metadata={"k": 1}),
        Artifact(name="bin", content_type="x/y", data=bytes(range(256)) * 3, created_at=T0),
    ]


# --- tests ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [_messages_mixed, _messages_text_only, _messages_one_text_part_each])
def test_messages_match_row_construction_and_round_trip(make: Callable[[], list[MessageRecord]]) -> None:
    records = make()
    seqs = [3 * i + 1 for i in range(len(records))]
    got = tables.to_arrow("messages", records, seqs)
    _check("messages", got, [_ref_message(r, s) for r, s in zip(records, seqs, strict=True)])
    back = [tables.message_from_row(row) for row in got.to_pylist()]
    assert back == records
    # the JSON too: a three-key usage keeps its shape, nanoseconds their digits
    assert [m.model_dump_json() for m in back] == [r.model_dump_json() for r in records]


def test_sample_messages_match_row_construction() -> None:
    batch = next(sample.iter_batches(sessions=12, seed=1, embedding_dim=8))
    records = batch.messages
    assert any(p.type != "text" for r in records for p in r.content)  # realistic mix of part types
    seqs = list(range(len(records)))
    got = tables.to_arrow("messages", iter(records), seqs)  # any iterable of records
    _check("messages", got, [_ref_message(r, s) for r, s in zip(records, seqs, strict=True)])
    assert [tables.message_from_row(row) for row in got.to_pylist()] == records
    _check("embeddings", tables.to_arrow("embeddings", batch.embeddings), [_ref_embedding(r) for r in batch.embeddings])


def test_sessions() -> None:
    records = _sessions()
    got = tables.to_arrow("sessions", {r.id: r for r in records}.values())
    _check("sessions", got, [_ref_session(r) for r in records])
    assert [tables.session_from_row(row) for row in got.to_pylist()] == records


def test_tool_executions() -> None:
    records = _executions()
    got = tables.to_arrow("tool_executions", records)
    _check("tool_executions", got, [_ref_execution(r) for r in records])
    assert [tables.execution_from_row(row) for row in got.to_pylist()] == records


def test_usage_records() -> None:
    records = _usages()
    got = tables.to_arrow("usage_records", records)
    _check("usage_records", got, [_ref_usage(r) for r in records])
    assert [tables.usage_from_row(row) for row in got.to_pylist()] == records


def test_embeddings_of_different_dims() -> None:
    records = _embeddings()
    got = tables.to_arrow("embeddings", records)
    _check("embeddings", got, [_ref_embedding(r) for r in records])
    assert [tables.embedding_from_row(row) for row in got.to_pylist()] == records


def test_artifacts_and_their_data() -> None:
    records = _artifacts()
    got = tables.to_arrow("artifacts", records)
    _check("artifacts", got, [_ref_artifact(r) for r in records])
    data = tables.to_arrow("artifact_data", records)
    _check(
        "artifact_data",
        data,
        [{"id": str(r.id), "data": r.data, "sha256": hashlib.sha256(r.data).hexdigest()} for r in records],
    )
    blobs = data.column("data").to_pylist()
    back = [tables.artifact_from_row(row, d) for row, d in zip(got.to_pylist(), blobs, strict=True)]
    assert back == records


@pytest.mark.parametrize("table", list(tables.TABLES))
def test_no_records_give_an_empty_table(table: str) -> None:
    got = tables.to_arrow(table, [], [] if table == "messages" else None)
    assert got.num_rows == 0
    assert got.schema.equals(tables.arrow_schema(table))


def test_uuid_columns_with_some_nulls_in_any_position() -> None:
    records = [
        EmbeddingRecord(session_id=None if i % 3 else uuid7(), model="m", vector=[1.0], created_at=T0)
        for i in range(20)
    ]
    got = tables.to_arrow("embeddings", records).column("session_id")
    assert got.to_pylist() == [_opt_uuid(r.session_id) for r in records]
    assert got.null_count == sum(r.session_id is None for r in records)


def test_messages_need_one_seq_each() -> None:
    records = _messages_text_only()
    with pytest.raises(ValueError, match="seq"):
        tables.to_arrow("messages", records)
    with pytest.raises(ValueError, match="seq"):
        tables.to_arrow("messages", records, list(range(len(records) - 1)))


def test_nan_in_free_form_json_is_refused() -> None:
    with pytest.raises(ValueError, match=r"\$\['x'\] is nan"):  # the record refuses it by name
        Session(title="t", model="m", created_at=T0, updated_at=T0, metadata={"x": float("nan")})
    # and so does the table for a record that skipped validation (model_copy does not validate)
    session = Session(title="t", model="m", created_at=T0, updated_at=T0).model_copy(
        update={"metadata": {"x": float("nan")}}
    )
    with pytest.raises(ValueError, match="JSON"):
        tables.to_arrow("sessions", [session])


def test_unknown_table_is_named() -> None:
    with pytest.raises(KeyError, match="'message'"):
        tables.to_arrow("message", [])


# --- the column spec --------------------------------------------------------------------------------------------

_RECORDS: dict[str, Callable[[], list[Any]]] = {
    "sessions": _sessions,
    "messages": _messages_mixed,
    "tool_executions": _executions,
    "usage_records": _usages,
    "embeddings": _embeddings,
    "artifacts": _artifacts,
    "artifact_data": _artifacts,
}


@pytest.mark.parametrize("table", list(tables.SPECS))
def test_single_row_params_are_the_values_the_bulk_path_stores(table: str) -> None:
    """``row_params`` (no Arrow on the way) binds exactly what ``to_arrow`` holds for the same record."""
    records = _RECORDS[table]()
    if table == "messages":
        records += _messages_text_only() + _messages_one_text_part_each()
    for i, record in enumerate(records):
        seqs = [7 * i + 1] if table == "messages" else None
        bulk = tables.to_arrow(table, [record], seqs).to_pylist()[0]
        params = tables.row_params(table, record, seq=7 * i + 1) if seqs else tables.row_params(table, record)
        assert params == list(bulk.values()), record
        for value in params:  # timestamps: UTC-aware, cut to the microsecond like the stored column
            if isinstance(value, datetime):
                assert value.utcoffset() == timedelta(0)
                assert type(value) is datetime


def test_a_single_message_row_needs_its_seq() -> None:
    with pytest.raises(ValueError, match="seq"):
        tables.row_params("messages", _messages_text_only()[0])


def test_usage_params_are_the_message_usage_columns() -> None:
    for message in _messages_mixed():
        if message.usage is None:
            continue
        row = tables.to_arrow("messages", [message], [1]).to_pylist()[0]
        got = tables.usage_params(message.usage)
        assert list(got) == [*tables.TOKEN_COUNTERS, "usage_cache_keys"]
        assert got == {name: row[name] for name in got}


@pytest.mark.parametrize("table", [t for t, s in tables.SPECS.items() if s.record is not None])
def test_every_record_field_is_restored_by_exactly_one_column(table: str) -> None:
    spec = tables.SPECS[table]
    assert spec.record is not None
    restored = [name for name, _ in spec.readers] + list(spec.given_fields)
    assert sorted(restored) == sorted(spec.record.model_fields), table


def test_the_token_counters_are_the_usage_fields() -> None:
    counters = list(tables.TOKEN_COUNTERS)
    assert counters == list(TokenUsage.model_fields)
    assert [n for n in UsageRecord.model_fields if n in counters] == counters
    for table in ("messages", "usage_records"):
        names = [c.name for c in tables.TABLES[table]]
        start = names.index("input_tokens")
        assert names[start : start + len(counters)] == counters


def test_a_corrupt_value_is_named_by_table_and_column() -> None:
    row = tables.to_arrow("sessions", _sessions()[:1]).to_pylist()[0]
    with pytest.raises(DataCorruptionError, match=r"sessions\.metadata"):
        tables.session_from_row({**row, "metadata": "{not json"})
    with pytest.raises(DataCorruptionError, match=r"sessions\.title"):
        tables.session_from_row({**row, "title": 7})
    execution = tables.to_arrow("tool_executions", _executions()[:1]).to_pylist()[0]
    with pytest.raises(DataCorruptionError, match=r"tool_executions\.arguments"):
        tables.execution_from_row({**execution, "arguments": "[1,"})
