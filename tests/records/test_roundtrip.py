"""Property: every generated record survives ``model_dump_json`` -> ``model_validate_json`` unchanged."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from behest_lab import (
    Artifact,
    CacheControl,
    CompactionMeta,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    ScoredEmbedding,
    Session,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
)
from behest_lab.records import CacheTtl

U64 = st.integers(0, 2**64 - 1)
ids = st.uuids()
times = st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC))
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
cache = st.none() | st.builds(CacheControl, ttl=st.sampled_from(CacheTtl))
parts = st.one_of(
    st.builds(TextPart, text=st.text(), cache_control=cache),
    st.builds(JsonPart, value=json_values, cache_control=cache),
    st.builds(ImageUrlPart, url=st.text(), mime_type=st.none() | st.text(), cache_control=cache),
)
usages = st.builds(
    TokenUsage,
    input_tokens=U64,
    output_tokens=U64,
    total_tokens=U64,
    cache_creation_input_tokens=st.none() | U64,
    cache_read_input_tokens=st.none() | U64,
    cached_input_tokens=st.none() | U64,
)
metas = st.builds(
    CompactionMeta,
    tail_start_id=st.none() | ids,
    previous_compaction_id=st.none() | ids,
    summary_text=st.none() | st.text(),
)
vectors = st.lists(st.floats(width=32, allow_nan=False, allow_infinity=False), min_size=1, max_size=8)

records: st.SearchStrategy[Any] = st.one_of(
    st.builds(
        Session, id=ids, title=st.text(), model=st.text(), created_at=times, updated_at=times, metadata=json_values
    ),
    st.builds(
        MessageRecord,
        id=ids,
        session_id=ids,
        role=st.sampled_from(MessageRole),
        content=st.lists(parts, max_size=4),
        tool_calls=st.lists(st.builds(ToolCall, id=st.text(), name=st.text(), arguments=json_values), max_size=3),
        tool_call_id=st.none() | st.text(),
        tool_name=st.none() | st.text(),
        usage=st.none() | usages,
        created_at=times,
        is_compaction=st.booleans(),
        is_summary=st.booleans(),
        compaction_meta=st.none() | metas,
    ),
    st.builds(
        EmbeddingRecord,
        id=ids,
        session_id=st.none() | ids,
        model=st.text(),
        vector=vectors,
        metadata=json_values,
        created_at=times,
    ),
    st.builds(
        ScoredEmbedding,
        record=st.builds(EmbeddingRecord, model=st.text(), vector=vectors, created_at=times),
        score=st.floats(-1, 1, width=32),
    ),
    st.builds(
        Artifact,
        id=ids,
        session_id=st.none() | ids,
        name=st.text(),
        content_type=st.text(),
        data=st.binary(max_size=64),
        metadata=json_values,
        created_at=times,
    ),
    st.builds(
        ToolExecution,
        id=ids,
        session_id=ids,
        message_id=ids,
        call_id=st.text(),
        tool_name=st.text(),
        arguments=json_values,
        result=json_values,
        status=st.sampled_from(ToolExecutionStatus),
        error=st.none() | st.text(),
        duration=st.integers(0, 10**12).map(lambda ms: timedelta(milliseconds=ms)),
        created_at=times,
    ),
    st.builds(
        UsageRecord,
        id=ids,
        session_id=ids,
        message_id=ids,
        provider=st.text(),
        model=st.text(),
        input_tokens=U64,
        output_tokens=U64,
        total_tokens=U64,
        created_at=times,
    ),
)


@settings(max_examples=300, deadline=None, database=None)
@given(records)
def test_json_round_trip(record: Any) -> None:
    text = record.model_dump_json()
    json.loads(text)  # well-formed JSON
    back = type(record).model_validate_json(text)
    assert back == record
    assert back.model_dump_json() == text
