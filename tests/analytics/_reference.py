"""Independent computations in plain Python over records read back through the store API.

Nothing here uses SQL or behest_lab.analytics: costs come from ``genai_prices.calc_price`` per record, percentiles
from numpy, compaction estimates from ``behest_lab.compaction.model_context``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import genai_prices
from genai_prices.data import providers
from genai_prices.data_snapshot import DataSnapshot

from behest_lab import MessageRecord, Store, ToolExecution, UsageRecord
from behest_lab.compaction import compaction_pairs, model_context
from behest_lab.records import JsonPart

#: The bundled data, as the library uses it (never a fetched snapshot).
SNAPSHOT = DataSnapshot(providers=providers, from_auto_update=False)


def all_sessions(store: Store) -> list[Any]:
    return store.sessions.list_sessions()


def all_messages(store: Store) -> dict[str, list[MessageRecord]]:
    return {str(s.id): store.sessions.list_messages(s.id) for s in all_sessions(store)}


def all_executions(store: Store) -> list[ToolExecution]:
    return [e for s in all_sessions(store) for e in store.executions.list_executions(s.id)]


def all_usage(store: Store) -> list[UsageRecord]:
    return [u for s in all_sessions(store) for u in store.executions.list_usage(s.id)]


@dataclass(frozen=True)
class Call:
    """One model call as the analytics count it: a usage record, or a message's usage no record covers."""

    id: UUID
    session_id: UUID
    message_id: UUID
    provider: str | None
    model: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    cache_creation_input_tokens: int | None
    cache_read_input_tokens: int | None
    cached_input_tokens: int | None
    created_at: datetime
    source: str
    cache_recovered: bool = False


_CACHE = ("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens")


def provider_of(model: str) -> str | None:
    """genai-prices' provider for a model name alone (None when it does not know the model)."""
    try:
        provider, _ = SNAPSHOT.find_provider_model(model, None, None, None)
    except LookupError:
        return None
    return str(provider.id)


def all_calls(store: Store) -> list[Call]:
    """Every usage record (cache counters taken from its message's usage when the record has none and the
    message's usage has some for the same input/output tokens) plus one call per message with usage and no record."""
    calls: list[Call] = []
    for s in all_sessions(store):
        messages = {m.id: m for m in store.sessions.list_messages(s.id)}
        records = store.executions.list_usage(s.id)
        covered = {u.message_id for u in records}
        for u in records:
            fields = {k: getattr(u, k) for k in _CACHE}
            m = messages.get(u.message_id)
            mu = None if m is None else m.usage
            recovered = (
                mu is not None
                and all(v is None for v in fields.values())
                and any(getattr(mu, k) is not None for k in _CACHE)
                and (mu.input_tokens, mu.output_tokens) == (u.input_tokens, u.output_tokens)
            )
            if recovered:
                fields = {k: getattr(mu, k) for k in _CACHE}
            calls.append(
                Call(u.id, u.session_id, u.message_id, u.provider, u.model, u.input_tokens, u.output_tokens,
                     u.total_tokens, **fields, created_at=u.created_at, source="usage_record",
                     cache_recovered=recovered)
            )  # fmt: skip
        for m in messages.values():
            if m.usage is not None and m.id not in covered:
                mu = m.usage
                calls.append(
                    Call(m.id, s.id, m.id, provider_of(s.model), s.model, mu.input_tokens, mu.output_tokens,
                         mu.total_tokens, **{k: getattr(mu, k) for k in _CACHE}, created_at=m.created_at,
                         source="message_usage")
                )  # fmt: skip
    return calls


def normalise(u: UsageRecord | Call) -> tuple[str, int, int, int]:
    """(style, uncached, cache read, cache write) by the documented rule."""
    anthropic = (u.provider or "").lower() == "anthropic" or "claude" in u.model.lower()
    write = u.cache_creation_input_tokens or 0
    if anthropic:
        return "anthropic", u.input_tokens, u.cache_read_input_tokens or 0, write
    read = u.cached_input_tokens if u.cached_input_tokens is not None else (u.cache_read_input_tokens or 0)
    return "openai", u.input_tokens - read - write, read, write


