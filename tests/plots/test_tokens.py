"""tokens_per_session: segment widths and labels equal the per-session token sums of the usage rows."""

from __future__ import annotations

from collections import defaultdict

import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from behest_lab import Store, analytics
from behest_lab.plots import tokens_per_session
from behest_lab.plots.tokens import SEGMENTS, session_label

COLUMNS = [c for c, _ in SEGMENTS]


def segments(ax: Axes) -> dict[str, list[float]]:
    return {
        str(c.get_label()): [p.get_width() for p in c.patches] for c in ax.containers if isinstance(c, BarContainer)
    }


def per_session(store: Store) -> dict[str, dict[str, int]]:
    """Token counters per session, summed row by row over analytics.usage."""
    sums: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(COLUMNS, 0))
    for row in analytics.usage(store).iter_rows(named=True):
        for c in COLUMNS:
            sums[row["session_id"]][c] += row[c] or 0
    return sums


def test_top_sessions_and_segments_match_usage_rows(sample: Store) -> None:
    want = per_session(sample)
    ranked = sorted(want, key=lambda s: (-sum(want[s].values()), s))[:12]
    titles = {s.id.hex: s.title for s in sample.sessions.list_sessions()}
    ax = tokens_per_session(sample, top=12)
    got = segments(ax)
    assert list(got) == [label for _, label in SEGMENTS]
    for column, label in SEGMENTS:
        assert got[label] == [want[s][column] for s in ranked], label
    from uuid import UUID

    labels = [session_label(s, titles[UUID(s).hex]) for s in ranked]
    assert [t.get_text() for t in ax.get_yticklabels()] == labels
    assert ax.yaxis_inverted()  # the biggest session on top
    assert f"top 12 of {len(titles)}" in ax.get_title()


def test_usage_frame_gives_the_same_bars(sample: Store) -> None:
    from_sessions = segments(tokens_per_session(analytics.sessions(sample), top=8))
    from_usage = segments(tokens_per_session(analytics.usage(sample), top=8))
    assert from_sessions == from_usage


def test_label_is_title_and_id_tail() -> None:
    sid = "01a0f6c0-f86f-7e5f-ac82-35e1ed0a1b2c"
    assert session_label(sid, None) == sid
    assert session_label(sid, "Short") == "Short ·0a1b2c"
    long = session_label(sid, "x" * 80)
    assert long.startswith("x" * 35 + "…")
    assert long.endswith("0a1b2c")


def test_draws_on_the_given_axes(sample: Store) -> None:
    target = Figure().add_subplot()
    assert tokens_per_session(sample, ax=target, top=3) is target
    assert [len(w) for w in segments(target).values()] == [3] * 4


def test_empty_store(empty: Store) -> None:
    ax = tokens_per_session(empty)
    assert [t.get_text() for t in ax.texts] == ["no data"]


def test_missing_column_is_named(sample: Store) -> None:
    with pytest.raises(ValueError, match="no column 'cache_read_tokens'"):
        tokens_per_session(analytics.sessions(sample).drop("cache_read_tokens"))


@pytest.mark.parametrize("top", [0, -1, True, 2.5])
def test_bad_top(sample: Store, top: object) -> None:
    with pytest.raises(ValueError, match="top must be a positive integer"):
        tokens_per_session(sample, top=top)  # type: ignore[arg-type]
