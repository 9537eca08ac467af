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

import polars as pl

from behest_lab.analytics._sql import Conditions, metadata_condition, run
from behest_lab.analytics.usage import usage_conditions
from behest_lab.pricing import PriceTable, grouped_costs_sql, price_table_for, priced_ctes, usd
from behest_lab.pricing._sql import literal
from behest_lab.records import MessageRecord, Pagination, ToolExecution
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store

SORTS = ("updated", "cost", "tokens", "failures")
"""Session list orders, each descending: last change, total cost, prompt + output tokens, failed tool calls."""

_ORDER = {
    "updated": "s.updated_at DESC, s.id DESC",
    "cost": "s.cost DESC NULLS LAST, s.id DESC",
    "tokens": "s.tokens DESC NULLS LAST, s.id DESC",
    "failures": "s.failures DESC NULLS LAST, s.id DESC",
}


def parse_metadata_value(text: str) -> Any:
    """A metadata filter value typed into a text box: JSON when it parses (``42``, ``true``, ``"x"``), else the
    plain string."""
    try:
        return json.loads(text)
    except ValueError:
        return text


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

    def where(self) -> str:
        """The AND-ed SQL condition over ``sessions s``."""
        c = Conditions().time_range(
            "s.created_at", self.since, None if self.until is None else self.until + timedelta(days=1)
        )
        c.equals("s.model", self.model, "model")
        key = self.metadata_key.strip()
        if key:
            if self.metadata_value == "":
                path = literal("$." + '"' + key.replace("\\", "\\\\").replace('"', '\\"') + '"')
                c.add(f"json_type(s.metadata) = 'OBJECT' AND json_type(s.metadata, {path}) IS NOT NULL")
            else:
                c.add(metadata_condition("s.metadata", {key: parse_metadata_value(self.metadata_value)}))
        needle = self.text.strip().lower()
        if needle:
            q = literal(needle)
            c.add(
                f"contains(lower(coalesce(s.title, '')), {q}) OR s.id IN "
                f"(SELECT session_id FROM messages WHERE contains(lower(text), {q}))"
            )
        return c.sql()


def uuid_list(ids: Sequence[str]) -> str:
    """``(CAST('..' AS UUID), ...)`` for an ``IN`` list; ``(NULL)`` when empty (matches nothing)."""
    if not ids:
        return "(NULL)"
    return "(" + ", ".join(f"CAST({literal(str(UUID(i)))} AS UUID)" for i in ids) + ")"


