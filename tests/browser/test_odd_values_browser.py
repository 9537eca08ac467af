"""The widgets' HTML over odd values, rendered by Chromium: what a browser shows is the stored text.

The ``SessionBrowser`` (stats and timeline of every session of ``tests.widgets.odd_values``), the ``UsageDashboard``
(by model and by provider) and the ``ToolExplorer`` write their HTML values and PNG charts; this module puts them in
one page (as the widget frontend does: each value as an element's ``innerHTML``, each chart as an ``<img>``) and
Debian's Chromium renders it through Playwright, with every request aborted. The page's text holds every odd title,
model, provider, tool name and message text (a NUL as U+2400), no script ran (neither a ``<script>`` nor an
``onerror``), no element came from stored text, every chart image decodes, and the plain session shows beside them.

Without Chromium or Playwright the test is skipped with a reason saying how to enable it; on CI (``CI=true``) it
fails instead.
"""

from __future__ import annotations

import base64
import json
from typing import TYPE_CHECKING

import pytest

from behest_lab import open_store
from behest_lab.html import NUL_SHOWN
from behest_lab.widgets import SessionBrowser, ToolExplorer, UsageDashboard
from tests.browser._chromium import chromium, require
from tests.widgets.odd_values import ODD, PLAIN, load_odd, model, odd_records, provider, text, title, tool

if TYPE_CHECKING:
    from playwright.sync_api import Dialog

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::behest_lab.pricing.UnknownModelWarning")]

RENDER_JS = """
([values, images]) => {
  window.__odd_ran = 0;
  for (const v of values) {
    const div = document.createElement('div');
    div.className = 'value';
    div.innerHTML = v;  // how the widget frontend shows an HTML value
    document.body.appendChild(div);
  }
  for (const src of images) {
    const img = document.createElement('img');
    img.className = 'chart';
    img.src = src;
    document.body.appendChild(img);
  }
}
"""

CHECK_JS = """
() => ({
  ran: window.__odd_ran,
  text: document.body.innerText,
  scripts: document.querySelectorAll('.value script').length,
  imgs: Array.from(document.querySelectorAll('.value img')).map(i => i.outerHTML),
  handlers: Array.from(document.querySelectorAll('.value *'))
    .flatMap(e => Array.from(e.attributes).map(a => a.name)).filter(n => n.startsWith('on')),
  charts: Array.from(document.querySelectorAll('img.chart')).map(i => i.complete && i.naturalWidth > 0),
})
"""


def _widget_html() -> tuple[list[str], list[str]]:
    """The HTML values and chart data URIs of the three widgets over the odd store (memory backend)."""
    values: list[str] = []
    images: list[str] = []
    with open_store(None) as store:
        load_odd(store)
        browser = SessionBrowser(store)
        for session in odd_records()[0]:
            browser.select_session(session.id)
            values += [browser.stats.value, browser.timeline.value]
        dashboard = UsageDashboard(store)
        for group in ("model", "provider"):
            dashboard.group.value = group
            values += [dashboard.table.value, dashboard.summary.value]
            images.append("data:image/png;base64," + base64.b64encode(bytes(dashboard.chart.value)).decode())
        explorer = ToolExplorer(store)
        values.append(explorer.table.value)
        images.append("data:image/png;base64," + base64.b64encode(bytes(explorer.chart.value)).decode())
        for widget in (explorer, dashboard, browser):
            widget.close()
    return values, images


def test_odd_values_render_as_text_in_chromium() -> None:
    """Chromium shows every odd value as text, runs nothing and decodes every chart."""
    require("odd values in Chromium", "playwright")
    values, images = _widget_html()
    with chromium() as browser:
        context = browser.new_context()
        try:
            context.route("**/*", lambda r: r.abort())
            dialogs: list[str] = []
            page = context.new_page()

            def on_dialog(dialog: Dialog) -> None:
                dialogs.append(dialog.message)
                dialog.dismiss()

            page.on("dialog", on_dialog)
            page.set_content("<!DOCTYPE html><html><head><meta charset='utf-8'></head><body></body></html>")
            page.evaluate(RENDER_JS, [values, images])
            page.wait_for_function("() => Array.from(document.querySelectorAll('img.chart')).every(i => i.complete)")
            page.wait_for_timeout(200)  # an onerror handler would have run by now
            seen = page.evaluate(CHECK_JS)
        finally:
            context.close()
    print(json.dumps({k: v for k, v in seen.items() if k != "text"}))
    assert seen["ran"] == 0
    assert dialogs == []
    assert seen["scripts"] == 0
    assert seen["handlers"] == []
    assert seen["imgs"] == []
    assert seen["charts"] == [True, True, True]
    shown = " ".join(seen["text"].split())
    for name in ODD:
        for value in (title(name), model(name), provider(name), tool(name), text(name)):
            assert value.replace("\x00", NUL_SHOWN) in shown, value
    assert PLAIN in shown
    assert "plain text" in shown
