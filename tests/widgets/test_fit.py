"""The widgets fit a notebook, checked on their HTML values and chart bytes (Chromium checks the rendered page in
``tests/browser/test_widgets_theme.py``): theme colours only through JupyterLab's variables, bounded scroll
regions, each tool result once, long texts cut with the rest behind a ``<details>``, charts at twice their
logical width, names that look like mathtext drawn as written."""

from __future__ import annotations

import html
import json
import re
import struct
from datetime import date
from uuid import UUID

import polars as pl
import pytest

from behest_lab import Store, analytics
from behest_lab.records import JsonPart
from behest_lab.widgets import TIMELINE_PAGE, SessionBrowser, ToolExplorer, UsageDashboard
from behest_lab.widgets._charts import CHART_WIDTH, SCALE, latency_figure, png, series_figure
from behest_lab.widgets._html import CELL_PREVIEW, TEXT_LIMIT, TEXT_PREVIEW, long_text, table
from behest_lab.widgets._style import (
    BLOCK_MAX_HEIGHT,
    CHART_MAX_HEIGHT,
    STYLE,
    TABLE_MAX_HEIGHT,
    TIMELINE_MAX_HEIGHT,
)
from tests.widgets.conftest import XSS
from tests.widgets.long_session import (
    ERROR_PAGE,
    HUGE,
    LONG,
    LONG_ID,
    MATH_MODEL,
    MATH_TOOL,
    RESULT_MARK,
    SPLIT_CALL,
    TURNS,
    long_session_records,
    result_text,
)

# The long session's model "$\\bar$" has no price (on purpose: its name must reach the dashboard's legend), and the
# pricing warns about it wherever its usage is priced.
pytestmark = pytest.mark.filterwarnings("ignore::behest_lab.pricing.UnknownModelWarning")


def _rule(selector: str) -> str:
    """The declarations of ``selector``'s rule in ``STYLE``."""
    match = re.search(re.escape(selector) + r" \{([^}]*)\}", STYLE)
    assert match is not None, selector
    return match.group(1)


def _png_width(data: bytes) -> int:
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    width: int = struct.unpack(">I", data[16:20])[0]
    return width


def _opened(store: Store) -> SessionBrowser:
    b = SessionBrowser(store)
    b.select_session(LONG_ID)
    return b


# --- theme -------------------------------------------------------------------------------------------------------


def test_every_colour_is_a_jupyterlab_variable_with_a_fallback() -> None:
    # drop every var(--jp-..., fallback): no colour may be left (a fixed colour ignores the theme)
    rest = re.sub(r"var\(--jp-[a-z0-9-]+, (?:[^()]|\([^()]*\))*\)", "VAR", STYLE)
    assert "var(" not in rest
    assert not re.search(r"#[0-9a-fA-F]{3,6}\b|rgba?\(|(?<![-\w])(?:white|black|red|yellow|orange)(?![-\w])", rest), (
        rest
    )
    # text colour and background are set together wherever text sits
    for selector in (".behest-msg", ".behest-table", ".behest-table th", ".behest-timeline-body"):
        declarations = _rule(selector)
        assert re.search(r"(?<![-\w])color:", declarations), selector
        assert "background:" in declarations, selector
    # the compaction tint mixes the warning colour into the theme's background (never a fixed light colour)
    compaction = _rule(".behest-msg.behest-compaction")
    assert "color-mix(in srgb, var(--jp-warn-color1, #f57c00) 14%, var(--jp-layout-color0, #fff))" in compaction


def test_heights_are_bounded_by_the_style() -> None:
    for selector, height in (
        (".behest-timeline-body", TIMELINE_MAX_HEIGHT),
        (".behest-table-box", TABLE_MAX_HEIGHT),
        (".behest-msg pre", BLOCK_MAX_HEIGHT),
    ):
        declarations = _rule(selector)
        assert f"max-height: {height};" in declarations, selector
        assert "overflow: auto;" in declarations, selector


# --- the timeline ------------------------------------------------------------------------------------------------


def test_timeline_is_one_scroll_region(long_store: Store) -> None:
    b = _opened(long_store)
    value = b.timeline.value
    assert value.startswith(STYLE)
    body = value[len(STYLE) :]
    assert body.startswith('<div class="behest-timeline-body">')
    assert body.count('class="behest-timeline-body"') == 1
    assert len(re.findall(r'<div class="behest-msg ', body)) == TIMELINE_PAGE
    assert "behest-browser" in b._dom_classes
    b.close()


def _pages(b: SessionBrowser) -> list[str]:
    pages = [b.timeline.value]
    while not b.timeline_next.disabled:
        b.timeline_next.click()
        pages.append(b.timeline.value)
    return pages


