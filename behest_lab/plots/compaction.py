"""``compaction_savings``: context tokens before vs after each compaction."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from behest_lab.plots._common import new_axes, no_data, plot_function, require, resolve, tokens_label
from behest_lab.stores.protocols import Store

MEASURES = {
    "estimated": ("estimated_tokens_before", "estimated_tokens_after", "estimated context tokens"),
    "prompt": ("prompt_tokens_before", "prompt_tokens_after", "reported prompt tokens"),
}
"""``compaction_savings(measure=...)``: the before/after columns of ``analytics.compactions`` and the axis words."""


def _load(store: Store) -> pl.DataFrame:
    from behest_lab.analytics import compactions

    return compactions(store)


def savings_frame(frame: pl.DataFrame, *, measure: str = "estimated") -> pl.DataFrame:
    """The points ``compaction_savings`` draws.

    Args:
        frame: ``analytics.compactions(store)``.
        measure: ``"estimated"`` (behest's chars/4 estimate of the model context, always present) or ``"prompt"``
            (prompt tokens the provider reported on the calls around the compaction; pairs without both are left
            out).

    Returns:
        Columns ``before``, ``after`` (Int64) and ``saved`` (Int64, before - after), in the frame's order.

    Raises:
        ValueError: unknown ``measure`` or a missing column (named).
    """
    if measure not in MEASURES:
        raise ValueError(f"compaction_savings: measure={measure!r} is not one of {', '.join(MEASURES)}")
    before, after, _ = MEASURES[measure]
    require(frame, [before, after], "compaction_savings", "analytics.compactions(store)")
    points = frame.select(
        pl.col(before).cast(pl.Int64).alias("before"), pl.col(after).cast(pl.Int64).alias("after")
    ).drop_nulls()
    return points.with_columns((pl.col("before") - pl.col("after")).alias("saved"))


@plot_function
def compaction_savings(source: Store | pl.DataFrame, *, ax: Axes | None = None, measure: str = "estimated") -> Axes:
    """One dot per compaction.

    Context tokens before (x) against after (y), with the no-savings diagonal; the further below it, the more the
    compaction saved. The title gives the count, total and median saving.

    Args:
        source: a ``Store`` or a frame like ``analytics.compactions(store)``.
        ax: the Axes to draw on; ``None`` draws on a new square-ish ``Figure``.
        measure: ``"estimated"`` or ``"prompt"`` (see ``savings_frame``).

    Returns:
        The Axes: ``ax.collections[0]`` holds the points (``get_offsets()`` = (before, after) in ``savings_frame``
        order), ``ax.lines[0]`` the diagonal. No data: a "no data" note.

    Raises:
        ValueError: unknown ``measure`` or a missing column (named).
        TypeError: ``source`` is neither a Store nor a polars DataFrame.
    """
    frame = resolve(source, _load, "compaction_savings")
    data = savings_frame(frame, measure=measure)
    ax = new_axes(ax, (6.5, 5.0))
    words = MEASURES[measure][2]
    title = "Compaction savings"
    if data.is_empty():
        return no_data(ax, title, "no compactions")
    before = data["before"].to_numpy().astype(float)
    after = data["after"].to_numpy().astype(float)
    ax.scatter(before, after, s=18, alpha=0.6, color="tab:green", edgecolors="none", label="compaction")
    top = float(max(before.max(), after.max(), 1.0)) * 1.05
    ax.plot([0, top], [0, top], color="0.5", linestyle="--", linewidth=1, label="no saving (after = before)")
    ax.set_xlim(0, top)
    ax.set_ylim(0, top)
    fmt = FuncFormatter(lambda v, _p: tokens_label(v))
    ax.xaxis.set_major_formatter(fmt)
    ax.yaxis.set_major_formatter(fmt)
    ax.set_xlabel(f"before ({words})")
    ax.set_ylabel(f"after ({words})")
    share = np.divide(before - after, before, out=np.zeros_like(before), where=before > 0)
    ax.set_title(
        f"{title}: {data.height:,} compactions, {tokens_label(float(data['saved'].sum()))} tokens saved, "
        f"median {100 * float(np.median(share)):.0f}%",
        fontsize="medium",
    )
    ax.legend(fontsize="small", loc="upper left")
    ax.grid(alpha=0.3)
    return ax
