"""Several machines on one shared store: 3 writer processes and 1 reader/compactor process at the same time.

Each process has its own DuckDB instance and shares only PostgreSQL (the catalog) and S3 (the files), exactly as
separate hosts would. Afterwards: every row a writer was told was written is there, the counts are exact, no
caller saw an error, and the reader's counts never went down (committed rows never disappear, not even while
compactions rewrite the files under it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import StoreConfig, open_store
from tests.remote import _host
from tests.remote._env import ROOT, host_env
from tests.services import S3Server

WRITERS = 3
ROUNDS = 4


def _spawn(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.remote._host", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _finish(proc: subprocess.Popen[str], what: str, timeout: float = 240) -> None:
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        pytest.fail(f"{what} did not finish in {timeout} s; stderr:\n{err[-3000:]}")
    assert proc.returncode == 0, f"{what} failed (exit {proc.returncode}):\n{err[-3000:]}"
    assert out.strip() == "done", f"{what}: {out!r}"


def _lines(path: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@pytest.mark.slow
def test_three_writers_and_a_compacting_reader_lose_nothing(
    remote_config: StoreConfig, s3_server: S3Server, tmp_path: Path
) -> None:
    env = host_env(remote_config, s3_server, tmp_path / "cache")
    stop = tmp_path / "writers-done"
    start_at = time.time() + 4.0  # all processes import and attach first, then start together
    writers = {
        f"w{i}": _spawn(["writer", f"w{i}", str(ROUNDS), str(tmp_path / f"w{i}.jsonl"), str(start_at)], env)
        for i in range(WRITERS)
    }
    reader = _spawn(["reader", "r", str(stop), str(tmp_path / "reader.jsonl"), str(start_at)], env)
    try:
        for name, proc in writers.items():
            _finish(proc, f"writer {name}")
    finally:
        stop.touch()
    _finish(reader, "reader")

    acknowledged: dict[str, set[UUID]] = defaultdict(set)
    for name in writers:
        for line in _lines(tmp_path / f"{name}.jsonl"):
            acknowledged[str(line["kind"])].update(UUID(i) for i in line["ids"])  # type: ignore[attr-defined]
    # what the workload defines, computed independently of the files: every call returned
    expected = {
        "sessions": WRITERS * ROUNDS,
        "messages": WRITERS * ROUNDS * (_host.SINGLES + _host.BULK),
        "tool_executions": WRITERS * ROUNDS * _host.EXECUTIONS,
        "usage_records": WRITERS * ROUNDS * _host.USAGES,
        "embeddings": WRITERS * ROUNDS * _host.EMBEDDINGS,
    }
    assert {k: len(v) for k, v in acknowledged.items()} == expected

    with open_store(remote_config) as store:
        stored = {t: {UUID(str(r[0])) for r in store.sql(f"SELECT id FROM {t}").fetchall()} for t in _host.COUNTED}
        for table in _host.COUNTED:
            assert stored[table] == acknowledged[table], table
            assert store.sql(f"SELECT count(*) FROM {table}").fetchone() == (expected[table],)
        # per-session reads agree with the table view: the messages of each session, in append order per host
        for s in store.sessions.list_sessions():
            texts = [m.text_content for m in store.sessions.list_messages(s.id)]
            assert len(texts) == _host.SINGLES + _host.BULK
            assert texts[: _host.SINGLES] == [f"{s.title.replace('-', ' r')} single {i}" for i in range(_host.SINGLES)]

    rounds = _lines(tmp_path / "reader.jsonl")
    assert len(rounds) >= 2
    assert any("compacted" in r for r in rounds), "the reader never compacted while the writers ran"
    for table in _host.COUNTED:
        seen = [int(r["counts"][table]) for r in rounds]  # type: ignore[index]
        assert seen == sorted(seen), f"{table}: the reader's counts went down: {seen}"
        assert seen[-1] == expected[table]
