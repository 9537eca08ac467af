"""The widgets' fast paths give the library's numbers: per-page measures, the selected session's rows pinned in a
``SessionScope`` (``analytics.SessionView``), cached text searches, and the collection-drawn charts."""

from __future__ import annotations

import math
from decimal import Decimal
from uuid import UUID

import numpy as np
import polars as pl
import pytest

from behest_lab import Session, Store, analytics, open_store
from behest_lab.analytics import SessionView
from behest_lab.records import MessageRecord, MessageRole, TextPart
from behest_lab.widgets import SessionBrowser, UsageDashboard
from behest_lab.widgets._charts import _bars, latency_boxes


def _widget_tables(store: Store) -> int:
    row = store.sql("SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE 'behest_%'").fetchone()
    assert row is not None
    return int(row[0])


def _expected(store: Store) -> dict[str, tuple[Decimal | None, int, int]]:
    frame = analytics.sessions(store, exact=True)
    return {
        r["id"]: (r["cost"], r["prompt_tokens"] + r["output_tokens"], r["tool_failures"])
        for r in frame.iter_rows(named=True)
    }


def test_page_measures_match_analytics_before_and_after_a_measure_sort(sample_store: Store) -> None:
    expected = _expected(sample_store)
    b = SessionBrowser(sample_store, page_size=10)
    assert not b.index.measured_all  # the default order measures only the listed rows
    rows = [b.index.page(b.query(), p) for p in range(math.ceil(len(expected) / 10))]
    listed = [r for page in rows for r in page]
    assert len(listed) == len(expected)
    for r in listed:
        assert (r["cost"], r["tokens"], r["failures"]) == expected[r["id"]]
    b.sort.value = "tokens"
    assert b.index.measured_all
    b.sort.value = "updated"
    again = [r for p in range(len(rows)) for r in b.index.page(b.query(), p)]
    assert [(r["id"], r["cost"], r["tokens"], r["failures"]) for r in again] == [
        (r["id"], r["cost"], r["tokens"], r["failures"]) for r in listed
    ]
    b.close()


def test_session_view_gives_the_library_views(sample_store: Store) -> None:
    before = _widget_tables(sample_store)
    for session in sample_store.sessions.list_sessions()[:6]:
        sid = str(session.id)
        rows = SessionView(sample_store, [sid])
        assert _widget_tables(sample_store) == before + 4  # the scope's sessions, messages, executions, usage
        assert rows.session() == {"title": session.title, "model": session.model}
        usage = rows.usage()
        lib = analytics.usage(sample_store, session_id=sid, exact=True)
        assert usage.get_column("message_id").to_list() == lib.get_column("message_id").to_list()
        assert usage.get_column("cost").to_list() == lib.get_column("cost").to_list()
        assert usage.get_column("prompt_tokens").to_list() == lib.get_column("prompt_tokens").to_list()
        assert rows.compactions().equals(analytics.compactions(sample_store, session_id=sid))
        executions = rows.executions()
        assert {e.id for e in executions} == {e.id for e in sample_store.executions.list_executions(session.id)}
        assert rows.stats(executions) == sample_store.executions.session_stats(session.id)
        messages = sample_store.sessions.list_messages(session.id)
        page = rows.page(3, 5, {})
        assert [m.id for m in page.messages] == [m.id for m in messages[3:8]]
        assert page.total == len(messages)
        rows.close()
        assert _widget_tables(sample_store) == before


def test_several_sessions_measured_together(sample_store: Store) -> None:
    expected = _expected(sample_store)
    sessions = sample_store.sessions.list_sessions()[:5]
    with SessionView(sample_store, [str(s.id) for s in sessions]) as rows:
        got = rows.measures()
    assert {k: (v["cost"], v["tokens"], v["failures"]) for k, v in got.items()} == {
        str(s.id): expected[str(s.id)] for s in sessions
    }
    with pytest.raises(ValueError, match="session"):
        SessionView(sample_store, [])


