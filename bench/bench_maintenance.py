"""Self-maintenance of the lake store: session reads after many bulk batches, and one very large message.

Measured in one run, reads taken in turn so a slow spell of the machine hits every store alike:

- ``list_messages`` of one session after N bulk batches that each span every session (one more Parquet file per
  batch) on three stores holding the same rows: one written without automatic merging, one with it (the default
  ``AutoMerge``), and a copy of the first after ``compact(keep=0)`` (the freshly compacted figure). Target: the
  auto-merged store within 1.5x of the compacted one.
- the cost of automatic merging on the writer: the time of the N batch writes with it against without it, the
  batches written to both stores in turn.
- one very large message (50 MB of text; 10 MB with ``--quick``) in one session: ``list_messages`` of another
  session and ``analytics.sessions`` with it absent, with it inlined into the catalog (how every small write was
  stored before large rows were kept out of the catalog, reproduced by raising the size limit for that write), and
  as the store writes it now (a Parquet file of its own).
"""

from __future__ import annotations

import random
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from behest_lab import analytics, open_store
from behest_lab.records import MessageRecord, MessageRole, TextPart
from behest_lab.stores.lake import AutoMerge, LakeStore, config
from behest_lab.stores.lake.maintenance import AutoMerger
from bench.bench_store import WORDS, _messages

TARGETS = {"auto_merged_vs_compacted": ("<=", 1.5)}


def _p50_ms(xs: list[float]) -> float:
    return round(statistics.median(xs) * 1000, 2)


def _files(store: LakeStore, table: str = "messages") -> int:
    e = store._engine
    return int(e.scalar(f"SELECT count(*) FROM ducklake_list_files('{e.alias}', '{table}')"))


def _read_in_turn(stores: dict[str, LakeStore], ids: list[Any], rounds: int = 3) -> dict[str, float]:
    took: dict[str, list[float]] = {name: [] for name in stores}
    expected: dict[Any, int] = {}
    for _ in range(rounds):
        for sid in ids:
            for name, store in stores.items():
                t = time.perf_counter()
                n = len(store.sessions.list_messages(sid))
                took[name].append(time.perf_counter() - t)
                if expected.setdefault(sid, n) != n:
                    raise AssertionError(f"{name}: {n} messages in {sid}, another store has {expected[sid]}")
    return {name: _p50_ms(xs) for name, xs in took.items()}


def bench_batches(tmp: Path, n_sessions: int, batches: int, per_batch: int, reads: int) -> dict[str, Any]:
    """``batches`` bulk writes of ``per_batch`` messages per session, with and without automatic merging."""
    sessions, messages = _messages(n_sessions, batches * per_batch, random.Random(3))
    by_session: dict[Any, list[MessageRecord]] = {}
    for m in messages:
        by_session.setdefault(m.session_id, []).append(m)
    stores: dict[str, LakeStore] = {}
    for name, merge in (("off", None), ("auto", AutoMerge())):
        store = open_store(tmp / name, auto_merge=merge)
        assert isinstance(store, LakeStore)
        store.sessions.create_sessions(sessions)
        stores[name] = store
    write_s = {"off": 0.0, "auto": 0.0}
    for b in range(batches):
        batch = [m for s in sessions for m in by_session[s.id][b * per_batch : (b + 1) * per_batch]]
        for name in ("off", "auto") if b % 2 == 0 else ("auto", "off"):
            t = time.perf_counter()
            stores[name].sessions.append_messages(batch)
            write_s[name] += time.perf_counter() - t
    merger = stores["auto"]._engine.after_write
    assert isinstance(merger, AutoMerger)
    out: dict[str, Any] = {
        "sessions": n_sessions,
        "batches": batches,
        "rows_per_batch": n_sessions * per_batch,
        "write_s_without_auto_merge": round(write_s["off"], 2),
        "write_s_with_auto_merge": round(write_s["auto"], 2),
        "auto_merge_write_cost_ratio": round(write_s["auto"] / write_s["off"], 2),
        "auto_merges": merger.merges,
        "auto_merges_skipped": merger.skipped,
        "message_files_without_auto_merge": _files(stores["off"]),
        "message_files_with_auto_merge": _files(stores["auto"]),
    }
    stores["off"].close()
    shutil.copytree(tmp / "off", tmp / "compacted")
    compacted = open_store(tmp / "compacted")
    assert isinstance(compacted, LakeStore)
    compacted.compact(keep=timedelta(0))
    out["message_files_compacted"] = _files(compacted)
    stores["off"] = open_store(tmp / "off")  # type: ignore[assignment]
    stores["compacted"] = compacted
    ids = [s.id for s in random.Random(4).sample(sessions, reads)]
    p50 = _read_in_turn(stores, ids)
    out["list_messages_p50_ms"] = p50
    out["fragmented_vs_compacted"] = round(p50["off"] / p50["compacted"], 2)
    out["auto_merged_vs_compacted"] = round(p50["auto"] / p50["compacted"], 2)
    for store in stores.values():
        store.close()
    return out


