"""The persistent store against its baselines, side by side in one run.

Measured (sizes halve-ish with ``--quick``):
- single ``append_message`` latency on the lake store vs the memory store;
- bulk ``append_messages`` rows/s vs a raw DuckDB ``INSERT`` of the same Arrow table into a DuckLake table;
- ``list_messages`` of one session in a 1M-message lake store (compacted) vs the memory store, then again on two
  live copies after a few thousand single writes (inlined rows flushed every 500 writes, the default, or never),
  and on the unflushed one after ``compact(keep=0)``;
- exact ``search`` on 1M x 384 vectors, warm and cold, vs numpy matmul + argpartition, faiss ``IndexFlatIP`` and
  DuckDB ``array_cosine_similarity`` over an in-memory ``FLOAT[384]`` table (all on the same data);
- peak RSS of a fresh process that opens the store and runs a search, vs the raw vector bytes.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sized
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from behest_lab import EmbeddingRecord, MessageRecord, MessageRole, Session, TextPart, TokenUsage, open_store
from behest_lab.records import uuid7

ROOT = Path(__file__).resolve().parent.parent
TARGETS = {
    "append_p50_ms": ("<=", 15.0),
    "bulk_messages_per_s": (">=", 100_000.0),
    "list_messages_p50_ms": ("<=", 20.0),
    "warm_search_vs_numpy": ("<=", 1.5),
    "cold_search_s": ("<=", 3.0),
    "peak_rss_vs_vectors": ("<=", 2.5),
}


#: Words the synthetic message texts are made of (shared with bench_remote).
WORDS = [
    "agent",
    "tool",
    "search",
    "file",
    "parse",
    "cost",
    "token",
    "model",
    "latency",
    "result",
    "error",
    "retry",
    "cache",
    "summary",
    "plan",
]


def _ms(seconds: list[float]) -> dict[str, float]:
    xs = sorted(s * 1000 for s in seconds)
    return {
        "p50_ms": round(statistics.median(xs), 3),
        "p95_ms": round(xs[int(0.95 * (len(xs) - 1))], 3),
        "mean_ms": round(statistics.fmean(xs), 3),
    }


def _messages(n_sessions: int, per_session: int, rng: random.Random) -> tuple[list[Session], list[MessageRecord]]:
    start = datetime(2026, 10, 1, tzinfo=UTC)
    sessions: list[Session] = []
    messages: list[MessageRecord] = []
    for s in range(n_sessions):
        t0 = start + timedelta(seconds=s * 37)
        ms = int(t0.timestamp() * 1000)
        session = Session(
            id=uuid7(ms, rng.randbytes(10)),
            title=f"session {s}",
            model="claude-sonnet-4-5",
            created_at=t0,
            updated_at=t0 + timedelta(seconds=per_session),
            metadata={"team": f"team-{s % 7}"},
        )
        sessions.append(session)
        for i in range(per_session):
            at = t0 + timedelta(seconds=i)
            role = (MessageRole.USER, MessageRole.ASSISTANT)[i % 2]
            text = " ".join(rng.choice(WORDS) for _ in range(12))
            messages.append(
                MessageRecord(
                    id=uuid7(int(at.timestamp() * 1000), rng.randbytes(10)),
                    session_id=session.id,
                    role=role,
                    content=[TextPart(text=text)],
                    usage=TokenUsage.new(120 + i, 40) if role is MessageRole.ASSISTANT else None,
                    created_at=at,
                )
            )
    return sessions, messages


class _RawDuckLakeAppender:
    """The floor under ``append_message``: DuckLake alone committing one parameterised single-row INSERT into a
    ``messages`` table of the same columns, on a one-thread DuckDB instance like the store's small writes (no
    existence checks, no commit message)."""

    def __init__(self, folder: Path) -> None:
        import duckdb
        from duckdb_extensions import import_extension

        from behest_lab.stores import tables

        for ext in ("ducklake", "sqlite_scanner"):
            import_extension(ext)
        folder.mkdir()
        self.con = duckdb.connect(config={"threads": 1})
        self.con.execute(
            f"ATTACH 'ducklake:sqlite:{folder}/catalog.sqlite' AS raw "
            f"(DATA_PATH '{folder}/data/', DATA_INLINING_ROW_LIMIT 1000)"
        )
        self.con.execute(tables.create_table_sql("messages", "raw.messages"))
        self.insert = "INSERT INTO raw.messages SELECT " + ", ".join(
            f"?::{c.sql} AS {c.name}" for c in tables.TABLES["messages"]
        )

    def append_message(self, message: MessageRecord) -> None:
        self.con.execute(self.insert, self._row(message))

    def _row(self, message: MessageRecord) -> list[Any]:
        from behest_lab.stores import tables

        # the same Arrow conversion the store does; the tie-breaking sequence number is the wall clock here
        data = tables.to_arrow("messages", [message], [time.time_ns()])
        return [data.column(i)[0].as_py() for i in range(data.num_columns)]

    def close(self) -> None:
        self.con.close()


class _RawDuckLakeReader:
    """The floor under ``list_messages``: the store's own query of one session, run by DuckDB on the lake attached
    read-only in a separate default DuckDB instance (no store object, no records built from the rows)."""

    QUERY = "SELECT * FROM raw.messages WHERE session_id = ? ORDER BY created_at, seq"

    def __init__(self, folder: Path) -> None:
        import duckdb
        from duckdb_extensions import import_extension

        for ext in ("ducklake", "sqlite_scanner"):
            import_extension(ext)
        self.con = duckdb.connect()
        self.con.execute(f"ATTACH 'ducklake:sqlite:{folder}/catalog.sqlite' AS raw (READ_ONLY)")

    def rows(self, session_id: Any) -> list[tuple[Any, ...]]:
        return self.con.execute(self.QUERY, [str(session_id)]).fetchall()

    def close(self) -> None:
        self.con.close()


def bench_append(tmp: Path, n: int, rounds: int = 3) -> dict[str, Any]:
    """``rounds`` rounds of ``n`` appends, each on a fresh store, alternating backends; the percentiles pool every
    round (a virtual machine's slow spells then move one round, not the whole figure). ``ducklake_raw`` is the
    floor: DuckLake's own commit of the same row without any of the store's checks."""
    times: dict[str, list[float]] = {"lake": [], "ducklake_raw": [], "memory": []}
    for r in range(rounds):
        for backend in times:
            if backend == "ducklake_raw":
                target: Any = _RawDuckLakeAppender(tmp / f"append-raw-{r}")
                session_id = Session(title="latency", model="m").id
            else:
                store = open_store(tmp / f"append-{r}") if backend == "lake" else open_store(None)
                session_id = store.sessions.create_session(Session(title="latency", model="m")).id
                target = store.sessions
            round_times = []
            for i in range(n):
                msg = MessageRecord(
                    session_id=session_id, role=MessageRole.USER, content=[TextPart(text=f"message {i}")]
                )
                t = time.perf_counter()
                target.append_message(msg)
                round_times.append(time.perf_counter() - t)
            (target if backend == "ducklake_raw" else store).close()
            times[backend] += round_times[5:]  # the first few include catalog warm-up
    return {backend: _ms(ts) for backend, ts in times.items()} | {"rounds": rounds, "appends_per_round": n}


def bench_bulk_and_read(tmp: Path, n_sessions: int, per_session: int, batch: int, history: int) -> dict[str, Any]:
    import duckdb

    from behest_lab.stores import tables

    rng = random.Random(7)
    sessions, messages = _messages(n_sessions, per_session, rng)
    n = len(messages)
    out: dict[str, Any] = {"messages": n, "sessions": n_sessions, "batch": batch}

    # Loaded the way importers load: sessions in one transaction, then messages in batches. Three loads into fresh
    # stores give the median rate; the first store is the one read below.
    rates = []
    for k in range(3):
        target = open_store(tmp / f"bulk-{k}")
        target.sessions.create_sessions(sessions)
        t = time.perf_counter()
        for i in range(0, n, batch):
            target.sessions.append_messages(messages[i : i + batch], touch_session=False)
        rates.append(n / (time.perf_counter() - t))
        if k == 0:
            store = target
        else:
            target.close()
            shutil.rmtree(tmp / f"bulk-{k}")
    out["lake_messages_per_s_runs"] = [round(r) for r in rates]
    out["lake_messages_per_s"] = round(statistics.median(rates))

    # Baseline: the engine alone — the same rows, already as Arrow, inserted into a DuckLake table.
    arrow = tables.to_arrow("messages", messages, list(range(n)))
    raw = tmp / "raw"
    raw.mkdir()
    con = duckdb.connect()
    from duckdb_extensions import import_extension

    import_extension("ducklake")
    import_extension("sqlite_scanner")
    con.execute(f"ATTACH 'ducklake:sqlite:{raw}/catalog.sqlite' AS raw (DATA_PATH '{raw}/data/')")
    con.execute(tables.create_table_sql("messages", "raw.messages"))
    t = time.perf_counter()
    for i in range(0, n, batch):
        con.register("src", arrow.slice(i, batch))
        con.execute(f"INSERT INTO raw.messages {tables.cast_select_sql('messages', 'src')}")
        con.unregister("src")
    out["raw_ducklake_rows_per_s"] = round(n / (time.perf_counter() - t))
    con.close()

    # Session reads after compaction (the state a long-lived store is in), by a reader that opens the store the
    # way a notebook does, while the writer's store object stays open.
    t = time.perf_counter()
    store.compact()  # type: ignore[attr-defined]
    out["compact_s"] = round(time.perf_counter() - t, 2)
    writer = store
    store = open_store(tmp / "bulk-0")
    picks = [rng.choice(sessions).id for _ in range(200)]

    def read_in_turn(readers: dict[str, Callable[[Any], Sized]]) -> dict[str, dict[str, float]]:
        """Each pick read by every reader in turn (a slow spell of the machine hits all alike); ms per reader."""
        times: dict[str, list[float]] = {name: [] for name in readers}
        for sid in picks:
            for name, read in readers.items():
                t = time.perf_counter()
                got = read(sid)
                times[name].append(time.perf_counter() - t)
                assert len(got) == per_session, (name, len(got))
        return {name: _ms(ts) for name, ts in times.items()}

    # the store's reads beside DuckLake's own query of the same session
    raw_reader = _RawDuckLakeReader(tmp / "bulk-0")
    reads = read_in_turn({"lake": store.sessions.list_messages, "raw": raw_reader.rows})
    raw_reader.close()
    out["lake_list_messages"] = reads["lake"]
    out["ducklake_raw_list_messages"] = reads["raw"]
    store.close()
    writer.close()

    # A live store: every single write is a snapshot, and its rows stay inlined in the catalog until a flush;
    # DuckLake reads the snapshot list and every inlined row on each query. Two copies of the compacted store take
    # the same single writes in turn, one flushing inlined rows every 500 writes (the default ``flush_every``), one
    # never; then both are read in turn (so a slow spell of the machine hits both alike), and the unflushed one
    # again after ``compact`` (here keeping no history).
    live = {"unflushed": None, "flush_every_500": 500}
    writers = {}
    for name, flush_every in live.items():
        shutil.copytree(tmp / "bulk-0", tmp / f"live-{name}")
        writers[name] = open_store(tmp / f"live-{name}", flush_every=flush_every)
    scratch = Session(title="live writes", model="claude-sonnet-4-5")
    for w in writers.values():
        w.sessions.create_session(scratch)
    for i in range(history):
        msg = MessageRecord(session_id=scratch.id, role=MessageRole.USER, content=[TextPart(text=f"live {i}")])
        for w in writers.values():
            w.sessions.append_message(msg)
    readers = {name: open_store(tmp / f"live-{name}") for name in live}
    live_reads = read_in_turn({name: reader.sessions.list_messages for name, reader in readers.items()})
    out["single_writes"] = history
    out["lake_list_messages_after_single_writes_unflushed"] = live_reads["unflushed"]
    out["lake_list_messages_after_single_writes"] = live_reads["flush_every_500"]
    writers["unflushed"].compact(keep=timedelta(0))  # type: ignore[attr-defined]
    compacted = read_in_turn({"compacted": readers["unflushed"].sessions.list_messages})
    out["lake_list_messages_after_compact_keep_0"] = compacted["compacted"]
    for handle in [*readers.values(), *writers.values()]:
        handle.close()

    memory = open_store(None)
    for s in sessions:
        memory.sessions.create_session(s)
    memory.sessions.append_messages(messages, touch_session=False)
    out["memory_list_messages"] = read_in_turn({"memory": memory.sessions.list_messages})["memory"]
    memory.close()
    return out


def _vectors(n: int, dim: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    # clustered, like real embeddings: 256 centres plus noise
    centres = rng.standard_normal((256, dim), dtype=np.float32)
    labels = rng.integers(0, 256, n)
    return centres[labels] + 0.35 * rng.standard_normal((n, dim), dtype=np.float32)


def _load_vectors(store: Any, matrix: np.ndarray, chunk: int = 20_000) -> None:
    base = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    rng = random.Random(3)
    for i in range(0, len(matrix), chunk):
        records = [
            EmbeddingRecord(id=uuid7(base + j, rng.randbytes(10)), model="bench-384", vector=matrix[j])
            for j in range(i, min(i + chunk, len(matrix)))
        ]
        store.embeddings.upsert_many(records)


_RSS_CHILD = """
import json, sys, time
import numpy as np
from behest_lab import open_store
q = np.load(sys.argv[2])
t = time.perf_counter()
store = open_store(sys.argv[1])
opened = time.perf_counter() - t
hits = store.embeddings.search(q[0], 10)
cold = time.perf_counter() - t
warm = []
for row in q[1:]:
    t = time.perf_counter(); store.embeddings.search(row, 10); warm.append(time.perf_counter() - t)
# VmHWM, not ru_maxrss: Linux carries ru_maxrss over from the parent across fork + exec, VmHWM starts afresh
hwm_kb = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(json.dumps({"cold_s": cold, "open_s": opened, "source": store.embeddings.index_source, "warm": warm,
                  "maxrss_kb": hwm_kb, "ids": [str(h.record.id) for h in hits]}))
"""


def bench_search(tmp: Path, n: int, dim: int, queries: int) -> dict[str, Any]:
    import duckdb

    matrix = _vectors(n, dim, 11)
    qs = _vectors(queries + 1, dim, 12)
    out: dict[str, Any] = {"vectors": n, "dim": dim, "raw_vector_bytes": matrix.nbytes}
    store = open_store(tmp / "vectors")
    t = time.perf_counter()
    _load_vectors(store, matrix)
    out["load_s"] = round(time.perf_counter() - t, 1)
    store.compact()  # type: ignore[attr-defined]
    store.close()

    # Cold + warm search and peak RSS in a fresh process (nothing else in its memory).
    qfile = tmp / "queries.npy"
    np.save(qfile, qs)
    # three fresh processes, one after another: the median cold search, the highest peak RSS, warm searches pooled
    runs = []
    for _ in range(3):
        child = subprocess.run(
            [sys.executable, "-c", _RSS_CHILD, str(tmp / "vectors"), str(qfile)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
    out["cold_search_runs_s"] = [round(r["cold_s"], 3) for r in runs]
    out["cold_search_s"] = round(statistics.median(r["cold_s"] for r in runs), 3)
    # part of cold_search_s: extension loading, attach, migration check
    out["cold_open_s"] = round(statistics.median(r["open_s"] for r in runs), 3)
    out["index_source"] = runs[0]["source"]  # "files": vectors read straight from the Parquet files
    out["store_search"] = _ms([w for r in runs for w in r["warm"]])
    out["peak_rss_bytes"] = max(r["maxrss_kb"] for r in runs) * 1024
    out["peak_rss_vs_vectors"] = round(out["peak_rss_bytes"] / matrix.nbytes, 2)

    # numpy: the bandwidth-bound reference on a pre-normalised matrix
    norm = matrix / np.linalg.norm(matrix, axis=1, keepdims=True)
    times = []
    np_top = None
    for q in qs[1:]:
        t = time.perf_counter()
        qn = q / np.linalg.norm(q)
        scores = norm @ qn
        top = np.argpartition(-scores, 10)[:10]
        top = top[np.argsort(-scores[top])]
        times.append(time.perf_counter() - t)
        np_top = top if np_top is None else np_top
    out["numpy"] = _ms(times)
    out["warm_search_vs_numpy"] = round(out["store_search"]["p50_ms"] / out["numpy"]["p50_ms"], 2)

    try:
        import faiss

        index = faiss.IndexFlatIP(dim)
        index.add(norm)
        times = []
        for q in qs[1:]:
            t = time.perf_counter()
            index.search((q / np.linalg.norm(q))[None, :], 10)
            times.append(time.perf_counter() - t)
        out["faiss_flat_ip"] = _ms(times)
        del index
    except ImportError:
        out["faiss_flat_ip"] = "faiss-cpu not installed (pip install '.[bench]')"

    con = duckdb.connect()
    con.execute(f"CREATE TABLE v AS SELECT * FROM (SELECT range AS i FROM range({n})) ")
    con.execute(f"ALTER TABLE v ADD COLUMN e FLOAT[{dim}]")
    import pyarrow as pa

    arr = pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), dim)
    con.register("src", pa.table({"i": pa.array(np.arange(n)), "e": arr}))
    con.execute(f"CREATE OR REPLACE TABLE v AS SELECT i, e::FLOAT[{dim}] AS e FROM src")
    con.unregister("src")
    times = []
    for q in qs[1 : min(len(qs), 6)]:
        con.register("qt", pa.table({"q": pa.FixedSizeListArray.from_arrays(pa.array(q), dim)}))
        t = time.perf_counter()
        con.execute(
            f"SELECT i, array_cosine_similarity(e, (SELECT q::FLOAT[{dim}] FROM qt)) AS s "
            "FROM v ORDER BY s DESC LIMIT 10"
        ).fetchall()
        times.append(time.perf_counter() - t)
        con.unregister("qt")
    out["duckdb_array_cosine"] = _ms(times)
    con.close()
    return out


def main(quick: bool = False) -> dict[str, Any]:
    """Run the store benchmarks; ``BENCH_STORE_PARTS`` (comma-separated ``append``, ``bulk``, ``search``) runs a
    subset (the 1M-row setups take minutes each), e.g. ``BENCH_STORE_PARTS=search python -m bench store``."""
    parts = {p.strip() for p in os.environ.get("BENCH_STORE_PARTS", "append,bulk,search").split(",") if p.strip()}
    unknown = parts - {"append", "bulk", "search"}
    if unknown:
        raise SystemExit(f"BENCH_STORE_PARTS: unknown part(s) {sorted(unknown)}; use append, bulk, search")
    tmp = Path(tempfile.mkdtemp(prefix="behest-bench-", dir=os.environ.get("BENCH_TMP")))
    append: dict[str, Any] = {}
    bulk: dict[str, Any] = {}
    search: dict[str, Any] = {}
    try:
        if "append" in parts:
            append = bench_append(tmp, 60 if quick else 300)
        if "bulk" in parts:
            bulk = bench_bulk_and_read(tmp, *((2_000, 50, 10_000, 300) if quick else (20_000, 50, 50_000, 3_000)))
        if "search" in parts:
            search = bench_search(tmp, *((100_000, 384, 20) if quick else (1_000_000, 384, 30)))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    measured: dict[str, Any] = {}
    if append:
        measured["append_p50_ms"] = append["lake"]["p50_ms"]
    if bulk:
        measured["bulk_messages_per_s"] = bulk["lake_messages_per_s"]
        measured["list_messages_p50_ms"] = bulk["lake_list_messages"]["p50_ms"]
    if search:
        measured["warm_search_vs_numpy"] = search["warm_search_vs_numpy"]
        measured["cold_search_s"] = search["cold_search_s"]
        measured["peak_rss_vs_vectors"] = search["peak_rss_vs_vectors"]
    print(f"{'target':<24}{'goal':>14}{'measured':>14}  ok")
    verdicts = {}
    for key, (op, goal) in TARGETS.items():
        if key not in measured:
            continue
        value = measured[key]
        ok = value <= goal if op == "<=" else value >= goal
        verdicts[key] = ok
        print(f"{key:<24}{op + ' ' + format(goal, 'g'):>14}{value:>14,.3f}  {'yes' if ok else 'NO'}")
    baselines = []
    if append:
        baselines.append(
            f"memory append p50 {append['memory']['p50_ms']} ms; DuckLake's own single-row commit (the floor) p50 "
            f"{append['ducklake_raw']['p50_ms']} ms"
        )
    if bulk:
        baselines.append(f"raw DuckLake insert {bulk['raw_ducklake_rows_per_s']:,} rows/s")
        baselines.append(
            f"DuckLake's own query of one session (the floor) p50 {bulk['ducklake_raw_list_messages']['p50_ms']} ms; "
            f"memory list_messages p50 {bulk['memory_list_messages']['p50_ms']} ms"
        )
        baselines.append(
            f"lake list_messages p50 after {bulk['single_writes']:,} single writes: "
            f"{bulk['lake_list_messages_after_single_writes']['p50_ms']} ms flushing every 500, "
            f"{bulk['lake_list_messages_after_single_writes_unflushed']['p50_ms']} ms unflushed, "
            f"{bulk['lake_list_messages_after_compact_keep_0']['p50_ms']} ms once compacted"
        )
    if search:
        baselines.append(
            f"numpy {search['numpy']['p50_ms']} ms, faiss {search['faiss_flat_ip']}, "
            f"duckdb array_cosine {search['duckdb_array_cosine']['p50_ms']} ms; cold open {search['cold_open_s']} s, "
            f"index from {search['index_source']}"
        )
    print("baselines: " + "; ".join(baselines))
    return {"targets": TARGETS, "measured": measured, "met": verdicts, "append": append, "bulk": bulk, "search": search}
