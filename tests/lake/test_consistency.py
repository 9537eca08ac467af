"""Reads stay consistent across processes: a reader never sees fewer committed rows than it saw before.

Writers in other processes append single messages while their inlined rows are flushed to Parquet every few writes
(``flush_every``) and a compactor process runs ``compact()`` over and over; readers in their own processes count
each session's messages and the whole table after every round, through the store's API and through analytics
functions (``Store.query``), and stop with an error the moment a count drops.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from behest_lab import open_store
from tests.stores._build import session

ROOT = Path(__file__).resolve().parents[2]


def _start(args: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.lake._worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 180) -> str:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, out + err
    assert out.startswith("done"), out + err
    return out.strip()


@pytest.mark.slow
def test_readers_never_see_committed_rows_disappear(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    stop = tmp_path / "stop"
    writes = 80
    with open_store(folder) as store:
        a, b = session(store), session(store)
    flush = {"WORKER_FLUSH_EVERY": "3"}  # a flush every third write: dozens of flushes per writer
    writers = [_start([str(folder), str(s.id), str(writes), "0"], flush) for s in (a, b)]
    readers = [_start(["read", str(folder), str(stop), str(a.id), str(b.id)]) for _ in range(2)]
    compactor = _start(["compact", str(folder), str(stop)])
    try:
        while any(w.poll() is None for w in writers):
            # a reader that saw a count drop exits at once: no need to wait for the writers
            assert all(r.poll() is None for r in readers), [_finish(r) for r in readers if r.poll() is not None]
            time.sleep(0.2)
        for w in writers:
            _finish(w)
    finally:
        stop.touch()
    seen = [_finish(r) for r in readers]
    _finish(compactor)
    # every reader's last round came after the writers had finished: it saw every committed row
    for out in seen:
        assert f" {a.id}={writes}" in out, out
        assert f" {b.id}={writes}" in out, out
        assert " sessions=2" in out, out
        # the same counts read through analytics (Store.query under the lake's consistent-read guard)
        assert f"a:{a.id}={writes}" in out, out
        assert f"a:{b.id}={writes}" in out, out
        assert f"a:messages={2 * writes}" in out, out
        assert "a:sessions=2" in out, out
    with open_store(folder) as store:
        for s in (a, b):
            texts = sorted(m.text_content for m in store.sessions.list_messages(s.id))
            assert texts == sorted(f"w{i}" for i in range(writes))
        assert len(store.sessions.list_sessions()) == 2


@pytest.mark.slow
def test_writers_and_a_compactor_under_contention_all_succeed(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    stop = tmp_path / "stop"
    singles, bulk = 40, 300
    with open_store(folder) as store:
        targets = [session(store) for _ in range(3)]
    flush = {"WORKER_FLUSH_EVERY": "5"}  # the writers' own flushes compete with each other and with compact()
    compactor = _start(["compact", str(folder), str(stop)])
    writers = [_start([str(folder), str(s.id), str(singles), str(bulk)], flush) for s in targets]
    try:
        for w in writers:
            _finish(w)  # exit status 0: not one append raised (CommitConflictError or any other error)
    finally:
        stop.touch()
    runs = int(_finish(compactor).split()[1])
    assert runs >= 1  # every compact() run finished without an error
    with open_store(folder) as store:
        for s in targets:
            texts = sorted(m.text_content for m in store.sessions.list_messages(s.id))
            assert texts == sorted([f"w{i}" for i in range(singles)] + [f"bulk{i}" for i in range(bulk)])
        store.compact()
        assert sum(len(store.sessions.list_messages(s.id)) for s in targets) == 3 * (singles + bulk)


def test_store_objects_of_one_folder_in_one_process_share_the_writer_lock(tmp_path: Path) -> None:
    """Two store objects on one folder in one process: threads take turns, and a write made by one object while
    the other is inside its own write on the same thread (a callback) goes through instead of waiting forever."""
    import threading

    from tests.stores._build import message, usage

    with open_store(tmp_path / "s") as a, open_store(tmp_path / "s") as b:
        mine = session(a, title="one")
        engine = a._engine  # type: ignore[attr-defined]
        nested: list[int] = []

        def body(con: object) -> None:
            nested.append(len(b.executions.record_usages([usage(mine.id, 3, 1)])))

        done = threading.Event()

        def nested_write() -> None:
            engine.write(body, "a write that lets the other store object write inside it")
            done.set()

        worker = threading.Thread(target=nested_write, daemon=True)
        worker.start()
        assert done.wait(120), "a nested write of the same folder waited on itself"
        assert nested == [1]

        def append(store: object, n: int) -> None:
            for i in range(n):
                store.sessions.append_message(message(mine.id, f"t{threading.get_ident()}-{i}"))  # type: ignore[attr-defined]

        threads = [threading.Thread(target=append, args=(s, 10)) for s in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert not any(t.is_alive() for t in threads)
        assert len(a.sessions.list_messages(mine.id)) == 20
        assert len(b.executions.list_usage(mine.id)) == 1
