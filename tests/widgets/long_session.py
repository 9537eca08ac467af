"""A long session for the widgets' size and theme checks (the unit tests and the Chromium test both load it).

120-odd messages in user / assistant-with-a-tool-call / tool-result turns: every result text is unique
(``RESULT_MARK`` + its number), a compaction pair sits on the first timeline page, one user text is far longer than
an HTML value may hold (``HUGE``), another is longer than the preview (``LONG``), a JSON part is long, every
seventh execution failed with an HTTP 502 page as its error, one tool is named ``$\\foo$`` and one usage record's
model ``$\\bar$`` (matplotlib would read both as mathtext). The assistant message at index ``SPLIT_CALL`` (the
last of the first timeline page) has its result on the second page.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from behest_lab import Store
from behest_lab.records import (
    CompactionMeta,
    JsonPart,
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
from behest_lab.widgets import TIMELINE_PAGE

LONG_ID = UUID("01a2e000-0000-7000-8000-0000000001a9")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TURNS = 40
RESULT_MARK = "RESULT-TEXT-"
MATH_TOOL = "$\\foo$"
MATH_MODEL = "$\\bar$"
HUGE = 200_000
"""Characters of the huge user text."""
LONG = 4_000
"""Characters of the long user text."""
SPLIT_CALL = TIMELINE_PAGE - 1
"""Index of the assistant message whose tool call is the last of the first timeline page."""
ERROR_PAGE = (
    "<html><head><title>502 Bad Gateway</title></head><body>" + "<p>upstream failed</p>" * 150 + "</body></html>"
)
TOOLS = ("search", "fetch_page", MATH_TOOL)


def result_text(turn: int) -> str:
    """The unique text of turn ``turn``'s tool result."""
    return f"{RESULT_MARK}{turn:03d} rows=[{turn}, {turn * 2}]"


def long_session_records() -> tuple[Session, list[MessageRecord], list[ToolExecution], list[UsageRecord]]:
    """The long session's records (same ids and times on every call)."""
    session = Session(
        id=LONG_ID,
        title="a long session " + "with a long title " * 20,
        model="gpt-4o",
        created_at=T0,
        updated_at=T0,
        metadata={"team": "widgets"},
    )
    clock = iter(T0 + timedelta(seconds=3 * i) for i in range(10_000))
    ids = iter(UUID(int=LONG_ID.int + 1 + i) for i in range(10_000))
    messages: list[MessageRecord] = []
    executions: list[ToolExecution] = []
    usages: list[UsageRecord] = []

    def add(role: MessageRole, content: list[Any], **fields: Any) -> MessageRecord:
        m = MessageRecord(
            id=next(ids), session_id=LONG_ID, role=role, created_at=next(clock), content=content, **fields
        )
        messages.append(m)
        return m

    for turn in range(TURNS):
        # pad so that one turn's call is the last message of the first timeline page
        while len(messages) in (SPLIT_CALL - 2, SPLIT_CALL - 3):
            add(MessageRole.USER, [TextPart(text=f"padding at {len(messages)}")])
        if turn == 1:
            add(MessageRole.USER, [TextPart(text=("long text " * (LONG // 10))[:LONG])])
        elif turn == 5:
            add(MessageRole.USER, [TextPart(text="H" * (HUGE - 1) + "Z")])
        else:
            add(MessageRole.USER, [TextPart(text=f"question {turn}: what does the data say?")])
        call = ToolCall(id=f"call-{turn}", name=TOOLS[turn % len(TOOLS)], arguments={"q": f"query {turn}", "n": turn})
        model = MATH_MODEL if turn == 7 else "gpt-4o"
        content: list[Any] = [TextPart(text=f"calling {call.name} for turn {turn}")]
        if turn == 2:
            content.append(JsonPart(value={"plan": [f"step {i}" for i in range(400)]}))
        assistant = add(
            MessageRole.ASSISTANT,
            content,
            tool_calls=[call],
            usage=TokenUsage(input_tokens=1000 + turn, output_tokens=100 + turn, total_tokens=1100 + 2 * turn),
        )
        usages.append(
            UsageRecord(
                session_id=LONG_ID,
                message_id=assistant.id,
                provider="openai",
                model=model,
                input_tokens=1000 + turn,
                output_tokens=100 + turn,
                total_tokens=1100 + 2 * turn,
                created_at=assistant.created_at,
            )
        )
        failed = turn % 7 == 3
        executions.append(
            ToolExecution(
                session_id=LONG_ID,
                message_id=assistant.id,
                call_id=call.id,
                tool_name=call.name,
                arguments=call.arguments,
                status=ToolExecutionStatus.FAILED if failed else ToolExecutionStatus.SUCCESS,
                error=ERROR_PAGE if failed else None,
                duration=timedelta(milliseconds=20 + 37 * turn),
                created_at=assistant.created_at,
            )
        )
        result = add(
            MessageRole.TOOL,
            [TextPart(text=result_text(turn))],
            tool_call_id=call.id,
            tool_name=call.name,
        )
        if turn == 3:
            add(
                MessageRole.USER,
                [TextPart(text="[compaction]")],
                is_compaction=True,
                compaction_meta=CompactionMeta(tail_start_id=result.id),
            )
            summary = "the first turns asked three questions and called three tools"
            add(
                MessageRole.ASSISTANT,
                [TextPart(text=summary)],
                is_summary=True,
                compaction_meta=CompactionMeta(tail_start_id=result.id, summary_text=summary),
            )
    return session, messages, executions, usages


def load_long_session(store: Store) -> Session:
    """Write the long session into ``store``; returns its ``Session``."""
    session, messages, executions, usages = long_session_records()
    store.sessions.create_sessions([session])
    store.sessions.append_messages(messages, touch_session=False)
    store.executions.record_executions(executions)
    store.executions.record_usages(usages)
    return session
