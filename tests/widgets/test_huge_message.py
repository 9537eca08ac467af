"""A huge message in the ``SessionBrowser``.

The page shows its first ``TEXT_LIMIT`` characters and says how many are left out, ``message_text`` returns the whole
(or any piece of it), each text, JSON value and tool call's arguments is read cut in SQL, and the memory a subprocess
needs to show a 50 MB message stays a small multiple of it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from uuid import uuid4

import pytest

from behest_lab import Store, open_store
from behest_lab.analytics import SHOWN_CHARS, SessionView
from behest_lab.errors import NotFoundError
from behest_lab.records import JsonPart, MessageRecord, MessageRole, Session, TextPart, ToolCall
from behest_lab.widgets import SessionBrowser
from behest_lab.widgets._html import TEXT_LIMIT, TEXT_PREVIEW
from tests.lake.template import lake_store
from tests.widgets.conftest import BACKENDS

SIZE = 2_000_000
"""Characters of the huge text of the in-process tests."""

PAGE_BOUND = 5 * (TEXT_PREVIEW + TEXT_LIMIT) + 30_000
"""Bytes a timeline page with the huge text, a huge JSON part and huge tool call arguments may take.

Each of the three shows at most ``TEXT_PREVIEW + TEXT_LIMIT`` characters; escaping makes some longer (a JSON value's
quotes become ``&quot;``), so five times that, plus 30,000 bytes of markup and style sheet. The page of the
2,000,000-character values without the cut would be over ten times as large.
"""


def _huge(n: int) -> str:
    return "<" + "x" * (n - 3) + "&Z"


@pytest.fixture(scope="module", params=BACKENDS)
def huge_store(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """One session: a huge user text, a huge JSON part and a call with huge arguments, and a short answer."""
    store = open_store(None) if request.param == "memory" else lake_store(tmp_path_factory.mktemp("huge-lake") / "lake")
    session = Session(title="huge", model="gpt-4o")
    store.sessions.create_session(session)
    sid = session.id
    store.sessions.append_messages(
        [
            MessageRecord(session_id=sid, role=MessageRole.USER, content=[TextPart(text=_huge(SIZE))]),
            MessageRecord(
                session_id=sid,
                role=MessageRole.ASSISTANT,
                content=[TextPart(text="calling"), JsonPart(value={"rows": ["r" * 100] * (SIZE // 100)})],
                tool_calls=[ToolCall(id="c1", name="search", arguments={"q": "a" * SIZE})],
            ),
            MessageRecord(session_id=sid, role=MessageRole.ASSISTANT, content=[TextPart(text="short answer")]),
        ]
    )
    return store


def test_the_page_is_bounded_and_says_what_is_left_out(huge_store: Store) -> None:
    """The timeline page stays under ``PAGE_BOUND`` and says how much of each cut value is left out."""
    b = SessionBrowser(huge_store)
    b.select_session(b.session_list.options[0][1])
    value = b.timeline.value
    assert len(value.encode()) < PAGE_BOUND
    assert f"truncated: {SIZE - TEXT_LIMIT:,} more characters not shown (cut at {TEXT_LIMIT:,} of {SIZE:,})" in value
    assert "&lt;" + "x" * (TEXT_LIMIT - 1) + "</pre>" in value  # the first TEXT_LIMIT characters, escaped
    assert "&amp;Z" not in value  # the text's end is past the cut
    assert "SessionBrowser.message_text(" in value
    assert "<pre>short answer</pre>" in value  # the rest of the session shows as ever
    # the JSON part and the call's arguments are cut the same way, each saying its whole length
    assert value.count("truncated: ") == 3
    b.close()


def test_the_whole_text_is_reachable_piece_by_piece(huge_store: Store) -> None:
    """The page's records hold ``SHOWN_CHARS`` characters; ``message_text`` returns the whole or any piece."""
    b = SessionBrowser(huge_store)
    b.select_session(b.session_list.options[0][1])
    rows = b._rows
    assert rows is not None
    page = rows.page(0, 10, {})
    huge = page.messages[0]
    assert len(huge.text_content) == SHOWN_CHARS  # read cut in SQL
    assert page.lengths[str(huge.id)] == ([SIZE], [])
    assert page.lengths[str(page.messages[1].id)][1] == [len(json.dumps({"q": "a" * SIZE}, separators=(",", ":")))]
    whole = b.message_text(huge.id)
    assert whole == _huge(SIZE)
    assert b.message_text(str(huge.id), SIZE - 2, 10) == "&Z"
    assert b.message_text(huge.id, 1, 3) == "xxx"
    with pytest.raises(NotFoundError):
        b.message_text(uuid4())
    with pytest.raises(ValueError, match="not a UUID"):
        b.message_text("nope")
    with pytest.raises(ValueError, match="negative"):
        b.message_text(huge.id, -1)
    b.close()


def test_a_cut_message_keeps_its_record_shape(huge_store: Store) -> None:
    """A cut JSON value and cut call arguments come back as the JSON string of their cut text."""
    sid = huge_store.sessions.list_sessions()[0].id
    with SessionView(huge_store, [sid]) as view:
        page = view.page(0, 10, {})
    call = page.messages[1].tool_calls[0]
    assert isinstance(call.arguments, str)  # the cut JSON text, shown as text
    assert call.arguments == '{"q":"' + "a" * (SHOWN_CHARS - 6)
    part = page.messages[1].content[1]
    assert isinstance(part, JsonPart)
    assert isinstance(part.value, str)
    assert len(part.value) == SHOWN_CHARS


MEMORY_SCRIPT = textwrap.dedent(
    """
    import gc, json, sys
    import psutil
    import behest_lab
    from behest_lab.records import MessageRecord, MessageRole, Session, TextPart
    from behest_lab.widgets import SessionBrowser

    size = int(sys.argv[1])
    store = behest_lab.open_store(None)
    s = Session(title="huge", model="gpt-4o")
    store.sessions.create_session(s)
    store.sessions.append_message(
        MessageRecord(session_id=s.id, role=MessageRole.USER, content=[TextPart(text="x" * (size - 1) + "Z")])
    )
    # the memory store builds its DuckDB copy of the records at its first query: a cost of the store, not of the view
    store.sql("SELECT count(*) FROM messages").fetchall()
    gc.collect()
    base = psutil.Process().memory_info().rss
    with open("/proc/self/clear_refs", "w") as f:  # the peak (VmHWM) starts again from the current size
        f.write("5")
    b = SessionBrowser(store)
    b.select_session(s.id)
    peak = next(int(l.split()[1]) * 1024 for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    print(json.dumps({"base": base, "peak": peak, "page": len(b.timeline.value.encode())}))
    """
)


@pytest.mark.slow
def test_showing_a_50_mb_message_needs_memory_proportional_to_it() -> None:
    """Opening the browser on a 50 MB message in a subprocess needs under 5x its size over the store's memory."""
    size = 50_000_000
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(size)], capture_output=True, text=True, check=True, timeout=1200
    )
    measured = json.loads(out.stdout.strip().splitlines()[-1])
    over = measured["peak"] - measured["base"]
    print(f"\n50 MB message: page {measured['page']:,} bytes, peak {over / 1e6:,.0f} MB over the store's own")
    assert measured["page"] < PAGE_BOUND
    assert over < 5 * size