def test_each_tool_result_is_shown_once_and_linked(long_store: Store) -> None:
    _, messages, _, _ = long_session_records()
    index = {str(m.id): i for i, m in enumerate(messages)}
    b = _opened(long_store)
    pages = _pages(b)
    assert len(pages) == 3
    for number, page in enumerate(pages):
        first, last = number * TIMELINE_PAGE, min((number + 1) * TIMELINE_PAGE, len(messages)) - 1
        shown = re.findall(re.escape(RESULT_MARK) + r"(\d{3})", page)
        assert len(shown) == len(set(shown)), f"a result is shown twice on page {number}"
        for i, m in enumerate(messages[first : last + 1], start=first):
            for call in m.tool_calls:
                turn = int(call.id.removeprefix("call-"))
                result = next(r for r in messages if r.tool_call_id == call.id)
                assert shown.count(f"{turn:03d}") == 1
                block = re.search(rf'data-call-id="{call.id}">(.*?)(?=<div class="behest-msg |</div></div>$)', page)
                assert block is not None
                if index[str(result.id)] <= last:
                    # the result is its own message on the page: the call links to it
                    target = re.search(r'result: <a href="#([^"]+)">message #(\d+)</a>', block.group(1))
                    assert target is not None
                    assert int(target.group(2)) == index[str(result.id)]
                    assert f'data-message-id="{result.id}" id="{target.group(1)}"' in page
                    assert RESULT_MARK not in block.group(1)
                else:
                    # the result is on the next page: shown with the call, where the page ends
                    assert i == SPLIT_CALL
                    assert html.escape(result_text(turn)) in block.group(1)
    # the result of the call that ends page 1 opens page 2, with no call left to link back to
    split_turn = int(messages[SPLIT_CALL].tool_calls[0].id.removeprefix("call-"))
    assert pages[1].count(f"{RESULT_MARK}{split_turn:03d}") == 1
    opening = re.search(
        rf'data-message-id="{messages[SPLIT_CALL + 1].id}" id="[^"]+"><div class="behest-meta">(.*?)</div>', pages[1]
    )
    assert opening is not None
    assert opening.group(1).startswith(f"#{SPLIT_CALL + 1} <b>tool</b>")
    assert "result of the call in" not in opening.group(1)
    # on page 1 the results whose call is there link back to it
    assert pages[0].count("result of the call in") == sum(1 for m in messages[:SPLIT_CALL] if m.tool_calls)
    # every result appears somewhere
    everywhere = {t for p in pages for t in re.findall(re.escape(RESULT_MARK) + r"(\d{3})", p)}
    assert everywhere == {f"{t:03d}" for t in range(TURNS)}
    b.close()


def _more(preview: str, length: int) -> str:
    """The opening of a cut text's ``<details>``: its escaped preview and its toggle."""
    return (
        f'<details class="behest-more"><summary><span class="behest-preview">{html.escape(preview)}…</span>'
        f'<span class="behest-toggle">whole text ({length:,} characters)</span></summary>'
    )


def test_long_texts_are_cut_and_the_html_stays_bounded(long_store: Store) -> None:
    b = _opened(long_store)
    value = b.timeline.value
    # the huge text: a preview, the first TEXT_LIMIT characters behind <details>, and what is left out said
    assert _more("H" * TEXT_PREVIEW, HUGE) + f"<pre>{'H' * TEXT_LIMIT}</pre>" in value
    assert f"{HUGE - TEXT_LIMIT:,} more characters not shown (cut at {TEXT_LIMIT:,} of {HUGE:,})" in value
    assert "H" * (TEXT_LIMIT + 1) not in value
    assert "HZ" not in value  # the text's last character is past the cut
    # the page's HTML is bounded by what it shows, not by the 200,000 stored characters
    assert len(value) < TEXT_LIMIT + 100_000
    # the long text: its preview, then the whole text in one block
    _, messages, _, _ = long_session_records()
    long = next(m.text_content for m in messages if len(m.text_content) == LONG)
    assert _more(long[:TEXT_PREVIEW], LONG) + f"<pre>{html.escape(long)}</pre></details>" in value
    # the long JSON part is cut the same way
    plan = next(p.value for m in messages for p in m.content if isinstance(p, JsonPart))
    whole = json.dumps(plan, separators=(",", ":"))
    assert _more(whole[:TEXT_PREVIEW], len(whole)) + f'<pre class="behest-json">{html.escape(whole)}</pre>' in value
    b.close()


def test_failed_execution_error_is_escaped_and_cut(long_store: Store) -> None:
    b = _opened(long_store)
    value = b.timeline.value
    assert "<html>" not in value
    assert "<p>" not in value
    cut = _more(ERROR_PAGE[:TEXT_PREVIEW], len(ERROR_PAGE))
    assert f'{cut}<pre class="behest-error">{html.escape(ERROR_PAGE)}</pre></details>' in value
    b.close()


