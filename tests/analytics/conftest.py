"""A store of every backend filled with deterministic sample sessions plus one hand-made session of edge cases,
shared by a module's read-only tests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from behest_lab import (
    CompactionMeta,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
)
from behest_lab.sample import generate
from tests.conftest import BACKENDS

T0 = datetime(2026, 9, 30, 22, 0, tzinfo=UTC)


def add_edge_session(store: Store) -> Session:
    """A session with back-to-back compactions, a summary without meta, a tail id that is not in the history,
    an unpaired compaction marker, failed/pending executions with repeated errors and nested metadata."""
    s = store.sessions.create_session(
        Session(
            title="edge 'quotes'",
            model="claude-haiku-4-5",
            created_at=T0,
            updated_at=T0 + timedelta(hours=3),
            metadata={"user": "zoë", "team": "core", "tags": ["a", "b"], "n": 3, "nested": {"k": True}},
        )
    )
    t = iter(T0 + timedelta(minutes=i) for i in range(1000))

    def msg(role: MessageRole, text: str, **kw: object) -> MessageRecord:
        return MessageRecord(session_id=s.id, role=role, content=[TextPart(text=text)], created_at=next(t), **kw)

    u1 = msg(MessageRole.USER, "first question " * 20)
    a1 = msg(
        MessageRole.ASSISTANT,
        "calling",
        tool_calls=[
            ToolCall(id="c1", name="grep", arguments={"pattern": "x"}),
            ToolCall(id="c2", name="ls", arguments={}),
        ],
        usage=TokenUsage(input_tokens=900, output_tokens=40, total_tokens=940, cache_read_input_tokens=100),
    )
    r1 = msg(MessageRole.TOOL, "result one").with_tool_result("c1", "grep")
    u2 = msg(MessageRole.USER, "second question " * 10)
    meta = CompactionMeta(tail_start_id=u2.id)
    c1 = msg(MessageRole.USER, "[compaction]").with_compaction(meta)
    s1 = msg(MessageRole.ASSISTANT, "the summary").with_summary(meta.with_summary("summary one"))
    c2 = msg(MessageRole.USER, "[compaction]").with_compaction(CompactionMeta(tail_start_id=c1.id))
    s2 = msg(MessageRole.ASSISTANT, "summary two, from text").model_copy(update={"is_summary": True})
    lone = msg(MessageRole.USER, "[compaction]").with_compaction(CompactionMeta(tail_start_id=None))
    u3 = msg(MessageRole.USER, "third")
    a3 = msg(MessageRole.ASSISTANT, "answer", usage=TokenUsage(input_tokens=300, output_tokens=20, total_tokens=320))
    gone = CompactionMeta(tail_start_id=u1.id.__class__(int=1))
    c3 = msg(MessageRole.USER, "[compaction]").with_compaction(gone)
    s3 = msg(MessageRole.ASSISTANT, "s3").with_summary(gone.with_summary("summary three"))
    store.sessions.append_messages([u1, a1, r1, u2, c1, s1, c2, s2, lone, u3, a3, c3, s3], touch_session=False)
    execs = []
    for i, (status, err, ms) in enumerate(
        [("failed", "boom", 5), ("failed", "boom", 7), ("failed", "zap", 9), ("failed", "alpha", 1),
         ("failed", "omega", 2), ("success", None, 11), ("pending", None, 0)]
    ):  # fmt: skip
        e = ToolExecution(
            session_id=s.id, message_id=a1.id, call_id=f"c{i}", tool_name="grep", arguments={"i": i}, created_at=next(t)
        )
        if status == "failed":
            e = e.with_failure(str(err), timedelta(milliseconds=ms, microseconds=250))
        elif status == "success":
            e = e.with_success({"ok": True}, timedelta(milliseconds=ms))
        execs.append(e)
    store.executions.record_executions(execs)
    return s


@pytest.fixture(scope="module", params=sorted(BACKENDS))
def filled(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """A store of each backend with 6 generated sessions (tool executions, usage with cache counters, four
    compactions) and ``add_edge_session``. Tests must not write to it."""
    store = BACKENDS[request.param](request, tmp_path_factory.mktemp("filled"))
    try:
        generate(store, sessions=6, seed=6, embedding_dim=None)
        add_edge_session(store)
        yield store
    finally:
        store.close()
