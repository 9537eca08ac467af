"""Analytics at scale: 10M usage records and 2M tool executions as Parquet, DuckDB vs a polars lazy scan.

``main() -> dict`` generates the data with numpy/pyarrow (deterministic, in ``build/bench_analytics/``, reused when
already there), then runs the four queries in one subprocess per engine so each engine's peak RSS is its own:

* cost by day x model with the price join: DuckDB runs ``behest_lab.analytics.costs`` itself over views of the
  Parquet files (genai-prices' price table, exact DECIMAL money); polars does the same normalisation, period join,
  tier selection and Decimal arithmetic in a lazy query;
* tool p50/p95/p99 by tool (``behest_lab.analytics.tool_stats`` vs ``group_by`` + ``quantile``);
* top 10 sessions by cost (the library's priced CTEs + ``ORDER BY ... LIMIT`` vs polars ``top_k``);
* one session's usage with costs (``behest_lab.analytics.usage(session_id=...)`` vs a filtered scan).

Each query runs once to warm up and then ``REPEAT`` times; the best time is reported. Both engines' results are
checked against each other (row counts and total cost). Results print as a table and go to
``bench/results/analytics.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "build" / "bench_analytics"
RESULTS = Path(__file__).resolve().parent / "results"

USAGE_ROWS = 10_000_000
EXEC_ROWS = 2_000_000
SESSIONS = 200_000
CHUNK = 1_000_000
REPEAT = 3
SEED = 20261126
START_MS = 1_759_276_800_000  # 2025-10-01T00:00:00Z
SPAN_MS = 90 * 86_400_000

MODELS = [  # provider, model, weight
    ("anthropic", "claude-sonnet-4-5", 0.26),
    ("anthropic", "claude-haiku-4-5", 0.12),
    ("anthropic", "claude-opus-4-1", 0.04),
    ("openai", "gpt-4o", 0.16),
    ("openai", "gpt-4o-mini", 0.12),
    ("openai", "gpt-4.1", 0.08),
    ("google", "gemini-2.5-flash", 0.12),
    ("google", "gemini-2.5-pro", 0.10),
]
TOOLS = ["read_file", "write_file", "grep", "run_tests", "web_search", "fetch_url", "run_sql", "run_python",
         "kb_search", "lookup_order", "search_flights", "get_weather", "create_ticket"]  # fmt: skip
ERRORS = ["ReadTimeout: no response after 30.0 s", "HTTP 404 Not Found", "FileNotFoundError: no such file",
          "PermissionError: denied", "ValueError: bad argument"]  # fmt: skip


def _uuid7(rng: np.random.Generator, ms: np.ndarray) -> np.ndarray:
    """UUIDv7 bytes (n x 16 uint8) for the given millisecond timestamps."""
    n = len(ms)
    out = rng.integers(0, 256, size=(n, 16), dtype=np.uint8)
    for i in range(6):
        out[:, i] = (ms >> (8 * (5 - i))) & 0xFF
    out[:, 6] = (out[:, 6] & 0x0F) | 0x70
    out[:, 8] = (out[:, 8] & 0x3F) | 0x80
    return out


def _uuid_array(raw: np.ndarray) -> pa.ExtensionArray:
    storage = pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), len(raw), [None, pa.py_buffer(raw.tobytes())])
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


def _ts(ms: np.ndarray) -> pa.Array:
    return pa.array(ms * 1000, type=pa.timestamp("us", tz="UTC"))


def generate(out: Path = OUT) -> dict[str, Any]:
    """Write sessions.parquet, usage_records.parquet and tool_executions.parquet (skipped when present)."""
    files = {name: out / f"{name}.parquet" for name in ("sessions", "usage_records", "tool_executions")}
    if all(p.exists() for p in files.values()):
        return {"generated": False, **{k: str(v) for k, v in files.items()}}
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rng = np.random.default_rng(SEED)
    starts = np.sort(rng.integers(START_MS, START_MS + SPAN_MS, SESSIONS))
    sid = _uuid7(rng, starts)
    weights = np.array([w for _, _, w in MODELS]) / sum(w for _, _, w in MODELS)
    smodel = rng.choice(len(MODELS), SESSIONS, p=weights)
    providers = pa.array([p for p, _, _ in MODELS])
    models = pa.array([m for _, m, _ in MODELS])
    pq.write_table(
        pa.table(
            {
                "id": _uuid_array(sid),
                "title": pa.array(np.char.add("session ", np.arange(SESSIONS).astype(str))),
                "model": models.take(pa.array(smodel)),
                "created_at": _ts(starts),
                "updated_at": _ts(starts + 3_600_000),
                "metadata": pa.nulls(SESSIONS, pa.string()),
            }
        ),
        files["sessions"],
        row_group_size=100_000,
    )

    def write(path: Path, rows: int, make: Any) -> None:
        writer: pq.ParquetWriter | None = None
        per_session = rows / SESSIONS
        for lo in range(0, rows, CHUNK):
            n = min(CHUNK, rows - lo)
            # rows sorted by session (sessions sorted by start): row-group statistics stay selective, as in the lake
            sess = np.minimum((np.arange(lo, lo + n) / per_session).astype(np.int64), SESSIONS - 1)
            table = make(rng, sess, n)
            if writer is None:
                writer = pq.ParquetWriter(path, table.schema, compression="zstd")
            writer.write_table(table, row_group_size=122_880)
        assert writer is not None
        writer.close()

    def usage_chunk(rng: np.random.Generator, sess: np.ndarray, n: int) -> pa.Table:
        ms = starts[sess] + rng.integers(0, 3_600_000, n)
        m = smodel[sess]
        anthropic = m < 3
        prompt = (rng.lognormal(9.3, 1.0, n)).astype(np.int64) + 200
        prompt[rng.random(n) < 0.003] += 200_000  # a few long-context calls (tier prices)
        cached = (prompt * rng.uniform(0.0, 0.9, n)).astype(np.int64)
        written = np.where(anthropic, (prompt - cached) // 3, 0)
        out_tok = rng.integers(20, 2_000, n)
        # Anthropic-style: input excludes cache reads/writes; OpenAI-style: input includes cached tokens
        input_tokens = np.where(anthropic, prompt - cached - written, prompt)
        return pa.table(
            {
                "id": _uuid_array(_uuid7(rng, ms)),
                "session_id": _uuid_array(sid[sess]),
                "message_id": _uuid_array(_uuid7(rng, ms)),
                "provider": providers.take(pa.array(m)),
                "model": models.take(pa.array(m)),
                "input_tokens": pa.array(input_tokens.astype(np.uint64)),
                "output_tokens": pa.array(out_tok.astype(np.uint64)),
                "total_tokens": pa.array((input_tokens + out_tok).astype(np.uint64)),
                "cache_creation_input_tokens": pa.array(written.astype(np.uint64), mask=~anthropic),
                "cache_read_input_tokens": pa.array(cached.astype(np.uint64), mask=~anthropic),
                "cached_input_tokens": pa.array(cached.astype(np.uint64), mask=anthropic),
                "created_at": _ts(ms),
            }
        )

    def exec_chunk(rng: np.random.Generator, sess: np.ndarray, n: int) -> pa.Table:
        ms = starts[sess] + rng.integers(0, 3_600_000, n)
        tool = rng.integers(0, len(TOOLS), n)
        status_draw = rng.random(n)
        status = np.where(status_draw < 0.05, 1, np.where(status_draw < 0.06, 2, 0))
        scale = np.array([2.0, 3.0, 4.0, 9.0, 6.5, 7.0, 5.5, 7.0, 4.5, 4.0, 6.0, 5.0, 5.0])[tool]
        dur_us = (np.exp(scale + rng.normal(0, 1.0, n)) * 1000).astype(np.int64)
        dur_us[status == 2] = 0
        errors = pa.array(ERRORS).take(pa.array(rng.integers(0, len(ERRORS), n)))
        return pa.table(
            {
                "id": _uuid_array(_uuid7(rng, ms)),
                "session_id": _uuid_array(sid[sess]),
                "message_id": _uuid_array(_uuid7(rng, ms)),
                "call_id": pa.array(np.char.add("call_", np.arange(n).astype(str))),
                "tool_name": pa.array(TOOLS).take(pa.array(tool)),
                "arguments": pa.array(["{}"] * n),
                "result": pa.nulls(n, pa.string()),
                "status": pa.array(["success", "failed", "pending"]).take(pa.array(status)),
                "error": pa.array(errors.to_numpy(zero_copy_only=False), mask=status != 1),
                "duration_us": pa.array(dur_us),
                "duration_ms": pa.array(dur_us // 1000),
                "created_at": _ts(ms),
            }
        )

    write(files["usage_records"], USAGE_ROWS, usage_chunk)
    write(files["tool_executions"], EXEC_ROWS, exec_chunk)
    return {
        "generated": True,
        "generate_s": round(time.perf_counter() - started, 1),
        **{k: str(v) for k, v in files.items()},
    }


# --- engines, each run in its own subprocess -------------------------------------------------------------------

_DUCKDB = r"""
import json, resource, sys, time
import duckdb
from behest_lab import analytics
from behest_lab.pricing import price_table_for
from behest_lab.pricing import grouped_costs_sql
files, session_id, repeat = json.loads(sys.argv[1])
con = duckdb.connect()
con.execute("SET threads = 2")
for name, path in files.items():
    con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet('{path}')")

