"""``behest_lab.sync`` from behest's backends into a lake store: first sync, a sync with nothing new, a sync that
finds 1,000 new messages (target <= 2 s at 1M messages), one that finds 1,000 usages rewritten in place, and one
more 1,000 new messages found by a freshly opened source (as a new ``behest-lab sync`` run finds them).

Baseline: the source's own bulk read of the same rows (SQLite, PostgreSQL, MariaDB: a plain DuckDB scan of every
behest table through the same scanner extension, fetched as Arrow; Redis: SCAN plus pipelined reads), so
first-sync rows/s stand beside the rate the source can be read at all.

Each backend is a ``Case`` in ``CASES``: how to build a source of N messages the way behest writes it, its URL,
how to add new rows and rewrite usages, and the baseline scan. ``BENCH_SYNC_CASES=sqlite,postgresql`` picks cases
and ``BENCH_SYNC_MESSAGES`` the size (default 1,000,000, 20,000 with ``--quick``). The SQLite database is built
once per size and kept under ``/tmp/behest-bench-sync`` (a copy is synced), since generating it takes minutes. The
load average is recorded with each case: on a shared machine the numbers move with it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from behest_lab import open_store, sync
from behest_lab.interchange.behest_schema import create_behest_schema
from behest_lab.sources import open_source
from behest_lab.stores.lake.instances import load_extensions
from bench import sync_redis, sync_sql
from tests.services import ServiceUnavailable

TARGET_NEW_S = 2.0
MESSAGES_PER_SESSION = 100
NEW_ROWS = 1_000


@dataclass
class Case:
    """One backend: ``build(folder, messages) -> url``, ``add(url, sessions, first)``, ``rewrite(url, n)``,
    ``scan(url) -> rows`` (the baseline)."""

    build: Callable[[Path, int], str]
    add: Callable[[str, int, int], None]
    rewrite: Callable[[str, int], None]
    scan: Callable[[str], int]


# --- SQLite (behest's tables and text shapes: +00:00 timestamps, JSON text, 0/1 flags) ------------------------

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def _uuid(kind: int, n: int) -> str:
    return f"0190a5d0-0000-7000-8{kind:03x}-{n:012x}"


def _ts(seconds: int) -> str:
    return (T0 + timedelta(seconds=seconds, microseconds=123456)).isoformat()


def _sqlite_rows(con: sqlite3.Connection, first: int, sessions: int) -> None:
    con.execute("BEGIN")
    for s in range(first, first + sessions):
        sid = _uuid(1, s)
        base = s * MESSAGES_PER_SESSION
        con.execute(
            "INSERT INTO sessions (id, title, model, metadata, created_at, updated_at) "
            "VALUES (?, ?, 'gpt-4', 'null', ?, ?)",
            (sid, f"session {s}", _ts(base), _ts(base + MESSAGES_PER_SESSION)),
        )
        messages = []
        for j in range(MESSAGES_PER_SESSION):
            role = ("user", "assistant")[j % 2]
            content = json.dumps([{"type": "text", "text": f"message {j} of session {s} " + "lorem ipsum " * 8}])
            messages.append((_uuid(2, base + j), sid, role, content, "[]", None, _ts(base + j), 0, 0, None))
        con.executemany(
            "INSERT INTO messages (id, session_id, role, content, tool_calls, usage, created_at, is_compaction, "
            "is_summary, compaction_meta) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            messages,
        )
        for j in range(0, MESSAGES_PER_SESSION, 10):
            con.execute(
                "INSERT INTO tool_executions (id, session_id, message_id, call_id, tool_name, arguments, result, "
                "status, error, duration_ms, created_at) VALUES (?, ?, ?, ?, 'search', '{\"q\":1}', '{\"ok\":true}', "
                "'success', NULL, 12, ?)",
                (_uuid(3, base + j), sid, _uuid(2, base + j + 1), f"call-{j}", _ts(base + j)),
            )
            con.execute(
                "INSERT INTO usage_records (id, session_id, message_id, provider, model, input_tokens, "
                "output_tokens, total_tokens, created_at) VALUES (?, ?, ?, 'openai', 'gpt-4', 10, 5, 15, ?)",
                (_uuid(4, base + j), sid, _uuid(2, base + j + 1), _ts(base + j)),
            )
    con.execute("COMMIT")


def _sqlite_path(url: str) -> str:
    return url.removeprefix("sqlite://")


CACHE = Path(tempfile.gettempdir()) / "behest-bench-sync"


def _sqlite_build(folder: Path, messages: int) -> str:
    cached = CACHE / f"sqlite-{messages}.db"
    if not cached.exists():
        CACHE.mkdir(parents=True, exist_ok=True)
        partial = cached.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        con = sqlite3.connect(partial, isolation_level=None)
        create_behest_schema(con)
        _sqlite_rows(con, 0, messages // MESSAGES_PER_SESSION)
        con.close()
        partial.rename(cached)
    path = folder / "agent.db"
    shutil.copyfile(cached, path)
    return f"sqlite://{path}"


def _sqlite_add(url: str, sessions: int, first: int) -> None:
    con = sqlite3.connect(_sqlite_path(url), isolation_level=None)
    _sqlite_rows(con, first, sessions)
    con.close()


def _sqlite_rewrite(url: str, n: int) -> None:
    """behest's ``update_usage`` on ``n`` assistant messages spread over the database."""
    con = sqlite3.connect(_sqlite_path(url), isolation_level=None)
    total = con.execute("SELECT count(*) FROM messages").fetchone()[0]
    step = max(1, total // n)
    usage = json.dumps({"input_tokens": 7, "output_tokens": 8, "total_tokens": 15})
    con.execute("BEGIN")
    for i in range(n):
        con.execute("UPDATE messages SET usage = ? WHERE id = ?", (usage, _uuid(2, (i * step) | 1)))
    con.execute("COMMIT")
    con.close()


def _sqlite_scan(url: str) -> int:
    con = duckdb.connect()
    load_extensions(con, names=["sqlite_scanner"])
    rows = 0
    for table in ("sessions", "messages", "tool_executions", "usage_records"):
        rows += con.execute("SELECT * FROM sqlite_scan(?, ?)", [_sqlite_path(url), table]).to_arrow_table().num_rows
    con.close()
    return rows


CASES: dict[str, Case] = {
    "sqlite": Case(_sqlite_build, _sqlite_add, _sqlite_rewrite, _sqlite_scan),
    "postgresql": Case(*sync_sql.postgres()),
    "mariadb": Case(*sync_sql.mariadb()),
    "redis": Case(*sync_redis.functions()),
}


def _load() -> float:
    return round(os.getloadavg()[0], 1)


def _run(name: str, case: Case, messages: int) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix=f"bench-sync-{name}-"))
    loads = [_load()]
    try:
        url = case.build(folder, messages)
        t = time.perf_counter()
        rows = case.scan(url)
        scan_s = time.perf_counter() - t
        source = open_source(url)  # opened once, as ``--watch`` keeps it
        sessions = messages // MESSAGES_PER_SESSION
        with open_store(folder / "lake") as store:
            loads.append(_load())
            t = time.perf_counter()
            first = sync(source, store)
            first_s = time.perf_counter() - t
            loads.append(_load())
            t = time.perf_counter()
            idle = sync(source, store)
            idle_s = time.perf_counter() - t
            case.add(url, NEW_ROWS // MESSAGES_PER_SESSION, sessions)
            t = time.perf_counter()
            new = sync(source, store)
            new_s = time.perf_counter() - t
            case.rewrite(url, NEW_ROWS)
            t = time.perf_counter()
            changed = sync(source, store)
            changed_s = time.perf_counter() - t
            case.add(url, NEW_ROWS // MESSAGES_PER_SESSION, sessions + 2 * NEW_ROWS // MESSAGES_PER_SESSION)
            fresh_source = open_source(url)  # a new ``behest-lab sync`` run opens the source anew
            t = time.perf_counter()
            fresh = sync(fresh_source, store)
            fresh_s = time.perf_counter() - t
            fresh_source.close()
            loads.append(_load())
        source.close()
        assert first.changed == rows, (first.changed, rows)
        assert idle.changed == 0
        assert new.new["messages"] == NEW_ROWS, new.status()
        assert changed.updated["messages"] == NEW_ROWS, changed.status()
        assert fresh.new["messages"] == NEW_ROWS, fresh.status()
        result = {
            "messages": messages,
            "rows": rows,
            "baseline_scan_s": round(scan_s, 3),
            "baseline_rows_per_s": round(rows / scan_s),
            "first_sync_s": round(first_s, 2),
            "first_sync_rows_per_s": round(rows / first_s),
            "no_change_sync_s": round(idle_s, 3),
            "new_1000_sync_s": round(new_s, 3),
            "rewritten_1000_sync_s": round(changed_s, 3),
            "new_1000_fresh_source_sync_s": round(fresh_s, 3),
            "target_new_s": TARGET_NEW_S,
            "load_average_1min": loads,
        }
        print(f"{name}: {rows:,} rows; baseline scan {scan_s:.2f} s ({rows / scan_s:,.0f} rows/s); load {loads}")
        print(f"  first sync          {first_s:>8.2f} s  ({rows / first_s:,.0f} rows/s)")
        print(f"  nothing new         {idle_s:>8.2f} s")
        print(f"  1,000 new messages  {new_s:>8.2f} s  (target <= {TARGET_NEW_S:g} s at 1M messages)")
        print(f"  1,000 usages changed{changed_s:>8.2f} s")
        print(f"  1,000 new, fresh source {fresh_s:>8.2f} s", flush=True)
        return result
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main(quick: bool = False) -> dict[str, Any]:
    messages = int(os.environ.get("BENCH_SYNC_MESSAGES", 20_000 if quick else 1_000_000))
    names = [n for n in os.environ.get("BENCH_SYNC_CASES", ",".join(CASES)).split(",") if n]
    out: dict[str, Any] = {}
    for name in names:
        try:
            out[name] = _run(name, CASES[name], messages)
        except ServiceUnavailable as exc:
            out[name] = {"error": str(exc)}
            print(f"{name}: not run: {exc}", flush=True)
    out["met"] = all(r["new_1000_sync_s"] <= TARGET_NEW_S for r in out.values() if "new_1000_sync_s" in r)
    return out
