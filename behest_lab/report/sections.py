r"""The sections of ``behest-lab report``, each built from public analytics frames and plot functions.

A section is a ``Markup`` ``<section>``: its numbers come from ``behest_lab.analytics`` and its pictures from
``behest_lab.plots``, and every stored string reaches the page through ``behest_lab.html`` (escaped). Costs are
formatted with ``behest_lab.html.money``, which takes the exact ``Decimal`` and a ``Float64`` column alike;
``unpriced_requests`` is shown beside a cost wherever the frame carries it.

Stored text that ends up in a plot (models, tool names, session titles) is cut to ``PLOT_LABEL_WIDTH`` characters;
the plot functions draw every text literally (no mathtext), so a name such as ``$\foo$`` shows as written.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import polars as pl

from behest_lab import analytics, plots
from behest_lab.html import Markup, money, number, table, tag
from behest_lab.report.page import svg_image
from behest_lab.stores.protocols import Store

TOP_SESSIONS = 10
"""How many of the most expensive sessions the report lists."""

TOP_TOOLS = 10
"""How many tools the slowest-tools table lists."""

TOKEN_PLOT_SESSIONS = 20
"""How many sessions the tokens plot draws."""

PLOT_LABEL_WIDTH = 40
"""Stored names (models, tools, titles) are cut to this many characters in plot labels."""

ERROR_WIDTH = 400
"""Tool errors are cut to this many characters in the failing-tools table."""


@dataclass
class Range:
    """The report's time range: ``since`` inclusive, ``until`` exclusive, aware UTC datetimes or ``None``."""

    since: datetime | None = None
    until: datetime | None = None

    def holds(self, column: str) -> pl.Expr:
        """Polars condition: ``column`` (an aware datetime) falls inside the range."""
        cond = pl.lit(True)
        if self.since is not None:
            cond = cond & (pl.col(column) >= self.since)
        if self.until is not None:
            cond = cond & (pl.col(column) < self.until)
        return cond

    def describe(self) -> str:
        """The range in words, for the page header."""
        if self.since is None and self.until is None:
            return "all time"
        lo = "the start" if self.since is None else _when(self.since)
        hi = "now" if self.until is None else f"{_when(self.until)} (exclusive)"
        return f"{lo} to {hi}"


@dataclass
class Frames:
    """The analytics frames of one report, each read once."""

    sessions: pl.DataFrame
    by_model: pl.DataFrame
    by_day: pl.DataFrame
    by_day_model: pl.DataFrame
    tool_stats: pl.DataFrame
    executions: pl.DataFrame
    compactions: pl.DataFrame
    top: pl.DataFrame
    metadata_keys: list[str]
    images: list[Markup] = field(default_factory=list)


def read(store: Store, span: Range) -> Frames:
    """Every frame the report needs, filtered to ``span``.

    Each row is filtered by its own ``created_at``; compactions by the compaction message's time. Unknown-model
    warnings are silenced: the report shows unpriced calls itself. Tables add up the exact ``Decimal`` costs
    (``exact=True``); the plotted frame is Float64.
    """
    bounds: dict[str, Any] = {"since": span.since, "until": span.until}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", analytics.UnknownModelWarning)
        per_session = analytics.sessions(store, metadata_fields=[], exact=True, **bounds)
        return Frames(
            sessions=per_session,
            by_model=analytics.costs(store, by=("provider", "model"), exact=True, **bounds),
            by_day=analytics.costs(store, by="day", exact=True, **bounds),
            by_day_model=analytics.costs(store, by=("day", "model"), **bounds),
            tool_stats=analytics.tool_stats(store, **bounds),
            executions=analytics.tool_executions(store, **bounds),
            compactions=analytics.compactions(store).filter(span.holds("created_at")),
            top=most_expensive(per_session, TOP_SESSIONS),
            metadata_keys=analytics.metadata_keys(store),
        )


def most_expensive(per_session: pl.DataFrame, n: int) -> pl.DataFrame:
    """``analytics.top_sessions(store, by="cost", n=n)`` from the ``analytics.sessions`` frame already read.

    The same rule (``total_tokens`` = prompt + output, cost descending with nulls last, ties by id descending);
    it saves reading every session a second time.
    """
    ranked = per_session.with_columns((pl.col("prompt_tokens") + pl.col("output_tokens")).alias("total_tokens"))
    return ranked.sort(["cost", "id"], descending=[True, True], nulls_last=True).head(n)


# --- formatting --------------------------------------------------------------------------------------------------


def _when(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if (value.hour, value.minute) != (0, 0) else f"{value:%Y-%m-%d}"


def _time(value: Any) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"expected a datetime, got {value!r}")
    return value


