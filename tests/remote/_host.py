"""One "host" of the multi-process shared-store test: a separate process with its own DuckDB instance.

Usage: ``python -m tests.remote._host writer NAME ROUNDS OUT START_AT`` or
``python -m tests.remote._host reader NAME STOP_FILE OUT START_AT``.

The store comes from the environment (``StoreConfig.from_env()``: ``BEHEST_LAB_CATALOG``,
``BEHEST_LAB_DATA_PATH``, ``PGPASSWORD``, ``AWS_*``), as on a real host. Every process waits until ``START_AT``
(a ``time.time()`` value) so all of them hit the store at the same moment.

- writer: ``ROUNDS`` times: a session, single messages, a bulk of messages, tool executions, usage records and
  embeddings, each through the public API. After each call returns, the ids it stored go to ``OUT`` as one JSON
  line ``{"kind": ..., "ids": [...]}`` (flushed): the parent knows exactly what each caller was told was written.
- reader: until ``STOP_FILE`` exists: row counts of every table, a similarity search, and every few rounds
  ``store.compact()``; one JSON line per round to ``OUT``.

Any exception ends the process with a traceback on stderr and a non-zero status: the parent treats that as an
error surfaced to a caller.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import IO, Any

from behest_lab import StoreConfig, open_store
from behest_lab.stores.protocols import Store
from tests.stores._build import embedding, execution, message, usage

#: Messages per bulk append, single appends per round, executions, usage records, embeddings per round.
BULK, SINGLES, EXECUTIONS, USAGES, EMBEDDINGS = 40, 3, 3, 2, 4
DIM = 8
COUNTED = ("sessions", "messages", "tool_executions", "usage_records", "embeddings")


def _emit(out: IO[str], kind: str, ids: list[Any]) -> None:
    out.write(json.dumps({"kind": kind, "ids": [str(i) for i in ids]}) + "\n")
    out.flush()


def vector(seed: int) -> list[float]:
    """A deterministic non-zero vector of dimension ``DIM``."""
    return [float((seed * 7 + k * 3) % 11 + 1) for k in range(DIM)]


def write(store: Store, name: str, rounds: int, out: IO[str]) -> None:
    """The writer's workload (see the module docstring)."""
    from tests.stores._build import session

    for r in range(rounds):
        s = session(store, title=f"{name}-{r}", metadata={"host": name, "round": r})
        _emit(out, "sessions", [s.id])
        for i in range(SINGLES):
            m = store.sessions.append_message(message(s.id, f"{name} r{r} single {i}"))
            _emit(out, "messages", [m.id])
        bulk = store.sessions.append_messages([message(s.id, f"{name} r{r} bulk {i}") for i in range(BULK)])
        _emit(out, "messages", [m.id for m in bulk])
        executions = store.executions.record_executions(
            [execution(s.id, bulk[i].id, call_id=f"call-{i}", tool_name=f"tool-{i % 2}") for i in range(EXECUTIONS)]
        )
        _emit(out, "tool_executions", [e.id for e in executions])
        for i in range(USAGES):
            u = store.executions.record_usage(usage(s.id, 100 + i, 10 + i, message_id=bulk[i].id))
            _emit(out, "usage_records", [u.id])
        vectors = store.embeddings.upsert_many(
            [embedding(vector(r * 10 + i), session_id=s.id, metadata={"host": name}) for i in range(EMBEDDINGS)]
        )
        _emit(out, "embeddings", [e.id for e in vectors])


def read(store: Store, stop: Path, out: IO[str]) -> None:
    """The reader/compactor's loop (see the module docstring)."""
    n = 0
    while True:
        finished = stop.exists()  # read once more after the writers are done
        counts = {t: store.sql(f"SELECT count(*) FROM {t}").fetchone()[0] for t in COUNTED}  # type: ignore[index]
        hits = store.embeddings.search(vector(3), 5)
        record: dict[str, Any] = {"counts": counts, "hits": len(hits)}
        if n % 4 == 3:
            report = store.compact()
            record["compacted"] = [report.files_before, report.files_after]
        out.write(json.dumps(record) + "\n")
        out.flush()
        n += 1
        if finished:
            return
        time.sleep(0.05)


def main(argv: list[str]) -> int:
    role, name = argv[0], argv[1]
    start_at = float(argv[4])
    with open(argv[3], "a", buffering=1) as out:
        config = StoreConfig.from_env()
        with open_store(config) as store:
            while time.time() < start_at:
                time.sleep(0.002)
            if role == "writer":
                write(store, name, int(argv[2]), out)
            else:
                read(store, Path(argv[2]), out)
    print("done", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
