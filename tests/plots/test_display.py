"""Plot results draw themselves in Jupyter (IPython's display formatter, a real kernel, nbconvert's HTML export), and
stored text that looks like mathtext is drawn literally."""

from __future__ import annotations

import struct
from collections.abc import Callable
from datetime import UTC, datetime

import matplotlib
import nbformat
import polars as pl
import pytest
from IPython.core.formatters import DisplayFormatter
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.text import Text
from nbclient import NotebookClient
from nbconvert import HTMLExporter

from behest_lab import Store
from behest_lab.plots import compaction_savings, cost_over_time, figure_png, tokens_per_session, tool_latency

PLOTS: dict[str, Callable[..., Axes]] = {
    "cost_over_time": cost_over_time,
    "tokens_per_session": tokens_per_session,
    "tool_latency": tool_latency,
    "compaction_savings": compaction_savings,
}

# strings matplotlib's mathtext would parse: the first two fail to parse, the others would render as math
MATH = [r"$\foo$", r"$\frac{1}{$", "a $x^2$ b", r"$\alpha$ tool"]


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels from a PNG's IHDR chunk."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


@pytest.mark.parametrize("name", sorted(PLOTS))
def test_a_new_figure_displays_as_svg_and_a_2x_png(sample: Store, name: str) -> None:
    ax = PLOTS[name](sample)
    assert isinstance(ax, Axes)
    assert isinstance(ax.figure, Figure)
    data, metadata = DisplayFormatter().format(ax)
    assert {"image/svg+xml", "image/png", "text/plain"} <= set(data)
    svg = data["image/svg+xml"]
    assert isinstance(svg, str)
    assert "<svg" in svg
    assert "</svg>" in svg
    png = data["image/png"]
    assert isinstance(png, bytes)
    inches = ax.figure.get_size_inches()
    shown = {"width": round(inches[0] * 100), "height": round(inches[1] * 100)}
    assert metadata["image/png"] == shown  # displayed at the figure's size ...
    assert png_size(png) == (2 * shown["width"], 2 * shown["height"])  # ... with twice the pixels
    assert figure_png(ax.figure)[:8] == b"\x89PNG\r\n\x1a\n"  # type: ignore[arg-type]


def test_a_given_ax_is_returned_unchanged(sample: Store) -> None:
    fig = Figure()
    mine = fig.add_subplot()
    assert cost_over_time(sample, ax=mine) is mine
    assert type(mine) is Axes  # the caller's Axes: showing the figure is the caller's business
    assert "image/png" not in DisplayFormatter().format(mine)[0]


def test_math_looking_strings_would_break_mathtext() -> None:
    """The control for the test below: drawn with mathtext on, these strings fail or turn into math."""
    fig = Figure()
    text = fig.text(0.1, 0.5, MATH[0])
    with pytest.raises(ValueError, match="foo"):  # mathtext: Unknown symbol: \\foo
        figure_png(fig)
    text.set_parse_math(False)
    figure_png(fig)


def test_stored_text_is_drawn_literally() -> None:
    day = datetime(2026, 1, 5, tzinfo=UTC)
    usage = pl.DataFrame({"created_at": [day] * len(MATH), "model": MATH, "cost": [1.0, 2.0, 3.0, 4.0]})
    executions = pl.DataFrame(
        {"tool_name": MATH, "status": ["success", "failed", "success", "success"], "duration_ms": [5.0, 9.0, 1.0, 2.0]}
    )
    zeros = [0] * len(MATH)
    sessions = pl.DataFrame(
        {
            "id": [f"0190000{i}-0000-7000-8000-000000000000" for i in range(len(MATH))],
            "title": MATH,
            "uncached_input_tokens": [10, 20, 30, 40],
            "cache_read_tokens": zeros,
            "cache_write_tokens": zeros,
            "output_tokens": [1, 2, 3, 4],
        }
    )
    axes = [cost_over_time(usage), tool_latency(executions), tokens_per_session(sessions)]
    for ax in axes:
        texts = ax.findobj(Text)
        assert all(not t.get_parse_math() for t in texts)  # type: ignore[attr-defined]
        figure_png(ax.figure)  # type: ignore[arg-type]  # drawing does not raise
        # with SVG text kept as text (not glyph paths), each string appears as written, dollars and backslashes
        with matplotlib.rc_context({"svg.fonttype": "none"}):
            svg = DisplayFormatter().format(ax)[0]["image/svg+xml"]
        shown = [s for s in MATH if s.replace("<", "&lt;") in svg]
        assert shown, ax.get_title()
    legend = axes[0].get_legend()
    assert legend is not None
    assert sorted(t.get_text() for t in legend.get_texts()) == sorted(MATH)
    assert sorted(t.get_text() for t in axes[1].get_yticklabels()) == sorted(MATH)


@pytest.mark.slow
def test_a_kernel_and_the_html_export_show_the_figure(tmp_path: str) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import behest_lab\nfrom behest_lab import plots\nfrom behest_lab.sample import generate\n"
            "store = behest_lab.open_store(None)\ngenerate(store, sessions=5, seed=1, embedding_dim=None);"
        ),
        nbformat.v4.new_code_cell("plots.cost_over_time(store)"),
        nbformat.v4.new_code_cell("plots.tool_latency(store)"),
    ]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    for cell in nb.cells[1:]:
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        assert {"image/svg+xml", "image/png"} <= set(result.data)
        assert result.metadata["image/png"] == {"width": 900, "height": result.metadata["image/png"]["height"]}
    html, _ = HTMLExporter().from_notebook_node(nb)
    assert html.count('src="data:image/svg+xml;base64,') == 2  # the vector image, as an <img>
    assert "&lt;PlotAxes" not in html
