"""The shared layout (PostgreSQL catalog + S3 data) against the local layout (folder), side by side in one run.

``python -m bench remote [--quick]`` starts its own services (``tests/services.py``: a throwaway PostgreSQL on
127.0.0.1 and moto's S3 emulator in this process) and measures on both layouts, with the same data:
- single ``append_message`` p50/p95;
- bulk ``append_messages`` rows/s;
- ``list_messages`` of one session p50 after ``compact()``, from a second store object (a reader that opened the
  store separately, as a notebook does);
- exact ``search`` on N x 384 vectors: first (cold: reads every vector file) and warm p50.
Each measure is the median of ``ROUNDS`` rounds (fresh stores each, the layouts' order alternating), and each
shared/local ratio is recorded. The test PostgreSQL runs with ``fsync=off`` while the local SQLite catalog syncs
its commits: single commits on the shared layout are cheaper here than on a production server. moto answers on
loopback in about a millisecond; real S3 adds 10-50 ms per request, so the shared numbers here are a lower bound
(see the README).
"""

from __future__ import annotations

import logging
import random
import shutil
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from behest_lab import (
    EmbeddingRecord,
    MessageRecord,
    MessageRole,
    Session,
    Store,
    StoreConfig,
    TextPart,
    open_store,
    uuid7,
)
from bench.bench_store import WORDS
from tests.services import PostgresServer, S3Server, ServiceUnavailable

#: Rounds per layout; the reported value of each measure is its median over the rounds.
ROUNDS = 3


def _ms(seconds: list[float]) -> dict[str, float]:
    xs = sorted(s * 1000 for s in seconds)
    return {"p50_ms": round(statistics.median(xs), 2), "p95_ms": round(xs[int(0.95 * (len(xs) - 1))], 2)}


def _data(n_sessions: int, per_session: int, seed: int) -> tuple[list[Session], list[MessageRecord]]:
    rng = random.Random(seed)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    sessions, messages = [], []
    for s in range(n_sessions):
        t0 = start + timedelta(seconds=s * 37)
        session = Session(
            id=uuid7(int(t0.timestamp() * 1000), rng.randbytes(10)),
            title=f"s{s}",
            model="m",
            created_at=t0,
            updated_at=t0 + timedelta(seconds=per_session),
        )
        sessions.append(session)
        for i in range(per_session):
            at = t0 + timedelta(seconds=i)
            messages.append(
                MessageRecord(
                    id=uuid7(int(at.timestamp() * 1000), rng.randbytes(10)),
                    session_id=session.id,
                    role=(MessageRole.USER, MessageRole.ASSISTANT)[i % 2],
                    content=[TextPart(text=" ".join(rng.choice(WORDS) for _ in range(12)))],
                    created_at=at,
                )
            )
    return sessions, messages


def _vectors(n: int, dim: int) -> list[EmbeddingRecord]:
    rng = np.random.default_rng(5)
    matrix = rng.standard_normal((n, dim), dtype=np.float32)
    base = int(datetime(2026, 10, 1, tzinfo=UTC).timestamp() * 1000)
    ids = random.Random(9)
    return [
        EmbeddingRecord(id=uuid7(base + i, ids.randbytes(10)), vector=row, model="bench")
        for i, row in enumerate(matrix)
    ]


