"""Prices: published per-million prices by hand, genai-prices' agreement, tiers, periods, unknown models,
user overrides with effective dates, provenance, and no network."""

from __future__ import annotations

import socket
import warnings
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import matplotlib
import matplotlib.pyplot
import polars as pl
import pytest

from behest_lab import Store, UsageRecord
from behest_lab.analytics import costs, sessions, top_sessions, usage
from behest_lab.pricing import GENAI_PRICES_VERSION, Price, UnknownModelWarning, infer_providers, price_table
from tests.analytics._reference import genai_cost, provider_of
from tests.stores._build import session

M = Decimal(1_000_000)
DAY = datetime(2026, 10, 15, 12, tzinfo=UTC)

# Published list prices, USD per million tokens (input, output, cache write 5 min, cache read):
# Anthropic, https://www.anthropic.com/pricing (Claude Sonnet 4.5): $3 / $15 / $3.75 / $0.30;
# prompts over 200k tokens ("long context"): $6 / $22.50 / $7.50 / $0.60.
SONNET = {"input": Decimal(3), "output": Decimal(15), "cache_write": Decimal("3.75"), "cache_read": Decimal("0.30")}
SONNET_LONG = {
    "input": Decimal(6),
    "output": Decimal("22.50"),
    "cache_write": Decimal("7.50"),
    "cache_read": Decimal("0.60"),
}
# OpenAI, https://openai.com/api/pricing (gpt-4o): $2.50 input, $1.25 cached input, $10 output.
GPT4O = {"input": Decimal("2.50"), "output": Decimal(10), "cache_read": Decimal("1.25")}


def _usage(store: Store, sid: Any, provider: str, model: str, when: datetime = DAY, **tokens: int) -> UsageRecord:
    tokens.setdefault("output_tokens", 0)
    tokens["total_tokens"] = tokens["input_tokens"] + tokens["output_tokens"]
    return store.executions.record_usage(
        UsageRecord(session_id=sid, message_id=sid, provider=provider, model=model, created_at=when, **tokens)
    )


def _cost_of(store: Store, record: UsageRecord, **kw: Any) -> Any:
    frame = usage(store, exact=True, **kw)
    return frame.filter(frame["id"] == str(record.id)).row(0, named=True)


def test_hand_picked_rows_cost_what_the_published_prices_say(store: Store) -> None:
    s = session(store)
    # Anthropic-style: input_tokens excludes the cache counters
    a = _usage(store, s.id, "anthropic", "claude-sonnet-4-5", input_tokens=1_200, output_tokens=800,
               cache_read_input_tokens=50_000, cache_creation_input_tokens=4_000)  # fmt: skip
    # OpenAI-style: input_tokens includes cached_input_tokens
    o = _usage(store, s.id, "openai", "gpt-4o", input_tokens=10_000, output_tokens=500, cached_input_tokens=6_000)
    # long context: 150k uncached + 60k read > 200k, every token at the long-context rate
    big = _usage(store, s.id, "anthropic", "claude-sonnet-4-5", input_tokens=150_000, output_tokens=2_000,
                 cache_read_input_tokens=60_000)  # fmt: skip
    hand_a = (1_200 * SONNET["input"] + 800 * SONNET["output"] + 50_000 * SONNET["cache_read"]
              + 4_000 * SONNET["cache_write"]) / M  # fmt: skip
    hand_o = (4_000 * GPT4O["input"] + 500 * GPT4O["output"] + 6_000 * GPT4O["cache_read"]) / M
    hand_big = (150_000 * SONNET_LONG["input"] + 2_000 * SONNET_LONG["output"] + 60_000 * SONNET_LONG["cache_read"]) / M
    for record, hand in ((a, hand_a), (o, hand_o), (big, hand_big)):
        row = _cost_of(store, record)
        assert row["cost"] == hand
        assert genai_cost(record) == hand  # genai-prices' bundled data agrees with the published price
        assert (row["price_source"], row["price_version"]) == ("genai-prices", GENAI_PRICES_VERSION)
    assert _cost_of(store, a)["cache_write_cost"] == 4_000 * SONNET["cache_write"] / M
    assert _cost_of(store, big)["tier_start"] == 200_000
    table = price_table(store, exact=True)
    base = table.filter((table["model"] == "claude-sonnet-4-5") & table["tier_start"].is_null()).row(0, named=True)
    assert {k: base[k] for k in SONNET} == SONNET


