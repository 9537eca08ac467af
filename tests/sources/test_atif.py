"""ATIF trajectories v1.4-v1.8: each version's trap, costs against the files' own cost_usd, re-import, bad input."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from behest_lab import Store, analytics, open_store
from behest_lab.errors import SourceError
from behest_lab.pricing import Price
from behest_lab.records import JsonPart, MessageRole, TextPart, ToolExecutionStatus
from behest_lab.sources.agentlogs import AgentLogReport, detect_format, import_agent_logs
from behest_lab.sources.atif import AtifSource
from behest_lab.sources.claude_code import ClaudeCodeSource
from behest_lab.sources.codex import CodexSource
from tests.sources._atif_fixture import (
    RATES,
    RUN,
    V14_CHILD_SID,
    V14_SID,
    V15_CONT_SID,
    V15_SID,
    V16_SID,
    documents,
    write_trajectories,
)
from tests.sources._codex_fixture import write_rollout

DATA = Path(__file__).resolve().parents[2] / "data" / "agent_logs" / "atif"


def _import(store: Store, path: Path, *, skip_bad: bool = False) -> AgentLogReport:
    return import_agent_logs(AtifSource(path), store, progress=False, skip_bad=skip_bad)


def _sessions(store: Store) -> dict[tuple[str | None, str | None], Any]:
    """Sessions by (session_id, trajectory_id) as the files give them."""
    return {(s.metadata.get("session_id"), s.metadata.get("trajectory_id")): s for s in store.sessions.list_sessions()}


def _counted_steps() -> list[tuple[str, dict[str, Any]]]:
    """(model, metrics) of every step whose usage counts, by hand from the raw documents.

    Counted: agent steps with metrics; not steps copied from an earlier trajectory (is_copied_context) and not
    deterministic dispatches (llm_call_count 0). final_metrics are totals of the steps and never added.
    """
    out = []

    def walk(doc: dict[str, Any]) -> None:
        for step in doc["steps"]:
            if step["source"] != "agent" or "metrics" not in step or step.get("is_copied_context"):
                continue
            if step.get("llm_call_count") == 0:
                continue
            name = step.get("model_name") or doc["agent"]["model_name"]
            out.append((name.rpartition("/")[2], step["metrics"]))
        for sub in doc.get("subagent_trajectories") or []:
            walk(sub)

    for doc in documents().values():
        walk(doc)
    return out


def _prices() -> list[Price]:
    return [Price(model, input=i, cache_read=r, cache_write=w, output=o) for model, (i, r, w, o) in RATES.items()]


def test_each_trajectory_is_a_session_and_subagents_and_continuations_are_linked(tmp_path: Path) -> None:
    """Root files, subagent files, continuations and embedded subagents each become a session, linked by metadata."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    by = _sessions(store)
    assert len(by) == 9
    root = by[(V14_SID, None)]
    assert root.id == UUID(V14_SID)
    assert root.title == "Fix the failing test in calc.py"
    assert root.model == "gpt-5"
    meta = root.metadata
    assert (meta["source"], meta["schema_version"], meta["agent"], meta["version"]) == (
        "atif",
        "ATIF-v1.4",
        "terminus-2",
        "1.0.0",
    )
    assert meta["final_metrics"] == documents()["v1.4/trajectory.json"]["final_metrics"]
    child = by[(V14_CHILD_SID, None)]
    assert (child.metadata["parent_session_id"], child.metadata["parent_step_id"]) == (V14_SID, 4)
    cont = by[(V15_CONT_SID, None)]
    assert cont.metadata["continues_session_id"] == V15_SID
    assert by[(V15_SID, None)].metadata["tool_names"] == ["Bash", "Edit"]
    # v1.7: two embedded subagents share the parent's run-scoped session_id; trajectory_id tells them apart
    main = by[(RUN, "main")]
    subs = {by[(RUN, t)].metadata["parent_session_id"] for t in ("explore-src", "explore-tests")}
    assert subs == {str(main.id)}
    assert len({main.id, by[(RUN, "explore-src")].id, by[(RUN, "explore-tests")].id}) == 3
    # v1.8: no session_id at all, the trajectory_id names it
    assert by[(None, "voice-7")].title == "Transcribe this."


