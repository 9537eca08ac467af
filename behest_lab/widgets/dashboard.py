"""``UsageDashboard``: cost and tokens over time by model, provider or session, as a chart and its table."""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import duckdb
import ipywidgets as w
import polars as pl

from behest_lab.analytics import UsageDays, priced_total
from behest_lab.analytics.usage_days import PERIODS as PERIODS
from behest_lab.errors import BehestLabError
from behest_lab.stores.protocols import Store
from behest_lab.widgets._charts import CHART_WIDTH, series_chart
from behest_lab.widgets._html import esc, table
from behest_lab.widgets._style import STYLE

GROUPS = ("model", "provider", "session")
"""What the dashboard's series are."""

_COST_SUM = priced_total("cost")
"""Cost of rows merged together (``(other)``, the total): the unpriced rule (``analytics.priced_total``)."""

METRICS = ("cost", "tokens")
"""What the chart stacks: USD cost, or prompt + output tokens."""

TOP_SERIES = 8
"""At most this many series (the largest over the range); the rest are summed as ``(other)``."""

OTHER = "(other)"

CHART_CACHE = 32
"""Charts (PNG bytes) the dashboard keeps, by control state."""


class UsageDashboard(w.VBox):  # type: ignore[misc]
    """Cost and tokens over time.

    The numbers of ``analytics.costs`` (usage records plus uncovered message usage, priced with the analytics price
    logic). On opening, ``analytics.UsageDays`` keeps usage per UTC day, model, provider and session in a temporary
    table of the store; every control change aggregates that table, and Python gets one row per period and series.
    ``refresh()`` rebuilds it after the store changed.

    The chart stacks the frame's cost or tokens per period and series (the frame ``behest_lab.plots.cost_over_time``
    would draw, drawn with one artist per series: ``cost_over_time`` makes a patch per bar, several times slower).
    Charts are cached per control state (up to ``CHART_CACHE``), so going back to an earlier view draws nothing;
    ``refresh()`` empties the cache.

    Controls: ``since``/``until`` (``DatePicker``, inclusive UTC days; ``set_range`` sets both), ``group``
    (Dropdown of ``GROUPS``), ``period`` (Dropdown of ``PERIODS``), ``metric`` (Dropdown of ``METRICS``).
    Outputs: ``chart`` (``ipywidgets.Image``, PNG bytes drawn at twice the ``CHART_WIDTH`` px it is shown at),
    ``table`` (HTML, class ``behest-usage-table``: one row per period and series with requests, tokens and cost;
    unpriced cost shows ``n/a``; it scrolls beyond ``TABLE_MAX_HEIGHT``), ``summary`` (HTML totals).
    ``frame`` holds the aggregated polars frame the chart and table show.

    Args:
        store: A memory or lake store.
        group: Initial series key.
        period: Initial time bucket.
    """

    def __init__(self, store: Store, *, group: str = "model", period: str = "day", **kwargs: Any) -> None:
        """Create it (see the class docstring)."""
        if group not in GROUPS:
            raise ValueError(f"group: {group!r} is not one of {', '.join(GROUPS)}")
        if period not in PERIODS:
            raise ValueError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
        self.store = store
        self.frame = pl.DataFrame()
        self._charts: dict[tuple[Any, ...], bytes] = {}
        self._days = UsageDays(store)
        self._hold = False
        self.since = w.DatePicker(description="from")
        self.until = w.DatePicker(description="to")
        self.group = w.Dropdown(options=list(GROUPS), value=group, description="by")
        self.period = w.Dropdown(options=list(PERIODS), value=period, description="every")
        self.metric = w.Dropdown(options=list(METRICS), value="cost", description="show")
        self.chart = w.Image(format="png", width=str(CHART_WIDTH))  # a 2x PNG shown at its logical width
        self.chart.add_class("behest-usage-chart")
        self.summary = w.HTML()
        self.summary.add_class("behest-usage-summary")
        self.table = w.HTML()
        self.table.add_class("behest-usage-table")
        for control in (self.since, self.until, self.group, self.period, self.metric):
            control.observe(self._on_control, names="value")
        super().__init__(
            children=[
                w.HTML(STYLE),
                w.HBox([self.since, self.until]),
                w.HBox([self.group, self.period, self.metric]),
                self.chart,
                self.summary,
                self.table,
            ],
            **kwargs,
        )
        self.add_class("behest-dashboard")
        self.update()

    def _on_control(self, _change: Any) -> None:
        if not self._hold:
            self.update()

    def set_range(self, since: date | None, until: date | None) -> None:
        """Set both ends of the date range (inclusive UTC days) with one update."""
        self._hold = True
        try:
            self.since.value, self.until.value = since, until
        finally:
            self._hold = False
        self.update()

    def refresh(self) -> None:
        """Re-read the store's usage (the dashboard aggregates a snapshot taken when it opened) and update."""
        self._days.drop()
        self._charts.clear()
        self.update()

    def aggregate(self) -> pl.DataFrame:
        """Usage and cost by (period, group) over the chosen range, series beyond ``TOP_SERIES`` as ``(other)``.

        The numbers ``analytics.costs(by=(period, group), since=..., until=...)`` gives. Columns:
        ``period`` (Date), ``series`` (Utf8), ``requests``, ``prompt_tokens``, ``output_tokens``, ``tokens``
        (Int64), ``cost`` (Decimal USD: the sum of the row's priced calls, null when none is priced),
        ``unpriced_requests`` (Int64, the row's calls without a price).
        """
        since: date | None = self.since.value
        until: date | None = self.until.value
        period, group = self.period.value, self.group.value
        key = "session_id" if group == "session" else group
        frame = self._days.aggregate(period, key, since, until)
        frame = frame.select(
            pl.col(period).alias("period"),
            pl.col(key).fill_null("(unknown)").alias("series"),
            "requests",
            "prompt_tokens",
            "output_tokens",
            (pl.col("prompt_tokens") + pl.col("output_tokens")).alias("tokens"),
            "cost",
            "unpriced_requests",
        )
        measure = "tokens" if self.metric.value == "tokens" else "cost"
        totals = frame.group_by("series").agg(pl.col(measure).cast(pl.Float64).fill_null(0).sum().alias("_t"))
        top = totals.sort(["_t", "series"], descending=[True, False]).head(TOP_SERIES).get_column("series")
        if totals.height > TOP_SERIES:
            frame = frame.with_columns(
                pl.when(pl.col("series").is_in(top.implode())).then(pl.col("series")).otherwise(pl.lit(OTHER))
            )
            frame = frame.group_by("period", "series").agg(
                pl.col("requests", "prompt_tokens", "output_tokens", "tokens", "unpriced_requests").sum(),
                _COST_SUM,
            )
        return frame.select(
            "period", "series", "requests", "prompt_tokens", "output_tokens", "tokens", "cost", "unpriced_requests"
        ).sort("period", "series")

    def close(self) -> None:
        """Close the widget and drop its temporary table (nothing to drop once the store is closed)."""
        try:
            with contextlib.suppress(duckdb.Error, BehestLabError):
                days = getattr(self, "_days", None)
                if days is not None:
                    days.drop()
        finally:
            super().close()

    def update(self) -> None:
        """Recompute the frame, the chart, the table and the totals from the controls."""
        self.frame = self.aggregate()
        metric = self.metric.value
        label = "cost (USD)" if metric == "cost" else "tokens (prompt + output)"
        state = (self.since.value, self.until.value, self.group.value, self.period.value, metric)
        chart = self._charts.get(state)
        if chart is None:
            chart = series_chart(
                self.frame, "period", "series", metric, f"{label} per {self.period.value} by {self.group.value}", label
            )
            if len(self._charts) >= CHART_CACHE:
                self._charts.pop(next(iter(self._charts)))
            self._charts[state] = chart
        self.chart.value = chart
        self.table.value = STYLE + table(
            ["period", self.group.value, "requests", "prompt tokens", "output tokens", "cost"],
            self.frame.select("period", "series", "requests", "prompt_tokens", "output_tokens", "cost").rows(),
            css="behest-table behest-usage-rows",
        )
        total = self.frame.select(_COST_SUM).item() if self.frame.height else None
        tokens = int(self.frame.get_column("tokens").sum()) if self.frame.height else 0
        unpriced = int(self.frame.get_column("unpriced_requests").sum()) if self.frame.height else 0
        left_out = f" ({unpriced:,} unpriced calls left out)" if unpriced else ""
        self.summary.value = (
            '<div class="behest-summary">'
            f"<b>total</b>: {esc(f'${total:,.4f}' if total is not None else 'n/a (unpriced usage)')}{esc(left_out)} · "
            f"{tokens:,} tokens · {self.frame.height} rows</div>"
        )