def _int(value: Any) -> int:
    return 0 if value is None else int(value)


def _total(frame: pl.DataFrame, column: str) -> Any:
    """The sum of ``column`` over the non-null rows, ``None`` when every row is null or the frame is empty.

    The unpriced rule of ``analytics.priced_total`` (a ``Decimal`` or a float for costs).
    """
    return frame.select(analytics.priced_total(column)).item() if frame.height else None


def _unpriced(frame: pl.DataFrame) -> int:
    return _int(frame["unpriced_requests"].sum()) if "unpriced_requests" in frame.columns else 0


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100.0 * value:.1f}%"


def _ms(value: float | None) -> str:
    return number(value, 1) if value is not None else ""


def _cut(value: Any, width: int) -> str:
    text = " ".join(str(value).split()) if value is not None else ""
    return text if len(text) <= width else text[: width - 1] + "…"


def _plot_text(frame: pl.DataFrame, columns: Sequence[str], width: int = PLOT_LABEL_WIDTH) -> pl.DataFrame:
    """``frame`` with the Utf8 ``columns`` present made fit for a plot label.

    Cut to ``width`` characters (a long name would squeeze the axes to nothing); the plot functions draw it literally.
    """
    return frame.with_columns(
        pl.when(pl.col(c).str.len_chars() > width).then(pl.col(c).str.slice(0, width - 1) + "…").otherwise(pl.col(c))
        for c in columns
        if c in frame.columns
    )


def _section(anchor: str, heading: str, *children: Any) -> Markup:
    return tag("section", tag("h2", heading), *children, id=anchor)


def _para(*parts: Any) -> Markup:
    return tag("p", *parts)


def _figure(frames: Frames, plotted: Any, caption: str) -> Markup:
    image = svg_image(plotted, caption)
    frames.images.append(image)
    return tag("figure", image, tag("figcaption", caption))


def _cost_note(frame: pl.DataFrame) -> Markup:
    unpriced = _unpriced(frame)
    if not unpriced:
        return Markup("")
    return _para(
        tag("strong", f"{unpriced:,} model call(s) have no known price"),
        " and are left out of the costs (see the unpriced column); ",
        "genai-prices has no price for their model, or the provider is unknown.",
    )


# --- sections ----------------------------------------------------------------------------------------------------

SECTIONS = (
    ("contents", "Store contents"),
    ("costs", "Cost by model and by day"),
    ("tokens", "Tokens"),
    ("tools", "Slow and failing tools"),
    ("compaction", "Compaction"),
    ("sessions", "The most expensive sessions"),
)
"""(anchor, heading) of each section, in page order."""


def contents(frames: Frames) -> Markup:
    """Sessions, messages by role, model calls, tool executions, compactions; sessions per model."""
    s = frames.sessions
    if s.is_empty():
        return _section("contents", "Store contents", _para("No sessions in this range."))
    roles = [("system", "system_messages"), ("user", "user_messages"), ("assistant", "assistant_messages")]
    roles.append(("tool", "tool_messages"))
    rows: list[list[Any]] = [
        ["sessions", s.height],
        ["messages", _int(s["messages"].sum())],
        *[[f"messages: {role}", _int(s[col].sum())] for role, col in roles],
        ["model calls", _int(frames.by_model["requests"].sum())],
        ["tool executions", _int(frames.tool_stats["calls"].sum())],
        ["tool failures", _int(frames.tool_stats["failures"].sum())],
        ["compactions", frames.compactions.height],
    ]
    keys = ", ".join(frames.metadata_keys) if frames.metadata_keys else "none"
    first, last = _time(s["created_at"].min()), _time(s["created_at"].max())
    per_model = (
        s.group_by("model")
        .agg(
            pl.len().alias("sessions"),
            pl.col("messages").sum(),
            pl.col("tool_executions").sum(),
            pl.col("requests").sum(),
        )
        .sort(["sessions", "model"], descending=[True, False], nulls_last=True)
    )
    model_rows = [
        [r["model"], r["sessions"], r["messages"], r["tool_executions"], r["requests"]]
        for r in per_model.iter_rows(named=True)
    ]
    return _section(
        "contents",
        "Store contents",
        _para(f"{s.height:,} sessions created from {first:%Y-%m-%d %H:%M} to {last:%Y-%m-%d %H:%M} UTC."),
        table(["what", "count"], rows, numeric=[1], css="behest-table counts"),
        _para("Most common session metadata keys (whole store): ", tag("span", keys, class_="keys"), "."),
        tag("h3", "Sessions by model"),
        table(
            ["session model", "sessions", "messages", "tool executions", "model calls"],
            model_rows,
            numeric=[1, 2, 3, 4],
        ),
    )


