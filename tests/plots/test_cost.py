"""cost_over_time: stacked bar heights equal per-period sums computed from the usage rows with polars."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import polars as pl
import pytest
from matplotlib.axes import Axes
from matplotlib.container import BarContainer
from matplotlib.figure import Figure

from behest_lab import Session, Store, UsageRecord, analytics, open_store
from behest_lab.plots import cost_over_time


def bars(ax: Axes) -> dict[str, list[float]]:
    """Each stacked series' bar heights, by legend label."""
    return {
        str(c.get_label()): [p.get_height() for p in c.patches] for c in ax.containers if isinstance(c, BarContainer)
    }


def independent_sums(store: Store, key: str) -> tuple[list[str], dict[str, list[float]]]:
    """USD per UTC day and ``key`` from analytics.usage rows, summing in Python per row; every day from the first
    to the last present."""
    rows = analytics.usage(store).select("created_at", key, "cost").filter(pl.col("cost").is_not_null())
    sums: dict[tuple[str, str], float] = defaultdict(float)
    for created, group, cost in rows.iter_rows():
        sums[(created.date().isoformat(), group or "unknown")] += float(cost)
    first, last = min(d for d, _ in sums), max(d for d, _ in sums)
    days = [str(d) for d in np.arange(np.datetime64(first), np.datetime64(last) + 1)]
    groups = {g for _, g in sums}
    return days, {g: [sums.get((d, g), 0.0) for d in days] for g in groups}


def test_heights_equal_daily_sums_by_model(sample: Store) -> None:
    ax = cost_over_time(sample, top=20)
    days, want = independent_sums(sample, "model")
    got = bars(ax)
    assert set(got) == set(want)
    for model, heights in got.items():
        assert heights == pytest.approx(want[model], abs=1e-9), model
    ticks = ax.get_xticks()
    assert len(ticks) >= min(len(days), 10)
    assert [t.get_text() for t in ax.get_xticklabels()] == [days[int(i)] for i in ticks]
    assert [len(h) for h in got.values()] == [len(days)] * len(got)
    assert ax.get_ylabel() == "cost (USD)"
    # largest total at the bottom of the stack
    totals = [sum(h) for h in got.values()]
    assert totals == sorted(totals, reverse=True)
    assert len(got) >= 6  # the sample uses many models


def test_costs_frame_by_provider_gives_the_same_stacks(sample: Store) -> None:
    from_rows = bars(cost_over_time(sample, by="provider"))
    from_groups = bars(cost_over_time(analytics.costs(sample, by=("day", "provider")), by="provider"))
    _, want = independent_sums(sample, "provider")
    assert set(from_rows) == set(from_groups) == set(want)
    for provider in want:
        assert from_rows[provider] == pytest.approx(want[provider], abs=1e-9)
        assert from_groups[provider] == pytest.approx(want[provider], abs=1e-9)


def test_top_n_folds_the_rest_into_other(sample: Store) -> None:
    _, want = independent_sums(sample, "model")
    ranked = sorted(want, key=lambda m: (-sum(want[m]), m))
    got = bars(cost_over_time(sample, top=2))
    assert list(got) == [*ranked[:2], "other"]
    other = np.sum([want[m] for m in ranked[2:]], axis=0)
    assert got["other"] == pytest.approx(list(other), abs=1e-9)


def test_weekly_periods(sample: Store) -> None:
    ax = cost_over_time(sample, every="1w")
    weeks = analytics.usage(sample).select(pl.col("created_at").dt.truncate("1w").dt.date().alias("w"))["w"]
    assert ax.get_xticklabels()[0].get_text() == str(weeks.min())
    heights = np.sum(list(bars(ax).values()), axis=0)
    total = float(analytics.usage(sample)["cost"].cast(pl.Float64).sum())
    assert float(heights.sum()) == pytest.approx(total, rel=1e-9)
    assert all(p.weekday() == 0 for p in weeks.unique())


def test_draws_on_the_given_axes(sample: Store) -> None:
    fig = Figure()
    other, target = fig.subplots(1, 2)
    assert cost_over_time(sample, ax=target) is target
    assert bars(target)
    assert not bars(other)
    assert fig.axes == [other, target]


def test_new_axes_live_in_a_pyplot_free_figure(sample: Store) -> None:
    ax = cost_over_time(sample)
    assert isinstance(ax.figure, Figure)
    assert ax.figure.canvas.manager is None  # not registered with pyplot


def test_empty_store_gives_a_no_data_note(empty: Store) -> None:
    ax = cost_over_time(empty)
    assert [t.get_text() for t in ax.texts] == ["no data"]
    assert not ax.containers


def test_unpriced_rows_are_left_out_and_counted(sample: Store) -> None:
    frame = analytics.usage(sample).head(50)
    unpriced = frame.with_columns(
        pl.when(pl.col("model") == frame["model"][0]).then(None).otherwise(pl.col("cost")).alias("cost")
    )
    ax = cost_over_time(unpriced)
    n = unpriced["cost"].null_count()
    assert n > 0
    assert f"{n:,} unpriced call(s) not included" in [t.get_text() for t in ax.texts]
    assert frame["model"][0] not in bars(ax)


@pytest.mark.parametrize("column", ["cost", "model", "created_at"])
def test_missing_column_is_named(sample: Store, column: str) -> None:
    frame = analytics.usage(sample).drop(column)
    if column == "created_at":
        with pytest.raises(ValueError, match="no time column"):
            cost_over_time(frame)
    else:
        with pytest.raises(ValueError, match=f"no column '{column}'"):
            cost_over_time(frame)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"by": "session"}, "by='session'"), ({"top": 0}, "top must be"), ({"every": "often"}, "every='often'")],
)
def test_bad_arguments(sample: Store, kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        cost_over_time(analytics.usage(sample), **kwargs)  # type: ignore[arg-type]


def test_hours_on_a_daily_costs_frame_are_refused(sample: Store) -> None:
    with pytest.raises(ValueError, match="every='6h' does not fit the 'day' column"):
        cost_over_time(analytics.costs(sample, by=("day", "model")), every="6h")


def test_not_a_store_or_frame() -> None:
    with pytest.raises(TypeError, match="expected a Store or a polars DataFrame, got list"):
        cost_over_time([])  # type: ignore[arg-type]


def test_a_partly_priced_group_draws_its_priced_sum_and_counts_the_rest() -> None:
    day = datetime(2026, 10, 14, 9, tzinfo=UTC)
    with open_store(None) as store:
        s = store.sessions.create_session(Session(title="t", model="gpt-4o", created_at=day, updated_at=day))
        calls = [("gpt-4o", 1_000_000), ("gpt-4o-but-not-really", 5_000), ("gpt-4o-but-not-really", 7_000)]
        store.executions.record_usages(
            [
                UsageRecord(session_id=s.id, message_id=s.id, provider="openai", model=model, input_tokens=n,
                            output_tokens=0, total_tokens=n, created_at=day)
                for model, n in calls
            ]
        )  # fmt: skip
        with pytest.warns(analytics.UnknownModelWarning, match="openai/gpt-4o-but-not-really"):
            frame = analytics.costs(store, by=("day", "provider"))
    assert frame["unpriced_requests"].to_list() == [2]
    ax = cost_over_time(frame, by="provider")
    assert bars(ax) == {"openai": [pytest.approx(2.5)]}  # 1M input tokens of gpt-4o at $2.50 per million
    assert "2 unpriced call(s) not included" in [t.get_text() for t in ax.texts]
