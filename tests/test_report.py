"""The tour report: ``behest-lab demo --report`` executes notebooks/00_tour.ipynb against a small lake store and
writes one self-contained HTML page whose plots and numbers match analytics computed here, loading nothing."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import polars as pl
import pytest

from behest_lab import open_store
from behest_lab.analytics import compactions, sessions, tool_stats, usage
from behest_lab.cli import main
from behest_lab.report import ReportError, execute_notebook, external_references, to_html

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
    assert last.endswith(str((built.store.parent / "out" / "report.html").resolve()))


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
    assert f"{title} ( {top_id}" in text
    saved = int((pairs["estimated_tokens_before"] - pairs["estimated_tokens_after"]).sum())
    assert f"{saved:,} tokens" in text
    assert f"the store at {built.store.resolve()}" in text


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
