"""Conformance: timestamps keep their nanoseconds in every store, and ordering uses them."""

from __future__ import annotations

from uuid import UUID

from behest_lab import (
    Artifact,
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TextPart,
    ToolExecution,
    UsageRecord,
    uuid7,
)
from behest_lab.records import Instant

# behest writes these (chrono, nanosecond precision); the JSON text is what serde prints for each
T_NS = Instant.from_epoch_ns(1_751_200_000_123_456_789)
T_NS_TEXT = "2025-06-29T12:26:40.123456789Z"


def _json_time(record: object, key: str = "created_at") -> str:
    text: str = record.model_dump_json()  # type: ignore[attr-defined]
    start = text.index(f'"{key}":"') + len(key) + 4
    return text[start : text.index('"', start)]


def test_sessions_keep_nanoseconds(store: Store) -> None:
    s = Session(title="t", model="m", created_at=T_NS, updated_at=Instant.from_epoch_ns(T_NS.epoch_ns + 1))
    store.sessions.create_session(s)
    got = store.sessions.get_session(s.id)
    assert got == s
    assert got is not None
    assert _json_time(got) == T_NS_TEXT
    assert _json_time(got, "updated_at") == "2025-06-29T12:26:40.123456790Z"
    assert store.sessions.list_sessions() == [s]


def test_sessions_one_nanosecond_apart_list_by_updated_at(store: Store) -> None:
    early = Session(title="a", model="m", created_at=T_NS, updated_at=T_NS)
    late = Session(title="b", model="m", created_at=T_NS, updated_at=Instant.from_epoch_ns(T_NS.epoch_ns + 1))
    store.sessions.create_session(early)
    store.sessions.create_session(late)
    assert [x.title for x in store.sessions.list_sessions()] == ["b", "a"]


def _message(sid: UUID, text: str, ns: int) -> MessageRecord:
    return MessageRecord(
        session_id=sid, role=MessageRole.USER, content=[TextPart(text=text)], created_at=Instant.from_epoch_ns(ns)
    )


def test_messages_one_nanosecond_apart_keep_their_order(store: Store) -> None:
    s = store.sessions.create_session(Session(title="t", model="m", created_at=T_NS, updated_at=T_NS))
    base = T_NS.epoch_ns
    # appended latest first: only the nanoseconds tell the order
    later = store.sessions.append_message(_message(s.id, "later", base + 1))
    earlier = store.sessions.append_message(_message(s.id, "earlier", base))
    got = store.sessions.list_messages(s.id)
    assert got == [earlier, later]
    assert [_json_time(m) for m in got] == [T_NS_TEXT, "2025-06-29T12:26:40.123456790Z"]
    assert got[0].created_at < got[1].created_at


def test_latest_compaction_uses_nanoseconds(store: Store) -> None:
    s = store.sessions.create_session(Session(title="t", model="m", created_at=T_NS, updated_at=T_NS))
    base = T_NS.epoch_ns
    second = _message(s.id, "second", base + 999).model_copy(update={"is_compaction": True})
    first = _message(s.id, "first", base + 998).model_copy(update={"is_compaction": True})
    store.sessions.append_message(second)
    store.sessions.append_message(first)
    assert store.sessions.get_latest_compaction(s.id) == second


def test_executions_usage_embeddings_artifacts_keep_nanoseconds(store: Store) -> None:
    s = store.sessions.create_session(Session(title="t", model="m", created_at=T_NS, updated_at=T_NS))
    mid = uuid7()
    e_late = ToolExecution(
        session_id=s.id, message_id=mid, call_id="b", tool_name="t", created_at=Instant.from_epoch_ns(T_NS.epoch_ns + 1)
    )
    e_early = ToolExecution(session_id=s.id, message_id=mid, call_id="a", tool_name="t", created_at=T_NS)
    store.executions.record_execution(e_late)
    store.executions.record_execution(e_early)
    assert store.executions.list_executions(s.id) == [e_early, e_late]
    u = UsageRecord(
        session_id=s.id,
        message_id=mid,
        provider="p",
        model="m",
        input_tokens=1,
        output_tokens=2,
        total_tokens=3,
        created_at=T_NS,
    )
    store.executions.record_usage(u)
    assert store.executions.list_usage(s.id) == [u]
    emb = EmbeddingRecord(session_id=s.id, model="m", vector=[1.0, 0.0], created_at=T_NS)
    store.embeddings.upsert(emb)
    assert store.embeddings.get(emb.id) == emb
    art = Artifact(session_id=s.id, name="a", content_type="text/plain", data=b"x", created_at=T_NS)
    store.artifacts.put(art)
    got = store.artifacts.get(art.id)
    assert got == art
    assert got is not None
    assert _json_time(got) == T_NS_TEXT


def test_search_results_keep_nanoseconds(store: Store) -> None:
    emb = EmbeddingRecord(model="m", vector=[1.0, 0.0], created_at=T_NS)
    store.embeddings.upsert(emb)
    (hit,) = store.embeddings.search([1.0, 0.0], 1)
    assert hit.record == emb
    assert _json_time(hit.record) == T_NS_TEXT
