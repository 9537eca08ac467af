"""Round trips over realistic generated agent runs (``behest_lab.sample``): compactions, tool calls, artifacts."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from behest_lab import open_store
from behest_lab.interchange import export_behest_sqlite, export_jsonl, import_behest_sqlite, import_jsonl
from behest_lab.sample import generate
from tests.interchange._data import snapshot


def test_generated_runs_survive_jsonl_and_behest_sqlite(tmp_path: Path) -> None:
    store = open_store(None)
    summary = generate(store, sessions=25, seed=11)
    assert summary.compactions > 0
    want = snapshot(store)

    export_jsonl(store, tmp_path / "a.jsonl")
    via_jsonl = open_store(None)
    import_jsonl(via_jsonl, tmp_path / "a.jsonl", batch_sessions=4)
    assert snapshot(via_jsonl) == want

    report = export_behest_sqlite(store, tmp_path / "a.db")
    assert report.written["messages"] == summary.messages
    via_sqlite = open_store(None)
    imported = import_behest_sqlite(via_sqlite, tmp_path / "a.db", batch_sessions=4)
    assert imported.tool_ids_unpaired == 0
    got = snapshot(via_sqlite)
    ms = timedelta(milliseconds=1)
    cache = dict.fromkeys(("cache_creation_input_tokens", "cache_read_input_tokens", "cached_input_tokens"))
    assert got.sessions == want.sessions
    assert got.messages == want.messages
    assert got.executions == [
        [e.model_copy(update={"duration": e.duration // ms * ms}) for e in x] for x in want.executions
    ]
    assert got.usage == [[u.model_copy(update=cache) for u in x] for x in want.usage]
