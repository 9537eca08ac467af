"""The selected session of a ``SessionBrowser``: its rows copied once into DuckDB temporary tables.

On a lake store every scan of a lake table costs a catalog round trip (tens of ms) however few rows it reads, and
the session view used to need about ten of them (the session, its usage pricing, compactions, stats, executions,
the timeline page). ``SessionRows`` reads the session's ``messages``, ``usage_records`` and ``tool_executions``
rows with one filtered scan each into temporary tables; the usage pricing (``priced_ctes``, the SQL
``analytics.usage`` runs), the compaction pairs (``analytics.compactions_sql``), the stats (``compute_stats``,
the stores' rule) and every timeline page are then computed from those tables, by running the library SQL under
CTEs that shadow the table names with the session's rows; so is the price table (``price_table_for`` over the
session's usage). The session list uses the same for the measures of the sessions of one page.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, cast
from uuid import UUID

import polars as pl

from behest_lab.analytics._sql import run
from behest_lab.analytics.compaction import compactions_sql
from behest_lab.pricing import PriceTable, grouped_costs_sql, price_table_for, priced_ctes, priced_sum, usd
from behest_lab.pricing._sql import literal
from behest_lab.records import MessageRecord, SessionStats, ToolExecution
from behest_lab.stores import tables
from behest_lab.stores.protocols import Store
from behest_lab.stores.rules import compute_stats
from behest_lab.widgets._html import TEXT_LIMIT

_TABLES = ("messages", "usage_records", "tool_executions")

SHOWN_CHARS = TEXT_LIMIT
"""Characters of one text, JSON value or tool call's arguments a timeline page reads (as many as the HTML shows):
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


class _Scoped:
    """``store.sql`` with the table names shadowed by CTEs.

    Each query becomes ``WITH ... SELECT * FROM (query)``; for library functions that take a store and only run SELECTs
    through ``sql``, e.g. ``price_table_for``.
    """

    def __init__(self, store: Store, ctes: str) -> None:
        self._store, self._ctes = store, ctes

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        return self._store.sql(f"WITH {self._ctes} SELECT * FROM ({query})", params)