def _median(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The per-measure median over rounds (nested dicts of numbers, all rounds with the same keys)."""
    out: dict[str, Any] = {}
    for key, value in runs[0].items():
        if isinstance(value, dict):
            out[key] = _median([r[key] for r in runs])
        else:
            out[key] = statistics.median(r[key] for r in runs)
    return out


def measure(open_: Any, sizes: dict[str, int]) -> dict[str, Any]:
    """Every measurement on one layout; ``open_()`` opens a store object on it (called more than once)."""
    out: dict[str, Any] = {}
    store: Store = open_()
    try:
        t = time.perf_counter()
        s = store.sessions.create_session(Session(title="latency", model="m"))
        times = []
        for i in range(sizes["appends"]):
            msg = MessageRecord(session_id=s.id, role=MessageRole.USER, content=[TextPart(text=f"message {i}")])
            t = time.perf_counter()
            store.sessions.append_message(msg)
            times.append(time.perf_counter() - t)
        out["append"] = _ms(times[5:])  # the first few include warm-up

        sessions, messages = _data(sizes["sessions"], sizes["per_session"], 7)
        store.sessions.create_sessions(sessions)
        batch = sizes["batch"]
        t = time.perf_counter()
        for i in range(0, len(messages), batch):
            store.sessions.append_messages(messages[i : i + batch], touch_session=False)
        out["bulk_rows_per_s"] = round(len(messages) / (time.perf_counter() - t))

        vectors = _vectors(sizes["vectors"], 384)
        for i in range(0, len(vectors), 20_000):
            store.embeddings.upsert_many(vectors[i : i + 20_000])
        t = time.perf_counter()
        store.compact()  # type: ignore[attr-defined]
        out["compact_s"] = round(time.perf_counter() - t, 2)

        reader: Store = open_()
        try:
            rng = random.Random(1)
            times = []
            for _ in range(sizes["reads"]):
                sid = rng.choice(sessions).id
                t = time.perf_counter()
                got = reader.sessions.list_messages(sid)
                times.append(time.perf_counter() - t)
                assert len(got) == sizes["per_session"]
            out["list_messages"] = _ms(times)
            query = np.random.default_rng(11).standard_normal(384, dtype=np.float32)
            t = time.perf_counter()
            hits = reader.embeddings.search(query, 10)
            out["cold_search_s"] = round(time.perf_counter() - t, 3)
            assert len(hits) == 10
            times = []
            for k in range(10):
                q = np.random.default_rng(100 + k).standard_normal(384, dtype=np.float32)
                t = time.perf_counter()
                reader.embeddings.search(q, 10)
                times.append(time.perf_counter() - t)
            out["warm_search"] = _ms(times)
        finally:
            reader.close()
    finally:
        store.close()
    return out


def main(quick: bool = False) -> dict[str, Any]:
    """Run both layouts with the same sizes and print the table with the shared/local ratios."""
    sizes = (
        {"appends": 40, "sessions": 200, "per_session": 50, "batch": 10_000, "vectors": 20_000, "reads": 30}
        if quick
        else {"appends": 200, "sessions": 2_000, "per_session": 50, "batch": 20_000, "vectors": 100_000, "reads": 100}
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    tmp = Path(tempfile.mkdtemp(prefix="behest-bench-remote-"))
    try:
        try:
            pg, s3 = PostgresServer(), S3Server()
            pg.start()
        except ServiceUnavailable as exc:
            raise SystemExit(f"bench remote: cannot start the services: {exc}") from None
        s3.start()
        try:
            s3_options = s3.options()
            runs: dict[str, list[dict[str, Any]]] = {"local": [], "shared": []}
            for r in range(ROUNDS):
                config = StoreConfig(
                    catalog=pg.new_database(prefix="bench"),
                    data_path=s3.new_bucket("bench") + "lake/",
                    s3=s3_options,
                )
                folder = tmp / f"local-{r}"
                openers = {
                    "local": lambda folder=folder: open_store(folder),
                    "shared": lambda config=config: open_store(config),
                }
                # alternate which layout goes first, so neither always gets the warmer process
                for layout in ("local", "shared") if r % 2 == 0 else ("shared", "local"):
                    runs[layout].append(measure(openers[layout], sizes))
        finally:
            s3.stop()
            pg.stop()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    local, shared = _median(runs["local"]), _median(runs["shared"])
    rows = [
        ("append p50 (ms)", local["append"]["p50_ms"], shared["append"]["p50_ms"]),
        ("append p95 (ms)", local["append"]["p95_ms"], shared["append"]["p95_ms"]),
        ("bulk rows/s", local["bulk_rows_per_s"], shared["bulk_rows_per_s"]),
        ("list_messages p50 (ms)", local["list_messages"]["p50_ms"], shared["list_messages"]["p50_ms"]),
        ("cold search (s)", local["cold_search_s"], shared["cold_search_s"]),
        ("warm search p50 (ms)", local["warm_search"]["p50_ms"], shared["warm_search"]["p50_ms"]),
        ("compact (s)", local["compact_s"], shared["compact_s"]),
    ]
    print(f"{'measure':<26}{'local':>12}{'shared':>12}{'shared/local':>14}")
    ratios = {}
    for name, a, b in rows:
        ratio = round(b / a, 2) if a else float("nan")
        ratios[name] = ratio
        print(f"{name:<26}{a:>12}{b:>12}{ratio:>14}")
    return {
        "sizes": sizes,
        "rounds": ROUNDS,
        "local": local,
        "shared": shared,
        "ratios_shared_over_local": ratios,
        "runs": runs,
    }
