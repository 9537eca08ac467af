r"""Charts for the widgets, drawn on ``matplotlib.figure.Figure`` (no pyplot state) and returned as PNG bytes.

The PNGs are drawn at ``SCALE`` times the figure's logical size (``CHART_WIDTH`` CSS pixels wide at 72 dots per inch)
and shown at that logical width, so they stay crisp on screens with a device pixel ratio up to ``SCALE``. Stored
text (model, provider, session and tool names) becomes titles, legend entries and tick labels with matplotlib's
mathtext off: a name such as ``$\foo$`` is drawn as written, never parsed; a NUL in it is drawn as ``\x00``
(``behest_lab.plots.literal_text``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.figure import Figure

from behest_lab.plots import figure_png, literal_text

_SIZE = (7.5, 3.2)
_DPI = 72
SCALE = 2
"""Device pixels per CSS pixel the charts are drawn for."""

CHART_WIDTH = round(_SIZE[0] * _DPI)
"""The charts' logical width in CSS pixels (the PNGs are ``SCALE`` times as wide)."""
_COLORS = tuple(f"C{i}" for i in range(10))


def _figure(size: tuple[float, float], left: float = 0.1) -> Figure:
    """A figure with fixed margins (room for rotated dates below and the legend or rates on the right).

    A layout engine would cost a second full draw on every update.
    """
    fig = Figure(figsize=size, dpi=_DPI)
    fig.subplots_adjust(left=left, right=0.78, bottom=0.28 if size[1] < 3.5 else 0.15, top=0.88)
    return fig


def png(fig: Figure) -> bytes:
    """Deterministic PNG bytes at ``SCALE`` times the logical size.

    ``behest_lab.plots.figure_png``: no software/date metadata.
    """
    return figure_png(fig, dpi=_DPI * SCALE)


def _bars(periods: int, heights: Sequence[float] | np.ndarray, bottoms: Sequence[float] | np.ndarray) -> np.ndarray:
    """Rectangle vertices (periods x 4 x 2) of one series' stacked bars, 0.8 wide, centred on 0..periods-1."""
    x = np.arange(periods, dtype=float)
    lo = np.asarray(bottoms, dtype=float)
    hi = lo + np.asarray(heights, dtype=float)
    left, right = x - 0.4, x + 0.4
    return np.stack(
        [np.stack([left, lo], 1), np.stack([right, lo], 1), np.stack([right, hi], 1), np.stack([left, hi], 1)], 1
    )


def series_chart(frame: pl.DataFrame, x: str, group: str, value: str, title: str, ylabel: str) -> bytes:
    """``series_figure`` as PNG bytes (``png``)."""
    return png(series_figure(frame, x, group, value, title, ylabel))


