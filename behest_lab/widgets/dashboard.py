"""``UsageDashboard``: cost and tokens over time by model, provider or session, as a chart and its table."""

from __future__ import annotations

import contextlib
import uuid
from datetime import date
from typing import Any

import duckdb
import ipywidgets as w
import polars as pl

from behest_lab.analytics._sql import Conditions, run
from behest_lab.errors import BehestLabError
from behest_lab.pricing import grouped_costs_sql, price_table_for, priced_sum
from behest_lab.pricing._sql import DAY_NUMBER, day_from_number, literal
from behest_lab.stores.protocols import Store
from behest_lab.widgets._charts import CHART_WIDTH, series_chart
from behest_lab.widgets._html import esc, table
from behest_lab.widgets._style import STYLE

GROUPS = ("model", "provider", "session")
"""What the dashboard's series are."""

PERIODS = ("day", "week", "month")
"""Time buckets of the chart (UTC; ISO weeks start on Monday)."""

_COST_SUM = pl.when(pl.col("cost").count() > 0).then(pl.col("cost").sum()).alias("cost")
"""Cost of rows merged together (``(other)``, the total): ``pricing.priced_sum`` over rows that already follow it,
i.e. the sum of their non-null costs, null when every one is null."""

METRICS = ("cost", "tokens")
"""What the chart stacks: USD cost, or prompt + output tokens."""

TOP_SERIES = 8
"""At most this many series (the largest over the range); the rest are summed as ``(other)``."""

OTHER = "(other)"

CHART_CACHE = 32
"""Charts (PNG bytes) the dashboard keeps, by control state."""


class UsageDashboard(w.VBox):  # type: ignore[misc]
    """Cost and tokens over time: the numbers of ``analytics.costs`` (usage records plus uncovered message usage,
    priced with the analytics price logic). On opening, one ``grouped_costs_sql`` query (the SQL ``analytics.costs``
    runs) stores usage per UTC day, model, provider and session in a DuckDB temporary table on the store's
    connection; every control change aggregates that table, and Python gets one row per period and series.
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
        if group not in GROUPS:
            raise ValueError(f"group: {group!r} is not one of {', '.join(GROUPS)}")
        if period not in PERIODS:
            raise ValueError(f"period: {period!r} is not one of {', '.join(PERIODS)}")
        self.store = store
        self.frame = pl.DataFrame()
        self._charts: dict[tuple[Any, ...], bytes] = {}
        self._daily: str | None = None
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

    def _table(self) -> str:
        """The temporary table of usage per (UTC day, model, provider, session), built once with the analytics
        cost SQL (``grouped_costs_sql``, as ``analytics.costs`` runs it); every later update aggregates it."""
        if self._daily is None:
            name = f"behest_widgets_usage_{uuid.uuid4().hex}"
            keys = [
                ("day", DAY_NUMBER, day_from_number("{k}")),
                ("model", "model", "{k}"),
                ("provider", "provider", "{k}"),
                ("session_id", "session_id", "CAST({k} AS VARCHAR)"),
            ]
            grouped = grouped_costs_sql(price_table_for(self.store, "TRUE"), "TRUE", keys)
            self.store.sql(
                f"CREATE TEMP TABLE {name} AS SELECT day, model, provider, session_id, requests, prompt_tokens, "
                f"output_tokens, cost, unpriced_requests FROM ({grouped})"
            )
            self._daily = name
        return self._daily

    def refresh(self) -> None:
        """Re-read the store's usage (the dashboard aggregates a snapshot taken when it opened) and update."""
        self._drop()
        self._charts.clear()
        self.update()

    def _drop(self) -> None:
        if self._daily is not None:
            name, self._daily = self._daily, None
            self.store.sql(f"DROP TABLE IF EXISTS {name}")

    def aggregate(self) -> pl.DataFrame:
        """Usage and cost by (period, group) over the chosen range, with series beyond ``TOP_SERIES`` summed into
        ``(other)``; the numbers ``analytics.costs(by=(period, group), since=..., until=...)`` gives. Columns:
        ``period`` (Date), ``series`` (Utf8), ``requests``, ``prompt_tokens``, ``output_tokens``, ``tokens``
        (Int64), ``cost`` (Decimal USD: the sum of the row's priced calls, null when none is priced),
        ``unpriced_requests`` (Int64, the row's calls without a price)."""
        since: date | None = self.since.value
        until: date | None = self.until.value
        period, group = self.period.value, self.group.value
        key = "session_id" if group == "session" else group
        c = Conditions()
        if since is not None:
            c.add(f"day >= {literal(since)}")
        if until is not None:
            c.add(f"day <= {literal(until)}")
        bucket = "day" if period == "day" else f"CAST(date_trunc('{period}', day) AS DATE)"
        frame = run(
            self.store,
            f"""SELECT {bucket} AS {period}, {key}, CAST(sum(requests) AS BIGINT) AS requests,
  CAST(sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
  {priced_sum("cost", "cost IS NOT NULL")} AS cost,
  CAST(sum(unpriced_requests) AS BIGINT) AS unpriced_requests
FROM {self._table()} WHERE {c.sql()} GROUP BY ALL ORDER BY 1, 2 NULLS LAST""",
        )
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
                if getattr(self, "_daily", None) is not None:
                    self._drop()
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
