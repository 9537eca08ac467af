"""The committed sample in data/: regenerating gives the same bytes, and importing it gives the counts an
independent reader (json, sqlite3) finds in the files."""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from behest_lab import Store, open_store
from behest_lab.cli import main
from behest_lab.cli.data import JSONL_NAME, MAX_BYTES, SAMPLE_SEED, SAMPLE_SESSIONS, SQLITE_NAME
from behest_lab.interchange import import_behest_sqlite, import_jsonl
from behest_lab.sample import iter_batches

DATA = Path(__file__).resolve().parent.parent / "data"
SQL_TABLES = ("sessions", "messages", "tool_executions", "usage_records")
KIND_TABLE = {
    "session": "sessions",
    "message": "messages",
    "tool_execution": "tool_executions",
    "usage_record": "usage_records",
    "embedding": "embeddings",
    "artifact": "artifacts",
}


def jsonl_counts(path: Path) -> Counter[str]:
    with path.open(encoding="utf-8") as f:
        return Counter(KIND_TABLE[json.loads(line)["kind"]] for line in f if line.strip())


def sqlite_counts(path: Path) -> dict[str, int]:
    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in SQL_TABLES}
    finally:
        con.close()


def store_counts(store: Store, tables: tuple[str, ...]) -> dict[str, int]:
    return {t: int(store.sql(f"SELECT count(*) FROM {t}").fetchone()[0]) for t in tables}  # type: ignore[index]


@pytest.mark.slow
def test_regenerating_gives_the_committed_bytes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sample-data", str(tmp_path / "out")]) == 0
    assert "Wrote" in capsys.readouterr().out
    for name in (JSONL_NAME, SQLITE_NAME):
        fresh = (tmp_path / "out" / name).read_bytes()
        committed = (DATA / name).read_bytes()
        assert fresh == committed, f"data/{name} drifted from the generator: run `make data` and commit the result"
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [JSONL_NAME, SQLITE_NAME]


def test_rerun_replaces_the_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A second run into the same folder replaces the database instead of adding to it."""
    assert main(["sample-data", str(tmp_path), "--sessions", "3", "--seed", "4"]) == 0
    first = {n: (tmp_path / n).read_bytes() for n in (JSONL_NAME, SQLITE_NAME)}
    assert main(["sample-data", str(tmp_path), "--sessions", "3", "--seed", "4"]) == 0
    assert {n: (tmp_path / n).read_bytes() for n in (JSONL_NAME, SQLITE_NAME)} == first
    assert sqlite_counts(tmp_path / SQLITE_NAME)["sessions"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == [JSONL_NAME, SQLITE_NAME]
    assert "3 sessions" in capsys.readouterr().out


def test_sample_is_small_and_interesting() -> None:
    assert (DATA / JSONL_NAME).stat().st_size + (DATA / SQLITE_NAME).stat().st_size <= MAX_BYTES
    counts = jsonl_counts(DATA / JSONL_NAME)
    assert counts["sessions"] == SAMPLE_SESSIONS
    assert counts["embeddings"] > 0
    assert counts["artifacts"] > 0
    with (DATA / JSONL_NAME).open(encoding="utf-8") as f:
        records = [json.loads(line) for line in f]
    models = {r["record"]["model"] for r in records if r["kind"] == "session"}
    statuses = Counter(r["record"]["status"] for r in records if r["kind"] == "tool_execution")
    compactions = sum(bool(r["record"].get("is_compaction")) for r in records if r["kind"] == "message")
    assert len(models) >= 6
    assert statuses["failed"] > 0
    assert compactions >= 5
    assert (DATA / "README.md").is_file()


def test_jsonl_and_sqlite_agree_with_the_generator() -> None:
    """The generator (no store, no exporter) wrote the records both files hold."""
    want: Counter[str] = Counter()
    for batch in iter_batches(sessions=SAMPLE_SESSIONS, seed=SAMPLE_SEED):
        want.update({k: v for k, v in batch.summary().as_dict().items() if k != "compactions"})
    assert jsonl_counts(DATA / JSONL_NAME) == want
    assert sqlite_counts(DATA / SQLITE_NAME) == {t: want[t] for t in SQL_TABLES}


def test_importing_the_jsonl_gives_the_file_counts() -> None:
    want = jsonl_counts(DATA / JSONL_NAME)
    with open_store(None) as store:
        report = import_jsonl(store, DATA / JSONL_NAME, progress=False)
        assert store_counts(store, tuple(KIND_TABLE.values())) == dict(want)
    assert {t: c.imported for t, c in report.tables.items()} == {t: want[t] for t in KIND_TABLE.values()}


def test_importing_the_sqlite_gives_the_database_counts() -> None:
    want = sqlite_counts(DATA / SQLITE_NAME)
    with open_store(None) as store:
        import_behest_sqlite(store, DATA / SQLITE_NAME, progress=False)
        assert store_counts(store, SQL_TABLES) == want
        # tool messages get their call ids back by pairing with the preceding calls
        unpaired = store.sql("SELECT count(*) FROM messages WHERE role = 'tool' AND tool_call_id IS NULL").fetchone()
        assert unpaired == (0,)


def test_bad_sessions_argument(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sample-data", str(tmp_path), "--sessions", "-3"])
    assert exc.value.code == 2
    assert "must be >= 0" in capsys.readouterr().err
