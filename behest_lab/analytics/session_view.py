"""One session (or a few) seen in detail: measures, priced usage per message, compactions, stats, timeline pages.

``SessionView`` is what ``widgets.SessionBrowser`` shows for the selected session. It reads the sessions' rows
once through the store's ``SessionScope`` (``Store.session_scope``): on a lake store every scan of a lake table
costs a catalog round trip (tens of ms) however few rows it reads, and the session view needs about ten questions
(the session, its usage pricing, compactions, stats, executions, the timeline pages). Each answer is the library
SQL run over the scope: the usage pricing is ``analytics.usage``'s (``priced_ctes``), the compaction pairs are
``analytics.compactions``', the stats follow the stores' ``session_stats`` rule (``compute_stats``), and the
per-session measures (``session_measures_sql``) are those ``analytics.sessions`` reports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import TracebackType
from typing import Any, Self
from uuid import UUID

import polars as pl

from behest_lab.analytics._costs import (
    grouped_costs_sql,
    price_table_for,
    priced_ctes,
    priced_sum,
    session_money,
    unpriced_count,
    usd,
)
from behest_lab.analytics._quoting import literal
from behest_lab.analytics._sql import run
from behest_lab.analytics.compaction import compactions_sql
from behest_lab.pricing import PriceTable
from behest_lab.records import MessageRecord, SessionStats, ToolExecution
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store
from behest_lab.stores.rules import compute_stats

SHOWN_CHARS = 50_000
"""Characters of one text, JSON value or tool call's arguments a timeline page reads (as many as the widgets show):
longer ones are cut in SQL, so a page's memory follows what it shows, not what is stored."""


def _cut_json(value: str, cut: int) -> str:
    """SQL of a JSON value whose text is cut to ``cut`` characters when longer: the cut text as a JSON string."""
    return (
        f"CASE WHEN length(CAST({value} AS VARCHAR)) > {cut} "
        f"THEN CAST(to_json(substr(CAST({value} AS VARCHAR), 1, {cut})) AS JSON) ELSE {value} END"
    )


def _shown_columns(cut: int) -> str:
    """The ``messages`` columns a timeline page reads.

    Text parts, JSON parts and tool call arguments cut to ``cut`` characters (a cut JSON value comes back as the JSON
    string of its cut text), the unused ``text`` column left out, and the whole lengths beside them: ``_part_lengths``
    (characters of each part's text or JSON value) and ``_call_lengths`` (of each call's JSON arguments).
    """
    part = (
        f"struct_pack(type := p.type, text := substr(p.text, 1, {cut}), value := {_cut_json('p.value', cut)}, "
        "url := p.url, mime_type := p.mime_type, cache_kind := p.cache_kind, cache_ttl := p.cache_ttl)"
    )
    call = f"struct_pack(id := c.id, name := c.name, arguments := {_cut_json('c.arguments', cut)})"
    return (
        f"* EXCLUDE (text, content, tool_calls), list_transform(content, p -> {part}) AS content, "
        f"list_transform(tool_calls, c -> {call}) AS tool_calls, "
        "list_transform(content, p -> coalesce(length(p.text), length(CAST(p.value AS VARCHAR)), 0)) AS _part_lengths, "
        "list_transform(tool_calls, c -> coalesce(length(CAST(c.arguments AS VARCHAR)), 0)) AS _call_lengths"
    )


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
    lengths: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    """Per message id (of the page and of ``results``): the whole length in characters of each content part's text
    or JSON value, and of each tool call's JSON arguments. The records hold at most ``SHOWN_CHARS`` of each."""


def session_measures_sql(prices: PriceTable, sessions: str = "sessions") -> str:
    """SQL of each session's cost, tokens and failed tool calls: THE per-session measures of behest_lab.

    Args:
        prices: the price table for the sessions' usage (``price_table_for``).
        sessions: a relation with the ``id`` column of the sessions to measure (default: every session).

    Returns:
        A SELECT with ``id`` (UUID), ``cost`` (DECIMAL(38,24) USD: the sum of the priced calls, 0 without usage,
        NULL when none of its usage is priced: ``priced_sum``), ``tokens`` (BIGINT, prompt + output tokens) and
        ``failures`` (BIGINT, tool executions with status failed), one row per session of ``sessions``. The same
        numbers as ``analytics.sessions``' ``cost``, ``prompt_tokens + output_tokens`` and ``tool_failures``.
    """
    per_session = grouped_costs_sql(prices, "TRUE", [("session_id", "session_id", "{k}")])
    return f"""SELECT s.id, {session_money("u", "cost")} AS cost,
  CAST(coalesce(u.prompt_tokens, 0) + coalesce(u.output_tokens, 0) AS BIGINT) AS tokens,
  CAST(coalesce(t.failures, 0) AS BIGINT) AS failures
FROM {sessions} s LEFT JOIN ({per_session}) u ON u.session_id = s.id
  LEFT JOIN (SELECT session_id, count(*) FILTER (WHERE status = 'failed') AS failures
             FROM tool_executions GROUP BY session_id) t ON t.session_id = s.id"""


