"""UsageDashboard and ToolExplorer driven headless, checked against analytics and independent SQL."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from typing import Any
from uuid import UUID

import polars as pl

from behest_lab import Store, analytics
from behest_lab.widgets import SessionBrowser, ToolExplorer, UsageDashboard
from behest_lab.widgets.dashboard import OTHER, TOP_SERIES
from tests.widgets.conftest import XSS

PNG = b"\x89PNG\r\n\x1a\n"


def _usage_tables(store: Store) -> int:
    row = store.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE 'behest_temp_%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_dashboard_totals_range_and_grouping(sample_store: Store) -> None:
    tables_before = _usage_tables(sample_store)
    d = UsageDashboard(sample_store)
    assert _usage_tables(sample_store) == tables_before + 1
    assert bytes(d.chart.value).startswith(PNG)
    by_model = analytics.costs(sample_store, by="model", exact=True)
    assert set(d.frame.get_column("series")) == set(by_model.get_column("model"))
    total = by_model.get_column("cost").sum()
    assert f"${total:,.4f}" in d.summary.value
    assert d.frame.get_column("requests").sum() == by_model.get_column("requests").sum()
    rows = re.findall(r"<tr><td>", d.table.value)
    assert len(rows) == d.frame.height

    days = sorted(d.frame.get_column("period").unique().to_list())
    lo, hi = days[1], days[-2]
    before = d.chart.value
    d.set_range(lo, hi)
    ranged = analytics.costs(sample_store, by="model", since=lo, until=hi + timedelta(days=1), exact=True)
    assert f"${ranged.get_column('cost').sum():,.4f}" in d.summary.value
    assert min(d.frame.get_column("period")) >= lo
    assert max(d.frame.get_column("period")) <= hi
    assert d.chart.value != before

    d.group.value = "provider"
    by_provider = analytics.costs(sample_store, by="provider", since=lo, until=hi + timedelta(days=1), exact=True)
    assert set(d.frame.get_column("series")) == set(by_provider.get_column("provider"))
    d.metric.value = "tokens"
    expected_tokens = by_provider.get_column("prompt_tokens").sum() + by_provider.get_column("output_tokens").sum()
    assert f"{expected_tokens:,} tokens" in d.summary.value

    d.metric.value = "cost"
    d.set_range(None, None)
    d.group.value = "session"
    series = set(d.frame.get_column("series"))
    assert len(series) == TOP_SERIES + 1
    assert OTHER in series
    per_session = analytics.costs(sample_store, by="session", exact=True).sort(
        ["cost", "session_id"], descending=[True, False]
    )
    assert set(per_session.get_column("session_id").head(TOP_SERIES)) == series - {OTHER}
    assert f"${per_session.get_column('cost').sum():,.4f}" in d.summary.value
    d.period.value = "week"
    assert all(p.weekday() == 0 for p in d.frame.get_column("period"))
    d.close()
    assert _usage_tables(sample_store) == tables_before


def _row(table_html: str, first_cell: str) -> list[str]:
    for row in re.findall(r"<tr>(.*?)</tr>", table_html):
        cells = re.findall(r"<td>(.*?)</td>", row)
        if cells and cells[0] == first_cell:
            return cells
    raise AssertionError(f"no table row for {first_cell!r}")


def test_tool_explorer_rates_and_lists(sample_store: Store) -> None:
    x = ToolExplorer(sample_store)
    assert bytes(x.chart.value).startswith(PNG)
    # failure rates computed independently from the stored executions
    counts: dict[str, list[int]] = {}
    for s in sample_store.sessions.list_sessions():
        for e in sample_store.executions.list_executions(s.id):
            c = counts.setdefault(e.tool_name, [0, 0])
            c[0] += e.status.value == "failed"
            c[1] += e.status.value != "pending"
    stats = analytics.tool_stats(sample_store)
    for tool, (failed, finished) in counts.items():
        cells = _row(x.table.value, tool)
        assert cells[5] == f"{failed / finished:.1%}"
        assert stats.filter(pl.col("tool_name") == tool).get_column("failure_rate").item() == failed / finished
    slow = sample_store.sql(
        "SELECT CAST(id AS VARCHAR) FROM tool_executions WHERE status <> 'pending' "
        "ORDER BY duration_us DESC, id LIMIT 3"
    ).fetchall()
    assert [v for _, v in x.slowest.options][:3] == [r[0] for r in slow]
    n_failed = sum(f for f, _ in counts.values())
    assert len(x.failed.options) == min(n_failed, 25)

    tool = max(counts, key=lambda t: counts[t][0])
    x.tool.value = tool
    assert all(f" · {tool} · " in label for label, _ in x.slowest.options + x.failed.options)
    assert len(x.failed.options) == min(counts[tool][0], 25)
    x.close()


def test_click_through_selects_the_session(sample_store: Store) -> None:
    browser = SessionBrowser(sample_store, page_size=10)
    x = ToolExplorer(sample_store, browser=browser)
    seen: list[str] = []
    x.on_open_session(seen.append)
    execution_id = x.failed.options[-1][1]
    row = sample_store.sql(
        f"SELECT CAST(session_id AS VARCHAR) FROM tool_executions WHERE id = CAST('{execution_id}' AS UUID)"
    ).fetchone()
    assert row is not None
    x.failed.value = execution_id
    assert x.session_requested == row[0] == seen[-1] == browser.selected
    assert browser.session_list.value == row[0]
    assert str(UUID(row[0])) in browser.stats.value
    x.close()
    browser.close()


def test_tool_explorer_escapes(hostile_store: Store) -> None:
    x = ToolExplorer(hostile_store)
    seen: list[Any] = []
    x.observe(seen.append, names="session_requested")
    for html in (x.table.value,):
        assert "<script" not in html
        assert "tool&lt;script&gt;alert(1)&lt;/script&gt;" in html
        assert "boom &lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert [label for label, _ in x.failed.options] == [
        label for label, _ in x.slowest.options
    ]  # the one failed call is also the slowest
    x.failed.value = x.failed.options[0][1]
    assert len(seen) == 1
    d = UsageDashboard(hostile_store, group="session")
    assert d.frame.get_column("cost").to_list() == [
        analytics.costs(hostile_store, by="session", exact=True).get_column("cost").item()
    ]
    assert isinstance(d.frame.get_column("cost")[0], Decimal)
    assert XSS not in d.table.value
    x.close()
    d.close()
