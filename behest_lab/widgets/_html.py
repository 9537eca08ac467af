"""HTML building blocks for the widgets: escaping, safe links, money and token formatting, tables.

Every piece of store data that reaches an HTML value goes through ``esc``, so message text, titles, tool names,
metadata and errors can never inject markup. ``esc``, ``safe_url`` and ``link`` live in ``behest_lab.html`` (the one
escaping place of every HTML surface) and are re-exported here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from behest_lab.html import esc as esc  # re-exported for the widgets
from behest_lab.html import link as link  # re-exported for the widgets
from behest_lab.html import safe_url as safe_url  # re-exported for the widgets


def money(value: Decimal | float | None) -> str:
    """USD with 4 decimals (``$0.0123``), or ``n/a`` when unpriced (null)."""
    if value is None:
        return "n/a"
    return f"${Decimal(value):,.4f}"


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


def json_text(value: Any, limit: int = 400) -> str:
    """Compact JSON text of ``value`` (a JSON string is parsed first), cut to ``limit`` characters; not escaped."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            text = str(value)
        else:
            text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def cell(value: Any) -> str:
    """One table cell's escaped text: money for Decimals, separators for numbers, timestamps trimmed."""
    if isinstance(value, Decimal):
        return esc(money(value))
    if isinstance(value, bool):
        return esc(value)
    if isinstance(value, int | float):
        return esc(number(value))
    if isinstance(value, datetime | date):
        return esc(when(value))
    if isinstance(value, list | tuple):
        return esc(", ".join("" if v is None else str(v) for v in value))
    return esc(value)


def table(columns: Sequence[str], rows: Iterable[Sequence[Any]], css: str = "behest-table") -> str:
    """An HTML table with escaped headers and cells (``cell`` formats each value)."""
    head = "".join(f"<th>{esc(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td>{cell(v)}</td>" for v in row) + "</tr>" for row in rows)
    return f'<table class="{esc(css)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


STYLE = """<style>
.behest-table { border-collapse: collapse; font-size: 12px; }
.behest-table th, .behest-table td { border: 1px solid #ddd; padding: 2px 6px; text-align: left; }
.behest-msg { border-left: 4px solid #bbb; margin: 4px 0; padding: 2px 8px; font-size: 12px; }
.behest-role-user { border-color: #1f77b4; }
.behest-role-assistant { border-color: #2ca02c; }
.behest-role-tool { border-color: #ff7f0e; }
.behest-role-system { border-color: #7f7f7f; }
.behest-msg pre { white-space: pre-wrap; margin: 2px 0; }
.behest-compaction { background: #fff8e1; }
.behest-failed { color: #b00020; }
.behest-meta { color: #555; }
</style>"""
"""CSS for the widgets' HTML values (class names only; no scripts)."""
