"""Records refuse bad input, from Python and from JSON, with an error that names the field."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from behest_lab import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    ScoredEmbedding,
    Session,
    TextPart,
    TokenUsage,
    ToolExecution,
    uuid7,
)

GOLDEN = Path(__file__).parent / "golden"


def _golden(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((GOLDEN / name).read_text(encoding="utf-8"))
    return data


def _fails_naming(field: str, build: Callable[[], Any]) -> ValidationError:
    """``build()`` raises a ValidationError whose location or message names ``field``."""
    with pytest.raises(ValidationError) as info:
        build()
    errors = info.value.errors()
    assert any(field in [str(x) for x in e["loc"]] or f"`{field}`" in e["msg"] for e in errors), errors
    return info.value


def _json_with(name: str, cls: type[Any], **changes: Any) -> Callable[[], Any]:
    data = _golden(name)
    for key, value in changes.items():
        if value is _DROP:
            del data[key]
        else:
            data[key] = value
    return lambda: cls.model_validate_json(json.dumps(data))


_DROP = object()
EMB = "EmbeddingRecord.session.json"


# --- vectors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("vector", [[float("nan")], [1.0, float("inf")], [-float("inf")], [], [1e39], [1.0, -3.5e38]])
def test_bad_vectors_from_python(vector: list[float]) -> None:
    _fails_naming("vector", lambda: EmbeddingRecord(model="m", vector=vector))
    _fails_naming("vector", lambda: EmbeddingRecord(model="m", vector=np.asarray(vector, dtype=np.float64)))


@pytest.mark.parametrize("raw", ["[]", "[1e39]", "[NaN]", "[1.0, Infinity]", '["1.0"]', "[true]", "1.0"])
def test_bad_vectors_from_json(raw: str) -> None:
    text = json.dumps(_golden(EMB)).replace('"vector": [0.5]', f'"vector": {raw}')
    assert raw in text
    _fails_naming("vector", lambda: EmbeddingRecord.model_validate_json(text))


def test_vector_components_are_float32() -> None:
    r = EmbeddingRecord(model="m", vector=[0.1, 16777217])
    assert r.vector == [float(np.float32(0.1)), 16777216.0]


def test_score_overflowing_float32_is_refused() -> None:
    record = EmbeddingRecord(model="m", vector=[1.0])
    _fails_naming("score", lambda: ScoredEmbedding(record=record, score=1e39))


# --- counters ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [-1, 5.0, 1.5, True, "5", None, 2**64])
def test_bad_token_counts_from_json(value: Any) -> None:
    _fails_naming("input_tokens", _json_with("TokenUsage.v059.json", TokenUsage, input_tokens=value))


@pytest.mark.parametrize("value", [-1, True, 5.0, "5"])
def test_bad_token_counts_from_python(value: Any) -> None:
    _fails_naming("output_tokens", lambda: TokenUsage(input_tokens=1, output_tokens=value, total_tokens=1))
    _fails_naming("cached_input_tokens", lambda: TokenUsage.new(1, 1).with_cache_stats(None, None, value))


# --- timestamps --------------------------------------------------------------------------------------------


def test_naive_datetimes_from_python() -> None:
    naive = datetime(2024, 1, 1, 12, 0)
    _fails_naming("created_at", lambda: Session(title="t", model="m", created_at=naive))
    _fails_naming("updated_at", lambda: Session(title="t", model="m", updated_at=naive))
    _fails_naming("created_at", lambda: MessageRecord(session_id=uuid7(), role="user", content=[], created_at=naive))


@pytest.mark.parametrize(
    "value", ["2023-06-29T15:06:40", "2023-06-29 15:06:40.123", "2023-06-29", "yesterday", 1688051200]
)
def test_naive_or_bad_timestamps_from_json(value: Any) -> None:
    _fails_naming("created_at", _json_with("Session.new.json", Session, created_at=value))


# --- enums and tags ----------------------------------------------------------------------------------------


def test_unknown_role_from_json_and_python() -> None:
    _fails_naming("role", _json_with("MessageRecord.minimal.json", MessageRecord, role="bot"))
    _fails_naming("role", _json_with("MessageRecord.minimal.json", MessageRecord, role="User"))
    _fails_naming("role", lambda: MessageRecord(session_id=uuid7(), role="developer", content=[]))


@pytest.mark.parametrize("tag", ["image", "file", "audio", "other", "Text", None])
def test_unknown_content_type(tag: Any) -> None:
    build = _json_with("MessageRecord.minimal.json", MessageRecord, content=[{"type": tag, "text": "x"}])
    _fails_naming("content", build)


def test_unknown_status() -> None:
    _fails_naming("status", _json_with("ToolExecution.pending.json", ToolExecution, status="running"))
    _fails_naming("status", _json_with("ToolExecution.pending.json", ToolExecution, status="Success"))


def test_unknown_cache_control_values() -> None:
    for bad in (
        {"kind": "persistent", "ttl": "one_hour"},
        {"kind": "ephemeral", "ttl": "forever"},
        {"kind": "ephemeral"},
    ):
        text = json.dumps({"type": "text", "text": "x", "cache_control": bad})
        _fails_naming("cache_control", lambda t=text: TextPart.model_validate_json(t))


# --- bytes and durations -----------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["AAEC-vv_", "AAEC+vv", "AAEC+vv/=", "AB==", "AAE", "A A==", "!!!!", 12])
def test_non_canonical_base64(data: Any) -> None:
    _fails_naming("data", _json_with("Artifact.bytes.json", Artifact, data=data))


@pytest.mark.parametrize("duration", [5.0, 1.5, -1, "5", True, None])
def test_bad_duration_in_json(duration: Any) -> None:
    _fails_naming("duration", _json_with("ToolExecution.success.json", ToolExecution, duration=duration))


def test_negative_duration_from_python() -> None:
    e = ToolExecution(session_id=uuid7(), message_id=uuid7(), call_id="c", tool_name="t", arguments=None)
    _fails_naming("duration", lambda: e.with_success(1, timedelta(milliseconds=-1)))


# --- required keys and keywords ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["id", "title", "model", "created_at", "updated_at", "metadata"])
def test_session_missing_required_key(key: str) -> None:
    _fails_naming(key, _json_with("Session.new.json", Session, **{key: _DROP}))


@pytest.mark.parametrize(
    ("name", "cls", "key"),
    [
        ("TokenUsage.v059.json", TokenUsage, "total_tokens"),
        ("MessageRecord.minimal.json", MessageRecord, "content"),
        ("MessageRecord.minimal.json", MessageRecord, "created_at"),
        ("EmbeddingRecord.session.json", EmbeddingRecord, "metadata"),
        ("Artifact.bytes.json", Artifact, "metadata"),
        ("Artifact.bytes.json", Artifact, "data"),
        ("ToolExecution.pending.json", ToolExecution, "duration"),
        ("ToolExecution.pending.json", ToolExecution, "arguments"),
    ],
)
def test_missing_required_key(name: str, cls: type[Any], key: str) -> None:
    _fails_naming(key, _json_with(name, cls, **{key: _DROP}))


def test_typo_keyword_in_python_construction() -> None:
    _fails_naming("titel", lambda: Session(titel="t", model="m"))  # type: ignore[call-arg]
    _fails_naming("input_token", lambda: TokenUsage(input_token=1, output_tokens=1, total_tokens=2))  # type: ignore[call-arg]
    _fails_naming(
        "tool_call", lambda: MessageRecord(session_id=uuid7(), role=MessageRole.TOOL, content=[], tool_call="c")
    )  # type: ignore[call-arg]


def test_records_are_immutable() -> None:
    s = Session(title="t", model="m")
    with pytest.raises(ValidationError):
        s.title = "changed"  # type: ignore[misc]
