"""tool_latency: tick labels are the tools, the annotations are analytics.tool_stats' failure rates, the boxes
show the finished calls' latencies."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from matplotlib.figure import Figure

from behest_lab import Store, analytics
from behest_lab.plots import failure_text, tool_latency


def test_ticks_annotations_and_medians_match_tool_stats(sample: Store) -> None:
    stats = analytics.tool_stats(sample)
    ax = tool_latency(sample)
    assert [t.get_text() for t in ax.get_yticklabels()] == stats["tool_name"].to_list()
    texts = [t.get_text() for t in ax.texts]
    want = [
        failure_text(f, s + f) for f, s in zip(stats["failures"].to_list(), stats["successes"].to_list(), strict=True)
    ]
    assert texts == want
    # the printed percentage is tool_stats' failure_rate
    for text, rate in zip(texts, stats["failure_rate"].to_list(), strict=True):
        assert float(text.split("%")[0]) == pytest.approx(100 * rate, abs=0.05)
    assert any(r > 0 for r in stats["failure_rate"].to_list())
    # box medians (the median line's x) equal tool_stats' p50, in the same order
    medians = [float(np.mean(line.get_xdata())) for line in ax.lines if line.get_color() == "tab:blue"]
    assert medians == pytest.approx(stats["p50_ms"].to_list(), rel=1e-9)
    assert ax.get_xscale() == "log"


def test_pending_calls_are_not_in_the_rate_or_the_box() -> None:
    frame = pl.DataFrame(
        {
            "tool_name": ["a", "a", "a", "a", "b"],
            "status": ["success", "failed", "pending", "success", "pending"],
            "duration_ms": [10.0, 1000.0, None, 0.0, None],
        }
    )
    ax = tool_latency(frame)
    assert [t.get_text() for t in ax.texts] == ["33.3% failed (1/3)", "no finished calls"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["a", "b"]
    assert "1 call(s) under 0.01 ms drawn at 0.01 ms" in ax.get_xlabel()
    whisker_ends = sorted(x for line in ax.lines for x in line.get_xdata())
    assert whisker_ends[0] == pytest.approx(0.01)
    assert whisker_ends[-1] == pytest.approx(1000.0)


def test_tools_selects_and_orders(sample: Store) -> None:
    stats = analytics.tool_stats(sample)
    chosen = [*stats["tool_name"].to_list()[-1:-4:-1], "never_called"]
    ax = tool_latency(analytics.tool_executions(sample), tools=chosen)
    assert [t.get_text() for t in ax.get_yticklabels()] == chosen
    assert [t.get_text() for t in ax.texts][-1] == "no finished calls"


def test_draws_on_the_given_axes(sample: Store) -> None:
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert tool_latency(sample, ax=left) is left
    assert left.texts
    assert not right.texts


def test_empty_store(empty: Store) -> None:
    assert [t.get_text() for t in tool_latency(empty).texts] == ["no data"]


def test_missing_column_is_named(sample: Store) -> None:
    with pytest.raises(ValueError, match=r"no column 'duration_ms'.*analytics\.tool_executions"):
        tool_latency(analytics.tool_executions(sample).drop("duration_ms"))


def test_tools_as_a_string_is_refused(sample: Store) -> None:
    with pytest.raises(ValueError, match="list of tool names"):
        tool_latency(sample, tools="run_sql")