def test_usage_and_cost_match_a_hand_count_and_the_files_own_cost_usd(tmp_path: Path) -> None:
    """One record per counted step; cached tokens inside prompt_tokens priced once; cost equals the files' cost_usd."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    steps = _counted_steps()
    assert store.sql("SELECT count(*) FROM usage_records").fetchone() == (len(steps),)
    writes = sum(m.get("extra", {}).get("cache_creation_input_tokens", 0) for _, m in steps)
    hand = {
        "prompt_tokens": sum(m["prompt_tokens"] for _, m in steps) + writes,
        "cache_read_tokens": sum(m["cached_tokens"] for _, m in steps),
        "cache_write_tokens": writes,
        "output_tokens": sum(m["completion_tokens"] for _, m in steps),
    }
    hand["uncached_input_tokens"] = hand["prompt_tokens"] - hand["cache_read_tokens"] - writes
    cost = analytics.costs(store, by="model", prices=_prices(), exact=True)
    assert {k: sum(cost[k].to_list()) for k in hand} == hand
    # the files' own per-step cost_usd, summed over the counted steps, is what behest_lab computes
    ours = sum(cost["cost"].to_list(), Decimal(0))
    assert float(ours) == pytest.approx(sum(m["cost_usd"] for _, m in steps), rel=1e-12)
    by_model = dict(zip(cost["model"].to_list(), cost["cost"].to_list(), strict=True))
    for model in RATES:
        own = sum(m["cost_usd"] for name, m in steps if name == model)
        assert float(by_model[model]) == pytest.approx(own, rel=1e-12)
    # summing every step with metrics (copied context included) would count the v1.5 continuation twice
    naive = sum(s["metrics"]["cost_usd"] for d in documents().values() for s in d["steps"] if "metrics" in s)
    assert naive > float(ours) * 1.05


def test_anthropic_usage_keeps_cache_reads_inside_prompt_and_writes_beside(tmp_path: Path) -> None:
    """v1.5 (Harbor's Claude Code shape): prompt = input + reads, writes in metrics.extra; stored Anthropic-style."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    rows = store.sql(
        "SELECT provider, input_tokens, cache_read_input_tokens, cache_creation_input_tokens, cached_input_tokens, "
        "total_tokens FROM usage_records WHERE model = 'claude-sonnet-4-5' ORDER BY created_at"
    ).fetchall()
    assert rows == [
        ("anthropic", 4, 0, 5200, None, 4 + 5200 + 120),
        ("anthropic", 6, 5200, 340, None, 6 + 5200 + 340 + 80),
        ("anthropic", 5, 5540, 260, None, 5 + 5540 + 260 + 150),
    ]
    openai = store.sql(
        "SELECT provider, input_tokens, cached_input_tokens, cache_read_input_tokens FROM usage_records "
        "WHERE model = 'gpt-5' AND input_tokens = 2400"
    ).fetchall()
    assert openai == [("openai", 2400, 1536, None)]


def test_copied_context_steps_are_messages_but_not_usage_or_executions_again(tmp_path: Path) -> None:
    """v1.5: the continuation's copied steps are what the model saw, yet they ran (and were paid) before."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    cont = _sessions(store)[(V15_CONT_SID, None)]
    messages = store.sessions.list_messages(cont.id)
    assert [m.role for m in messages] == [
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
        MessageRole.ASSISTANT,
        MessageRole.USER,
        MessageRole.ASSISTANT,
        MessageRole.TOOL,
    ]
    assert [e.call_id for e in store.executions.list_executions(cont.id)] == ["toolu_02"]
    usage = store.sql("SELECT count(*) FROM usage_records WHERE session_id = ?", [cont.id]).fetchone()
    assert usage == (1,)


def test_multimodal_and_audio_parts_keep_their_text_and_media(tmp_path: Path) -> None:
    """v1.6 image parts and v1.8 audio parts: text parts as text, media as JSON parts with their source."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    messages = store.sessions.list_messages(UUID(V16_SID))
    first = messages[0]
    assert first.content[0] == TextPart(text="What is wrong on this page?")
    assert isinstance(first.content[1], JsonPart)
    assert first.content[1].value["source"]["path"] == "images/step_1_input.png"
    result = messages[2]
    assert (result.role, result.tool_call_id, result.tool_name) == (MessageRole.TOOL, "call_shot", "screenshot")
    assert result.text_content == "Screenshot taken"
    voice = _sessions(store)[(None, "voice-7")]
    audio = store.sessions.list_messages(voice.id)[0].content[1]
    assert isinstance(audio, JsonPart)
    assert audio.value["source"]["duration_sec"] == 4.2


