"""The sample generator: determinism, realism of its statistics, and the shapes behest's runtime writes."""

from __future__ import annotations

import csv
import io
import json
import statistics
import struct
import zlib
from collections import Counter, defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import numpy as np
import pytest
from genai_prices import Usage, calc_price

from behest_lab import (
    MessageRecord,
    MessageRole,
    Store,
    TextPart,
    TokenUsage,
    ToolExecution,
    ToolExecutionStatus,
    UsageRecord,
    compaction_pairs,
    open_store,
)
from behest_lab.embedders import HashEmbedder
from behest_lab.sample import DEFAULT_START, SampleSummary, generate, iter_batches

SESSIONS = 240
SEED = 7


def dump_all(store: Store) -> dict[str, list[str]]:
    """Every record of the store as behest JSON, in a stable order."""
    sessions = sorted(store.sessions.list_sessions(), key=lambda s: s.id)
    out: dict[str, list[str]] = defaultdict(list)
    for s in sessions:
        out["sessions"].append(s.model_dump_json())
        out["messages"] += [m.model_dump_json() for m in store.sessions.list_messages(s.id)]
        out["executions"] += [e.model_dump_json() for e in store.executions.list_executions(s.id)]
        out["usage"] += [u.model_dump_json() for u in store.executions.list_usage(s.id)]
        out["artifacts"] += [a.model_dump_json() for a in store.artifacts.list_by_session(s.id)]
    for (id_,) in store.sql("SELECT id FROM embeddings ORDER BY id").fetchall():
        record = store.embeddings.get(UUID(str(id_)))
        assert record is not None
        out["embeddings"].append(record.model_dump_json())
    return dict(out)


def count(store: Store, query: str) -> int:
    row = store.sql(query).fetchone()
    assert row is not None
    return int(row[0])


@pytest.fixture(scope="module")
def sample() -> Iterator[tuple[Store, SampleSummary]]:
    store = open_store(None)
    summary = generate(store, sessions=SESSIONS, seed=SEED)
    yield store, summary
    store.close()


@pytest.fixture(scope="module")
def sessions(sample: tuple[Store, SampleSummary]) -> list[tuple[Any, list[MessageRecord]]]:
    store, _ = sample
    return [(s, store.sessions.list_messages(s.id)) for s in store.sessions.list_sessions()]


@pytest.fixture(scope="module")
def executions(sample: tuple[Store, SampleSummary]) -> list[ToolExecution]:
    store, _ = sample
    return [e for s in store.sessions.list_sessions() for e in store.executions.list_executions(s.id)]


@pytest.fixture(scope="module")
def usages(sample: tuple[Store, SampleSummary]) -> list[UsageRecord]:
    store, _ = sample
    return [u for s in store.sessions.list_sessions() for u in store.executions.list_usage(s.id)]


# --- determinism -------------------------------------------------------------------------------------------


def test_same_seed_gives_identical_records_and_other_seed_differs() -> None:
    dumps = []
    for seed in (3, 3, 4):
        with open_store(None) as store:
            generate(store, sessions=25, seed=seed)
            dumps.append(dump_all(store))
    assert dumps[0] == dumps[1]
    assert set(dumps[0]) == {"sessions", "messages", "executions", "usage", "artifacts", "embeddings"}
    assert dumps[0]["sessions"] != dumps[2]["sessions"]
    assert dumps[0]["messages"] != dumps[2]["messages"]


def test_records_survive_behest_json_round_trips() -> None:
    """Durations are whole milliseconds and timestamps microseconds, so behest's JSON loses nothing."""
    from behest_lab import Artifact, EmbeddingRecord, MessageRecord, Session, ToolExecution, UsageRecord

    with open_store(None) as store:
        generate(store, sessions=10, seed=11)
        kinds = {
            "sessions": Session,
            "messages": MessageRecord,
            "executions": ToolExecution,
            "usage": UsageRecord,
            "artifacts": Artifact,
            "embeddings": EmbeddingRecord,
        }
        for kind, texts in dump_all(store).items():
            for text in texts:
                assert kinds[kind].model_validate_json(text).model_dump_json() == text


