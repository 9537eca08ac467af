"""``behest-lab sync`` killed with SIGKILL at many points leaves a consistent store, and the next run completes it.

Each case runs the real CLI in a subprocess on a behest SQLite database (written with behest's statements) with
small batches (``BEHEST_LAB_SYNC_BATCH_ROWS``), kills it a moment after the store's catalog shows the Nth new
snapshot, then checks: every session present has all of its rows, every stored record has its provenance row
(and no provenance row lacks its record), and a second run brings the store to the source's exact content, with a
third run finding nothing to do.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from behest_lab import open_store
from tests.lake.template import lake_store
from tests.sources._behest import BehestSqlite

SESSIONS = 120
RUN_LIMIT = 240.0
CHILDREN = ("messages", "tool_executions", "usage_records")


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = BehestSqlite(tmp_path_factory.mktemp("synckill") / "agent.db")
    db.con.execute("BEGIN")
    for _ in range(SESSIONS):
        db.conversation(turns=1)
    db.con.execute("COMMIT")
    db.close()
    return db.path


def _source_counts(path: Path) -> dict[str, dict[str, int]]:
    con = sqlite3.connect(path)
    try:
        return {t: dict(con.execute(f"SELECT session_id, count(*) FROM {t} GROUP BY 1").fetchall()) for t in CHILDREN}
    finally:
        con.close()


def _latest_snapshot(catalog: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            row = con.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return -1
    return -1 if row is None or row[0] is None else int(row[0])


def _sync(source: Path, folder: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "BEHEST_LAB_SYNC_BATCH_ROWS": "100"}
    command = [sys.executable, "-m", "behest_lab", "sync", f"sqlite://{source}", "--store", str(folder)]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def _kill_after(proc: subprocess.Popen[bytes], catalog: Path, snapshots: int, delay: float) -> bool:
    start = _latest_snapshot(catalog)
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None and _latest_snapshot(catalog) < start + snapshots:
        assert time.monotonic() < deadline, "the sync neither committed nor ended"
        time.sleep(0.005)
    if delay:
        time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=RUN_LIMIT)
    return killed


def _check_consistent(folder: Path, expected: dict[str, dict[str, int]]) -> int:
    with open_store(folder) as store:
        sessions = {r[0] for r in store.sql("SELECT CAST(id AS VARCHAR) FROM sessions").fetchall()}
        for table in CHILDREN:
            got = dict(store.sql(f"SELECT CAST(session_id AS VARCHAR), count(*) FROM {table} GROUP BY 1").fetchall())
            assert set(got) <= sessions, table
            for sid in sessions:
                assert got.get(sid, 0) == expected[table].get(sid, 0), (table, sid)
        for table in ("sessions", *CHILDREN):
            lost = store.sql(
                f'SELECT count(*) FROM {table} AS r ANTI JOIN provenance AS p ON p.record_id = r.id AND p."table" = ?',
                [table],
            ).fetchone()
            orphans = store.sql(
                f"SELECT count(*) FROM provenance AS p ANTI JOIN {table} AS r ON p.record_id = r.id "
                'WHERE p."table" = ?',
                [table],
            ).fetchone()
            assert lost == (0,), table
            assert orphans == (0,), table
    return len(sessions)


KILL_POINTS = [(1, 0.0), (1, 0.03), (1, 0.15), (2, 0.0), (2, 0.08), (3, 0.02), (4, 0.0)]


@pytest.mark.parametrize(("snapshots", "delay"), KILL_POINTS)
def test_a_killed_sync_is_consistent_and_the_next_run_completes_it(
    source: Path, tmp_path: Path, snapshots: int, delay: float
) -> None:
    folder = tmp_path / "lake"
    lake_store(folder).close()
    expected = _source_counts(source)
    proc = _sync(source, folder)
    killed = _kill_after(proc, folder / "catalog.sqlite", snapshots, delay)
    present = _check_consistent(folder, expected)
    if killed:
        assert proc.returncode == -signal.SIGKILL
        assert present < SESSIONS
    rerun = _sync(source, folder)
    out, err = rerun.communicate(timeout=RUN_LIMIT)
    assert rerun.returncode == 0, err.decode()
    assert _check_consistent(folder, expected) == SESSIONS
    last = _sync(source, folder)
    out, err = last.communicate(timeout=RUN_LIMIT)
    assert last.returncode == 0, err.decode()
    assert " 0 new, 0 updated" in out.decode()
