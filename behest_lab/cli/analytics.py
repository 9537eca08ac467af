"""``behest-lab sessions|costs|tools|sql``: analytics of a store folder as aligned tables, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from behest_lab import analytics
from behest_lab.cli import CliError, add_store_option, open_existing_store
from behest_lab.pricing import UnknownModelWarning
from behest_lab.stores.protocols import Store

FORMATS = ("table", "csv", "json")

_SESSION_COLUMNS = (
    "id",
    "title",
    "model",
    "created_at",
    "duration",
    "messages",
    "tool_calls",
    "tool_failures",
    "compactions",
    "prompt_tokens",
    "output_tokens",
    "cost",
)
_MAX_CELL = 40


def _open(path: Path) -> Store:
    """The store in an existing folder (read commands never create one)."""
    return open_existing_store(path)


def _csv_list(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _cell(value: Any) -> str:
    """Readable text of one value for the aligned table."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value:.4f}"
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e-3 or abs(value) >= 1e6 else f"{value:.3f}".rstrip("0").rstrip(".")
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, timedelta):
        return str(value - timedelta(microseconds=value.microseconds))
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def format_table(frame: pl.DataFrame) -> str:
    """An aligned plain-text table: numbers right-aligned, long text cut at 40 characters."""
    headers = frame.columns
    rows = [[_cell(v) for v in row] for row in frame.iter_rows()]
    numeric = [dtype.is_numeric() or isinstance(dtype, pl.Decimal) for dtype in frame.dtypes]
    widths = [max([len(h), *(len(r[i]) for r in rows)]) for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        out = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(cells, widths, numeric, strict=True)]
        return "  ".join(out).rstrip()

    parts = [line(list(headers)), "  ".join("-" * w for w in widths), *(line(r) for r in rows)]
    if not rows:
        parts.append("(no rows)")
    return "\n".join(parts)


def _plain(frame: pl.DataFrame) -> pl.DataFrame:
    """Frame with types CSV/JSON can carry: decimals as text (exact), durations as seconds, lists as JSON text."""
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            exprs.append(pl.col(name).cast(pl.Utf8))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.total_microseconds().truediv(1e6).alias(name))
        elif isinstance(dtype, pl.List):
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in frame[name].to_list()]
            exprs.append(pl.lit(pl.Series(name, values, dtype=pl.Utf8)))
    return frame.with_columns(exprs) if exprs else frame


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def emit(frame: pl.DataFrame, fmt: str) -> None:
    """Print ``frame`` to stdout as ``table``, ``csv`` or ``json`` (an array of row objects)."""
    if fmt == "table":
        print(format_table(frame))
    elif fmt == "csv":
        sys.stdout.write(_plain(frame).write_csv())
    else:
        rows = _plain(frame).to_dicts()
        print(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=1))


def _common(p: argparse.ArgumentParser, *, limit: int | None) -> None:
    add_store_option(p)
    p.add_argument("--format", choices=FORMATS, default="table", help="output format (default: table)")
    p.add_argument("--limit", type=int, default=limit, metavar="N", help=f"print at most N rows (default: {limit})")


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--since", metavar="WHEN", help="from this date or ISO datetime (inclusive, UTC for dates)")
    p.add_argument("--until", metavar="WHEN", help="up to this date or ISO datetime (exclusive)")
    p.add_argument("--model", help="only this model")


def _limited(frame: pl.DataFrame, limit: int | None) -> pl.DataFrame:
    if limit is None:
        return frame
    if limit < 0:
        raise CliError(f"--limit must be >= 0, got {limit}")
    return frame.head(limit)