def test_batch_size_does_not_change_the_data() -> None:
    with open_store(None) as a, open_store(None) as b:
        generate(a, sessions=12, seed=5, batch_size=500)
        generate(b, sessions=12, seed=5, batch_size=5)
        assert dump_all(a) == dump_all(b)


def test_summary_counts_what_was_written(sample: tuple[Store, SampleSummary]) -> None:
    store, summary = sample
    counts = {
        "sessions": "sessions",
        "messages": "messages",
        "tool_executions": "tool_executions",
        "usage_records": "usage_records",
        "embeddings": "embeddings",
        "artifacts": "artifacts",
    }
    for field, table in counts.items():
        assert getattr(summary, field) == count(store, f"SELECT count(*) FROM {table}"), field
    assert summary.compactions == count(store, "SELECT count(*) FROM messages WHERE is_compaction")
    assert summary.sessions == SESSIONS
    assert summary.as_dict()["messages"] == summary.messages


def test_progress_is_reported_per_batch() -> None:
    calls: list[tuple[int, int]] = []
    with open_store(None) as store:
        generate(
            store, sessions=7, seed=1, batch_size=3, embedding_dim=None, progress=lambda d, t: calls.append((d, t))
        )
        assert count(store, "SELECT count(*) FROM embeddings") == 0
    assert calls == [(3, 7), (6, 7), (7, 7)]


@pytest.mark.parametrize(
    ("kwargs", "error", "names"),
    [
        ({"sessions": -1}, ValueError, "sessions"),
        ({"sessions": 2.5}, TypeError, "sessions"),
        ({"days": 0}, ValueError, "days"),
        ({"batch_size": 0}, ValueError, "batch_size"),
        ({"embedding_dim": 0}, ValueError, "embedding_dim"),
        ({"start": datetime(2026, 1, 1)}, ValueError, "start"),
    ],
)
def test_bad_options_are_refused_with_their_name(kwargs: dict[str, Any], error: type[Exception], names: str) -> None:
    with open_store(None) as store, pytest.raises(error, match=names):
        generate(store, **{"sessions": 1, **kwargs})


def test_store_must_be_a_store() -> None:
    with pytest.raises(TypeError, match="store"):
        generate(object(), sessions=1)  # type: ignore[arg-type]


# --- sessions and messages ---------------------------------------------------------------------------------


def test_sessions_have_metadata_and_timestamps_from_their_messages(sessions: list[Any]) -> None:
    end = DEFAULT_START + timedelta(days=31)
    topics: Counter[str] = Counter()
    for s, msgs in sessions:
        meta = s.metadata
        assert isinstance(meta["user"], str)
        assert meta["user"]
        assert isinstance(meta["team"], str)
        assert meta["team"]
        assert isinstance(meta["tags"], list)
        assert all(isinstance(t, str) for t in meta["tags"])
        assert meta["environment"] in {"production", "staging", "development"}
        topics[meta["topic"]] += 1
        assert msgs[0].role is MessageRole.SYSTEM
        assert s.created_at <= msgs[0].created_at
        assert s.updated_at == msgs[-1].created_at
        times = [m.created_at for m in msgs]
        assert times == sorted(times)
        assert len(set(times)) == len(times)
        assert s.created_at >= DEFAULT_START
        assert s.updated_at < end
    assert len(topics) >= 5


def test_messages_per_session_and_roles(sessions: list[Any]) -> None:
    sizes = [len(msgs) for _, msgs in sessions]
    assert 20 <= statistics.mean(sizes) <= 40
    assert max(sizes) >= 3 * statistics.median(sizes)  # a long tail of long sessions
    roles = Counter(m.role for _, msgs in sessions for m in msgs)
    assert set(roles) == set(MessageRole)


