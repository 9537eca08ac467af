"""``behest-lab demo``.

Fill a store with the sample agent runs (once), print what is in it, and write the tour report.

The summary is computed by the public analytics functions (``store_counts``, ``messages_by_role``,
``token_counts``, ``tool_stats``), so it reads the same from the memory store and from the persistent lake. The
report (``behest_lab.report``) executes the tour notebook against the store folder in a separate kernel, so it
needs a persistent store: ``--memory`` prints the summary only.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import polars as pl

from behest_lab import analytics
from behest_lab.analytics import UnknownModelWarning
from behest_lab.cli import non_negative
from behest_lab.records import Pagination, SessionFilter
from behest_lab.stores.protocols import Store

DEFAULT_STORE = "behest-data"
DEFAULT_SESSIONS = 1000
DEFAULT_REPORT = os.path.join("build", "report.html")
ROLES = ("system", "user", "assistant", "tool")


def register(subparsers: Any) -> None:
    """Add the ``demo`` command."""
    parser = subparsers.add_parser(
        "demo",
        help="generate sample agent runs (if the store is empty) and print a summary",
        description=(
            "Open a store, fill it with deterministic sample agent runs if it holds no sessions yet, then print a "
            "summary: sessions, messages by role, compactions, token usage (input, output, cache) by model, and "
            "tool calls per tool with failures and latency percentiles. An existing store is reused unchanged. "
            "Then execute the tour notebook (notebooks/00_tour.ipynb) against the store and save it as one "
            "self-contained HTML page (no network needed to view it)."
        ),
    )
    where = parser.add_mutually_exclusive_group()
    where.add_argument(
        "--store",
        metavar="DIR",
        default=DEFAULT_STORE,
        help=f"folder of the persistent store, created if missing (default: {DEFAULT_STORE})",
    )
    where.add_argument("--memory", action="store_true", help="use a throw-away in-memory store instead of --store")
    parser.add_argument(
        "--sessions",
        metavar="N",
        type=non_negative,
        default=DEFAULT_SESSIONS,
        help=f"sessions to generate when the store is empty (default: {DEFAULT_SESSIONS})",
    )
    parser.add_argument(
        "--seed", metavar="S", type=int, default=0, help="random seed; the same seed gives the same data (default: 0)"
    )
    report = parser.add_mutually_exclusive_group()
    report.add_argument(
        "--report",
        metavar="PATH",
        type=Path,
        default=DEFAULT_REPORT,
        help=f"where to write the HTML report (default: {DEFAULT_REPORT}); not with --memory",
    )
    report.add_argument("--no-report", action="store_true", help="print the summary only")
    parser.set_defaults(func=run)


def _open(args: argparse.Namespace) -> Store:
    from behest_lab import open_store

    if args.memory:
        return open_store(None)
    return open_store(args.store)


def run(args: argparse.Namespace) -> int:
    """Run ``behest-lab demo``; returns the exit code."""
    with _open(args) as store:
        where = "memory" if args.memory else args.store
        # ask the store itself, not SQL: a cheap page of one session, and no analytical read before the writes
        if store.sessions.list_sessions_paginated(Pagination(limit=1), SessionFilter()):
            existing = analytics.store_counts(store)["sessions"]
            print(f"Using the existing store at {where} ({existing:,} sessions); nothing generated.")
        else:
            _populate(store, where, args.sessions, args.seed)
        print()
        print(summary(store))
    # the store is closed before the kernel opens it: one process at a time owns a persistent store's catalog
    if args.no_report:
        return 0
    if args.memory:
        print("\nNo report for --memory: the notebook runs in its own kernel and cannot see this process's store.")
        return 0
    return _report(args.store, args.report)


def _report(store: str, output: Path) -> int:
    """The tour notebook executed against ``store``, else the direct report.

    The notebook needs a checkout with the ``notebook`` extra; the direct report is ``behest_lab.report.write``.
    Paths are printed as given, never made absolute.
    """
    import importlib.util

    from behest_lab.report import TOUR_NOTEBOOK, build_report, write

    if TOUR_NOTEBOOK.is_file() and importlib.util.find_spec("nbclient") is not None:
        print(f"\nExecuting the tour notebook against {store} ...", flush=True)
        report = build_report(store, output)
    else:
        print(f"\nWriting the report of {store} (no tour notebook here: it needs a checkout) ...", flush=True)
        report = write(store, output)
    print(f"Report ({report.images} plots, {report.seconds:.1f} s): {output}")
    return 0


def _populate(store: Store, where: str, sessions: int, seed: int) -> None:
    from behest_lab.sample import generate

    print(f"Generating {sessions:,} sample sessions (seed {seed}) into {where} ...", flush=True)
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        if total >= 1000:
            print(f"  {done:,}/{total:,} sessions", flush=True)

    written = generate(store, sessions=sessions, seed=seed, progress=progress)
    print(
        f"Wrote {written.sessions:,} sessions, {written.messages:,} messages, "
        f"{written.tool_executions:,} tool executions in {time.perf_counter() - started:.1f} s."
    )


# --- the summary -------------------------------------------------------------------------------------------


def _n(value: Any) -> str:
    """An integer with thousands separators; NULL (no rows, or a counter nobody reported) prints as ``-``."""
    return "-" if value is None else f"{int(value):,}"


def _ms(value: Any) -> str:
    return "-" if value is None else f"{float(value):,.1f}"


def format_table(headers: Sequence[str], rows: Sequence[Sequence[str]], *, left: int = 1) -> str:
    """Plain-text table: the first ``left`` columns left-aligned, the others right-aligned, two spaces apart."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]

    def line(cells: Sequence[str]) -> str:
        out = [c.ljust(w) if i < left else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(r) for r in rows)])


