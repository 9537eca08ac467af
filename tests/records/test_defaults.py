"""behest's defaults and builders: new ids, timestamps, and ``with_*`` copies that are validated records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from behest_lab import (
    Artifact,
    CompactionMeta,
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    Pagination,
    Session,
    SessionFilter,
    SessionStats,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    uuid7,
)


def _new_records() -> list[Any]:
    sid, mid = uuid7(), uuid7()
    return [
        Session(title="t", model="m"),
        MessageRecord(session_id=sid, role=MessageRole.USER, content=[]),
        EmbeddingRecord(model="e", vector=[1.0]),
        Artifact(name="a", content_type="x/y", data=b""),
        ToolExecution(session_id=sid, message_id=mid, call_id="c", tool_name="t", arguments={}),
        UsageRecord(
            session_id=sid, message_id=mid, provider="p", model="m", input_tokens=1, output_tokens=1, total_tokens=2
        ),
    ]


def test_new_ids_are_uuid7_and_increasing() -> None:
    ids = [r.id for _ in range(200) for r in _new_records()]
    assert all(i.version == 7 and i.variant == "specified in RFC 4122" for i in ids)
    assert ids == sorted(ids, key=lambda u: u.int)
    assert len(set(ids)) == len(ids)
    ms = ids[0].int >> 80
    assert abs(ms / 1000 - datetime.now(UTC).timestamp()) < 60


def test_uuid7_deterministic_form() -> None:
    a = uuid7(1_700_000_000_000, bytes(range(10)))
    assert a == uuid7(1_700_000_000_000, bytes(range(10)))
    assert a.version == 7
    assert a.int >> 80 == 1_700_000_000_000
    with pytest.raises(ValueError, match="10 bytes"):
        uuid7(1, b"short")


def test_new_timestamps_are_aware_utc_now() -> None:
    before = datetime.now(UTC)
    made = _new_records()
    after = datetime.now(UTC)
    for r in made:
        assert r.created_at.utcoffset() == timedelta(0)
        assert before <= r.created_at <= after


def test_new_session_has_equal_created_and_updated_and_null_metadata() -> None:
    s = Session(title="Chat", model="gpt-4")
    assert s.created_at == s.updated_at
    assert s.metadata is None
    n = Session.new("Chat", "gpt-4")
    assert (n.title, n.model, n.created_at == n.updated_at) == ("Chat", "gpt-4", True)
    given = datetime(2024, 5, 1, tzinfo=UTC)
    assert Session(title="t", model="m", created_at=given).updated_at == given


def test_other_timezones_are_converted_to_utc() -> None:
    from zoneinfo import ZoneInfo

    local = datetime(2024, 5, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    s = Session(title="t", model="m", created_at=local)
    assert s.created_at == local
    assert s.created_at.tzinfo == UTC
    assert s.created_at.hour == 10


def test_constructor_defaults() -> None:
    sid, mid = uuid7(), uuid7()
    m = MessageRecord(session_id=sid, role=MessageRole.USER, content=[TextPart(text="x")])
    assert (m.tool_calls, m.tool_call_id, m.tool_name, m.usage, m.compaction_meta) == ([], None, None, None, None)
    assert (m.is_compaction, m.is_summary) == (False, False)
    e = ToolExecution(session_id=sid, message_id=mid, call_id="c", tool_name="t", arguments={"a": 1})
    assert (e.result, e.status, e.error, e.duration) == (None, ToolExecutionStatus.PENDING, None, timedelta(0))
    emb = EmbeddingRecord(model="e", vector=[1.0])
    assert (emb.session_id, emb.metadata) == (None, None)
    art = Artifact(name="a", content_type="c", data=b"x")
    assert (art.session_id, art.metadata, art.size) == (None, None, 1)
    assert Pagination() == Pagination(limit=100, offset=0)
    assert SessionFilter() == SessionFilter(metadata_filter=None, created_after=None, created_before=None)
    assert SessionStats.empty(sid) == SessionStats(session_id=sid, **dict.fromkeys(_STAT_FIELDS, 0))
    assert CompactionMeta.new(mid) == CompactionMeta(tail_start_id=mid, previous_compaction_id=None, summary_text=None)


_STAT_FIELDS = [
    "message_count",
    "tool_call_count",
    "tool_success_count",
    "tool_failure_count",
    "total_input_tokens",
    "total_output_tokens",
    "total_tokens",
    "avg_tool_duration_ms",
]


def test_enums_are_str_with_wire_values() -> None:
    assert [r.value for r in MessageRole] == ["system", "user", "assistant", "tool"]
    assert MessageRole.USER == "user"
    assert [s.value for s in ToolExecutionStatus] == ["pending", "success", "failed"]
    assert ToolExecutionStatus.FAILED == "failed"


# --- builders ------------------------------------------------------------------------------------------------


def _unchanged(old: Any, new: Any, *changed: str) -> None:
    """Every field except ``changed`` is equal, ``old`` itself is untouched, and ``new`` is a distinct record."""
    assert new is not old
    for name in type(old).model_fields:
        if name not in changed:
            assert getattr(new, name) == getattr(old, name), name


def test_message_builders() -> None:
    m = MessageRecord(session_id=uuid7(), role=MessageRole.TOOL, content=[TextPart(text="r")])
    t = m.with_tool_result("call_1", "grep")
    assert (t.tool_call_id, t.tool_name, m.tool_call_id) == ("call_1", "grep", None)
    _unchanged(m, t, "tool_call_id", "tool_name")
    calls = [ToolCall(id="c", name="n", arguments={"x": 1})]
    c = m.with_tool_calls(calls)
    assert c.tool_calls == calls
    assert m.tool_calls == []
    _unchanged(m, c, "tool_calls")
    u = m.with_usage(TokenUsage.new(1, 2))
    assert u.usage == TokenUsage(input_tokens=1, output_tokens=2, total_tokens=3)
    _unchanged(m, u, "usage")
    meta = CompactionMeta.new(uuid7())
    comp = m.with_compaction(meta)
    assert (comp.is_compaction, comp.is_summary, comp.compaction_meta) == (True, False, meta)
    _unchanged(m, comp, "is_compaction", "compaction_meta")
    summ = m.with_summary(meta.with_summary("s"))
    assert (summ.is_compaction, summ.is_summary, summ.compaction_meta.summary_text) == (False, True, "s")  # type: ignore[union-attr]
    _unchanged(m, summ, "is_summary", "compaction_meta")


def test_builders_validate() -> None:
    m = MessageRecord(session_id=uuid7(), role=MessageRole.USER, content=[])
    with pytest.raises(ValidationError):
        m.with_tool_calls([{"id": "c"}])  # type: ignore[list-item]
    with pytest.raises(ValidationError):
        m.with_tool_result(1, "n")  # type: ignore[arg-type]
    e = ToolExecution(session_id=uuid7(), message_id=uuid7(), call_id="c", tool_name="t", arguments=None)
    with pytest.raises(ValidationError):
        e.with_success(1, 5.0)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        TokenUsage.new(1, 1).with_cache_stats(-1, None, None)


def test_compaction_meta_builders() -> None:
    a, b = uuid7(), uuid7()
    meta = CompactionMeta.new(a).with_previous(b).with_summary("text")
    assert meta == CompactionMeta(tail_start_id=a, previous_compaction_id=b, summary_text="text")


def test_session_embedding_artifact_builders() -> None:
    sid = uuid7()
    s = Session(title="t", model="m", metadata={"a": 1})
    s2 = s.with_metadata({"b": 2})
    assert s2.metadata == {"b": 2}
    assert s.metadata == {"a": 1}
    _unchanged(s, s2, "metadata")
    for r in (EmbeddingRecord(model="e", vector=[1.0]), Artifact(name="a", content_type="c", data=b"x")):
        w = r.with_session(sid)
        assert w.session_id == sid
        assert r.session_id is None
        _unchanged(r, w, "session_id")
        md = r.with_metadata([1, 2])
        assert md.metadata == [1, 2]
        _unchanged(r, md, "metadata")


def test_execution_builders() -> None:
    e = ToolExecution(session_id=uuid7(), message_id=uuid7(), call_id="c", tool_name="t", arguments={})
    ok = e.with_success({"r": 1}, timedelta(milliseconds=5))
    assert (ok.result, ok.status, ok.duration, ok.error) == (
        {"r": 1},
        ToolExecutionStatus.SUCCESS,
        timedelta(milliseconds=5),
        None,
    )
    _unchanged(e, ok, "result", "status", "duration")
    bad = ok.with_failure("boom", timedelta(seconds=2))
    # with_failure leaves the result as it was, with_success leaves the error: behest's builders
    assert (bad.result, bad.status, bad.error, bad.duration_ms) == ({"r": 1}, ToolExecutionStatus.FAILED, "boom", 2000)
    again = bad.with_success(None, timedelta(microseconds=1999))
    assert (again.error, again.duration_ms) == ("boom", 1)
    assert e.status is ToolExecutionStatus.PENDING


def test_token_usage_helpers() -> None:
    u = TokenUsage.new(7, 5)
    assert (u.input_tokens, u.output_tokens, u.total_tokens, u.cache_tokens()) == (7, 5, 12, 0)
    c = u.with_cache_stats(1, None, 4)
    assert (c.cache_creation_input_tokens, c.cache_read_input_tokens, c.cached_input_tokens) == (1, None, 4)
    assert c.cache_tokens() == 5
    assert u.cache_creation_input_tokens is None
    other = TokenUsage(input_tokens=10, output_tokens=20, total_tokens=999).with_cache_stats(None, None, 6)
    merged = c.merge(other)
    assert (merged.input_tokens, merged.output_tokens) == (17, 25)
    assert merged.total_tokens == 7 + 5 + 10 + 20  # recomputed from in/out, not 12 + 999
    assert (merged.cache_creation_input_tokens, merged.cache_read_input_tokens, merged.cached_input_tokens) == (
        1,
        None,
        10,
    )
    assert TokenUsage.new(0, 0).merge(TokenUsage.new(0, 0)).cache_creation_input_tokens is None
