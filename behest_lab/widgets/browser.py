"""``SessionBrowser``: a paged, sortable, filterable session list and the selected session's message timeline."""

from __future__ import annotations

import contextlib
import math
from datetime import date
from typing import Any
from uuid import UUID, uuid4

import duckdb
import ipywidgets as w

from behest_lab.analytics import SORTS, SessionList, SessionQuery, SessionView, executions_by_call
from behest_lab.errors import BehestLabError, NotFoundError
from behest_lab.records import Session
from behest_lab.stores.protocols import Store
from behest_lab.widgets._html import esc, money, number, when
from behest_lab.widgets._style import STYLE
from behest_lab.widgets._timeline import message_costs, stats_html, timeline_html

PAGE_SIZES = (10, 25, 50, 100)
"""Choices of the session list's page size."""

TIMELINE_PAGE = 50
"""Messages per timeline page."""

_ALL = "(all models)"


def _label(row: dict[str, Any]) -> str:
    """A list entry (plain text: the Select widget shows option labels as text, never as HTML)."""
    title = str(row["title"] or "")
    title = title if len(title) <= 48 else title[:47] + "…"
    return (
        f"{when(row['updated_at'])} · {title} · {row['model']} · {money(row['cost'])} · "
        f"{number(row['tokens'])} tok · {row['failures']} failed"
    )


