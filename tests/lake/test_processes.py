"""Several real processes on one store: a reader beside a writer, two writers, a writer killed mid-stream."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import open_store
from tests.stores._build import message, session

ROOT = Path(__file__).resolve().parents[2]


def _writer(
    store: Path, session_id: UUID, count: int, bulk: int, ids_file: Path | None = None
) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "tests.lake._worker", str(store), str(session_id), str(count), str(bulk)]
    if ids_file is not None:
        args.append(str(ids_file))
    return subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen[str], timeout: float = 60) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    assert proc.returncode == 0, err
    assert out.strip() == "done"


@pytest.mark.slow
def test_a_reader_sees_a_writer_process_progress(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with open_store(folder) as store:
        s = session(store)
        proc = _writer(folder, s.id, 25, 200)
        seen = []
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            seen.append(len(store.sessions.list_messages(s.id)))
            store.sql("select count(*) from messages").fetchall()
            time.sleep(0.02)
        _finish(proc)
        assert seen == sorted(seen)  # committed messages never disappear for the reader
        assert len(store.sessions.list_messages(s.id)) == 225
        assert store.sql("select count(*) from messages").fetchone() == (225,)


@pytest.mark.slow
def test_two_writer_processes_both_succeed(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    with open_store(folder) as store:
        a, b = session(store), session(store)
    procs = [_writer(folder, a.id, 20, 300), _writer(folder, b.id, 20, 300)]
    for p in procs:
        _finish(p)
    with open_store(folder) as store:
        for s in (a, b):
            texts = [m.text_content for m in store.sessions.list_messages(s.id)]
            assert sorted(texts) == sorted([f"w{i}" for i in range(20)] + [f"bulk{i}" for i in range(300)])


@pytest.mark.slow
def test_a_killed_writer_loses_nothing_acknowledged(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    ids_file = tmp_path / "ids.txt"
    with open_store(folder) as store:
        s = session(store)
    proc = _writer(folder, s.id, 0, 0, ids_file)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if ids_file.exists() and len(ids_file.read_text().splitlines()) >= 15:
            break
        assert proc.poll() is None, proc.communicate()[1]
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    acknowledged = {UUID(line) for line in ids_file.read_text().splitlines() if len(line) == 36}
    assert len(acknowledged) >= 15
    with open_store(folder) as store:
        stored = {m.id for m in store.sessions.list_messages(s.id)}
        assert acknowledged <= stored
        after = store.sessions.append_message(message(s.id, "after the crash"))
        assert store.sessions.list_messages(s.id)[-1] == after
        store.compact()
        assert {m.id for m in store.sessions.list_messages(s.id)} == stored | {after.id}
