"""The lake store maintains itself: small files are merged after writes, large rows never tax other reads.

Every bulk write adds a Parquet file to each table it touches; ``AutoMerge`` merges a table's small files once
there are more than its threshold of them, so their number stays bounded however many batches are written. A row
larger than ``config.LARGE_INSERT_BYTES`` is never inlined into the catalog (which every query reads whole): it goes
to a file of its own, which other sessions' reads skip by its statistics. Everything here is observed in the
catalog or in DuckDB's own account of a query (``EXPLAIN ANALYZE``), never by timing.
"""

from __future__ import annotations

import base64
import os
import random
import re
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from behest_lab import MessageRecord, open_store
from behest_lab.stores.lake import AutoMerge, LakeStore
from behest_lab.stores.lake.config import LARGE_INSERT_BYTES
from behest_lab.stores.lake.maintenance import AutoMerger
from tests.lake.test_auto_flush import _layout
from tests.stores._build import message, session

ROOT = Path(__file__).resolve().parents[2]


def _open(path: Path, merge: AutoMerge | None) -> LakeStore:
    # every bulk write becomes a Parquet file (no inlining), as imports of more than 1,000 rows do
    store = open_store(path, inlining_row_limit=0, auto_merge=merge, flush_every=None)
    assert isinstance(store, LakeStore)
    return store


def _small_files(store: LakeStore, table: str, below: int) -> int:
    e = store._engine
    return int(
        e.scalar(
            f"SELECT count(*) FROM ducklake_list_files('{e.alias}', '{table}') AS f "
            f"JOIN {e.meta}.ducklake_data_file AS d ON d.path = parse_filename(f.data_file) "
            "AND d.end_snapshot IS NULL WHERE d.file_size_bytes < ?",
            [below],
        )
    )


def _files(store: LakeStore, table: str = "messages") -> int:
    e = store._engine
    return int(e.scalar(f"SELECT count(*) FROM ducklake_list_files('{e.alias}', '{table}')"))


def _batches(store: LakeStore, sids: list[UUID], rounds: int, per: int) -> list[MessageRecord]:
    """``rounds`` bulk batches, each spanning every session (``per`` messages each); all messages sent."""
    sent: list[MessageRecord] = []
    for r in range(rounds):
        batch = [message(sid, f"r{r}-s{k}-m{i}") for k, sid in enumerate(sids) for i in range(per)]
        sent += store.sessions.append_messages(batch)
    return sent


def _merger(store: LakeStore) -> AutoMerger:
    merger = store._engine.after_write
    assert isinstance(merger, AutoMerger)
    return merger


def test_auto_merge_keeps_the_file_count_bounded_and_the_data_unchanged(tmp_path: Path) -> None:
    """After every bulk batch a table holds at most ``threshold`` small files; every row is kept as written."""
    merge = AutoMerge(threshold=4)
    store = _open(tmp_path / "s", merge)
    sids = [session(store).id for _ in range(5)]
    sent: list[MessageRecord] = []
    for r in range(20):
        sent += _batches(store, sids, 1, 3)
        # checked after every commit: never more small files than the threshold once the commit returns
        assert _small_files(store, "messages", merge.small_file_bytes) <= merge.threshold, r
    merger = _merger(store)
    assert merger.merges >= 4
    assert merger.skipped == 0
    assert _files(store) <= merge.threshold
    # exact content, in append order, per session
    for sid in sids:
        assert store.sessions.list_messages(sid) == [m for m in sent if m.session_id == sid]
    assert store.sql("SELECT count(*) FROM messages").fetchone() == (len(sent),)
    store.close()
    with open_store(tmp_path / "s") as reopened:
        assert sorted(m.text_content for sid in sids for m in reopened.sessions.list_messages(sid)) == sorted(
            m.text_content for m in sent
        )


def test_without_auto_merge_every_batch_stays_a_file(tmp_path: Path) -> None:
    """``auto_merge=None`` turns merging off: one file per batch until ``compact()``."""
    store = _open(tmp_path / "s", None)
    assert store._engine.after_write is None
    sids = [session(store).id for _ in range(3)]
    sent = _batches(store, sids, 12, 2)
    assert _files(store) == 12
    assert store.sessions.list_messages(sids[0]) == [m for m in sent if m.session_id == sids[0]]
    store.compact()
    assert _files(store) == 1
    store.close()