def series_figure(frame: pl.DataFrame, x: str, group: str, value: str, title: str, ylabel: str) -> Figure:
    """Stacked bars of ``value`` per ``x`` period, one colour per ``group``.

    Frame rows: x, group, value; a null value counts 0. Each series is one ``PolyCollection`` of rectangles: a single
    artist, where ``Axes.bar`` makes one patch per bar and costs about a millisecond per bar to add and draw.
    """
    fig = _figure(_SIZE)
    ax = fig.subplots()
    if frame.height == 0:
        ax.text(0.5, 0.5, "no usage in this range", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        # one (period x series) matrix of summed values in polars, then one collection per series
        periods = frame.get_column(x).unique().sort().to_list()
        names = frame.get_column(group).unique(maintain_order=True).to_list()
        index = {p: i for i, p in enumerate(periods)}
        column = {n: k for k, n in enumerate(names)}
        values = np.zeros((len(periods), len(names)))
        summed = frame.group_by(x, group).agg(pl.col(value).cast(pl.Float64).fill_null(0).sum())
        for p, n, v in summed.iter_rows():
            values[index[p], column[n]] = v
        bottoms = np.cumsum(values, axis=1) - values
        for k in range(len(names)):
            bars = PolyCollection(
                list(_bars(len(periods), values[:, k], bottoms[:, k])),
                facecolors=_COLORS[k % len(_COLORS)],
            )
            ax.add_collection(bars, autolim=False)
        top = float(values.sum(axis=1).max())
        ax.set_xlim(-0.6, len(periods) - 0.4)
        ax.set_ylim(0, top * 1.05 if top > 0 else 1.0)
        # at most 6 upright labels: rotated text is drawn glyph by glyph, several times slower
        step = max(1, math.ceil(len(periods) / 6))
        ax.set_xticks(range(0, len(periods), step))
        ax.set_xticklabels([str(p) for p in periods[::step]], fontsize=8, parse_math=False)
        ax.set_ylabel(ylabel, parse_math=False)
        # handles and labels given explicitly: a name starting with "_" is shown too (never taken as "no legend")
        handles = list(ax.collections)
        legend = ax.legend(handles, [str(n) for n in names], fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        for text in legend.get_texts():
            text.set_parse_math(False)
    ax.set_title(title, fontsize=10, parse_math=False)
    literal_text(ax)
    return fig


def latency_boxes(rows: Sequence[dict[str, Any]]) -> np.ndarray:
    """The log10 of each row's five latency quantiles (ms, floored at 1 µs so that 0 ms stays drawable), rows x 5."""
    values = np.asarray([[float(v) for v in r["q"]] for r in rows], dtype=float)
    out: np.ndarray = np.log10(np.maximum(values, 1e-3))
    return out


def latency_chart(rows: Sequence[dict[str, Any]]) -> bytes:
    """``latency_figure`` as PNG bytes (``png``)."""
    return png(latency_figure(rows))


def latency_figure(rows: Sequence[dict[str, Any]]) -> Figure:
    """Per-tool latency boxes on a log scale with the failure rate written beside each tool.

    Whiskers p5..p95, box p25..p75, a median line. ``rows``: dicts with ``tool_name``, ``q`` (the five
    quantiles in ms, ascending) and ``failure_rate``.

    The boxes are drawn in log10 units on a linear axis labelled at whole decades, as three collections: a log
    axis with its minor ticks and ``Axes.bxp``'s seven lines per tool cost most of a half-second draw.
    """
    fig = _figure((_SIZE[0], max(2.0, 0.35 * len(rows) + 1.0)), left=0.2)
    ax = fig.subplots()
    if not rows:
        ax.text(0.5, 0.5, "no finished tool calls", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
    else:
        q = latency_boxes(rows)
        y = np.arange(1, len(rows) + 1, dtype=float)
        p5, q1, med, q3, p95 = (q[:, i] for i in range(5))
        ax.add_collection(
            PolyCollection(
                [[(a, b - 0.3), (c, b - 0.3), (c, b + 0.3), (a, b + 0.3)] for a, c, b in zip(q1, q3, y, strict=True)],
                facecolors="#cfe0f3",
                edgecolors="C0",
            ),
            autolim=False,
        )
        whiskers = [[(a, b), (c, b)] for a, c, b in zip(p5, q1, y, strict=True)]
        whiskers += [[(a, b), (c, b)] for a, c, b in zip(q3, p95, y, strict=True)]
        whiskers += [[(a, b - 0.15), (a, b + 0.15)] for a, b in zip((*p5, *p95), (*y, *y), strict=True)]
        ax.add_collection(LineCollection(whiskers, colors="black", linewidths=1), autolim=False)
        medians = [[(a, b - 0.3), (a, b + 0.3)] for a, b in zip(med, y, strict=True)]
        ax.add_collection(LineCollection(medians, colors="C1", linewidths=2), autolim=False)
        lo, hi = math.floor(float(q.min())), math.ceil(float(q.max()))
        hi = max(hi, lo + 1)
        ax.set_xlim(lo, hi)
        ax.set_xticks(range(lo, hi + 1))
        ax.set_xticklabels([f"{10.0**k:g}" for k in range(lo, hi + 1)], fontsize=8)
        ax.set_yticks(y)
        ax.set_yticklabels([str(r["tool_name"]) for r in rows], fontsize=8, parse_math=False)
        ax.set_ylim(0.4, len(rows) + 0.6)
        ax.set_xlabel("duration (ms, log scale)")
        for i, r in enumerate(rows, start=1):
            rate = r["failure_rate"]
            ax.text(
                1.01,
                i,
                "n/a" if rate is None else f"{rate:.1%} failed",
                transform=ax.get_yaxis_transform(),
                va="center",
                fontsize=7,
            )
    ax.set_title("tool latency (p5–p95) and failure rate", fontsize=10)
    literal_text(ax)
    return fig
