"""The SQL behind the widgets: filtered, sorted, paged session lists and one session's timeline page.

Everything runs in DuckDB through ``store.sql``; Python only ever receives one page of rows. Values reach SQL as
literals quoted by ``behest_lab.pricing._sql.literal``. Costs use the analytics price logic
(``behest_lab.pricing.grouped_costs_sql`` over the usage source, the same SQL ``analytics.sessions`` and
``analytics.costs`` run).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from uuid import UUID

from behest_lab.analytics._sql import Conditions, json_pointer, metadata_condition
from behest_lab.pricing import PriceTable, grouped_costs_sql, price_table_for
from behest_lab.pricing._sql import literal
from behest_lab.records._checks import check_json
from behest_lab.stores.protocols import Store
from behest_lab.widgets._session import SessionRows

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
    """A metadata filter value typed into a text box: JSON when it parses (``42``, ``true``, ``"x"``), else the
    plain string (so ``NaN``, ``Infinity`` and ``1e999``, which are not JSON numbers, match the text)."""
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
        """The AND-ed SQL condition over ``sessions s``; ``text_matches`` names a relation of the ``session_id``s
        whose messages contain ``text`` (the default: a subquery over ``messages``)."""
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


def uuid_list(ids: Sequence[str]) -> str:
    """``(CAST('..' AS UUID), ...)`` for an ``IN`` list; ``(NULL)`` when empty (matches nothing)."""
    if not ids:
        return "(NULL)"
    return "(" + ", ".join(f"CAST({literal(str(UUID(i)))} AS UUID)" for i in ids) + ")"


class SessionIndex:
    """Session lists over a store: counts and pages in SQL over per-session snapshot tables.

    The list and its filters run over a DuckDB temporary table on the store's connection holding the ``sessions``
    columns, taken at the first list query. The orders by cost, tokens or failures need those measures for every
    session that passes the filters: the first such order builds a second table with each session's cost, tokens
    and failed tool calls (one aggregate query with the analytics price logic, like ``analytics.sessions``).
    Until then the default order (last change) needs no measures up front: each page measures only its own rows
    (``SessionRows.measures``: the same price logic over those sessions' rows; cached by id). Python only receives
    one page. A message text search scans the ``messages`` table once per search text (the matching session ids
    are kept for the ``TEXT_SEARCHES`` latest texts). ``refresh()`` drops all of it after the store changed; a
    selected session is always read live.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._prices: PriceTable | None = None
        self._base: str | None = None
        self._metrics: str | None = None
        self._measured: dict[str, dict[str, Any]] = {}
        self._texts: dict[str, str] = {}

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
            self.store.sql(f"DROP TABLE IF EXISTS {self._texts.popitem()[1]}")
        for attr in ("_metrics", "_base"):
            name = getattr(self, attr)
            if name is not None:
                setattr(self, attr, None)
                self.store.sql(f"DROP TABLE IF EXISTS {name}")

    def _base_table(self) -> str:
        if self._base is None:
            name = f"behest_widgets_sessions_{uuid.uuid4().hex}"
            self.store.sql(
                f"CREATE TEMP TABLE {name} AS SELECT id, title, model, created_at, updated_at, metadata FROM sessions"
            )
            self._base = name
        return self._base

    def _metrics_table(self) -> str:
        if self._metrics is None:
            name = f"behest_widgets_measures_{uuid.uuid4().hex}"
            per_session = grouped_costs_sql(self.prices(), "TRUE", [("session_id", "session_id", "{k}")])
            self.store.sql(
                f"""CREATE TEMP TABLE {name} AS
WITH u AS ({per_session}),
t AS (SELECT session_id, count(*) FILTER (WHERE status = 'failed') AS failures
      FROM tool_executions GROUP BY session_id)
SELECT s.id, s.title, s.model, s.created_at, s.updated_at, s.metadata,
  CASE WHEN u.session_id IS NULL THEN CAST(0 AS DECIMAL(38,24)) ELSE u.cost END AS cost,
  CAST(coalesce(u.prompt_tokens, 0) + coalesce(u.output_tokens, 0) AS BIGINT) AS tokens,
  CAST(coalesce(t.failures, 0) AS BIGINT) AS failures
FROM {self._base_table()} s LEFT JOIN u ON u.session_id = s.id LEFT JOIN t ON t.session_id = s.id"""
            )
            self._metrics = name
        return self._metrics

    def _where(self, query: SessionQuery) -> str:
        """``query.where`` with the sessions whose messages contain the search text read once per text: one scan
        of the message texts into a temporary table, which the count and every page of that search reuse."""
        needle = query.text.strip().lower()
        if not needle:
            return query.where()
        name = self._texts.get(needle)
        if name is None:
            while len(self._texts) >= TEXT_SEARCHES:
                self.store.sql(f"DROP TABLE IF EXISTS {self._texts.pop(next(iter(self._texts)))}")
            name = f"behest_widgets_text_{uuid.uuid4().hex}"
            self.store.sql(
                f"CREATE TEMP TABLE {name} AS SELECT DISTINCT session_id FROM messages "
                f"WHERE contains(lower(text), {literal(needle)})"
            )
            self._texts[needle] = name
        return query.where(name)

    def _table(self) -> str:
        return self._metrics if self._metrics is not None else self._base_table()

    def count(self, query: SessionQuery) -> int:
        """How many sessions pass the filters."""
        row = self.store.sql(f"SELECT count(*) FROM {self._table()} s WHERE {self._where(query)}").fetchone()
        return 0 if row is None else int(row[0])

    def page(self, query: SessionQuery, page: int) -> list[dict[str, Any]]:
        """Page ``page`` (0-based) of the filtered sessions in ``query.sort`` order, with live measures.

        Returns:
            Dicts with ``id`` (str), ``title``, ``model``, ``created_at``, ``updated_at``, ``cost`` (Decimal USD,
            the sum of the priced calls; None when none is priced or not measured yet), ``tokens``, ``failures``
            (int), in list order.
        """
        if query.sort not in _ORDER:
            raise ValueError(f"sort: {query.sort!r} is not one of {', '.join(SORTS)}")
        table = self._metrics_table() if query.sort != "updated" else self._table()
        measures = "s.cost, s.tokens, s.failures" if table == self._metrics else "NULL, NULL, NULL"
        rows = self.store.sql(
            f"SELECT CAST(s.id AS VARCHAR) AS id, s.title, s.model, s.created_at, s.updated_at, {measures} "
            f"FROM {table} s WHERE {self._where(query)} ORDER BY {_ORDER[query.sort]} "
            f"LIMIT {int(query.page_size)} OFFSET {int(page) * int(query.page_size)}"
        ).fetchall()
        return self._with_measures(rows)

    def _with_measures(self, rows: Sequence[tuple[Any, ...]]) -> list[dict[str, Any]]:
        """Rows of (id, title, model, created_at, updated_at, cost, tokens, failures) as dicts, measuring those
        read without measures."""
        names = ("id", "title", "model", "created_at", "updated_at", "cost", "tokens", "failures")
        out = [dict(zip(names, r, strict=True)) for r in rows]
        if self._metrics is None:
            measured = self.measures([r["id"] for r in out])
            for r in out:
                r.update(measured[r["id"]])
        return out

    def row(self, session_id: str, *, measure: bool = True) -> dict[str, Any] | None:
        """One session's list row from the snapshot (the keys of ``page`` rows), or None when it is not there;
        ``measure=False``: the measures are None unless every session's are computed."""
        measures = "cost, tokens, failures" if self._metrics is not None else "NULL, NULL, NULL"
        rows = self.store.sql(
            f"SELECT CAST(id AS VARCHAR), title, model, created_at, updated_at, {measures} "
            f"FROM {self._table()} WHERE id = {uuid_list([session_id])[1:-1]}"
        ).fetchall()
        if not rows:
            return None
        names = ("id", "title", "model", "created_at", "updated_at", "cost", "tokens", "failures")
        return self._with_measures(rows)[0] if measure else dict(zip(names, rows[0], strict=True))

    def measures(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Cost (the priced calls' sum, null when none is priced), prompt + output tokens and failed tool calls of
        the given sessions (0 for an id the store does not have), computed from their live rows and cached until
        ``refresh()``."""
        missing = list(dict.fromkeys(i for i in ids if i not in self._measured))
        if missing:
            listed = (
                f"SELECT CAST(id AS VARCHAR), title, model FROM {self._base_table()} WHERE id IN {uuid_list(missing)}"
            )
            known = {r[0]: r for r in self.store.sql(listed).fetchall()}
            unknown = [i for i in missing if i not in known]
            if unknown:  # created after the snapshot: read them live
                for r in self.store.sql(
                    f"SELECT CAST(id AS VARCHAR), title, model FROM sessions WHERE id IN {uuid_list(unknown)}"
                ).fetchall():
                    known[r[0]] = r
            rows = SessionRows(self.store, [known.get(i, (i, None, None)) for i in missing])
            try:
                self._measured.update(rows.measures())
            finally:
                rows.drop()
        return {i: self._measured[i] for i in ids}

    def models(self) -> list[str]:
        """The distinct session models of the snapshot, sorted."""
        rows = self.store.sql(f"SELECT DISTINCT model FROM {self._base_table()} ORDER BY 1").fetchall()
        return [str(m) for (m,) in rows if m]
