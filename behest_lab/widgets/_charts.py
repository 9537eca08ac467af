"""Charts for the widgets, drawn on ``matplotlib.figure.Figure`` (no pyplot state) and returned as PNG bytes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl
from matplotlib.figure import Figure

from behest_lab.plots import cost_over_time, figure_png

_SIZE = (7.5, 3.2)
_DPI = 72
_EVERY = {"day": "1d", "week": "1w", "month": "1mo"}


def _figure(size: tuple[float, float], left: float = 0.1) -> Figure:
    """A figure with fixed margins (room for rotated dates below and the legend or rates on the right): a
    layout engine would cost a second full draw on every update."""
    fig = Figure(figsize=size, dpi=_DPI)
    fig.subplots_adjust(left=left, right=0.78, bottom=0.28 if size[1] < 3.5 else 0.15, top=0.88)
    return fig


def png(fig: Figure) -> bytes:
    """Deterministic PNG bytes (``behest_lab.plots.figure_png``: no software/date metadata)."""
    return figure_png(fig, dpi=_DPI)


def cost_chart(frame: pl.DataFrame, by: str, period: str) -> bytes:
    """``behest_lab.plots.cost_over_time`` of an ``analytics.costs(by=(period, by))`` frame (``by`` model or
    provider), at the widgets' size."""
    fig = _figure(_SIZE)
    cost_over_time(frame, ax=fig.add_subplot(), by=by, every=_EVERY[period], top=8)
    return png(fig)


def series_chart(frame: pl.DataFrame, x: str, group: str, value: str, title: str, ylabel: str) -> bytes:
    """Stacked bars of ``value`` per ``x`` period, one colour per ``group`` (frame rows: x, group, value)."""
    fig = _figure(_SIZE)
    ax = fig.subplots()
    if frame.height == 0:
        ax.text(0.5, 0.5, "no usage in this range", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        periods = frame.get_column(x).unique().sort().to_list()
        index = {p: i for i, p in enumerate(periods)}
        bottom = [0.0] * len(periods)
        for name in frame.get_column(group).unique(maintain_order=True).to_list():
            part = frame.filter(pl.col(group) == name) if name is not None else frame.filter(pl.col(group).is_null())
            heights = [0.0] * len(periods)
            for p, v in part.select(x, value).iter_rows():
                heights[index[p]] += float(v or 0)
            ax.bar(range(len(periods)), heights, bottom=bottom, label=str(name), width=0.8)
            bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        step = max(1, len(periods) // 10)
        ax.set_xticks(range(0, len(periods), step))
        ax.set_xticklabels([str(p) for p in periods[::step]], rotation=30, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    ax.set_title(title, fontsize=10)
    return png(fig)


def latency_chart(rows: Sequence[dict[str, Any]]) -> bytes:
    """Per-tool latency boxes (whiskers p5..p95, box p25..p75, median line; log scale) with the failure rate
    written beside each tool. ``rows``: dicts with ``tool_name``, ``q`` (the five quantiles in ms) and
    ``failure_rate``."""
    fig = _figure((_SIZE[0], max(2.0, 0.35 * len(rows) + 1.0)), left=0.2)
    ax = fig.subplots()
    stats = [
        {"label": str(r["tool_name"]), "whislo": q[0], "q1": q[1], "med": q[2], "q3": q[3], "whishi": q[4]}
        for r in rows
        if (q := [max(float(v), 1e-3) for v in r["q"]])
    ]
    if not stats:
        ax.text(0.5, 0.5, "no finished tool calls", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        ax.bxp(stats, orientation="horizontal", showfliers=False)
        ax.set_xscale("log")
        ax.set_xlabel("duration (ms)")
        for i, r in enumerate(rows, start=1):
            rate = r["failure_rate"]
            ax.annotate(
                "n/a" if rate is None else f"{rate:.1%} failed",
                xy=(1.0, i),
                xycoords=("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize=7,
            )
    ax.set_title("tool latency (p5–p95) and failure rate", fontsize=10)
    return png(fig)
