"""Reports of a store as one self-contained HTML page.

``write(store, "report.html")`` (and ``behest-lab report --store DIR --out FILE``) builds the page directly in
Python from ``behest_lab.analytics`` and ``behest_lab.plots``: store contents, cost by model and by day, tokens,
slow and failing tools, compaction, the most expensive sessions. It needs only the core dependencies (no notebook,
no kernel), takes seconds, and shows no code and no absolute path (at most the store folder's name). Plots are SVG
``data:`` images; the page loads nothing.

Stored text is escaped through ``behest_lab.html``; the body is then sanitized with an allow-list and the page
carries a Content-Security-Policy that lets no script run (``behest_lab.report.page``).

``build_report(store_path, "build/report.html")`` is the tour: it executes ``notebooks/00_tour.ipynb`` against a
store folder and exports it (needs the ``notebook`` extra and a checkout; ``make demo`` uses it, see
``behest_lab.report.tour``).
"""

from __future__ import annotations

import os
import time
from datetime import UTC, date, datetime
from pathlib import Path

from behest_lab.errors import ConnectionFailedError, ReportError
from behest_lab.html import Markup, tag
from behest_lab.report import sections
from behest_lab.report.page import CSP, Report, document, external_references, write_atomically
from behest_lab.report.tour import (
    DEFAULT_OUTPUT,
    DEFAULT_TIMEOUT,
    PNG_IMAGE,
    STORE_ENV,
    TOUR_NOTEBOOK,
    build_report,
    execute_notebook,
    to_html,
)
from behest_lab.stores.protocols import Store

__all__ = [
    "CSP",
    "DEFAULT_OUTPUT",
    "DEFAULT_TIMEOUT",
    "PNG_IMAGE",
    "STORE_ENV",
    "TOUR_NOTEBOOK",
    "Report",
    "ReportError",
    "build_report",
    "execute_notebook",
    "external_references",
    "parse_bound",
    "render",
    "to_html",
    "write",
]

Bound = datetime | date | str | None
"""A ``since``/``until`` bound: an aware datetime, a date (midnight UTC), an ISO 8601 string (UTC unless it names
an offset) or ``None``."""

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1b1f24; background: #fff;
  margin: 0 auto; max-width: 1180px; padding: 16px 24px 48px; }
