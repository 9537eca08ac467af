"""Worker processes for the multi-process tests.

Usage:

- ``python -m tests.lake._worker STORE SESSION_ID COUNT BULK [IDS_FILE]``: appends ``COUNT`` single messages (then
  one bulk of ``BULK``) to the session, writing each returned message id to ``IDS_FILE`` (flushed) before the next
  call, so a parent that kills it knows what was acknowledged. ``COUNT = 0`` appends forever.
- ``python -m tests.lake._worker bulk STORE SESSION_ID ROUNDS SIZE``: appends ``ROUNDS`` bulk batches of ``SIZE``
  messages (texts ``b<round>-<i>``), each written as a Parquet file, with automatic merging of small files after
  every ``WORKER_AUTO_MERGE`` files (default 2), then prints how many merges it made.
- ``python -m tests.lake._worker compact STORE STOP_FILE``: runs ``compact()`` over and over until
  ``STOP_FILE`` exists, then prints how many runs finished.
- ``python -m tests.lake._worker read STORE STOP_FILE SESSION_ID...``: reads each session's message count and the
  number of sessions over and over until ``STOP_FILE`` exists, both through the store's API and through analytics
  functions (``analytics.messages`` per session as ``a:<id>``, ``analytics.store_counts`` as ``a:messages`` and
  ``a:sessions``, which read through ``Store.query``); exits with status 3 and names the counts as soon as any
  count is lower than an earlier read's.

The environment variable ``WORKER_FLUSH_EVERY`` sets the writers' ``flush_every`` (``none``: no automatic flush).
Every failure propagates: the process exits non-zero with the traceback on stderr.
"""

from __future__ import annotations

import itertools
import os
import sys
from pathlib import Path
from typing import Any
from uuid import UUID

from behest_lab import analytics, open_store
from tests.stores._build import message


def _options() -> dict[str, Any]:
    value = os.environ.get("WORKER_FLUSH_EVERY")
    if value is None:
        return {}
    return {"flush_every": None if value == "none" else int(value)}


def write(argv: list[str]) -> int:
    store_path, session_id, count, bulk = argv[0], UUID(argv[1]), int(argv[2]), int(argv[3])
    ids_file = Path(argv[4]) if len(argv) > 4 else None
    out = ids_file.open("a", buffering=1) if ids_file else None
    with open_store(store_path, **_options()) as store:
        numbers = itertools.count() if count == 0 else range(count)
        for i in numbers:
            m = store.sessions.append_message(message(session_id, f"w{i}"))
            if out is not None:
                out.write(f"{m.id}\n")
                out.flush()
        if bulk:
            store.sessions.append_messages([message(session_id, f"bulk{i}") for i in range(bulk)])
    print("done", flush=True)
    return 0


def bulk(argv: list[str]) -> int:
    from behest_lab.stores.lake import AutoMerge, LakeStore
    from behest_lab.stores.lake.maintenance import AutoMerger

    store_path, session_id, rounds, size = argv[0], UUID(argv[1]), int(argv[2]), int(argv[3])
    merge = AutoMerge(threshold=int(os.environ.get("WORKER_AUTO_MERGE", "2")))
    with open_store(store_path, inlining_row_limit=0, auto_merge=merge) as store:
        assert isinstance(store, LakeStore)
        for r in range(rounds):
            store.sessions.append_messages([message(session_id, f"b{r}-{i}") for i in range(size)])
        merger = store._engine.after_write
        assert isinstance(merger, AutoMerger)
        print(f"done merges={merger.merges} skipped={merger.skipped}", flush=True)
    return 0


def compact(argv: list[str]) -> int:
    store_path, stop = argv[0], Path(argv[1])
    runs = 0
    with open_store(store_path) as store:
        while not stop.exists():
            store.compact()  # type: ignore[attr-defined]
            runs += 1
    print(f"done {runs}", flush=True)
    return 0


def read(argv: list[str]) -> int:
    store_path, stop, sessions = argv[0], Path(argv[1]), [UUID(a) for a in argv[2:]]
    highest: dict[str, int] = {}
    reads = 0
    with open_store(store_path) as store:
        while True:
            last = stop.exists()  # one more full round after the writers have finished
            counts = {str(s): len(store.sessions.list_messages(s)) for s in sessions}
            counts["sessions"] = len(store.sessions.list_sessions())
            counts.update({f"a:{s}": analytics.messages(store, session_id=s).height for s in sessions})
            totals = analytics.store_counts(store)
            counts["a:messages"], counts["a:sessions"] = totals["messages"], totals["sessions"]
            for key, n in counts.items():
                if n < highest.get(key, 0):
                    print(f"went back: {key} {highest[key]} -> {n} after {reads} reads", flush=True)
                    return 3
                highest[key] = n
            reads += 1
            if last:
                break
    print("done " + " ".join(f"{k}={v}" for k, v in sorted(highest.items())) + f" reads={reads}", flush=True)
    return 0


def main(argv: list[str]) -> int:
    if argv and argv[0] == "compact":
        return compact(argv[1:])
    if argv and argv[0] == "read":
        return read(argv[1:])
    if argv and argv[0] == "bulk":
        return bulk(argv[1:])
    return write(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
