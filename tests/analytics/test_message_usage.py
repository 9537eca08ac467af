"""Model calls that exist only as message usage (behest's runtime writes no usage records) are counted and priced
like usage records, each call once, on every backend; checked against plain-Python sums over the store API."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from behest_lab import MessageRecord, MessageRole, Session, Store, TextPart, TokenUsage, UsageRecord, open_store
from behest_lab.analytics import costs, sessions, top_sessions, usage
from behest_lab.errors import DataCorruptionError
from behest_lab.interchange import export_behest_sqlite, import_behest_sqlite
from behest_lab.pricing import Price, UnknownModelWarning
from behest_lab.sample import generate
from tests.analytics._reference import Call, all_calls, genai_cost, normalise

T0 = datetime(2026, 10, 5, 9, 0, tzinfo=UTC)
_BY = ("day", "model", "provider")


@pytest.fixture(scope="module")
def source() -> Iterator[Store]:
    """A memory store of generated sessions: every assistant message's usage also has a usage record."""
    store = open_store(None)
    generate(store, sessions=4, seed=11, embedding_dim=None)
    yield store
    store.close()


def _copy(src: Store, dst: Store, keep_usage: Callable[[UsageRecord], bool] = lambda u: False) -> None:
    """Sessions, messages and executions of ``src`` into ``dst``, plus the usage records ``keep_usage`` selects."""
    for s in src.sessions.list_sessions():
        dst.sessions.create_session(s)
        dst.sessions.append_messages(src.sessions.list_messages(s.id), touch_session=False)
        dst.executions.record_executions(src.executions.list_executions(s.id))
        kept = [u for u in src.executions.list_usage(s.id) if keep_usage(u)]
        if kept:
            dst.executions.record_usages(kept)


def _expected(calls: list[Call]) -> dict[tuple[Any, ...], tuple[int, int, int, int, Decimal]]:
    """(day, model, provider) -> (requests, prompt, cache read, output, cost) summed in Python."""
    acc: dict[tuple[Any, ...], list[Any]] = defaultdict(lambda: [0, 0, 0, 0, Decimal(0)])
    for c in calls:
        _, uncached, read, write = normalise(c)
        cost = genai_cost(c)
        assert cost is not None, c.model
        e = acc[(c.created_at.date(), c.model, c.provider)]
        e[0] += 1
        e[1] += uncached + read + write
        e[2] += read
        e[3] += c.output_tokens
        e[4] += cost
    return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in acc.items()}


def _got(store: Store) -> dict[tuple[Any, ...], tuple[int, int, int, int, Decimal]]:
    frame = costs(store, by=_BY, exact=True)
    assert frame["unpriced_requests"].sum() == 0
    return {
        (r["day"], r["model"], r["provider"]): (
            r["requests"],
            r["prompt_tokens"],
            r["cache_read_tokens"],
            r["output_tokens"],
            r["cost"],
        )
        for r in frame.iter_rows(named=True)
    }


def test_message_usage_only_costs_equal_those_with_usage_records(source: Store, store: Store) -> None:
    _copy(source, store)
    assert all(not store.executions.list_usage(s.id) for s in store.sessions.list_sessions())
    calls = all_calls(store)
    assert {c.source for c in calls} == {"message_usage"}
    assert len(calls) == len(all_calls(source)) > 0
    expected = _expected(calls)
    assert _got(store) == expected == _expected(all_calls(source))
    assert _got(store) == _got(source)
    frame = usage(store)
    assert frame["source"].unique().to_list() == ["message_usage"]
    assert sorted(frame["id"]) == sorted(frame["message_id"]) == sorted(str(c.id) for c in calls)
    per_session: dict[str, Decimal] = defaultdict(Decimal)
    for c in calls:
        per_session[str(c.session_id)] += genai_cost(c) or Decimal(0)
    frame = sessions(store, exact=True)
    got = dict(zip(frame["id"], frame["cost"], strict=True))
    assert got == per_session
    top = top_sessions(store, by="cost", n=1, exact=True)
    assert top["cost"].to_list() == [max(per_session.values())]


def test_mixed_store_counts_each_call_once(source: Store, store: Store) -> None:
    records = [u for s in source.sessions.list_sessions() for u in source.executions.list_usage(s.id)]
    kept = {u.id for u in records[::2]}
    _copy(source, store, keep_usage=lambda u: u.id in kept)
    calls = all_calls(store)
    assert {c.source for c in calls} == {"usage_record", "message_usage"}
    assert len(calls) == len(records)
    frame = usage(store)
    assert frame.height == len(calls)
    assert frame["message_id"].n_unique() == frame.height  # no message counted twice
    assert set(frame.filter(frame["source"] == "usage_record")["id"]) == {str(i) for i in kept}
    assert _got(store) == _expected(calls) == _got(source)


def _session(store: Store, model: str) -> Session:
    return store.sessions.create_session(Session(title="t", model=model, created_at=T0, updated_at=T0))


def _assistant(store: Store, s: Session, minutes: int, usage_: TokenUsage) -> MessageRecord:
    m = MessageRecord(
        session_id=s.id,
        role=MessageRole.ASSISTANT,
        content=[TextPart(text="ok")],
        usage=usage_,
        created_at=T0 + timedelta(minutes=minutes),
    )
    return store.sessions.append_messages([m], touch_session=False)[0]


def _record(m: MessageRecord, provider: str, model: str, **tokens: int) -> UsageRecord:
    return UsageRecord(
        session_id=m.session_id, message_id=m.id, provider=provider, model=model, created_at=m.created_at, **tokens
    )


