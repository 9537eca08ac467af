"""``open_source``'s scheme registry, ``redact_url``, ``fingerprint`` and the ``behest-lab sync`` command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pyarrow as pa
import pytest

from behest_lab import SourceError
from behest_lab.cli import main
from behest_lab.sources import (
    FINGERPRINT_SCHEMA,
    SCHEMES,
    Source,
    fingerprint,
    fingerprint_table,
    open_source,
    redact_url,
)
from behest_lab.sources.sqlite import SQLiteSource
from tests.sources._behest import BehestSqlite


def test_sqlite_urls_and_plain_paths_open_the_sqlite_reader(tmp_path: Path) -> None:
    db = BehestSqlite(tmp_path / "agent.db")
    db.conversation()
    for url in (f"sqlite://{db.path}", str(db.path)):
        source = open_source(url)
        try:
            assert isinstance(source, SQLiteSource)
            assert isinstance(source, Source)
            assert source.kind == "sqlite"
            assert source.location == str(db.path.resolve())
            prints = source.fingerprints()
            assert prints.schema == FINGERPRINT_SCHEMA
            assert prints.num_rows == 1 + 6 + 2 + 2
        finally:
            source.close()


def test_fingerprints_change_only_with_the_row(tmp_path: Path) -> None:
    db = BehestSqlite(tmp_path / "agent.db")
    sid = db.conversation()
    source = open_source(str(db.path))
    try:
        before = {(t, i): f for t, i, _, f in zip(*source.fingerprints().to_pydict().values(), strict=True)}
        assert source.fingerprints().equals(source.fingerprints())
        db.update_session(sid, "renamed")
        after = {(t, i): f for t, i, _, f in zip(*source.fingerprints().to_pydict().values(), strict=True)}
    finally:
        source.close()
    assert {k for k in before if before[k] != after[k]} == {("sessions", sid)}


def test_unknown_schemes_and_missing_readers_are_named() -> None:
    with pytest.raises(SourceError, match="unknown scheme 'ftp'") as info:
        open_source("ftp://user:hunter2@host/x")
    assert "hunter2" not in str(info.value)
    assert info.value.location == "ftp://user@host/x"
    for scheme in ("postgresql", "mysql", "redis", "mongodb", "file", "s3", "qdrant", "surrealdb"):
        assert scheme in SCHEMES
    with pytest.raises(SourceError, match="no such file or folder"):
        open_source("/nonexistent/agent.db")


def test_redact_url_drops_passwords_and_secret_parameters() -> None:
    assert redact_url("postgresql://bob:s3cret@db:5432/behest") == "postgresql://bob@db:5432/behest"
    assert redact_url("redis://:s3cret@cache:6379/0") == "redis://cache:6379/0"
    assert redact_url("mysql://u@h/db?password=x&ssl=true") == "mysql://u@h/db?ssl=true"
    assert redact_url("s3://bucket/prefix?aws_secret_access_key=x&region=eu") == "s3://bucket/prefix?region=eu"
    assert redact_url("/plain/path/agent.db") == "/plain/path/agent.db"


def test_fingerprint_is_stable_and_tells_values_apart() -> None:
    assert fingerprint("a", None, 1) == fingerprint("a", None, 1)
    assert len({fingerprint("ab", "c"), fingerprint("a", "bc"), fingerprint("ab", None), fingerprint(b"ab", "c")}) == 4
    code = "from behest_lab.sources import fingerprint; print(fingerprint('x', 2, None, b'y'))"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(other.stdout) == fingerprint("x", 2, None, b"y")
    table = fingerprint_table([("messages", "id-1", None, fingerprint("x")), ("sessions", "s", "s", 0)])
    assert table.schema == FINGERPRINT_SCHEMA
    assert table.column("fp").type == pa.uint64()


def test_the_sync_command_prints_its_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = BehestSqlite(tmp_path / "agent.db")
    db.conversation()
    assert main(["sync", f"sqlite://{db.path}", "--store", str(tmp_path / "lake")]) == 0
    out = capsys.readouterr().out
    assert "6 messages" not in out
    assert "11 new, 0 updated" in out
    assert "messages: 6 new" in out
    assert main(["sync", "ftp://x/y", "--store", str(tmp_path / "lake")]) == 1
    assert "unknown scheme" in capsys.readouterr().err


def test_watch_prints_one_status_line_per_run_and_stops_on_interrupt(tmp_path: Path) -> None:
    db = BehestSqlite(tmp_path / "agent.db")
    db.conversation()
    command = [sys.executable, "-m", "behest_lab", "sync", str(db.path), "--store", str(tmp_path / "lake")]
    proc = subprocess.Popen([*command, "--watch", "0.2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    lines: list[str] = []
    assert proc.stdout is not None
    while len(lines) < 2 and time.monotonic() < deadline:
        lines.append(proc.stdout.readline())
    os.kill(proc.pid, signal.SIGINT)
    _rest, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert lines[0].startswith("[")
    assert "run 1: sqlite" in lines[0]
    assert "11 new" in lines[0]
    assert "run 2: sqlite" in lines[1]
    assert "0 new, 0 updated" in lines[1]
    assert "11 unchanged" in lines[1]
