"""The reports of a store.

The direct report (``behest_lab.report.write``, ``behest-lab report``): built from analytics in Python, its numbers
match analytics computed here, the title and date range are honoured, no absolute path shows, a folder without a
store is a clear error, and a store whose every text field holds markup gives a page without any of it.

The tour report: ``behest-lab demo --report`` executes notebooks/00_tour.ipynb against a small lake store and writes
one self-contained HTML page whose plots and numbers match analytics computed here, loading nothing.

``tests.hostile`` writes the store whose every text field holds hostile markup (the browser test uses it too).
"""

from __future__ import annotations

import base64
import contextlib
import html
import io
import os
import re
import subprocess
import sys
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import polars as pl
import pytest

from behest_lab import open_store
from behest_lab.analytics import compactions, costs, sessions, tool_stats, top_sessions, usage
from behest_lab.cli import main
from behest_lab.html import Markup, esc, esc_markdown, link, money, safe_url, table
from behest_lab.html import tag as element
from behest_lab.report import CSP, Report, ReportError, execute_notebook, external_references, to_html, write
from behest_lab.report import sections as report_sections
from behest_lab.report.page import sanitize
from behest_lab.report.sections import SECTIONS as REPORT_SECTIONS
from behest_lab.sample import generate
from tests.hostile import PAYLOADS, Page, assert_inert, hostile, hostile_store, read_page

SESSIONS = 14
SEED = 4  # a seed whose first sessions include compactions, failures and several models


class Tags(HTMLParser):
    """Every start tag with its attributes, and the text of <style> and <script> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.styles: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {k: v or "" for k, v in attrs}))
        self._in = tag if tag in ("style", "script") else None

    def handle_data(self, data: str) -> None:
        if self._in is not None:
            self.styles.append(data)

    def handle_endtag(self, tag: str) -> None:
        self._in = None


def parse(page: str) -> Tags:
    tags = Tags()
    tags.feed(page)
    return tags


def text_of(page: str) -> str:
    """The page's visible text, tags removed and entities decoded, whitespace collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


@dataclass(frozen=True)
class Built:
    page: str
    out: str
    store: Path


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """The demo run once: fill a small lake store, print the summary, execute the tour and write the report."""
    root = tmp_path_factory.mktemp("report")
    store, report = root / "lake", root / "out" / "report.html"
    argv = ["demo", "--store", str(store), "--sessions", str(SESSIONS), "--seed", str(SEED), "--report", str(report)]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(argv) == 0
    return Built(page=report.read_text(encoding="utf-8"), out=out.getvalue(), store=store)


@pytest.mark.slow
def test_demo_prints_where_the_report_is(built: Built) -> None:
    assert f"Generating {SESSIONS} sample sessions" in built.out
    assert "Store contents" in built.out  # the summary is still printed first
    last = built.out.strip().splitlines()[-1]
    assert last.startswith("Report (4 plots, ")
    assert last.endswith(str(built.store.parent / "out" / "report.html"))  # as given, not made absolute


@pytest.mark.slow
def test_report_holds_the_four_plots_as_png(built: Built) -> None:
    images = [a for tag, a in parse(built.page).tags if tag == "img"]
    pngs = [a for a in images if a.get("src", "").startswith("data:image/png;base64,")]
    assert len(pngs) == len(images) == 4
    for a in pngs:
        data = base64.b64decode(a["src"].split(",", 1)[1])
        assert data.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(data) > 10_000  # a real plot, not a blank
    alts = [a["alt"] for a in pngs]
    assert [alt.split(" ")[0] for alt in alts] == ["Cost", "Tokens", "Tool", "Compaction"]


