"""Notebook widgets over a store (ipywidgets 8): ``SessionBrowser``, ``UsageDashboard``, ``ToolExplorer``.

Import explicitly (``from behest_lab.widgets import SessionBrowser``): ``import behest_lab`` never loads
ipywidgets or matplotlib. Each widget is an ``ipywidgets.VBox`` opened with one call on a memory or lake store;
``display(widget)`` shows it. Every view update calls public ``behest_lab.analytics`` functions and readers
(``SessionList``, ``SessionView``, ``UsageDays``, ``ToolCalls``, ``tool_stats``), which run DuckDB SQL through the
store's consistent ``Store.query`` and read one page of rows; records are never loaded wholesale. Work is kept in DuckDB
temporary tables that later updates query: ``SessionBrowser`` snapshots the sessions on opening and measures
(cost, tokens, failures) only the listed page until an order needs every session's measures; the selected
session's rows are read once per selection; ``UsageDashboard`` aggregates usage per day once on opening and keeps
its charts per control state. ``refresh()`` re-reads a store that changed, and ``close()`` drops the tables
(``behest_lab.analytics.session_view`` explains why: each lake table scan costs a catalog round trip); ipywidgets keeps
widgets alive in its registry, so close a widget you replace (or close the store) to free its tables. Callbacks
write into widget traits (``HTML.value``, ``Image.value``, ``Select.options``), so the widgets also work headless: set a
control's ``value`` or ``click()`` a button, then read the output widgets. Store text is HTML-escaped everywhere.
The widgets follow the JupyterLab theme (light or dark: their CSS uses its ``--jp-*`` colour variables, with light
fallbacks elsewhere), keep their height bounded (the timeline, tables and long texts scroll or open on demand), and
draw charts as PNGs at twice their shown width (crisp on high-density screens; ``behest_lab.widgets._style`` and
``behest_lab.widgets._charts``).

Example:
    >>> import behest_lab
    >>> from behest_lab.widgets import SessionBrowser, ToolExplorer
    >>> store = behest_lab.open_store(None)
    >>> browser = SessionBrowser(store)
    >>> explorer = ToolExplorer(store, browser=browser)  # selecting a call opens its session in the browser
    >>> browser.page_label.value
    '<span class="behest-page">page 1 of 1</span> · 0 sessions'
    >>> explorer.close(); browser.close(); store.close()
"""

from __future__ import annotations

from behest_lab.widgets.browser import PAGE_SIZES, TIMELINE_PAGE, SessionBrowser
from behest_lab.widgets.dashboard import GROUPS, METRICS, PERIODS, UsageDashboard
from behest_lab.widgets.tools import ToolExplorer

__all__ = [
    "GROUPS",
    "METRICS",
    "PAGE_SIZES",
    "PERIODS",
    "TIMELINE_PAGE",
    "SessionBrowser",
    "ToolExplorer",
    "UsageDashboard",
]