def test_v17_dispatch_aggregates_compaction_and_unknown_fields(tmp_path: Path) -> None:
    """llm_call_count 0 has no usage, 2 is one aggregated record; a compaction step is a pair; new keys counted."""
    store = open_store(None)
    report = _import(store, write_trajectories(tmp_path))
    main = _sessions(store)[(RUN, "main")]
    usage = store.sql(
        "SELECT input_tokens, cached_input_tokens, output_tokens FROM usage_records WHERE session_id = ? "
        "ORDER BY created_at",
        [main.id],
    ).fetchall()
    assert usage == [(9000, 4096, 300), (1500, 0, 20)]
    runs = {e.call_id: e for e in store.executions.list_executions(main.id)}
    assert set(runs) == {"dispatch_1", "dispatch_2"}
    assert runs["dispatch_2"].result == "tests/ explored"
    assert runs["dispatch_2"].status is ToolExecutionStatus.SUCCESS
    delegated = next(m for m in store.sessions.list_messages(main.id) if m.tool_call_id == "dispatch_1")
    link = delegated.content[-1]
    assert isinstance(link, JsonPart)
    assert link.value["session_ids"] == [str(_sessions(store)[(RUN, "explore-src")].id)]
    pairs = analytics.compactions(store)
    assert pairs.height == 1
    summary = next(m for m in store.sessions.list_messages(main.id) if m.is_summary)
    assert summary.text_content == "Summary: the repo has core and cli modules."
    assert report.skipped_types == {"unknown field steps[].confidence": 1}


def test_tool_calls_pair_with_results_by_source_call_id(tmp_path: Path) -> None:
    """Each call's execution takes the result of its step that names it; results keep the call id and tool name."""
    store = open_store(None)
    _import(store, write_trajectories(tmp_path))
    runs = {e.call_id: e for e in store.executions.list_executions(UUID(V14_SID))}
    assert runs["call_1"].result == "1 failed: test_add"
    assert runs["call_1"].arguments == {"command": "pytest -q"}
    assert runs["call_1"].tool_name == "bash"
    tool = [m for m in store.sessions.list_messages(UUID(V14_SID)) if m.role is MessageRole.TOOL]
    assert [(m.tool_call_id, m.tool_name) for m in tool] == [("call_1", "bash"), ("call_2", "summarize")]
    delegated = tool[1].content[-1]
    assert isinstance(delegated, JsonPart)
    assert delegated.value["session_ids"] == [V14_CHILD_SID]  # v1.4: the ref names its file and session_id
    assert delegated.value["refs"][0]["trajectory_path"] == "trajectory.summarization-1-summary.json"
    reasoning = store.sessions.list_messages(UUID(V14_SID))[2].content[-1]
    assert isinstance(reasoning, JsonPart)
    assert reasoning.value == {"type": "reasoning", "text": "Run pytest to see which test fails."}


def test_reimport_adds_nothing_and_every_record_has_its_file_and_pointer(tmp_path: Path) -> None:
    """Importing the same folder again writes nothing; provenance names the file and the step's JSON pointer."""
    store = open_store(tmp_path / "lake")
    try:
        root = write_trajectories(tmp_path)
        first = _import(store, root)
        again = _import(store, root)
        assert first.imported > 0
        assert again.imported == 0
        assert again.updated == 0
        assert again.duplicates == first.imported
        rows = store.sql('SELECT "table", source, location, ref FROM provenance').fetchall()
        assert len(rows) == first.imported
        assert {(r[1], r[2]) for r in rows} == {("atif", str(root))}
        usage = store.sql(
            "SELECT p.ref FROM provenance p JOIN usage_records u ON u.id = p.record_id WHERE u.input_tokens = 2400"
        ).fetchall()
        assert usage == [(f"{root / 'v1.4' / 'trajectory.json'}#/steps/3/metrics",)]
    finally:
        store.close()


