"""One row per session: metadata, message and tool counts, tokens, cost, compactions; and the top sessions."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from behest_lab.analytics._costs import TOKEN_TOTALS, grouped_costs_sql, price_table_for, session_money
from behest_lab.analytics._quoting import json_pointer, literal
from behest_lab.analytics._sql import (
    MONEY_COLUMNS,
    Conditions,
    TimeBound,
    check_choice,
    fetch_rows,
    metadata_condition,
    run,
    with_money,
)
from behest_lab.pricing import Price
from behest_lab.stores.protocols import Store

DEFAULT_METADATA_FIELDS = 20
"""With ``metadata_fields=None``, the most common top-level metadata keys (up to this many) become columns."""

ROLES = ("system", "user", "assistant", "tool")

_BASE_COLUMNS = {
    "id",
    "title",
    "model",
    "metadata",
    "created_at",
    "updated_at",
    "duration",
    "messages",
    *(f"{r}_messages" for r in ROLES),
    "tool_calls",
    "tool_executions",
    "tool_failures",
    "compactions",
    "requests",
    "prompt_tokens",
    "uncached_input_tokens",
    "cache_read_tokens",
    "cache_write_tokens",
    "output_tokens",
    "input_cost",
    "output_cost",
    "cache_read_cost",
    "cache_write_cost",
    "cost",
    "unpriced_requests",
    "price_source",
    "price_version",
    "priced_at",
}


def metadata_keys(store: Store, limit: int = DEFAULT_METADATA_FIELDS) -> list[str]:
    """The most common top-level keys of session metadata objects (ties by name), at most ``limit``."""
    rows = fetch_rows(
        store,
        "SELECT k, count(*) AS n FROM (SELECT unnest(json_keys(metadata)) AS k FROM sessions "
        f"WHERE json_type(metadata) = 'OBJECT') GROUP BY k ORDER BY n DESC, k LIMIT {int(limit)}",
    )
    return sorted(str(k) for k, _ in rows)


def field_names(keys: Sequence[str]) -> list[str]:
    """The column name of each metadata field.

    The key itself, or ``metadata_<key>`` when the key equals a documented column or a name already taken, ignoring case
    (SQL names and most tools ignore it), and ``metadata_`` again until it is free. Keys are taken in the order given;
    documented columns never change name.
    """
    taken = {c.casefold() for c in _BASE_COLUMNS}
    names = []
    for key in keys:
        name = key
        while name.casefold() in taken:
            name = f"metadata_{name}"
        taken.add(name.casefold())
        names.append(name)
    return names


def sessions(
    store: Store,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    model: str | None = None,
    metadata: dict[str, Any] | None = None,
    prices: Sequence[Price] | None = None,
    metadata_fields: Sequence[str] | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """One row per session, most recently created first (ties by id).

    Filters: ``since`` (inclusive) / ``until`` (exclusive) on ``created_at``, the session ``model``, and
    ``metadata`` containment (the same rule as ``SessionFilter.metadata_filter``). Tokens and costs sum the session's
    model calls as ``behest_lab.analytics.usage`` lists them: its usage records plus the message usage no usage
    record covers (so a store imported from behest, which keeps usage only on messages, shows costs). A session's
    cost sums its priced calls, with the calls without a price counted in ``unpriced_requests`` (see
    ``behest_lab.analytics.costs``). ``exact=True`` gives the costs as exact ``Decimal(38,24)`` instead of ``Float64``.

    Returns:
        Columns: ``id``, ``title``, ``model`` (Utf8), ``metadata`` (Utf8 JSON text), one Utf8 column per metadata field
        (``metadata_fields``; default: the most common top-level keys; strings as is, other values as JSON text; a key
        equal to a column below or to an earlier field's name, ignoring case, is named ``metadata_<key>`` (see
        ``field_names``): the documented columns never change name), ``created_at``, ``updated_at`` (Datetime[us, UTC]),
        ``duration`` (Duration[us], updated - created), ``messages``, ``system_messages``, ``user_messages``,
        ``assistant_messages``, ``tool_messages`` (Int64), ``tool_calls`` (Int64, calls issued by assistant messages),
        ``tool_executions``, ``tool_failures`` (Int64, status failed), ``compactions`` (Int64, adjacent
        compaction/summary pairs), ``requests``, ``prompt_tokens``, ``uncached_input_tokens``, ``cache_read_tokens``,
        ``cache_write_tokens``, ``output_tokens`` (Int64), ``input_cost``, ``output_cost``, ``cache_read_cost``,
        ``cache_write_cost``, ``cost`` (Float64 USD, Decimal(38,24) with ``exact``; 0 for a session without usage, null
        when none of its usage is priced), ``unpriced_requests`` (Int64), ``price_source``, ``price_version`` (Utf8),
        ``priced_at`` (Datetime[us, UTC]). ``.to_pandas()`` / ``.to_arrow()`` convert it.
    """
    conds = Conditions().time_range("created_at", since, until).equals("model", model, "model")
    if metadata is not None:
        conds.add(metadata_condition("metadata", metadata))
    where = conds.sql()
    in_sessions = "TRUE" if where == "TRUE" else f"session_id IN (SELECT id FROM sessions WHERE {where})"
    fields = metadata_keys(store) if metadata_fields is None else list(dict.fromkeys(str(f) for f in metadata_fields))
    # keys reach SQL only as JSON Pointer literals and the columns get their names in polars, so no key (empty,
    # NUL, ``*``, quotes, a documented column's name in another case) is read as syntax
    extracted = "".join(
        f", json_extract_string(s.metadata, {literal(json_pointer([k]))}) AS _behest_field_{i}"
        for i, k in enumerate(fields)
    )
    table = price_table_for(store, in_sessions, prices)
    role_counts = ", ".join(f"count(*) FILTER (WHERE role = '{r}') AS {r}_messages" for r in ROLES)
    zero_tokens = ", ".join(f"coalesce(u.{c}, 0) AS {c}" for c in ("requests", *TOKEN_TOTALS, "unpriced_requests"))
    zero_money = ", ".join(f"{session_money('u', c)} AS {c}" for c in MONEY_COLUMNS)
    per_session = grouped_costs_sql(table, in_sessions, [("session_id", "session_id", "{k}")])
    query = f"""WITH s AS (SELECT * FROM sessions WHERE {where}),