def test_some_texts_need_html_escaping(sessions: list[Any]) -> None:
    texts = [m.text_content for _, msgs in sessions for m in msgs]
    assert any("<" in t for t in texts)
    assert any("&" in t for t in texts)
    assert any("```" in t for t in texts)


def test_every_tool_call_has_one_result_message_and_one_execution(
    sessions: list[Any], executions: list[ToolExecution]
) -> None:
    by_call = Counter(e.call_id for e in executions)
    exec_of = {e.call_id: e for e in executions}
    n_calls = 0
    for _, msgs in sessions:
        position = {m.id: i for i, m in enumerate(msgs)}
        results = Counter(m.tool_call_id for m in msgs if m.role is MessageRole.TOOL)
        result_msg = {m.tool_call_id: m for m in msgs if m.role is MessageRole.TOOL}
        calls = [(m, c) for m in msgs for c in m.tool_calls]
        assert all(m.role is MessageRole.ASSISTANT for m, _ in calls)
        assert set(results) == {c.id for _, c in calls}
        for m, c in calls:
            n_calls += 1
            assert results[c.id] == 1
            assert by_call[c.id] == 1
            r = result_msg[c.id]
            assert r.tool_name == c.name
            assert position[r.id] > position[m.id]
            e = exec_of[c.id]
            assert (e.message_id, e.tool_name, e.arguments, e.session_id) == (m.id, c.name, c.arguments, m.session_id)
            if e.status is ToolExecutionStatus.FAILED:
                assert r.text_content == f"Error: {e.error}"
    assert n_calls == len(executions)


# --- tools -------------------------------------------------------------------------------------------------


def test_tools_have_distinct_latency_distributions(executions: list[ToolExecution]) -> None:
    durations: dict[str, list[float]] = defaultdict(list)
    for e in executions:
        if e.status is not ToolExecutionStatus.PENDING:
            durations[e.tool_name].append(e.duration / timedelta(milliseconds=1))
    common = {t: np.asarray(d) for t, d in durations.items() if len(d) >= 15}
    assert len(common) >= 6
    medians = sorted(float(np.median(d)) for d in common.values())
    # at least six tools whose medians are each at least 1.5 times the previous one
    chain = [medians[0]]
    for m in medians[1:]:
        if m >= 1.5 * chain[-1]:
            chain.append(m)
    assert len(chain) >= 6, medians
    assert medians[0] < 10
    assert medians[-1] > 1000
    tail = {t: float(np.percentile(d, 95) / np.median(d)) for t, d in common.items()}
    assert tail["fetch_url"] > 5 > tail["calculator"]  # heavy-tailed web calls, tight local ones


def test_failure_rate_errors_and_pending(executions: list[ToolExecution]) -> None:
    status = Counter(e.status for e in executions)
    finished = status[ToolExecutionStatus.SUCCESS] + status[ToolExecutionStatus.FAILED]
    assert 0.03 <= status[ToolExecutionStatus.FAILED] / finished <= 0.08
    assert status[ToolExecutionStatus.PENDING] > 0
    errors = [e.error for e in executions if e.status is ToolExecutionStatus.FAILED]
    assert all(errors)
    joined = "\n".join(e for e in errors if e)
    for needle in ("429", "503", "Timeout", "No such file", "Permission"):
        assert needle.lower() in joined.lower(), needle
    timeouts = [e for e in executions if e.error and e.error.startswith("ReadTimeout: no response after 30.0 s")]
    assert timeouts
    assert all(e.duration == timedelta(seconds=30) for e in timeouts)  # a timeout lasts as long as its limit
    for e in executions:
        assert e.duration % timedelta(milliseconds=1) == timedelta(0)  # whole milliseconds, as behest stores them
        if e.status is ToolExecutionStatus.PENDING:
            assert (e.result, e.error, e.duration) == (None, None, timedelta(0))
        elif e.status is ToolExecutionStatus.SUCCESS:
            assert e.result is not None
            assert e.error is None
            assert e.duration > timedelta(0)


