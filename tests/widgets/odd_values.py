"""A store holding odd values in every text a view shows, for the view tests (widgets, plots, report, Chromium).

One session per odd value (``ODD``: a NUL, a mathtext-looking name, a script tag, an image with an ``onerror``)
carries it in its title, its model, its usage records' model and provider, a tool name (the call, the execution
and the result message), a metadata key and value, and its message texts. Beside them, a ``PLAIN`` session with
ordinary values (a priced model) must keep showing in every view. Every session is priced or unpriced the same way
on each backend, so the views show the same numbers.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from behest_lab import Store
from behest_lab.records import (
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

ODD = {
    "nul": "a\x00b",
    "math": "$\\foo$",
    "script": "<script>window.__odd_ran = 1</script>",
    "img": '<img src=x onerror="window.__odd_ran = 1">',
}
"""The odd values by a short name."""

METADATA_KEYS = ("", "\x00", "*", "Cost", "Messages", "a\"b'c")
"""Metadata keys that once broke a view (empty, NUL, a JSON-path wildcard, names of documented columns, quotes)."""

PLAIN = "plain session"
"""Title of the ordinary session that must keep showing beside the odd ones."""

PLAIN_MODEL = "gpt-4o"
T0 = datetime(2026, 9, 14, 8, 0, tzinfo=UTC)


def _uid(n: int) -> UUID:
    return UUID(int=0x0D0D0000_0000_7000_8000_000000000000 + n)


def title(name: str) -> str:
    """The title of the session of ``ODD[name]``."""
    return f"title {ODD[name]} end"


def model(name: str) -> str:
    """The model (session and usage) of the session of ``ODD[name]``."""
    return f"model {ODD[name]}"


def provider(name: str) -> str:
    """The provider of the usage records of the session of ``ODD[name]``."""
    return f"provider {ODD[name]}"


def tool(name: str) -> str:
    """The tool name of the session of ``ODD[name]``."""
    return f"tool {ODD[name]}"


def text(name: str) -> str:
    """The user message text of the session of ``ODD[name]``."""
    return f"text {ODD[name]} end"


def odd_records() -> tuple[list[Session], list[MessageRecord], list[ToolExecution], list[UsageRecord]]:
    """The sessions of every odd value and the plain session, with their messages, executions and usage."""
    sessions: list[Session] = []
    messages: list[MessageRecord] = []
    executions: list[ToolExecution] = []
    usages: list[UsageRecord] = []
    n = 0

    def next_id() -> UUID:
        nonlocal n
        n += 1
        return _uid(n)

    cases: list[tuple[str | None, str, str, str, str, str]] = [
        (k, title(k), model(k), provider(k), tool(k), text(k)) for k in ODD
    ]
    cases.append((None, PLAIN, PLAIN_MODEL, "openai", "search", "plain text"))
    for day, (key, name, mdl, prov, tl, body) in enumerate(cases):
        start = T0 + timedelta(days=day)
        clock = iter(start + timedelta(seconds=i) for i in range(100))
        metadata: dict[str, object] = {"team": "plain"} if key is None else dict.fromkeys(METADATA_KEYS, ODD[key])
        if key is not None:
            metadata[ODD[key]] = "odd key"
        session = Session(id=next_id(), title=name, model=mdl, created_at=start, updated_at=start, metadata=metadata)
        sid = session.id
        user = MessageRecord(
            id=next_id(), session_id=sid, role=MessageRole.USER, created_at=next(clock), content=[TextPart(text=body)]
        )
        call_id = f"call-{day}"
        assistant = MessageRecord(
            id=next_id(),
            session_id=sid,
            role=MessageRole.ASSISTANT,
            created_at=next(clock),
            content=[TextPart(text=f"calling {tl}")],
            tool_calls=[ToolCall(id=call_id, name=tl, arguments={"q": body, (ODD[key] if key else "k"): 1})],
            usage=TokenUsage(input_tokens=1000 + day, output_tokens=200, total_tokens=1200 + day),
        )
        result = MessageRecord(
            id=next_id(),
            session_id=sid,
            role=MessageRole.TOOL,
            created_at=next(clock),
            content=[TextPart(text=f"result {body}")],
            tool_call_id=call_id,
            tool_name=tl,
        )
        execution = ToolExecution(
            id=next_id(),
            session_id=sid,
            message_id=assistant.id,
            call_id=call_id,
            tool_name=tl,
            arguments={"q": body},
            result={"r": body},
            status=ToolExecutionStatus.FAILED if key is not None else ToolExecutionStatus.SUCCESS,
            error=None if key is None else f"error {body}",
            duration=timedelta(milliseconds=100 * (day + 1)),
            created_at=assistant.created_at,
        )
        usage = UsageRecord(
            id=next_id(),
            session_id=sid,
            message_id=assistant.id,
            provider=prov,
            model=mdl,
            input_tokens=1000 + day,
            output_tokens=200,
            total_tokens=1200 + day,
            created_at=assistant.created_at,
        )
        sessions.append(session)
        messages += [user, assistant, result]
        executions.append(execution)
        usages.append(usage)
    return sessions, messages, executions, usages


def load_odd(store: Store) -> None:
    """Write ``odd_records`` into ``store``."""
    sessions, messages, executions, usages = odd_records()
    store.sessions.create_sessions(sessions)
    store.sessions.append_messages(messages, touch_session=False)
    store.executions.record_executions(executions)
    store.executions.record_usages(usages)
