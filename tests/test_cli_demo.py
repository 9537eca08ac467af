"""``behest-lab demo``: the printed numbers equal counts computed independently from the records."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import behest_lab
from behest_lab import MessageRole, Store, ToolExecutionStatus, UsageRecord, open_store
from behest_lab.cli import main
from behest_lab.cli.demo import format_table, summary
from behest_lab.sample import generate
from tests.analytics._reference import genai_cost


def blocks(out: str) -> dict[str, list[str]]:
    """The report's sections by title: the lines after the title, including the header and rule."""
    sections: dict[str, list[str]] = {}
    for block in out.split("\n\n"):
        lines = block.splitlines()
        if lines:
            sections[lines[0].split(" (")[0]] = lines[1:]
    return sections


def cells(line: str) -> list[str]:
    return re.split(r"\s{2,}", line.strip())


def number(text: str) -> int | None:
    return None if text == "-" else int(text.replace(",", ""))


def table_rows(lines: list[str]) -> list[list[str]]:
    """Rows of a table section: everything after the dashed rule."""
    rule = next(i for i, line in enumerate(lines) if set(line.replace(" ", "")) == {"-"})
    return [cells(line) for line in lines[rule + 1 :]]


def cost_by_model(usage: list[UsageRecord]) -> dict[tuple[str, str], float]:
    """USD per (provider, model), priced row by row with genai-prices' own calculator (tests/analytics)."""
    out: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for u in usage:
        cost = genai_cost(u)
        assert cost is not None, u.model  # the sample only uses models genai-prices knows
        out[(u.provider, u.model)] += cost
    return {k: float(v) for k, v in out.items()}


def expected_counts(store: Store) -> dict[str, Any]:
    """The demo's numbers, recomputed from the records through the store API (no SQL)."""
    sessions = store.sessions.list_sessions()
    messages = [m for s in sessions for m in store.sessions.list_messages(s.id)]
    executions = [e for s in sessions for e in store.executions.list_executions(s.id)]
    usage = [u for s in sessions for u in store.executions.list_usage(s.id)]
    artifacts = [a for s in sessions for a in store.artifacts.list_by_session(s.id)]
    users = [m for m in messages if m.role is MessageRole.USER and not m.is_compaction]
    by_tool: dict[str, list[Any]] = defaultdict(list)
    for e in executions:
        by_tool[e.tool_name].append(e)
    by_tool["all tools"] = executions
    tools = {}
    for name, runs in by_tool.items():
        finished = [e for e in runs if e.status is not ToolExecutionStatus.PENDING]
        ms = np.asarray([e.duration / timedelta(milliseconds=1) for e in finished])
        failed = sum(e.status is ToolExecutionStatus.FAILED for e in runs)
        tools[name] = {
            "calls": len(runs),
            "failed": failed,
            "pending": len(runs) - len(finished),
            "rate": 100 * failed / len(finished) if finished else None,
            "p50": float(np.percentile(ms, 50)) if finished else None,
            "p95": float(np.percentile(ms, 95)) if finished else None,
        }

    def total(field: str) -> int | None:
        values = [getattr(u, field) for u in usage]
        return None if all(v is None for v in values) else sum(v or 0 for v in values)

    fields = [
        "input_tokens",
        "output_tokens",
        "total_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
        "cached_input_tokens",
    ]
    return {
        "sessions": len(sessions),
        "messages": len(messages),
        "roles": Counter(m.role.value for m in messages),
        "compactions": sum(m.is_compaction for m in messages),
        "embeddings": len(users),
        "artifacts": len(artifacts),
        "tokens": [len(usage), *(total(f) for f in fields)],
        "models": Counter((u.provider, u.model) for u in usage),
        "cost": cost_by_model(usage),
        "tools": tools,
    }