class ParquetStore:
    # the analytics functions only need store.sql(); here it runs over views of the Parquet files
    def sql(self, query, params=None):
        return con.sql(query, params=params)

store = ParquetStore()

def top_sessions():
    table = price_table_for(store, "TRUE")
    per_session = grouped_costs_sql(table, "TRUE", [("session_id", "session_id", "CAST({k} AS VARCHAR)")])
    return con.sql(f"SELECT * FROM ({per_session}) ORDER BY cost DESC NULLS LAST, session_id LIMIT 10").pl()

queries = {
    "cost_by_day_model": lambda: analytics.costs(store, by=("day", "model")),
    "tool_percentiles_by_tool": lambda: analytics.tool_stats(store),
    "top_sessions_by_cost": top_sessions,
    "one_session_usage": lambda: analytics.usage(store, session_id=session_id),
}
"""

_POLARS = r"""
import json, resource, sys, time, uuid
from decimal import Decimal
import polars as pl
from behest_lab.pricing import build_price_table
files, session_id, repeat = json.loads(sys.argv[1])
usage = pl.scan_parquet(files["usage_records"])
execs = pl.scan_parquet(files["tool_executions"])
D = pl.Decimal(38, 18)

def price_frame():
    pairs = usage.group_by("provider", "model").agg(pl.col("created_at").min().dt.date().alias("d")).collect()
    table = build_price_table(pairs.iter_rows())
    rows = [r for r in table.rows]
    # one row per (pair, period); tiers as columns, like the SQL
    base = [r for r in rows if r.tier_start is None]
    tiers = {(r.provider, r.model, r.effective_from): r for r in rows if r.tier_start is not None}
    data = []
    for b in base:
        t = tiers.get((b.provider, b.model, b.effective_from))
        data.append({"provider": b.provider, "model": b.model, "effective_from": b.effective_from,
                     **{f"{k}_mtok": b.rates[k] for k in b.rates},
                     "t1_start": None if t is None else t.tier_start,
                     **{f"t1_{k}_mtok": None if t is None else t.rates[k] for k in b.rates}})
    frame = pl.DataFrame(data).with_columns(pl.col(r"^.*_mtok$").cast(D))
    return frame.sort("effective_from").with_columns(
        pl.col("effective_from").shift(-1).over("provider", "model").alias("effective_to"))

