"""HTML building blocks for the widgets: escaping, safe links, money and token formatting, tables.

Every piece of store data that reaches an HTML value goes through ``esc``, so message text, titles, tool names,
metadata and errors can never inject markup. ``esc``, ``safe_url`` and ``link`` live in ``behest_lab.html`` (the one
escaping place of every HTML surface) and are re-exported here. Long texts and table cells show a preview and open
the rest from a ``<details>`` (``long_text``, ``table``), up to ``TEXT_LIMIT`` characters of any one text. The CSS
is in ``behest_lab.widgets._style``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from behest_lab.analytics import SHOWN_CHARS
from behest_lab.html import esc as esc  # re-exported for the widgets
from behest_lab.html import link as link  # re-exported for the widgets
from behest_lab.html import safe_url as safe_url  # re-exported for the widgets

TEXT_PREVIEW = 1_500
"""Characters of a message text, JSON value or tool result shown before it is opened whole."""

TEXT_LIMIT = SHOWN_CHARS
"""Characters of one text an HTML value holds at most (a longer text says how much is left out); as many as a
timeline page reads (``analytics.SHOWN_CHARS``)."""

CELL_PREVIEW = 160
"""Characters of a table cell shown before its ``<details>`` opens the whole."""


def money(value: Decimal | float | None) -> str:
    """USD with 4 decimals (``$0.0123``), or ``n/a`` when unpriced (null, or a float NaN).

    Takes an exact Decimal or a float (as the analytics frames carry it).
    """
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return f"${value:,.4f}"


def number(value: int | float | None) -> str:
    """An integer with thousands separators, a float with 1 decimal, or an empty string for null."""
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def when(value: datetime | date | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` (UTC as stored) or the ISO date; empty for null."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return value.isoformat()


def json_text(value: Any, limit: int | None = 400) -> str:
    """Compact JSON text of ``value``, cut to ``limit`` characters (None: whole); not escaped.

    A JSON string is parsed first.
    """
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            text = str(value)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if limit is None or len(text) <= limit else text[: limit - 1] + "…"


def cell_text(value: Any) -> str:
    """One table cell's text, not escaped: money for Decimals, separators for numbers, timestamps trimmed."""
    if isinstance(value, Decimal):
        return money(value)
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        return number(value)
    if isinstance(value, datetime | date):
        return when(value)
    if isinstance(value, list | tuple):
        return ", ".join("" if v is None else str(v) for v in value)
    return "" if value is None else str(value)


def cell(value: Any) -> str:
    """One table cell's escaped text (``cell_text``, escaped)."""
    return esc(cell_text(value))


def _more(preview: str, whole: str, length: int, hint: str = "") -> str:
    """A ``<details>`` showing ``preview`` (HTML) and a toggle that opens ``whole`` (HTML).

    ``whole`` is a text of ``length`` characters; the preview hides while it is open (``behest_lab.widgets._style``),
    so the text shows once. A text longer than ``TEXT_LIMIT`` ends with a ``behest-cut`` note saying how many
    characters are left out, followed by ``hint`` (HTML: where to read the whole).
    """
    left_out = length - TEXT_LIMIT
    note = (
        f'<div class="behest-meta behest-cut">truncated: {number(left_out)} more characters not shown (cut at '
        f"{number(TEXT_LIMIT)} of {number(length)}){hint}</div>"
        if left_out > 0
        else ""
    )
    return (
        f'<details class="behest-more"><summary><span class="behest-preview">{preview}…</span>'
        f'<span class="behest-toggle">whole text ({number(length)} characters)</span></summary>'
        f"{whole}{note}</details>"
    )


def long_text(text: str, css: str = "", length: int | None = None, hint: str = "") -> str:
    """``text`` escaped in a ``<pre>``.

    A text longer than ``TEXT_PREVIEW`` characters shows its beginning and opens whole (up to ``TEXT_LIMIT`` characters;
    a longer one says how many are left out, then ``hint``) from a ``<details>``. The HTML holds at most ``TEXT_PREVIEW
    + TEXT_LIMIT`` characters of any text, however long it is.

    ``length`` is the whole text's length when ``text`` is only its beginning (read cut, see
    ``behest_lab.widgets._session.SHOWN_CHARS``); ``hint`` is HTML shown after the cut note (never data).
    """
    cls = f' class="{esc(css)}"' if css else ""
    whole = len(text) if length is None else max(length, len(text))
    if whole <= TEXT_PREVIEW:
        return f"<pre{cls}>{esc(text)}</pre>"
    body = f"<pre{cls}>{esc(text[:TEXT_LIMIT])}</pre>"
    return _more(esc(text[:TEXT_PREVIEW]), body, whole, hint)


def _cell_html(value: Any) -> str:
    """A cell's content.

    ``cell``, or for a long value its first ``CELL_PREVIEW`` characters with the whole (up to ``TEXT_LIMIT``) in a
    ``<details>``.
    """
    text = cell_text(value)
    if len(text) <= CELL_PREVIEW:
        return esc(text)
    return _more(esc(text[:CELL_PREVIEW]), f'<div class="behest-whole">{esc(text[:TEXT_LIMIT])}</div>', len(text))


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "behest-table") -> str:
    """An HTML table with escaped headers and cells.

    ``cell`` formats each value; long cells open from a ``<details>``. The table is in a ``behest-table-box`` that
    scrolls beyond ``TABLE_MAX_HEIGHT`` with its header in view.
    """
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{_cell_html(v)}</td>" for v in row) + "</tr>" for row in rows)
    return (
        f'<div class="behest-table-box"><table class="{esc(css)}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )
