"""The three widgets in Chromium under JupyterLab's light and dark themes: readable, bounded, each tool result
once, crisp charts.

One Voila server (``--theme`` overridden per page with ``?theme=light`` / ``?theme=dark``, which Voila allows by
default) serves a notebook this module writes to a temp folder: the widgets over generated sample sessions plus the
long session of ``tests.widgets.long_session`` (selected in the ``SessionBrowser``), whose tool ``$\\foo$`` and
model ``$\\bar$`` would break matplotlib's mathtext. Debian's Chromium renders each theme through Playwright, with
every non-local request aborted, and the tests read computed styles and sizes:

* the WCAG contrast ratio of text colour against the background actually behind it (the element's and its
  ancestors' backgrounds composited) is at least 4.5 for message text, compaction messages, links, failure
  notes, table cells and headers, in both themes;
* the ``SessionBrowser`` with the long session selected stays under ``MAX_WIDGET_HEIGHT`` px (its timeline scrolls),
  and so do the dashboard and the tool explorer;
* each tool result text is in the page once, and the call's link brings its result message into view;
* every chart image has at least twice as many pixels across as it is displayed wide.

The same HTML in a bare page without JupyterLab's variables (white, and dark) is readable through the fallbacks.
Screenshots go to ``build/widgets-theme-light.png`` and ``build/widgets-theme-dark.png``.

Without Chromium, Playwright or Voila the tests are skipped with a reason saying how to enable them; on CI
(``CI=true``) a missing one fails them instead.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import nbformat
import pytest

from tests.browser._chromium import chromium as launch_chromium
from tests.browser._chromium import require, voila
from tests.widgets.long_session import RESULT_MARK, TURNS

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "build"
THEMES = ("light", "dark")
NOTEBOOK = "widgets_theme.ipynb"
TIMEOUT_MS = 180_000
MIN_CONTRAST = 4.5
MAX_WIDGET_HEIGHT = 1500
VIEWPORT = {"width": 1200, "height": 1000}

# What must be readable: (name, CSS selector). Each must match at least one element on the page.
TEXTS = (
    ("message text", ".behest-browser .behest-msg:not(.behest-compaction) pre"),
    ("message header", ".behest-browser .behest-msg:not(.behest-compaction) > .behest-meta"),
    ("compaction message text", ".behest-browser .behest-msg.behest-compaction pre"),
    ("compaction note", ".behest-browser .behest-compaction-note"),
    ("compaction message header", ".behest-browser .behest-msg.behest-compaction > .behest-meta"),
    ("failure", ".behest-browser .behest-failed"),
    ("link", ".behest-browser .behest-msg a"),
    ("text preview", ".behest-browser .behest-preview"),
    ("whole-text toggle", ".behest-browser .behest-toggle"),
    ("session header", ".behest-browser .behest-session-header"),
    ("table header", ".behest-table th"),
    ("table cell", ".behest-table td"),
    ("dashboard total", ".behest-dashboard .behest-summary"),
    ("list heading", ".behest-tools .widget-html-content > b"),
)

# The notebook the server runs (the repository root goes on sys.path for tests.widgets.long_session).
CELLS = [
    f"""import sys
import warnings

sys.path.insert(0, {str(ROOT)!r})

import behest_lab
from behest_lab.pricing import UnknownModelWarning
from behest_lab.sample import generate
from behest_lab.widgets import SessionBrowser, ToolExplorer, UsageDashboard
from tests.widgets.long_session import LONG_ID, load_long_session