def test_text_search_is_read_once_per_text_and_refresh_sees_new_messages() -> None:
    with open_store(None) as store:
        a = Session(title="alpha", model="gpt-4o")
        b_ = Session(title="beta", model="gpt-4o")
        for s in (a, b_):
            store.sessions.create_session(s)
        store.sessions.append_message(
            MessageRecord(session_id=a.id, role=MessageRole.USER, content=[TextPart(text="the needle is here")])
        )
        browser = SessionBrowser(store)
        browser.search.value = "NEEDLE"
        assert [v for _, v in browser.session_list.options] == [str(a.id)]
        tables = _widget_tables(store)
        browser.search.value = ""
        browser.search.value = "needle"  # the same text: its kept matches, no new table
        assert _widget_tables(store) == tables
        store.sessions.append_message(
            MessageRecord(session_id=b_.id, role=MessageRole.USER, content=[TextPart(text="another needle")])
        )
        browser.refresh()
        assert {v for _, v in browser.session_list.options} == {str(a.id), str(b_.id)}
        browser.close()
        assert _widget_tables(store) == 0


def test_bar_vertices_and_latency_boxes() -> None:
    verts = _bars(3, [1.0, 0.0, 2.5], [0.5, 1.0, 0.0])
    assert verts.shape == (3, 4, 2)
    for i, (h, b) in enumerate([(1.0, 0.5), (0.0, 1.0), (2.5, 0.0)]):
        xs = sorted({float(x) for x, _ in verts[i]})
        ys = sorted({float(y) for _, y in verts[i]})
        assert xs == pytest.approx([i - 0.4, i + 0.4])
        assert ys == pytest.approx(sorted({b, b + h}))
    q = [[0.0, 1.0, 10.0, 100.0, 2500.0]]
    got = latency_boxes([{"q": q[0]}])
    assert np.allclose(got[0], [math.log10(1e-3), 0.0, 1.0, 2.0, math.log10(2500.0)])


def test_dashboard_chart_cache(sample_store: Store) -> None:
    d = UsageDashboard(sample_store)
    first = bytes(d.chart.value)
    days = sorted(d.frame.get_column("period").unique().to_list())
    d.set_range(days[1], days[-2])
    narrowed = bytes(d.chart.value)
    assert narrowed != first
    assert d.frame.get_column("period").min() == days[1]
    d.set_range(None, None)
    assert bytes(d.chart.value) == first  # the cached chart of that state
    expected = analytics.costs(sample_store, by=("day", "model"), exact=True)
    total = expected.get_column("cost").sum()
    assert d.frame.get_column("cost").sum() == total
    d.refresh()
    assert bytes(d.chart.value) == first  # redrawn after refresh: same data, same deterministic PNG
    assert pl.Series(d.frame.get_column("cost")).sum() == total
    d.close()


def test_browser_lists_a_session_missing_from_the_snapshot_with_live_measures() -> None:
    with open_store(None) as store:
        b = SessionBrowser(store)
        s = Session(title="late", model="gpt-4o")
        store.sessions.create_session(s)
        assert b.index.measures([str(s.id)])[str(s.id)] == {"cost": Decimal(0), "tokens": 0, "failures": 0}
        b.select_session(s.id)
        assert b.selected == str(s.id)
        assert UUID(b.session_list.value) == s.id
        b.close()


def test_selecting_an_unlisted_session_labels_it_with_its_measures(sample_store: Store) -> None:
    from behest_lab.widgets._html import money, number

    expected = _expected(sample_store)
    b = SessionBrowser(sample_store, page_size=10)
    listed = {v for _, v in b.session_list.options}
    sid = next(i for i in expected if i not in listed)
    b.select_session(sid)
    label, value = b.session_list.options[0]
    assert value == sid == b.session_list.value == b.selected
    cost, tokens, failures = expected[sid]
    assert f" · {money(cost)} · {number(tokens)} tok · {failures} failed" in label
    b.close()


def test_text_search_says_searching_while_it_runs(sample_store: Store) -> None:
    b = SessionBrowser(sample_store)
    seen: list[str] = []
    b.page_label.observe(lambda change: seen.append(change["new"]), names="value")
    b.search.value = "timeout"
    assert len(seen) == 2
    assert "searching messages" in seen[0]
    assert "searching" not in seen[1]
    assert "page 1 of" in seen[1]
    b.close()
