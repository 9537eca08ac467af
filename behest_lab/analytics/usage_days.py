"""Usage and cost per UTC day, model, provider and session, kept once and re-aggregated for interactive views.

``UsageDays`` is what ``widgets.UsageDashboard`` charts: the first question runs one ``grouped_costs_sql`` query
(the SQL ``analytics.costs`` runs) into a temporary table (``Store.temp_table``); every later question aggregates
that table, and Python gets one row per period and key. The numbers are those of ``analytics.costs(by=(period,
key), since=..., until=...)``.
"""

from __future__ import annotations

from datetime import date

import polars as pl

from behest_lab.analytics._costs import DAY_NUMBER, day_from_number, grouped_costs_sql, price_table_for, priced_sum
from behest_lab.analytics._quoting import literal
from behest_lab.analytics._sql import Conditions, check_choice, run
from behest_lab.stores.protocols import Store, TempTable

PERIODS = ("day", "week", "month")
"""Time buckets (UTC; ISO weeks start on Monday)."""

KEYS = ("model", "provider", "session_id")
"""What the rows are split by besides the period."""


class UsageDays:
    """A snapshot of the store's usage per (UTC day, model, provider, session), aggregated on demand.

    Args:
        store: a memory or lake store.
    """

    def __init__(self, store: Store) -> None:
        """Prepare the snapshot of ``store``; the first ``aggregate`` takes it."""
        self.store = store
        self._daily: TempTable | None = None

    def _table(self) -> str:
        if self._daily is None:
            keys = [
                ("day", DAY_NUMBER, day_from_number("{k}")),
                ("model", "model", "{k}"),
                ("provider", "provider", "{k}"),
                ("session_id", "session_id", "CAST({k} AS VARCHAR)"),
            ]
            grouped = grouped_costs_sql(price_table_for(self.store, "TRUE"), "TRUE", keys)
            self._daily = self.store.temp_table(
                "SELECT day, model, provider, session_id, requests, prompt_tokens, output_tokens, cost, "
                f"unpriced_requests FROM ({grouped})"
            )
        return self._daily.name

    def aggregate(self, period: str, key: str, since: date | None = None, until: date | None = None) -> pl.DataFrame:
        """Usage and cost by (``period``, ``key``) over the UTC days ``since``..``until`` (both inclusive).

        Returns:
            Sorted by period then key (nulls last). Columns: the period (named ``period``'s value, Date), the key
            (Utf8), ``requests``, ``prompt_tokens``, ``output_tokens`` (Int64), ``cost`` (Decimal(38,24) USD: the
            sum of the priced calls, null when none is priced), ``unpriced_requests`` (Int64).

        Raises:
            ValueError: an unknown ``period`` or ``key``.
        """
        check_choice(period, PERIODS, "period")
        check_choice(key, KEYS, "key")
        c = Conditions()
        if since is not None:
            c.add(f"day >= {literal(since)}")
        if until is not None:
            c.add(f"day <= {literal(until)}")
        bucket = "day" if period == "day" else f"CAST(date_trunc('{period}', day) AS DATE)"
        return run(
            self.store,
            f"""SELECT {bucket} AS {period}, {key}, CAST(sum(requests) AS BIGINT) AS requests,
  CAST(sum(prompt_tokens) AS BIGINT) AS prompt_tokens, CAST(sum(output_tokens) AS BIGINT) AS output_tokens,
  {priced_sum("cost", "cost IS NOT NULL")} AS cost,
  CAST(sum(unpriced_requests) AS BIGINT) AS unpriced_requests
FROM {self._table()} WHERE {c.sql()} GROUP BY ALL ORDER BY 1, 2 NULLS LAST""",
        )

    def drop(self) -> None:
        """Drop the snapshot (idempotent); the next ``aggregate`` takes a new one."""
        if self._daily is not None:
            daily, self._daily = self._daily, None
            daily.drop()