def costs(frames: Frames) -> Markup:
    """Cost per provider and model with a total row; cost per day as a plot and a table."""
    m = frames.by_model
    if m.is_empty():
        return _section("costs", "Cost by model and by day", _para("No model calls in this range."))
    has_unpriced = "unpriced_requests" in m.columns
    columns = ["provider", "model", "calls", "prompt tokens", "output tokens", "cost (USD)"]
    columns += ["unpriced calls"] if has_unpriced else []
    rows = []
    for r in m.sort("cost", descending=True, nulls_last=True).iter_rows(named=True):
        row = [r["provider"] or "unknown", r["model"], r["requests"], r["prompt_tokens"], r["output_tokens"]]
        row.append(money(r["cost"]))
        rows.append(row + ([r["unpriced_requests"]] if has_unpriced else []))
    footer: list[Any] = ["total", "", _int(m["requests"].sum()), _int(m["prompt_tokens"].sum())]
    footer += [_int(m["output_tokens"].sum()), money(_total(m, "cost"))]
    footer += [_unpriced(m)] if has_unpriced else []
    total = _total(m, "cost")
    plot = plots.cost_over_time(_plot_text(frames.by_day_model, ["model"]), by="model", every="1d")
    d = frames.by_day
    day_columns = ["day (UTC)", "calls", "cost (USD)"] + (
        ["unpriced calls"] if "unpriced_requests" in d.columns else []
    )
    day_rows = [
        [
            r["day"],
            r["requests"],
            money(r["cost"]),
            *([r["unpriced_requests"]] if "unpriced_requests" in d.columns else []),
        ]
        for r in d.iter_rows(named=True)
    ]
    numeric = list(range(2, len(columns)))
    return _section(
        "costs",
        "Cost by model and by day",
        _para(
            "Total cost: ",
            tag("strong", money(total)),
            f" over {_int(m['requests'].sum()):,} model calls, priced with genai-prices' bundled prices "
            "(cache reads and writes at their own rates).",
        ),
        _cost_note(m),
        table(columns, rows, numeric=numeric, footer=footer),
        _figure(frames, plot, "Cost per day by model (USD)"),
        tag(
            "details",
            tag("summary", f"Cost per day ({d.height:,} days)"),
            table(day_columns, day_rows, numeric=list(range(1, len(day_columns)))),
        ),
    )


def tokens(frames: Frames) -> Markup:
    """Token totals per model and the sessions that used the most tokens.

    The prompt is split into uncached input, cache read and cache write; then output.
    """
    m = frames.by_model
    s = frames.sessions
    if m.is_empty():
        return _section("tokens", "Tokens", _para("No model calls in this range."))
    names = ["prompt_tokens", "uncached_input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens"]
    rows = [
        [r["model"], *(r[n] for n in names)] for r in m.sort("prompt_tokens", descending=True).iter_rows(named=True)
    ]
    footer = ["total", *(_int(m[n].sum()) for n in names)]
    totals = (s["prompt_tokens"] + s["output_tokens"]) if s.height else pl.Series([0])
    prompt = _int(m["prompt_tokens"].sum())
    cached = _int(m["cache_read_tokens"].sum())
    plot = plots.tokens_per_session(_plot_text(s, ["title"]), top=TOKEN_PLOT_SESSIONS)
    return _section(
        "tokens",
        "Tokens",
        _para(
            f"A session used {_int(totals.median()):,} tokens at the median (prompt + output) and "
            f"{_int(totals.max()):,} at most; {cached / max(prompt, 1):.0%} of all prompt tokens were read from the "
            "prompt cache."
        ),
        table(
            ["model", "prompt", "uncached input", "cache read", "cache write", "output"],
            rows,
            numeric=[1, 2, 3, 4, 5],
            footer=footer,
        ),
        _figure(frames, plot, f"Tokens of the {min(TOKEN_PLOT_SESSIONS, s.height)} largest sessions"),
    )


