"""Price data: genai-prices' bundled prices, user overrides (``Price``), price lookup and provenance.

Prices come from the pinned ``genai-prices`` package's bundled data only; behest_lab never starts its background
updater, so pricing never touches the network. ``Price`` objects override that data (and price models it does not
know). Costs are computed exactly: ``DECIMAL(38,24)`` USD in SQL (tokens times prices with up to 18 decimals, never
rounded; sums up to 10^14 USD). The analytics frames carry them as ``Float64`` USD, or as the exact
``pl.Decimal(38, 24)`` with ``exact=True`` (see ``behest_lab.analytics``).

Every cost row carries ``price_source`` (``"genai-prices"`` or ``"user"``), ``price_version`` (the genai-prices
package and data version, or ``"user"``) and ``priced_at`` (when the price table was built). A model call nobody has
a price for has a null cost, never a silent 0, and one ``UnknownModelWarning`` names every such model. A group of
calls (a day, a model, a session) costs the sum of its priced calls, with the count of the unpriced ones beside it
as ``unpriced_requests``; a group without any priced call has a null cost.

This package holds no SQL and reads no store: the costs themselves (the usage source, the token normalisation per
provider, the join with these prices and the rule for unpriced calls) are computed by ``behest_lab.analytics``, the
one SQL layer above the stores (``analytics.usage``, ``analytics.costs``, ``analytics.price_table``).
``infer_providers`` tells which provider a session model belongs to; ``token_style`` which token convention a
provider's usage follows.

The SQL builders this package used to export (``grouped_costs_sql``, ``priced_ctes``, ``priced_sum``,
``usage_source_sql``, ``usd``, ``USAGE_COUNTERS``, ``message_usage_models``, ``price_table_for``) and
``price_table`` still import from here: they are aliases of the analytics names, loaded on first use.

Example:
    >>> from datetime import date
    >>> from behest_lab.pricing import Price
    >>> Price("my-model", input="1.5", output=6, effective_from=date(2025, 1, 1)).rates()["cache_read"]
    Decimal('1.5')
"""

from __future__ import annotations

import importlib
from typing import Any

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

__all__ = [
    "EPOCH",
    "GENAI_PRICES_VERSION",
    "PRICE_KEYS",
    "USER_PRICE_VERSION",
    "Price",
    "PriceRow",
    "PriceTable",
    "UnknownModelWarning",
    "build_price_table",
    "infer_providers",
    "token_style",
]

_MOVED = {
    "USAGE_COUNTERS": "behest_lab.analytics._costs",
    "grouped_costs_sql": "behest_lab.analytics._costs",
    "message_usage_models": "behest_lab.analytics._costs",
    "price_table_for": "behest_lab.analytics._costs",
    "priced_ctes": "behest_lab.analytics._costs",
    "priced_sum": "behest_lab.analytics._costs",
    "usage_source_sql": "behest_lab.analytics._costs",
    "usd": "behest_lab.analytics._costs",
    "price_table": "behest_lab.analytics.prices",
}
"""Names that moved to ``behest_lab.analytics`` (the SQL layer), kept importable from here for existing code."""


def __getattr__(name: str) -> Any:
    """The moved names of ``_MOVED``, loaded on first use (pricing itself never imports analytics)."""
    module = _MOVED.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