class SessionIndex:
    """Session lists over a store: counts and pages in SQL over a per-session snapshot table.

    The list, its filters and its orders (by cost, tokens or failures too, which need those measures for every
    session that passes the filters) run over one DuckDB temporary table on the store's connection: the
    ``sessions`` columns plus each session's cost, tokens and failed tool calls, computed by one aggregate query
    with the analytics price logic (like ``analytics.sessions``). Python only receives one page. The table is a
    snapshot taken at the first list query: ``refresh()`` takes a new one after the store changed (message text
    search always reads the live ``messages`` table; a selected session is always read live).
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._prices: PriceTable | None = None
        self._metrics: str | None = None

    def prices(self) -> PriceTable:
        """The price table for the store's usage (built once; ``refresh()`` rebuilds it)."""
        if self._prices is None:
            self._prices = price_table_for(self.store, "TRUE")
        return self._prices

    def refresh(self) -> None:
        """Forget the cached price table and ordering measures (the store has changed)."""
        self.drop()
        self._prices = None

    def drop(self) -> None:
        """Drop the temporary measures table, if any."""
        if self._metrics is not None:
            name, self._metrics = self._metrics, None
            self.store.sql(f"DROP TABLE IF EXISTS {name}")

    def _metrics_table(self) -> str:
        if self._metrics is None:
            name = f"behest_widgets_sessions_{uuid.uuid4().hex}"
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
FROM sessions s LEFT JOIN u ON u.session_id = s.id LEFT JOIN t ON t.session_id = s.id"""
            )
            self._metrics = name
        return self._metrics

    def count(self, query: SessionQuery) -> int:
        """How many sessions pass the filters."""
        row = self.store.sql(f"SELECT count(*) FROM {self._metrics_table()} s WHERE {query.where()}").fetchone()
        return 0 if row is None else int(row[0])

    def page(self, query: SessionQuery, page: int) -> list[dict[str, Any]]:
        """Page ``page`` (0-based) of the filtered sessions in ``query.sort`` order, with live measures.

        Returns:
            Dicts with ``id`` (str), ``title``, ``model``, ``created_at``, ``updated_at``, ``cost`` (Decimal USD,
            None when unpriced or not measured yet), ``tokens``, ``failures`` (int), in list order.
        """
        if query.sort not in _ORDER:
            raise ValueError(f"sort: {query.sort!r} is not one of {', '.join(SORTS)}")
        rows = self.store.sql(
            f"SELECT CAST(s.id AS VARCHAR) AS id, s.title, s.model, s.created_at, s.updated_at, "
            f"s.cost, s.tokens, s.failures FROM {self._metrics_table()} s WHERE {query.where()} "
            f"ORDER BY {_ORDER[query.sort]} LIMIT {int(query.page_size)} OFFSET {int(page) * int(query.page_size)}"
        ).fetchall()
        names = ("id", "title", "model", "created_at", "updated_at", "cost", "tokens", "failures")
        return [dict(zip(names, r, strict=True)) for r in rows]

    def row(self, session_id: str) -> dict[str, Any] | None:
        """One session's list row from the snapshot (the keys of ``page`` rows), or None when it is not there."""
        rows = self.store.sql(
            f"SELECT CAST(id AS VARCHAR), title, model, created_at, updated_at, cost, tokens, failures "
            f"FROM {self._metrics_table()} WHERE id = {uuid_list([session_id])[1:-1]}"
        ).fetchall()
        names = ("id", "title", "model", "created_at", "updated_at", "cost", "tokens", "failures")
        return dict(zip(names, rows[0], strict=True)) if rows else None

    def measures(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Cost (null when unpriced), prompt + output tokens and failed tool calls of the given sessions."""
        if not ids:
            return {}
        in_ids = f"session_id IN {uuid_list(ids)}"
        per_session = grouped_costs_sql(self.prices(), in_ids, [("session_id", "session_id", "{k}")])
        rows = self.store.sql(
            f"""WITH u AS ({per_session}),
t AS (SELECT session_id, count(*) FILTER (WHERE status = 'failed') AS failures
      FROM tool_executions WHERE {in_ids} GROUP BY session_id)
SELECT CAST(s.id AS VARCHAR),
  CASE WHEN u.session_id IS NULL THEN CAST(0 AS DECIMAL(38,24)) ELSE u.cost END,
  CAST(coalesce(u.prompt_tokens, 0) + coalesce(u.output_tokens, 0) AS BIGINT), CAST(coalesce(t.failures, 0) AS BIGINT)
FROM (SELECT id FROM sessions WHERE id IN {uuid_list(ids)}) s
  LEFT JOIN u ON u.session_id = s.id LEFT JOIN t ON t.session_id = s.id"""
        ).fetchall()
        return {r[0]: {"cost": r[1], "tokens": int(r[2]), "failures": int(r[3])} for r in rows}

    def session_usage(self, session_id: str) -> pl.DataFrame:
        """One session's model calls priced as ``analytics.usage`` prices them (the same ``priced_ctes`` SQL),
        with the cached price table. Columns: ``message_id``, ``model`` (Utf8), ``prompt_tokens``,
        ``output_tokens`` (Int64), ``cost`` (Decimal USD, null when unpriced), oldest first."""
        where = usage_conditions(session_id=session_id)
        return run(
            self.store,
            f"WITH {priced_ctes(self.prices(), where)} SELECT CAST(message_id AS VARCHAR) AS message_id, model, "
            f"CAST(prompt_tokens AS BIGINT) AS prompt_tokens, CAST(output_tokens AS BIGINT) AS output_tokens, "
            f"{usd('_cost_micro')} AS cost FROM priced_usage ORDER BY created_at, id",
        )

    def models(self) -> list[str]:
        """The distinct session models of the snapshot, sorted."""
        rows = self.store.sql(f"SELECT DISTINCT model FROM {self._metrics_table()} ORDER BY 1").fetchall()
        return [str(m) for (m,) in rows if m]


def _dicts(store: Store, query: str) -> list[dict[str, Any]]:
    rel = store.sql(query)
    names = rel.columns
    return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]


@dataclass
class TimelinePage:
    """One page of a session's messages with what the timeline shows beside them."""

    messages: list[MessageRecord]
    offset: int
    total: int
    results: dict[str, MessageRecord]
    """Tool result messages by the call id they answer (anywhere in the session)."""
    executions: dict[tuple[str, str], ToolExecution]
    """Executions by (issuing message id, call id)."""


def session_executions(store: Store, session_id: str) -> dict[tuple[str, str], ToolExecution]:
    """The session's executions by (issuing message id, call id), the first recorded one per call."""
    out: dict[tuple[str, str], ToolExecution] = {}
    for e in store.executions.list_executions(UUID(session_id)):
        out.setdefault((str(e.message_id), e.call_id), e)
    return out


def timeline_page(
    store: Store,
    session_id: str,
    offset: int,
    limit: int,
    total: int,
    executions: dict[tuple[str, str], ToolExecution],
) -> TimelinePage:
    """Messages ``offset``..``offset + limit`` of the session in store order (the store's own paged read,
    ``list_messages_paginated``), with the tool results answering their calls: those on the page, and the
    others (a call at the end of a page answered on the next one) read by call id."""
    messages = store.sessions.list_messages_paginated(UUID(session_id), Pagination(limit=limit, offset=offset))
    results: dict[str, MessageRecord] = {}
    for m in messages:
        if m.tool_call_id is not None:
            results.setdefault(m.tool_call_id, m)
    missing = [c.id for m in messages for c in m.tool_calls if c.id not in results]
    if missing:
        sid = f"CAST({literal(str(UUID(session_id)))} AS UUID)"
        calls = "(" + ", ".join(literal(c) for c in missing) + ")"
        for r in _dicts(
            store,
            f"SELECT * FROM messages WHERE session_id = {sid} AND tool_call_id IN {calls} ORDER BY created_at, seq",
        ):
            result = tables.message_from_row(r)
            results.setdefault(str(result.tool_call_id), result)
    return TimelinePage(messages, offset, total, results, executions)
