"""The reports in a real browser: a store whose every text field holds hostile markup, rendered by Chromium.

``tests.hostile.hostile_store`` writes sessions whose title, model, metadata keys and values, message texts,
tool names, arguments, results and errors, usage provider and model hold ``<script>``, ``<img onerror>``,
``javascript:`` links, ``</style><style>body{display:none}</style>`` and ``<iframe srcdoc>``; each would set
``window.__pwned``. The direct report (``behest_lab.report.write``) and the tour (``build_report``, the notebook
executed in a kernel) are written from that store and opened in Debian's Chromium through Playwright, every request
but the page itself refused.

Checked for both pages: no handler ran (``window.__pwned`` stays unset), the page holds no script, frame or object,
the body and the key headings are visible, and the hostile text shows as literal text. The canary: the same markup
put into the page raw does run and does hide the page (so these checks can fail), and the Content-Security-Policy
alone stops it from running. Screenshots go to ``build/report-browser.png`` and ``build/report-tour-browser.png``.

Without Chromium or Playwright the tests are skipped with a reason saying how to enable them; on CI (``CI=true``) a
missing one fails them instead.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from behest_lab import open_store
from behest_lab.report import CSP, build_report, write
from behest_lab.report.page import CSP_META
from behest_lab.report.sections import SECTIONS
from tests.browser._chromium import chromium, require
from tests.hostile import PAYLOADS, hostile, hostile_store

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = {"direct": ROOT / "build" / "report-browser.png", "tour": ROOT / "build" / "report-tour-browser.png"}
HEADINGS = {
    "direct": [heading for _, heading in SECTIONS],
    "tour": ["A tour of behest_lab", "What is in the store", "Which tools are slow, which fail"],
}
TIMEOUT_MS = 60_000

# Executing the tour in a kernel and starting Chromium take several seconds.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def _requirements() -> None:
    require("report browser check", "playwright")


@dataclass(frozen=True)
class Pages:
    """The two reports of the hostile store, and the texts the direct report shows."""

    folder: Path
    direct: Path
    tour: Path
    shown: list[str]


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> Pages:
    root = tmp_path_factory.mktemp("hostile-report")
    folder = root / "hostile"
    with open_store(folder) as store:
        shown = hostile_store(store)
    direct = write(folder, root / "direct.html", title=hostile("report title")).path
    tour = build_report(folder, root / "tour.html").path
    return Pages(folder=folder, direct=direct, tour=tour, shown=[*shown, hostile("report title")])


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


@dataclass
class Opened:
    page: Page
    requests: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser: Browser) -> Iterator[Callable[[Path], Opened]]:
    """``open_page(path)``: a new tab showing ``path``; every request other than the file itself is aborted."""
    from playwright.sync_api import Route

    contexts = []

    def opener(path: Path) -> Opened:
        context = browser.new_context(viewport={"width": 1280, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        opened = Opened(page)
        url = path.as_uri()

        def route(r: Route) -> None:
            if r.request.url == url:
                r.continue_()
            else:
                r.abort()

        context.route("**/*", route)
        page.on("request", lambda req: opened.requests.append(req.url))
        page.goto(url)
        page.wait_for_load_state("load")
        # an injected image's failed load, or a frame's script, would have fired by the time the network is idle
        page.wait_for_load_state("networkidle")
        return opened

    yield opener
    for context in contexts:
        context.close()


def _pwned(page: Page) -> str:
    result: str = page.evaluate("() => typeof window.__pwned === 'undefined' ? '' : String(window.__pwned)")
    return result


@pytest.mark.parametrize("kind", ["direct", "tour"])
def test_hostile_text_runs_nothing_and_shows_as_text(
    pages: Pages, open_page: Callable[[Path], Opened], kind: str
) -> None:
    path = getattr(pages, kind)
    opened = open_page(path)
    page: Page = opened.page
    assert _pwned(page) == ""
    assert page.locator("script, iframe, frame, object, embed").count() == 0
    assert len(page.frames) == 1
    # the page stays visible: body and key headings (a raw </style><style> would have hidden them)
    assert page.locator("body").is_visible()
    assert page.evaluate("() => getComputedStyle(document.body).display") != "none"
    for heading in HEADINGS[kind]:
        assert page.get_by_role("heading", name=heading, exact=True).first.is_visible(), heading
    # the hostile text is on screen as literal text
    text = page.inner_text("body")
    expected = pages.shown if kind == "direct" else [hostile("tool"), hostile("title"), hostile("tool error")]
    for value in expected:
        assert value in text, value[:40]
    # nothing but the page itself was requested (plots are data: URIs)
    assert [u for u in opened.requests if not u.startswith("data:")] == [path.as_uri()]
    shot = SCREENSHOTS[kind]
    shot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 50_000


def _with_raw_markup(page_html: str, *, csp: bool) -> str:
    """The page with every payload inserted raw after ``<main>`` (and the CSP removed unless ``csp``)."""
    raw = page_html.replace("<main>", "<main>" + "".join(PAYLOADS), 1)
    assert raw != page_html
    return raw if csp else raw.replace(CSP_META, "", 1)


def test_canary_raw_markup_would_run_and_hide_the_page(
    pages: Pages, open_page: Callable[[Path], Opened], tmp_path: Path
) -> None:
    """The checks above can fail: without escaping and without the CSP, the same payloads run and hide the page."""
    raw = tmp_path / "raw.html"
    raw.write_text(_with_raw_markup(pages.direct.read_text(encoding="utf-8"), csp=False), encoding="utf-8")
    page: Page = open_page(raw).page
    page.wait_for_function("() => window.__pwned !== undefined")
    assert _pwned(page) in {"script", "img", "iframe"}
    assert not page.locator("body").is_visible()


def test_the_csp_alone_stops_raw_markup_from_running(
    pages: Pages, open_page: Callable[[Path], Opened], tmp_path: Path
) -> None:
    """The second wall: the same raw payloads in a page that keeps the report's Content-Security-Policy run
    nothing (the script, the handler and the frame's script are all refused)."""
    raw = tmp_path / "raw-csp.html"
    raw.write_text(_with_raw_markup(pages.direct.read_text(encoding="utf-8"), csp=True), encoding="utf-8")
    assert CSP in raw.read_text(encoding="utf-8")
    page: Page = open_page(raw).page
    assert page.locator("script").count() >= 1  # the markup is there ...
    assert _pwned(page) == ""  # ... and did not run
