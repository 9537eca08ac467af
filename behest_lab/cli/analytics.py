"""``behest-lab sessions|costs|tools|sql``: analytics of a store folder as aligned tables, CSV or JSON."""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from collections.abc import Callable, Sequence
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
_COST_COLUMNS = ("requests", "prompt_tokens", "cache_read_tokens", "cache_write_tokens", "output_tokens", "cost")
_MAX_CELL = 40


def _open(path: Path) -> Store:
    """The store in an existing folder (read commands never create one)."""
    return open_existing_store(path)


def _csv_list(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def _is_money(name: str, dtype: pl.DataType) -> bool:
    """A USD column: exact ``Decimal``, or a float column named ``cost`` / ``*_cost``."""
    return isinstance(dtype, pl.Decimal) or (dtype.is_float() and (name == "cost" or name.endswith("_cost")))


def _cell(value: Any, *, money: bool = False) -> str:
    """Readable text of one value for the aligned table: integers with thousands separators, USD to 4 decimals."""
    if value is None:
        return ""
    if money:
        return f"{value:,.4f}"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal):
        return f"{value:,.4f}"
    if isinstance(value, float):
        return _float_cell(value)
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, timedelta):
        return str(value - timedelta(microseconds=value.microseconds))
    text = "; ".join(str(v) for v in value) if isinstance(value, list) else str(value)
    text = " ".join(text.split())
    return text if len(text) <= _MAX_CELL else text[: _MAX_CELL - 1] + "…"


def _float_cell(value: float) -> str:
    """A float as ``_cell`` shows it: NaN and infinities as Python writes them, tiny values in 4 significant digits."""
    if value != value or value in (float("inf"), float("-inf")):
        return str(value)
    if value != 0 and abs(value) < 1e-3:
        return f"{value:.4g}"
    return f"{value:,.3f}".rstrip("0").rstrip(".")


def totals_row(frame: pl.DataFrame, columns: Sequence[str]) -> dict[str, Any] | None:
    """The sums of ``columns`` (those the frame has) over every row, for the table's totals line.

    A USD column sums the groups that have a cost; groups whose cost is null (no price) add nothing, and their
    requests are counted in ``unpriced_requests``; a column with no cost at all totals to null. With ``calls``
    and ``failures`` the total ``failure_rate`` is failures / calls over all rows.

    Returns:
        Column name -> total, or None when the frame has fewer than two rows (a total would repeat the row).
    """
    if frame.height < 2:
        return None
    sums: dict[str, Any] = {}
    for name in columns:
        if name not in frame.columns:
            continue
        sums[name] = frame.select(analytics.priced_total(name)).item()  # the unpriced rule: null when all are
    if "failure_rate" in frame.columns and sums.get("calls"):
        sums["failure_rate"] = (sums.get("failures") or 0) / sums["calls"]
    return sums


def format_table(frame: pl.DataFrame, totals: dict[str, Any] | None = None, *, label: str = "total") -> str:
    """An aligned plain-text table.

    Numbers right-aligned with thousands separators, USD to 4 decimals, long text cut at 40 characters; ``totals``
    (column -> value) become a last line under a rule, ``label`` in the first column.
    """
    headers = frame.columns
    money = [_is_money(name, dtype) for name, dtype in frame.schema.items()]
    rows = [[_cell(v, money=m) for v, m in zip(row, money, strict=True)] for row in frame.iter_rows()]
    if totals is not None and headers and headers[0] not in totals:
        total_line: list[str] | None = [label] + [
            _cell(totals[h], money=m) if h in totals else "" for h, m in zip(headers[1:], money[1:], strict=True)
        ]
    else:
        total_line = None
    numeric = [dtype.is_numeric() or isinstance(dtype, pl.Decimal) for dtype in frame.dtypes]
    every = rows if total_line is None else [*rows, total_line]
    widths = [max([len(h), *(len(r[i]) for r in every)]) for i, h in enumerate(headers)]

    def line(cells: list[str], *, first_left: bool = False) -> str:
        out = [
            c.ljust(w) if (first_left and i == 0) or not num else c.rjust(w)
            for i, (c, w, num) in enumerate(zip(cells, widths, numeric, strict=True))
        ]
        return "  ".join(out).rstrip()

    rule = "  ".join("-" * w for w in widths)
    parts = [line(list(headers)), rule, *(line(r) for r in rows)]
    if not rows:
        parts.append("(no rows)")
    if total_line is not None:
        parts += [rule, line(total_line, first_left=True)]
    return "\n".join(parts)


