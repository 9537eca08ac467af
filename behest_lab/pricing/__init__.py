"""Cost of usage: genai-prices' bundled price data, user overrides, provenance, all computed in DuckDB SQL.

Prices come from the pinned ``genai-prices`` package's bundled data only; behest_lab never starts its background
updater, so pricing never touches the network. ``Price`` objects override that data (and price models it does not
know). Costs are computed exactly: ``DECIMAL(38,24)`` USD in SQL (tokens times prices with up to 18 decimals, never
rounded; sums up to 10^14 USD). The analytics frames carry them as ``Float64`` USD, or as the exact
``pl.Decimal(38, 24)`` with ``exact=True`` (see ``behest_lab.analytics``).

Every cost row carries ``price_source`` (``"genai-prices"`` or ``"user"``), ``price_version`` (the genai-prices
package and data version, or ``"user"``) and ``priced_at`` (when the price table was built). A model call nobody has
a price for has a null cost, never a silent 0, and one ``UnknownModelWarning`` names every such model. A group of
calls (a day, a model, a session) costs the sum of its priced calls, with the count of the unpriced ones beside it
as ``unpriced_requests``; a group without any priced call has a null cost. ``priced_sum`` is that rule in SQL, used by
every cost of the analytics and the widgets.

Usage is every usage record plus the token usage of messages no usage record covers (behest's runtime records
usage only on assistant messages): see ``usage_source_sql`` and ``infer_providers`` for how such a message's
provider is inferred from its session's model, and how cache counters lost by behest's SQL ``usage_records`` table
are recovered from the message usage.

The token normalisation per provider (Anthropic-style ``input_tokens`` excludes cache reads and writes, OpenAI-style
``input_tokens`` includes the cached tokens; see ``token_style``) is described in ``behest_lab.pricing._sql`` and in
``behest_lab.analytics.usage``.

Example:
    >>> from datetime import date
    >>> from behest_lab.pricing import Price
    >>> Price("my-model", input="1.5", output=6, effective_from=date(2025, 1, 1)).rates()["cache_read"]
    Decimal('1.5')
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC
from typing import TYPE_CHECKING

import duckdb
import polars as pl

from behest_lab.pricing._sql import (
    USAGE_COUNTERS,
    grouped_costs_sql,
    priced_ctes,
    priced_sum,
    usage_source_sql,
    usd,
)
from behest_lab.pricing._table import (
    EPOCH,
    GENAI_PRICES_VERSION,
    PRICE_KEYS,
    USER_PRICE_VERSION,
    Price,
    PriceRow,
    PriceTable,
    UnknownModelWarning,
    build_price_table,
    infer_providers,
    token_style,
)

if TYPE_CHECKING:
    from behest_lab.stores.protocols import Store

__all__ = [
    "EPOCH",
    "GENAI_PRICES_VERSION",
    "USAGE_COUNTERS",
    "USER_PRICE_VERSION",
    "Price",
    "PriceRow",
    "PriceTable",
    "UnknownModelWarning",
    "build_price_table",
    "grouped_costs_sql",
    "infer_providers",
    "message_usage_models",
    "price_table",
    "price_table_for",
    "priced_ctes",
    "priced_sum",
    "token_style",
    "usage_source_sql",
    "usd",
]

_DEC = pl.Decimal(38, 18)


def message_usage_models(store: Store) -> list[str] | None:
    """The distinct session models of messages with usage; ``None`` when the relation set has no ``messages``
    table (e.g. bare Parquet views of ``usage_records``), whose usage source is then the usage records alone."""
    try:
        rows = store.sql(
            "SELECT DISTINCT s.model FROM messages m JOIN sessions s ON s.id = m.session_id "
            "WHERE m.input_tokens IS NOT NULL"
        ).fetchall()
    except duckdb.CatalogException as exc:
        if "messages" not in str(exc):
            raise
        return None
    return [str(m) for (m,) in rows if m is not None]


def price_table_for(store: Store, usage_where: str = "TRUE", prices: Sequence[Price] | None = None) -> PriceTable:
    """The price rows for the distinct ``(provider, model)`` of the store's usage source matching ``usage_where``.

    The usage source is the usage records plus the message usage no record covers (``usage_source_sql``); the
    providers of message usage are inferred per session model first (``infer_providers``). One aggregate query
    finds the pairs and their first usage day; warns (``UnknownModelWarning``) once about unpriced pairs.
    """
    models = message_usage_models(store)
    providers = None if models is None else infer_providers(models, prices)
    pairs = store.sql(
        "SELECT provider, model, min(created_at) AS first "
        f"FROM ({usage_source_sql(providers, recover_cache=False)}) WHERE {usage_where} GROUP BY provider, model"
    ).fetchall()
    table = build_price_table([(p, m, None if t is None else t.astimezone(UTC).date()) for p, m, t in pairs], prices)
    table.model_providers = providers
    return table


def price_table(store: Store, prices: Sequence[Price] | None = None, *, exact: bool = False) -> pl.DataFrame:
    """The price table used for the store's usage, one row per (pair, period, tier).

    Args:
        store: the store whose usage is priced.
        prices: user prices that override genai-prices (see ``Price``).
        exact: give the prices as exact ``Decimal(38,18)`` instead of ``Float64``.

    Returns:
        Columns: ``provider``, ``model`` (Utf8, as the usage spells them), ``effective_from`` (Date, UTC day the
        row starts applying), ``tier_start`` (Int64; null for the base row, else the row applies to requests whose
        prompt exceeds it), ``input``, ``output``, ``cache_read``, ``cache_write`` (Float64 USD per million tokens;
        Decimal(38,18) with ``exact=True``), ``price_source``, ``price_version`` (Utf8), ``matched_provider``,
        ``matched_model`` (Utf8; the genai-prices ids, null for user rows), ``priced_at`` (Datetime[us, UTC]).
    """
    table = price_table_for(store, "TRUE", prices)
    data = {
        "provider": [r.provider for r in table.rows],
        "model": [r.model for r in table.rows],
        "effective_from": [r.effective_from for r in table.rows],
        "tier_start": [r.tier_start for r in table.rows],
        **{k: [r.rates[k] for r in table.rows] for k in PRICE_KEYS},
        "price_source": [r.price_source for r in table.rows],
        "price_version": [r.price_version for r in table.rows],
        "matched_provider": [r.matched_provider for r in table.rows],
        "matched_model": [r.matched_model for r in table.rows],
        "priced_at": [table.priced_at] * len(table.rows),
    }
    schema: dict[str, pl.DataType] = {
        "provider": pl.Utf8(),
        "model": pl.Utf8(),
        "effective_from": pl.Date(),
        "tier_start": pl.Int64(),
        **dict.fromkeys(PRICE_KEYS, _DEC),
        "price_source": pl.Utf8(),
        "price_version": pl.Utf8(),
        "matched_provider": pl.Utf8(),
        "matched_model": pl.Utf8(),
        "priced_at": pl.Datetime("us", "UTC"),
    }
    frame = pl.DataFrame(data, schema=schema)
    return frame if exact else frame.with_columns(pl.col(PRICE_KEYS).cast(pl.Float64))
