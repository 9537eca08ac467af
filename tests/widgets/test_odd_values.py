"""Odd values in every widget.

A NUL, a mathtext-looking name and markup in titles, models, providers, tool names, metadata keys and message texts
render as text (escaped, a NUL shown as ``␀``), and the other sessions still show (``tests.widgets.odd_values``; the
same HTML rendered in Chromium: ``tests/browser/test_odd_values_browser.py``).
"""

from __future__ import annotations

import html
import struct
from collections.abc import Iterator
from pathlib import Path

import pytest

from behest_lab import Store, open_store
from behest_lab.widgets import SessionBrowser, ToolExplorer, UsageDashboard
from tests.lake.template import lake_store
from tests.widgets.conftest import BACKENDS
from tests.widgets.odd_values import ODD, PLAIN, load_odd, model, odd_records, provider, text, title, tool

# the odd models have no price: the pricing warns about each wherever usage is priced
pytestmark = pytest.mark.filterwarnings("ignore::behest_lab.pricing.UnknownModelWarning")

NUL_SHOWN = "\u2400"
"""How a NUL is shown in HTML (an HTML parser drops a NUL character from the text it shows)."""


def shown(value: str) -> str:
    """``value`` as the widgets' HTML holds it: escaped, a NUL as ``NUL_SHOWN``."""
    return html.escape(value, quote=True).replace("\x00", NUL_SHOWN)


def _png(data: bytes) -> int:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width: int = struct.unpack(">I", data[16:20])[0]
    return width


@pytest.fixture(scope="module", params=BACKENDS)
def odd_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    """The ``odd_values`` sessions on each backend."""
    folder: Path = tmp_path_factory.mktemp(f"odd-{request.param}")
    store = open_store(None) if request.param == "memory" else lake_store(folder / "lake")
    load_odd(store)
    try:
        yield store
    finally:
        store.close()


def _no_raw_markup(value: str) -> None:
    for raw in ("<script", "<img", "\x00"):
        assert raw not in value, raw


def test_the_browser_lists_shows_and_filters_every_odd_session(odd_store: Store) -> None:
    """Every odd session is listed, shown escaped, found by its model and its text; the plain one still shows."""
    sessions, _, _, _ = odd_records()
    b = SessionBrowser(odd_store)
    assert "5 sessions" in b.page_label.value
    labels = {value: label for label, value in b.session_list.options}
    assert set(labels) == {str(s.id) for s in sessions}
    for s in sessions:
        # option labels are plain text (the frontend shows them as text): the value itself, cut to the label width
        assert s.title[:40] in labels[str(s.id)]
        b.select_session(s.id)
        _no_raw_markup(b.stats.value + b.timeline.value)
        assert shown(s.title) in b.stats.value
        assert shown(s.model) in b.stats.value
    for name in ODD:
        sid = str(sessions[list(ODD).index(name)].id)
        b.select_session(sid)
        value = b.timeline.value
        assert f"<pre>{shown(text(name))}</pre>" in value
        assert f"<b>tool call</b> {shown(tool(name))}" in value
        assert shown(model(name)) + ":" in value  # the usage line names the call's model
        assert f'<pre class="behest-error">{shown("error " + text(name))}</pre>' in value
        # the model filter and the text search find it, and only it
        b.model.value = model(name)
        assert [v for _, v in b.session_list.options] == [sid]
        b.model.value = b.model.options[0]
        b.search.value = ODD[name]
        assert sid in [v for _, v in b.session_list.options]
        b.search.value = ""
    plain = next(s for s in sessions if s.title == PLAIN)
    b.select_session(plain.id)
    assert "<pre>plain text</pre>" in b.timeline.value
    b.close()


def test_the_dashboard_shows_odd_models_providers_and_sessions(odd_store: Store) -> None:
    """The dashboard groups, tabulates and charts odd models and providers beside the plain ones."""
    d = UsageDashboard(odd_store)
    for group, names in (("model", [model(n) for n in ODD]), ("provider", [provider(n) for n in ODD])):
        d.group.value = group
        series = d.frame.get_column("series").to_list()
        for name in names:
            assert name in series
            assert f"<td>{shown(name)}</td>" in d.table.value
        assert ("gpt-4o" if group == "model" else "openai") in series  # the plain session still shows
        _no_raw_markup(d.table.value + d.summary.value)
        assert _png(bytes(d.chart.value)) > 0
    d.group.value = "session"
    assert d.frame.height == 5
    d.metric.value = "tokens"
    assert int(d.frame.get_column("tokens").sum()) == sum(1000 + day + 200 for day in range(5))
    d.close()


def test_the_tool_explorer_shows_odd_tool_names_and_errors(odd_store: Store) -> None:
    """The explorer lists, filters and opens the calls of odd tool names, their errors escaped."""
    b = SessionBrowser(odd_store)
    x = ToolExplorer(odd_store, browser=b)
    tools = x.stats.get_column("tool_name").to_list()
    assert sorted(tools) == sorted([tool(n) for n in ODD] + ["search"])
    _no_raw_markup(x.table.value)
    for name in ODD:
        assert f"<td>{shown(tool(name))}</td>" in x.table.value
        assert shown("error " + text(name)) in x.table.value
    assert _png(bytes(x.chart.value)) > 0
    assert len(x.failed.options) == 4
    assert len(x.slowest.options) == 5
    for name in ODD:
        x.tool.value = tool(name)
        assert len(x.slowest.options) == 1
        label, execution_id = x.slowest.options[0]
        assert tool(name) in label
        sid = x.open_call(execution_id)
        assert b.selected == sid
        assert shown(title(name)) in b.stats.value
    x.close()
    b.close()
