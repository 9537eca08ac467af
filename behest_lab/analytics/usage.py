"""Usage rows with their cost, and costs aggregated by time, model, provider or session.

The usage is every usage record plus one row per message with usage that no usage record covers (behest's own
runtime records token usage only on assistant messages); such a row's model is its session's, its provider is
inferred from the model (``behest_lab.pricing.infer_providers``: a user ``Price`` naming a provider for the model,
else genai-prices' model matching, else NULL and unpriced). A usage record without cache counters (behest's SQL
``usage_records`` table has no cache columns) takes them from its message's usage when that reports them for the
same call. Token normalisation (Anthropic-style rows exclude the cache from ``input_tokens``, OpenAI-style rows
include it), the usage source and the price join are described in ``behest_lab.analytics._costs``; prices come from
``behest_lab.pricing``.
"""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import polars as pl

from behest_lab.analytics._costs import (
    DAY_NUMBER,
    USAGE_COUNTERS,
    day_from_number,
    grouped_costs_sql,
    price_table_for,
    priced_ctes,
    priced_total,
    usd,
)
from behest_lab.analytics._sql import MONEY_COLUMNS, Conditions, TimeBound, run, with_money
from behest_lab.pricing import Price
from behest_lab.stores.protocols import Store

COST_BY = ("day", "week", "month", "model", "provider", "session")
"""Keys ``costs(by=...)`` accepts."""

_DAY = day_from_number("{k}")
_KEYS = {  # costs(by=...) key -> (row expression over _joined, output expression over {k})
    "day": (DAY_NUMBER, _DAY),
    "week": (DAY_NUMBER, f"CAST(date_trunc('week', {_DAY}) AS DATE)"),
    "month": (DAY_NUMBER, f"CAST(date_trunc('month', {_DAY}) AS DATE)"),
    "model": ("model", "{k}"),
    "provider": ("provider", "{k}"),
    "session": ("session_id", "CAST({k} AS VARCHAR)"),
}
_KEY_NAME = {"session": "session_id"}
_MICRO = ("_input_micro", "_output_micro", "_cache_read_micro", "_cache_write_micro", "_cost_micro")
"""The ``priced_usage`` micro-dollar columns of ``MONEY_COLUMNS``, in order."""


def usage_conditions(
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session_id: UUID | str | None = None,
    model: str | None = None,
    provider: str | None = None,
) -> str:
    """SQL condition over the usage source for the shared filters (``since`` inclusive, ``until`` exclusive).

    The usage source is ``behest_lab.analytics._costs.usage_source_sql``.
    """
    c = Conditions().time_range("created_at", since, until)
    c.uuid("session_id", session_id, "session_id").equals("model", model, "model").equals(
        "provider", provider, "provider"
    )
    return c.sql()


