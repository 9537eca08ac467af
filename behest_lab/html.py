"""HTML building blocks that escape stored text: the one place where behest_lab turns data into markup.

Every HTML surface (the widgets, ``behest-lab report``, the tour notebook's Markdown) builds its markup here, so a
session title, model, provider, metadata key or value, message text, tool name, argument, result or error can never
become markup: it is escaped with ``esc`` (``html.escape(..., quote=True)``: safe in element bodies and in quoted
attributes). Markup built by this module is a ``Markup`` string; ``tag`` and ``table`` pass ``Markup`` through and
escape every other value, so composing pieces never escapes twice and never forgets to escape.

Links are emitted only for ``http``/``https`` URLs and ``data:image/...`` URIs (``safe_url``); anything else, such
as ``javascript:``, is shown as escaped text. ``esc_markdown`` also neutralises the characters Markdown and math
renderers act on, for text that goes through a Markdown renderer (the tour notebook's ``say``). Stored text drawn
into a plot needs nothing here: the plot functions draw every text literally (``behest_lab.plots.literal_text``).

Example:
    >>> from behest_lab.html import esc, tag
    >>> esc('<img src=x onerror="alert(1)">')
    '&lt;img src=x onerror=&quot;alert(1)&quot;&gt;'
    >>> str(tag("td", "a < b", class_="num"))
    '<td class="num">a &lt; b</td>'
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

__all__ = [
    "Markup",
    "esc",
    "esc_markdown",
    "join",
    "link",
    "money",
    "number",
    "render",
    "safe_url",
    "table",
    "tag",
    "text",
]

_SAFE_SCHEMES = ("http://", "https://")
_DATA_IMAGE = "data:image/"
_LINK_TEXT_LIMIT = 80
_NAME = re.compile(r"^[a-z][a-z0-9-]*$")
# Characters Markdown (CommonMark, GFM tables and strikethrough), HTML and MathJax act on; written as numeric
# character references they are plain text to every Markdown renderer.
_MARKDOWN_SPECIAL = re.compile(r"[\\`*_{}\[\]()#+\-.!|~<>&\"'$:=]")
_URL_ATTRIBUTES = frozenset({"href", "src"})
_VOID = frozenset({"area", "br", "col", "hr", "img", "input", "meta", "wbr"})


class Markup(str):
    """A string of HTML built by this module (or by code that escaped every stored value through it).

    ``render``, ``tag``, ``join`` and ``table`` pass it through unchanged and escape every other value.
    """

    __slots__ = ()


def esc(value: Any) -> str:
    """``value`` as text, HTML-escaped with quotes; ``None`` is the empty string.

    The result is safe inside element bodies and quoted attributes.
    """
    return html.escape("" if value is None else str(value), quote=True)


def esc_markdown(value: Any) -> str:
    """``value`` as literal text inside Markdown.

    The text is HTML-escaped, and every character Markdown, raw HTML or math would act on (``*``, ``_``, backticks,
    brackets, ``$``, ``|`` ...) is written as a numeric character reference, so the rendered page shows exactly the
    stored characters. Newlines become spaces (one paragraph).
    """
    flat = " ".join(("" if value is None else str(value)).split())
    return _MARKDOWN_SPECIAL.sub(lambda m: f"&#{ord(m.group(0))};", flat)


def render(value: Any) -> Markup:
    """``value`` as markup: a ``Markup`` unchanged, anything else formatted by ``text`` and escaped."""
    if isinstance(value, Markup):
        return value
    return Markup(esc(text(value)))


def join(parts: Iterable[Any], separator: str = "") -> Markup:
    """The ``render`` of each part, joined; ``separator`` is fixed markup written by the caller, not data."""
    return Markup(separator.join(render(p) for p in parts))


def safe_url(url: str) -> bool:
    """Whether ``url`` may become an ``href``: ``http``/``https`` or a ``data:image/`` URI (case-insensitive)."""
    lowered = url.strip().lower()
    return lowered.startswith(_SAFE_SCHEMES) or lowered.startswith(_DATA_IMAGE)


def link(url: str, text: str | None = None) -> str:
    """An ``<a href>`` for a safe URL (escaped, opening in a new tab), else the URL as escaped text."""
    label = text if text is not None else url
    if len(label) > _LINK_TEXT_LIMIT:
        label = label[: _LINK_TEXT_LIMIT - 1] + "…"
    if not safe_url(url):
        return f'<span class="behest-unsafe-url">{esc(label)}</span>'
    return f'<a href="{esc(url.strip())}" target="_blank" rel="noopener noreferrer">{esc(label)}</a>'


def tag(name: str, *children: Any, **attributes: Any) -> Markup:
    """One element: ``<name attr="...">children</name>``.

    Children are ``render``-ed (``Markup`` passes, everything else is escaped). Attribute names are Python
    keywords with a trailing ``_`` dropped and ``_`` written as ``-`` (``class_="x"``, ``aria_label="y"``); values
    are escaped, ``None`` or ``False`` leaves the attribute out and ``True`` writes it bare. An ``href`` or ``src``
    that ``safe_url`` refuses (and that is not a same-page ``#anchor``) is left out. Void elements (``img``, ``br``
    ...) are written without an end tag.

    Raises:
        ValueError: ``name`` or an attribute name is not a plain lower-case HTML name (they are never data), or a
            void element was given children.
    """
    if not _NAME.match(name):
        raise ValueError(f"tag: {name!r} is not an HTML element name")
    parts = [name]
    for key, value in attributes.items():
        attr = key.rstrip("_").replace("_", "-")
        if not _NAME.match(attr):
            raise ValueError(f"tag: {key!r} is not an HTML attribute name")
        if value is None or value is False:
            continue
        if value is True:
            parts.append(attr)
            continue
        if attr in _URL_ATTRIBUTES and not (str(value).startswith("#") or safe_url(str(value))):
            continue
        parts.append(f'{attr}="{esc(value)}"')
    if name in _VOID:
        if children:
            raise ValueError(f"tag: <{name}> is a void element and takes no children")
        return Markup(f"<{' '.join(parts)}>")
    inner = "".join(render(c) for c in children)
    return Markup(f"<{' '.join(parts)}>{inner}</{name}>")


def money(value: Decimal | float | int | None, places: int = 2) -> str:
    """USD with thousands separators (``$1,234.57``), from an exact ``Decimal`` or a float.

    ``n/a`` for null or NaN (no price). Amounts below one cent but above zero keep four decimals (``$0.0042``) so
    they do not read as free.
    """
    if value is None:
        return "n/a"
    if isinstance(value, float) and math.isnan(value):
        return "n/a"
    amount = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    if amount != 0 and abs(amount) < Decimal("0.01"):
        places = max(places, 4)
    return f"${amount:,.{places}f}"


def number(value: int | float | Decimal | None, places: int = 1) -> str:
    """An integer with thousands separators, a float with ``places`` decimals, or an empty string for null."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float | Decimal):
        if isinstance(value, float) and math.isnan(value):
            return ""
        return f"{value:,.{places}f}"
    return f"{value:,}"


def text(value: Any) -> str:
    """A cell value as display text (not escaped).

    Numbers get separators, timestamps are shown to the second (UTC as stored), lists comma-separated, ``None``
    empty; a ``Decimal`` is formatted as ``money``.
    """
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return ", ".join("" if v is None else str(v) for v in value)
    return str(value)


def table(
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    numeric: Iterable[int] = (),
    footer: Sequence[Any] | None = None,
    css: str = "behest-table",
) -> Markup:
    """An HTML table: escaped headers, each cell ``render``-ed (pre-format money and the like with ``money``).

    Args:
        columns: the header texts.
        rows: one sequence of cell values per row.
        numeric: indexes of the columns to right-align (class ``num``).
        footer: an optional totals row, rendered like the others in a ``<tfoot>``.
        css: the table's class.
    """
    right = set(numeric)

    def row(cells: Sequence[Any], cell: str) -> Markup:
        return tag("tr", *(tag(cell, v, class_="num" if i in right else None) for i, v in enumerate(cells)))

    head = tag("thead", row(columns, "th"))
    body = tag("tbody", *(row(r, "td") for r in rows))
    foot = tag("tfoot", row(footer, "td")) if footer is not None else Markup("")
    return tag("table", head, body, foot, class_=css)