@pytest.mark.slow
def test_report_numbers_match_analytics(built: Built) -> None:
    with open_store(built.store) as store:
        frame = sessions(store)
        calls = usage(store)
        stats = tool_stats(store)
        pairs = compactions(store)
    text = text_of(built.page)
    assert frame.height == SESSIONS
    assert pairs.height > 0
    assert f"{SESSIONS} sessions" in text
    assert f"{int(frame['messages'].sum()):,} messages" in text
    assert f"{calls.height:,} model calls" in text
    assert f"{pairs.height:,} compactions" in text
    # total cost, summed here row by row from the usage rows (the notebook sums analytics.costs groups)
    total = sum(float(c) for c in calls["cost"].to_list() if c is not None)
    assert f"Total cost: {total:,.2f} USD" in text
    slowest = stats.sort("p95_ms", descending=True, nulls_last=True)["tool_name"][0]
    assert f"Slowest tool: {slowest} " in text
    # the most expensive session, found here from the per-call costs
    per_session = calls.group_by("session_id").agg(pl.col("cost").cast(pl.Float64).sum()).sort("cost")
    top_id = per_session["session_id"][-1]
    assert top_id in text
    title = frame.filter(pl.col("id") == top_id)["title"][0]
    assert f"{title} ({top_id}" in text
    saved = int((pairs["estimated_tokens_before"] - pairs["estimated_tokens_after"]).sum())
    assert f"{saved:,} tokens" in text
    assert "the store folder lake" in text  # the folder's name only
    assert str(built.store.parent) not in built.page


@pytest.mark.slow
def test_report_loads_nothing_from_the_network(built: Built) -> None:
    tags = parse(built.page)
    for tag, attrs in tags.tags:
        for name in ("src", "href", "data", "srcset", "poster", "action"):
            value = attrs.get(name, "").strip().lower()
            assert not value.startswith(("http:", "https:", "//")), (tag, name, value[:80])
        if tag == "script":
            assert "src" not in attrs
        if tag == "link":
            assert attrs.get("rel") != "stylesheet" or not attrs.get("href", "").startswith(("http", "//"))
    for block in tags.styles:
        assert not re.search(r"(?:url\(|@import)\s*['\"]?\s*(?:https?:)?//", block), block[:200]
        assert "http" not in block  # not even in CSS comments
    assert external_references(built.page) == []
    assert "cdnjs" not in built.page
    assert "mathjax" not in built.page.lower()
    assert "require.js" not in built.page.lower()


def test_external_references_finds_every_kind_of_link() -> None:
    page = (
        '<script src="https://cdn.example/r.js"></script><link href="//fonts.example/f.css" rel="stylesheet">'
        "<style>@import 'http://x.example/a.css'; b { background: url( https://img.example/b.png ) }</style>"
        '<img src="data:image/png;base64,AAAA"><a href="#top">top</a><p>see https://text.example</p>'
    )
    assert external_references(page) == [
        "https://cdn.example/r.js",
        "//fonts.example/f.css",
        "http://x.example/a.css",
        "https://img.example/b.png",
    ]


def test_missing_notebook_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"notebook not found: .*nope\.ipynb"):
        execute_notebook(tmp_path / "nope.ipynb")


