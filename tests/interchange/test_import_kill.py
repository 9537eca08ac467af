"""``behest-lab import behest-sqlite`` killed with SIGKILL at many points leaves whole batches only.

Each case runs the real CLI in a subprocess on a database laid out as behest writes it (200 sessions: four batches
of 50), kills it at one point (a moment after the store's catalog shows the Nth new snapshot, i.e. in or between
batch commits), then checks the store against the source: every session present has all of its messages, tool
executions and usage records. A second run then completes the import to the source's exact counts.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from behest_lab import open_store
from tests.interchange._behest_db import behest_db, insert
from tests.lake.template import lake_store

SESSIONS = 200
CHILDREN = {"messages": 5, "tool_executions": 2, "usage_records": 3}
#: give up on one run after this long (a hung import fails the test rather than the suite)
RUN_LIMIT = 240.0


def _uuid(kind: int, n: int) -> str:
    return f"0190a5d0-0000-7000-8{kind:03x}-{n:012x}"


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("kill") / "agent.db"
    con = behest_db(path)
    con.execute("BEGIN")
    for s in range(SESSIONS):
        sid = _uuid(1, s)
        stamp = f"2025-03-{1 + s % 28:02d}T12:{s % 60:02d}:00.000+00:00"
        insert(con, "sessions", id=sid, title=f"session {s}", created_at=stamp, updated_at=stamp)
        for table, n in CHILDREN.items():
            for j in range(n):
                row = {"id": _uuid(2 + len(table), s * 10 + j), "session_id": sid, "created_at": stamp}
                if table != "messages":
                    row["message_id"] = _uuid(10, s * 10 + j % CHILDREN["messages"])
                insert(con, table, **row)
    con.execute("COMMIT")
    con.close()
    return path


def _source_counts(path: Path) -> dict[str, Counter[str]]:
    con = sqlite3.connect(path)
    try:
        return {
            table: Counter(dict(con.execute(f"SELECT session_id, count(*) FROM {table} GROUP BY 1")))
            for table in CHILDREN
        }
    finally:
        con.close()


def _latest_snapshot(catalog: Path) -> int:
    """The catalog's newest snapshot id, read with SQLite read-only (-1 while the catalog is busy)."""
    try:
        con = sqlite3.connect(f"file:{catalog}?mode=ro", uri=True, timeout=0.1)
        try:
            row = con.execute("SELECT max(snapshot_id) FROM ducklake_snapshot").fetchone()
        finally:
            con.close()
    except sqlite3.OperationalError:
        return -1
    return -1 if row is None or row[0] is None else int(row[0])


def _import(source: Path, folder: Path) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "behest_lab", "import", "behest-sqlite", str(source), "--store", str(folder)]
    return subprocess.Popen([*command, "--no-progress"], stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _kill_after(proc: subprocess.Popen[bytes], catalog: Path, snapshots: int, delay: float) -> bool:
    """SIGKILL ``proc`` ``delay`` seconds after ``snapshots`` new snapshots appeared; False if it ended first."""
    start = _latest_snapshot(catalog)
    deadline = time.monotonic() + RUN_LIMIT
    while proc.poll() is None and _latest_snapshot(catalog) < start + snapshots:
        assert time.monotonic() < deadline, "the import neither committed nor ended"
        time.sleep(0.005)
    if delay:
        time.sleep(delay)
    killed = proc.poll() is None
    if killed:
        os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=RUN_LIMIT)  # reaps it and closes its pipes
    return killed


def _store_counts(folder: Path) -> tuple[set[str], dict[str, Counter[str]]]:
    with open_store(folder) as store:
        sessions = {r[0] for r in store.sql("SELECT CAST(id AS VARCHAR) FROM sessions").fetchall()}
        counts = {
            table: Counter(
                dict(store.sql(f"SELECT CAST(session_id AS VARCHAR), count(*) FROM {table} GROUP BY 1").fetchall())
            )
            for table in CHILDREN
        }
    return sessions, counts


# (new snapshots to wait for, then seconds before the kill): the first commit of a run is its first batch
KILL_POINTS = [(1, 0.0), (1, 0.05), (1, 0.2), (2, 0.0), (2, 0.1), (3, 0.03)]


@pytest.mark.parametrize(("snapshots", "delay"), KILL_POINTS)
def test_a_killed_import_holds_whole_batches_and_a_rerun_completes_it(
    source: Path, tmp_path: Path, snapshots: int, delay: float
) -> None:
    folder = tmp_path / "lake"
    lake_store(folder).close()
    expected = _source_counts(source)

    proc = _import(source, folder)
    killed = _kill_after(proc, folder / "catalog.sqlite", snapshots, delay)
    sessions, counts = _store_counts(folder)
    if killed:
        # a kill after the first commit of four: the import was interrupted with work left
        assert proc.returncode == -signal.SIGKILL
        assert 0 < len(sessions) < SESSIONS
    assert len(sessions) % 50 == 0, "whole batches of 50 sessions only"
    for table in CHILDREN:
        assert set(counts[table]) <= sessions, table
        for sid in sessions:
            assert counts[table][sid] == expected[table][sid], (table, sid)

    rerun = _import(source, folder)
    _, err = rerun.communicate(timeout=RUN_LIMIT)
    assert rerun.returncode == 0, err.decode()
    sessions, counts = _store_counts(folder)
    assert len(sessions) == SESSIONS
    assert counts == expected