def test_every_record_has_provenance_and_sync_picks_the_reader(tmp_path: Path) -> None:
    """Bundles name each record's file and pointer; ``sync`` on the folder path uses this reader, twice idempotent."""
    from behest_lab import sync
    from behest_lab.sources import open_source
    from behest_lab.sources.agentlogs import records_of

    root = write_trajectories(tmp_path)
    seen: list[SourceError] = []
    bundles = list(AtifSource(root).read(None, seen.append))
    assert seen == []
    records = {(t, r.id) for b in bundles for t, r in records_of(b)}
    prov = {(p.table, p.record_id): p for b in bundles for p in b.provenance}
    assert set(prov) == records
    embedded = _pointer_refs(prov.values(), "sessions")
    assert f"{root / 'v1.7' / 'trajectory.json'}#/subagent_trajectories/1" in embedded
    source = open_source(str(root))
    store = open_store(None)
    try:
        assert isinstance(source, AtifSource)
        first = sync(source, store)
        again = sync(source, store)
    finally:
        source.close()
    assert sum(first.new.values()) == len(records)
    assert sum(again.new.values()) == sum(again.updated.values()) == 0


def _pointer_refs(provenance: Any, table: str) -> set[str]:
    return {p.ref for p in provenance if p.table == table}


def test_a_rewritten_trajectory_completes_its_pending_call(tmp_path: Path) -> None:
    """A file written again with the observation that was missing replaces the pending execution."""
    doc = documents()["v1.6/trajectory.json"]
    path = tmp_path / "t" / "trajectory.json"
    path.parent.mkdir()
    partial = json.loads(json.dumps(doc))
    partial["steps"] = partial["steps"][:2]
    del partial["steps"][1]["observation"]
    path.write_text(json.dumps(partial))
    store = open_store(None)
    _import(store, path)
    [pending] = store.executions.list_executions(UUID(V16_SID))
    assert pending.status is ToolExecutionStatus.PENDING
    path.write_text(json.dumps(doc))
    report = _import(store, path)
    assert report.updated == 2  # the completed execution, and the session whose last step moved on
    [done] = store.executions.list_executions(UUID(V16_SID))
    assert done.status is ToolExecutionStatus.SUCCESS
    fresh = open_store(None)
    _import(fresh, path)
    assert store.sessions.get_session(UUID(V16_SID)) == fresh.sessions.get_session(UUID(V16_SID))


