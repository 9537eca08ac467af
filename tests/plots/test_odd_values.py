r"""Every plot function over a store holding odd values (``tests.widgets.odd_values``).

A NUL, ``$\foo$`` and markup are in titles, models, providers and tool names. On both backends: each draws to PNG and to
well-formed SVG, shows the odd names as written (a NUL as ``\x00``) and still shows the plain session.
"""

from __future__ import annotations

import warnings
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path

import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.text import Text

from behest_lab import Store, analytics, open_store, plots
from behest_lab.plots._common import PlotAxes, short
from behest_lab.plots.tokens import LABEL_WIDTH
from tests.lake.template import lake_store
from tests.widgets.conftest import BACKENDS
from tests.widgets.odd_values import ODD, PLAIN, PLAIN_MODEL, load_odd, model, provider, title, tool

pytestmark = pytest.mark.filterwarnings("ignore::behest_lab.pricing.UnknownModelWarning")


@pytest.fixture(scope="module", params=BACKENDS)
def odd_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The ``odd_values`` sessions on each backend."""
    folder: Path = tmp_path_factory.mktemp(f"odd-plots-{request.param}")
    store = open_store(None) if request.param == "memory" else lake_store(folder / "lake")
    load_odd(store)
    try:
        yield store
    finally:
        store.close()


def drawn(value: str) -> str:
    """``value`` as a plot draws it."""
    return value.replace("\x00", "\\x00")


def _texts(ax: Axes) -> str:
    """Every text of the drawn figure, tick labels included, joined by newlines."""
    ax.figure.canvas.draw()  # tick labels are set at draw time
    return "\n".join(t.get_text() for t in ax.findobj(Text))


def _renders(ax: Axes) -> None:
    """The figure draws without a warning (a missing glyph, a mathtext error) to PNG and to well-formed SVG."""
    assert isinstance(ax, PlotAxes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        png = plots.figure_png(ax.figure)  # type: ignore[arg-type]
        svg = ax._repr_svg_()
    assert png.startswith(b"\x89PNG")
    ET.fromstring(svg)  # a NUL (or any unescaped markup) would make the SVG malformed XML


def _priced(store: Store) -> pl.DataFrame:
    """``analytics.usage`` with every call given a cost, so each odd model and provider gets a bar and a legend entry.

    The odd models have no price, and the cost plot leaves unpriced calls out.
    """
    return analytics.usage(store).with_columns(pl.lit(0.01).alias("cost"))


CASES: dict[str, tuple[Callable[[Store], Axes], Callable[[str], str] | None, str | None]] = {
    "cost by model": (lambda s: plots.cost_over_time(_priced(s), by="model"), model, PLAIN_MODEL),
    "cost by provider": (lambda s: plots.cost_over_time(_priced(s), by="provider"), provider, "openai"),
    "cost of the store": (plots.cost_over_time, None, None),
    "tokens per session": (plots.tokens_per_session, lambda n: short(title(n), LABEL_WIDTH), PLAIN),
    "tool latency": (plots.tool_latency, tool, "search"),
    "compaction savings": (plots.compaction_savings, None, None),
}


@pytest.mark.parametrize("case", list(CASES))
def test_every_plot_draws_odd_names_as_written(odd_store: Store, case: str) -> None:
    """Each plot draws without a warning, with every odd name as written and the plain one beside them."""
    draw, name_of, plain = CASES[case]
    ax = draw(odd_store)
    _renders(ax)
    texts = _texts(ax)
    assert "\x00" not in texts
    if name_of is not None:
        for name in ODD:
            assert drawn(name_of(name)) in texts
        assert plain is not None
        assert plain in texts
    for t in ax.findobj(Text):
        assert not t.get_parse_math()