def _run(args: argparse.Namespace, build: Callable[[Store], pl.DataFrame]) -> int:
    try:
        with warnings.catch_warnings(record=True) as caught, _open(args.store) as store:
            warnings.simplefilter("always", UnknownModelWarning)
            frame = build(store)
    except (ValueError, TypeError) as exc:
        raise CliError(str(exc)) from None
    for w in caught:
        if issubclass(w.category, UnknownModelWarning):
            print(f"behest-lab: warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    emit(_limited(frame, args.limit), args.format)
    return 0


def _sessions(args: argparse.Namespace) -> int:
    """One row per session, newest first: messages, tool calls and failures, compactions, tokens, cost (USD)."""

    def build(store: Store) -> pl.DataFrame:
        frame = analytics.sessions(store, since=args.since, until=args.until, model=args.model)
        return frame.select(_SESSION_COLUMNS) if args.format == "table" else frame

    return _run(args, build)


def _costs(args: argparse.Namespace) -> int:
    """Tokens and cost (USD, genai-prices' bundled prices) of every model call (usage records and the message usage
    no record covers) grouped by day, week, month, model, provider, session."""
    by = _csv_list(args.by)

    def build(store: Store) -> pl.DataFrame:
        frame = analytics.costs(
            store, by=by, since=args.since, until=args.until, model=args.model, provider=args.provider
        )
        if args.format == "table":
            keys = [{"session": "session_id"}.get(k, k) for k in by]
            frame = frame.select(
                *keys, "requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost"
            )
        return frame

    return _run(args, build)


def _tools(args: argparse.Namespace) -> int:
    """Tool calls, failures, failure rate and latency percentiles (ms) per tool (or per tool and model)."""
    by = _csv_list(args.by)

    def build(store: Store) -> pl.DataFrame:
        return analytics.tool_stats(
            store,
            by=by,
            since=args.since,
            until=args.until,
            model=args.model,
            tool=args.tool,
            model_source=args.model_source,
        )

    return _run(args, build)


def _sql(args: argparse.Namespace) -> int:
    """Run one DuckDB SQL query over the store's tables (sessions, messages, tool_executions, usage_records,
    embeddings, artifacts) and print the result."""

    def build(store: Store) -> pl.DataFrame:
        try:
            frame = store.sql(args.query).pl()
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CliError(f"SQL failed: {first}") from None
        except AttributeError:  # a statement without a result (store.sql returned None)
            raise CliError("SQL failed: the statement returns no rows; give a query") from None
        return frame

    return _run(args, build)


def register(subparsers: Any) -> None:
    """Add the ``sessions``, ``costs``, ``tools`` and ``sql`` commands."""
    p = subparsers.add_parser("sessions", help="sessions with counts, tokens and cost", description=_sessions.__doc__)
    _common(p, limit=50)
    _filters(p)
    p.set_defaults(func=_sessions)

    p = subparsers.add_parser("costs", help="tokens and cost grouped by time, model, ...", description=_costs.__doc__)
    _common(p, limit=None)
    _filters(p)
    p.add_argument("--provider", help="only this provider")
    p.add_argument(
        "--by",
        default="day,model",
        metavar="KEYS",
        help=f"comma-separated grouping keys among {','.join(analytics.COST_BY)} (default: day,model)",
    )
    p.set_defaults(func=_costs)

    p = subparsers.add_parser("tools", help="tool calls, failures and latency percentiles", description=_tools.__doc__)
    _common(p, limit=None)
    _filters(p)
    p.add_argument("--tool", help="only this tool")
    p.add_argument(
        "--by",
        default="tool_name",
        metavar="KEYS",
        help=f"comma-separated grouping keys among {','.join(analytics.STATS_BY)} (default: tool_name)",
    )
    p.add_argument(
        "--model-source",
        choices=analytics.MODEL_SOURCES,
        default="session",
        help="model of an execution: its session's model or that of the call issuing it (default: session)",
    )
    p.set_defaults(func=_tools)

    p = subparsers.add_parser("sql", help="run a DuckDB SQL query over the store's tables", description=_sql.__doc__)
    _common(p, limit=None)
    p.add_argument("query", metavar="QUERY", help="the SQL query")
    p.set_defaults(func=_sql)


__all__ = ["FORMATS", "CliError", "emit", "format_table", "register"]