def _timed(run: Callable[[], object], rounds: int) -> float:
    xs = []
    for _ in range(rounds):
        t = time.perf_counter()
        run()
        xs.append(time.perf_counter() - t)
    return round(min(xs) * 1000, 1)


def bench_large_message(tmp: Path, n_sessions: int, per_session: int, megabytes: int) -> dict[str, Any]:
    """Reads of other sessions with one ``megabytes`` MB message absent, inlined (as before) and in its own file."""
    sessions, messages = _messages(n_sessions, per_session, random.Random(5))
    rng = random.Random(6)
    words: list[str] = []
    size = 0
    while size < megabytes * 1_000_000:
        word = rng.choice(WORDS)
        words.append(word)
        size += len(word) + 1
    text = " ".join(words)
    states = ("absent", "inlined", "own_file")
    stores: dict[str, LakeStore] = {}
    for name in states:
        store = open_store(tmp / f"large-{name}")
        assert isinstance(store, LakeStore)
        store.sessions.create_sessions(sessions)
        store.sessions.append_messages(messages)
        store.compact(keep=timedelta(0))
        stores[name] = store
    big = MessageRecord(session_id=sessions[0].id, role=MessageRole.TOOL, content=[TextPart(text=text)])
    limit = config.LARGE_INSERT_BYTES
    config.LARGE_INSERT_BYTES = 10**15  # the store as it was: every single write inlined, whatever its size
    try:
        stores["inlined"].sessions.append_message(big)
    finally:
        config.LARGE_INSERT_BYTES = limit
    stores["own_file"].sessions.append_message(big)
    other = sessions[1].id
    out: dict[str, Any] = {"message_mb": megabytes, "sessions": n_sessions, "messages": len(messages) + 1}
    for name in states:
        store = stores[name]
        out[f"other_list_messages_ms_{name}"] = _timed(lambda s=store: s.sessions.list_messages(other), 5)
        out[f"analytics_sessions_ms_{name}"] = _timed(lambda s=store: analytics.sessions(s), 2)
    for what in ("other_list_messages", "analytics_sessions"):
        for name in ("inlined", "own_file"):
            out[f"{what}_{name}_vs_absent"] = round(out[f"{what}_ms_{name}"] / out[f"{what}_ms_absent"], 2)
    for store in stores.values():
        store.close()
    return out


def main(quick: bool = False) -> dict[str, Any]:
    """Run both measurements; the batch sizes keep every batch above the inlining limit (one file per batch)."""
    with tempfile.TemporaryDirectory(prefix="bench-maint-") as folder:
        tmp = Path(folder)
        if quick:
            batches = bench_batches(tmp, n_sessions=100, batches=12, per_batch=12, reads=15)
            large = bench_large_message(tmp, n_sessions=50, per_session=40, megabytes=10)
        else:
            batches = bench_batches(tmp, n_sessions=200, batches=20, per_batch=10, reads=30)
            large = bench_large_message(tmp, n_sessions=200, per_session=50, megabytes=50)
    p50 = batches["list_messages_p50_ms"]
    print(
        f"list_messages after {batches['batches']} batches: {p50['off']} ms without auto-merge "
        f"({batches['message_files_without_auto_merge']} files), {p50['auto']} ms with it "
        f"({batches['message_files_with_auto_merge']} files), {p50['compacted']} ms compacted"
    )
    print(
        f"  vs compacted: x{batches['fragmented_vs_compacted']} without, x{batches['auto_merged_vs_compacted']} "
        f"with (target <= 1.5); write cost of auto-merge x{batches['auto_merge_write_cost_ratio']}"
    )
    print(
        f"{large['message_mb']} MB message: other session's list_messages {large['other_list_messages_ms_absent']} ms"
        f" absent, {large['other_list_messages_ms_inlined']} ms inlined, {large['other_list_messages_ms_own_file']}"
        f" ms own file; analytics.sessions {large['analytics_sessions_ms_absent']} / "
        f"{large['analytics_sessions_ms_inlined']} / {large['analytics_sessions_ms_own_file']} ms"
    )
    met = batches["auto_merged_vs_compacted"] <= TARGETS["auto_merged_vs_compacted"][1]
    return {"batches": batches, "large_message": large, "targets": TARGETS, "met": met}