class SessionView:
    """Sessions read from the store once (a ``SessionScope``), with the questions a session view asks.

    The price logic matches ``analytics.usage`` for the sessions' usage as long as their usage records point at
    messages of the same session (behest writes them so): the usage source's joins between usage records and
    messages then only ever pair rows of these sessions. The single-session views (``session``,
    ``compactions``, ``executions``, ``stats``, ``page``) read the first session.

    Args:
        store: the store.
        session_ids: the sessions, at least one.

    Raises:
        ValueError: no id, or one that is not a UUID.
    """

    def __init__(self, store: Store, session_ids: Sequence[UUID | str]) -> None:
        """Read the sessions' rows once (``Store.session_scope``)."""
        self.scope = store.session_scope(session_ids)
        self.ids = [str(i) for i in self.scope.session_ids]
        self.sid = self.ids[0]
        self._prices: PriceTable | None = None
        self._sid = f"CAST({literal(self.sid)} AS UUID)"
        self._message_count: int | None = None

    def __enter__(self) -> Self:
        """Use the object in a ``with`` block."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release it on leaving the ``with`` block."""
        self.close()

    def close(self) -> None:
        """Free the pinned rows (idempotent)."""
        self.scope.close()

    def _one(self, table: str) -> str:
        """The first session's rows of ``table``."""
        return f"(SELECT * FROM {table} WHERE session_id = {self._sid})"

    def session(self) -> dict[str, Any] | None:
        """The first session's ``title`` and ``model``, or None when the store has no such session."""
        rows = self.scope.query(f"SELECT title, model FROM sessions WHERE id = {self._sid}").rows(named=True)
        return rows[0] if rows else None

    @property
    def message_count(self) -> int:
        """How many messages the first session has."""
        if self._message_count is None:
            self._message_count = int(self.scope.query(f"SELECT count(*) FROM {self._one('messages')}").item())
        return self._message_count

    def prices(self) -> PriceTable:
        """``price_table_for`` the sessions' usage (built once)."""
        if self._prices is None:
            self._prices = price_table_for(self.scope, "TRUE")
        return self._prices

    def measures(self) -> dict[str, dict[str, Any]]:
        """Per session id: ``cost``, ``tokens``, ``failures`` (``session_measures_sql``; an unknown id measures 0)."""
        ids = ", ".join(f"(CAST({literal(i)} AS UUID))" for i in self.ids)
        query = session_measures_sql(self.prices(), f"(SELECT * FROM (VALUES {ids}) v(id))")
        rows = self.scope.query(f"SELECT CAST(id AS VARCHAR), cost, tokens, failures FROM ({query})").rows()
        return {r[0]: {"cost": r[1], "tokens": int(r[2]), "failures": int(r[3])} for r in rows}

    def usage(self) -> pl.DataFrame:
        """The sessions' model calls priced as ``analytics.usage`` prices them (its ``priced_ctes`` SQL).

        Returns:
            Columns: ``message_id``, ``model`` (Utf8), ``prompt_tokens``, ``output_tokens`` (Int64), ``cost``
            (Decimal USD, null when unpriced), oldest first.
        """
        return run(
            self.scope,
            f"WITH {priced_ctes(self.prices(), 'TRUE')} "
            "SELECT CAST(message_id AS VARCHAR) AS message_id, model, CAST(prompt_tokens AS BIGINT) AS prompt_tokens, "
            "CAST(output_tokens AS BIGINT) AS output_tokens, "
            f"{usd('_cost_micro')} AS cost FROM priced_usage ORDER BY created_at, id",
        )

    def message_usage(self) -> tuple[pl.DataFrame, Decimal | None]:
        """The sessions' model calls summed per message id, and the cost of all of them (one query).

        Costs follow the rule of ``priced_sum``: a message's cost sums its priced calls.

        Returns:
            The frame, oldest message first: ``message_id``, ``model`` (Utf8, of the message's first call),
            ``requests``, ``unpriced_requests``, ``prompt_tokens``, ``output_tokens`` (Int64), ``cost`` (Decimal
            USD: the priced calls' sum, null when none is priced); and the total cost (0 without usage, None when
            no call is priced), as ``measures`` gives it for a single session.
        """
        priced = "price_source IS NOT NULL"
        frame = run(
            self.scope,
            f"WITH {priced_ctes(self.prices(), 'TRUE')} "
            "SELECT CAST(message_id AS VARCHAR) AS message_id, arg_min(model, created_at) AS model, "
            f"count(*) AS requests, CAST({unpriced_count(priced)} AS BIGINT) AS unpriced_requests, "
            "CAST(sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(sum(output_tokens) AS BIGINT) AS output_tokens, "
            f"{usd(priced_sum('_cost_micro', priced))} AS cost, "
            "grouping(message_id) AS _all "  # the grand total row of GROUPING SETS
            "FROM priced_usage GROUP BY GROUPING SETS ((message_id), ()) ORDER BY _all, min(created_at), message_id",
        )
        total = frame.filter(pl.col("_all") == 1).row(0, named=True)
        cost: Decimal | None = Decimal(0) if total["requests"] == 0 else total["cost"]
        return frame.filter(pl.col("_all") == 0).drop("_all"), cost

    def compactions(self) -> pl.DataFrame:
        """``analytics.compactions(store, session_id=...)`` of the first session (the same query)."""
        return run(self.scope, compactions_sql(self.sid))

    def executions(self) -> list[ToolExecution]:
        """The first session's executions, oldest first (ties by id)."""
        rows = self.scope.query(f"SELECT * FROM {self._one('tool_executions')} ORDER BY created_at, id")
        return [tables.execution_from_row(r) for r in rows.rows(named=True)]

    def stats(self, executions: list[ToolExecution]) -> SessionStats:
        """``session_stats`` of the first session (``compute_stats``, the rule every store applies)."""
        rows = self.scope.query(f"SELECT * FROM {self._one('usage_records')}").rows(named=True)
        usage = [tables.usage_from_row(r) for r in rows]
        stats: SessionStats = compute_stats(UUID(self.sid), self.message_count, executions, usage)
        return stats

    def page(self, offset: int, limit: int, executions: dict[tuple[str, str], ToolExecution]) -> TimelinePage:
        """Messages ``offset``..``offset + limit`` of the first session in store order (created_at, then seq).

        With the tool results answering their calls: those on the page, and the others (a call at the end of a
        page answered on the next one) by call id. Each text, JSON value and tool call's arguments is read cut to
        ``SHOWN_CHARS`` characters, its whole length in ``TimelinePage.lengths``.
        """
        columns = _shown_columns(SHOWN_CHARS)
        lengths: dict[str, tuple[list[int], list[int]]] = {}

        def record(row: dict[str, Any]) -> MessageRecord:
            parts, calls = row.pop("_part_lengths") or [], row.pop("_call_lengths") or []
            message = tables.message_from_row(row)
            lengths[str(message.id)] = ([int(n) for n in parts], [int(n) for n in calls])
            return message

        messages = [
            record(r)
            for r in self.scope.query(
                f"SELECT {columns} FROM {self._one('messages')} ORDER BY created_at, seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}"
            ).rows(named=True)
        ]
        results: dict[str, MessageRecord] = {}
        for m in messages:
            if m.tool_call_id is not None:
                results.setdefault(m.tool_call_id, m)
        missing = [c.id for m in messages for c in m.tool_calls if c.id not in results]
        if missing:
            calls = "(" + ", ".join(literal(c) for c in missing) + ")"
            for r in self.scope.query(
                f"SELECT {columns} FROM {self._one('messages')} WHERE tool_call_id IN {calls} ORDER BY created_at, seq"
            ).rows(named=True):
                result = record(r)
                results.setdefault(str(result.tool_call_id), result)
        return TimelinePage(messages, offset, self.message_count, results, executions, lengths)

    def message_text(self, message_id: str | UUID, start: int = 0, length: int | None = None) -> str | None:
        """The text of one of the first session's messages, or ``length`` characters of it from ``start`` (0-based).

        The text is its text parts joined by newlines, as the ``text`` column holds it; None when the session has no
        such message. Only the asked characters leave DuckDB.

        Raises:
            ValueError: ``start`` or ``length`` is negative.
        """
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        span = f"substr(text, {int(start) + 1})" if length is None else f"substr(text, {int(start) + 1}, {int(length)})"
        rows = self.scope.query(
            f"SELECT coalesce({span}, '') AS t FROM {self._one('messages')} "
            f"WHERE id = CAST({literal(str(UUID(str(message_id))))} AS UUID)"
        ).rows()
        return None if not rows else str(rows[0][0])


def executions_by_call(executions: list[ToolExecution]) -> dict[tuple[str, str], ToolExecution]:
    """Executions by (issuing message id, call id), the first recorded one per call."""
    out: dict[tuple[str, str], ToolExecution] = {}
    for e in executions:
        out.setdefault((str(e.message_id), e.call_id), e)
    return out


__all__ = ["SHOWN_CHARS", "SessionView", "TimelinePage", "executions_by_call", "session_measures_sql"]