def summary(store: Store) -> str:
    """The demo's report for ``store``: aligned plain-text tables, no colours."""
    blocks = [_overview(store), _usage(store), _tools(store)]
    return "\n\n".join(blocks)


def _overview(store: Store) -> str:
    counts = analytics.store_counts(store)
    by_role = analytics.messages_by_role(store)
    rows = [
        ["sessions", _n(counts["sessions"])],
        ["messages", _n(counts["messages"])],
        *[[f"  {role}", _n(by_role.get(role, 0))] for role in ROLES],
        *[[f"  {role}", _n(n)] for role, n in sorted(by_role.items()) if role not in ROLES],
        ["compactions", _n(counts["compactions"])],
        ["embeddings", _n(counts["embeddings"])],
        ["artifacts", _n(counts["artifacts"])],
    ]
    return "Store contents\n" + format_table(["what", "count"], rows)


def _usage(store: Store) -> str:
    with warnings.catch_warnings():  # the unpriced models are named in the note above the table instead
        warnings.simplefilter("ignore", UnknownModelWarning)
        per_model = analytics.token_counts(store, by=("provider", "model"))
    # the counters in the table's order: cache reads before cache writes
    read, write = "cache_read_input_tokens", "cache_creation_input_tokens"
    counters = ["requests", *(write if c == read else read if c == write else c for c in analytics.USAGE_COUNTERS)]
    # the total: the same rows merged, by the same rules (a counter nobody reported stays unreported, the cost is
    # the priced calls' sum, null when no call is priced)
    total = per_model.select(
        pl.col("requests").sum(),
        *(analytics.priced_total(c) for c in analytics.USAGE_COUNTERS),
        analytics.priced_total("cost"),
        pl.col("unpriced_requests").sum(),
    )
    unpriced = {
        (p, m): int(n) for p, m, n in per_model.select("provider", "model", "unpriced_requests").iter_rows() if n
    }

    def cost_cell(value: object, partial: bool) -> str:
        return _usd(value) + ("*" if partial else "")

    rows = [
        [
            str(r["provider"]),
            str(r["model"]),
            *(_n(r[c]) for c in counters),
            cost_cell(r["cost"], (r["provider"], r["model"]) in unpriced),
        ]
        for r in per_model.iter_rows(named=True)
    ]
    t: dict[str, Any] = total.row(0, named=True) if per_model.height else {"requests": 0, "cost": None}
    rows.append(["total", "", *(_n(t.get(c)) for c in counters), cost_cell(t["cost"], bool(unpriced))])
    headers = [
        "provider",
        "model",
        "calls",
        "input",
        "output",
        "total",
        "cache read",
        "cache write",
        "cached",
        "cost $",
    ]
    note = (
        "input: Anthropic reports it without cache reads and writes, OpenAI and Gemini with the cached part included;\n"
        "cost from genai-prices' bundled prices (cache reads and writes at their own rates); - = not reported"
    )
    if unpriced:
        models = ", ".join(f"{'?' if p is None else p}/{m} ({n:,})" for (p, m), n in sorted(unpriced.items(), key=str))
        note += (
            f"\n* the cost sums the priced calls only: {sum(unpriced.values()):,} call(s) without a price are left out"
            f" ({models})"
        )
    return f"Token usage (every model call: usage records and message usage)\n{note}\n" + format_table(
        headers, rows, left=2
    )


def _usd(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):,.2f}"


def _tools(store: Store) -> str:
    columns = ("calls", "failures", "pending", "p50_ms", "p95_ms")
    per_tool = analytics.tool_stats(store).sort(["calls", "tool_name"], descending=[True, False])
    total = analytics.tool_stats(store, by=())
    rows = [_tool_row([name, *rest]) for name, *rest in per_tool.select("tool_name", *columns).iter_rows()]
    if total.height and total["calls"][0]:
        rows.append(_tool_row(["all tools", *total.select(columns).row(0)]))
    headers = ["tool", "calls", "failed", "pending", "failure %", "p50 ms", "p95 ms"]
    note = "failure % and latency over finished calls"
    return f"Tool calls ({note})\n" + format_table(headers, rows)


def _tool_row(row: Sequence[Any]) -> list[str]:
    name, calls, failed, pending, p50, p95 = row
    finished = int(calls) - int(pending)
    rate = "-" if finished == 0 else f"{100.0 * int(failed) / finished:.1f}"
    return [str(name), _n(calls), _n(failed), _n(pending), rate, _ms(p50), _ms(p95)]