def usage(
    store: Store,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session_id: UUID | str | None = None,
    model: str | None = None,
    provider: str | None = None,
    prices: Sequence[Price] | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """Every model call with normalised token counts and its cost, oldest first.

    The usage records plus the message usage no usage record covers (see the module docstring; ``source`` tells them
    apart).

    Token normalisation: ``token_style`` is ``"anthropic"`` for provider ``anthropic`` or a model name containing
    ``claude`` (``input_tokens`` excludes cache reads and writes, reported in ``cache_read_input_tokens`` and
    ``cache_creation_input_tokens``), else ``"openai"`` (``input_tokens`` includes ``cached_input_tokens``; uncached
    = input - cached). Unpriced rows (see ``UnknownModelWarning``) have null costs. ``exact=True`` gives the costs
    as exact ``Decimal(38,24)`` instead of ``Float64``.

    Returns:
        One row per model call. Columns: ``id`` (the usage record's id, or the message's for message usage),
        ``session_id``, ``message_id`` (Utf8), ``provider`` (Utf8; null when message usage names a model whose
        provider is unknown), ``model`` (Utf8), ``created_at`` (Datetime[us, UTC]), ``source`` (Utf8,
        ``"usage_record"`` or ``"message_usage"``), ``cache_recovered`` (Boolean: a usage record's cache counters
        were recovered from the message usage), the counters ``input_tokens``, ``output_tokens``,
        ``total_tokens``, ``cache_creation_input_tokens``, ``cache_read_input_tokens``, ``cached_input_tokens``
        (Int64, null when not reported), ``token_style`` (Utf8), ``uncached_input_tokens``, ``cache_read_tokens``,
        ``cache_write_tokens``, ``prompt_tokens`` (Int64), ``input_cost``, ``output_cost``, ``cache_read_cost``,
        ``cache_write_cost``, ``cost`` (Float64 USD; Decimal(38,24) with ``exact``), ``price_effective_from``
        (Date), ``tier_start`` (Int64), ``price_source``, ``price_version`` (Utf8), ``priced_at`` (Datetime[us,
        UTC]).
        ``.to_pandas()`` / ``.to_arrow()`` convert the frame.
    """
    where = usage_conditions(since=since, until=until, session_id=session_id, model=model, provider=provider)
    table = price_table_for(store, where, prices)
    counters = ", ".join(f"CAST({c} AS BIGINT) AS {c}" for c in USAGE_COUNTERS)
    query = f"""WITH {priced_ctes(table, where)}
SELECT CAST(id AS VARCHAR) AS id, CAST(session_id AS VARCHAR) AS session_id,
  CAST(message_id AS VARCHAR) AS message_id, provider, model, created_at, source, cache_recovered, {counters},
  token_style, uncached_input_tokens, cache_read_tokens, cache_write_tokens, prompt_tokens,
  {", ".join(f"{usd(m)} AS {c}" for c, m in zip(MONEY_COLUMNS, _MICRO, strict=True))},
  price_effective_from, tier_start, price_source, price_version, priced_at
FROM priced_usage ORDER BY created_at, id"""
    return with_money(run(store, query), exact)


def _by(by: str | Sequence[str]) -> list[str]:
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValueError(f"by: give at least one of {', '.join(COST_BY)}")
    for k in keys:
        if k not in COST_BY:
            raise ValueError(f"by: {k!r} is not one of {', '.join(COST_BY)}")
    if len(set(keys)) != len(keys):
        raise ValueError(f"by: {keys!r} repeats a key")
    return keys


def costs(
    store: Store,
    by: str | Sequence[str] = ("day", "model"),
    prices: Sequence[Price] | None = None,
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    session_id: UUID | str | None = None,
    model: str | None = None,
    provider: str | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """Usage and cost aggregated by time, model, provider or session; DuckDB does the aggregation.

    The keys are any of ``"day"``, ``"week"`` (ISO, Monday), ``"month"`` (UTC calendar), ``"model"``,
    ``"provider"``, ``"session"``.

    The rows are those of ``usage()``: usage records plus the message usage no record covers, each model call
    counted once. ``prices`` recompute the whole history under other prices (see ``behest_lab.pricing.Price``). A
    group's costs sum its priced calls; ``unpriced_requests`` counts the calls without a price beside them (named by
    one ``UnknownModelWarning``), and a group without any priced call has null costs. Message usage whose provider
    is unknown has a null ``provider`` key. ``exact=True`` gives the costs as exact ``Decimal(38,24)`` instead of
    ``Float64``.

    Returns:
        One row per group, sorted by the keys. Columns: the keys (``day``/``week``/``month`` Date, ``model``,
        ``provider`` Utf8, ``session_id`` Utf8), ``requests`` (Int64), ``prompt_tokens``, ``uncached_input_tokens``,
        ``cache_read_tokens``, ``cache_write_tokens``, ``output_tokens`` (Int64), ``input_cost``, ``output_cost``,
        ``cache_read_cost``, ``cache_write_cost``, ``cost`` (Float64 USD; Decimal(38,24) with ``exact``; the sum of
        the priced calls, null when none is priced), ``unpriced_requests`` (Int64, calls without a price),
        ``price_source``, ``price_version`` (Utf8, the distinct values joined with ``,``; null when unpriced),
        ``priced_at`` (Datetime[us, UTC]). ``.to_pandas()`` / ``.to_arrow()`` convert the frame.
    """
    keys = _by(by)
    where = usage_conditions(since=since, until=until, session_id=session_id, model=model, provider=provider)
    table = price_table_for(store, where, prices)
    names = [_KEY_NAME.get(k, k) for k in keys]
    spec = [(n, *_KEYS[k]) for k, n in zip(keys, names, strict=True)]
    order = ", ".join(f"{n} NULLS LAST" for n in names)
    query = f"SELECT * FROM ({grouped_costs_sql(table, where, spec)}) ORDER BY {order}"
    return with_money(run(store, query), exact)


TOKEN_BY = ("provider", "model", "session_id", "source")
"""Keys ``token_counts(by=...)`` accepts (columns of ``usage()``)."""


def token_counts(
    store: Store,
    by: str | Sequence[str] = ("provider", "model"),
    *,
    since: TimeBound = None,
    until: TimeBound = None,
    prices: Sequence[Price] | None = None,
    exact: bool = False,
) -> pl.DataFrame:
    """The six token counters as the model calls reported them, summed per group, with the group's cost.

    The rows are those of ``usage()`` (usage records plus the message usage no record covers, each call once).
    Unlike ``costs``, which normalises the counters per provider, the sums here are the raw counters, so each
    provider's own convention shows (Anthropic's ``input_tokens`` excludes the cache, OpenAI's includes it). A
    group's cost follows the rule of ``costs``: the sum of its priced calls, ``unpriced_requests`` beside it, null
    when none is priced.

    Returns:
        One row per group, sorted by the keys (nulls last). Columns: the keys (Utf8), ``requests`` (Int64), the
        six counters ``input_tokens``, ``output_tokens``, ``total_tokens``, ``cache_creation_input_tokens``,
        ``cache_read_input_tokens``, ``cached_input_tokens`` (Int64 sums; null when no call of the group reported
        the counter), ``cost`` (Float64 USD; Decimal(38,24) with ``exact``), ``unpriced_requests`` (Int64).
    """
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValueError(f"by: give at least one of {', '.join(TOKEN_BY)}")
    for k in keys:
        if k not in TOKEN_BY:
            raise ValueError(f"by: {k!r} is not one of {', '.join(TOKEN_BY)}")
    calls = usage(store, since=since, until=until, prices=prices, exact=True)
    frame = (
        calls.group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("requests"),
            *(priced_total(c).cast(pl.Int64) for c in USAGE_COUNTERS),  # null when no call reported it
            priced_total("cost"),
            pl.col("cost").is_null().sum().cast(pl.Int64).alias("unpriced_requests"),
        )
        .sort(keys, nulls_last=True)
    )
    return with_money(frame, exact)
