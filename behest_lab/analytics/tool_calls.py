"""Tool calls for interactive views: latency quantiles per tool, and the slowest and failed calls per tool.

``ToolCalls`` is what ``widgets.ToolExplorer`` shows beside ``analytics.tool_stats``: each date range keeps the
lists' candidates in a small temporary table (``Store.temp_table``), so choosing a tool reads no executions.
"""

from __future__ import annotations

from typing import Any

import polars as pl

from behest_lab.analytics._sql import Conditions, TimeBound, run
from behest_lab.stores.protocols import Store, TempTable

LIST_LIMIT = 25
"""Calls in the slowest and failed lists."""

LATENCY_QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
"""The quantiles ``tool_latency_quantiles`` gives (a box plot's whiskers, box and median)."""


def tool_latency_quantiles(store: Store, *, since: TimeBound = None, until: TimeBound = None) -> pl.DataFrame:
    """Latency quantiles of finished calls per tool (DuckDB aggregates: Python never sees the executions).

    ``since`` (inclusive) and ``until`` (exclusive) bound the execution's ``created_at``.

    Returns:
        One row per tool, by ``tool_name`` descending (the order a horizontal box plot draws bottom-up). Columns:
        ``tool_name`` (Utf8), ``q`` (List[Float64]: the ``LATENCY_QUANTILES`` of ``duration_ms``, interpolated
        linearly between order statistics).
    """
    where = Conditions().time_range("created_at", since, until).sql()
    quantiles = ", ".join(str(q) for q in LATENCY_QUANTILES)
    return run(
        store,
        f"SELECT tool_name, quantile_cont(CAST(duration_us AS DOUBLE) / 1000.0, [{quantiles}]) AS q "
        f"FROM tool_executions WHERE status <> 'pending' AND {where} GROUP BY tool_name ORDER BY tool_name DESC",
    )


class ToolCalls:
    """The slowest finished calls and the latest failed calls, per tool or over all tools, for one date range.

    ``select(since, until)`` keeps each tool's ``LIST_LIMIT`` slowest finished calls and ``LIST_LIMIT`` latest
    failed calls in a temporary table; ``lists(tool)`` then reads any tool's lists, or those over all tools (their
    top ``LIST_LIMIT`` lies within the union), without scanning the executions again. ``drop()`` frees the table.

    Args:
        store: a memory or lake store.
    """

    COLUMNS = ("id", "session_id", "tool_name", "status", "duration_us", "error", "created_at")
    """The fields of each listed call (ids as text)."""

    def __init__(self, store: Store) -> None:
        """Prepare the lists of ``store``; ``select`` reads them."""
        self.store = store
        self._calls: TempTable | None = None

    def select(self, since: TimeBound = None, until: TimeBound = None) -> None:
        """(Re)read the candidates of the range (``since`` inclusive, ``until`` exclusive, on ``created_at``)."""
        self.drop()
        where = Conditions().time_range("created_at", since, until).sql()
        # top-N aggregates over the narrow columns only (a bounded heap per tool: three times faster than ranking
        # every execution with row_number), then the wide rows of the few winners by id; the struct keys give the
        # lists' exact orders: duration descending then id, start descending then id
        self._calls = self.store.temp_table(
            f"""WITH e AS (SELECT id, tool_name, status, duration_us, created_at FROM tool_executions
           WHERE status <> 'pending' AND {where}),
r AS (SELECT unnest(min_by(id, {{'d': -duration_us, 'i': id}}, {LIST_LIMIT})) AS id FROM e GROUP BY tool_name),
f AS (SELECT unnest(min_by(id, {{'t': -epoch_us(created_at), 'i': id}}, {LIST_LIMIT})) AS id FROM e
      WHERE status = 'failed' GROUP BY tool_name)
SELECT id, session_id, tool_name, status, duration_us, error, created_at FROM tool_executions
WHERE id IN (SELECT id FROM r UNION SELECT id FROM f)"""
        )

    def lists(self, tool: str | None = None) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
        """The slowest finished calls and the latest failed calls of ``tool`` (None: every tool).

        Returns:
            Two lists of at most ``LIST_LIMIT`` tuples of ``COLUMNS``: by duration descending, and by start
            descending (ties by id). Empty before ``select``.
        """
        if self._calls is None:
            return [], []
        c = Conditions().equals("tool_name", tool, "tool").sql()
        cols = "CAST(id AS VARCHAR), CAST(session_id AS VARCHAR), tool_name, status, duration_us, error, created_at"
        name = self._calls.name
        slow = self.store.query(
            f"SELECT {cols} FROM {name} WHERE {c} ORDER BY duration_us DESC, id LIMIT {LIST_LIMIT}"
        ).rows()
        failed = self.store.query(
            f"SELECT {cols} FROM {name} WHERE status = 'failed' AND {c} ORDER BY created_at DESC, id LIMIT {LIST_LIMIT}"
        ).rows()
        return slow, failed

    def drop(self) -> None:
        """Drop the candidates' table (idempotent)."""
        if self._calls is not None:
            calls, self._calls = self._calls, None
            calls.drop()
