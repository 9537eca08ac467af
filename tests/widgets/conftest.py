"""Stores for the widget tests: a small sample store and a hostile store, per backend, built once per module."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from behest_lab import Store, open_store
from behest_lab.records import (
    CompactionMeta,
    ImageUrlPart,
    MessageRecord,
    MessageRole,
    Session,
    TextPart,
    TokenUsage,
    ToolCall,
    ToolExecution,
    UsageRecord,
)
from behest_lab.records.execution import ToolExecutionStatus
from behest_lab.sample import generate
from tests.lake.template import lake_store
from tests.widgets.long_session import load_long_session

SAMPLE_SESSIONS = 24
XSS = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
T0 = datetime(2026, 10, 3, 9, 0, tzinfo=UTC)


#: The widgets' backends: memory and the local lake (the shared lake-pg-s3 store runs the same SQL).
BACKENDS = ("lake", "memory")


def _open(backend: str, folder: Path) -> Store:
    return open_store(None) if backend == "memory" else lake_store(folder / "lake")


@pytest.fixture(scope="session", params=BACKENDS)
def sample_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """``SAMPLE_SESSIONS`` generated sessions (seed 3) on each backend."""
    store = _open(request.param, tmp_path_factory.mktemp(f"sample-{request.param}"))
    generate(store, sessions=SAMPLE_SESSIONS, seed=3, embedding_dim=None)
    try:
        yield store
    finally:
        store.close()


def hostile_records() -> tuple[Session, list[MessageRecord], list[ToolExecution], list[UsageRecord]]:
    """One session whose every text field tries to inject markup, with a tool call, a failed execution, image
    parts (safe and unsafe URLs), a compaction pair and 60 filler messages (two timeline pages)."""
    session = Session(
        title=f"{XSS} title",
        model="gpt-4o",
        created_at=T0,
        updated_at=T0,
        metadata={"team": XSS, "note": IMG},
    )
    sid = session.id
    clock = iter(T0 + timedelta(seconds=i) for i in range(1000))
    user = MessageRecord(
        session_id=sid,
        role=MessageRole.USER,
        created_at=next(clock),
        content=[
            TextPart(text=f"look {IMG}"),
            ImageUrlPart(url="javascript:alert(1)"),
            ImageUrlPart(url='https://example.com/a.png?x="><script>alert(1)</script>'),
            ImageUrlPart(url="data:image/png;base64,iVBORw0KGgo=", mime_type="image/png"),
        ],
    )
    assistant = MessageRecord(
        session_id=sid,
        role=MessageRole.ASSISTANT,
        created_at=next(clock),
        content=[TextPart(text=f"calling {XSS}")],
        tool_calls=[ToolCall(id="call-1", name=f"tool{XSS}", arguments={"q": IMG})],
        usage=TokenUsage(input_tokens=1200, output_tokens=300, total_tokens=1500, cached_input_tokens=200),
    )
    result = MessageRecord(
        session_id=sid,
        role=MessageRole.TOOL,
        created_at=next(clock),
        content=[TextPart(text=f"RESULT {IMG}")],
        tool_call_id="call-1",
        tool_name=f"tool{XSS}",
    )
    execution = ToolExecution(
        session_id=sid,
        message_id=assistant.id,
        call_id="call-1",
        tool_name=f"tool{XSS}",
        arguments={"q": IMG},
        status=ToolExecutionStatus.FAILED,
        error=f"boom {XSS}",
        duration=timedelta(milliseconds=1234),
        created_at=assistant.created_at,
    )
    compaction = MessageRecord(
        session_id=sid,
        role=MessageRole.USER,
        created_at=next(clock),
        content=[TextPart(text="[compaction]")],
        is_compaction=True,
        compaction_meta=CompactionMeta(tail_start_id=result.id),
    )
    summary = MessageRecord(
        session_id=sid,
        role=MessageRole.ASSISTANT,
        created_at=next(clock),
        content=[TextPart(text=f"SUMMARY {XSS}")],
        is_summary=True,
        compaction_meta=CompactionMeta(tail_start_id=result.id, summary_text=f"SUMMARY {XSS}"),
    )
    filler = [
        MessageRecord(
            session_id=sid,
            role=MessageRole.USER if i % 2 == 0 else MessageRole.ASSISTANT,
            created_at=next(clock),
            content=[TextPart(text=f"filler {i} {IMG}")],
        )
        for i in range(60)
    ]
    usage = UsageRecord(
        session_id=sid,
        message_id=assistant.id,
        provider="openai",
        model="gpt-4o",
        input_tokens=1200,
        output_tokens=300,
        total_tokens=1500,
        cached_input_tokens=200,
        created_at=assistant.created_at,
    )
    return session, [user, assistant, result, compaction, summary, *filler], [execution], [usage]


@pytest.fixture(scope="session", params=BACKENDS)
def hostile_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The ``hostile_records`` session on each backend."""
    store = _open(request.param, tmp_path_factory.mktemp(f"hostile-{request.param}"))
    session, messages, executions, usages = hostile_records()
    store.sessions.create_sessions([session])
    store.sessions.append_messages(messages, touch_session=False)
    store.executions.record_executions(executions)
    store.executions.record_usages(usages)
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session", params=BACKENDS)
def long_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The ``tests.widgets.long_session`` session on each backend."""
    store = _open(request.param, tmp_path_factory.mktemp(f"long-{request.param}"))
    load_long_session(store)
    try:
        yield store
    finally:
        store.close()
