"""``tool_latency``: latency distribution per tool (box plot, log scale) with each tool's failure rate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from behest_lab.plots._common import new_axes, no_data, plot_function, require, resolve
from behest_lab.stores.protocols import Store

MIN_MS = 0.01
"""Durations below this (0 ms: behest stores whole milliseconds) are drawn at this value on the log axis."""


def _load(store: Store) -> pl.DataFrame:
    from behest_lab.analytics import tool_executions

    return tool_executions(store)


def latency_frame(frame: pl.DataFrame, *, tools: Sequence[str] | None = None) -> pl.DataFrame:
    """Per-tool numbers of ``tool_latency``, in drawing order (top to bottom).

    Args:
        frame: ``analytics.tool_executions(store)``: ``tool_name``, ``status`` (pending, success, failed) and
            ``duration_ms``.
        tools: the tools to show, in this order (a tool without calls gets an empty row); ``None``: every tool,
            most calls first (ties by name), as ``analytics.tool_stats`` orders them.

    Returns:
        Columns ``tool_name`` (Utf8), ``calls``, ``failures``, ``finished`` (Int64; success + failed),
        ``failure_rate`` (Float64, failures / finished, null when none finished) and ``durations_ms``
        (List[Float64], durations of the finished calls): the same definitions as ``analytics.tool_stats``.

    Raises:
        ValueError: a missing column (named) or ``tools`` given as a bare string.
    """
    require(frame, ["tool_name", "status", "duration_ms"], "tool_latency", "analytics.tool_executions(store)")
    if isinstance(tools, str):
        raise ValueError(f"tool_latency: tools must be a list of tool names, got the string {tools!r}")
    finished = pl.col("status") != "pending"
    per = frame.group_by("tool_name").agg(
        pl.len().cast(pl.Int64).alias("calls"),
        (pl.col("status") == "failed").sum().cast(pl.Int64).alias("failures"),
        finished.sum().cast(pl.Int64).alias("finished"),
        pl.col("duration_ms")
        .filter(finished & pl.col("duration_ms").is_not_null())
        .cast(pl.Float64)
        .alias("durations_ms"),
    )
    per = per.with_columns(
        pl.when(pl.col("finished") > 0)
        .then(pl.col("failures") / pl.col("finished"))
        .otherwise(None)
        .cast(pl.Float64)
        .alias("failure_rate")
    )
    if tools is None:
        per = per.sort(["calls", "tool_name"], descending=[True, False], nulls_last=True)
    else:
        order = pl.DataFrame({"tool_name": [str(t) for t in tools]}, schema={"tool_name": pl.Utf8})
        per = order.join(per, on="tool_name", how="left", maintain_order="left").with_columns(
            pl.col("calls", "failures", "finished").fill_null(0),
            pl.col("durations_ms").fill_null([]),
        )
    return per.select("tool_name", "calls", "failures", "finished", "failure_rate", "durations_ms")


def duration_label(ms: float) -> str:
    """A latency for the log axis: 0.1 ms, 10 ms, 1 s, 100 s; whole minutes as 2 min."""
    if ms >= 60_000 and ms % 60_000 == 0:
        return f"{ms / 60_000:g} min"
    if ms >= 1000:
        return f"{ms / 1000:g} s"
    return f"{ms:g} ms"


def failure_text(failures: int, finished: int) -> str:
    """The annotation beside a tool: ``"2.5% failed (3/120)"``, or ``"no finished calls"``."""
    if finished == 0:
        return "no finished calls"
    return f"{100.0 * failures / finished:.1f}% failed ({failures}/{finished})"


@plot_function
def tool_latency(source: Store | pl.DataFrame, *, ax: Axes | None = None, tools: Sequence[str] | None = None) -> Axes:
    """Latency of each tool's finished calls as horizontal box plots on a log axis, with each failure rate.

    Whiskers at 1.5 IQR, outliers as dots; the failure rate is written beside each tool.

    Args:
        source: a ``Store`` or a frame like ``analytics.tool_executions(store)``.
        ax: the Axes to draw on; ``None`` draws on a new ``Figure`` sized for the number of tools.
        tools: which tools, in which order (see ``latency_frame``); default all, most calls first.

    Returns:
        The Axes: y tick labels = tool names (top to bottom in ``latency_frame`` order), one box per tool with
        finished calls, and one text per tool right of the plot (``failure_text``; also listed in
        ``ax.texts``). No data: a "no data" note.

    Raises:
        ValueError: a missing column (named) or bad ``tools``.
        TypeError: ``source`` is neither a Store nor a polars DataFrame.
    """
    frame = resolve(source, _load, "tool_latency")
    data = latency_frame(frame, tools=tools)
    ax = new_axes(ax, (9.0, max(3.0, 1.0 + 0.42 * max(data.height, 1))))
    title = "Tool latency (finished calls) and failure rate"
    if data.height == 0:
        return no_data(ax, title)
    y = np.arange(data.height)
    series = [np.maximum(np.asarray(d, dtype=float), MIN_MS) for d in data["durations_ms"].to_list()]
    drawn = [i for i, d in enumerate(series) if d.size]
    if drawn:
        ax.boxplot(
            [series[i] for i in drawn],
            positions=[float(y[i]) for i in drawn],
            orientation="horizontal",
            widths=0.6,
            patch_artist=True,
            boxprops={"facecolor": "tab:blue", "alpha": 0.35},
            medianprops={"color": "tab:blue", "linewidth": 1.5},
            flierprops={"marker": ".", "markersize": 3, "alpha": 0.5},
        )
        ax.set_xscale("log")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: duration_label(v)))
    ax.set_yticks(y, data["tool_name"].to_list())
    ax.set_ylim(-0.6, data.height - 0.4)
    ax.invert_yaxis()  # first tool on top
    for i, failures, finished in zip(y, data["failures"], data["finished"], strict=True):
        rate = failures / finished if finished else 0.0
        ax.annotate(
            failure_text(int(failures), int(finished)),
            xy=(1.0, float(i)),
            xycoords=("axes fraction", "data"),
            xytext=(6, 0),
            textcoords="offset points",
            va="center",
            ha="left",
            fontsize="small",
            color="tab:red" if rate >= 0.05 else "0.25",
        )
    zero = sum(int((np.asarray(d) < MIN_MS).sum()) for d in data["durations_ms"].to_list())
    unit = "latency (log scale)"
    ax.set_xlabel(unit if not zero else f"{unit}; {zero:,} call(s) under {MIN_MS} ms drawn at {MIN_MS} ms")
    ax.set_title(title)
    ax.grid(axis="x", which="major", alpha=0.3)
    return ax
