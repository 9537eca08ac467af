"""``cost_over_time``: stacked cost per period by model or provider."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter, MaxNLocator

from behest_lab.plots._common import OTHER, UNKNOWN, new_axes, no_data, plot_function, require, resolve
from behest_lab.stores.protocols import Store

COST_BY = ("model", "provider")
"""Keys ``cost_over_time(by=...)`` accepts."""

PERIOD_COLUMNS = ("created_at", "day", "week", "month")
"""Time columns ``cost_over_time`` looks for in a frame, in this order (``usage()`` rows, or ``costs()`` groups)."""

_PERIOD_NAMES = {"1d": "day", "1w": "week", "1mo": "month", "1h": "hour", "1q": "quarter", "1y": "year"}


def _load(store: Store) -> pl.DataFrame:
    from behest_lab.analytics import usage

    return usage(store)


def cost_frame(frame: pl.DataFrame, *, by: str = "model", every: str = "1d", top: int = 8) -> pl.DataFrame:
    """The numbers ``cost_over_time`` draws: USD per (period, group), every period from first to last included.

    Args:
        frame: ``analytics.usage(store)`` rows or ``analytics.costs(store, by=(period, by))`` groups: a time column
            (the first of ``PERIOD_COLUMNS``), the ``by`` column and ``cost``.
        by: ``"model"`` or ``"provider"``; a null key counts as ``"unknown"``.
        every: polars duration string of the period (``"1d"``, ``"1w"``, ``"1mo"``, ``"6h"``, ...); periods start
            at ``dt.truncate(every)`` of the time column (weeks on Monday, UTC).
        top: keep the ``top`` groups by total cost and sum the rest into ``"other"`` (no ``"other"`` for a single
            leftover group).

    Returns:
        Columns ``period`` (the truncated time), ``group`` (Utf8), ``cost`` (Float64 USD, 0 where a group had no
        cost in a period), one row per period and group, periods ascending, groups by total cost descending with
        ``"other"`` last. Unpriced rows (null cost) are left out; ``unpriced_count(frame)`` counts them.

    Raises:
        ValueError: a bad ``by``, ``top`` or ``every``, or a missing column (named).
    """
    if by not in COST_BY:
        raise ValueError(f"cost_over_time: by={by!r} is not one of {', '.join(COST_BY)}")
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"cost_over_time: top must be a positive integer, got {top!r}")
    time_col = next((c for c in PERIOD_COLUMNS if c in frame.columns), None)
    if time_col is None:
        raise ValueError(
            f"cost_over_time: the frame has no time column (one of {', '.join(PERIOD_COLUMNS)}; expected a frame "
            f"like analytics.usage(store) or analytics.costs(store, by=('day', {by!r})); got columns "
            f"{', '.join(frame.columns) or 'none'})"
        )
    require(
        frame, [by, "cost"], "cost_over_time", f"analytics.usage(store) or analytics.costs(store, by=('day', {by!r}))"
    )
    try:
        rows = frame.select(
            pl.col(time_col).dt.truncate(every).alias("period"),
            pl.col(by).cast(pl.Utf8).fill_null(UNKNOWN).alias("group"),
            pl.col("cost").cast(pl.Float64).alias("cost"),
        ).filter(pl.col("cost").is_not_null())
    except pl.exceptions.InvalidOperationError as exc:
        raise ValueError(f"cost_over_time: every={every!r} is not a polars duration such as '1d', '1w', '1mo'") from exc
    empty = pl.DataFrame(schema={"period": rows.schema["period"], "group": pl.Utf8, "cost": pl.Float64})
    if rows.is_empty():
        return empty
    totals = rows.group_by("group").agg(pl.col("cost").sum()).sort(["cost", "group"], descending=[True, False])
    groups = totals["group"].to_list()
    if len(groups) > top + 1:
        kept = set(groups[:top])
        rows = rows.with_columns(pl.when(pl.col("group").is_in(kept)).then(pl.col("group")).otherwise(pl.lit(OTHER)))
        groups = [*groups[:top], OTHER]
    summed = rows.group_by("period", "group").agg(pl.col("cost").sum())
    first, last = summed["period"].min(), summed["period"].max()
    try:
        if isinstance(first, datetime) and isinstance(last, datetime):
            zone = str(first.tzinfo) if first.tzinfo else None
            span = pl.datetime_range(first, last, every, eager=True, time_zone=zone)
        elif isinstance(first, date) and isinstance(last, date):
            span = pl.date_range(first, last, every, eager=True)
        else:
            span = summed["period"].unique().sort()
    except pl.exceptions.PolarsError as exc:
        raise ValueError(
            f"cost_over_time: every={every!r} does not fit the {time_col!r} column (a date column takes whole days, "
            "weeks or months)"
        ) from exc
    periods = span.alias("period").to_frame()
    order = pl.DataFrame({"group": groups, "_order": list(range(len(groups)))})
    grid = periods.join(order, how="cross")
    full = grid.join(summed, on=["period", "group"], how="left").with_columns(pl.col("cost").fill_null(0.0))
    return full.sort("period", "_order").drop("_order")


def unpriced_count(frame: pl.DataFrame) -> int:
    """Model calls of ``frame`` without a price.

    ``unpriced_requests`` summed for ``costs()`` groups, else the rows with a null ``cost``.
    """
    if "unpriced_requests" in frame.columns:
        return int(frame["unpriced_requests"].sum() or 0)
    if "cost" in frame.columns:
        return int(frame["cost"].null_count())
    return 0


def _period_label(value: date | datetime, every: str) -> str:
    if "mo" in every or "q" in every:
        return value.strftime("%Y-%m")
    if "y" in every:
        return value.strftime("%Y")
    if isinstance(value, datetime) and (value.hour, value.minute, value.second) != (0, 0, 0):
        return value.strftime("%m-%d %H:%M")
    return value.strftime("%Y-%m-%d")


def _usd(value: float, _position: object = None) -> str:
    return f"${value:,.2f}" if abs(value) < 100 else f"${value:,.0f}"


@plot_function
def cost_over_time(
    source: Store | pl.DataFrame,
    *,
    ax: Axes | None = None,
    by: str = "model",
    every: str = "1d",
    top: int = 8,
) -> Axes:
    """Stacked bars of the cost (USD) per period, one colour per model or provider.

    Args:
        source: a ``Store`` (its ``analytics.usage``) or a frame like ``analytics.usage(store)`` or
            ``analytics.costs(store, by=("day", "model"))`` (see ``cost_frame``).
        ax: the Axes to draw on; ``None`` draws on a new ``Figure`` (reach it as ``ax.figure``).
        by: ``"model"`` or ``"provider"``.
        every: period length as a polars duration (``"1d"``, ``"1w"``, ``"1mo"``); empty periods show as gaps.
        top: the ``top`` groups by total cost get their own colour, the rest is stacked as ``"other"``.

    Returns:
        The Axes: one ``BarContainer`` per group in ``ax.containers`` (label = the group, one bar per period in
        order at x = 0, 1, ...; largest group at the bottom), x ticks at the period positions labelled with the
        period start (every k-th period when there are more than 16), legend, title with the total. No data:
        the Axes carries a "no data" note.

    Raises:
        ValueError: bad arguments or a frame without the needed columns (the column is named).
        TypeError: ``source`` is neither a Store nor a polars DataFrame.
    """
    frame = resolve(source, _load, "cost_over_time")
    data = cost_frame(frame, by=by, every=every, top=top)
    ax = new_axes(ax)
    period_name = _PERIOD_NAMES.get(every, every)
    title = f"Cost per {period_name} by {by}"
    skipped = unpriced_count(frame)
    if data.is_empty():
        return no_data(ax, title, "no priced usage" if skipped else "no data")
    periods = data["period"].unique(maintain_order=True).to_list()
    x = np.arange(len(periods))
    bottom = np.zeros(len(periods))
    cmap = _colours(data["group"].unique(maintain_order=True).to_list())
    for group, part in data.group_by("group", maintain_order=True):
        heights = part["cost"].to_numpy()
        name = str(group[0])
        ax.bar(x, heights, bottom=bottom, width=0.8, label=name, color=cmap[name])
        bottom = bottom + heights
    step = max(1, int(np.ceil(len(periods) / 16)))  # at most 16 labels so dates stay legible
    labels = [_period_label(p, every) for p in periods]
    ax.set_xticks(x[::step], labels[::step], rotation=45 if len(periods) > 6 else 0, ha="right")
    ax.yaxis.set_major_formatter(FuncFormatter(_usd))
    ax.yaxis.set_major_locator(MaxNLocator(nbins=6))
    ax.set_ylabel("cost (USD)")
    ax.set_xlabel(f"{period_name} (UTC)")
    ax.set_title(f"{title} (total {_usd(float(bottom.sum()))})")
    ax.legend(title=by, fontsize="small", loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    ax.margins(x=0.01)
    ax.set_ylim(0, float(bottom.max()) * 1.08 or 1.0)
    if skipped:
        ax.annotate(
            f"{skipped:,} unpriced call(s) not included",
            xy=(0.0, 1.0),
            xycoords="axes fraction",
            xytext=(2, -2),
            textcoords="offset points",
            ha="left",
            va="top",
            fontsize="small",
            color="0.35",
        )
    return ax


def _colours(groups: list[str]) -> dict[str, tuple[float, float, float, float] | str]:
    """tab10 colours in group order; ``other`` in grey so it never looks like a model."""
    from matplotlib import colormaps

    palette = colormaps["tab10"]
    out: dict[str, tuple[float, float, float, float] | str] = {}
    i = 0
    for g in groups:
        if g == OTHER:
            out[g] = "0.7"
        else:
            out[g] = palette(i % 10)
            i += 1
    return out