def _plain(frame: pl.DataFrame, *, for_json: bool = False) -> pl.DataFrame:
    """Frame with types CSV/JSON can carry, durations as seconds.

    CSV keeps decimals exact (as their text) and writes lists as JSON text. JSON writes numbers as numbers:
    decimals become floats (15 significant digits: for any real cost, far finer than a millionth of a cent), non-finite
    floats become null, lists stay arrays.
    """
    exprs = []
    for name, dtype in frame.schema.items():
        if isinstance(dtype, pl.Decimal):
            exprs.append(pl.col(name).cast(pl.Float64) if for_json else pl.col(name).cast(pl.Utf8))
        elif isinstance(dtype, pl.Duration):
            exprs.append(pl.col(name).dt.total_microseconds().truediv(1e6).alias(name))
        elif for_json and dtype.is_float():
            exprs.append(pl.when(pl.col(name).is_finite()).then(pl.col(name)).otherwise(None).alias(name))
        elif isinstance(dtype, pl.List) and not for_json:
            values = [None if v is None else json.dumps(v, ensure_ascii=False) for v in frame[name].to_list()]
            exprs.append(pl.lit(pl.Series(name, values, dtype=pl.Utf8)))
    return frame.with_columns(exprs) if exprs else frame


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def emit(frame: pl.DataFrame, fmt: str, *, totals: dict[str, Any] | None = None, label: str = "total") -> None:
    """Print ``frame`` to stdout as ``table``, ``csv`` or ``json`` (an array of row objects).

    ``totals`` (see ``totals_row``) adds a totals line to a table; CSV and JSON carry the rows only.
    """
    if fmt == "table":
        print(format_table(frame, totals, label=label))
    elif fmt == "csv":
        sys.stdout.write(_plain(frame).write_csv())
    else:
        rows = _plain(frame, for_json=True).to_dicts()
        print(json.dumps(rows, ensure_ascii=False, default=_json_default, indent=1, allow_nan=False))


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


def _run(args: argparse.Namespace, build: Callable[[Store], pl.DataFrame], totals: Sequence[str] = ()) -> int:
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
    shown = _limited(frame, args.limit)
    total = totals_row(frame, totals) if totals and args.format == "table" else None
    label = "total" if shown.height == frame.height else f"total ({frame.height:,} rows)"
    emit(shown, args.format, totals=total, label=label)
    return 0


def _sessions(args: argparse.Namespace) -> int:
    """One row per session, newest first: messages, tool calls and failures, compactions, tokens, cost (USD)."""

    def build(store: Store) -> pl.DataFrame:
        frame = analytics.sessions(store, since=args.since, until=args.until, model=args.model)
        return frame.select(_SESSION_COLUMNS) if args.format == "table" else frame

    return _run(args, build)


def _costs(args: argparse.Namespace) -> int:
    """Tokens and cost (USD, genai-prices' bundled prices) of every model call, grouped.

    Every model call: usage records and the message usage no record covers; grouped by day, week, month, model,
    provider, session. The table ends with a totals line
    (requests, tokens, cost; a group without a price adds nothing to the cost and its calls are counted in
    unpriced_requests). --format json writes costs as JSON numbers (floats), --format csv as exact decimals.
    """
    by = _csv_list(args.by)

    def build(store: Store) -> pl.DataFrame:
        frame = analytics.costs(
            store, by=by, since=args.since, until=args.until, model=args.model, provider=args.provider
        )
        if args.format == "table":
            keys = [{"session": "session_id"}.get(k, k) for k in by]
            unpriced = ["unpriced_requests"] if frame["unpriced_requests"].sum() else []
            frame = frame.select(*keys, *_COST_COLUMNS[:-1], *unpriced, _COST_COLUMNS[-1])
        return frame

    return _run(args, build, totals=(*_COST_COLUMNS, "unpriced_requests"))


def _tools(args: argparse.Namespace) -> int:
    """Tool calls, failures, failure rate and latency percentiles (ms) per tool (or per tool and model).

    The table ends with a totals line: calls, successes, failures, pending and the overall failure rate (percentiles
    have no total).
    """
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

    return _run(args, build, totals=("calls", "successes", "failures", "pending"))


def _sql(args: argparse.Namespace) -> int:
    """Run one DuckDB SQL query over the store's tables and print the result.

    The tables: sessions, messages, tool_executions, usage_records, embeddings, artifacts.
    """

    def build(store: Store) -> pl.DataFrame:
        try:
            frame = store.query(args.query)  # at once, as one consistent read (Store.query)
        except duckdb.Error as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise CliError(f"SQL failed: {first}") from None
        except AttributeError:  # a statement without a result (no rows to return)
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


__all__ = ["FORMATS", "CliError", "emit", "format_table", "register", "totals_row"]
