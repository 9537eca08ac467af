"""Price rows: the bundled genai-prices data and user overrides, flattened into one table.

A price row gives USD per million tokens for one usage ``(provider, model)`` pair, from ``effective_from`` (a UTC
date, inclusive) until the next row's date, for requests whose prompt exceeds ``tier_start`` tokens (``None``: the
base row, any prompt size). genai-prices expresses long-context surcharges as "cliff" tiers: once a request's prompt
(uncached + cache read + cache write tokens) exceeds a tier's start, every token of that request is priced at the
tier's rate; each tier becomes one row here.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib.metadata import version
from typing import Any

PRICE_KEYS = ("input", "output", "cache_read", "cache_write")
"""The four priced token kinds, in column order."""

_GENAI_KEYS = {
    "input": "input_mtok",
    "output": "output_mtok",
    "cache_read": "cache_read_mtok",
    "cache_write": "cache_write_mtok",
}

EPOCH = date(1970, 1, 1)
"""``effective_from`` of prices that have always applied."""

GENAI_PRICES_VERSION = f"genai-prices {version('genai-prices')} (bundled data)"
"""``price_version`` of rows from the bundled genai-prices data."""

USER_PRICE_VERSION = "user"
"""``price_version`` of rows from user-supplied ``Price`` objects."""


class UnknownModelWarning(UserWarning):
    """Some usage has no price: an unknown model, or usage dated before every price given for it.

    Raised once per computation, listing every such ``provider/model`` pair. Their calls count in a group's
    ``unpriced_requests`` and are left out of its cost, which sums the priced calls (null, never 0, when no call of
    the group is priced).
    """


def _money(value: Any, what: str) -> Decimal:
    """A finite non-negative Decimal from an int, str, float or Decimal (floats go through ``str``)."""
    if isinstance(value, bool):
        raise TypeError(f"{what}: expected a price in USD per million tokens, got {value!r}")
    try:
        d = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise ValueError(f"{what}: {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise ValueError(f"{what}: prices must be finite and >= 0, got {value!r}")
    if -int(d.as_tuple().exponent) > 18:  # the SQL column is DECIMAL(38,18)
        d = d.quantize(Decimal("1e-18"))
    return d


@dataclass(frozen=True)
class Price:
    """A user price, in USD per million tokens, that overrides genai-prices.

    Args:
        model: Model name exactly as the usage records spell it.
        provider: Provider as the usage records spell it; ``None`` applies to this model under every provider.
        input: Uncached prompt tokens (required, keyword).
        output: Completion tokens (required, keyword).
        cache_read: Prompt tokens read from the cache; ``None`` prices them at ``input``.
        cache_write: Prompt tokens written to the cache; ``None`` prices them at ``input``.
        effective_from: First UTC day the price applies. For a ``(provider, model)`` with user prices, genai-prices
            rows still price usage dated before the earliest user price and none after it.
    """

    model: str
    provider: str | None = None
    input: Decimal | float | int | str = field(kw_only=True)
    output: Decimal | float | int | str = field(kw_only=True)
    cache_read: Decimal | float | int | str | None = None
    cache_write: Decimal | float | int | str | None = None
    effective_from: date = EPOCH

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"Price.model: expected a non-empty model name, got {self.model!r}")
        if isinstance(self.effective_from, datetime) or not isinstance(self.effective_from, date):
            raise TypeError(f"Price.effective_from: expected a datetime.date, got {self.effective_from!r}")
        for key in PRICE_KEYS:
            raw = getattr(self, key)
            if raw is not None:
                object.__setattr__(self, key, _money(raw, f"Price({self.model!r}).{key}"))

    def rates(self) -> dict[str, Decimal]:
        """The four rates with missing cache rates filled from ``input``."""
        inp = Decimal(self.input)  # validated in __post_init__
        return {
            "input": inp,
            "output": Decimal(self.output),
            "cache_read": inp if self.cache_read is None else Decimal(self.cache_read),
            "cache_write": inp if self.cache_write is None else Decimal(self.cache_write),
        }


@dataclass(frozen=True)
class PriceRow:
    """One row of the price table (see the module docstring)."""

    provider: str
    model: str
    effective_from: date
    tier_start: int | None
    rates: dict[str, Decimal]
    price_source: str
    price_version: str
    matched_provider: str | None = None
    matched_model: str | None = None


@dataclass
class PriceTable:
    """Price rows for a set of usage pairs, the pairs left unpriced, and when the table was built."""

    rows: list[PriceRow]
    unknown: list[tuple[str | None, str]]
    pairs: list[tuple[str, str]] = field(default_factory=list)
    """Every (provider, model) with a known provider the table was built for, priced or not."""
    priced_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    model_providers: dict[str, str | None] | None = None
    """Provider inferred for each session model of message usage (``infer_providers``); ``None`` when the store
    has no ``messages`` table, so the usage source is ``usage_records`` alone."""


def token_style(provider: str, model: str) -> str:
    """The token convention of a provider's usage: ``"anthropic"`` or ``"openai"``.

    ``"anthropic"`` (input_tokens excludes the cache) for provider ``anthropic`` or a Claude model (Bedrock and
    Vertex pass Anthropic's usage through), else ``"openai"`` (input_tokens includes cached tokens).
    """
    return "anthropic" if provider.lower() == "anthropic" or "claude" in model.lower() else "openai"


@cache
def _snapshot() -> Any:
    """The bundled genai-prices data, never a fetched one (``UpdatePrices`` would replace the global snapshot)."""
    from genai_prices.data import providers
    from genai_prices.data_snapshot import DataSnapshot

    return DataSnapshot(providers=providers, from_auto_update=False)


def _find(snapshot: Any, provider: str, model: str) -> tuple[Any, Any] | None:
    """genai-prices' (provider, model) for a usage pair; an unknown provider name falls back to matching the model."""
    for provider_id in (provider, None):
        try:
            return snapshot.find_provider_model(model, None, provider_id, None)  # type: ignore[no-any-return]
        except LookupError:
            continue
    return None


def infer_providers(models: Iterable[str], prices: Sequence[Price] | None = None) -> dict[str, str | None]:
    """The provider of each model, for message usage (which names only the session's model).

    The rule, per model name: (1) a user ``Price`` for exactly this model that names a provider gives it (the
    alphabetically first when several do); else (2) genai-prices' model matching without a provider
    (``find_provider_model(model, provider_id=None)``, the same matching that prices usage records) gives its
    provider id (``"anthropic"``, ``"openai"``, ``"google"``, ...); else (3) ``None``: the provider is unknown and
    that usage stays unpriced (named in the ``UnknownModelWarning``). A provider-less ``Price`` names no provider,
    so it does not decide step (1): give ``Price(model, provider=...)`` to price message usage of a model
    genai-prices does not know.
    """
    named: dict[str, list[str]] = {}
    for p in prices or []:
        if isinstance(p, Price) and p.provider is not None:
            named.setdefault(p.model, []).append(p.provider)
    snapshot = _snapshot()
    out: dict[str, str | None] = {}
    for model in sorted(set(models)):
        if model in named:
            out[model] = min(named[model])
            continue
        try:
            provider, _ = snapshot.find_provider_model(model, None, None, None)
        except LookupError:
            out[model] = None
        else:
            out[model] = str(provider.id)
    return out


def _periods(model_info: Any) -> list[tuple[date, Any]]:
    """(start date, ModelPrice) periods, replaying genai-prices' rule: the last active conditional price wins.

    Time-of-day conditions (off-peak discounts) are treated as never active: costs use the standard price.
    """
    from genai_prices.types import ModelPrice, StartDateConstraint

    prices = model_info.prices
    if isinstance(prices, ModelPrice):
        return [(EPOCH, prices)]
    starts = sorted(
        {EPOCH} | {c.constraint.start_date for c in prices if isinstance(c.constraint, StartDateConstraint)}
    )

    def active_on(day: date) -> Any:
        for cond in reversed(prices):
            c = cond.constraint
            if c is None or (isinstance(c, StartDateConstraint) and day >= c.start_date):
                return cond.prices
        return prices[0].prices

    out: list[tuple[date, Any]] = []
    for day in starts:
        chosen = active_on(day)
        if not out or out[-1][1] is not chosen:
            out.append((day, chosen))
    return out


def _tier_rows(model_price: Any) -> list[tuple[int | None, dict[str, Decimal]]]:
    """Base and tier rates of one genai-prices ``ModelPrice`` for the four token kinds."""
    from genai_prices.types import TieredPrices

    raw = {k: getattr(model_price, g) for k, g in _GENAI_KEYS.items()}
    # genai-prices charges an unpriced cache read/write as input (they are part of its input_tokens).
    raw["input"] = Decimal(0) if raw["input"] is None else raw["input"]
    raw["output"] = Decimal(0) if raw["output"] is None else raw["output"]
    for k in ("cache_read", "cache_write"):
        if raw[k] is None:
            raw[k] = raw["input"]

    def at(value: Any, threshold: int | None) -> Decimal:
        if not isinstance(value, TieredPrices):
            return Decimal(value)
        rate = Decimal(value.base)
        if threshold is not None:
            for tier in value.tiers:
                if tier.start <= threshold:
                    rate = Decimal(tier.price)
        return rate

    starts = sorted({t.start for v in raw.values() if isinstance(v, TieredPrices) for t in v.tiers})
    return [(s, {k: _money(at(v, s), k) for k, v in raw.items()}) for s in [None, *starts]]


def _snapshot_rows(snapshot: Any, provider: str, model: str, cutoff: date | None) -> list[PriceRow]:
    """genai-prices' rows for one pair, each period starting before ``cutoff`` (the first user price), if any."""
    found = _find(snapshot, provider, model)
    if found is None:
        return []
    gp, gm = found
    return [
        PriceRow(provider, model, start, tier, rates, "genai-prices", GENAI_PRICES_VERSION, gp.id, gm.id)
        for start, model_price in _periods(gm)
        if cutoff is None or start < cutoff
        for tier, rates in _tier_rows(model_price)
    ]


def build_price_table(
    pairs: Iterable[tuple[str | None, str, date | None]],
    prices: Sequence[Price] | None = None,
) -> PriceTable:
    """Price rows for usage pairs ``(provider, model, first_usage_day)``; warns once about unpriced pairs.

    User ``prices`` win over genai-prices from their earliest ``effective_from`` on. A pair is unpriced (and named
    in the single ``UnknownModelWarning``) when neither source knows it, when its first usage day comes before
    every price in effect for it, or when its provider is ``None`` (message usage of a model whose provider could
    not be inferred, see ``infer_providers``; named ``?/model``); its calls have null costs.
    """
    user = list(prices or [])
    for p in user:
        if not isinstance(p, Price):
            raise TypeError(f"prices: expected behest_lab.pricing.Price objects, got {p!r}")
    snapshot = _snapshot()
    rows: list[PriceRow] = []
    unknown: list[tuple[str | None, str]] = []
    seen: list[tuple[str, str]] = []
    for provider, model, first_day in sorted(set(pairs), key=lambda t: (t[0] or "", t[0] is not None, t[1])):
        if provider is None:  # no provider to price under: usage rows with a NULL provider never join a price
            unknown.append((None, model))
            continue
        seen.append((provider, model))
        mine = sorted(
            (p for p in user if p.model == model and p.provider in (None, provider)),
            # a provider-specific price beats a provider-less one on the same day
            key=lambda p: (p.effective_from, p.provider is not None),
        )
        cutoff = mine[0].effective_from if mine else None
        pair_rows = _snapshot_rows(snapshot, provider, model, cutoff)
        by_day: dict[date, Price] = {p.effective_from: p for p in mine}
        for day, p in sorted(by_day.items()):
            pair_rows.append(PriceRow(provider, model, day, None, p.rates(), "user", USER_PRICE_VERSION))
        earliest = min((r.effective_from for r in pair_rows), default=None)
        if earliest is None or (first_day is not None and first_day < earliest):
            unknown.append((provider, model))
        rows.extend(pair_rows)
    if unknown:
        names = ", ".join(f"{'?' if p is None else p}/{m}" for p, m in unknown)
        warnings.warn(
            f"no price in effect for usage of {len(unknown)} provider/model pair(s): {names}; their calls count in "
            "unpriced_requests and are left out of the cost sums; pass behest_lab.pricing.Price(...) to price them",
            UnknownModelWarning,
            stacklevel=4,  # build_price_table <- price_table_for <- analytics function <- caller
        )
    return PriceTable(rows, unknown, seen)