header h1 { font-size: 26px; margin: 8px 0 4px; overflow-wrap: anywhere; }
header p { margin: 2px 0; color: #4a5360; }
nav ul { list-style: none; padding: 0; margin: 12px 0 0; display: flex; flex-wrap: wrap; gap: 4px 18px; }
nav a { color: #0b5cad; text-decoration: none; }
section { border-top: 1px solid #d8dde3; margin-top: 24px; }
h2 { font-size: 20px; margin: 16px 0 8px; }
h3 { font-size: 15px; margin: 16px 0 6px; }
.behest-table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; max-width: 100%; }
.behest-table th, .behest-table td { border: 1px solid #d8dde3; padding: 3px 7px; text-align: left;
  vertical-align: top; overflow-wrap: anywhere; max-width: 420px; }
.behest-table th { background: #f3f5f7; }
.behest-table td:not(.num) { min-width: 8em; }
div.wide { overflow-x: auto; }
.behest-table tfoot td { font-weight: 600; background: #f8f9fa; }
.behest-table .num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
.behest-table code.id { font-size: 11px; color: #4a5360; white-space: nowrap; }
.nowrap { white-space: nowrap; }
ul.errors { margin: 0; padding-left: 16px; }
figure { margin: 12px 0; }
img.plot { max-width: 100%; height: auto; display: block; }
figcaption { color: #4a5360; font-size: 12px; }
details { margin: 8px 0; }
summary { cursor: pointer; color: #0b5cad; }
footer { margin-top: 32px; color: #6a737d; font-size: 12px; }
"""
"""The report's CSS: a fixed string of the package, never data."""


def parse_bound(value: Bound, argument: str) -> datetime | None:
    """``value`` as an aware UTC datetime: a date is its midnight UTC, an ISO string without an offset is UTC.

    Raises:
        ValueError: an unparseable string, or a naive ``datetime`` object (ambiguous; give ``tzinfo``).
    """
    if value is None:
        return None
    if isinstance(value, str):
        text = value.strip()
        try:
            if "T" in text or ":" in text or " " in text:
                parsed = datetime.fromisoformat(text)
                return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)
            day = date.fromisoformat(text)
        except ValueError:
            raise ValueError(f"{argument}: {value!r} is not an ISO 8601 date or datetime") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{argument}: naive datetime {value!r}; give a timezone (e.g. tzinfo=UTC)")
        return value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"{argument}: expected a datetime, date or ISO string, got {value!r}")


def render(
    store: Store,
    *,
    title: str | None = None,
    since: Bound = None,
    until: Bound = None,
    store_name: str | None = None,
) -> tuple[str, int]:
    """The report page of ``store`` as HTML text and the number of plots in it (see ``write``)."""
    span = sections.Range(parse_bound(since, "since"), parse_bound(until, "until"))
    if span.since is not None and span.until is not None and span.since >= span.until:
        raise ValueError(f"since ({span.since:%Y-%m-%d %H:%M}) must be before until ({span.until:%Y-%m-%d %H:%M})")
    frames = sections.read(store, span)
    parts = sections.body(frames)
    heading = title if title else "behest_lab report" + (f": {store_name}" if store_name else "")
    facts: list[Markup] = [tag("p", "Time range: ", tag("strong", span.describe()), ".")]
    if store_name:
        facts.append(tag("p", "Store folder: ", tag("code", store_name)))
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    facts.append(tag("p", f"Generated {generated} by behest_lab from the store's analytics."))
    header = tag("header", tag("h1", heading), *facts, sections.navigation())
    footer = tag(
        "footer",
        "Every number comes from behest_lab.analytics; every picture from behest_lab.plots. Stored text is shown as "
        "text: it is escaped, the page is sanitized and its Content-Security-Policy lets no script run.",
    )
    page = document(heading, tag("main", header, *parts, footer), STYLE)
    return page, len(frames.images)


def _open_folder(folder: Path) -> Store:
    from behest_lab import open_store

    if not folder.is_dir():
        raise ReportError(f"store folder {folder.name or str(folder)!r} does not exist")
    try:
        return open_store(folder, create=False)
    except ConnectionFailedError as exc:
        raise ReportError(f"folder {folder.name or str(folder)!r} holds no behest_lab store ({exc})") from None


def write(
    store: Store | str | os.PathLike[str],
    path: str | os.PathLike[str],
    *,
    title: str | None = None,
    since: Bound = None,
    until: Bound = None,
    store_name: str | None = None,
) -> Report:
    """Write the report of ``store`` to ``path`` as one self-contained HTML page.

    Parents are created; an existing file is replaced once the new page is complete.

    Args:
        store: an open ``Store``, or the folder of a persistent store (opened for this call; never created).
        path: the ``.html`` file to write.
        title: the page's heading; default ``"behest_lab report"`` plus the store folder's name.
        since: only sessions, model calls, tool executions and compactions created at or after this time.
        until: ... and before this time (exclusive).
        store_name: the name shown for the store (default: the folder's name when ``store`` is a folder, else
            none). Absolute paths are never shown.

    Returns:
        The ``Report``: its path, the number of plots and the seconds it took.

    Raises:
        ReportError: ``store`` is a folder that does not exist or holds no store.
        ValueError: ``since``/``until`` do not parse, are naive datetimes, or ``since`` is not before ``until``.
    """
    started = time.perf_counter()
    if isinstance(store, Store):
        page, images = render(store, title=title, since=since, until=until, store_name=store_name)
    else:
        folder = Path(store)
        with _open_folder(folder) as opened:
            name = store_name if store_name is not None else folder.resolve().name
            page, images = render(opened, title=title, since=since, until=until, store_name=name)
    target = write_atomically(path, page)
    return Report(path=target, images=images, seconds=time.perf_counter() - started)
