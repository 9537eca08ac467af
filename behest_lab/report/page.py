"""The page around a report: the HTML document, its Content-Security-Policy, the sanitizer, plots as images.

Two walls keep stored text from running in a report. The first is escaping: every section is built with
``behest_lab.html`` (stored text is escaped, markup is ``Markup``). The second is this module: the body is cleaned by
nh3 (the Ammonia sanitizer) with an allow-list of exactly the elements and attributes the report writes, and the page
carries a Content-Security-Policy (``CSP``) that allows no script, no frame, no request: only inline CSS and
``data:`` images. Even if a value slipped past the escaping, the browser would refuse to run it.
"""

from __future__ import annotations

import base64
import io
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nh3

from behest_lab.files import write_text_atomically
from behest_lab.html import Markup, esc, tag

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
    "frame-src 'none'; object-src 'none'; script-src 'none'"
)
"""The Content-Security-Policy of every report page: no script, no frame, no request; inline CSS and data: images."""

CSP_META = f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
"""``CSP`` as the ``<meta>`` tag written first in a page's ``<head>``."""

ALLOWED_TAGS = frozenset(
    {
        "a", "code", "dd", "details", "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2", "h3",
        "header", "img", "li", "main", "nav", "p", "section", "small", "span", "strong", "summary", "table", "tbody",
        "td", "tfoot", "th", "thead", "tr", "ul",
    }
)  # fmt: skip
"""The elements a report body may hold: those its sections write, nothing that runs or loads."""

ALLOWED_ATTRIBUTES = {
    "*": {"class", "id", "title"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
}
"""The attributes kept per element (``*``: every element); event handlers and ``style`` are never kept."""

PLOT_DPI = 100
"""CSS pixels per inch of a plot's figure size: the ``width``/``height`` a plot image is shown at (at most the page
width; SVG stays crisp at any size)."""

_RESOURCE = re.compile(
    r"""(?:\b(?:src|href|data|action|poster|srcset)\s*=\s*["']?\s*|url\(\s*["']?|@import\s+["']?)"""
    r"""((?:https?:)?//[^\s"'()<>]+)""",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Report:
    """A written report: where it is, how many plots it holds and how long it took."""

    path: Path
    images: int
    seconds: float


def external_references(html: str) -> list[str]:
    """The http(s) or protocol-relative URLs ``html`` loads or links to, in order of appearance.

    Found in ``src``, ``href``, ``url(...)``, ``@import``...
    """
    return [m.group(1) for m in _RESOURCE.finditer(html)]


def _keep_url(element: str, attribute: str, value: str) -> str | None:
    """nh3's attribute filter.

    An ``<img src>`` only as a ``data:image/`` URI, an ``<a href>`` only as a same-page ``#anchor``; other allowed
    attributes pass.
    """
    if attribute == "src":
        return value if value.strip().lower().startswith("data:image/") else None
    if attribute == "href":
        return value if value.startswith("#") else None
    return value


def sanitize(body: str) -> str:
    """``body`` cleaned by nh3 with the report's allow-list.

    Other elements are dropped with their content when they run or embed something (script, style, iframe ...), else
    unwrapped to their text; event handlers, ``style`` attributes, image sources other than ``data:image/`` and links
    other than same-page ``#anchors`` are removed.
    """
    return nh3.clean(
        body,
        tags=set(ALLOWED_TAGS),
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=_keep_url,
        url_schemes={"data"},
        strip_comments=True,
        link_rel=None,
    )


def document(title: str, body: Markup, css: str) -> str:
    """The whole page.

    ``<head>`` with the CSP first, the escaped ``title`` and the report's own ``css`` (a fixed string of the package,
    never data), then ``body`` sanitized.
    """
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en">\n<head>\n<meta charset="utf-8">\n{CSP_META}\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{esc(title)}</title>\n<style>{css}</style>\n</head>\n"
        f"<body>\n{sanitize(body)}\n</body>\n</html>\n"
    )


def figure_of(plotted: Any) -> Any:
    """The matplotlib ``Figure`` a plot function drew on, from the Axes (or object with ``.figure``) it returned."""
    get_figure = getattr(plotted, "get_figure", None)
    if callable(get_figure):
        try:
            return get_figure(root=True)
        except TypeError:  # an object whose get_figure takes no arguments
            return get_figure()
    return plotted.figure


def svg_image(plotted: Any, alt: str) -> Markup:
    """The figure of ``plotted`` as an ``<img>`` holding an SVG ``data:`` URI, with ``alt`` text.

    Crisp at any zoom; text is drawn as paths, so the picture holds no markup of its own.
    """
    figure = figure_of(plotted)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    uri = "data:image/svg+xml;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    width, height = (round(float(v) * PLOT_DPI) for v in figure.get_size_inches())
    return tag("img", src=uri, alt=alt, width=width, height=height, class_="plot")


def write_atomically(path: str | os.PathLike[str], html: str) -> Path:
    """Write ``html`` to ``path`` through a temporary file in the same folder.

    Parents are created; an existing file is replaced only once the new one is complete; the temporary file is
    created exclusively (see ``behest_lab.files``).
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return write_text_atomically(target, html)
