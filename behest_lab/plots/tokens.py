"""``tokens_per_session``: input, cache and output tokens of the sessions that used the most."""

from __future__ import annotations

import numpy as np
import polars as pl
from matplotlib.axes import Axes
from matplotlib.ticker import FuncFormatter

from behest_lab.plots._common import new_axes, no_data, plot_function, require, resolve, short, tokens_label
from behest_lab.stores.protocols import Store

SEGMENTS = (
    ("uncached_input_tokens", "input (uncached)"),
    ("cache_read_tokens", "cache read"),
    ("cache_write_tokens", "cache write"),
    ("output_tokens", "output"),
)
"""The stacked segments, bottom first: (column of ``analytics.sessions`` / ``analytics.usage``, legend label)."""

LABEL_WIDTH = 36
"""Session labels are cut to this many characters."""


def _load(store: Store) -> pl.DataFrame:
    from behest_lab.analytics import sessions

    return sessions(store, metadata_fields=[])


def session_label(session_id: str, title: str | None) -> str:
    """The y tick label of a session.

    Its title cut to ``LABEL_WIDTH`` plus the id's last 6 characters (UUIDv7 ids of sessions started close together
    share their first characters), or the id alone without a title.
    """
    if not title:
        return session_id
    return f"{short(title, LABEL_WIDTH)} ·{session_id[-6:]}"


def token_frame(frame: pl.DataFrame, *, top: int = 30) -> pl.DataFrame:
    """The numbers ``tokens_per_session`` draws.

    Args:
        frame: ``analytics.sessions(store)`` (one row per session: ``id``, optional ``title``, the ``SEGMENTS``
            columns) or ``analytics.usage(store)`` (one row per model call with ``session_id``; summed per session).
        top: how many sessions to keep.

    Returns:
        Columns ``session_id``, ``label`` (see ``session_label``), the ``SEGMENTS`` columns (Int64, null as 0) and
        ``total_tokens``; the ``top`` sessions by total tokens, largest first (ties by id). Sessions without tokens
        are left out.

    Raises:
        ValueError: ``top`` is not a positive integer, or a column is missing (named).
    """
    if isinstance(top, bool) or not isinstance(top, int) or top < 1:
        raise ValueError(f"tokens_per_session: top must be a positive integer, got {top!r}")
    columns = [c for c, _ in SEGMENTS]
    hint = "analytics.sessions(store) or analytics.usage(store)"
    if "session_id" in frame.columns:  # usage rows
        require(frame, columns, "tokens_per_session", hint)
        per = frame.group_by("session_id").agg(pl.col(c).fill_null(0).sum().cast(pl.Int64) for c in columns)
        per = per.with_columns(pl.lit(None, pl.Utf8).alias("title"))
    else:
        require(frame, ["id", *columns], "tokens_per_session", hint)
        title = pl.col("title").cast(pl.Utf8) if "title" in frame.columns else pl.lit(None, pl.Utf8)
        per = frame.select(
            pl.col("id").cast(pl.Utf8).alias("session_id"),
            title.alias("title"),
            *(pl.col(c).fill_null(0).cast(pl.Int64) for c in columns),
        )
    per = per.with_columns(pl.sum_horizontal(columns).alias("total_tokens")).filter(pl.col("total_tokens") > 0)
    per = per.sort(["total_tokens", "session_id"], descending=[True, False]).head(top)
    labels = [session_label(i, t) for i, t in zip(per["session_id"], per["title"], strict=True)]
    return per.with_columns(pl.Series("label", labels, pl.Utf8)).select("session_id", "label", *columns, "total_tokens")


@plot_function
def tokens_per_session(source: Store | pl.DataFrame, *, ax: Axes | None = None, top: int = 30) -> Axes:
    """Horizontal stacked bars of the tokens of the ``top`` sessions by total tokens.

    Uncached input, cache read, cache write and output (``analytics.usage``'s normalised counters, so Anthropic and
    OpenAI-style reports add up the same way).

    Args:
        source: a ``Store`` or a frame like ``analytics.sessions(store)`` or ``analytics.usage(store)``.
        ax: the Axes to draw on; ``None`` draws on a new ``Figure`` sized for ``top`` rows.
        top: number of sessions shown, largest at the top.

    Returns:
        The Axes: one ``BarContainer`` per segment in ``ax.containers`` (label as in ``SEGMENTS``, one bar per
        session in the order of ``token_frame``), y tick labels = ``session_label`` of each session. No data: a
        "no data" note.

    Raises:
        ValueError: bad ``top`` or a missing column (named).
        TypeError: ``source`` is neither a Store nor a polars DataFrame.
    """
    frame = resolve(source, _load, "tokens_per_session")
    data = token_frame(frame, top=top)
    ax = new_axes(ax, (9.0, max(3.0, 0.8 + 0.28 * min(top, max(data.height, 1)))))
    title = "Tokens per session"
    if data.is_empty():
        return no_data(ax, title)
    y = np.arange(data.height)
    left = np.zeros(data.height)
    colours = ("tab:blue", "tab:cyan", "tab:purple", "tab:orange")
    for (column, label), colour in zip(SEGMENTS, colours, strict=True):
        widths = data[column].to_numpy().astype(float)
        ax.barh(y, widths, left=left, height=0.75, label=label, color=colour)
        left = left + widths
    ax.set_yticks(y, data["label"].to_list(), fontsize="small")
    ax.invert_yaxis()  # largest on top
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: tokens_label(v)))
    ax.set_xlabel("tokens (prompt = uncached input + cache read + cache write; plus output)")
    total = frame["session_id"].n_unique() if "session_id" in frame.columns else frame.height
    ax.set_title(f"{title} (top {data.height} of {total:,} by total tokens)")
    ax.legend(fontsize="small", loc="lower right")
    ax.margins(y=0.01)
    return ax