# --- usage -------------------------------------------------------------------------------------------------


def prompt_tokens(u: TokenUsage | UsageRecord) -> int:
    """Every prompt token of a call: Anthropic reports cache reads and writes apart from input_tokens."""
    return u.input_tokens + (u.cache_creation_input_tokens or 0) + (u.cache_read_input_tokens or 0)


def test_usage_records_match_assistant_messages(sessions: list[Any], sample: tuple[Store, SampleSummary]) -> None:
    store, _ = sample
    for s, msgs in sessions:
        assistant = {m.id: m for m in msgs if m.role is MessageRole.ASSISTANT}
        usage = store.executions.list_usage(s.id)
        assert sorted(u.message_id for u in usage) == sorted(assistant)
        for u in usage:
            m = assistant[u.message_id]
            assert m.usage is not None
            assert (u.input_tokens, u.output_tokens, u.total_tokens) == (
                m.usage.input_tokens,
                m.usage.output_tokens,
                m.usage.total_tokens,
            )
            assert (u.cache_creation_input_tokens, u.cache_read_input_tokens, u.cached_input_tokens) == (
                m.usage.cache_creation_input_tokens,
                m.usage.cache_read_input_tokens,
                m.usage.cached_input_tokens,
            )
            assert u.total_tokens == prompt_tokens(m.usage) + u.output_tokens
            assert u.created_at == m.created_at
            assert u.model == s.model
        assert all(m.usage is None for m in msgs if m.role is not MessageRole.ASSISTANT)


def test_providers_and_models_are_known_to_genai_prices(usages: list[UsageRecord]) -> None:
    models = {(u.provider, u.model) for u in usages}
    assert len({p for p, _ in models}) >= 3
    assert len(models) >= 6
    for provider, model in models:
        price = calc_price(Usage(input_tokens=1000, output_tokens=100), model_ref=model, provider_id=provider)
        assert price.total_price > 0


def test_cache_counters_follow_the_provider_and_grow_with_the_conversation(sessions: list[Any]) -> None:
    grew = 0
    for s, msgs in sessions:
        calls = [m.usage for m in msgs if m.usage is not None]
        provider = s.metadata["provider"]
        for u in calls:
            if provider == "anthropic":
                assert u.cached_input_tokens is None
                assert u.cache_read_input_tokens is not None
                assert u.cache_creation_input_tokens is not None
            else:
                assert u.cache_read_input_tokens is None
                assert u.cache_creation_input_tokens is None
                assert u.cached_input_tokens is not None
                assert u.cached_input_tokens <= u.input_tokens  # OpenAI-style input includes the cached part
        if not any(m.is_compaction for m in msgs) and len(calls) >= 6:
            inputs = [prompt_tokens(u) for u in calls]
            assert inputs == sorted(inputs)  # the context only grows without compaction
            half = len(calls) // 2
            first = sum(u.cache_tokens() for u in calls[:half])
            second = sum(u.cache_tokens() for u in calls[half:])
            grew += second > first
    assert grew > 0
    assert any(m.usage.cache_read_input_tokens for _, msgs in sessions for m in msgs if m.usage)
    assert any(m.usage.cached_input_tokens for _, msgs in sessions for m in msgs if m.usage)


# --- compaction --------------------------------------------------------------------------------------------


