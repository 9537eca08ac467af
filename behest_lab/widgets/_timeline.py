"""HTML of a session's message timeline and stats (all store text escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from behest_lab.records import ImageUrlPart, JsonPart, MessageRecord, SessionStats, TextPart, ToolExecution
from behest_lab.widgets._html import esc, json_text, link, money, number, when
from behest_lab.widgets._session import TimelinePage


def message_costs(usage: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per message id: ``cost`` (the priced calls' sum, None when none is priced), ``prompt_tokens``,
    ``output_tokens``, ``requests`` and ``model``, from a ``SessionRows.message_usage`` frame (one row per message,
    the cost rule applied in SQL)."""
    keys = ("cost", "prompt_tokens", "output_tokens", "requests", "model")
    return {row["message_id"]: {k: row[k] for k in keys} for row in usage.iter_rows(named=True)}


def _parts(message: MessageRecord) -> str:
    out = []
    for part in message.content:
        if isinstance(part, TextPart):
            out.append(f"<pre>{esc(part.text)}</pre>")
        elif isinstance(part, ImageUrlPart):
            mime = f" ({esc(part.mime_type)})" if part.mime_type else ""
            out.append(f'<div class="behest-image">image: {link(part.url)}{mime}</div>')
        elif isinstance(part, JsonPart):
            out.append(f'<pre class="behest-json">{esc(json_text(part.value))}</pre>')
    return "".join(out)


def _execution(e: ToolExecution | None) -> str:
    if e is None:
        return '<span class="behest-meta">no execution recorded</span>'
    ms = e.duration.total_seconds() * 1000
    cls = "behest-failed" if e.status.value == "failed" else "behest-meta"
    error = f" — error: {esc(e.error)}" if e.error else ""
    return f'<span class="{cls}">execution {esc(e.status.value)}, {ms:,.1f} ms{error}</span>'


def _calls(message: MessageRecord, page: TimelinePage) -> str:
    out = []
    for call in message.tool_calls:
        result = page.results.get(call.id)
        execution = page.executions.get((str(message.id), call.id))
        result_html = (
            '<span class="behest-meta">no result message</span>'
            if result is None
            else f"result: <pre>{esc(json_text(result.text_content, 600))}</pre>"
        )
        out.append(
            f'<div class="behest-call" data-call-id="{esc(call.id)}"><b>tool call</b> {esc(call.name)}'
            f"({esc(json_text(call.arguments, 300))}) — {_execution(execution)}<br>{result_html}</div>"
        )
    return "".join(out)


def _usage(message: MessageRecord, costs: Mapping[str, dict[str, Any]]) -> str:
    c = costs.get(str(message.id))
    if c is None:
        return ""
    return (
        f'<div class="behest-usage" data-cost="{esc("" if c["cost"] is None else c["cost"])}">'
        f"{esc(c['model'])}: {number(c['prompt_tokens'])} prompt + {number(c['output_tokens'])} output tokens, "
        f"cost {esc(money(c['cost']))}</div>"
    )


def _compaction(message: MessageRecord, pairs: Mapping[str, dict[str, Any]]) -> str:
    pair = pairs.get(str(message.id))
    if pair is None:
        return ""
    if message.is_compaction:
        return (
            f'<div class="behest-compaction">compaction: folded messages 0–{pair["messages_folded"] - 1} '
            f"({number(pair['messages_folded'])} messages) into the summary below, kept "
            f"{number(pair['messages_kept'])} tail messages (tail starts at {esc(pair['tail_start_id'])}); "
            f"≈{number(pair['estimated_tokens_before'])} → ≈{number(pair['estimated_tokens_after'])} tokens</div>"
        )
    return f'<div class="behest-compaction">summary of compaction {esc(pair["compaction_id"])}</div>'


def timeline_html(page: TimelinePage, costs: Mapping[str, dict[str, Any]], pairs: Mapping[str, dict[str, Any]]) -> str:
    """The page's messages as ``<div class="behest-msg behest-role-{role}">`` blocks: role, time, escaped text,
    image links, tool calls with their result message and execution, usage and cost, compaction marks.

    ``pairs`` maps the compaction and summary message ids to their ``analytics.compactions`` row.
    """
    blocks = []
    for i, m in enumerate(page.messages):
        role = m.role.value
        flags = " behest-compaction" if m.is_compaction or m.is_summary else ""
        tool = f" · {esc(m.tool_name)}" if m.tool_name else ""
        blocks.append(
            f'<div class="behest-msg behest-role-{esc(role)}{flags}" data-message-id="{esc(m.id)}">'
            f'<div class="behest-meta">#{page.offset + i} <b>{esc(role)}</b>{tool} · {esc(when(m.created_at))}</div>'
            f"{_compaction(m, pairs)}{_parts(m)}{_calls(m, page)}{_usage(m, costs)}</div>"
        )
    if not blocks:
        return '<div class="behest-meta">no messages</div>'
    return "".join(blocks)


def stats_html(title: str, model: str, stats: SessionStats, cost: Decimal | None, compactions: int) -> str:
    """The session header: title, model and the ``session_stats`` counters with the total cost."""
    rows = [
        ("messages", number(stats.message_count)),
        ("tool calls", number(stats.tool_call_count)),
        ("tool successes", number(stats.tool_success_count)),
        ("tool failures", number(stats.tool_failure_count)),
        ("input tokens", number(stats.total_input_tokens)),
        ("output tokens", number(stats.total_output_tokens)),
        ("total tokens", number(stats.total_tokens)),
        ("avg tool ms", number(stats.avg_tool_duration_ms)),
        ("compactions", number(compactions)),
        ("total cost", money(cost)),
    ]
    cells = "".join(f"<tr><th>{esc(k)}</th><td>{esc(v)}</td></tr>" for k, v in rows)
    return (
        f'<div class="behest-session-header"><b>{esc(title)}</b> · {esc(model)} · {esc(stats.session_id)}</div>'
        f'<table class="behest-table">{cells}</table>'
    )
