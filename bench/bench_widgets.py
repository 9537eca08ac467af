"""Widget responsiveness on a sample lake store: every view update against the 300 ms target, beside a baseline.

``main(quick) -> dict`` builds (or reuses) a lake store of ``behest_lab.sample.generate`` sessions in
``build/bench_widgets/lake-<n>`` (100,000 sessions, about 3M messages). ``--quick`` runs on the target store of the
300 ms goal instead: a copy (in ``build/bench_widgets/demo-copy``; the original is never opened) of the sample lake
store ``make demo`` builds in ``./behest-data`` (1,000 sessions), or, when there is none, a generated 2,000-session
store. ``python -m bench.bench_widgets --store PATH`` times a copy of any lake store folder. Then it times each view
update of the three widgets, the way a user triggers it (set a control's value, click a button), ``REPEAT`` times
with alternating values:

* browser: open, sort by cost / tokens / failures, next page, model filter, metadata filter, text search, select
  a session (stats + first timeline page), next timeline page;
* dashboard: open, date range change, group change;
* tool explorer: open, tool select, call click-through (selects the session in a browser).

Each update is paired with a baseline doing the plain library work the update stands for (loading every session
with ``list_sessions``, ``analytics.sessions``/``top_sessions``, ``analytics.costs``, ``analytics.tool_stats``,
``list_messages`` + ``analytics.usage``...); the table shows p50 and max in ms, the p50 ratio widget/baseline, and
whether the max meets the target. Results go to ``bench/results/widgets.json`` (``widgets.quick.json``). The first
sort by cost, tokens or failures builds the per-session measures of every session (the browser opens without
them), so the max of "browser: change sort" is that first sort.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench_widgets"
RESULTS = Path(__file__).resolve().parent / "results"
TARGET_MS = 300.0
REPEAT = 5
"""Timed runs per update (``--quick``); the full run uses ``REPEAT_FULL``."""
REPEAT_FULL = 3
BASE_REPEAT = 5
"""Timed runs per baseline (``--quick``); the full run times each baseline once (they take seconds there)."""
SEED = 7
DEMO = ROOT / "behest-data"
"""The sample lake store of ``make demo`` (read through a copy)."""


def build(sessions: int) -> tuple[Path, dict[str, Any]]:
    """The lake store with ``sessions`` sample sessions (generated, then compacted, unless already there)."""
    from behest_lab import open_store
    from behest_lab.sample import generate

    folder = OUT / f"lake-{sessions}"
    marker = folder / "bench_widgets_done.json"
    if marker.exists():
        return folder, {"generated": False, **json.loads(marker.read_text())}
    if folder.exists():
        raise RuntimeError(f"{folder}: an unfinished store from an earlier run; delete it and run again")
    started = time.perf_counter()
    with open_store(folder) as store:
        summary = generate(store, sessions=sessions, seed=SEED, batch_size=2000)
        store.compact()
    info = {"sessions": sessions, "summary": summary.as_dict(), "generate_s": time.perf_counter() - started}
    marker.write_text(json.dumps(info))
    return folder, {"generated": True, **info}


def copy_store(source: Path) -> tuple[Path, dict[str, Any]]:
    """A fresh copy of the lake store folder ``source`` in ``build/bench_widgets/demo-copy`` (so that the bench never
    opens the original, whose catalog even a read may touch), with its row counts."""
    import shutil

    from behest_lab import open_store

    if not (source / "catalog.sqlite").exists():
        raise FileNotFoundError(f"{source}: not a lake store folder (no catalog.sqlite)")
    folder = OUT / "demo-copy"
    if folder.exists():
        shutil.rmtree(folder)
    shutil.copytree(source, folder)
    with open_store(folder) as store:
        counts = {t: int(store.sql(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in ("sessions", "messages")}
    return folder, {"generated": False, "copied_from": str(source), **counts}


def _time(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def _series(steps: list[Callable[[], Any]]) -> list[float]:
    return [_time(step) for step in steps]


def _base(steps: list[Callable[[], Any]]) -> list[float]:
    return [_time(step) for step in steps[:BASE_REPEAT]]


def main(quick: bool = False, store_path: Path | None = None) -> dict[str, Any]:
    """Build, reuse or copy the store (see the module docstring), time every view update and its baseline, print
    and save the results."""
    import warnings

    from behest_lab import analytics, open_store
    from behest_lab.widgets import SessionBrowser, ToolExplorer, UsageDashboard

    warnings.simplefilter("ignore")  # unpriced models would warn once per price-table build
    global REPEAT, BASE_REPEAT
    sessions = 2_000 if quick else 100_000
    REPEAT = 5 if quick else REPEAT_FULL
    BASE_REPEAT = 5 if quick else 1
    if store_path is None and quick and (DEMO / "catalog.sqlite").exists():
        store_path = DEMO
    folder, info = build(sessions) if store_path is None else copy_store(store_path)
    sessions = int(info.get("sessions", sessions))
    load_before = os.getloadavg()
    store = open_store(folder)
    measured: dict[str, dict[str, list[float]]] = {}

    def record(name: str, widget: list[float], baseline: list[float]) -> None:
        measured[name] = {"widget_ms": widget, "baseline_ms": baseline}
        print(f"  {name:<28}{statistics.median(widget):>9.0f}{max(widget):>9.0f}{statistics.median(baseline):>10.0f}")

    print(f"{'update':<30}{'p50 ms':>9}{'max ms':>9}{'base p50':>10}")
    opened: list[SessionBrowser] = []
    record(
        "browser: open",
        _series([lambda: opened.append(SessionBrowser(store)) for _ in range(REPEAT)]),
        _base([store.sessions.list_sessions for _ in range(REPEAT)]),
    )
    for extra in opened[1:]:
        extra.close()
    b = opened[0]
    sorts = ["cost", "tokens", "failures", "updated"]
    measure = {"cost": "cost", "tokens": "tokens", "failures": "failures", "updated": "duration"}

    def set_sort(value: str) -> Callable[[], None]:
        return lambda: setattr(b.sort, "value", value)

    record(
        "browser: change sort",
        _series([set_sort(sorts[i % 4]) for i in range(REPEAT)]),
        _base([lambda i=i: analytics.top_sessions(store, by=measure[sorts[i % 4]], n=25) for i in range(REPEAT)]),
    )
    b.sort.value = "updated"
    record(
        "browser: next page",
        _series([b.next_button.click for _ in range(REPEAT)]),
        _base([store.sessions.list_sessions for _ in range(REPEAT)]),
    )
    models = list(b.model.options)

    def set_model(value: str) -> Callable[[], None]:
        return lambda: setattr(b.model, "value", value)

    record(
        "browser: model filter",
        _series([set_model(models[1 + i % (len(models) - 1)]) for i in range(REPEAT)]),
        _base([lambda i=i: analytics.sessions(store, model=models[1 + i % (len(models) - 1)]) for i in range(REPEAT)]),
    )
    b.model.value = models[0]
    teams = [str(t) for (t,) in store.sql("SELECT DISTINCT metadata->>'team' FROM sessions LIMIT 5").fetchall()]
    b.metadata_key.value = "team"

    def set_team(value: str) -> Callable[[], None]:
        return lambda: setattr(b.metadata_value, "value", value)

    record(
        "browser: metadata filter",
        _series([set_team(teams[i % len(teams)]) for i in range(REPEAT)]),
        _base([lambda i=i: analytics.sessions(store, metadata={"team": teams[i % len(teams)]}) for i in range(REPEAT)]),
    )
    b.metadata_key.value = b.metadata_value.value = ""
    words = ["timeout", "refund", "flight", "latency", "checkout"]

    def set_search(value: str) -> Callable[[], None]:
        return lambda: setattr(b.search, "value", value)

    record(
        "browser: text search",
        _series([set_search(words[i % len(words)]) for i in range(REPEAT)]),
        _base([store.sessions.list_sessions for _ in range(REPEAT)]),
    )
    b.search.value = ""
    ids = [v for _, v in b.session_list.options]
    record(
        "browser: select session",
        _series([lambda i=i: b.select_session(ids[i]) for i in range(REPEAT)]),
        _base(
            [
                lambda i=i: (store.sessions.list_messages(UUID(ids[i])), analytics.usage(store, session_id=ids[i]))
                for i in range(REPEAT)
            ]
        ),
    )
    longest = store.sql(
        "SELECT CAST(session_id AS VARCHAR) FROM messages GROUP BY session_id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    assert longest is not None
    b.select_session(longest[0])
    record(
        "browser: next timeline page",
        _series([(b.timeline_next.click if i % 2 == 0 else b.timeline_prev.click) for i in range(REPEAT)]),
        _base([lambda: store.sessions.list_messages(UUID(longest[0])) for _ in range(REPEAT)]),
    )

    dashboards: list[UsageDashboard] = []
    record(
        "dashboard: open",
        _series([lambda: dashboards.append(UsageDashboard(store)) for _ in range(REPEAT)]),
        _base([lambda: analytics.costs(store, by=("day", "model")) for _ in range(REPEAT)]),
    )
    for extra in dashboards[1:]:
        extra.close()
    d = dashboards[0]
    days = sorted(d.frame.get_column("period").unique().to_list())
    ranges = [(days[i], days[-1 - i]) for i in range(1, REPEAT + 1)]
    record(
        "dashboard: range change",
        _series([lambda r=r: d.set_range(*r) for r in ranges]),
        _base(
            [
                lambda r=r: analytics.costs(store, by=("day", "model"), since=r[0], until=r[1] + timedelta(days=1))
                for r in ranges
            ]
        ),
    )
    groups = ["provider", "model"]

    def set_group(value: str) -> Callable[[], None]:
        return lambda: setattr(d.group, "value", value)

    record(
        "dashboard: group change",
        _series([set_group(groups[i % 2]) for i in range(REPEAT)]),
        _base([lambda i=i: analytics.costs(store, by=("day", groups[i % 2])) for i in range(REPEAT)]),
    )

    explorers: list[ToolExplorer] = []
    record(
        "tools: open",
        _series([lambda: explorers.append(ToolExplorer(store, browser=b)) for _ in range(REPEAT)]),
        _base([lambda: analytics.tool_stats(store) for _ in range(REPEAT)]),
    )
    for extra in explorers[1:]:
        extra.close()
    x = explorers[0]
    tools = list(x.tool.options)[1:]

    def set_tool(value: str) -> Callable[[], None]:
        return lambda: setattr(x.tool, "value", value)

    record(
        "tools: tool select",
        _series([set_tool(tools[i % len(tools)]) for i in range(REPEAT)]),
        _base([lambda i=i: analytics.tool_stats(store, tool=tools[i % len(tools)]) for i in range(REPEAT)]),
    )
    x.tool.value = x.tool.options[0]
    calls = [v for _, v in x.slowest.options][:REPEAT]
    record(
        "tools: call click-through",
        _series([lambda c=c: x.open_call(c) for c in calls]),
        _base([lambda c=c: b.select_session(x._call_sessions[c]) for c in calls]),
    )
    x.close()
    d.close()
    b.close()
    store.close()

    rows: dict[str, Any] = {}
    print(f"\n{'update':<30}{'p50 ms':>9}{'max ms':>9}{'base p50':>10}{'ratio':>8}   max <= {TARGET_MS:.0f} ms")
    for name, m in measured.items():
        p50, worst, base = statistics.median(m["widget_ms"]), max(m["widget_ms"]), statistics.median(m["baseline_ms"])
        rows[name] = {
            "p50_ms": round(p50, 1),
            "max_ms": round(worst, 1),
            "baseline_p50_ms": round(base, 1),
            "ratio_p50": round(p50 / base, 3) if base else None,
            "met": worst <= TARGET_MS,
            "widget_ms": [round(v, 1) for v in m["widget_ms"]],
            "baseline_ms": [round(v, 1) for v in m["baseline_ms"]],
        }
        print(
            f"{name:<30}{p50:>9.0f}{worst:>9.0f}{base:>10.0f}{p50 / base if base else 0:>8.2f}   {worst <= TARGET_MS}"
        )
    result = {
        "sessions": sessions,
        "store": str(folder),
        "data": info,
        "repeat": REPEAT,
        "target_ms": TARGET_MS,
        "updates": rows,
        "all_met": all(r["met"] for r in rows.values()),
        # timings on a shared machine: the 1-minute load average before and after the run, for context
        "load_average_1m": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "cpus": os.cpu_count(),
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"widgets{'.quick' if quick else ''}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


if __name__ == "__main__":
    given = sys.argv[sys.argv.index("--store") + 1] if "--store" in sys.argv else None
    main("--quick" in sys.argv, None if given is None else Path(given))
