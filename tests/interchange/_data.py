"""Store contents for interchange tests: hand-built edge cases plus ``behest_lab.sample`` data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from behest_lab import (
    Artifact,
    CacheControl,
    CompactionMeta,
    EmbeddingRecord,
    ImageUrlPart,
    JsonPart,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    UsageRecord,
)
from behest_lab.sample import generate
from behest_lab.stores import tables

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def populate(store: Store, *, sample_sessions: int = 3, sql_safe: bool = False) -> None:
    """Hand-built edge cases and ``sample_sessions`` generated sessions.

    ``sql_safe`` leaves out what behest's SQL schema cannot hold (usage-record cache counters, sub-millisecond
    durations), so a SQLite round trip must give the same records back.
    """
    if sample_sessions:
        generate(store, sessions=sample_sessions, seed=7, start=T0 - timedelta(days=40), days=5)
    s1 = store.sessions.create_session(
        Session(title="Ünïcode ✓", model="claude", created_at=at(0), updated_at=at(100), metadata={"a": 1e16, "b": [1]})
    )
    s2 = store.sessions.create_session(Session(title="", model="", created_at=at(0), updated_at=at(0)))
    calls = [ToolCall(id="c1", name="search", arguments={"q": "x"}), ToolCall(id="c2", name="read", arguments=None)]
    meta = CompactionMeta(tail_start_id=None)
    msgs = [
        MessageRecord(
            session_id=s1.id,
            role=MessageRole.USER,
            content=[TextPart(text="hi", cache_control=CacheControl(ttl="one_hour")), ImageUrlPart(url="data:x")],
            created_at=at(1),
        ),
        MessageRecord(
            session_id=s1.id,
            role=MessageRole.ASSISTANT,
            content=[],
            tool_calls=calls,
            usage=TokenUsage.new(2**64 - 2, 1).with_cache_stats(None, 5, 0),
            created_at=at(2),
        ),
        MessageRecord(
            session_id=s1.id, role=MessageRole.TOOL, content=[JsonPart(value={"n": 1.5})], created_at=at(3)
        ).with_tool_result("c1", "search"),
        MessageRecord(
            session_id=s1.id, role=MessageRole.TOOL, content=[JsonPart(value=None)], created_at=at(3)
        ).with_tool_result("c2", "read"),
        MessageRecord(session_id=s1.id, role=MessageRole.SYSTEM, content=[TextPart(text="s")], created_at=at(2.5)),
        MessageRecord.text(s1.id, MessageRole.USER, "[compaction]", created_at=at(4)).with_compaction(meta),
        MessageRecord.text(s1.id, MessageRole.ASSISTANT, "sum", created_at=at(4)).with_summary(
            meta.with_summary("sum")
        ),
    ]
    store.sessions.append_messages(msgs, touch_session=False)
    duration = timedelta(milliseconds=1500) if sql_safe else timedelta(microseconds=1_500_250)
    store.executions.record_executions(
        [
            ToolExecution(
                session_id=s1.id,
                message_id=msgs[1].id,
                call_id="c1",
                tool_name="search",
                arguments={},
                created_at=at(2.1),
            ).with_success({"ok": [1, 2.5]}, duration),
            ToolExecution(
                session_id=s1.id,
                message_id=msgs[1].id,
                call_id="c2",
                tool_name="read",
                arguments=[1],
                created_at=at(2.1),
            ).with_failure("no such file", timedelta(0)),
        ]
    )
    cache: dict[str, Any] = {} if sql_safe else {"cache_read_input_tokens": 7}
    store.executions.record_usages(
        [
            UsageRecord(
                session_id=s1.id,
                message_id=msgs[1].id,
                provider="anthropic",
                model="claude",
                input_tokens=2**64 - 1,
                output_tokens=0,
                total_tokens=3,
                created_at=at(2),
                **cache,
            ),
            UsageRecord(
                session_id=s2.id,
                message_id=msgs[1].id,
                provider="openai",
                model="gpt",
                input_tokens=1,
                output_tokens=2,
                total_tokens=3,
                created_at=at(5),
            ),
        ]
    )
    store.embeddings.upsert_many(
        [
            EmbeddingRecord(
                model="e", vector=[0.1, -2.0, 3e-7], session_id=s1.id, metadata={"k": "v"}, created_at=at(1)
            ),
            EmbeddingRecord(model="e", vector=[1.0], created_at=at(1)),
        ]
    )
    store.artifacts.put(
        Artifact(name="a.bin", content_type="application/octet-stream", data=b"\x00\xff", session_id=s1.id)
    )
    store.artifacts.put(Artifact(name="free.txt", content_type="text/plain", data=b"", created_at=at(9)))


@dataclass
class Snapshot:
    """Every record of a store, in a canonical order, for equality checks."""

    sessions: list[Session]
    messages: list[list[MessageRecord]]
    executions: list[list[ToolExecution]]
    usage: list[list[UsageRecord]]
    embeddings: list[EmbeddingRecord]
    artifacts: list[Artifact]


def snapshot(store: Store) -> Snapshot:
    """All records through the store API (embeddings found by id through SQL: there is no listing method)."""
    sessions = sorted(store.sessions.list_sessions(), key=lambda s: s.id)
    emb_ids = [r[0] for r in store.sql("SELECT id FROM embeddings ORDER BY id").fetchall()]
    art_ids = [r[0] for r in store.sql("SELECT id FROM artifacts ORDER BY id").fetchall()]
    embeddings = [store.embeddings.get(i) for i in emb_ids]
    artifacts = [store.artifacts.get(i) for i in art_ids]
    return Snapshot(
        sessions=sessions,
        messages=[store.sessions.list_messages(s.id) for s in sessions],
        executions=[store.executions.list_executions(s.id) for s in sessions],
        usage=[store.executions.list_usage(s.id) for s in sessions],
        embeddings=[e for e in embeddings if e is not None],
        artifacts=[a for a in artifacts if a is not None],
    )


def count(store: Store, table: str) -> int:
    """Rows of one of the store's tables."""
    assert table in tables.TABLES
    row = store.sql(f"SELECT count(*) FROM {table}").fetchone()
    assert row is not None
    return int(row[0])