def priced():
    prices = price_frame().lazy()
    anth = ((pl.col("provider").str.to_lowercase() == "anthropic")
            | pl.col("model").str.to_lowercase().str.contains("claude"))
    read = pl.when(anth).then(pl.col("cache_read_input_tokens").fill_null(0)).otherwise(
        pl.coalesce("cached_input_tokens", "cache_read_input_tokens", pl.lit(0, pl.UInt64))).cast(pl.Int64)
    write = pl.col("cache_creation_input_tokens").fill_null(0).cast(pl.Int64)
    u = usage.with_columns(read.alias("read"), write.alias("write"), anth.alias("anth"))
    inp = pl.col("input_tokens").cast(pl.Int64)
    u = u.with_columns(pl.when(pl.col("anth")).then(inp).otherwise(inp - pl.col("read") - pl.col("write"))
                       .alias("uncached"), pl.col("created_at").dt.date().alias("day"))
    u = u.with_columns((pl.col("uncached") + pl.col("read") + pl.col("write")).alias("prompt"))
    j = u.join(prices, on=["provider", "model"], how="left").filter(
        pl.col("effective_from").is_null() | ((pl.col("day") >= pl.col("effective_from"))
        & (pl.col("effective_to").is_null() | (pl.col("day") < pl.col("effective_to")))))
    def rate(k):
        tier = pl.col("prompt") > pl.col("t1_start")
        return pl.when(tier).then(pl.col(f"t1_{k}_mtok")).otherwise(pl.col(f"{k}_mtok"))
    out = pl.col("output_tokens").cast(pl.Int64).cast(D)
    micro = (pl.col("uncached").cast(D) * rate("input") + out * rate("output")
             + pl.col("read").cast(D) * rate("cache_read") + pl.col("write").cast(D) * rate("cache_write"))
    return j.with_columns(micro.alias("cost_micro"))