def tools(frames: Frames) -> Markup:
    """The slowest tools by p95 latency, the failing tools with their most common errors, and the latency plot."""
    t = frames.tool_stats
    if t.is_empty():
        return _section("tools", "Slow and failing tools", _para("No tool executions in this range."))
    slow = t.sort(["p95_ms", "tool_name"], descending=[True, False], nulls_last=True).head(TOP_TOOLS)
    slow_rows = [
        [r["tool_name"], r["calls"], _ms(r["p50_ms"]), _ms(r["p95_ms"]), _ms(r["p99_ms"]), _ms(r["max_ms"])]
        for r in slow.iter_rows(named=True)
    ]
    failing = t.filter(pl.col("failures") > 0).sort(
        ["failure_rate", "calls", "tool_name"], descending=[True, True, False], nulls_last=True
    )
    fail_rows = [
        [
            r["tool_name"],
            r["calls"],
            r["failures"],
            _percent(r["failure_rate"]),
            tag("ul", *(tag("li", _cut(e, ERROR_WIDTH)) for e in r["top_errors"]), class_="errors"),
        ]
        for r in failing.iter_rows(named=True)
    ]
    plot = plots.tool_latency(_plot_text(frames.executions, ["tool_name"]))
    failing_part: Markup = (
        table(["tool", "calls", "failed", "failure rate", "most common errors"], fail_rows, numeric=[1, 2, 3])
        if fail_rows
        else _para("No tool call failed.")
    )
    return _section(
        "tools",
        "Slow and failing tools",
        _para(
            f"{_int(t['calls'].sum()):,} tool executions of {t.height:,} tools; latency percentiles (ms) over the "
            "finished calls."
        ),
        tag("h3", f"Slowest tools (by p95, top {min(TOP_TOOLS, t.height)})"),
        table(["tool", "calls", "p50 ms", "p95 ms", "p99 ms", "max ms"], slow_rows, numeric=[1, 2, 3, 4, 5]),
        tag("h3", "Failing tools"),
        failing_part,
        _figure(frames, plot, "Tool latency (finished calls, log scale) and failure rate"),
    )


def compaction(frames: Frames) -> Markup:
    """How many compactions ran and what they saved (estimated context before and after), with the plot."""
    c = frames.compactions
    if c.is_empty():
        return _section("compaction", "Compaction", _para("No compactions in this range."))
    before = _int(c["estimated_tokens_before"].sum())
    after = _int(c["estimated_tokens_after"].sum())
    rows = [
        ["compactions", c.height],
        ["sessions with a compaction", c["session_id"].n_unique()],
        ["messages folded into summaries", _int(c["messages_folded"].sum())],
        ["estimated context before (tokens)", before],
        ["estimated context after (tokens)", after],
        ["saved (tokens)", before - after],
    ]
    plot = plots.compaction_savings(c)
    return _section(
        "compaction",
        "Compaction",
        _para(
            f"{c.height:,} compactions cut the estimated context from {before:,} to {after:,} tokens: "
            f"{before - after:,} tokens ({(before - after) / max(before, 1):.0%}) less for every model call that "
            "followed."
        ),
        table(["what", "value"], rows, numeric=[1], css="behest-table counts"),
        _figure(frames, plot, "Compaction savings: estimated tokens before and after each compaction"),
    )


def expensive(frames: Frames) -> Markup:
    """The most expensive sessions (as ``analytics.top_sessions(by="cost")`` ranks them) with counts and tokens."""
    top = frames.top
    if top.is_empty():
        return _section("sessions", "The most expensive sessions", _para("No sessions in this range."))
    has_unpriced = "unpriced_requests" in top.columns
    columns = ["session (id)", "model", "created (UTC)", "messages", "tools (failed)", "compactions"]
    columns += ["calls", "tokens", "cost (USD)"] + (["unpriced"] if has_unpriced else [])
    rows = []
    for r in top.iter_rows(named=True):
        session = Markup(tag("div", r["title"] or "(untitled)") + tag("code", r["id"], class_="id"))
        created = tag("span", f"{r['created_at']:%Y-%m-%d %H:%M}", class_="nowrap")
        tools = f"{_int(r['tool_executions']):,} ({_int(r['tool_failures']):,})"
        row = [session, r["model"], created, r["messages"], tools, r["compactions"], r["requests"]]
        row += [r["total_tokens"], money(r["cost"])]
        rows.append(row + ([r["unpriced_requests"]] if has_unpriced else []))
    return _section(
        "sessions",
        "The most expensive sessions",
        _para(f"The {top.height} sessions created in the range with the highest cost (all of their model calls)."),
        tag("div", table(columns, rows, numeric=list(range(3, len(columns)))), class_="wide"),
    )


def navigation() -> Markup:
    """Links to the sections (same-page anchors)."""
    return tag("nav", tag("ul", *(tag("li", tag("a", heading, href=f"#{anchor}")) for anchor, heading in SECTIONS)))


def body(frames: Frames) -> list[Markup]:
    """Every section, in page order."""
    return [contents(frames), costs(frames), tokens(frames), tools(frames), compaction(frames), expensive(frames)]