def test_compaction_pairs_are_shaped_as_behest_writes_them(sessions: list[Any]) -> None:
    seen = 0
    for _, msgs in sessions:
        pairs = compaction_pairs(msgs)
        assert len(pairs) == sum(m.is_compaction for m in msgs) == sum(m.is_summary for m in msgs)
        ids = [m.id for m in msgs]
        for pair in pairs:
            seen += 1
            c, s = pair.compaction, pair.summary
            assert c.role is MessageRole.USER
            assert c.content == [TextPart(text="[compaction]")]
            assert c.is_compaction
            assert not c.is_summary
            assert c.compaction_meta is not None
            assert c.compaction_meta.summary_text is None
            assert c.compaction_meta.previous_compaction_id is None
            assert s.role is MessageRole.ASSISTANT
            assert s.is_summary
            assert not s.is_compaction
            assert s.compaction_meta is not None
            assert s.compaction_meta.tail_start_id == c.compaction_meta.tail_start_id
            assert s.compaction_meta.summary_text == s.text_content
            assert s.text_content
            assert s.compaction_meta.previous_compaction_id is None
            tail = ids.index(c.compaction_meta.tail_start_id)
            assert tail < pair.index
            assert msgs[tail].role is MessageRole.USER
            # the model saw fewer tokens after the compaction than the summariser did before it
            after = next(m for m in msgs[pair.index + 2 :] if m.usage is not None)
            assert s.usage is not None
            assert after.usage is not None
            assert prompt_tokens(after.usage) < prompt_tokens(s.usage)
    assert seen > 0


# --- embeddings and artifacts ------------------------------------------------------------------------------


def test_user_messages_are_embedded(sessions: list[Any], sample: tuple[Store, SampleSummary]) -> None:
    store, _ = sample
    embedder = HashEmbedder(64)
    users = [m for _, msgs in sessions for m in msgs if m.role is MessageRole.USER and not m.is_compaction]
    assert count(store, "SELECT count(*) FROM embeddings") == len(users)
    for m in users[:50]:
        record = store.embeddings.get(m.id)
        assert record is not None
        assert record.model == "behest-lab/hash-64"
        assert record.session_id == m.session_id
        assert record.metadata == {"message_id": str(m.id), "text": m.text_content}
        assert np.allclose(record.vector, embedder.embed(m.text_content), atol=1e-6)


def test_semantic_search_finds_travel_sessions(sample: tuple[Store, SampleSummary]) -> None:
    store, _ = sample
    hits = store.embeddings.search(HashEmbedder(64).embed("flight to Lisbon"), 10)
    topics = []
    for h in hits:
        assert h.record.session_id is not None
        session = store.sessions.get_session(h.record.session_id)
        assert session is not None
        assert isinstance(session.metadata, dict)
        topics.append(session.metadata["topic"])
    assert topics == ["travel"] * 10


def test_artifacts_are_valid_files(sample: tuple[Store, SampleSummary]) -> None:
    store, _ = sample
    rows = store.sql("SELECT id, content_type FROM artifacts").fetchall()
    kinds = Counter(ct for _, ct in rows)
    assert kinds["text/csv"]
    assert kinds["image/png"]
    assert kinds["application/json"]
    for id_, content_type in rows:
        a = store.artifacts.get(UUID(str(id_)))
        assert a is not None
        assert a.session_id is not None
        assert a.data
        if content_type == "text/csv":
            table = list(csv.reader(io.StringIO(a.data.decode())))
            assert len(table) >= 2
            assert all(len(r) == len(table[0]) for r in table)
        elif content_type == "application/json":
            assert isinstance(json.loads(a.data), dict)
        else:
            assert a.data.startswith(b"\x89PNG\r\n\x1a\n")
            width, height = struct.unpack(">II", a.data[16:24])
            length = struct.unpack(">I", a.data[33:37])[0]
            raw = zlib.decompress(a.data[41 : 41 + length])
            assert len(raw) == height * (width + 1)


def test_iter_batches_needs_no_store() -> None:
    batches = list(iter_batches(sessions=5, seed=2, batch_size=2, start=datetime(2027, 1, 1, tzinfo=UTC), days=1))
    assert [len(b.sessions) for b in batches] == [2, 2, 1]
    first = min(s.created_at for b in batches for s in b.sessions)
    assert first >= datetime(2027, 1, 1, tzinfo=UTC)
