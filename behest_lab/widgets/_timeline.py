"""HTML of a session's message timeline and stats (all store text escaped)."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import polars as pl

from behest_lab.analytics import SHOWN_CHARS, TimelinePage
from behest_lab.records import ImageUrlPart, JsonPart, MessageRecord, SessionStats, TextPart, ToolExecution
from behest_lab.widgets._html import TEXT_LIMIT, esc, json_text, link, long_text, money, number, when

_TITLE_LIMIT = 200
"""Characters of a session title shown in the header (the whole is its tooltip)."""


def message_costs(usage: pl.DataFrame) -> dict[str, dict[str, Any]]:
    """Per message id, the usage and cost the timeline shows beside the message.

    ``cost`` (the priced calls' sum, None when none is priced), ``prompt_tokens``, ``output_tokens``, ``requests`` and
    ``model``, from a ``SessionRows.message_usage`` frame (one row per message, the cost rule applied in SQL).
    """
    keys = ("cost", "prompt_tokens", "output_tokens", "requests", "model")
    return {row["message_id"]: {k: row[k] for k in keys} for row in usage.iter_rows(named=True)}


def _cut(length: int | None) -> int | None:
    """The whole length to tell ``long_text`` when a value was read cut (longer than ``SHOWN_CHARS``), else None."""
    return length if length is not None and length > SHOWN_CHARS else None


def _hint(message: MessageRecord) -> str:
    """Where the whole text of a cut message is read (HTML after the cut note)."""
    return f'; the whole text: <code>SessionBrowser.message_text("{esc(message.id)}")</code>'


def _parts(message: MessageRecord, page: TimelinePage) -> str:
    parts_lengths = page.lengths.get(str(message.id), ([], []))[0]
    out = []
    for i, part in enumerate(message.content):
        length = _cut(parts_lengths[i]) if i < len(parts_lengths) else None
        if isinstance(part, TextPart):
            out.append(long_text(part.text, length=length, hint=_hint(message)))
        elif isinstance(part, ImageUrlPart):
            mime = f" ({esc(part.mime_type)})" if part.mime_type else ""
            out.append(f'<div class="behest-image">image: {link(part.url)}{mime}</div>')
        elif isinstance(part, JsonPart):
            out.append(long_text(json_text(part.value, None), "behest-json", length=length))
    return "".join(out)


def _result_text(result: MessageRecord, page: TimelinePage) -> str:
    """A tool result shown beside its call, with the whole length when its text was read cut."""
    parts = page.lengths.get(str(result.id), ([], []))[0]
    cut = any(_cut(n) for n in parts)
    length = sum(parts) + max(len(parts) - 1, 0) if cut else None
    return long_text(json_text(result.text_content, None), "behest-result", length=length, hint=_hint(result))


def _execution(e: ToolExecution | None) -> str:
    if e is None:
        return '<span class="behest-meta">no execution recorded</span>'
    ms = e.duration.total_seconds() * 1000
    cls = "behest-failed" if e.status.value == "failed" else "behest-meta"
    summary = f'<span class="{cls}">execution {esc(e.status.value)}, {ms:,.1f} ms</span>'
    if not e.error:
        return summary
    return f'{summary}<div class="behest-failed">error:</div>{long_text(e.error, "behest-error")}'


def _anchor(prefix: str, index: int) -> str:
    """The element id of message ``index`` (0-based in the session) of a timeline."""
    return f"{prefix}-m{index}"


def _calls(message: MessageRecord, page: TimelinePage, on_page: Mapping[str, int], prefix: str) -> str:
    """The message's tool calls with their execution.

    A result message on the page is linked (it shows its own text in its place in the timeline); one on a later page is
    shown here, so each result appears once.
    """
    out = []
    call_lengths = page.lengths.get(str(message.id), ([], []))[1]
    for i, call in enumerate(message.tool_calls):
        arguments = _cut(call_lengths[i]) if i < len(call_lengths) else None
        result = page.results.get(call.id)
        execution = page.executions.get((str(message.id), call.id))
        if result is None:
            result_html = '<div class="behest-meta">no result message</div>'
        elif str(result.id) in on_page:
            index = on_page[str(result.id)]
            result_html = (
                f'<div class="behest-meta behest-result-link">result: <a href="#{esc(_anchor(prefix, index))}">'
                f"message #{index}</a></div>"
            )
        else:
            result_html = (
                f'<div class="behest-meta">result (its message is on a later page):</div>{_result_text(result, page)}'
            )
        out.append(
            f'<div class="behest-call" data-call-id="{esc(call.id)}"><b>tool call</b> {esc(call.name)} — '
            f"{_execution(execution)}{long_text(json_text(call.arguments, None), 'behest-json', length=arguments)}"
            f"{result_html}</div>"
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
            f'<div class="behest-compaction-note">compaction: folded messages 0–{pair["messages_folded"] - 1} '
            f"({number(pair['messages_folded'])} messages) into the summary below, kept "
            f"{number(pair['messages_kept'])} tail messages (tail starts at {esc(pair['tail_start_id'])}); "
            f"≈{number(pair['estimated_tokens_before'])} → ≈{number(pair['estimated_tokens_after'])} tokens</div>"
        )
    return f'<div class="behest-compaction-note">summary of compaction {esc(pair["compaction_id"])}</div>'


def timeline_html(
    page: TimelinePage,
    costs: Mapping[str, dict[str, Any]],
    pairs: Mapping[str, dict[str, Any]],
    anchor: str = "behest-timeline",
) -> str:
    """The page's messages as ``<div class="behest-msg behest-role-{role}">`` blocks.

    Role, time, escaped text (long texts cut, see ``long_text``), image links, tool calls with their execution and a
    link to their result message, usage and cost, compaction marks; all in one ``behest-timeline-body`` that scrolls
    beyond ``TIMELINE_MAX_HEIGHT``.

    ``pairs`` maps the compaction and summary message ids to their ``analytics.compactions`` row. ``anchor``
    prefixes the element ids of the messages (``{anchor}-m{index}``), which the links between a tool call and its
    result message point at: give each timeline shown in a page its own.
    """
    on_page = {str(m.id): page.offset + i for i, m in enumerate(page.messages)}
    calls_on_page = {c.id: page.offset + i for i, m in enumerate(page.messages) for c in m.tool_calls}
    blocks = []
    for i, m in enumerate(page.messages):
        index = page.offset + i
        role = m.role.value
        flags = " behest-compaction" if m.is_compaction or m.is_summary else ""
        tool = f" · {esc(m.tool_name)}" if m.tool_name else ""
        caller = calls_on_page.get(m.tool_call_id) if m.tool_call_id is not None else None
        answers = (
            ""
            if caller is None
            else f' · result of the call in <a href="#{esc(_anchor(anchor, caller))}">message #{caller}</a>'
        )
        blocks.append(
            f'<div class="behest-msg behest-role-{esc(role)}{flags}" data-message-id="{esc(m.id)}" '
            f'id="{esc(_anchor(anchor, index))}">'
            f'<div class="behest-meta">#{index} <b>{esc(role)}</b>{tool} · {esc(when(m.created_at))}{answers}</div>'
            f"{_compaction(m, pairs)}{_parts(m, page)}{_calls(m, page, on_page, anchor)}{_usage(m, costs)}</div>"
        )
    if not blocks:
        return '<div class="behest-meta">no messages</div>'
    return f'<div class="behest-timeline-body">{"".join(blocks)}</div>'


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
    per_row = 5
    cells = "".join(
        "<tr>" + "".join(f"<th>{esc(k)}</th><td>{esc(v)}</td>" for k, v in rows[i : i + per_row]) + "</tr>"
        for i in range(0, len(rows), per_row)
    )
    shown = (
        f"<b>{esc(title)}</b>"
        if len(title) <= _TITLE_LIMIT
        else f'<b title="{esc(title[:TEXT_LIMIT])}">{esc(title[: _TITLE_LIMIT - 1])}…</b>'
    )
    return (
        f'<div class="behest-session-header">{shown} · {esc(model)} · {esc(stats.session_id)}</div>'
        f'<table class="behest-table behest-stats-table">{cells}</table>'
    )
