"""Costs in SQL.

The usage source, token normalisation per provider, the join with the price table, and the one rule for unpriced calls.
Price data, lookup and overrides live in ``behest_lab.pricing``.

Token normalisation (one rule, used by every cost and token column of ``behest_lab.analytics``):

* **Anthropic-style** rows (provider ``anthropic``, or a model name containing ``claude``: Bedrock and Vertex pass
  Anthropic's usage through): ``input_tokens`` EXCLUDES the cache; ``cache_read_input_tokens`` and
  ``cache_creation_input_tokens`` are separate. uncached = ``input_tokens``, cache read =
  ``cache_read_input_tokens``, cache write = ``cache_creation_input_tokens``.
* **OpenAI-style** rows (every other provider: OpenAI, Azure, Google, DeepSeek, ...): ``input_tokens`` INCLUDES the
  cached prompt tokens. cache read = ``cached_input_tokens`` (else ``cache_read_input_tokens``, as DeepSeek reports
  cache hits), cache write = ``cache_creation_input_tokens``, uncached = input - cache read - cache write. A row
  whose cache counts exceed its ``input_tokens`` is corrupt and raises ``DataCorruptionError`` naming its id.

Missing counters count as 0. ``prompt_tokens`` = uncached + cache read + cache write: all tokens sent, which also
selects the long-context tier. Each kind is priced at its own rate (USD per million tokens).

The price table is a ``VALUES`` relation inside the query (``_pairs``: one row per (provider, model) and price
period, gaps and unknown pairs included with NULL prices, tiers as columns), so the same SQL runs on every
backend's ``Store.query``. Usage rows find their row with a hash join on (provider, model) plus the UTC day range,
which also carries the pair's token style (decided once per pair, not per row). Aggregates sum tokens per group,
period and tier in integers and multiply only those sums by the rates: cost is linear within a period and tier.
Money is ``DECIMAL(38,18)`` micro-dollars inside the query and exact ``DECIMAL(38,24)`` USD in results: scaling by a
multiplication keeps it exact and cheap, while a cast down to fewer decimals costs about 1.6 µs per value in DuckDB
1.5 (seconds for a per-session aggregate of 10M rows).

The usage source (``usage_source_sql``): every ``usage_records`` row (``source = 'usage_record'``) plus one row per
message with usage whose id no usage record names as ``message_id`` (``source = 'message_usage'``): behest's own
runtime records token usage only on assistant messages, never as usage records. A message row takes ``id`` and
``message_id`` = the message id, ``model`` = its session's model, ``provider`` inferred from that model
(``behest_lab.pricing.infer_providers``; NULL when unknown: the row is then unpriced), ``created_at`` = the
message's, and the message's six counters. Cache counters recovered from the message usage: behest's SQL
``usage_records`` table has no cache columns, so a usage record whose three cache counters are all NULL takes its
message's cache counters when that message's usage reports some and agrees on ``input_tokens`` and
``output_tokens`` (the same model call); ``cache_recovered`` marks those rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from behest_lab.analytics._quoting import literal
from behest_lab.pricing import (
    EPOCH,
    PRICE_KEYS,
    Price,
    PriceRow,
    PriceTable,
    build_price_table,
    infer_providers,
    token_style,
)
from behest_lab.stores.fields import TOKEN_COUNTERS

if TYPE_CHECKING:
    from behest_lab.stores.protocols import SessionScope, Store

_DAY_US = 86_400_000_000
_FOREVER = 2**62
"""Day number bounds of open-ended periods."""

CORRUPT_MARKER = "behest_lab: corrupt usage row"
"""Prefix of the SQL ``error()`` raised for an OpenAI-style row whose cache counts exceed its input tokens; the
table (``usage_records`` or ``messages``) and the row id follow."""

DAY_NUMBER = "_day"
"""Column of ``_joined`` with the UTC day of a usage row as days since 1970-01-01 (BIGINT)."""


def day_from_number(expr: str) -> str:
    """SQL DATE of a UTC day number."""
    return f"(DATE '1970-01-01' + CAST({expr} AS INTEGER))"


USAGE_COUNTERS = tuple(TOKEN_COUNTERS)
"""The six token counters of ``usage_records`` and of message usage (``stores.fields.TOKEN_COUNTERS``, where the
columns are defined): the one list every token sum above the stores (analytics, widgets, the CLI) is written from."""

TOKEN_TOTALS = ("prompt_tokens", "uncached_input_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens")
"""The normalised token sums of a group of model calls (``grouped_costs_sql``, ``analytics.costs``,
``analytics.sessions``): prompt = uncached + cache read + cache write."""

_CACHE_COUNTERS = USAGE_COUNTERS[3:]


def usage_source_sql(model_providers: dict[str, str | None] | None, *, recover_cache: bool = True) -> str:
    """A SELECT of the usage source (see the module docstring).

    Columns: ``id``, ``session_id``, ``message_id`` (UUID), ``provider``, ``model`` (VARCHAR), the six
    ``USAGE_COUNTERS``, ``created_at`` (TIMESTAMPTZ), ``source`` (VARCHAR, ``'usage_record'`` or
    ``'message_usage'``), ``cache_recovered`` (BOOLEAN). ``model_providers`` maps session models to their
    inferred provider; ``None`` means the relation set has no ``messages`` table (usage records only).
    ``recover_cache=False`` skips the cache-counter recovery join (the cache columns and ``cache_recovered`` are then
    the usage records' own, FALSE) for queries that need only the rows' keys, such as the pairs to price.
    """
    records = _records_sql(recover_cache and model_providers is not None)
    if model_providers is None:
        return records
    if model_providers:
        pairs = ", ".join(f"({literal(m)}, {literal(p)})" for m, p in sorted(model_providers.items()))
        providers = (
            "SELECT CAST(model AS VARCHAR) AS model, CAST(provider AS VARCHAR) AS provider "
            f"FROM (VALUES {pairs}) v(model, provider)"
        )
    else:
        providers = "SELECT CAST(NULL AS VARCHAR) AS model, CAST(NULL AS VARCHAR) AS provider WHERE FALSE"
    return f"""{records}
UNION ALL
SELECT m.id, m.session_id, m.id AS message_id, mp.provider, s.model, {", ".join(f"m.{c}" for c in USAGE_COUNTERS)},
  m.created_at, 'message_usage' AS source, FALSE AS cache_recovered
FROM messages m
  -- an ANTI JOIN: about 4x faster than the equivalent NOT EXISTS in DuckDB 1.5
  ANTI JOIN usage_records r ON r.message_id = m.id
  JOIN sessions s ON s.id = m.session_id
  LEFT JOIN ({providers}) mp ON mp.model = s.model
WHERE m.input_tokens IS NOT NULL"""


def _records_sql(recover_cache: bool) -> str:
    """The ``usage_records`` part of the usage source, with or without the cache-counter recovery join."""
    if not recover_cache:
        return (
            f"SELECT id, session_id, message_id, provider, model, {', '.join(USAGE_COUNTERS)}, created_at, "
            "'usage_record' AS source, FALSE AS cache_recovered FROM usage_records"
        )
    recovered = "(m.id IS NOT NULL AND " + " AND ".join(f"r.{c} IS NULL" for c in _CACHE_COUNTERS) + ")"
    counters = ", ".join(
        f"CASE WHEN {recovered} THEN m.{c} ELSE r.{c} END AS {c}" if c in _CACHE_COUNTERS else f"r.{c}"
        for c in USAGE_COUNTERS
    )
    return f"""SELECT r.id, r.session_id, r.message_id, r.provider, r.model, {counters}, r.created_at,
  'usage_record' AS source, {recovered} AS cache_recovered
FROM usage_records r
  -- only messages with cache counters can give any; equal input and output tokens check it is the same call
  LEFT JOIN (SELECT id, input_tokens, output_tokens, {", ".join(_CACHE_COUNTERS)} FROM messages
             WHERE {" OR ".join(f"{c} IS NOT NULL" for c in _CACHE_COUNTERS)}) m
    ON m.id = r.message_id AND m.input_tokens = r.input_tokens AND m.output_tokens = r.output_tokens"""


def _periods(table: PriceTable) -> tuple[list[list[object]], int]:
    """Rows of ``_pairs`` (see ``pairs_values_sql``) and the largest number of tiers."""
    by_pair: dict[tuple[str, str], dict[date, tuple[PriceRow, list[PriceRow]]]] = {p: {} for p in table.pairs}
    for r in table.rows:
        periods = by_pair.setdefault((r.provider, r.model), {})
        if r.tier_start is None:
            periods[r.effective_from] = (r, periods.get(r.effective_from, (r, []))[1])
    for r in table.rows:
        if r.tier_start is not None:
            by_pair[(r.provider, r.model)][r.effective_from][1].append(r)
    n = max((len(ts) for ps in by_pair.values() for _, ts in ps.values()), default=0)
    rows: list[list[object]] = []
    for (provider, model), periods in sorted(by_pair.items()):
        style = token_style(provider, model)
        starts = sorted(periods)
        bounds = [(d - EPOCH).days for d in starts]
        if not starts or bounds[0] > -_FOREVER:  # before the first price (or no price at all): unpriced
            rows.append([provider, model, style, -_FOREVER, bounds[0] if starts else _FOREVER, None, None, None]
                        + [None] * (4 + 5 * n))  # fmt: skip
        for i, day in enumerate(starts):
            base, tiers = periods[day]
            tiers = sorted(tiers, key=lambda t: t.tier_start or 0)
            row: list[object] = [provider, model, style, bounds[i], bounds[i + 1] if i + 1 < len(starts) else _FOREVER]
            row += [day, base.price_source, base.price_version, *(base.rates[k] for k in PRICE_KEYS)]
            for j in range(n):
                row += [tiers[j].tier_start, *(tiers[j].rates[k] for k in PRICE_KEYS)] if j < len(tiers) else [None] * 5
            rows.append(row)
    return rows, n


def pairs_values_sql(table: PriceTable) -> tuple[str, int]:
    """The ``_pairs`` relation and its number of tier column groups.

    Columns: ``_pid`` (BIGINT row id), provider, model, token_style VARCHAR, ``_from_day``, ``_to_day`` (BIGINT UTC
    day numbers, half-open), effective_from DATE, price_source, price_version VARCHAR (NULL: no price), input_mtok,
    output_mtok, cache_read_mtok, cache_write_mtok DECIMAL(38,18), then per tier ``i`` (1-based, ascending)
    ``t{i}_start`` BIGINT and ``t{i}_input_mtok`` ... ``t{i}_cache_write_mtok``.
    """
    rows, n = _periods(table)
    dec = "DECIMAL(38,18)"
    names = ["provider", "model", "token_style", "_from_day", "_to_day", "effective_from", "price_source",
             "price_version", *(f"{k}_mtok" for k in PRICE_KEYS)]  # fmt: skip
    types = ["VARCHAR", "VARCHAR", "VARCHAR", "BIGINT", "BIGINT", "DATE", "VARCHAR", "VARCHAR", *([dec] * 4)]
    for i in range(1, n + 1):
        names += [f"t{i}_start", *(f"t{i}_{k}_mtok" for k in PRICE_KEYS)]
        types += ["BIGINT", *([dec] * 4)]
    typed = ", ".join(f"CAST({c} AS {t}) AS {c}" for c, t in zip(names, types, strict=True))
    cols = ", ".join(names)
    if not rows:
        nulls = ", ".join(["NULL"] * len(names))
        return f"SELECT 0 AS _pid, {typed} FROM (VALUES ({nulls})) v({cols}) WHERE FALSE", n
    values = ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    return f"SELECT row_number() OVER () AS _pid, {typed} FROM (VALUES {values}) v({cols})", n


def _by_tier(n: int, column: str) -> str:
    """``column`` of the row's tier (``_tier``: 0 base, ``i`` tier ``i``) from a ``_pairs`` row aliased ``p``."""
    if n == 0:
        return f"p.{column}"
    whens = " ".join(f"WHEN {i} THEN p.t{i}_{column}" for i in range(1, n + 1))
    return f"CASE _tier {whens} ELSE p.{column} END"


def usd(micro: str) -> str:
    """SQL turning a ``DECIMAL(38,18)`` micro-dollar expression into ``DECIMAL(38,24)`` USD (exact, no float)."""
    return f"(({micro}) * CAST(0.000001 AS DECIMAL(7,6)))"


_STYLE = "coalesce(p.token_style, CASE WHEN lower(u.model) LIKE '%claude%' THEN 'anthropic' ELSE 'openai' END)"


def priced_ctes(table: PriceTable, usage_where: str) -> str:
    """CTE definitions (for ``WITH``) ending in ``priced_usage``.

    ``_joined``: the rows of the usage source (``usage_source_sql`` of ``table.model_providers``) matching
    ``usage_where`` (a SQL condition over its columns), normalised
    (``token_style``, ``uncached_input_tokens``, ``cache_read_tokens``, ``cache_write_tokens``, ``prompt_tokens``,
    BIGINT), with ``_day``, ``_pid``, ``_tier`` (INTEGER), ``price_effective_from``, ``tier_start``,
    ``price_source``, ``price_version``. ``priced_usage``: the same with ``priced_at`` and the micro-dollar costs
    ``_input_micro``, ``_output_micro``, ``_cache_read_micro``, ``_cache_write_micro``, ``_cost_micro`` (NULL when
    unpriced).
    """
    values, n = pairs_values_sql(table)
    tier = (
        "0"
        if n == 0
        else "CASE " + " ".join(f"WHEN prompt_tokens > t{i}_start THEN {i}" for i in range(n, 0, -1)) + " ELSE 0 END"
    )
    tier_start = (
        "NULL" if n == 0 else "CASE _tier " + " ".join(f"WHEN {i} THEN t{i}_start" for i in range(1, n + 1)) + " END"
    )
    tier_cols = ", ".join(f"p.t{i}_start" for i in range(1, n + 1))
    micro = {
        k: f"CAST({col} AS DECIMAL(18,0)) * {_by_tier(n, f'{k}_mtok')}"
        for k, col in (("input", "uncached_input_tokens"), ("output", "output_tokens"),
                       ("cache_read", "cache_read_tokens"), ("cache_write", "cache_write_tokens"))
    }  # fmt: skip
    return f"""
_pairs AS ({values}),
_matched AS (
  SELECT u.*, p._pid,
    -- no price row (a NULL provider): the style follows the model name alone, as token_style() would
    {_STYLE} AS token_style, p.effective_from AS price_effective_from,
    p.price_source, p.price_version{", " + tier_cols if tier_cols else ""},
    CAST(CASE WHEN {_STYLE} = 'anthropic' THEN coalesce(u.cache_read_input_tokens, 0)
         ELSE coalesce(u.cached_input_tokens, u.cache_read_input_tokens, 0) END AS BIGINT) AS cache_read_tokens,
    CAST(coalesce(u.cache_creation_input_tokens, 0) AS BIGINT) AS cache_write_tokens
  FROM (SELECT *, CAST(epoch_us(created_at) // {_DAY_US} AS BIGINT) AS _day
        FROM ({usage_source_sql(table.model_providers)}) WHERE {usage_where}) u
  -- hash join on the pair, then the period's day range (integer UTC day numbers: no time-zone work per row)
  LEFT JOIN _pairs p ON u.provider = p.provider AND u.model = p.model AND u._day >= p._from_day AND u._day < p._to_day),
_normalised AS (
  SELECT *,
    CASE WHEN token_style = 'anthropic' THEN CAST(input_tokens AS BIGINT)
         WHEN CAST(input_tokens AS BIGINT) >= cache_read_tokens + cache_write_tokens
           THEN CAST(input_tokens AS BIGINT) - cache_read_tokens - cache_write_tokens
         ELSE error('{CORRUPT_MARKER} ' || CASE source WHEN 'message_usage' THEN 'messages' ELSE 'usage_records' END
                    || ' ' || CAST(id AS VARCHAR) || ': cached prompt tokens ('
                    || (cache_read_tokens + cache_write_tokens) || ') exceed input_tokens (' || input_tokens
                    || ') of an OpenAI-style row') END AS uncached_input_tokens
  FROM _matched),
_joined AS (
  SELECT *{" EXCLUDE (" + tier_cols.replace("p.", "") + ")" if tier_cols else ""},
    CAST({tier} AS INTEGER) AS _tier, CAST({tier_start} AS BIGINT) AS tier_start
  FROM (SELECT *, uncached_input_tokens + cache_read_tokens + cache_write_tokens AS prompt_tokens FROM _normalised)),
priced_usage AS (
  SELECT j.* EXCLUDE (_day, _pid, _tier), {literal(table.priced_at)} AS priced_at,
    {", ".join(f"{expr} AS _{k}_micro" for k, expr in micro.items())},
    _input_micro + _output_micro + _cache_read_micro + _cache_write_micro AS _cost_micro
  FROM _joined j LEFT JOIN _pairs p ON p._pid = j._pid)"""


def priced_sum(value: str, priced: str) -> str:
    """SQL aggregate of the cost of a group of model calls: THE rule every cost of behest_lab follows.

    The sum of ``value`` over the group's rows where ``priced`` (a SQL condition) holds: a group mixing priced and
    unpriced calls reports the priced calls' sum (the callers put the count of the others beside it as
    ``unpriced_requests``), and a group without any priced call is NULL, never 0. ``price_table_for`` warns once
    (``UnknownModelWarning``) naming the unpriced models. Re-aggregating groups that already follow the rule is the
    same rule with ``priced = "cost IS NOT NULL"``.
    """
    return f"sum({value}) FILTER (WHERE {priced})"


def session_money(group: str, column: str) -> str:
    """A session's USD ``column`` from its row ``group`` of a per-session ``grouped_costs_sql``.

    The rule of every per-session cost (``analytics.sessions``, ``session_measures_sql``): 0 for a session without
    usage (no row), else the group's value (NULL when none of its calls is priced).
    """
    return f"CASE WHEN {group}.session_id IS NULL THEN CAST(0 AS DECIMAL(38,24)) ELSE {group}.{column} END"


def unpriced_count(priced: str, requests: str = "1") -> str:
    """SQL aggregate counting a group's calls without a price (``unpriced_requests``), the companion of ``priced_sum``.

    ``requests`` is the number of calls a row stands for.
    """
    return f"sum(CASE WHEN {priced} THEN 0 ELSE {requests} END)"


def priced_total(column: str = "cost") -> pl.Expr:
    """``priced_sum`` in polars, for rows that already follow it (groups merged again).

    The sum of the non-null values, null when every one is null (or there is none), never 0 for nothing known;
    the alias is ``column``. The same rule totals counters that some calls do not report (``token_counts``).
    """
    return pl.when(pl.col(column).count() > 0).then(pl.col(column).sum()).otherwise(None).alias(column)


def _distinct(column: str) -> str:
    """The distinct values of ``column`` in a group joined by ``,``.

    Min and max suffice, as a group mixes at most two (genai-prices' and the user's); far cheaper than a per-group
    ``string_agg(DISTINCT ...)``.
    """
    return f"CASE WHEN min({column}) = max({column}) THEN min({column}) ELSE min({column}) || ',' || max({column}) END"


def grouped_costs_sql(table: PriceTable, usage_where: str, keys: list[tuple[str, str, str]]) -> str:
    """A full query of usage and cost per group, pricing aggregated token sums instead of every row.

    Rows are summed per group, price period (``_pid``) and tier in integers; only those sums are multiplied by the
    decimal rates. ``keys`` are ``(name, row_expr, output_expr)``: ``row_expr`` over a ``_joined`` row (cheap and
    at least as fine as the output key), ``output_expr`` a format string over ``{k}``, the grouped ``row_expr``;
    the final grouping is by the outputs.

    Columns: the keys, ``requests``, ``prompt_tokens``, ``uncached_input_tokens``, ``cache_read_tokens``,
    ``cache_write_tokens``, ``output_tokens`` (BIGINT), ``input_cost``, ``output_cost``, ``cache_read_cost``,
    ``cache_write_cost``, ``cost`` (DECIMAL(38,24) by ``priced_sum``: the priced rows' sum, NULL when no row of
    the group is priced), ``unpriced_requests`` (BIGINT, the group's rows without a price), ``price_source``,
    ``price_version`` (distinct values joined by ``,``), ``priced_at`` (TIMESTAMPTZ).
    """
    _, n = pairs_values_sql(table)
    inner = [f"_k{i}" for i in range(len(keys))]
    stage_keys = ", ".join(f"{expr} AS {k}" for k, (_, expr, _) in zip(inner, keys, strict=True))
    out_keys = ", ".join(f"{out.format(k=k)} AS {name}" for k, (name, _, out) in zip(inner, keys, strict=True))
    tokens = TOKEN_TOTALS
    micro = {
        k: f"CAST(s.{col} AS DECIMAL(38,0)) * {_by_tier(n, f'{k}_mtok')}"
        for k, col in (("input", "uncached_input_tokens"), ("output", "output_tokens"),
                       ("cache_read", "cache_read_tokens"), ("cache_write", "cache_write_tokens"))
    }  # fmt: skip
    priced = "p.price_source IS NOT NULL"
    unpriced = unpriced_count(priced, "s.requests")

    def money(expr: str) -> str:
        return usd(priced_sum(expr, priced))

    return f"""WITH {priced_ctes(table, usage_where)},
_stage AS (
  SELECT {stage_keys}, _pid, _tier, count(*) AS requests, {", ".join(f"sum({c}) AS {c}" for c in tokens)}
  FROM _joined GROUP BY ALL)
SELECT {out_keys},
  CAST(sum(s.requests) AS BIGINT) AS requests,
  {", ".join(f"CAST(sum(s.{c}) AS BIGINT) AS {c}" for c in tokens)},
  {", ".join(f"{money(micro[k])} AS {k}_cost" for k in PRICE_KEYS)},
  {money(" + ".join(micro[k] for k in PRICE_KEYS))} AS cost,
  CAST({unpriced} AS BIGINT) AS unpriced_requests,
  {_distinct("p.price_source")} AS price_source,
  {_distinct("p.price_version")} AS price_version,
  {literal(table.priced_at)} AS priced_at
FROM _stage s LEFT JOIN _pairs p ON p._pid = s._pid
GROUP BY {", ".join(str(i + 1) for i in range(len(keys)))}"""


def message_usage_models(store: Store | SessionScope) -> list[str] | None:
    """The distinct session models of messages with usage.

    ``None`` when the relation set has no ``messages`` table (e.g. bare Parquet views of ``usage_records``), whose usage
    source is then the usage records alone.
    """
    try:
        frame = store.query(
            "SELECT DISTINCT s.model FROM messages m JOIN sessions s ON s.id = m.session_id "
            "WHERE m.input_tokens IS NOT NULL"
        )
    except duckdb.CatalogException as exc:
        if "messages" not in str(exc):
            raise
        return None
    return [str(m) for m in frame.to_series() if m is not None]


def price_table_for(
    store: Store | SessionScope, usage_where: str = "TRUE", prices: Sequence[Price] | None = None
) -> PriceTable:
    """The price rows for the distinct ``(provider, model)`` of the usage source matching ``usage_where``.

    The usage source is the usage records plus the message usage no record covers (``usage_source_sql``); the
    providers of message usage are inferred per session model first (``infer_providers``). One aggregate query
    finds the pairs and their first usage day; warns (``UnknownModelWarning``) once about unpriced pairs.
    """
    models = message_usage_models(store)
    providers = None if models is None else infer_providers(models, prices)
    pairs = store.query(
        "SELECT provider, model, min(created_at) AS first "
        f"FROM ({usage_source_sql(providers, recover_cache=False)}) WHERE {usage_where} GROUP BY provider, model"
    ).rows()
    table = build_price_table([(p, m, None if t is None else t.astimezone(UTC).date()) for p, m, t in pairs], prices)
    table.model_providers = providers
    return table
