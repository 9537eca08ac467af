"""Shared plumbing of the plot functions.

Source resolution, column checks, new axes that display themselves in Jupyter, literal text, the "no data" note, PNG
bytes.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Callable, Sequence
from typing import Any, ParamSpec

import polars as pl
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text

from behest_lab.stores.protocols import Store

FIGSIZE = (9.0, 4.5)
"""Size in inches of the figure a plot function creates when no ``ax`` is given."""

DPI = 100
"""Resolution of created figures and of ``figure_png`` (so a 9 x 4.5 in figure is 900 x 450 px)."""

DISPLAY_SCALE = 2
"""The PNG a ``PlotAxes`` shows in Jupyter has this many pixels per CSS pixel (sharp on high-density screens)."""

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


class PlotAxes(Axes):
    """The Axes of a figure a plot function creates.

    An ordinary matplotlib ``Axes`` that also shows its figure when it ends a Jupyter cell.

    IPython's display formatter finds ``_repr_svg_`` (a vector image, which JupyterLab shows for trusted output and
    nbconvert's HTML export embeds) and ``_repr_png_`` (a PNG at ``DISPLAY_SCALE`` times ``DPI``, shown at the
    figure's size: sharp on high-density screens; what JupyterLab shows for untrusted output). Both render the
    figure with its own canvas: no pyplot, no global state.
    """

    def _repr_svg_(self) -> str:
        buffer = io.StringIO()
        figure_of(self).savefig(buffer, format="svg", metadata={"Date": None})
        return buffer.getvalue()

    def _repr_png_(self) -> tuple[bytes, dict[str, int]]:
        fig = figure_of(self)
        width, height = (round(v * DPI) for v in fig.get_size_inches())
        return figure_png(fig, dpi=DPI * DISPLAY_SCALE), {"width": width, "height": height}


def new_axes(ax: Axes | None, figsize: tuple[float, float] = FIGSIZE) -> Axes:
    """``ax`` itself, or the single ``PlotAxes`` of a new pyplot-free ``Figure`` (constrained layout)."""
    if ax is not None:
        return ax
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    return fig.add_subplot(axes_class=PlotAxes)


_P = ParamSpec("_P")


def plot_function(draw: Callable[_P, Axes]) -> Callable[_P, Axes]:
    r"""Decorate a plot function.

    Every text of the Axes it returns (title, axis labels, tick labels, legend, annotations) is drawn literally, so
    stored text such as a tool named ``$\alpha$`` never goes through matplotlib's mathtext parser (which would render
    it as math or fail on it).
    """

    @functools.wraps(draw)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> Axes:
        ax = draw(*args, **kwargs)
        literal_text(ax)
        return ax

    return wrapper


def literal_text(ax: Axes) -> None:
    """Turn off mathtext for every text artist of ``ax`` (``Text.set_parse_math(False)``)."""
    text: Any
    for text in ax.findobj(Text):
        text.set_parse_math(False)


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
