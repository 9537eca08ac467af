"""SessionBrowser driven headless: paging, sorting and filters against independent SQL/Python, the timeline."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal
from uuid import UUID

import polars as pl
import pytest

from behest_lab import Session, Store, analytics, open_store
from behest_lab.errors import NotFoundError
from behest_lab.widgets import TIMELINE_PAGE, SessionBrowser
from tests.widgets.conftest import IMG, SAMPLE_SESSIONS, XSS


def all_ids(browser: SessionBrowser) -> list[str]:
    """Every listed id, walking all pages with the next button."""
    browser.go_to_page(0)
    ids = [v for _, v in browser.session_list.options]
    while not browser.next_button.disabled:
        browser.next_button.click()
        ids += [v for _, v in browser.session_list.options]
    return ids


def test_import_behest_lab_does_not_load_widget_libraries() -> None:
    code = "import sys, behest_lab; print(json.dumps([m in sys.modules for m in ('ipywidgets', 'matplotlib')]))"
    out = subprocess.run(
        [sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == [False, False]


def test_paging_counts(sample_store: Store) -> None:
    b = SessionBrowser(sample_store, page_size=10)
    pages = math.ceil(SAMPLE_SESSIONS / 10)
    assert f"page 1 of {pages}" in b.page_label.value
    assert len(b.session_list.options) == 10
    assert b.prev_button.disabled
    b.next_button.click()
    assert f"page 2 of {pages}" in b.page_label.value
    b.go_to_page(99)
    assert f"page {pages} of {pages}" in b.page_label.value
    assert len(b.session_list.options) == SAMPLE_SESSIONS - 10 * (pages - 1)
    assert b.next_button.disabled
    ids = all_ids(b)
    expected = [
        str(r[0]) for r in sample_store.sql("SELECT id FROM sessions ORDER BY updated_at DESC, id DESC").fetchall()
    ]
    assert ids == expected
    b.page_size.value = 25
    assert "page 1 of 1" in b.page_label.value
    b.close()


@pytest.mark.parametrize(("sort", "by"), [("cost", "cost"), ("tokens", "tokens"), ("failures", "failures")])
def test_sort_puts_the_largest_first(sample_store: Store, sort: str, by: str) -> None:
    b = SessionBrowser(sample_store, page_size=10)
    b.sort.value = sort
    top = analytics.top_sessions(sample_store, by=by, n=SAMPLE_SESSIONS, exact=True)
    column = {"cost": "cost", "tokens": "total_tokens", "failures": "tool_failures"}[by]
    ranked = top.get_column(column).to_list()
    first = b.session_list.options[0][1]
    value = top.filter(pl.col("id") == first).get_column(column).item()
    assert value == ranked[0]  # ties may order differently; the value must be the maximum
    if by == "cost":
        assert top.get_column("id")[0] == first
        assert f"${Decimal(ranked[0]):,.4f}" in b.session_list.options[0][0]
    ids = all_ids(b)
    values = [top.filter(pl.col("id") == i).get_column(column).item() for i in ids]
    assert values == sorted(values, reverse=True)
    b.close()


def test_model_filter(sample_store: Store) -> None:
    b = SessionBrowser(sample_store, page_size=100)
    model = b.model.options[1]
    b.model.value = model
    expected = set(analytics.sessions(sample_store, model=model).get_column("id").to_list())
    assert set(all_ids(b)) == expected
    assert 0 < len(expected) < SAMPLE_SESSIONS
    assert f"{len(expected)} sessions" in b.page_label.value
    b.close()


def test_date_and_metadata_filters(sample_store: Store) -> None:
    frame = analytics.sessions(sample_store, metadata_fields=["team"])
    days = sorted({d.date() for d in frame.get_column("created_at").to_list()})
    lo, hi = days[len(days) // 4], days[3 * len(days) // 4]
    b = SessionBrowser(sample_store, page_size=100)
    b.since.value, b.until.value = lo, hi
    expected = set(analytics.sessions(sample_store, since=lo, until=hi + timedelta(days=1)).get_column("id"))
    assert set(all_ids(b)) == expected
    b.since.value = b.until.value = None
    team = frame.get_column("team")[0]
    b.metadata_key.value = "team"
    assert set(all_ids(b)) == set(frame.get_column("id"))  # key only: every sample session has a team
    b.metadata_value.value = team
    assert set(all_ids(b)) == set(frame.filter(pl.col("team") == team).get_column("id"))
    b.metadata_key.value = "no-such-key"
    assert all_ids(b) == []
    assert "page 1 of 1" in b.page_label.value
    b.close()


def test_text_search_in_titles_and_messages(sample_store: Store) -> None:
    sessions = sample_store.sessions.list_sessions()
    word = "timeout"
    expected = {
        str(s.id)
        for s in sessions
        if word in s.title.lower()
        or any(word in m.text_content.lower() for m in sample_store.sessions.list_messages(s.id))
    }
    b = SessionBrowser(sample_store, page_size=100)
    b.search.value = word.upper()
    assert set(all_ids(b)) == expected
    title_word = sessions[0].title.split()[-1]
    b.search.value = title_word
    assert str(sessions[0].id) in all_ids(b)
    b.close()


def test_timeline_costs_match_analytics(sample_store: Store) -> None:
    b = SessionBrowser(sample_store)
    sid = b.session_list.options[0][1]
    b.session_list.value = sid
    assert b.selected == sid
    usage = analytics.usage(sample_store, session_id=sid, exact=True)
    shown = dict(
        re.findall(r'data-message-id="([^"]+)"[^>]*>(?:(?!behest-msg ).)*?data-cost="([^"]*)"', b.timeline.value)
    )
    assert shown, "no priced message on the first timeline page"
    for message_id, cost in shown.items():
        assert Decimal(cost) == usage.filter(pl.col("message_id") == message_id).get_column("cost").sum()
    total = analytics.costs(sample_store, by="session", session_id=sid, exact=True).get_column("cost").item()
    assert f"${total:,.4f}" in b.stats.value
    stats = sample_store.executions.session_stats(UUID(sid))
    assert f"<th>messages</th><td>{stats.message_count:,}</td>" in b.stats.value
    roles = re.findall(r'<div class="behest-msg behest-role-(\w+)', b.timeline.value)
    expected = [m.role.value for m in sample_store.sessions.list_messages(UUID(sid))][:TIMELINE_PAGE]
    assert roles == expected
    b.close()


def _temp_tables(store: Store) -> int:
    row = store.sql(
        "SELECT count(*) FROM duckdb_tables() WHERE temporary AND table_name LIKE 'behest_temp_%'"
    ).fetchone()
    assert row is not None
    return int(row[0])


def test_select_session_errors_and_close(sample_store: Store) -> None:
    before = _temp_tables(sample_store)
    b = SessionBrowser(sample_store)
    assert _temp_tables(sample_store) == before + 1
    with pytest.raises(ValueError, match="session_id"):
        b.select_session("nope")
    with pytest.raises(NotFoundError):
        b.select_session("01a18f38-e8a7-74ca-8481-40b144e0b55c")
    with pytest.raises(ValueError, match="page_size"):
        SessionBrowser(sample_store, page_size=7)
    b.close()
    assert _temp_tables(sample_store) == before


def test_hostile_text_is_escaped_and_linked_safely(hostile_store: Store) -> None:
    b = SessionBrowser(hostile_store)
    sid = b.session_list.options[0][1]
    b.select_session(sid)
    page = b.timeline.value + b.stats.value
    for raw in (XSS, IMG, "<script", "<img src=x"):
        assert raw not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; title" in b.stats.value
    assert "look &lt;img src=x onerror=alert(1)&gt;" in b.timeline.value
    hrefs = [h for h in re.findall(r'<a href="([^"]*)"', b.timeline.value) if not h.startswith("#")]
    assert hrefs == [
        "https://example.com/a.png?x=&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;",
        "data:image/png;base64,iVBORw0KGgo=",
    ]
    assert '<span class="behest-unsafe-url">javascript:alert(1)</span>' in b.timeline.value
    # the tool call with its failed execution, linked to its result message (which shows the result, once)
    call = re.search(r'<div class="behest-call" data-call-id="call-1">(.*?)</div></div>', b.timeline.value)
    assert call is not None
    assert "tool&lt;script&gt;" in call.group(1)
    assert "execution failed, 1,234.0 ms" in call.group(1)
    assert '<pre class="behest-error">boom &lt;script&gt;alert(1)&lt;/script&gt;</pre>' in call.group(1)
    assert "RESULT" not in call.group(1)
    target = re.search(r'result: <a href="#([^"]+)">message #2</a>', call.group(1))
    assert target is not None
    result = re.search(
        rf'<div class="behest-msg behest-role-tool" data-message-id="[^"]+" id="{target.group(1)}">(.*?</pre>)</div>',
        b.timeline.value,
    )
    assert result is not None
    assert result.group(1).endswith("<pre>RESULT &lt;img src=x onerror=alert(1)&gt;</pre>")
    assert "result of the call in <a href=" in result.group(1)
    assert b.timeline.value.count("RESULT &lt;img") == 1
    # the compaction pair, with what analytics.compactions says it folded
    pair = analytics.compactions(hostile_store, session_id=sid).row(0, named=True)
    assert f"({pair['messages_folded']} messages) into the summary below" in b.timeline.value
    assert f"summary of compaction {pair['compaction_id']}" in b.timeline.value
    # message paging: 65 messages, two pages
    assert f"of 65 (page 1 of {math.ceil(65 / TIMELINE_PAGE)})" in b.timeline_label.value
    b.timeline_next.click()
    assert f">#{TIMELINE_PAGE} <b>" in b.timeline.value
    assert ">#0 <b>" not in b.timeline.value
    assert b.timeline_next.disabled
    b.search.value = "filler 59"
    assert [v for _, v in b.session_list.options] == [sid]
    b.metadata_key.value, b.metadata_value.value = "team", XSS
    assert [v for _, v in b.session_list.options] == [sid]
    b.close()


def test_refresh_and_sessions_created_after_opening() -> None:
    with open_store(None) as store:
        b = SessionBrowser(store)
        assert "0 sessions" in b.page_label.value
        session = Session(title="late <b>", model="gpt-4o", metadata={"k": 1})
        store.sessions.create_session(session)
        b.select_session(session.id)  # not in the snapshot: listed from a live read
        label, value = b.session_list.options[0]
        assert value == str(session.id)
        assert "late <b>" in label  # option labels are plain text, shown as text by the frontend
        assert "$0.0000" in label
        assert "late &lt;b&gt;" in b.stats.value
        b.refresh()
        assert "1 sessions" in b.page_label.value
        assert [v for _, v in b.session_list.options] == [str(session.id)]
        b.close()
