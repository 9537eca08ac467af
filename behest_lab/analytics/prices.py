"""The price table the store's usage is priced with (the prices of ``behest_lab.pricing`` for its model pairs)."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from behest_lab.analytics._costs import price_table_for
from behest_lab.pricing import PRICE_KEYS, Price
from behest_lab.stores.protocols import Store

_DEC = pl.Decimal(38, 18)


def price_table(store: Store, prices: Sequence[Price] | None = None, *, exact: bool = False) -> pl.DataFrame:
    """The price table used for the store's usage, one row per (pair, period, tier).

    Args:
        store: the store whose usage is priced.
        prices: user prices that override genai-prices (see ``behest_lab.pricing.Price``).
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