def test_price_periods_follow_genai_prices_start_dates(store: Store) -> None:
    s = session(store)
    # o3's price changed on 2025-06-10 in genai-prices' data
    old = _usage(
        store, s.id, "openai", "o3", datetime(2025, 6, 9, 23, 59, tzinfo=UTC), input_tokens=1_000, output_tokens=1_000
    )
    new = _usage(
        store, s.id, "openai", "o3", datetime(2025, 6, 10, 0, 1, tzinfo=UTC), input_tokens=1_000, output_tokens=1_000
    )
    got_old, got_new = _cost_of(store, old), _cost_of(store, new)
    assert got_old["cost"] == genai_cost(old)
    assert got_new["cost"] == genai_cost(new)
    assert got_old["cost"] > got_new["cost"]
    assert got_new["price_effective_from"] == date(2025, 6, 10)


def _warnings_of(call: Any) -> tuple[Any, list[str]]:
    """``call()``'s result and the messages of the ``UnknownModelWarning``s it raised (every one recorded)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = call()
    return result, [str(w.message) for w in caught if issubclass(w.category, UnknownModelWarning)]


def test_partial_costs_sum_the_priced_calls_and_count_the_others(store: Store) -> None:
    """The cost rule of every group: the priced calls' sum, ``unpriced_requests`` beside it, null without any
    priced call; one warning per call naming the unpriced models."""
    d1, d2 = datetime(2026, 10, 14, 9, tzinfo=UTC), datetime(2026, 10, 15, 9, tzinfo=UTC)
    mixed, unknown = session(store, title="mixed"), session(store, title="unknown")
    session(store, title="idle")
    gpt = _usage(store, mixed.id, "openai", "gpt-4o", d1, input_tokens=10_000, output_tokens=2_000)
    claude = _usage(store, mixed.id, "anthropic", "claude-sonnet-4-5", d2, input_tokens=3_000, output_tokens=500)
    _usage(store, mixed.id, "acme", "mystery-1", d1, input_tokens=100)
    _usage(store, unknown.id, "acme", "mystery-2", d2, input_tokens=100)
    _usage(store, unknown.id, "acme", "mystery-2", d2, input_tokens=200)
    priced = {str(gpt.id): genai_cost(gpt), str(claude.id): genai_cost(claude)}
    assert None not in priced.values()

    by_day, named = _warnings_of(lambda: costs(store, by="day", exact=True))
    assert len(named) == 1
    assert "acme/mystery-1" in named[0]
    assert "acme/mystery-2" in named[0]
    assert "gpt-4o" not in named[0]
    assert "claude" not in named[0]
    rows = {r["day"]: r for r in by_day.iter_rows(named=True)}
    assert (rows[d1.date()]["cost"], rows[d1.date()]["unpriced_requests"]) == (genai_cost(gpt), 1)
    assert (rows[d2.date()]["cost"], rows[d2.date()]["unpriced_requests"]) == (genai_cost(claude), 2)
    assert rows[d1.date()]["requests"] == 2
    for row in rows.values():  # every money column follows the rule, and the parts add up to the cost
        parts = ("input_cost", "output_cost", "cache_read_cost", "cache_write_cost")
        assert sum(row[c] for c in parts) == row["cost"]

    by_model, named = _warnings_of(lambda: costs(store, by=("provider", "model"), exact=True))
    assert len(named) == 1
    got = {r["model"]: (r["cost"], r["unpriced_requests"], r["price_source"]) for r in by_model.iter_rows(named=True)}
    assert got == {
        "claude-sonnet-4-5": (genai_cost(claude), 0, "genai-prices"),
        "gpt-4o": (genai_cost(gpt), 0, "genai-prices"),
        "mystery-1": (None, 1, None),  # no priced call: null, never 0
        "mystery-2": (None, 2, None),
    }
    by_provider, _ = _warnings_of(lambda: costs(store, by="provider", exact=True))
    assert dict(zip(by_provider["provider"], by_provider["cost"], strict=True))["acme"] is None

    frame, named = _warnings_of(lambda: sessions(store, exact=True))
    assert len(named) == 1
    per = {r["title"]: (r["cost"], r["unpriced_requests"], r["requests"]) for r in frame.iter_rows(named=True)}
    assert per == {
        "mixed": (genai_cost(gpt) + genai_cost(claude), 1, 3),  # type: ignore[operator]
        "unknown": (None, 2, 2),
        "idle": (Decimal(0), 0, 0),  # no usage at all: nothing to price, 0
    }
    top, named = _warnings_of(lambda: top_sessions(store, by="cost", n=3))
    assert len(named) == 1
    assert top["title"].to_list() == ["mixed", "idle", "unknown"]  # nulls last

    calls, named = _warnings_of(lambda: usage(store, exact=True))
    assert len(named) == 1
    assert {i: c for i, c in zip(calls["id"], calls["cost"], strict=True) if c is not None} == priced
    assert calls["cost"].null_count() == 3

    # a price that starts later leaves the earlier calls of the same model unpriced: one group, partly priced
    late = [Price("mystery-2", provider="acme", input=1, output=1, effective_from=date(2026, 10, 15))]
    _usage(store, unknown.id, "acme", "mystery-2", d1, input_tokens=400)
    frame, named = _warnings_of(lambda: costs(store, by="model", prices=late, exact=True))
    assert len(named) == 1
    assert "acme/mystery-2" in named[0]
    row = frame.filter(frame["model"] == "mystery-2").row(0, named=True)
    assert (row["cost"], row["unpriced_requests"], row["requests"]) == (Decimal(300) / M, 1, 3)


def test_float_costs_equal_the_exact_decimals(store: Store) -> None:
    s = session(store)
    for i, model in enumerate(("gpt-4o", "gpt-4o-mini", "o3")):
        _usage(store, s.id, "openai", model, input_tokens=12_345 * (i + 1), output_tokens=678, cached_input_tokens=99)
    _usage(store, s.id, "anthropic", "claude-sonnet-4-5", input_tokens=1_001, output_tokens=7,
           cache_read_input_tokens=333, cache_creation_input_tokens=44)  # fmt: skip
    money = ("input_cost", "output_cost", "cache_read_cost", "cache_write_cost", "cost")
    for name, compute in (
        ("usage", lambda exact: usage(store, exact=exact)),
        ("costs", lambda exact: costs(store, by=("day", "model"), exact=exact)),
        ("sessions", lambda exact: sessions(store, exact=exact)),
        ("top_sessions", lambda exact: top_sessions(store, exact=exact)),
    ):
        floats, exact = compute(False), compute(True)
        for column in money:
            assert floats.schema[column] == pl.Float64, (name, column)
            assert exact.schema[column] == pl.Decimal(38, 24), (name, column)
            for f, d in zip(floats[column], exact[column], strict=True):
                assert isinstance(d, Decimal)
                assert d > 0 or column == "cache_write_cost"
                assert f == float(d), (name, column)  # the nearest double
        assert floats.drop(*money, "priced_at").equals(exact.drop(*money, "priced_at"))
    table, exact_table = price_table(store), price_table(store, exact=True)
    assert table.schema["input"] == pl.Float64
    assert exact_table.schema["input"] == pl.Decimal(38, 18)
    assert table["output"].to_list() == [float(v) for v in exact_table["output"]]


def test_pandas_and_matplotlib_plot_the_cost_columns(store: Store) -> None:
    s = session(store)
    _usage(store, s.id, "openai", "gpt-4o", input_tokens=1_000_000, output_tokens=10_000)
    _usage(store, s.id, "anthropic", "claude-sonnet-4-5", input_tokens=2_000, output_tokens=300)
    frame = costs(store, by="model").to_pandas()
    assert frame["cost"].dtype == "float64"
    ax = frame.plot.bar(x="model", y="cost")
    heights = [p.get_height() for p in ax.patches]
    assert heights == frame["cost"].tolist()
    assert heights[frame["model"].tolist().index("gpt-4o")] == pytest.approx(2.5 + 0.1)
    matplotlib.pyplot.close(ax.figure)


def test_user_prices_override_with_effective_dates(store: Store) -> None:
    s = session(store)
    before = _usage(store, s.id, "openai", "gpt-4o", datetime(2026, 10, 1, tzinfo=UTC), input_tokens=1_000_000)
    after = _usage(store, s.id, "openai", "gpt-4o", datetime(2026, 10, 20, tzinfo=UTC), input_tokens=1_000_000,
                   output_tokens=1_000_000, cached_input_tokens=400_000)  # fmt: skip
    mine = _usage(store, s.id, "acme", "mystery", datetime(2026, 10, 20, tzinfo=UTC), input_tokens=2_000_000)
    prices = [
        Price("gpt-4o", input="1", output=4, cache_read="0.5", effective_from=date(2026, 10, 10)),
        Price("mystery", provider="acme", input=7, output=8),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        rows = {r["id"]: r for r in usage(store, prices=prices, exact=True).iter_rows(named=True)}
    assert rows[str(before.id)]["cost"] == genai_cost(before)  # genai-prices still prices history before the override
    assert rows[str(before.id)]["price_source"] == "genai-prices"
    assert rows[str(after.id)]["cost"] == Decimal("0.6") + Decimal("0.2") + Decimal(4)
    assert (rows[str(after.id)]["price_source"], rows[str(after.id)]["price_version"]) == ("user", "user")
    assert rows[str(mine.id)]["cost"] == 14
    assert {r["priced_at"] for r in rows.values()} == {next(iter(rows.values()))["priced_at"]}
    # a user price starting after the first usage leaves the earlier usage unpriced, and says so
    late = [Price("mystery", input=1, output=1, effective_from=date(2026, 10, 25))]
    with pytest.warns(UnknownModelWarning, match="acme/mystery"):
        assert _cost_of(store, mine, prices=late)["cost"] is None
    # recomputing history under other prices: every gpt-4o row at the user's price
    always = [Price("gpt-4o", provider="openai", input=1, output=1)]
    with pytest.warns(UnknownModelWarning):
        by_model = costs(store, by="model", prices=always, exact=True)
    # 1M input, then 600k uncached + 400k cached (no cache price: input rate) + 1M output, all at $1 per million
    assert by_model.filter(by_model["model"] == "gpt-4o")["cost"].to_list() == [Decimal(3)]


def test_price_validation() -> None:
    with pytest.raises(ValueError, match="finite and >= 0"):
        Price("m", input=-1, output=1)
    with pytest.raises(ValueError, match="not a number"):
        Price("m", input="cheap", output=1)
    with pytest.raises(TypeError, match="effective_from"):
        Price("m", input=1, output=1, effective_from=datetime(2026, 1, 1, tzinfo=UTC))
    with pytest.raises(ValueError, match="model"):
        Price("", input=1, output=1)
    assert Price("m", input=0.1, output=1).rates()["cache_write"] == Decimal("0.1")
    with pytest.raises(TypeError, match="output"):
        Price("m", input=1)  # type: ignore[call-arg]


def test_pricing_never_touches_the_network(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object, **__: object) -> None:
        raise AssertionError("pricing tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    s = session(store)
    _usage(store, s.id, "google", "gemini-2.5-pro", input_tokens=300_000)
    table = price_table(store)
    assert table["matched_model"].to_list()[0] == "gemini-2.5-pro"
    assert costs(store, by="model", exact=True)["cost"].to_list()[0] == genai_cost(store.executions.list_usage(s.id)[0])


@pytest.mark.parametrize("prompt", [1_000, 32_000, 32_001, 128_000, 128_001, 400_000])
def test_several_tiers_and_tier_boundaries_match_genai_prices(store: Store, prompt: int) -> None:
    s = session(store)
    # openrouter's qwen3-coder-flash has two long-context tiers (above 32k and above 128k prompt tokens)
    both = [
        _usage(store, s.id, "openrouter", "qwen/qwen3-coder-flash", input_tokens=prompt, output_tokens=1_000),
        _usage(
            store,
            s.id,
            "openrouter",
            "qwen/qwen3-coder-flash",
            input_tokens=prompt,
            output_tokens=10,
            cached_input_tokens=prompt // 2,
        ),
    ]
    rows = {r["id"]: r for r in usage(store, exact=True).iter_rows(named=True)}
    for record in both:
        assert rows[str(record.id)]["cost"] == genai_cost(record)
    total = costs(store, by="model", exact=True)["cost"].to_list()
    assert total == [sum((genai_cost(r) or Decimal(0) for r in both), Decimal(0))]


def test_infer_providers_prefers_a_named_user_price_then_genai_prices_matching() -> None:
    prices = [
        Price("gpt-4o", provider="azure", input=1, output=2),
        Price("gpt-4o", provider="acme", input=1, output=2),
        Price("house-model", input=1, output=2),  # names no provider: decides nothing
    ]
    got = infer_providers(["claude-haiku-4-5", "gpt-4o", "gemini-2.5-pro", "house-model"], prices)
    assert got == {
        "claude-haiku-4-5": provider_of("claude-haiku-4-5"),
        "gemini-2.5-pro": provider_of("gemini-2.5-pro"),
        "gpt-4o": "acme",  # the alphabetically first provider a user price names
        "house-model": None,
    }
    assert got["claude-haiku-4-5"] == "anthropic"  # the published maker, as genai-prices lists it
    assert infer_providers(["gpt-4o"]) == {"gpt-4o": "openai"}