class SessionBrowser(w.VBox):  # type: ignore[misc]
    """Browse a store's sessions: filters, sort, paging; the selected session's stats and timeline.

    Every control writes into widget traits (``HTML.value``, ``Select.options``), so the widget works the same
    in a notebook and in plain Python (tests set a control's ``value`` or call ``.click()`` on a button).

    Controls: ``since``/``until`` (``DatePicker``, inclusive UTC days of ``created_at``), ``model`` (Dropdown),
    ``metadata_key``/``metadata_value`` (Text; see ``SessionQuery``), ``search`` (Text; title or message text),
    ``sort`` (Dropdown of ``SORTS``), ``page_size`` (Dropdown), ``prev_button``/``next_button`` and
    ``page_label`` ("page i of n"). ``session_list`` is a ``Select`` (class ``behest-session-list``) whose
    options are ``(label, session_id)`` pairs. The selected session fills ``stats`` (HTML, class
    ``behest-session-stats``) and ``timeline`` (HTML, class ``behest-timeline``; one
    ``<div class="behest-msg behest-role-{role}">`` per message in a ``behest-timeline-body`` that scrolls beyond
    ``TIMELINE_MAX_HEIGHT``), paged by ``timeline_prev``/``timeline_next``. A tool result shows once: in its own
    message, which the call links to (or beside the call when its message is on a later page); texts longer than
    ``TEXT_PREVIEW`` characters show the rest from a ``<details>`` (see ``behest_lab.widgets._html.long_text``), up
    to ``TEXT_LIMIT`` characters: a longer text is read cut to that in SQL and ends with a "truncated: N more
    characters" note; ``message_text(message_id)`` returns the whole text (or a piece of it).

    Only one page of sessions and one page of messages is read at a time; filters, order and paging run in
    SQL over a per-session snapshot table that opening the widget builds in DuckDB (see
    ``behest_lab.analytics.SessionList``); ``refresh()`` takes a new snapshot after the store changed.
    The selected session is read live when selected; its rows then stay pinned for the timeline pages (see
    ``behest_lab.analytics.SessionView`` and ``Store.session_scope``).

    Args:
        store: A memory or lake store.
        page_size: Sessions per page (one of ``PAGE_SIZES``).
    """

    def __init__(self, store: Store, *, page_size: int = 25, **kwargs: Any) -> None:
        """Create it (see the class docstring)."""
        if page_size not in PAGE_SIZES:
            raise ValueError(f"page_size: {page_size!r} is not one of {', '.join(map(str, PAGE_SIZES))}")
        self.store = store
        self.index = SessionList(store)
        self.page = 0
        self.pages = 1
        self.total = 0
        self.timeline_offset = 0
        self.timeline_total = 0
        self._session: dict[str, Any] | None = None
        self._costs: dict[str, dict[str, Any]] = {}
        self._pairs: dict[str, dict[str, Any]] = {}
        self._rows: SessionView | None = None
        self._quiet = False
        # the timeline's element ids must be unique in the page, which in JupyterLab holds every open notebook
        self._anchor = f"behest-timeline-{uuid4().hex[:12]}"

        self.since = w.DatePicker(description="from")
        self.until = w.DatePicker(description="to")
        self.model = w.Dropdown(options=[_ALL], value=_ALL, description="model")  # refresh() lists the models
        self.metadata_key = w.Text(description="meta key", continuous_update=False)
        self.metadata_value = w.Text(description="meta value", continuous_update=False)
        self.search = w.Text(description="search", placeholder="title or message text", continuous_update=False)
        self.sort = w.Dropdown(options=list(SORTS), value="updated", description="sort by")
        self.page_size = w.Dropdown(options=list(PAGE_SIZES), value=page_size, description="per page")
        self.prev_button = w.Button(description="◀ prev")
        self.next_button = w.Button(description="next ▶")
        self.page_label = w.HTML()
        self.page_label.add_class("behest-page-label")
        self.session_list = w.Select(options=[], rows=12, layout=w.Layout(width="100%"))
        self.session_list.add_class("behest-session-list")
        self.stats = w.HTML()
        self.stats.add_class("behest-session-stats")
        self.timeline = w.HTML()
        self.timeline.add_class("behest-timeline")
        self.timeline_prev = w.Button(description="◀ earlier")
        self.timeline_next = w.Button(description="later ▶")
        self.timeline_label = w.HTML()

        for control in (self.since, self.until, self.model, self.metadata_key, self.metadata_value, self.search):
            control.observe(self._on_filter, names="value")
        self.sort.observe(self._on_filter, names="value")
        self.page_size.observe(self._on_filter, names="value")
        self.prev_button.on_click(lambda _b: self.go_to_page(self.page - 1))
        self.next_button.on_click(lambda _b: self.go_to_page(self.page + 1))
        self.session_list.observe(self._on_select, names="value")
        self.timeline_prev.on_click(lambda _b: self._timeline_to(self.timeline_offset - TIMELINE_PAGE))
        self.timeline_next.on_click(lambda _b: self._timeline_to(self.timeline_offset + TIMELINE_PAGE))

        super().__init__(
            children=[
                w.HTML(STYLE),
                w.HBox([self.since, self.until, self.model]),
                w.HBox([self.metadata_key, self.metadata_value, self.search]),
                w.HBox([self.sort, self.page_size, self.prev_button, self.next_button, self.page_label]),
                self.session_list,
                self.stats,
                w.HBox([self.timeline_prev, self.timeline_next, self.timeline_label]),
                self.timeline,
            ],
            **kwargs,
        )
        self.add_class("behest-browser")
        self.refresh()

    # --- the list -------------------------------------------------------------------------------------------

    def query(self) -> SessionQuery:
        """The list's current filters, order and page size."""
        since: date | None = self.since.value
        until: date | None = self.until.value
        return SessionQuery(
            since=since,
            until=until,
            model=None if self.model.value == _ALL else self.model.value,
            metadata_key=self.metadata_key.value,
            metadata_value=self.metadata_value.value,
            text=self.search.value,
            sort=self.sort.value,
            page_size=int(self.page_size.value),
        )

    def refresh(self) -> None:
        """Re-read the store: models, the cached prices and sort measures, the count and the current page."""
        self.index.refresh()
        current = self.model.value
        self._quiet = True  # one list load below, not one per control change
        try:
            self.model.options = [_ALL, *self.index.models()]
            self.model.value = current if current in self.model.options else _ALL
        finally:
            self._quiet = False
        self._load_list(count=True)

    def _on_filter(self, _change: Any) -> None:
        if self._quiet:
            return
        self.page = 0
        self._load_list(count=True)

    def go_to_page(self, page: int) -> None:
        """Show list page ``page`` (0-based; clamped to the existing pages)."""
        self.page = min(max(page, 0), self.pages - 1)
        self._load_list(count=False)

    def _load_list(self, *, count: bool) -> None:
        query = self.query()
        if count and query.text.strip():
            # a message text search scans every message once: say so while it runs (the frontend gets this value
            # before the result, as each trait change is sent when it is set)
            self.page_label.value = '<span class="behest-page">searching messages…</span>'
        if count:
            self.total = self.index.count(query)
            self.pages = max(1, math.ceil(self.total / query.page_size))
            self.page = min(self.page, self.pages - 1)
        rows = self.index.page(query, self.page)
        selected = self.session_list.value
        options = [(_label(r), r["id"]) for r in rows]
        ids = [r["id"] for r in rows]
        # keep the selection when it is still listed; otherwise the detail view keeps showing it
        self.session_list.unobserve(self._on_select, names="value")
        try:
            self.session_list.options = options
            self.session_list.value = selected if selected in ids else None
        finally:
            self.session_list.observe(self._on_select, names="value")
        self.page_label.value = (
            f'<span class="behest-page">page {self.page + 1} of {self.pages}</span> · {number(self.total)} sessions'
        )
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = self.page >= self.pages - 1

    # --- one session ----------------------------------------------------------------------------------------

    def select_session(self, session_id: UUID | str) -> None:
        """Select a session programmatically and show it.

        It is added to the top of the list when the current page does not hold it.

        Raises:
        ValueError: ``session_id`` is not a UUID.
        NotFoundError: the store has no such session.
        """
        try:
            sid = str(session_id if isinstance(session_id, UUID) else UUID(str(session_id)))
        except ValueError:
            raise ValueError(f"session_id: {session_id!r} is not a UUID") from None
        ids = [v for _, v in self.session_list.options]
        if sid in ids:
            self.session_list.value = sid
            if self._session is None or self._session["id"] != sid:
                self._show(sid)
            return
        session = self.store.sessions.get_session(UUID(sid))
        if session is None:
            raise NotFoundError(sid, "session")
        self._show(sid, session)
        # the list entry: the snapshot's row (or the live record, for a session created since), with the measures
        # the session view just computed
        entry = self.index.row(sid, measure=False) or {
            "title": session.title,
            "model": session.model,
            "updated_at": session.updated_at,
        }
        entry.update(self._session["measures"] if self._session is not None else {})
        self.session_list.unobserve(self._on_select, names="value")
        try:
            self.session_list.options = [(_label(entry), sid), *self.session_list.options]
            self.session_list.value = sid
        finally:
            self.session_list.observe(self._on_select, names="value")

    def message_text(self, message_id: UUID | str, start: int = 0, length: int | None = None) -> str:
        """The whole text of a message of the selected session, or ``length`` characters of it from ``start``.

        The text is the message's text parts joined by newlines, which the timeline shows cut at ``TEXT_LIMIT``
        characters with a note naming this method; ``start`` (0-based) and ``length`` read a huge text piece by
        piece. Only the asked characters are read out of DuckDB.

        Raises:
            ValueError: ``message_id`` is not a UUID, or ``start``/``length`` is negative.
            NotFoundError: no session is selected, or the selected session has no such message.
        """
        try:
            mid = str(message_id if isinstance(message_id, UUID) else UUID(str(message_id)))
        except ValueError:
            raise ValueError(f"message_id: {message_id!r} is not a UUID") from None
        text = None if self._rows is None else self._rows.message_text(mid, start, length)
        if text is None:
            raise NotFoundError(mid, "message")
        return text

    @property
    def selected(self) -> str | None:
        """The id of the session shown in the timeline (None before any selection)."""
        return None if self._session is None else str(self._session["id"])

    def _on_select(self, change: Any) -> None:
        if change["new"] is not None:
            self._show(str(change["new"]))

    def _show(self, sid: str, session: Session | None = None) -> None:
        # the session's rows once (see SessionView), the record among them unless just read: every view reads those
        self._drop_rows()
        rows = SessionView(self.store, [sid])
        info = rows.session() if session is None else {"title": session.title, "model": session.model}
        if info is None:
            rows.close()
            self._session = None
            self.stats.value = f'<span class="behest-failed">session {esc(sid)} no longer exists</span>'
            self.timeline.value = ""
            return
        self._rows = rows
        usage, total = rows.message_usage()  # per message and in all, by the cost rule (analytics.priced_total)
        self._costs = message_costs(usage)
        pairs = rows.compactions()
        self._pairs = {}
        for row in pairs.iter_rows(named=True):
            self._pairs[row["compaction_id"]] = row
            self._pairs[row["summary_id"]] = row
        executions = rows.executions()
        stats = rows.stats(executions)
        tokens = int(usage.get_column("prompt_tokens").sum() or 0) + int(usage.get_column("output_tokens").sum() or 0)
        self._session = {
            "id": sid,
            "cost": total,
            "executions": executions_by_call(executions),
            "measures": {"cost": total, "tokens": tokens, "failures": int(stats.tool_failure_count)},
        }
        self.timeline_total = int(stats.message_count)
        self.stats.value = stats_html(info["title"], info["model"], stats, total, pairs.height)
        self._timeline_to(0)

    def _drop_rows(self) -> None:
        if self._rows is not None:
            rows, self._rows = self._rows, None
            rows.close()

    def _timeline_to(self, offset: int) -> None:
        if self._session is None:
            return
        last = max(0, (math.ceil(self.timeline_total / TIMELINE_PAGE) - 1) * TIMELINE_PAGE)
        offset = min(max(offset, 0), last)
        if self._rows is None:
            return
        page = self._rows.page(offset, TIMELINE_PAGE, self._session["executions"])
        self.timeline_offset, self.timeline_total = offset, page.total
        self.timeline.value = STYLE + timeline_html(page, self._costs, self._pairs, self._anchor)
        pages = max(1, math.ceil(page.total / TIMELINE_PAGE))
        self.timeline_label.value = (
            f'<span class="behest-timeline-page">messages {offset + 1 if page.total else 0}–'
            f"{min(offset + TIMELINE_PAGE, page.total)} of {page.total} (page {offset // TIMELINE_PAGE + 1} of "
            f"{pages})</span>"
        )
        self.timeline_prev.disabled = offset == 0
        self.timeline_next.disabled = offset + TIMELINE_PAGE >= page.total

    def close(self) -> None:
        """Close the widget and drop its temporary tables from the store's connection.

        With a closed store there is nothing left to drop: the tables went with its connection. ipywidgets keeps
        every widget alive in its registry, so a widget that is no longer shown keeps its tables until this is
        called or the store is closed.
        """
        try:
            # a closed store's connection took the temporary table with it
            index = getattr(self, "index", None)  # absent when __init__ refused its arguments
            with contextlib.suppress(duckdb.Error, BehestLabError):
                if index is not None:
                    index.drop()
                if getattr(self, "_rows", None) is not None:
                    self._drop_rows()
        finally:
            super().close()
