"""compaction_savings points, figure_png determinism, and that ``import behest_lab`` leaves matplotlib alone."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from matplotlib.figure import Figure

from behest_lab import Store, analytics
from behest_lab.plots import compaction_savings, cost_over_time, figure_png


def test_points_are_before_and_after_of_each_compaction(sample: Store) -> None:
    frame = analytics.compactions(sample)
    assert frame.height > 0
    ax = compaction_savings(sample)
    offsets = np.asarray(ax.collections[0].get_offsets())
    assert offsets[:, 0].tolist() == frame["estimated_tokens_before"].to_list()
    assert offsets[:, 1].tolist() == frame["estimated_tokens_after"].to_list()
    saved = int((frame["estimated_tokens_before"] - frame["estimated_tokens_after"]).sum())
    assert f"{frame.height:,} compactions" in ax.get_title()
    assert saved > 0
    diagonal = ax.lines[0]
    assert list(diagonal.get_xdata()) == list(diagonal.get_ydata())


def test_prompt_measure_drops_pairs_without_usage(sample: Store) -> None:
    frame = analytics.compactions(sample)
    ax = compaction_savings(frame, measure="prompt")
    both = frame.drop_nulls(["prompt_tokens_before", "prompt_tokens_after"])
    offsets = np.asarray(ax.collections[0].get_offsets())
    assert offsets[:, 0].tolist() == both["prompt_tokens_before"].to_list()
    with pytest.raises(ValueError, match="measure='guess'"):
        compaction_savings(frame, measure="guess")


def test_empty_and_bad_frames(sample: Store, empty: Store) -> None:
    assert [t.get_text() for t in compaction_savings(empty).texts] == ["no compactions"]
    with pytest.raises(ValueError, match="no column 'estimated_tokens_after'"):
        compaction_savings(analytics.compactions(sample).drop("estimated_tokens_after"))
    target = Figure().add_subplot()
    assert compaction_savings(sample, ax=target) is target


def test_figure_png_is_deterministic_and_has_no_metadata(sample: Store) -> None:
    first = figure_png(cost_over_time(sample).figure)  # type: ignore[arg-type]
    second = figure_png(cost_over_time(sample).figure)  # type: ignore[arg-type]
    assert first == second
    assert first.startswith(b"\x89PNG\r\n\x1a\n")
    assert b"tEXt" not in first
    assert b"matplotlib" not in first.lower()
    with pytest.raises(TypeError, match="expected a matplotlib Figure"):
        figure_png(object())  # type: ignore[arg-type]


def test_import_behest_lab_does_not_import_matplotlib() -> None:
    code = (
        "import sys, behest_lab, behest_lab.analytics, behest_lab.cli; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'behest_lab.plots')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("value", "text"),
    [(0, "0"), (950, "950"), (12_000, "12k"), (1_250_000, "1.25M"), (1_750_000, "1.75M"), (2e9, "2G")],
)
def test_token_axis_labels(value: float, text: str) -> None:
    from behest_lab.plots._common import tokens_label

    assert tokens_label(value) == text


@pytest.mark.parametrize(
    ("ms", "text"), [(0.01, "0.01 ms"), (10, "10 ms"), (1000, "1 s"), (100_000, "100 s"), (120_000, "2 min")]
)
def test_latency_axis_labels(ms: float, text: str) -> None:
    from behest_lab.plots.tools import duration_label

    assert duration_label(ms) == text