m AS (
  SELECT session_id, count(*) AS messages, {role_counts},
    CAST(sum(len(tool_calls)) AS BIGINT) AS tool_calls
  FROM messages WHERE {in_sessions} GROUP BY session_id),
c AS (
  SELECT session_id, count(*) FILTER (WHERE is_compaction AND next_is_summary) AS compactions FROM (
    SELECT session_id, is_compaction,
      lead(is_summary) OVER (PARTITION BY session_id ORDER BY created_at, created_at_ns NULLS FIRST, seq)
        AS next_is_summary
    FROM messages WHERE {in_sessions}) GROUP BY session_id),
t AS (
  SELECT session_id, count(*) AS tool_executions, count(*) FILTER (WHERE status = 'failed') AS tool_failures
  FROM tool_executions WHERE {in_sessions} GROUP BY session_id),
u AS (SELECT * FROM ({per_session}))
SELECT CAST(s.id AS VARCHAR) AS id, s.title, s.model, CAST(s.metadata AS VARCHAR) AS metadata{extracted},
  s.created_at, s.updated_at, date_diff('microsecond', s.created_at, s.updated_at) AS duration,
  coalesce(m.messages, 0) AS messages, {", ".join(f"coalesce(m.{r}_messages, 0) AS {r}_messages" for r in ROLES)},
  coalesce(m.tool_calls, 0) AS tool_calls, coalesce(t.tool_executions, 0) AS tool_executions,
  coalesce(t.tool_failures, 0) AS tool_failures, coalesce(c.compactions, 0) AS compactions,
  {zero_tokens}, {zero_money},
  u.price_source, u.price_version, {literal(table.priced_at)} AS priced_at
FROM s LEFT JOIN m ON m.session_id = s.id LEFT JOIN c ON c.session_id = s.id
  LEFT JOIN t ON t.session_id = s.id LEFT JOIN u ON u.session_id = s.id
ORDER BY s.created_at DESC, s.id DESC"""
    frame = run(store, query).rename({f"_behest_field_{i}": name for i, name in enumerate(field_names(fields))})
    return with_money(frame.with_columns(pl.col("duration").cast(pl.Duration("us"))), exact)


TOP_BY = {
    "cost": "cost",
    "tokens": "total_tokens",
    "duration": "duration",
    "failures": "tool_failures",
}
"""``top_sessions(by=...)`` choices and the column each sorts on."""


def top_sessions(
    store: Store,
    by: str = "cost",
    n: int = 10,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    model: str | None = None,
    metadata: dict[str, Any] | None = None,
    prices: Sequence[Price] | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """The ``n`` sessions with the largest cost, tokens (prompt + output), duration or tool failures.

    Returns:
        The columns of ``sessions()`` (``exact`` as there) plus ``total_tokens`` (Int64, prompt + output), at most
        ``n`` rows sorted by the chosen measure descending (nulls last, ties by id; by cost, a session's priced
        calls: see ``unpriced_requests``).
    """
    check_choice(by, tuple(TOP_BY), "by")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"n: expected a non-negative integer, got {n!r}")
    frame = sessions(store, since=since, until=until, model=model, metadata=metadata, prices=prices, exact=exact)
    frame = frame.with_columns((pl.col("prompt_tokens") + pl.col("output_tokens")).alias("total_tokens"))
    return frame.sort([TOP_BY[by], "id"], descending=[True, True], nulls_last=True).head(n)