warnings.simplefilter("ignore", UnknownModelWarning)  # the long session's model "$\\\\bar$" has no price
store = behest_lab.open_store(None)
generate(store, sessions=40, seed=3, embedding_dim=None)
long_session = load_long_session(store)""",
    "browser = SessionBrowser(store)\nbrowser.select_session(LONG_ID)\nbrowser",
    "UsageDashboard(store)",
    "ToolExplorer(store)",
]

# Browser-side measurements. Colours are normalised by painting them on a 1x1 canvas (any CSS colour syntax,
# color-mix results included); a background is the element's and its ancestors' up to the first opaque one,
# composited, over white where none is opaque (the page's canvas).
MEASURE_JS = """
(texts) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0], d[1], d[2], d[3] / 255];
  };
  const over = (top, bottom) => [0, 1, 2].map(i => top[i] * top[3] + bottom[i] * (1 - top[3])).concat([1]);
  const background = (el) => {
    const layers = [];
    for (let e = el; e; e = e.parentElement) {
      const c = rgba(getComputedStyle(e).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    return layers.reverse().reduce((bg, c) => over(c, bg), [255, 255, 255, 1]);
  };
  const lum = (c) => {
    const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const out = {};
  for (const [name, selector] of texts) {
    const els = Array.from(document.querySelectorAll(selector)).slice(0, 300);
    let worst = null;
    for (const el of els) {
      const bg = background(el);
      const fg = over(rgba(getComputedStyle(el).color), bg);
      const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
      const ratio = (hi + 0.05) / (lo + 0.05);
      if (worst === null || ratio < worst.ratio) {
        worst = {ratio, fg: fg.map(Math.round), bg: bg.map(Math.round), text: el.textContent.slice(0, 60)};
      }
    }
    out[name] = {count: els.length, worst};
  }
  return out;
}
"""

SIZES_JS = """
() => {
  const height = (s) => document.querySelector(s).getBoundingClientRect().height;
  const body = document.querySelector('.behest-browser .behest-timeline-body');
  const images = Array.from(document.querySelectorAll('img.behest-usage-chart, img.behest-tool-chart'));
  return {
    browser: height('.behest-browser'),
    dashboard: height('.behest-dashboard'),
    tools: height('.behest-tools'),
    timeline: {client: body.clientHeight, scroll: body.scrollHeight},
    images: images.map(i => ({cls: i.className, natural: i.naturalWidth, shown: i.getBoundingClientRect().width})),
    text: document.querySelector('.behest-browser .behest-timeline').textContent,
  };
}
"""


pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    require("widget theme check", "playwright", "voila")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Voila serving the generated notebook on 127.0.0.1 (Jupyter's dirs in a temp folder); yields its URL."""
    tmp = tmp_path_factory.mktemp("voila-theme")
    folder = tmp / "notebooks"
    folder.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
    nbformat.write(nb, folder / NOTEBOOK)
    with voila(folder, NOTEBOOK, tmp) as running:
        yield running.url


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with launch_chromium() as browser:
        yield browser


@dataclass
class Themed:
    """One theme's rendered page and what was measured on it before any interaction."""

    theme: str
    page: Page
    contrast: dict[str, Any]
    sizes: dict[str, Any]


@pytest.fixture(scope="module", params=THEMES)
def themed(request: pytest.FixtureRequest, server: str, chromium: Browser) -> Iterator[Themed]:
    """The notebook rendered in ``theme``, measured, and saved as ``build/widgets-theme-{theme}.png``."""
    from playwright.sync_api import Route

    theme: str = request.param
    local = urllib.parse.urlsplit(server).netloc
    blocked: list[str] = []

    def route(r: Route) -> None:
        if urllib.parse.urlsplit(r.request.url).netloc == local:
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    context = chromium.new_context(viewport=VIEWPORT)  # type: ignore[arg-type]
    try:
        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(f"{server}?theme={theme}")
        page.wait_for_selector(".behest-browser .behest-timeline .behest-msg")
        page.wait_for_selector(".behest-tools img.behest-tool-chart")
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('img.behest-usage-chart, img.behest-tool-chart'))"
            ".filter(i => i.complete && i.naturalWidth > 0).length === 2"
        )
        contrast = page.evaluate(MEASURE_JS, [list(t) for t in TEXTS])
        sizes = page.evaluate(SIZES_JS)
        BUILD.mkdir(exist_ok=True)
        # the timeline scrolled to the compaction pair, so the screenshot shows it
        page.evaluate(
            """() => { const body = document.querySelector('.behest-browser .behest-timeline-body');
                       const first = body.querySelector('.behest-compaction');
                       body.scrollTop += first.getBoundingClientRect().top - body.getBoundingClientRect().top - 80; }"""
        )
        # Voila scrolls an inner element, not the document: a viewport as tall as the widgets shows all of them
        tall = page.evaluate("() => document.querySelector('.behest-tools').getBoundingClientRect().bottom")
        page.set_viewport_size({"width": VIEWPORT["width"], "height": int(tall) + 40})
        page.screenshot(path=str(BUILD / f"widgets-theme-{theme}.png"))
        page.set_viewport_size(VIEWPORT)  # type: ignore[arg-type]
        print(f"\n{theme}: contrast {json.dumps({k: round(v['worst']['ratio'], 2) for k, v in contrast.items()})}")
        print(f"{theme}: heights {sizes['browser']:.0f} / {sizes['dashboard']:.0f} / {sizes['tools']:.0f} px")
        print(f"{theme}: blocked requests {blocked}")
        yield Themed(theme, page, contrast, sizes)
    finally:
        context.close()


