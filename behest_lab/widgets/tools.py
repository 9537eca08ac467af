"""``ToolExplorer``.

Per-tool latency and failure rate, the slowest and the failed calls, click-through to a session.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import duckdb
import ipywidgets as w
import polars as pl
import traitlets

from behest_lab import analytics
from behest_lab.errors import BehestLabError
from behest_lab.stores.protocols import Store
from behest_lab.widgets._charts import CHART_WIDTH, latency_chart
from behest_lab.widgets._html import table, when
from behest_lab.widgets._style import CHART_MAX_HEIGHT, STYLE
from behest_lab.widgets.browser import SessionBrowser

LIST_LIMIT = analytics.LIST_LIMIT
"""Calls shown in the slowest and failed lists."""

_ALL = "(all tools)"
_STAT_COLUMNS = ("tool_name", "calls", "successes", "failures", "pending", "failure_rate", "p50_ms", "p95_ms",
                 "p99_ms", "max_ms", "top_errors")  # fmt: skip


class ToolExplorer(w.VBox):  # type: ignore[misc]
    """Tool latency distribution and failure rate per tool, the slowest and the most recent failed calls.

    Controls: ``since``/``until`` (``DatePicker``, inclusive UTC days of the execution start), ``tool``
    (Dropdown; filters the lists). Outputs: ``chart`` (``ipywidgets.Image``: latency boxes p5..p95 per tool with
    the failure rate, a PNG at twice the width it is shown at, in a box that scrolls beyond ``CHART_MAX_HEIGHT``),
    ``table`` (HTML, class ``behest-tool-table``: ``analytics.tool_stats`` per tool, scrolling like every table),
    ``slowest`` and ``failed`` (``Select`` lists, classes ``behest-slowest-calls`` / ``behest-failed-calls``;
    options are ``(label, execution_id)``).

    The chart's quantiles and the statistics are DuckDB aggregates (``analytics.tool_stats``; the box plot is drawn
    from SQL quantiles instead of ``plots.tool_latency``, which takes every execution as a frame). Each date range
    keeps the lists' candidates in a small DuckDB temporary table, so choosing a tool reads no executions;
    ``update()`` re-reads the store, ``close()`` drops the table.

    Selecting a call sets the ``session_requested`` trait to its session id and calls every callback given to
    ``on_open_session``; with ``browser=`` a ``SessionBrowser``, that browser selects the session.

    Args:
        store: A memory or lake store.
        browser: Optional ``SessionBrowser`` that shows the session of a selected call.
    """

    session_requested = traitlets.Unicode("", help="session id of the last selected call")

    def __init__(self, store: Store, *, browser: SessionBrowser | None = None, **kwargs: Any) -> None:
        """Create it (see the class docstring)."""
        if browser is not None and not isinstance(browser, SessionBrowser):
            raise TypeError(f"browser: expected a SessionBrowser, got {type(browser).__name__}")
        self.store = store
        self.browser = browser
        self._callbacks: list[Callable[[str], Any]] = []
        self._call_sessions: dict[str, str] = {}
        self.stats = pl.DataFrame()
        self._calls = analytics.ToolCalls(store)
        self.since = w.DatePicker(description="from")
        self.until = w.DatePicker(description="to")
        self.tool = w.Dropdown(options=[_ALL], value=_ALL, description="tool")
        self.chart = w.Image(format="png", width=str(CHART_WIDTH))  # a 2x PNG shown at its logical width
        self.chart.add_class("behest-tool-chart")
        self.table = w.HTML()
        self.table.add_class("behest-tool-table")
        self.slowest = w.Select(options=[], rows=8, layout=w.Layout(width="100%"))
        self.slowest.add_class("behest-slowest-calls")
        self.failed = w.Select(options=[], rows=8, layout=w.Layout(width="100%"))
        self.failed.add_class("behest-failed-calls")
        self.since.observe(lambda _c: self.update(), names="value")
        self.until.observe(lambda _c: self.update(), names="value")
        self.tool.observe(self._on_tool, names="value")
        self.slowest.observe(self._on_call, names="value")
        self.failed.observe(self._on_call, names="value")
        super().__init__(
            children=[
                w.HTML(STYLE),
                w.HBox([self.since, self.until, self.tool]),
                # the chart grows with the number of tools: it scrolls beyond CHART_MAX_HEIGHT
                w.Box([self.chart], layout=w.Layout(max_height=CHART_MAX_HEIGHT, overflow="auto")),
                self.table,
                w.HTML("<b>slowest calls</b>"),
                self.slowest,
                w.HTML("<b>failed calls</b>"),
                self.failed,
            ],
            **kwargs,
        )
        self.add_class("behest-tools")
        self.update()

    def _range(self) -> tuple[date | None, date | None]:
        until: date | None = self.until.value
        return self.since.value, None if until is None else until + timedelta(days=1)

    def update(self) -> None:
        """Recompute the statistics, the chart and both lists for the date range."""
        since, until = self._range()
        stats = analytics.tool_stats(self.store, since=since, until=until)
        self.stats = stats
        tools = sorted(stats.get_column("tool_name").drop_nulls().to_list())
        current = self.tool.value
        self.tool.unobserve(self._on_tool, names="value")
        try:
            self.tool.options = [_ALL, *tools]
            self.tool.value = current if current in self.tool.options else _ALL
        finally:
            self.tool.observe(self._on_tool, names="value")
        rate = _STAT_COLUMNS.index("failure_rate")
        shown = [
            (*r[:rate], "n/a" if r[rate] is None else f"{r[rate]:.1%}", *r[rate + 1 :])
            for r in stats.select(_STAT_COLUMNS).rows()
        ]
        self.table.value = STYLE + table(_STAT_COLUMNS, shown, css="behest-table behest-tool-stats")
        rates = dict(
            zip(stats.get_column("tool_name").to_list(), stats.get_column("failure_rate").to_list(), strict=True)
        )
        rows = analytics.tool_latency_quantiles(self.store, since=since, until=until).rows()
        self.chart.value = latency_chart([{"tool_name": t, "q": q, "failure_rate": rates.get(t)} for t, q in rows])
        self._calls.select(since, until)
        self._load_lists()

    def close(self) -> None:
        """Close the widget and drop its temporary table (nothing to drop once the store is closed)."""
        try:
            with contextlib.suppress(duckdb.Error, BehestLabError):
                calls = getattr(self, "_calls", None)
                if calls is not None:
                    calls.drop()
        finally:
            super().close()

    def _on_tool(self, _change: Any) -> None:
        self._load_lists()

    def _load_lists(self) -> None:
        slow, failed = self._calls.lists(None if self.tool.value == _ALL else self.tool.value)
        self._call_sessions = {r[0]: r[1] for r in (*slow, *failed)}
        for widget, rows in ((self.slowest, slow), (self.failed, failed)):
            widget.unobserve(self._on_call, names="value")
            try:
                widget.options = [(self._label(r), r[0]) for r in rows]
                widget.value = None
            finally:
                widget.observe(self._on_call, names="value")

    @staticmethod
    def _label(row: tuple[Any, ...]) -> str:
        """Plain text (Select shows labels as text, never HTML)."""
        _id, sid, tool, status, duration_us, error, created = row
        err = "" if not error else f" · {str(error)[:60]}"
        return f"{duration_us / 1000:,.1f} ms · {tool} · {status} · {when(created)} · session {sid[:8]}{err}"

    def on_open_session(self, callback: Callable[[str], Any]) -> None:
        """Call ``callback(session_id)`` whenever a call is selected in either list."""
        self._callbacks.append(callback)

    def _on_call(self, change: Any) -> None:
        execution_id = change["new"]
        if execution_id is None:
            return
        self.open_call(str(execution_id))

    def open_call(self, execution_id: str) -> str:
        """Request the session of a listed call (as a click does); returns its session id.

        Raises:
            KeyError: the call is in neither list.
        """
        try:
            sid = self._call_sessions[execution_id]
        except KeyError:
            raise KeyError(f"execution_id: {execution_id!r} is not in the slowest or failed lists") from None
        self.session_requested = sid
        if self.browser is not None:
            self.browser.select_session(sid)
        for callback in self._callbacks:
            callback(sid)
        return sid