def test_cache_counters_are_recovered_from_the_message_usage(store: Store) -> None:
    s = _session(store, "claude-sonnet-4-5")
    full = TokenUsage(
        input_tokens=1_200,
        output_tokens=300,
        total_tokens=1_500,
        cache_read_input_tokens=40_000,
        cache_creation_input_tokens=2_000,
    )
    lost = _assistant(store, s, 1, full)  # its record lost the cache counters (behest's SQL table)
    other = _assistant(store, s, 2, full)  # its record is for a different call: nothing to recover
    own = _assistant(store, s, 3, full)  # its record has cache counters of its own: kept
    store.executions.record_usages(
        [
            _record(lost, "anthropic", s.model, input_tokens=1_200, output_tokens=300, total_tokens=1_500),
            _record(other, "anthropic", s.model, input_tokens=900, output_tokens=300, total_tokens=1_200),
            _record(own, "anthropic", s.model, input_tokens=1_200, output_tokens=300, total_tokens=1_500,
                    cache_read_input_tokens=7),
        ]
    )  # fmt: skip
    calls = {c.message_id: c for c in all_calls(store)}
    assert [calls[m.id].cache_recovered for m in (lost, other, own)] == [True, False, False]
    rows = {r["message_id"]: r for r in usage(store, exact=True).iter_rows(named=True)}
    assert len(rows) == 3
    for m in (lost, other, own):
        row, c = rows[str(m.id)], calls[m.id]
        _, uncached, read, write = normalise(c)
        assert (row["source"], row["cache_recovered"]) == ("usage_record", c.cache_recovered)
        assert (row["uncached_input_tokens"], row["cache_read_tokens"], row["cache_write_tokens"]) == (
            uncached,
            read,
            write,
        )
        assert row["cost"] == genai_cost(c)
    assert rows[str(lost.id)]["cache_read_input_tokens"] == 40_000
    assert rows[str(other.id)]["cache_read_tokens"] == 0
    assert rows[str(own.id)]["cache_read_tokens"] == 7


def test_unknown_model_has_null_provider_and_cost_and_one_warning(store: Store) -> None:
    s = _session(store, "mystery-model-x")
    known = _session(store, "gpt-4o")
    _assistant(store, s, 1, TokenUsage(input_tokens=1_000, output_tokens=10, total_tokens=1_010))
    _assistant(store, s, 2, TokenUsage(input_tokens=2_000, output_tokens=20, total_tokens=2_020))
    m = _assistant(store, known, 3, TokenUsage(input_tokens=500, output_tokens=5, total_tokens=505))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = usage(store, exact=True)
        by_model = costs(store, by="model", exact=True)
    unknown = [w for w in caught if issubclass(w.category, UnknownModelWarning)]
    assert len(unknown) == 2  # one per computation
    assert all("?/mystery-model-x" in str(w.message) and "gpt-4o" not in str(w.message) for w in unknown)
    mystery = frame.filter(frame["model"] == "mystery-model-x")
    assert mystery["provider"].to_list() == [None, None]
    assert mystery["cost"].to_list() == [None, None]
    assert mystery["token_style"].to_list() == ["openai", "openai"]
    assert mystery["prompt_tokens"].to_list() == [1_000, 2_000]
    gpt = next(c for c in all_calls(store) if c.message_id == m.id)
    assert gpt.provider == "openai"
    assert frame.filter(frame["model"] == "gpt-4o")["cost"].to_list() == [genai_cost(gpt)]
    rows = {r["model"]: r for r in by_model.iter_rows(named=True)}
    assert (rows["mystery-model-x"]["cost"], rows["mystery-model-x"]["unpriced_requests"]) == (None, 2)
    assert rows["gpt-4o"]["cost"] == genai_cost(gpt)
    # a user price naming a provider gives the model its provider, and a price
    price = Price("mystery-model-x", provider="acme", input="2", output="8")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        priced = usage(store, prices=[price], model="mystery-model-x", exact=True)
    assert priced["provider"].to_list() == ["acme", "acme"]
    expected = [(Decimal(i) * 2 + Decimal(o) * 8) / 1_000_000 for i, o in ((1_000, 10), (2_000, 20))]
    assert priced["cost"].to_list() == expected


def test_corrupt_message_usage_names_the_messages_table(store: Store) -> None:
    s = _session(store, "gpt-4o")
    m = _assistant(store, s, 1, TokenUsage(input_tokens=10, output_tokens=1, total_tokens=11, cached_input_tokens=50))
    with pytest.raises(DataCorruptionError, match=str(m.id)) as info:
        usage(store)
    assert info.value.field == "messages.cached_input_tokens"


def test_behest_sqlite_round_trip_keeps_the_costs(source: Store, store: Store, tmp_path: Path) -> None:
    path = tmp_path / "behest.db"
    export_behest_sqlite(source, path)
    import_behest_sqlite(store, path)
    before, after = costs(source, by="model", exact=True), costs(store, by="model", exact=True)
    cols = ["model", "requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost"]
    assert after.select(cols).to_dicts() == before.select(cols).to_dicts()
    assert after["cache_read_tokens"].sum() > 0  # the cache tokens survived through the message usage
    recovered = usage(store)["cache_recovered"]
    assert recovered.any()
    expected: dict[str, Decimal] = defaultdict(Decimal)
    for c in all_calls(store):
        expected[c.model] += genai_cost(c) or Decimal(0)
    assert dict(zip(after["model"], after["cost"], strict=True)) == expected