def test_a_threshold_that_is_not_passed_merges_nothing(tmp_path: Path) -> None:
    """No merge runs while a table holds no more small files than the threshold."""
    store = _open(tmp_path / "s", AutoMerge(threshold=50))
    sids = [session(store).id for _ in range(2)]
    _batches(store, sids, 10, 2)
    assert _files(store) == 10
    assert _merger(store).merges == 0
    store.close()


def test_a_run_rewrites_only_small_files_and_few_of_them(tmp_path: Path) -> None:
    """The work bound: a merge replaces only small files, and few of them.

    Each merge commit replaces only files below ``small_file_bytes``, no more of them than the threshold plus the
    files of the commit that triggered it; a large file is never rewritten.
    """
    merge = AutoMerge(threshold=3, small_file_bytes=20_000)
    store = _open(tmp_path / "s", merge)
    sid = session(store).id
    rng = random.Random(7)
    words = [f"w{rng.randrange(10**9)}" for _ in range(4000)]
    store.sessions.append_messages([message(sid, " ".join(words[i : i + 40])) for i in range(0, 4000, 10)])
    e = store._engine
    large = e.rows(
        f"SELECT data_file_id, file_size_bytes FROM {e.meta}.ducklake_data_file WHERE end_snapshot IS NULL "
        "AND file_size_bytes >= ?",
        [merge.small_file_bytes],
    )
    assert len(large) == 1  # the big batch is one file above the small-file size

    def live() -> dict[int, int]:
        rows = e.rows(
            f"SELECT data_file_id, file_size_bytes FROM {e.meta}.ducklake_data_file WHERE end_snapshot IS NULL"
        )
        return {int(r["data_file_id"]): int(r["file_size_bytes"]) for r in rows}

    runs = 0
    files = live()
    for r in range(12):
        store.sessions.append_messages([message(sid, f"small {r}")])
        now = live()
        replaced = [size for fid, size in files.items() if fid not in now]
        if replaced:  # this commit triggered a merge (merged files leave the catalog's live list)
            runs += 1
            assert 2 <= len(replaced) <= merge.threshold + 1
            assert all(size < merge.small_file_bytes for size in replaced)
        files = now
    assert runs >= 2
    assert runs == _merger(store).merges
    still = e.scalar(
        f"SELECT end_snapshot IS NULL FROM {e.meta}.ducklake_data_file WHERE data_file_id = ?",
        [large[0]["data_file_id"]],
    )
    assert still is True
    assert len(store.sessions.list_messages(sid)) == 400 + 12
    store.close()


def test_a_time_travel_view_before_a_merge_still_reads_its_rows(tmp_path: Path) -> None:
    """A merge keeps each snapshot's rows: a view of a snapshot before it reads them all."""
    store = _open(tmp_path / "s", AutoMerge(threshold=2))
    sid = session(store).id
    _batches(store, [sid], 2, 2)
    before = store.snapshot_id
    _batches(store, [sid], 4, 2)
    assert _merger(store).merges >= 1
    with open_store(tmp_path / "s", snapshot=before) as past:
        assert sorted(m.text_content for m in past.sessions.list_messages(sid)) == sorted(
            f"r{r}-s0-m{i}" for r in range(2) for i in range(2)
        )
    store.close()


def _start(args: list[str], env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.lake._worker", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **env},
    )


def _finish(proc: subprocess.Popen[str], timeout: float = 240) -> str:
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
def test_readers_never_see_rows_disappear_while_writers_merge(tmp_path: Path) -> None:
    """Readers in other processes never see a count drop while writers merge.

    Two writer processes write bulk batches and merge after every second file; two reader processes count each
    session's messages over and over and stop with an error the moment a count drops.
    """
    folder = tmp_path / "s"
    stop = tmp_path / "stop"
    rounds, size = 30, 5
    with open_store(folder) as store:
        a, b = session(store), session(store)
    env = {"WORKER_AUTO_MERGE": "2"}
    writers = [_start(["bulk", str(folder), str(s.id), str(rounds), str(size)], env) for s in (a, b)]
    readers = [_start(["read", str(folder), str(stop), str(a.id), str(b.id)], {}) for _ in range(2)]
    try:
        while any(w.poll() is None for w in writers):
            assert all(r.poll() is None for r in readers), [_finish(r) for r in readers if r.poll() is not None]
            time.sleep(0.2)
        merges = [int(re.search(r"merges=(\d+)", _finish(w)).group(1)) for w in writers]  # type: ignore[union-attr]
    finally:
        stop.touch()
    seen = [_finish(r) for r in readers]
    assert sum(merges) >= 5  # the readers raced many merge commits
    for out in seen:
        assert f"{a.id}={rounds * size}" in out, out
        assert f"{b.id}={rounds * size}" in out, out
    with open_store(folder) as store:
        for s in (a, b):
            texts = sorted(m.text_content for m in store.sessions.list_messages(s.id))
            assert texts == sorted(f"b{r}-{i}" for r in range(rounds) for i in range(size))