def check_report(out: str, want: dict[str, Any]) -> None:
    sections = blocks(out)
    contents = {row[0]: number(row[1]) for row in table_rows(sections["Store contents"])}
    assert contents["sessions"] == want["sessions"]
    assert contents["messages"] == want["messages"]
    for role in ("system", "user", "assistant", "tool"):
        assert contents[role] == want["roles"][role], role
    assert contents["compactions"] == want["compactions"]
    assert contents["embeddings"] == want["embeddings"]
    assert contents["artifacts"] == want["artifacts"]

    usage_rows = table_rows(sections["Token usage"])
    assert [number(c) for c in usage_rows[-1][1:-1]] == want["tokens"]
    assert usage_rows[-1][0] == "total"
    assert {(r[0], r[1]): number(r[2]) for r in usage_rows[:-1]} == dict(want["models"])
    printed_cost = {(r[0], r[1]): float(r[-1].replace(",", "")) for r in usage_rows[:-1]}
    assert printed_cost == pytest.approx(want["cost"], abs=0.0051)
    assert float(usage_rows[-1][-1].replace(",", "")) == pytest.approx(sum(want["cost"].values()), abs=0.0051)

    tool_rows = {r[0]: r[1:] for r in table_rows(sections["Tool calls"])}
    assert set(tool_rows) == set(want["tools"])
    for name, row in tool_rows.items():
        w = want["tools"][name]
        assert [number(c) for c in row[:3]] == [w["calls"], w["failed"], w["pending"]], name
        for cell, key in zip(row[3:], ("rate", "p50", "p95"), strict=True):
            if w[key] is None:
                assert cell == "-", (name, key)
            else:
                assert float(cell.replace(",", "")) == pytest.approx(w[key], abs=0.051), (name, key)