def genai_cost(u: UsageRecord | Call) -> Decimal | None:
    """The exact cost genai-prices computes for one record (None when it does not know the model or provider)."""
    if u.provider is None:
        return None
    _, uncached, read, write = normalise(u)
    usage = genai_prices.Usage(
        input_tokens=uncached + read + write,
        cache_read_tokens=read,
        cache_write_tokens=write,
        output_tokens=u.output_tokens,
    )
    try:
        calc = SNAPSHOT.calc(usage, u.model, u.provider, None, u.created_at)
    except LookupError:
        try:
            calc = SNAPSHOT.calc(usage, u.model, None, None, u.created_at)
        except LookupError:
            return None
    return Decimal(calc.total_price)


def group_cost(costs: Iterable[Decimal | None]) -> tuple[Decimal | None, int]:
    """(cost, unpriced calls) of a group of calls by the documented rule: the sum of the priced calls' costs
    (None for an unpriced call), and None when no call of the group is priced."""
    known = list(costs)
    priced = [c for c in known if c is not None]
    return (sum(priced, Decimal(0)) if priced else None), len(known) - len(priced)


def close(a: Decimal | None, b: Decimal | None) -> bool:
    """Equal as exact decimals (costs are never rounded), or both missing."""
    if a is None or b is None:
        return a is None and b is None
    return a == b


def utc_day(u: UsageRecord | Call | ToolExecution) -> date:
    return u.created_at.date()


def quantile(values: list[float], q: float) -> float:
    """Linear interpolation between order statistics (numpy's default), written out."""
    xs = sorted(values)
    pos = (len(xs) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (pos - lo)


def top_errors(errors: Iterable[str | None]) -> list[str]:
    counts = Counter(e for e in errors if e is not None)
    return [e for e, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:3]]


def message_chars(m: MessageRecord) -> int:
    chars = len(m.text_content)
    chars += sum(
        len(json.dumps(p.value, ensure_ascii=False, separators=(",", ":")))
        for p in m.content
        if isinstance(p, JsonPart)
    )
    chars += sum(
        len(c.name) + len(json.dumps(c.arguments, ensure_ascii=False, separators=(",", ":"))) for c in m.tool_calls
    )
    return chars


def estimate(messages: Iterable[MessageRecord], overhead: int) -> int:
    return sum((message_chars(m) + 3) // 4 + overhead for m in messages)


def compaction_rows(messages: list[MessageRecord], overhead: int, claude: bool) -> list[dict[str, Any]]:
    """The compactions() row of every pair of one session, from compaction_pairs and model_context."""
    rows = []

    def prompt(m: MessageRecord) -> int | None:
        if m.role.value != "assistant" or m.usage is None:
            return None
        u = m.usage
        extra = (u.cache_read_input_tokens or 0) + (u.cache_creation_input_tokens or 0) if claude else 0
        return u.input_tokens + extra

    for pair in compaction_pairs(messages):
        i = pair.index
        tail = pair.tail_start_id
        tail_pos = next((k for k, m in enumerate(messages[:i]) if m.id == tail), None)
        kept = [] if tail_pos is None else [m for m in messages[tail_pos:i] if not (m.is_compaction or m.is_summary)]
        before = [p for p in (prompt(m) for m in messages[:i]) if p is not None]
        after = [p for p in (prompt(m) for m in messages[i + 2 :]) if p is not None]
        rows.append(
            {
                "compaction_id": str(pair.compaction.id),
                "summary_id": str(pair.summary.id),
                "position": i,
                "tail_start_id": None if tail is None else str(tail),
                "messages_folded": i if tail_pos is None else tail_pos,
                "messages_kept": len(kept),
                "summary_chars": len(pair.summary_text),
                "estimated_tokens_before": estimate(model_context(messages[:i]), overhead),
                "estimated_tokens_after": estimate(model_context(messages[: i + 2]), overhead),
                "prompt_tokens_before": before[-1] if before else None,
                "prompt_tokens_after": after[0] if after else None,
            }
        )
    return rows