def test_bad_files_name_file_and_line_and_others_are_passed_over(tmp_path: Path) -> None:
    """Broken JSON names file and line; a file cut mid-write waits; other JSON is counted; ATIF v2 is refused."""
    root = write_trajectories(tmp_path)
    text = (root / "v1.6" / "trajectory.json").read_text()
    broken = root / "v1.6" / "trajectory.json"
    broken.write_text(text.replace('"source": "agent"', '"source": agent', 1))
    (root / "v1.8" / "trajectory.json").write_text(text[: len(text) // 2])  # still being written
    (root / "config.json").write_text('{"job_name": "x", "n_attempts": 1}\n')
    store = open_store(None)
    with pytest.raises(SourceError) as err:
        _import(store, root)
    assert str(broken) in str(err.value)
    assert err.value.row == text[: text.index('"source": "agent"')].count("\n") + 1
    report = _import(store, root, skip_bad=True)
    assert report.bad == 1
    assert report.incomplete == 1
    assert report.skipped_types["JSON files that are not ATIF"] == 1
    assert len(store.sessions.list_sessions()) == 7
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps({"schema_version": "ATIF-v2.0", "session_id": "s", "agent": {}, "steps": []}))
    with pytest.raises(SourceError, match=r"unsupported ATIF version ATIF-v2\.0"):
        _import(open_store(None), v2)


def test_a_step_without_a_source_is_bad_and_named_by_its_pointer(tmp_path: Path) -> None:
    """A step the reader cannot place stops the import with its JSON pointer; --skip-bad leaves it out."""
    doc = documents()["v1.6/trajectory.json"]
    del doc["steps"][2]["source"]
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(SourceError) as err:
        _import(open_store(None), path)
    assert err.value.key == "#/steps/2"
    store = open_store(None)
    report = _import(store, path, skip_bad=True)
    assert report.bad == 1
    assert len(store.sessions.list_messages(UUID(V16_SID))) == 3


def test_sniff_tells_atif_from_the_jsonl_logs(tmp_path: Path) -> None:
    """Each reader recognises its own format only; detect_format names ATIF for a folder and a file."""
    root = write_trajectories(tmp_path / "a")
    codex = write_rollout(tmp_path / "c")
    assert AtifSource.sniff(root)
    assert AtifSource.sniff(root / "v1.7" / "trajectory.json")
    assert not ClaudeCodeSource.sniff(root)
    assert not CodexSource.sniff(root)
    assert not AtifSource.sniff(codex)
    assert detect_format(root) == "atif"
    assert detect_format(root / "v1.4" / "trajectory.json") == "atif"


def test_cli_imports_by_name_and_by_recognising_the_format(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``import atif PATH`` and ``import PATH`` both import the folder; the second run adds nothing."""
    from behest_lab.cli import main

    root = write_trajectories(tmp_path)
    store = str(tmp_path / "store")
    assert main(["import", "atif", str(root), "--store", store, "--no-progress"]) == 0
    assert "(atif)" in capsys.readouterr().out
    assert main(["import", str(root / "v1.4"), "--store", store, "--no-progress"]) == 0
    assert "(atif)" in capsys.readouterr().out
    with open_store(tmp_path / "store") as s:
        assert len(s.sessions.list_sessions()) == 9
    assert main(["import", "codex", str(root), "--store", store, "--no-progress"]) == 1
    assert "it looks like atif" in capsys.readouterr().err


def test_the_committed_trajectories_are_the_fixtures(tmp_path: Path) -> None:
    """``data/agent_logs/atif`` is the fixture, byte for byte (so a notebook shows what the tests check)."""
    written = write_trajectories(tmp_path)
    ours = {str(p.relative_to(written)): p.read_bytes() for p in sorted(written.rglob("*.json"))}
    committed = {str(p.relative_to(DATA)): p.read_bytes() for p in sorted(DATA.rglob("*.json"))}
    assert ours == committed
    assert len(committed) == 7


def test_documents_without_ids_copies_and_conflicts(tmp_path: Path) -> None:
    """A document with no ids is named by its content; a copy is read once; two different ones sharing ids are bad."""
    anonymous = documents()["v1.8/trajectory.json"]
    del anonymous["trajectory_id"]
    other = json.loads(json.dumps(anonymous))
    other["steps"][0]["message"] = "Translate this."
    for name, doc in (("a/trajectory.json", anonymous), ("b/trajectory.json", other), ("c/copy.json", anonymous)):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(json.dumps(doc))
    store = open_store(None)
    report = _import(store, tmp_path)
    assert sorted(s.title for s in store.sessions.list_sessions()) == ["Transcribe this.", "Translate this."]
    assert report.skipped_types["copies of a trajectory file already read"] == 1
    assert _import(store, tmp_path).imported == 0
    (tmp_path / "c" / "copy.json").write_text(json.dumps(anonymous | {"notes": "edited"}))
    with pytest.raises(SourceError, match="is also in"):
        _import(open_store(None), tmp_path)


def test_cache_writes_counted_inside_prompt_tokens_are_not_added_twice(tmp_path: Path) -> None:
    """When metrics.extra keeps Anthropic's own input_tokens and they show the writes inside prompt_tokens."""
    doc = documents()["v1.5/trajectory.json"]
    step = doc["steps"][2]
    inside = dict(step["metrics"], prompt_tokens=6 + 5200 + 340)
    inside["extra"] = dict(inside["extra"], input_tokens=6)
    doc["steps"][2] = dict(step, metrics=inside)
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps(doc))
    store = open_store(None)
    _import(store, path)
    rows = store.sql(
        "SELECT input_tokens, cache_read_input_tokens, cache_creation_input_tokens, total_tokens FROM usage_records "
        "ORDER BY created_at"
    ).fetchall()
    assert rows[1] == (6, 5200, 340, 6 + 5200 + 340 + 80)


def test_a_newer_minor_version_is_read_and_counted_and_the_bar_counts_root_files(tmp_path: Path) -> None:
    """ATIF-v1.9 is read as v1.8 (1.x only adds optional fields) and named in the report; subagent files add no tick."""
    doc = documents()["v1.8/trajectory.json"] | {"schema_version": "ATIF-v1.9"}
    path = tmp_path / "trajectory.json"
    path.write_text(json.dumps(doc))
    store = open_store(None)
    report = _import(store, path)
    assert report.skipped_types == {"schema ATIF-v1.9 read as ATIF-v1.8": 1}
    assert len(store.sessions.list_sessions()) == 1
    # seven files; the v1.4 summarization file is a subagent of its trajectory.json and comes with it
    assert AtifSource(write_trajectories(tmp_path / "all")).count() == 6
