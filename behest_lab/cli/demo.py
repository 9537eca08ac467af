"""``behest-lab demo``: fill a store with the sample agent runs (once), print what is in it, and write the tour
report.

The summary is computed with SQL over the analytical tables (``behest_lab.stores.tables``), so it reads the same
from the memory store and from the persistent lake. The report (``behest_lab.report``) executes the tour notebook
against the store folder in a separate kernel, so it needs a persistent store: ``--memory`` prints the summary only.
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from behest_lab.analytics import UnknownModelWarning, costs
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
            existing = _scalar(store, "SELECT count(*) FROM sessions")
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
    """The tour notebook executed against ``store`` (from a checkout with the ``notebook`` extra), else the direct
    report (``behest_lab.report.write``); paths are printed as given, never made absolute."""
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


def _scalar(store: Store, query: str) -> int:
    row = store.sql(query).fetchone()
    return int(row[0]) if row and row[0] is not None else 0


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
    by_role = dict(store.sql("SELECT role, count(*) FROM messages GROUP BY role").fetchall())
    total = sum(by_role.values())
    rows = [
        ["sessions", _n(_scalar(store, "SELECT count(*) FROM sessions"))],
        ["messages", _n(total)],
        *[[f"  {role}", _n(by_role.get(role, 0))] for role in ROLES],
        *[[f"  {role}", _n(n)] for role, n in sorted(by_role.items()) if role not in ROLES],
        ["compactions", _n(_scalar(store, "SELECT count(*) FROM messages WHERE is_compaction"))],
        ["embeddings", _n(_scalar(store, "SELECT count(*) FROM embeddings"))],
        ["artifacts", _n(_scalar(store, "SELECT count(*) FROM artifacts"))],
    ]
    return "Store contents\n" + format_table(["what", "count"], rows)


_TOKEN_SUMS = (
    "count(*), sum(input_tokens), sum(output_tokens), sum(total_tokens), "
    "sum(cache_read_input_tokens), sum(cache_creation_input_tokens), sum(cached_input_tokens)"
)


def _usage(store: Store) -> str:
    per_model = store.sql(
        f"SELECT provider, model, {_TOKEN_SUMS} FROM usage_records GROUP BY provider, model ORDER BY provider, model"
    ).fetchall()
    total = store.sql(f"SELECT {_TOKEN_SUMS} FROM usage_records").fetchone() or (0,) * 7
    with warnings.catch_warnings():  # the unpriced models are named in the note above the table instead
        warnings.simplefilter("ignore", UnknownModelWarning)
        priced = costs(store, by=("provider", "model"))
    cost = {(p, m): c for p, m, c in priced.select("provider", "model", "cost").iter_rows()}
    unpriced = {(p, m): int(n) for p, m, n in priced.select("provider", "model", "unpriced_requests").iter_rows() if n}
    known = [c for c in cost.values() if c is not None]  # a group's cost sums its priced calls (analytics.costs)

    def cost_cell(value: object, partial: bool) -> str:
        return _usd(value) + ("*" if partial else "")

    rows = [
        [str(p), str(m), *(_n(v) for v in rest), cost_cell(cost.get((p, m)), (p, m) in unpriced)]
        for p, m, *rest in per_model
    ]
    rows.append(["total", "", *(_n(v) for v in total), cost_cell(sum(known) if known else None, bool(unpriced))])
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
    return f"Token usage (usage records)\n{note}\n" + format_table(headers, rows, left=2)


def _usd(value: object) -> str:
    return "-" if value is None else f"{float(str(value)):,.2f}"


def _tools(store: Store) -> str:
    done = "status <> 'pending'"
    select = (
        "count(*), count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'pending'), "
        f"quantile_cont(duration_us / 1000.0, 0.5) FILTER (WHERE {done}), "
        f"quantile_cont(duration_us / 1000.0, 0.95) FILTER (WHERE {done})"
    )
    per_tool = store.sql(
        f"SELECT tool_name, {select} FROM tool_executions GROUP BY tool_name ORDER BY count(*) DESC, tool_name"
    ).fetchall()
    total = store.sql(f"SELECT 'all tools', {select} FROM tool_executions").fetchone()
    rows = [_tool_row(r) for r in per_tool]
    if total is not None and total[1]:
        rows.append(_tool_row(total))
    headers = ["tool", "calls", "failed", "pending", "failure %", "p50 ms", "p95 ms"]
    note = "failure % and latency over finished calls"
    return f"Tool calls ({note})\n" + format_table(headers, rows)


def _tool_row(row: Sequence[Any]) -> list[str]:
    name, calls, failed, pending, p50, p95 = row
    finished = int(calls) - int(pending)
    rate = "-" if finished == 0 else f"{100.0 * int(failed) / finished:.1f}"
    return [str(name), _n(calls), _n(failed), _n(pending), rate, _ms(p50), _ms(p95)]