def test_html_of_a_notebook_without_outputs_is_self_contained() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Title\n\n$x^2$ and a [link](#title)")])
    page = to_html(nb)
    assert external_references(page) == []
    assert "<script src" not in page
    assert "Title" in text_of(page)


@pytest.mark.slow
def test_a_failing_cell_names_the_error(tmp_path: Path) -> None:
    path = tmp_path / "bad.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("raise ValueError('boom from the notebook')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    with pytest.raises(ReportError, match=r"(?s)bad\.ipynb: a cell failed.*ValueError.*boom from the notebook"):
        execute_notebook(path)


# --- behest_lab.html -------------------------------------------------------------------------------------------


def test_esc_escapes_markup_and_quotes() -> None:
    assert esc('<img src=x onerror="a(1)">') == "&lt;img src=x onerror=&quot;a(1)&quot;&gt;"
    assert esc("it's & <b>") == "it&#x27;s &amp; &lt;b&gt;"
    assert esc(None) == ""
    assert esc(3) == "3"


def test_esc_markdown_renders_as_the_literal_text() -> None:
    from nbconvert.filters.markdown_mistune import markdown2html_mistune

    for payload in (*PAYLOADS, "1. not a list", "# not a heading", "a | b", "~~strike~~", "www.example.com"):
        rendered = markdown2html_mistune(f"**{esc_markdown(payload)}** end")
        parsed = read_page(rendered)
        assert [t for t, _ in parsed.tags] == ["p", "strong"], (payload, rendered)
        assert parsed.visible == f"{payload} end", rendered


def test_report_plots_draw_stored_dollars_as_written() -> None:
    """A stored ``$...$`` crashes matplotlib's mathtext; the plots the report embeds draw it as written."""
    from matplotlib.figure import Figure

    from behest_lab import plots

    stored = "tool $\\nosuchmacro$ costs $5 and $6"
    raw = Figure()
    raw.text(0.1, 0.5, stored)
    with pytest.raises(ValueError, match="nosuchmacro"):
        raw.savefig(io.BytesIO(), format="png")
    frame = pl.DataFrame({"tool_name": [stored, stored], "duration_ms": [5.0, 7.0], "status": ["success", "failed"]})
    ax = plots.tool_latency(frame)
    plots.figure_png(ax.figure)
    assert stored in [t.get_text() for t in ax.get_yticklabels()]


def test_tag_escapes_children_and_attributes_and_drops_unsafe_urls() -> None:
    cell = element("td", "<b>x</b>", title='"q" <t>', class_="num", data_row=3, hidden=True, missing=None)
    assert cell == '<td title="&quot;q&quot; &lt;t&gt;" class="num" data-row="3" hidden>&lt;b&gt;x&lt;/b&gt;</td>'
    nested = element("p", element("strong", "<i>"), " & ", Markup("<em>kept</em>"))
    assert nested == "<p><strong>&lt;i&gt;</strong> &amp; <em>kept</em></p>"
    assert element("a", "x", href="javascript:alert(1)") == "<a>x</a>"
    assert element("a", "x", href="#costs") == '<a href="#costs">x</a>'
    assert element("img", src="data:image/svg+xml;base64,AA") == '<img src="data:image/svg+xml;base64,AA">'
    with pytest.raises(ValueError, match="element name"):
        element("script onload=x")
    with pytest.raises(ValueError, match="attribute name"):
        element("p", **{"onclick=x y": "1"})


def test_table_renders_cells_and_footer() -> None:
    out = table(["name", "n"], [["<x>", 1234], [Markup("<code>id</code>"), None]], numeric=[1], footer=["total", 1234])
    parsed = read_page(out)
    assert parsed.tables == [[["name", "n"], ["<x>", "1,234"], ["id", ""], ["total", "1,234"]]]
    assert '<td class="num">1,234</td>' in out
    assert "<tfoot>" in out


def test_money_takes_decimal_and_float_alike() -> None:
    assert money(Decimal("1234.567")) == money(1234.567) == "$1,234.57"
    assert money(Decimal("0.0042")) == money(0.0042) == "$0.0042"
    assert money(0) == money(Decimal(0)) == "$0.00"
    assert money(None) == money(float("nan")) == "n/a"


def test_link_only_for_safe_urls() -> None:
    assert link("https://example.org/a?b=<c>") == (
        '<a href="https://example.org/a?b=&lt;c&gt;" target="_blank" rel="noopener noreferrer">'
        "https://example.org/a?b=&lt;c&gt;</a>"
    )
    assert link("javascript:alert(1)") == '<span class="behest-unsafe-url">javascript:alert(1)</span>'
    assert safe_url("DATA:image/png;base64,AA")
    assert not safe_url("data:text/html,<script>")


def test_widgets_use_the_same_escaping() -> None:
    from behest_lab.widgets import _html

    assert _html.esc is esc
    assert _html.link is link
    assert _html.safe_url is safe_url


def test_sanitizer_keeps_the_report_markup_and_drops_the_rest() -> None:
    ours = str(
        element(
            "section",
            element("h2", "x"),
            element("a", "n", href="#x"),
            element("img", src="data:image/svg+xml;base64,AA"),
            id="x",
        )
    )
    kept = sanitize(ours)
    assert read_page(kept).tags == read_page(ours).tags
    dirty = "".join(PAYLOADS) + '<p onclick="x()" style="display:none">p</p><a href="https://e.org">e</a>'
    assert_inert(sanitize(dirty))
    assert "display:none" not in sanitize(dirty)
    assert "https://e.org" not in sanitize(dirty)


# --- the direct report --------------------------------------------------------------------------------------------

DIRECT_SESSIONS = 24


@dataclass(frozen=True)
class Direct:
    folder: Path
    page: str
    report: Report


@pytest.fixture(scope="module")
def direct(tmp_path_factory: pytest.TempPathFactory) -> Direct:
    """A lake store with sample runs, and its report written from the folder path."""
    root = tmp_path_factory.mktemp("direct")
    folder = root / "team-store"
    with open_store(folder) as store:
        generate(store, sessions=DIRECT_SESSIONS, seed=SEED)
    report = write(folder, root / "out" / "report.html")
    return Direct(folder=folder, page=report.path.read_text(encoding="utf-8"), report=report)


def _table_after(parsed: Page, page: str, heading: str) -> list[list[str]]:
    """The first table after the element whose text is ``heading``."""
    before = page[: page.index(f">{html.escape(heading)}</h")]
    return parsed.tables[before.count("<table")]


def _pairs(rows: list[list[str]]) -> dict[str, str]:
    """A two-column table (header row first) as {first cell: second cell}."""
    return {row[0]: row[1] for row in rows[1:]}


def test_direct_report_is_one_inert_self_contained_page(direct: Direct) -> None:
    page = direct.page
    assert page.startswith("<!DOCTYPE html>")
    head = page[page.index("<head>") : page.index("</head>")]
    assert head.index("Content-Security-Policy") < head.index("<title>") < head.index("<style>")
    assert f'content="{CSP}"' in head
    assert "script-src 'none'" in CSP
    assert "default-src 'none'" in CSP
    parsed = assert_inert(page)
    assert external_references(page) == []
    images = [a for t, a in parsed.tags if t == "img"]
    assert len(images) == direct.report.images == 4
    for a in images:
        svg = base64.b64decode(a["src"].removeprefix("data:image/svg+xml;base64,"))
        assert svg.lstrip().startswith(b"<?xml")
        assert b"<svg" in svg
        assert len(svg) > 10_000  # a real plot
    headings = [h for _, h in REPORT_SECTIONS]
    h2 = re.findall(r"<h2>(.*?)</h2>", page)
    assert h2 == [html.escape(h) for h in headings]


def test_direct_report_shows_the_folder_name_and_no_absolute_path(direct: Direct) -> None:
    text = read_page(direct.page).visible
    assert "behest_lab report: team-store" in text
    assert "Store folder: team-store" in text
    assert str(direct.folder.parent) not in direct.page
    assert "/tmp" not in direct.page
    assert str(Path.home()) not in direct.page
    assert "Time range: all time" in text


def test_direct_report_numbers_match_analytics(direct: Direct) -> None:
    with open_store(direct.folder, create=False) as store:
        frame = sessions(store, metadata_fields=[], exact=True)
        by_model = costs(store, by=("provider", "model"), exact=True)
        stats = tool_stats(store)
        pairs = compactions(store)
        top = top_sessions(store, by="cost", n=10, exact=True)
    parsed = read_page(direct.page)
    text = parsed.visible
    assert frame.height == DIRECT_SESSIONS
    assert pairs.height > 0
    contents = _pairs(_table_after(parsed, direct.page, "Store contents"))
    assert contents["sessions"] == f"{DIRECT_SESSIONS:,}"
    assert contents["messages"] == f"{int(frame['messages'].sum()):,}"
    assert contents["model calls"] == f"{int(by_model['requests'].sum()):,}"
    assert contents["tool executions"] == f"{int(stats['calls'].sum()):,}"
    assert contents["tool failures"] == f"{int(stats['failures'].sum()):,}"
    assert contents["compactions"] == f"{pairs.height:,}"
    # cost per model: every row, and the total of the priced groups
    cost_rows = _table_after(parsed, direct.page, "Cost by model and by day")
    expected = {(r["provider"] or "unknown", r["model"]): money(r["cost"]) for r in by_model.iter_rows(named=True)}
    assert {(r[0], r[1]): r[5] for r in cost_rows[1:-1]} == expected
    total = sum((c for c in by_model["cost"].to_list() if c is not None), Decimal(0))
    assert cost_rows[-1][0] == "total"
    assert cost_rows[-1][5] == money(total)
    assert f"Total cost: {money(total)} over {int(by_model['requests'].sum()):,} model calls" in text
    # the slowest tools, by p95
    slow = _table_after(parsed, direct.page, "Slowest tools (by p95, top 10)")
    want = stats.sort(["p95_ms", "tool_name"], descending=[True, False], nulls_last=True).head(10)
    assert [r[0] for r in slow[1:]] == want["tool_name"].to_list()
    assert slow[1][3] == f"{want['p95_ms'][0]:,.1f}"
    failing = _table_after(parsed, direct.page, "Failing tools")
    assert {r[0] for r in failing[1:]} == set(stats.filter(pl.col("failures") > 0)["tool_name"].to_list())
    # compaction totals
    before, after = int(pairs["estimated_tokens_before"].sum()), int(pairs["estimated_tokens_after"].sum())
    assert f"cut the estimated context from {before:,} to {after:,} tokens" in text
    # the most expensive sessions, in order, with their cost
    rows = _table_after(parsed, direct.page, "The most expensive sessions")[1:]
    assert [r[0] for r in rows] == [f"{t or '(untitled)'}{i}" for t, i in zip(top["title"], top["id"], strict=True)]
    assert [r[8] for r in rows] == [money(c) for c in top["cost"]]
    runs = zip(top["tool_executions"], top["tool_failures"], strict=True)
    assert [r[4] for r in rows] == [f"{e:,} ({f:,})" for e, f in runs]


def test_direct_report_honours_title_and_date_range(direct: Direct, tmp_path: Path) -> None:
    with open_store(direct.folder, create=False) as store:
        created = sessions(store, metadata_fields=[])["created_at"].sort()
        since, until = created[4], created[-5]
        report = write(store, tmp_path / "range.html", title="Team <b>weekly</b>", since=since, until=until.date())
        frame = sessions(store, since=since, until=until.date(), metadata_fields=[])
        calls = costs(store, by="model", since=since, until=until.date())
    page = report.path.read_text(encoding="utf-8")
    parsed = read_page(page)
    assert "<title>Team &lt;b&gt;weekly&lt;/b&gt;</title>" in page
    assert "<h1>Team &lt;b&gt;weekly&lt;/b&gt;</h1>" in page
    assert "Store folder" not in parsed.visible  # an open Store has no folder name to show
    assert f"Time range: {since:%Y-%m-%d %H:%M} UTC to {until:%Y-%m-%d} (exclusive)" in parsed.visible
    assert 0 < frame.height < DIRECT_SESSIONS
    contents = _pairs(_table_after(parsed, page, "Store contents"))
    assert contents["sessions"] == f"{frame.height:,}"
    assert contents["model calls"] == f"{int(calls['requests'].sum()):,}"
    with pytest.raises(ValueError, match="must be before"):
        write(direct.folder, tmp_path / "bad.html", since="2026-02-01", until="2026-01-01")
    with pytest.raises(ValueError, match="not an ISO 8601"):
        write(direct.folder, tmp_path / "bad.html", since="last tuesday")
    with pytest.raises(ValueError, match="naive"):
        write(direct.folder, tmp_path / "bad.html", since=datetime(2026, 1, 1))


def test_direct_report_of_float_costs_formats_the_same(direct: Direct) -> None:
    """Costs as Float64 USD with ``unpriced_requests`` (the other column type analytics may give) read the same."""
    with open_store(direct.folder, create=False) as store:
        frames = report_sections.read(store, report_sections.Range())
    as_float = replace(
        frames,
        by_model=frames.by_model.with_columns(pl.col("cost").cast(pl.Float64)),
        by_day=frames.by_day.with_columns(pl.col("cost").cast(pl.Float64)),
        by_day_model=frames.by_day_model.with_columns(pl.col("cost").cast(pl.Float64)),
        top=frames.top.with_columns(pl.col("cost").cast(pl.Float64)),
        images=[],
    )
    exact, floats = read_page(report_sections.costs(frames)), read_page(report_sections.costs(as_float))
    assert exact.tables == floats.tables
    assert read_page(report_sections.expensive(frames)).tables == read_page(report_sections.expensive(as_float)).tables
    assert "unpriced calls" in exact.tables[0][0]


def test_direct_report_of_an_empty_store_says_so(tmp_path: Path) -> None:
    with open_store(None) as store:
        report = write(store, tmp_path / "empty.html")
    text = assert_inert(report.path.read_text(encoding="utf-8")).visible
    assert "No sessions in this range." in text
    assert "No model calls in this range." in text
    assert report.images == 0


def test_direct_report_of_hostile_text_is_inert_and_literal(tmp_path: Path) -> None:
    with open_store(None) as store:
        shown = hostile_store(store)
        report = write(store, tmp_path / "hostile.html", title=hostile("report title"))
    parsed = assert_inert(report.path.read_text(encoding="utf-8"))
    for value in [*shown, hostile("report title")]:
        assert value in parsed.visible, value[:40]
    assert report.images == 4


def test_write_refuses_a_folder_without_a_store(tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ReportError, match="folder 'empty' holds no behest_lab store"):
        write(empty, tmp_path / "r.html")
    with pytest.raises(ReportError, match="store folder 'nope' does not exist"):
        write(tmp_path / "nope", tmp_path / "r.html")
    assert list(empty.iterdir()) == []
    assert not (tmp_path / "nope").exists()
    assert not (tmp_path / "r.html").exists()


def test_cli_report_writes_the_page(direct: Direct, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli" / "r.html"
    argv = ["report", "--store", str(direct.folder), "--out", str(out), "--title", "Weekly", "--since", "2026-01-01"]
    assert main(argv) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.startswith("Report (4 plots, ")
    assert printed.endswith(str(out))
    page = out.read_text(encoding="utf-8")
    assert "<h1>Weekly</h1>" in page
    assert "Time range: 2026-01-01 to now" in read_page(page).visible


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--store", "{empty}"], r"no behest_lab store in .*empty \(no catalog.sqlite\)"),
        (["--store", "{missing}"], r"store folder '.*missing' does not exist"),
        (["--store", "{store}", "--since", "soon"], r"--since: 'soon' is not an ISO 8601 date or datetime"),
        (["--store", "{store}", "--since", "2026-02-01", "--until", "2026-01-01"], "must be before"),
    ],
)
def test_cli_report_errors_are_one_line(
    direct: Direct, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    (tmp_path / "empty").mkdir()
    paths = {"empty": tmp_path / "empty", "missing": tmp_path / "missing", "store": direct.folder}
    out = tmp_path / "r.html"
    assert main(["report", *(a.format(**paths) for a in args), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("behest-lab: error: "), err
    assert re.search(message, err), err
    assert not out.exists()
    assert not (tmp_path / "missing").exists()
    assert list((tmp_path / "empty").iterdir()) == []


def test_cli_report_exit_code_and_usage(tmp_path: Path) -> None:
    """The console entry point as a process: exit code 1 and one line on stderr; usage errors exit 2."""
    (tmp_path / "plain").mkdir()
    env = {k: v for k, v in os.environ.items() if k != "BEHEST_LAB_STORE"}
    cmd = [sys.executable, "-m", "behest_lab", "report", "--store", str(tmp_path / "plain"), "--out", "r.html"]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp_path, env=env, check=False)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().count("\n") == 0
    assert "no behest_lab store in" in done.stderr
    assert not (tmp_path / "r.html").exists()
    usage = subprocess.run([*cmd[:4], "--out", "r.html"], capture_output=True, text=True, env=env, check=False)
    assert usage.returncode == 2
    assert "--store" in usage.stderr


def test_demo_without_the_tour_notebook_writes_the_direct_report(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Installed from a wheel there is no tour notebook: ``behest-lab demo`` then writes the direct report."""
    import behest_lab.report

    monkeypatch.setattr(behest_lab.report, "TOUR_NOTEBOOK", tmp_path / "no-checkout" / "00_tour.ipynb")
    out = tmp_path / "demo.html"
    assert main(["demo", "--store", str(tmp_path / "lake"), "--sessions", "6", "--report", str(out)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[-2] == f"Writing the report of {tmp_path / 'lake'} (no tour notebook here: it needs a checkout) ..."
    page = out.read_text(encoding="utf-8")
    assert lines[-1].startswith(f"Report ({page.count('<img ')} plots, ")
    assert lines[-1].endswith(str(out))
    assert f'content="{CSP}"' in page
    assert "Store folder: lake" in read_page(page).visible


def test_direct_report_needs_only_the_core_dependencies(direct: Direct, tmp_path: Path) -> None:
    """In a process where the notebook extra (and jinja2, IPython) cannot be imported, ``behest-lab report`` works."""
    blocked = ("jinja2", "nbformat", "nbclient", "nbconvert", "ipykernel", "IPython", "jupyterlab", "mistune")
    program = f"""
import sys

class Block:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in {blocked!r}:
            raise ImportError(f"{{name}} is not installed")
        return None

sys.meta_path.insert(0, Block())
from behest_lab.cli import main
code = main(["report", "--store", sys.argv[1], "--out", sys.argv[2]])
assert not [m for m in sys.modules if m.split(".")[0] in {blocked!r}], "a blocked module was imported"
sys.exit(code)
"""
    out = tmp_path / "core.html"
    env = {k: v for k, v in os.environ.items() if k != "BEHEST_LAB_STORE"}
    done = subprocess.run(
        [sys.executable, "-c", program, str(direct.folder), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert out.read_text(encoding="utf-8").count("<img ") == 4