def test_demo_memory_prints_numbers_equal_to_the_records(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo", "--memory", "--sessions", "50", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    # no report for a memory store (a kernel can't see it), and nothing written
    assert out.rstrip().endswith("cannot see this process's store.")
    assert "Executing the tour notebook" not in out
    assert list(tmp_path.iterdir()) == []
    assert "Generating 50 sample sessions (seed 1)" in out
    assert "\x1b[" not in out  # no colour codes
    # the demo's store is gone; the same seed regenerates the same records for the independent count
    with open_store(None) as store:
        generate(store, sessions=50, seed=1)
        want = expected_counts(store)
    assert want["sessions"] == 50
    assert want["compactions"] > 0
    check_report(out, want)


@pytest.mark.slow
def test_demo_fills_and_then_reuses_a_persistent_store(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    folder = str(tmp_path / "behest-data")
    assert main(["demo", "--store", folder, "--sessions", "6", "--seed", "2", "--no-report"]) == 0
    first = capsys.readouterr().out
    assert "Generating 6 sample sessions (seed 2)" in first
    assert "Report" not in first  # --no-report
    assert sorted(p.name for p in tmp_path.iterdir()) == ["behest-data"]
    with open_store(None) as store:
        generate(store, sessions=6, seed=2)
        want = expected_counts(store)
    check_report(first, want)
    assert main(["demo", "--store", folder, "--sessions", "99", "--seed", "3", "--no-report"]) == 0
    second = capsys.readouterr().out
    assert "Using the existing store" in second
    assert "Generating" not in second
    check_report(second, want)


def test_demo_reuses_a_store_that_has_sessions(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    store = open_store(None)
    generate(store, sessions=20, seed=9)
    want = expected_counts(store)
    opened: list[Any] = []

    def open_prefilled(path: Any = None) -> Store:
        opened.append(path)
        return store

    monkeypatch.setattr(behest_lab, "open_store", open_prefilled)
    folder = str(tmp_path / "lake")
    assert main(["demo", "--store", folder, "--sessions", "5", "--no-report"]) == 0
    out = capsys.readouterr().out
    assert opened == [folder]
    assert "Using the existing store" in out
    assert "Generating" not in out
    check_report(out, want)


def test_demo_on_zero_sessions_prints_empty_tables(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--memory", "--sessions", "0", "--no-report"]) == 0
    sections = blocks(capsys.readouterr().out)
    contents = {row[0]: number(row[1]) for row in table_rows(sections["Store contents"])}
    assert set(contents.values()) == {0}
    assert table_rows(sections["Tool calls"]) == []


def test_help_documents_every_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for option in (
        "--store DIR",
        "--memory",
        "--sessions N",
        "--seed S",
        "behest-data",
        "--report PATH",
        "--no-report",
    ):
        assert option in text
    with pytest.raises(SystemExit):
        main(["--help"])
    assert "demo" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["--sessions", "-1"],
        ["--sessions", "many"],
        ["--memory", "--store", "x"],
        ["--report", "r.html", "--no-report"],
        ["--report"],
    ],
)
def test_bad_arguments_exit_with_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["demo", *argv])
    assert exc.value.code == 2
    assert "demo" in capsys.readouterr().err


def test_format_table_aligns_columns() -> None:
    text = format_table(["name", "n"], [["a", "1"], ["long name", "1,000"]])
    lines = text.splitlines()
    assert lines == ["name           n", "---------  -----", "a              1", "long name  1,000"]


def test_summary_costs_sum_the_priced_calls_and_name_the_unpriced_ones() -> None:
    with open_store(None) as store:
        generate(store, sessions=8, seed=4, embedding_dim=None)
        want = expected_counts(store)["cost"]
        s = store.sessions.list_sessions()[0]
        mystery = [
            UsageRecord(session_id=s.id, message_id=s.id, provider="acme", model="mystery-1", input_tokens=n,
                        output_tokens=1, total_tokens=n + 1, created_at=s.created_at)
            for n in (10, 20)
        ]  # fmt: skip
        store.executions.record_usages(mystery)
        out = summary(store)
    section = blocks(out)["Token usage"]
    rows = {(r[0], r[1]): r for r in table_rows(section)}
    assert rows[("acme", "mystery-1")][2] == "2"
    assert rows[("acme", "mystery-1")][-1] == "-*"  # no priced call: no cost, marked
    printed = {k: float(r[-1].replace(",", "")) for k, r in rows.items() if k in want}
    assert printed == pytest.approx(want, abs=0.0051)  # the priced models keep their costs
    total = table_rows(section)[-1]
    assert total[0] == "total"
    assert total[-1].endswith("*")
    assert float(total[-1][:-1].replace(",", "")) == pytest.approx(sum(want.values()), abs=0.0051)  # the priced sum
    note = " ".join(line for line in section if line.startswith("*") or "left out" in line)
    assert "2 call(s) without a price are left out" in note
    assert "acme/mystery-1 (2)" in note


def test_summary_counts_message_usage_in_its_rows_and_its_total() -> None:
    """A store as behest's runtime writes it (usage only on assistant messages, no usage records): the table's rows,
    its total and its cost all count the same model calls. The summary used to list the usage records alone while
    its total cost also priced the message usage, so the total disagreed with its rows."""
    from behest_lab import MessageRecord, Session, TextPart, TokenUsage, analytics

    with open_store(None) as store:
        s = store.sessions.create_session(Session(title="runtime", model="gpt-4o"))
        for n in (1000, 3000):
            store.sessions.append_message(
                MessageRecord(session_id=s.id, role=MessageRole.ASSISTANT, content=[TextPart(text="ok")]).with_usage(
                    TokenUsage.new(n, 100)
                )
            )
        out = summary(store)
        want = analytics.costs(store, by=("provider", "model"))
    rows = table_rows(blocks(out)["Token usage"])
    assert [r[:5] for r in rows[:-1]] == [["openai", "gpt-4o", "2", "4,000", "200"]]
    assert rows[-1][:5] == ["total", "2", "4,000", "200", "4,200"]  # the total line has no model cell
    cost = want["cost"].sum()
    assert cost > 0
    assert float(rows[0][-1].replace(",", "")) == pytest.approx(cost, abs=0.0051)
    assert float(rows[-1][-1].replace(",", "")) == pytest.approx(cost, abs=0.0051)
