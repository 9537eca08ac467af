"""Shared plumbing of the plot functions: source resolution, column checks, new axes, the "no data" note, PNG bytes."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from behest_lab.stores.protocols import Store

FIGSIZE = (9.0, 4.5)
"""Size in inches of the figure a plot function creates when no ``ax`` is given."""

DPI = 100
"""Resolution of created figures and of ``figure_png`` (so a 9 x 4.5 in figure is 900 x 450 px)."""

OTHER = "other"
"""Label of the group that collects everything outside the top N."""

UNKNOWN = "unknown"
"""Label of rows whose group key is null."""


def resolve(source: Store | pl.DataFrame, load: Callable[[Store], pl.DataFrame], what: str) -> pl.DataFrame:
    """The frame to plot: ``source`` itself when it is a polars frame, else ``load(source)`` for a ``Store``.

    Raises:
        TypeError: ``source`` is neither (``what`` names the plot in the message).
    """
    if isinstance(source, pl.DataFrame):
        return source
    if isinstance(source, Store):
        return load(source)
    raise TypeError(f"{what}: expected a Store or a polars DataFrame, got {type(source).__name__}")


def require(frame: pl.DataFrame, columns: Sequence[str], what: str, hint: str) -> None:
    """Raise a ``ValueError`` naming the first of ``columns`` missing from ``frame``.

    ``hint`` names the analytics function whose frame the plot expects.
    """
    for column in columns:
        if column not in frame.columns:
            raise ValueError(
                f"{what}: the frame has no column {column!r} (expected a frame like {hint}; "
                f"got columns {', '.join(frame.columns) or 'none'})"
            )


def new_axes(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """``ax`` itself, or the single Axes of a new pyplot-free ``Figure`` (constrained layout)."""
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    return fig.add_subplot()


def no_data(ax: Axes, title: str, note: str = "no data") -> Axes:
    """Mark ``ax`` as empty: the title, a centred note and no ticks."""
    ax.set_title(title)
    ax.text(0.5, 0.5, note, transform=ax.transAxes, ha="center", va="center", fontsize=12, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def figure_of(ax: Axes) -> Figure:
    """The top-level figure ``ax`` is drawn in."""
    return ax.get_figure(root=True)  # type: ignore[return-value]


def figure_png(fig: Figure, *, dpi: float = DPI) -> bytes:
    """The figure as PNG bytes, identical for identical figures: no ``Software``/date metadata is written.

    Args:
        fig: a matplotlib ``Figure`` (for an Axes ``ax`` returned by a plot function: ``ax.figure``).
        dpi: resolution of the image, dots per inch.

    Returns:
        The PNG file content.
    """
    if not isinstance(fig, Figure):
        raise TypeError(f"figure_png: expected a matplotlib Figure, got {type(fig).__name__}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


def tokens_label(value: float) -> str:
    """A token count for an axis: 950, 12k, 1.25M (up to two decimals, trailing zeros dropped)."""
    value = float(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.2f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.0f}"


def short(text: str, width: int) -> str:
    """``text`` on one line, cut to ``width`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"
