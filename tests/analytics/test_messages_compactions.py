"""messages(), compactions() and export() against the records read back through the store API."""

from __future__ import annotations

import json
from pathlib import Path

import polars as pl
import pytest

from behest_lab import Store
from behest_lab.analytics import MESSAGE_OVERHEAD_TOKENS, compactions, costs, export, messages, tool_stats
from tests.analytics._reference import all_messages, all_sessions, compaction_rows


def test_messages_flatten_the_history(filled: Store) -> None:
    history = all_messages(filled)
    frame = messages(filled)
    assert frame.height == sum(len(ms) for ms in history.values())
    for sid, ms in history.items():
        part = frame.filter(pl.col("session_id") == sid)
        assert part["id"].to_list() == [str(m.id) for m in ms]
        assert part["position"].to_list() == list(range(len(ms)))
        for row, m in zip(part.iter_rows(named=True), ms, strict=True):
            assert (row["role"], row["text"], row["tool_call_id"], row["tool_name"]) == (
                m.role.value,
                m.text_content,
                m.tool_call_id,
                m.tool_name,
            )
            assert row["tool_names"] == [c.name for c in m.tool_calls]
            assert row["tool_call_count"] == len(m.tool_calls)
            assert row["input_tokens"] == (None if m.usage is None else m.usage.input_tokens)
            assert row["cache_read_input_tokens"] == (None if m.usage is None else m.usage.cache_read_input_tokens)
            assert (row["is_compaction"], row["is_summary"]) == (m.is_compaction, m.is_summary)
    one = next(iter(history))
    assert messages(filled, session_id=one)["id"].to_list() == [str(m.id) for m in history[one]]


def test_compactions_match_model_context_estimates(filled: Store) -> None:
    history = all_messages(filled)
    models = {str(s.id): s.model for s in all_sessions(filled)}
    expected = []
    for sid in sorted(history):
        for row in compaction_rows(history[sid], MESSAGE_OVERHEAD_TOKENS, "claude" in models[sid].lower()):
            expected.append({"session_id": sid, **row})
    frame = compactions(filled)
    got = frame.drop("created_at").to_dicts()
    assert got == expected
    assert len(expected) >= 7  # four generated pairs, three in the edge session (one with a tail not found)
    assert any(r["tail_start_id"] is not None and r["messages_kept"] == 0 for r in expected)


@pytest.mark.parametrize("suffix", [".parquet", ".csv", ".json", ".ndjson"])
def test_export_round_trips(filled: Store, tmp_path: Path, suffix: str) -> None:
    frame = tool_stats(filled)
    path = export(frame, tmp_path / "out" / f"stats{suffix}")
    assert path.exists()
    if suffix == ".parquet":
        assert pl.read_parquet(path).equals(frame)
    elif suffix == ".csv":
        back = pl.read_csv(path)
        assert back["tool_name"].to_list() == frame["tool_name"].to_list()
        assert [json.loads(v) for v in back["top_errors"].to_list()] == frame["top_errors"].to_list()
    elif suffix == ".json":
        rows = json.loads(path.read_text())
        assert [r["calls"] for r in rows] == frame["calls"].to_list()
    else:
        lines = path.read_text().splitlines()
        assert [json.loads(x)["tool_name"] for x in lines] == frame["tool_name"].to_list()
    money = costs(filled, by="model")
    assert pl.read_parquet(export(money, tmp_path / "c.parquet"))["cost"].to_list() == money["cost"].to_list()


def test_export_refuses_unknown_extensions(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown export format '\.xlsx'"):
        export(pl.DataFrame({"a": [1]}), tmp_path / "x.xlsx")