class SessionRows:
    """Sessions read from the store once: their rows of ``_TABLES`` in temporary tables.

    The price logic matches ``analytics.usage`` for the sessions' usage as long as their usage records point at
    messages of the same session (behest writes them so): the usage source's joins between usage records and
    messages then only ever pair rows of these sessions. The single-session views (``compactions``,
    ``executions``, ``stats``, ``page``) read the first session.

    Args:
        store: The store (its ``sql`` connection holds the temporary tables until ``drop``).
        sessions: ``(id, title, model)`` of each session, read by the caller; at least one.
    """

    def __init__(self, store: Store, sessions: Sequence[tuple[str, str | None, str | None]]) -> None:
        if not sessions:
            raise ValueError("sessions: give at least one session")
        self.store = store
        self.ids = [str(UUID(str(i))) for i, _, _ in sessions]
        self.sid = self.ids[0]
        self._name = f"behest_widgets_selected_{uuid.uuid4().hex}"
        # one id: an equality the scan prunes files and row groups with; several: a semi join on an unnested list
        # (its join filter prunes the scan too, where a long IN list is evaluated on every row: 20x slower)
        in_ids = (
            f"= CAST({literal(self.ids[0])} AS UUID)"
            if len(self.ids) == 1
            else "IN (SELECT unnest(CAST([" + ", ".join(literal(i) for i in self.ids) + "] AS UUID[])))"
        )
        self._made: list[str] = []
        try:
            for table in _TABLES:
                name = f"{self._name}_{table}"
                store.sql(f"CREATE TEMP TABLE {name} AS SELECT * FROM {table} WHERE session_id {in_ids}")
                self._made.append(name)
        except BaseException:
            self.drop()
            raise
        shadows = [f"{t} AS (SELECT * FROM {self._name}_{t})" for t in _TABLES]
        values = ", ".join(
            f"(CAST({literal(i)} AS UUID), CAST({literal(t)} AS VARCHAR), CAST({literal(m)} AS VARCHAR))"
            for i, (_, t, m) in zip(self.ids, sessions, strict=True)
        )
        shadows.append(f"sessions AS (SELECT * FROM (VALUES {values}) v(id, title, model))")
        self._ctes = ", ".join(shadows)
        self._prices: PriceTable | None = None
        sid = f"CAST({literal(self.sid)} AS UUID)"
        # the first session's rows of each table
        self._one = {t: f"(SELECT * FROM {self._name}_{t} WHERE session_id = {sid})" for t in _TABLES}
        self.message_count = self._scalar(f"SELECT count(*) FROM {self._one['messages']}")

    def prices(self) -> PriceTable:
        """``price_table_for`` the sessions' usage (built once)."""
        if self._prices is None:
            self._prices = price_table_for(cast(Store, _Scoped(self.store, self._ctes)), "TRUE")
        return self._prices

    def measures(self) -> dict[str, dict[str, Any]]:
        """Per session id, its cost, tokens and failures.

        ``cost`` (Decimal USD: the sum of its priced calls; 0 without usage, None when none of its usage is priced),
        ``tokens`` (prompt + output) and ``failures`` (failed tool executions), as ``analytics.sessions`` computes them.
        """
        per_session = grouped_costs_sql(self.prices(), "TRUE", [("session_id", "session_id", "{k}")])
        rows = self.store.sql(
            f"""WITH {self._ctes}, u AS ({per_session}),
t AS (SELECT session_id, count(*) FILTER (WHERE status = 'failed') AS failures FROM tool_executions GROUP BY ALL)
SELECT CAST(s.id AS VARCHAR), CASE WHEN u.session_id IS NULL THEN CAST(0 AS DECIMAL(38,24)) ELSE u.cost END,
  CAST(coalesce(u.prompt_tokens, 0) + coalesce(u.output_tokens, 0) AS BIGINT), CAST(coalesce(t.failures, 0) AS BIGINT)
FROM sessions s LEFT JOIN u ON u.session_id = s.id LEFT JOIN t ON t.session_id = s.id"""
        ).fetchall()
        return {r[0]: {"cost": r[1], "tokens": int(r[2]), "failures": int(r[3])} for r in rows}

    def _scalar(self, query: str) -> int:
        row = self.store.sql(query).fetchone()
        return 0 if row is None else int(row[0])

    def _dicts(self, query: str) -> list[dict[str, Any]]:
        rel = self.store.sql(query)
        names = rel.columns
        return [dict(zip(names, r, strict=True)) for r in rel.fetchall()]

    def usage(self) -> pl.DataFrame:
        """The sessions' model calls priced as ``analytics.usage`` prices them (its ``priced_ctes`` SQL).

        Columns: ``message_id``, ``model`` (Utf8), ``prompt_tokens``, ``output_tokens`` (Int64), ``cost`` (Decimal USD,
        null when unpriced), oldest first.
        """
        return run(
            self.store,
            f"WITH {self._ctes}, {priced_ctes(self.prices(), 'TRUE')} "
            "SELECT CAST(message_id AS VARCHAR) AS message_id, model, CAST(prompt_tokens AS BIGINT) AS prompt_tokens, "
            f"CAST(output_tokens AS BIGINT) AS output_tokens, "
            f"{usd('_cost_micro')} AS cost FROM priced_usage ORDER BY created_at, id",
        )

    def message_usage(self) -> tuple[pl.DataFrame, Decimal | None]:
        """The sessions' model calls summed per message id and in all, in one query.

        Priced as ``usage`` prices them, with the cost rule of ``behest_lab.pricing.priced_sum``.

        Returns:
            The frame, oldest message first: ``message_id``, ``model`` (Utf8, of the message's first call),
            ``requests``, ``unpriced_requests``, ``prompt_tokens``, ``output_tokens`` (Int64), ``cost`` (Decimal
            USD: the priced calls' sum, null when none is priced); and the total cost (0 without usage, None when
            no call is priced), as ``measures`` gives it for a single session.
        """
        frame = run(
            self.store,
            f"WITH {self._ctes}, {priced_ctes(self.prices(), 'TRUE')} "
            "SELECT CAST(message_id AS VARCHAR) AS message_id, arg_min(model, created_at) AS model, "
            "count(*) AS requests, count(*) FILTER (WHERE price_source IS NULL) AS unpriced_requests, "
            "CAST(sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(sum(output_tokens) AS BIGINT) AS output_tokens, "
            f"{usd(priced_sum('_cost_micro', 'price_source IS NOT NULL'))} AS cost, "
            "grouping(message_id) AS _all "  # the grand total row of GROUPING SETS
            "FROM priced_usage GROUP BY GROUPING SETS ((message_id), ()) ORDER BY _all, min(created_at), message_id",
        )
        total = frame.filter(pl.col("_all") == 1).row(0, named=True)
        cost: Decimal | None = Decimal(0) if total["requests"] == 0 else total["cost"]
        return frame.filter(pl.col("_all") == 0).drop("_all"), cost

    def compactions(self) -> pl.DataFrame:
        """``analytics.compactions(store, session_id=...)`` of the session (the same query)."""
        return run(self.store, f"WITH {self._ctes} SELECT * FROM ({compactions_sql(self.sid)})")

    def executions(self) -> list[ToolExecution]:
        """The session's executions, oldest first (ties by id)."""
        rows = self._dicts(f"SELECT * FROM {self._one['tool_executions']} ORDER BY created_at, id")
        return [tables.execution_from_row(r) for r in rows]

    def stats(self, executions: list[ToolExecution]) -> SessionStats:
        """``session_stats`` of the session (``compute_stats``, the rule every store applies)."""
        usage = [tables.usage_from_row(r) for r in self._dicts(f"SELECT * FROM {self._one['usage_records']}")]
        return compute_stats(UUID(self.sid), self.message_count, executions, usage)

    def page(self, offset: int, limit: int, executions: dict[tuple[str, str], ToolExecution]) -> TimelinePage:
        """Messages ``offset``..``offset + limit`` in store order (created_at, then seq), with their tool results.

        The results answering the page's calls are those on the page, and the others (a call at the end of a page
        answered on the next one) read by call id. Each text, JSON value and tool call's arguments is read cut to
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
            for r in self._dicts(
                f"SELECT {columns} FROM {self._one['messages']} ORDER BY created_at, seq "
                f"LIMIT {int(limit)} OFFSET {int(offset)}"
            )
        ]
        results: dict[str, MessageRecord] = {}
        for m in messages:
            if m.tool_call_id is not None:
                results.setdefault(m.tool_call_id, m)
        missing = [c.id for m in messages for c in m.tool_calls if c.id not in results]
        if missing:
            calls = "(" + ", ".join(literal(c) for c in missing) + ")"
            for r in self._dicts(
                f"SELECT {columns} FROM {self._one['messages']} WHERE tool_call_id IN {calls} ORDER BY created_at, seq"
            ):
                result = record(r)
                results.setdefault(str(result.tool_call_id), result)
        return TimelinePage(messages, offset, self.message_count, results, executions, lengths)

    def message_text(self, message_id: str, start: int = 0, length: int | None = None) -> str | None:
        """The text of one of the first session's messages, or ``length`` characters of it from ``start`` (0-based).

        The text is its text parts joined by newlines, as the ``text`` column holds it; None when the session has no
        such message. Only the asked characters leave DuckDB.
        """
        if start < 0 or (length is not None and length < 0):
            raise ValueError("start and length must not be negative")
        span = f"substr(text, {int(start) + 1})" if length is None else f"substr(text, {int(start) + 1}, {int(length)})"
        rows = self.store.sql(
            f"SELECT coalesce({span}, '') FROM {self._one['messages']} "
            f"WHERE id = CAST({literal(str(UUID(message_id)))} AS UUID)"
        ).fetchall()
        return None if not rows else str(rows[0][0])

    def drop(self) -> None:
        """Drop the temporary tables (idempotent)."""
        while self._made:
            self.store.sql(f"DROP TABLE IF EXISTS {self._made.pop()}")


def executions_by_call(executions: list[ToolExecution]) -> dict[tuple[str, str], ToolExecution]:
    """Executions by (issuing message id, call id), the first recorded one per call."""
    out: dict[tuple[str, str], ToolExecution] = {}
    for e in executions:
        out.setdefault((str(e.message_id), e.call_id), e)
    return out