def test_stats_header_is_two_rows_and_a_long_title_is_cut(long_store: Store) -> None:
    b = _opened(long_store)
    stats = b.stats.value
    assert stats.count("<tr>") == 2
    session = long_store.sessions.get_session(UUID(LONG_ID.hex))
    assert session is not None
    assert f'<b title="{html.escape(session.title)}">' in stats
    assert f"<th>messages</th><td>{len(long_session_records()[1]):,}</td>" in stats
    b.close()


def test_long_text_escapes_preview_and_whole() -> None:
    text = XSS * (TEXT_PREVIEW // len(XSS) + 5)
    out = long_text(text, "behest-json")
    assert "<script>" not in out
    preview = re.search(r'<span class="behest-preview">([^<]*)…</span>', out)
    whole = re.search(r'<pre class="behest-json">([^<]*)</pre>', out)
    assert preview is not None
    assert whole is not None
    assert html.unescape(preview.group(1)) == text[:TEXT_PREVIEW]
    assert html.unescape(whole.group(1)) == text
    assert long_text("short <b>") == "<pre>short &lt;b&gt;</pre>"


# --- tables ------------------------------------------------------------------------------------------------------


def test_tables_scroll_and_cut_long_cells() -> None:
    out = table(["name", "note"], [("a", "x" * (CELL_PREVIEW + 50)), ("b", XSS)])
    assert out.startswith('<div class="behest-table-box"><table class="behest-table">')
    assert out.endswith("</table></div>")
    long = "x" * (CELL_PREVIEW + 50)
    assert f'<td>{_more(long[:CELL_PREVIEW], len(long))}<div class="behest-whole">{long}</div></details></td>' in out
    assert "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td>" in out


def test_dashboard_and_explorer_bound_their_outputs(long_store: Store) -> None:
    d = UsageDashboard(long_store)
    assert d.table.value.startswith(STYLE + '<div class="behest-table-box">')
    assert "behest-dashboard" in d._dom_classes
    x = ToolExplorer(long_store)
    assert x.table.value.startswith(STYLE + '<div class="behest-table-box">')
    # the 502 page in top_errors opens from a <details>, escaped
    assert '<details class="behest-more"><summary>' in x.table.value
    assert "&lt;html&gt;&lt;head&gt;" in x.table.value
    assert "<html>" not in x.table.value
    box = next(c for c in x.children if x.chart in getattr(c, "children", ()))
    assert (box.layout.max_height, box.layout.overflow) == (CHART_MAX_HEIGHT, "auto")
    assert "behest-tools" in x._dom_classes
    d.close()
    x.close()


# --- charts ------------------------------------------------------------------------------------------------------


def test_charts_are_drawn_at_twice_their_shown_width(long_store: Store) -> None:
    d = UsageDashboard(long_store)
    x = ToolExplorer(long_store)
    for chart in (d.chart, x.chart):
        assert chart.width == str(CHART_WIDTH)
        assert _png_width(bytes(chart.value)) == SCALE * CHART_WIDTH >= 2 * CHART_WIDTH
    # the mathtext-looking model and tool names were drawn (the charts exist), and are in the data shown
    assert MATH_MODEL in d.frame.get_column("series").to_list()
    assert MATH_TOOL in x.stats.get_column("tool_name").to_list()
    d.close()
    x.close()


@pytest.mark.parametrize("name", [MATH_TOOL, "$x^{2}$ and $y", "a $5 and $6 tool", "_private"])
def test_names_are_drawn_as_written(name: str) -> None:
    frame = pl.DataFrame({"day": [date(2026, 1, 1), date(2026, 1, 1)], "model": [name, "gpt-4o"], "cost": [1.0, 2.0]})
    fig = series_figure(frame, "day", "model", "cost", f"cost of {name}", "USD")
    ax = fig.axes[0]
    legend = ax.get_legend()
    assert legend is not None
    assert [t.get_text() for t in legend.get_texts()] == [name, "gpt-4o"]  # "_private" is listed too
    assert not any(t.get_parse_math() for t in legend.get_texts())
    assert not ax.title.get_parse_math()
    assert _png_width(png(fig)) == SCALE * CHART_WIDTH  # drawing parses no mathtext: no error
    fig = latency_figure([{"tool_name": name, "q": [1.0, 2.0, 3.0, 4.0, 5.0], "failure_rate": 0.5}])
    labels = fig.axes[0].get_yticklabels()
    assert [t.get_text() for t in labels] == [name]
    assert not labels[0].get_parse_math()
    assert _png_width(png(fig)) == SCALE * CHART_WIDTH


def test_analytics_agree_on_the_long_session(long_store: Store) -> None:
    # the long session's tool calls are all in the explorer's statistics (a guard on the fixture the tests use)
    stats = analytics.tool_stats(long_store)
    assert int(stats.get_column("calls").sum()) == TURNS
