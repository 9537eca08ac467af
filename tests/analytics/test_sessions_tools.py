"""sessions(), top_sessions(), tool_executions(), tool_stats() against plain-Python computations over the records."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from behest_lab import Store
from behest_lab.analytics import metadata_keys, sessions, tool_executions, tool_stats, top_sessions
from behest_lab.compaction import compaction_pairs
from behest_lab.stores.rules import metadata_contains
from tests.analytics._reference import (
    all_calls,
    all_executions,
    all_messages,
    all_sessions,
    close,
    genai_cost,
    group_cost,
    normalise,
    quantile,
    top_errors,
)


def _expected_sessions(store: Store) -> dict[str, dict[str, Any]]:
    msgs = all_messages(store)
    calls = all_calls(store)
    out: dict[str, dict[str, Any]] = {}
    for s in all_sessions(store):
        sid = str(s.id)
        ms = msgs[sid]
        execs = store.executions.list_executions(s.id)
        usage = [c for c in calls if c.session_id == s.id]
        norm = [normalise(u) for u in usage]
        cost, unpriced = group_cost(genai_cost(u) for u in usage)
        out[sid] = {
            "title": s.title,
            "model": s.model,
            "metadata": s.metadata,
            "duration": s.updated_at - s.created_at,
            "messages": len(ms),
            **{
                f"{r}_messages": sum(1 for m in ms if m.role.value == r)
                for r in ("system", "user", "assistant", "tool")
            },
            "tool_calls": sum(len(m.tool_calls) for m in ms),
            "tool_executions": len(execs),
            "tool_failures": sum(1 for e in execs if e.status.value == "failed"),
            "compactions": len(compaction_pairs(ms)),
            "requests": len(usage),
            "prompt_tokens": sum(a + b + c for _, a, b, c in norm),
            "cache_read_tokens": sum(b for _, _, b, _ in norm),
            "cache_write_tokens": sum(c for _, _, _, c in norm),
            "output_tokens": sum(u.output_tokens for u in usage),
            "cost": Decimal(0) if not usage else cost,
            "unpriced_requests": unpriced,
            "created_at": s.created_at,
        }
    return out


def test_sessions_match_python(filled: Store) -> None:
    expected = _expected_sessions(filled)
    frame = sessions(filled, exact=True)
    assert frame.height == len(expected)
    order = sorted(expected, key=lambda k: (expected[k]["created_at"], k), reverse=True)
    assert frame["id"].to_list() == order
    for row in frame.iter_rows(named=True):
        e = expected[row["id"]]
        for col, value in e.items():
            if col == "metadata":
                assert (None if row[col] is None else json.loads(row[col])) == value
            elif col == "cost":
                assert close(row[col], value), (row["id"], row[col], value)
            else:
                assert row[col] == value, (col, row[col], value)
        meta = e["metadata"] or {}
        for key in ("user", "team"):
            assert row[key] == meta.get(key)
    assert sum(frame["compactions"]) >= 5  # the generated sessions and the edge session both compact


def test_session_metadata_fields_and_filters(filled: Store) -> None:
    everything = all_sessions(filled)
    keys = metadata_keys(filled)
    present = {k for s in everything if isinstance(s.metadata, dict) for k in s.metadata}
    assert set(keys) <= present
    assert "user" in keys
    frame = sessions(filled, metadata_fields=["tags", "n", "nested", "missing"])
    edge = frame.filter(frame["title"] == "edge 'quotes'").row(0, named=True)
    assert (edge["tags"], edge["n"], edge["nested"], edge["missing"]) == ('["a","b"]', "3", '{"k":true}', None)
    for pattern in ({"team": "core"}, {"nested": {"k": True}}, {"n": 3.0}, {"tags": ["a", "b"]}, {"n": "3"}, {}):
        got = set(sessions(filled, metadata=pattern)["id"].to_list())
        assert got == {str(s.id) for s in everything if metadata_contains(s.metadata, pattern)}, pattern
    some = everything[len(everything) // 2]
    got = sessions(filled, model=some.model, since=some.created_at, until=some.created_at + timedelta(microseconds=1))
    assert got["id"].to_list() == [str(some.id)]


@pytest.mark.parametrize("by", ["cost", "tokens", "duration", "failures"])
def test_top_sessions(filled: Store, by: str) -> None:
    expected = _expected_sessions(filled)
    measure = {
        "cost": lambda e: e["cost"],
        "tokens": lambda e: e["prompt_tokens"] + e["output_tokens"],
        "duration": lambda e: e["duration"],
        "failures": lambda e: e["tool_failures"],
    }[by]
    want = sorted(expected, key=lambda k: (measure(expected[k]), k), reverse=True)[:3]
    assert top_sessions(filled, by=by, n=3)["id"].to_list() == want
    with pytest.raises(ValueError, match="by"):
        top_sessions(filled, by="size")


def test_tool_executions_rows_and_filters(filled: Store) -> None:
    execs = all_executions(filled)
    models = {s.id: s.model for s in all_sessions(filled)}
    frame = tool_executions(filled)
    assert sorted(frame["id"].to_list()) == sorted(str(e.id) for e in execs)
    by_id = {str(e.id): e for e in execs}
    for row in frame.iter_rows(named=True):
        e = by_id[row["id"]]
        assert row["duration_ms"] == e.duration / timedelta(milliseconds=1)
        assert (row["status"], row["error"], row["model"]) == (e.status.value, e.error, models[e.session_id])
    tool = execs[0].tool_name
    model = models[execs[0].session_id]
    got = tool_executions(filled, tool=tool, model=model)
    assert sorted(got["id"].to_list()) == sorted(
        str(e.id) for e in execs if e.tool_name == tool and models[e.session_id] == model
    )


def _stats(groups: dict[tuple[Any, ...], list[Any]]) -> dict[tuple[Any, ...], dict[str, Any]]:
    out = {}
    for key, es in groups.items():
        done = [e.duration / timedelta(milliseconds=1) for e in es if e.status.value != "pending"]
        failures = sum(1 for e in es if e.status.value == "failed")
        successes = sum(1 for e in es if e.status.value == "success")
        out[key] = {
            "calls": len(es),
            "successes": successes,
            "failures": failures,
            "pending": len(es) - failures - successes,
            "failure_rate": failures / len(done) if done else None,
            "p50_ms": quantile(done, 0.5) if done else None,
            "p95_ms": quantile(done, 0.95) if done else None,
            "p99_ms": quantile(done, 0.99) if done else None,
            "max_ms": max(done) if done else None,
            "mean_ms": sum(done) / len(done) if done else None,
            "top_errors": top_errors(e.error for e in es if e.status.value == "failed"),
        }
    return out


@pytest.mark.parametrize("source", ["session", "usage"])
def test_tool_stats_match_python(filled: Store, source: str) -> None:
    execs = all_executions(filled)
    session_model = {s.id: s.model for s in all_sessions(filled)}
    usage_model: dict[Any, str] = {}
    for u in all_calls(filled):
        usage_model[u.message_id] = min(u.model, usage_model.get(u.message_id, u.model))

    def model(e: Any) -> str | None:
        return session_model[e.session_id] if source == "session" else usage_model.get(e.message_id)

    for by in (("tool_name",), ("tool_name", "model")):
        groups: dict[tuple[Any, ...], list[Any]] = defaultdict(list)
        for e in execs:
            groups[tuple(e.tool_name if k == "tool_name" else model(e) for k in by)].append(e)
        expected = _stats(groups)
        frame = tool_stats(filled, by=by, model_source=source)
        got = {tuple(r[k] for k in by): r for r in frame.iter_rows(named=True)}
        assert set(got) == set(expected)
        assert frame["calls"].to_list() == sorted(frame["calls"].to_list(), reverse=True)
        for key, e in expected.items():
            r = got[key]
            for col, value in e.items():
                if isinstance(value, float):
                    assert r[col] == pytest.approx(value, rel=1e-12, abs=1e-9), (key, col)
                else:
                    assert r[col] == value, (key, col, r[col], value)
    grep = tool_stats(filled, tool="grep").row(0, named=True)
    assert grep["top_errors"] == ["boom", "alpha", "omega"]
    assert grep["pending"] == 1


def test_tool_stats_rejects_bad_keys(filled: Store) -> None:
    with pytest.raises(ValueError, match="'day' is not one of"):
        tool_stats(filled, by=("tool_name", "day"))
    with pytest.raises(ValueError, match="model_source"):
        tool_stats(filled, model_source="message")
