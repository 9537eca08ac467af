"""A session list for interactive views: filtered, sorted and paged in DuckDB, one page at a time.

``SessionList`` is what ``widgets.SessionBrowser`` lists; any other view (a web page, a TUI) can use it the same
way. Everything runs in DuckDB through ``Store.query`` and ``Store.temp_table``; Python only ever receives one page
of rows. Costs, tokens and failures are the per-session measures of ``behest_lab.analytics.session_view``
(``session_measures_sql``: the SQL ``analytics.sessions`` runs).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from behest_lab.analytics._costs import price_table_for
from behest_lab.analytics._quoting import json_pointer, literal, uuid_list
from behest_lab.analytics._sql import Conditions, metadata_condition
from behest_lab.analytics.session_view import SessionView, session_measures_sql
from behest_lab.pricing import PriceTable
from behest_lab.records import check_json
from behest_lab.stores.protocols import Store, TempTable

SORTS = ("updated", "cost", "tokens", "failures")
"""Session list orders, each descending: last change, total cost, prompt + output tokens, failed tool calls."""

_ORDER = {
    "updated": "s.updated_at DESC, s.id DESC",
    "cost": "s.cost DESC NULLS LAST, s.id DESC",
    "tokens": "s.tokens DESC NULLS LAST, s.id DESC",
    "failures": "s.failures DESC NULLS LAST, s.id DESC",
}


TEXT_SEARCHES = 4
"""Message text searches whose matching sessions the list keeps (temporary tables), most recent ones."""


def parse_metadata_value(text: str) -> Any:
    """A metadata filter value typed into a text box.

    JSON when it parses (``42``, ``true``, ``"x"``), else the plain string (so ``NaN``, ``Infinity`` and ``1e999``,
    which are not JSON numbers, match the text).
    """
    try:
        return check_json(json.loads(text, parse_constant=_not_json))
    except (ValueError, RecursionError):  # not JSON, or a value JSON cannot hold (NaN, 1e999): the text itself
        return text


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


@dataclass(frozen=True)
class SessionQuery:
    """The session list's filters, order and page size.

    ``since``/``until`` bound ``created_at`` by UTC day, both inclusive; ``model`` is the session model;
    ``metadata_key`` with an empty ``metadata_value`` keeps sessions whose metadata has that top-level key, with a
    value keeps those whose key holds it (``parse_metadata_value``; the store's containment rule); ``text`` keeps
    sessions whose title or any message text contains it (case-insensitive).
    """

    since: date | None = None
    until: date | None = None
    model: str | None = None
    metadata_key: str = ""
    metadata_value: str = ""
    text: str = ""
    sort: str = "updated"
    page_size: int = 25

    def where(self, text_matches: str | None = None) -> str:
        """The AND-ed SQL condition over ``sessions s``.

        ``text_matches`` names a relation of the ``session_id``s whose messages contain ``text`` (the default: a
        subquery over ``messages``).
        """
        c = Conditions().time_range(
            "s.created_at", self.since, None if self.until is None else self.until + timedelta(days=1)
        )
        c.equals("s.model", self.model, "model")
        key = self.metadata_key.strip()
        if key:
            if self.metadata_value == "":
                path = literal(json_pointer([key]))
                c.add(f"json_type(s.metadata) = 'OBJECT' AND json_type(s.metadata, {path}) IS NOT NULL")
            else:
                c.add(metadata_condition("s.metadata", {key: parse_metadata_value(self.metadata_value)}))
        needle = self.text.strip().lower()
        if needle:
            q = literal(needle)
            matches = text_matches or f"(SELECT session_id FROM messages WHERE contains(lower(text), {q}))"
            c.add(f"contains(lower(coalesce(s.title, '')), {q}) OR s.id IN (SELECT session_id FROM {matches})")
        return c.sql()


_NAMES = ("id", "title", "model", "created_at", "updated_at", "cost", "tokens", "failures")


class SessionList:
    """Session lists over a store: counts and pages in SQL over per-session snapshot tables.

    The list and its filters run over a temporary table (``Store.temp_table``) holding the ``sessions`` columns,
    taken at the first list query. The orders by cost, tokens or failures need those measures for every session
    that passes the filters: the first such order builds a second table with each session's cost, tokens and
    failed tool calls (``session_measures_sql`` over the whole store, one aggregate query). Until then the default
    order (last change) needs no measures up front: each page measures only its own rows (``measures``: the same
    SQL over a ``SessionScope`` of those sessions; cached by id). Python only receives one page. A message text
    search scans the ``messages`` table once per search text (the matching session ids are kept for the
    ``TEXT_SEARCHES`` latest texts). ``refresh()`` drops all of it after the store changed; ``drop()`` frees the
    tables.

    Args:
        store: a memory or lake store.
    """

    def __init__(self, store: Store) -> None:
        """Prepare a list over ``store``; nothing is read until the first question."""
        self.store = store
        self._prices: PriceTable | None = None
        self._base: TempTable | None = None
        self._metrics: TempTable | None = None
        self._measured: dict[str, dict[str, Any]] = {}
        self._texts: dict[str, TempTable] = {}

    def prices(self) -> PriceTable:
        """The price table for the store's usage (built once; ``refresh()`` rebuilds it)."""
        if self._prices is None:
            self._prices = price_table_for(self.store, "TRUE")
        return self._prices

    @property
    def measured_all(self) -> bool:
        """Whether the measures of every session are computed (an order by cost, tokens or failures was asked)."""
        return self._metrics is not None

    def refresh(self) -> None:
        """Forget the snapshots, the cached price table and measures (the store has changed)."""
        self.drop()
        self._prices = None
        self._measured.clear()

    def drop(self) -> None:
        """Drop the temporary tables, if any."""
        while self._texts:
            self._texts.popitem()[1].drop()
        for attr in ("_metrics", "_base"):
            table = getattr(self, attr)
            if table is not None:
                setattr(self, attr, None)
                table.drop()

    def _base_table(self) -> str:
        if self._base is None:
            self._base = self.store.temp_table(
                "SELECT id, title, model, created_at, updated_at, metadata FROM sessions"
            )
        return self._base.name

    def _metrics_table(self) -> str:
        if self._metrics is None:
            measures = session_measures_sql(self.prices(), self._base_table())
            self._metrics = self.store.temp_table(
                f"""WITH _m AS ({measures})
SELECT s.id, s.title, s.model, s.created_at, s.updated_at, s.metadata, _m.cost, _m.tokens, _m.failures
FROM {self._base_table()} s JOIN _m ON _m.id = s.id"""
            )
        return self._metrics.name

    def _where(self, query: SessionQuery) -> str:
        """``query.where`` with the sessions whose messages contain the search text read once per text.

        One scan of the message texts into a temporary table, which the count and every page of that search reuse.
        """
        needle = query.text.strip().lower()
        if not needle:
            return query.where()
        table = self._texts.get(needle)
        if table is None:
            while len(self._texts) >= TEXT_SEARCHES:
                self._texts.pop(next(iter(self._texts))).drop()
            table = self.store.temp_table(
                f"SELECT DISTINCT session_id FROM messages WHERE contains(lower(text), {literal(needle)})"
            )
            self._texts[needle] = table
        return query.where(table.name)

    def _table(self) -> str:
        return self._metrics.name if self._metrics is not None else self._base_table()

    def count(self, query: SessionQuery) -> int:
        """How many sessions pass the filters."""
        return int(self.store.query(f"SELECT count(*) FROM {self._table()} s WHERE {self._where(query)}").item())

    def page(self, query: SessionQuery, page: int) -> list[dict[str, Any]]:
        """Page ``page`` (0-based) of the filtered sessions in ``query.sort`` order, with live measures.

        Returns:
            Dicts with ``id`` (str), ``title``, ``model``, ``created_at``, ``updated_at``, ``cost`` (Decimal USD,
            the sum of the priced calls; None when none is priced), ``tokens``, ``failures`` (int), in list order.

        Raises:
            ValueError: an unknown ``query.sort``.
        """
        if query.sort not in _ORDER:
            raise ValueError(f"sort: {query.sort!r} is not one of {', '.join(SORTS)}")
        table = self._metrics_table() if query.sort != "updated" else self._table()
        measured = self._metrics is not None and table == self._metrics.name
        measures = "s.cost, s.tokens, s.failures" if measured else "NULL, NULL, NULL"
        rows = self.store.query(
            f"SELECT CAST(s.id AS VARCHAR) AS id, s.title, s.model, s.created_at, s.updated_at, {measures} "
            f"FROM {table} s WHERE {self._where(query)} ORDER BY {_ORDER[query.sort]} "
            f"LIMIT {int(query.page_size)} OFFSET {int(page) * int(query.page_size)}"
        ).rows()
        return self._with_measures(rows)

    def _with_measures(self, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Rows of ``_NAMES`` as dicts, measuring those read without measures."""
        out = [dict(zip(_NAMES, r, strict=True)) for r in rows]
        if self._metrics is None:
            measured = self.measures([r["id"] for r in out])
            for r in out:
                r.update(measured[r["id"]])
        return out

    def row(self, session_id: str, *, measure: bool = True) -> dict[str, Any] | None:
        """One session's list row from the snapshot (the keys of ``page`` rows), or None when it is not there.

        ``measure=False``: the measures are None unless every session's are computed.
        """
        measures = "cost, tokens, failures" if self._metrics is not None else "NULL, NULL, NULL"
        rows = self.store.query(
            f"SELECT CAST(id AS VARCHAR), title, model, created_at, updated_at, {measures} "
            f"FROM {self._table()} WHERE id = {uuid_list([session_id])[1:-1]}"
        ).rows()
        if not rows:
            return None
        return self._with_measures(rows)[0] if measure else dict(zip(_NAMES, rows[0], strict=True))

    def measures(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Cost, prompt + output tokens and failed tool calls of the given sessions (``SessionView.measures``).

        Computed from their live rows (one ``SessionScope`` of them) and cached until ``refresh()``; an id the
        store does not have measures 0.
        """
        missing = list(dict.fromkeys(i for i in ids if i not in self._measured))
        if missing:
            with SessionView(self.store, missing) as view:
                self._measured.update(view.measures())
        return {i: self._measured[i] for i in ids}

    def models(self) -> list[str]:
        """The distinct session models of the snapshot, sorted."""
        rows = self.store.query(f"SELECT DISTINCT model FROM {self._base_table()} ORDER BY 1").rows()
        return [str(m) for (m,) in rows if m]