def test_the_theme_is_applied(themed: Themed) -> None:
    # the page really is in the theme asked for: its background is dark only in the dark theme
    background = themed.page.evaluate(
        "() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0').trim()"
    )
    assert background == ("#111" if themed.theme == "dark" else "white")


def test_text_is_readable(themed: Themed) -> None:
    failures = []
    for name, _selector in TEXTS:
        measured = themed.contrast[name]
        assert measured["count"] > 0, f"{themed.theme}: nothing matched for {name}"
        if measured["worst"]["ratio"] < MIN_CONTRAST:
            failures.append((name, measured["worst"]))
    assert failures == [], f"{themed.theme}: contrast below {MIN_CONTRAST}: {failures}"


def test_widgets_stay_bounded(themed: Themed) -> None:
    sizes = themed.sizes
    for widget in ("browser", "dashboard", "tools"):
        assert 100 < sizes[widget] < MAX_WIDGET_HEIGHT, (themed.theme, widget, sizes[widget])
    # the long session's first timeline page does not fit: its box scrolls instead of growing
    timeline = sizes["timeline"]
    assert timeline["scroll"] > 2 * timeline["client"], timeline
    assert timeline["client"] <= 0.7 * VIEWPORT["height"] + 2, timeline


def test_each_tool_result_appears_once_and_its_link_shows_it(themed: Themed) -> None:
    text: str = themed.sizes["text"]
    shown = [f"{RESULT_MARK}{t:03d}" for t in range(TURNS) if f"{RESULT_MARK}{t:03d}" in text]
    assert len(shown) >= 10
    for mark in shown:
        assert text.count(mark) == 1, mark
    # follow a call's link further down: its result message scrolls into the timeline's view
    page = themed.page
    link = page.locator(".behest-browser .behest-result-link a").nth(8)
    target = str(link.get_attribute("href")).removeprefix("#")
    link.click()
    page.wait_for_function(
        """(id) => { const body = document.querySelector('.behest-browser .behest-timeline-body');
                     const box = body.getBoundingClientRect();
                     const r = document.getElementById(id).getBoundingClientRect();
                     return r.top >= box.top - 1 && r.top < box.bottom; }""",
        arg=target,
    )
    assert RESULT_MARK in str(page.locator(f"#{target}").text_content())


def test_long_text_opens_whole_and_its_block_scrolls(themed: Themed) -> None:
    page = themed.page
    more = page.locator(".behest-browser .behest-more").first
    preview = more.locator(".behest-preview")
    assert preview.is_visible()
    more.locator(".behest-toggle").click()
    block = more.locator("pre")
    block.wait_for(state="visible")
    assert not preview.is_visible()  # the text shows once: whole, without its preview above
    size = block.evaluate("e => ({client: e.clientHeight, scroll: e.scrollHeight})")
    assert size["scroll"] > size["client"] > 0
    assert size["client"] < 300, size


@pytest.mark.parametrize("page_style", ["", "body { background: #000; color: #eee; }"], ids=["plain", "dark-page"])
def test_fallback_colours_are_readable_without_jupyterlab(themed: Themed, page_style: str) -> None:
    # The browser's HTML (its <style> included) in a bare page that defines no --jp-* variable, as in a frontend
    # without JupyterLab's theme: the fallbacks, on a plain page and on a dark one.
    markup = themed.page.evaluate("() => document.querySelector('.behest-browser').outerHTML")
    page = themed.page.context.new_page()
    try:
        page.set_content(f"<html><head><style>{page_style}</style></head><body>{markup}</body></html>")
        assert page.evaluate("() => getComputedStyle(document.body).getPropertyValue('--jp-layout-color0')") == ""
        texts = [list(t) for t in TEXTS if t[1].startswith((".behest-browser", ".behest-table"))]
        measured = page.evaluate(MEASURE_JS, texts)
    finally:
        page.close()
    for name, _selector in texts:
        assert measured[name]["count"] > 0, name
        assert measured[name]["worst"]["ratio"] >= MIN_CONTRAST, (page_style, name, measured[name]["worst"])


def test_charts_are_crisp(themed: Themed) -> None:
    images = themed.sizes["images"]
    assert len(images) == 2
    for image in images:
        assert image["shown"] > 300, image
        assert image["natural"] >= 2 * image["shown"], image
