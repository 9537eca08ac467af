"""Stored text that would run, hide the page or frame something if an HTML surface wrote it raw, and the HTML
checks the report tests share.

``hostile_store`` fills a store whose every text field holds ``PAYLOADS``; ``read_page`` parses a page into tags,
visible text and tables; ``assert_inert`` checks that nothing in a page can run or frame anything. Used by
tests/test_report.py and tests/browser/test_report_browser.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

from behest_lab import (
    CompactionMeta,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    TokenUsage,
    ToolCall,
    ToolExecution,
    UsageRecord,
)

#: Markup that would run, hide the page or frame something if a report wrote it raw (each sets ``window.__pwned``),
#: and Markdown and mathtext that a renderer would act on (``$\nosuchmacro$`` stops matplotlib if read as math).
PAYLOADS = (
    "<script>window.__pwned='script'</script>",
    "<img src=x onerror=\"window.__pwned='img'\">",
    "<a href=\"javascript:window.__pwned='link'\">click</a>",
    "</style><style>body{display:none}</style>",
    "<iframe srcdoc=\"<script>parent.__pwned='iframe'</script>\"></iframe>",
    "$\\frac{1}{0}$ $\\nosuchmacro$ **bold** _under_ `tick` [x](javascript:alert(1))",
)


def hostile(field: str) -> str:
    """The text stored in ``field``: its name, then every payload."""
    return f"{field}: " + " ".join(PAYLOADS)


def hostile_store(store: Store) -> list[str]:
    """Write two sessions whose every text field holds ``hostile`` markup: session title, model, metadata keys and
    values, message text, tool names, arguments, results and errors, usage provider and model, compaction summary.
    The second session's usage names a priced model (so the cost plot has bars); everything else is hostile.

    Returns:
        The hostile texts the direct report shows (title, session model, usage provider and model, tool name, tool
        error, metadata key).
    """
    start = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for n, (provider, model) in enumerate(((hostile("provider"), hostile("usage model")), ("openai", "gpt-4o"))):
        at = start + timedelta(days=n)
        session = Session(
            title=hostile("title"),
            model=hostile("model"),
            metadata={hostile("metadata key"): hostile("metadata value"), "team": hostile("team")},
            created_at=at,
            updated_at=at + timedelta(minutes=30),
        )
        store.sessions.create_session(session)
        tool = hostile("tool")
        call = ToolCall(id=f"call-{n}", name=tool, arguments={hostile("argument key"): hostile("argument")})
        first = MessageRecord.text(session.id, MessageRole.USER, hostile("user text"), created_at=at)
        asks = MessageRecord.text(
            session.id, MessageRole.ASSISTANT, hostile("assistant text"), created_at=at + timedelta(seconds=5)
        ).with_tool_calls([call])
        asks = asks.with_usage(TokenUsage.new(1200 + n, 80))
        result = MessageRecord.text(
            session.id, MessageRole.TOOL, hostile("tool result"), created_at=at + timedelta(seconds=9)
        ).with_tool_result(call.id, tool)
        fold = MessageRecord.text(
            session.id, MessageRole.USER, hostile("compaction"), created_at=at + timedelta(seconds=20)
        ).with_compaction(CompactionMeta.new(result.id))
        summary = MessageRecord.text(
            session.id, MessageRole.ASSISTANT, hostile("summary"), created_at=at + timedelta(seconds=21)
        ).with_summary(CompactionMeta(tail_start_id=result.id, summary_text=hostile("summary text")))
        store.sessions.append_messages([first, asks, result, fold, summary])
        run = ToolExecution(
            session_id=session.id,
            message_id=asks.id,
            call_id=call.id,
            tool_name=tool,
            arguments=call.arguments,
            created_at=at + timedelta(seconds=6),
        )
        failed = run.with_failure(hostile("tool error"), timedelta(milliseconds=250 + n))
        store.executions.record_execution(failed)
        ok = ToolExecution(
            session_id=session.id,
            message_id=asks.id,
            call_id=f"{call.id}-again",
            tool_name=tool,
            arguments=call.arguments,
            created_at=at + timedelta(seconds=7),
        ).with_success({hostile("result key"): hostile("result")}, timedelta(milliseconds=40))
        store.executions.record_execution(ok)
        usage = UsageRecord.new(session.id, asks.id, provider, model, asks.usage or TokenUsage.new(1, 1))
        store.executions.record_usage(usage.model_copy(update={"created_at": at + timedelta(seconds=5)}))
    return [hostile(f) for f in ("title", "model", "provider", "usage model", "tool", "tool error", "metadata key")]


class Page(HTMLParser):
    """Tags with attributes, the text outside <style>/<script>/<title>, and every table as rows of cell texts."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.text: list[str] = []
        self.tables: list[list[list[str]]] = []
        self._skip = 0
        self._cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        if tag in ("style", "script", "title"):
            self._skip += 1
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._skip -= 1
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def visible(self) -> str:
        return " ".join(" ".join(self.text).split())


def read_page(page: str) -> Page:
    parsed = Page()
    parsed.feed(page)
    parsed.close()
    return parsed


def assert_inert(page: str) -> Page:
    """No element or attribute of ``page`` can run or frame anything; returns the parsed page."""
    parsed = read_page(page)
    names = {tag for tag, _ in parsed.tags}
    assert not names & {"script", "iframe", "object", "embed", "base", "form", "link"}, names
    for tag, attrs in parsed.tags:
        for name, value in attrs.items():
            assert not name.startswith("on"), (tag, name, value[:80])
            assert not value.strip().lower().startswith("javascript:"), (tag, name, value[:80])
        if tag == "img":
            assert attrs.get("src", "data:image/").startswith("data:image/"), attrs["src"][:40]
    assert [t for t, _ in parsed.tags].count("style") <= 1  # the report's own CSS only
    return parsed