def cost_by_day_model():
    return (priced().group_by("day", "model").agg(pl.len().alias("requests"), pl.col("cost_micro").sum())
            .with_columns((pl.col("cost_micro") / 1_000_000).alias("cost")).sort("day", "model").collect())

def tools():
    done = pl.col("status") != "pending"
    ms = pl.col("duration_us") / 1000.0
    return (execs.group_by("tool_name").agg(
        pl.len().alias("calls"), (pl.col("status") == "failed").sum().alias("failures"),
        *[ms.filter(done).quantile(q, "linear").alias(f"p{int(q*100)}_ms") for q in (0.5, 0.95, 0.99)],
        ms.filter(done).max().alias("max_ms")).sort("calls", descending=True).collect())

def top_sessions():
    return (priced().group_by("session_id").agg(pl.col("cost_micro").sum())
            .top_k(10, by="cost_micro").with_columns((pl.col("cost_micro") / 1_000_000).alias("cost")).collect())

sid_bytes = uuid.UUID(session_id).bytes
def one_session():
    return priced().filter(pl.col("session_id") == sid_bytes).collect()

queries = {
    "cost_by_day_model": cost_by_day_model,
    "tool_percentiles_by_tool": tools,
    "top_sessions_by_cost": top_sessions,
    "one_session_usage": one_session,
}
"""

_TIMER = r"""
import warnings
warnings.simplefilter("error")
out = {"queries": {}}
for name, run in queries.items():
    first = time.perf_counter(); frame = run(); cold = time.perf_counter() - first
    best = min((lambda t0: (run(), time.perf_counter() - t0)[1])(time.perf_counter()) for _ in range(repeat))
    check = {"rows": frame.height}
    cost = "cost" if "cost" in frame.columns else "cost_micro" if "cost_micro" in frame.columns else None
    if cost is not None:
        scale = 1 if cost == "cost" else 1_000_000
        check["cost"] = str(sum(v for v in frame[cost].to_list() if v is not None) / scale)
    out["queries"][name] = {"cold_s": round(cold, 4), "best_s": round(best, 4), **check}
out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
print(json.dumps(out))
"""


def _engine(code: str, files: dict[str, str], session_id: str, repeat: int) -> dict[str, Any]:
    arg = json.dumps([files, session_id, repeat])
    proc = subprocess.run(
        [sys.executable, "-c", code + _TIMER, arg], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if proc.returncode != 0:
        raise RuntimeError(f"engine failed:\n{proc.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main(quick: bool = False) -> dict[str, Any]:
    """Generate (or reuse) the Parquet data, time both engines side by side, print and save the results."""
    global USAGE_ROWS, EXEC_ROWS, SESSIONS
    out = OUT
    if quick:
        USAGE_ROWS, EXEC_ROWS, SESSIONS = 500_000, 100_000, 10_000
        out = OUT.with_name("bench_analytics_quick")
    info = generate(out)
    files = {k: info[k] for k in ("sessions", "usage_records", "tool_executions")}
    middle = pq.read_table(files["sessions"], columns=["id"]).column("id")
    session_id = str(middle[len(middle) // 2].as_py())
    engines = {
        "duckdb_parquet": _engine(_DUCKDB, files, session_id, REPEAT),
        "polars_lazy": _engine(_POLARS, files, session_id, REPEAT),
    }
    result: dict[str, Any] = {
        "usage_rows": USAGE_ROWS,
        "tool_execution_rows": EXEC_ROWS,
        "sessions": SESSIONS,
        "repeat": REPEAT,
        "data": info,
        "engines": engines,
    }
    print(f"{'query':<28}{'duckdb best s':>15}{'polars best s':>15}   agree")
    for name, d in engines["duckdb_parquet"]["queries"].items():
        p = engines["polars_lazy"]["queries"][name]
        agree = d["rows"] == p["rows"] and ("cost" not in d or abs(float(d["cost"]) - float(p["cost"])) < 1e-6)
        print(f"{name:<28}{d['best_s']:>15.3f}{p['best_s']:>15.3f}   {agree}")
        result.setdefault("agree", {})[name] = agree
    print(
        f"{'peak RSS MB':<28}{engines['duckdb_parquet']['peak_rss_mb']:>15}{engines['polars_lazy']['peak_rss_mb']:>15}"
    )
    RESULTS.mkdir(exist_ok=True)
    target = RESULTS / f"analytics{'.quick' if quick else ''}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    return result


if __name__ == "__main__":
    main("--quick" in sys.argv)