# --- large rows -----------------------------------------------------------------------------------------------


def _files_read(store: LakeStore, session_id: UUID) -> int:
    """How many Parquet files DuckDB opened to answer ``list_messages`` of the session (its own account)."""
    e = store._engine
    plan = e.rows("EXPLAIN ANALYZE SELECT * FROM messages WHERE session_id = ?", [str(session_id)])
    text = "\n".join(str(v) for r in plan for v in r.values())
    found = re.findall(r"Total Files Read:\s*(\d+)", text)
    assert found, text
    return sum(int(n) for n in found)


def _noise(n: int) -> str:
    """``n`` characters that barely compress (so the file holding them is as large as the text)."""
    return base64.b64encode(random.Random(n).randbytes(n * 3 // 4)).decode()[:n]


def test_a_large_message_is_never_inlined(tmp_path: Path) -> None:
    """A message above ``LARGE_INSERT_BYTES`` goes to a Parquet file, also when it is rewritten."""
    store = open_store(tmp_path / "s")  # the defaults: single writes are inlined
    assert isinstance(store, LakeStore)
    s = session(store)
    small = store.sessions.append_message(message(s.id, "small"))
    assert _layout(store) == (1, 0)
    big = store.sessions.append_message(message(s.id, _noise(LARGE_INSERT_BYTES + 1000)))
    # the small one stays inlined, the large one went to a Parquet file of its own
    assert _layout(store) == (1, 1)
    assert store.sessions.list_messages(s.id) == [small, big]
    # rewriting it (usage, compaction flags) keeps it out of the catalog too
    store.sessions.mark_compacted(big.id)
    assert _layout(store)[0] == 1
    assert store.sessions.list_messages(s.id)[1].text_content == big.text_content
    store.close()


def test_a_large_message_is_not_read_by_other_sessions_reads(tmp_path: Path) -> None:
    """Other sessions' reads do not open the large message's file, before and after merges."""
    store = open_store(tmp_path / "s", inlining_row_limit=0, flush_every=None)
    assert isinstance(store, LakeStore)
    sids = [session(store).id for _ in range(4)]
    # sessions 0-1 and 2-3 in separate files (two batches), as imports of separate sessions leave them
    store.sessions.append_messages([message(sid, f"m{i}") for sid in sids[:2] for i in range(5)])
    store.sessions.append_messages([message(sid, f"m{i}") for sid in sids[2:] for i in range(5)])
    before = {sid: _files_read(store, sid) for sid in sids}
    assert before[sids[3]] == 1
    big = store.sessions.append_message(message(sids[0], _noise(5_000_000)))
    assert _layout(store)[0] == 0
    # the reads of the other sessions open exactly the files they opened before: the large row's file is skipped
    # by its statistics (it names one session) without being opened
    for sid in sids[1:]:
        assert _files_read(store, sid) == before[sid], sid
    assert _files_read(store, sids[0]) == before[sids[0]] + 1
    # more batches and automatic merges later, the large file is still a file of its own, never merged
    merging = open_store(tmp_path / "s", inlining_row_limit=0, auto_merge=AutoMerge(threshold=2))
    assert isinstance(merging, LakeStore)
    for r in range(6):
        merging.sessions.append_messages([message(sid, f"later{r}") for sid in sids[2:]])
    assert _merger(merging).merges >= 1
    assert _files_read(merging, sids[3]) <= 2
    e = merging._engine
    holder = e.rows(
        f"SELECT record_count FROM {e.meta}.ducklake_data_file WHERE end_snapshot IS NULL AND file_size_bytes >= ?",
        [AutoMerge().small_file_bytes],
    )
    assert holder == [{"record_count": 1}]
    assert merging.sessions.list_messages(sids[0])[-1] == big
    merging.close()
    store.close()
