"""``behest-lab migrate``: folder -> shared store -> folder round trip with row-level equality, and its refusals."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from behest_lab import Store, StoreConfig, TokenUsage, open_store
from behest_lab.cli import main
from behest_lab.errors import BackendError, InterchangeError
from behest_lab.interchange.store_copy import MigrateReport, TableCheck, _fingerprints, migrate_store
from tests.services import S3_KEY_ID, S3_REGION, S3_SECRET, S3Server
from tests.stores._build import artifact, at, embedding, execution, message, session, usage

TABLES = ("sessions", "messages", "tool_executions", "usage_records", "embeddings", "artifacts")


def _fill(store: Store, tag: str = "") -> None:
    """A bit of everything: Parquet files and inlined rows, deletes, ties that only recording order breaks."""
    a = session(store, title=f"a{tag}", metadata={"team": "x", "n": [1, 2]})
    b = session(store, title=f"b{tag}", model="other", created_at=at(5), updated_at=at(6))
    bulk = store.sessions.append_messages([message(a.id, f"bulk {i}", created_at=at(i)) for i in range(1200)])
    store.sessions.append_messages([message(b.id, f"quiet {i}") for i in range(3)], touch_session=False)
    store.sessions.append_message(message(b.id, "touching"))
    store.sessions.update_usage(bulk[3].id, TokenUsage.new(7, 3))
    store.sessions.mark_compacted(bulk[4].id)
    # equal created_at: list_executions / list_usage order them by recording order
    store.executions.record_executions(
        [execution(a.id, bulk[0].id, call_id=f"c{i}", created_at=at(1)) for i in range(5)]
    )
    store.executions.record_usages([usage(a.id, 10 + i, 1, created_at=at(2)) for i in range(4)])
    store.embeddings.upsert_many([embedding([1.0, float(i), -0.5], session_id=a.id) for i in range(20)])
    store.embeddings.upsert(embedding([0.25] * 5, metadata={"k": "v"}))
    store.artifacts.put_many([artifact(bytes([i]) * (100 + i), session_id=a.id, name=f"f{i}") for i in range(3)])
    gone = session(store, title="gone")
    store.sessions.append_messages([message(gone.id, f"g{i}") for i in range(50)])
    store.delete_session(gone.id)
    if hasattr(store, "compact"):
        store.compact()
    store.sessions.append_message(message(a.id, "after compaction"))


def _rows(store: Store) -> dict[str, Any]:
    """Every row of every table (the SQL view as users see it), plus the API's ordered reads and artifact bytes."""
    out: dict[str, Any] = {t: store.sql(f"SELECT * FROM {t} ORDER BY id").fetchall() for t in TABLES}
    for s in store.sessions.list_sessions():
        out[f"messages {s.id}"] = store.sessions.list_messages(s.id)
        out[f"executions {s.id}"] = store.executions.list_executions(s.id)
        out[f"usage {s.id}"] = store.executions.list_usage(s.id)
        out[f"artifacts {s.id}"] = store.artifacts.list_by_session(s.id)
    out["list_sessions"] = store.sessions.list_sessions()
    out["search"] = store.embeddings.search([1.0, 3.0, -0.5], 5)
    return out


def test_copy_is_the_command_and_migrate_its_former_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from behest_lab.interchange import CopyReport, copy_store

    assert migrate_store is copy_store
    assert MigrateReport is CopyReport
    with open_store(tmp_path / "a") as a:
        session(a, title="one")
    assert main(["copy", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b")]) == 0
    assert main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "c")]) == 0
    printed = capsys.readouterr().out
    assert printed.count("verified") == 2
    for name in ("b", "c"):
        with open_store(tmp_path / name) as copy:
            assert [s.title for s in copy.sessions.list_sessions()] == ["one"]


@pytest.mark.slow
def test_folder_to_folder_copies_every_row_exactly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(tmp_path / "a") as a:
        _fill(a)
        expected = _rows(a)
    assert main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b")]) == 0
    printed = capsys.readouterr().out
    assert "verified" in printed
    assert "messages" in printed
    assert str(1200 + 3 + 1 + 1) in printed
    with open_store(tmp_path / "b") as b:
        assert _rows(b) == expected


@pytest.mark.slow
def test_refuses_a_non_empty_target_and_colliding_append(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with open_store(tmp_path / "a") as a:
        session(a, title="one")
    with open_store(tmp_path / "b") as b:
        session(b, title="two")
    argv = ["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b")]
    assert main(argv) == 1
    assert "already holds rows (sessions 1)" in capsys.readouterr().err

    assert main([*argv, "--append"]) == 0  # disjoint ids: added
    assert "sessions                 1              1             2  ok" in capsys.readouterr().out
    assert main([*argv, "--append"]) == 1  # now every id of a is in b: refused, nothing written
    assert "this id is in both the source and the target; nothing was copied" in capsys.readouterr().err
    with open_store(tmp_path / "b") as b:
        assert sorted(s.title for s in b.sessions.list_sessions()) == ["one", "two"]


def test_bad_arguments_are_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate", "--from", str(tmp_path / "missing"), "--to", str(tmp_path / "b")]) == 1
    assert "no behest_lab store here" in capsys.readouterr().err
    assert not (tmp_path / "b").exists()
    with open_store(tmp_path / "a") as a:
        session(a)
    code = main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "b"), "--data-path", "s3://x/"])
    assert code == 1
    assert "--data-path is for a postgresql:// target" in capsys.readouterr().err
    # an unreachable shared source; a bad URL: named, and no password ever printed
    source = "postgresql://lake:hunter22@127.0.0.1:1/db"
    assert main(["migrate", "--from", source, "--to", str(tmp_path / "c"), "--s3-no-ssl"]) == 1
    err = capsys.readouterr().err
    assert "127.0.0.1" in err
    assert "hunter22" not in err
    assert not (tmp_path / "c").exists()
    bad = "postgresql://lake:hunter22@127.0.0.1:notaport/db"
    assert main(["migrate", "--from", str(tmp_path / "a"), "--to", bad, "--data-path", "s3://x/"]) == 1
    err = capsys.readouterr().err
    assert "bad store settings" in err
    assert "bad port" in err
    assert "hunter22" not in err
    with open_store(tmp_path / "a") as a, pytest.raises(InterchangeError, match="same store"):
        migrate_store(a, a)
    with open_store(tmp_path / "a") as a, open_store(None) as memory, pytest.raises(TypeError, match="lake store"):
        migrate_store(a, memory)


@pytest.mark.slow
def test_folder_to_shared_store_and_back_round_trip(
    tmp_path: Path,
    remote_factory: Any,
    s3_server: S3Server,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    with open_store(tmp_path / "a") as a:
        _fill(a)
        expected = _rows(a)
    empty: StoreConfig = remote_factory.new(initialised=False)
    assert empty.password is not None
    assert empty.data_path is not None
    password = empty.password.get_secret_value()
    monkeypatch.setenv("PGPASSWORD", password)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", S3_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", S3_SECRET)
    monkeypatch.setenv("AWS_REGION", S3_REGION)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    s3_flags = ["--s3-endpoint", s3_server.endpoint, "--s3-url-style", "path", "--s3-no-ssl"]

    up = ["migrate", "--from", str(tmp_path / "a"), "--to", empty.catalog, "--data-path", empty.data_path]
    assert main([*up, *s3_flags]) == 0
    out, err = capsys.readouterr()
    assert "verified" in out
    assert password not in out + err
    assert err == ""  # no password on the command line: no warning

    with open_store(empty) as shared:
        assert _rows(shared) == expected
        shared.compact(keep=timedelta(0))  # the copy also survives a compaction on the shared side
        assert _rows(shared) == expected

    # a password inside the URL works but warns (it is visible in `ps`), and is never printed
    url = empty.catalog.replace("@", f":{password}@", 1)
    # no --from-data-path: the shared store's catalog knows where its files are
    down = ["migrate", "--from", url, "--to", str(tmp_path / "b")]
    assert main([*down, *s3_flags]) == 0
    out, err = capsys.readouterr()
    assert "carries a password" in err
    assert password not in out + err
    with open_store(tmp_path / "b") as b:
        assert _rows(b) == expected


def test_the_report_flags_each_kind_of_mismatch() -> None:
    good = TableCheck("sessions", source=2, before=1, after=3, checksum_ok=True)
    short = TableCheck("messages", source=5, before=0, after=4, checksum_ok=True)
    altered = TableCheck("embeddings", source=1, before=0, after=1, checksum_ok=False)
    report = MigrateReport("a", "b", tables=[good, short, altered])
    assert good.ok
    assert not short.ok
    assert not altered.ok
    assert not report.ok
    text = str(report).splitlines()
    assert text[2].endswith("ok")
    assert text[3].endswith("count mismatch")
    assert text[4].endswith("checksum mismatch")
    assert text[-1].endswith("VERIFICATION FAILED")


# --- the target's checks run inside its write transaction -------------------------------------------------------


def _small(store: Store, tag: str) -> None:
    a = session(store, title=f"s{tag}")
    store.sessions.append_messages([message(a.id, f"{tag} {i}") for i in range(5)])
    store.embeddings.upsert_many([embedding([1.0, float(i), 2.0], session_id=a.id) for i in range(3)])


def _prints(store: Store) -> dict[str, tuple[int, int]]:
    engine = store._engine  # type: ignore[attr-defined]
    with engine.lock:
        return _fingerprints(engine.con, engine.alias)


def test_a_collision_in_a_later_table_leaves_the_target_unchanged(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        _small(a, "a")
        _small(b, "b")
        # an embedding id that b has too: sessions and messages are inserted before embeddings collide
        shared = b.embeddings.search([1.0, 0.0, 2.0], 1)[0].record
        a.embeddings.upsert(shared)
        before, snapshots = _prints(b), len(b.snapshots())  # type: ignore[attr-defined]
        with pytest.raises(InterchangeError, match="in both the source and the target") as err:
            migrate_store(a, b, append=True)
        assert err.value.table == "embeddings"
        assert _prints(b) == before
        assert len(b.snapshots()) == snapshots  # type: ignore[attr-defined]


def test_a_failed_verification_rolls_the_copy_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        _small(a, "a")
        engine = b._engine  # type: ignore[attr-defined]
        changed = engine.changed

        def corrupt() -> None:
            # one copied cell altered inside the copy's transaction, as a faulty copy would leave it
            changed()
            engine.con.execute(f"UPDATE {engine.alias}.main.messages SET text = 'altered' WHERE text = 'a 3'")

        monkeypatch.setattr(engine, "changed", corrupt)
        with pytest.raises(InterchangeError, match="verification failed, nothing was copied: messages differ"):
            migrate_store(a, b)
        assert all(n == 0 for n, _ in _prints(b).values())


def test_a_concurrent_writer_does_not_fail_a_good_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b, open_store(tmp_path / "b") as other:
        _small(a, "a")
        mine = session(b, title="target's own")
        engine = b._engine  # type: ignore[attr-defined]
        changed = engine.changed
        commits: list[int] = []

        def meanwhile() -> None:
            # another writer commits to the target once while the copy's transaction is open; the copy either
            # does not see it at all or (when its commit lost and was re-run) sees it in its "before"
            changed()
            if not commits:
                commits.append(len(other.executions.record_usages([usage(mine.id, 7, 1)])))

        monkeypatch.setattr(engine, "changed", meanwhile)
        report = migrate_store(a, b, append=True)
        monkeypatch.setattr(engine, "changed", changed)
        assert commits == [1]
        assert report.ok
        assert report.appended
        expected, got = _prints(a), _prints(b)
        assert got["messages"] == expected["messages"]
        assert got["embeddings"] == expected["embeddings"]
        assert got["sessions"][0] == expected["sessions"][0] + 1
        assert got["usage_records"][0] == 1  # the concurrent row, kept
        assert sorted(s.title or "" for s in b.sessions.list_sessions()) == ["sa", "target's own"]


def test_the_checksum_tells_apart_stores_that_differ_in_one_cell(tmp_path: Path) -> None:
    with open_store(tmp_path / "a") as a:
        _small(a, "a")
    for n in (1, 2):
        assert main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / f"c{n}")]) == 0
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "c1") as c1, open_store(tmp_path / "c2") as c2:
        original = _prints(a)
        assert _prints(c1) == original
        assert _prints(c2) == original
        target = c1.embeddings.search([1.0, 1.0, 2.0], 1)[0].record.id
        c1._engine.write(  # type: ignore[attr-defined]
            lambda con: con.execute("UPDATE messages SET text = 'a 3.' WHERE text = 'a 3'"), "one message text"
        )
        c2._engine.write(  # type: ignore[attr-defined]
            lambda con: con.execute(
                "UPDATE embeddings SET vector = list_concat([vector[1] + 0.5::FLOAT], vector[2:]) WHERE id = ?",
                [str(target)],
            ),
            "one vector element",
        )
        for altered, table in ((c1, "messages"), (c2, "embeddings")):
            prints = _prints(altered)
            assert prints[table][0] == original[table][0]  # same row count: only the checksum can tell
            assert prints[table][1] != original[table][1]
            assert {t: v for t, v in prints.items() if t != table} == {t: v for t, v in original.items() if t != table}


def test_a_failing_source_read_is_a_backend_error_and_copies_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with open_store(tmp_path / "a") as a:
        s = session(a, title="files")
        a.sessions.append_messages([message(s.id, f"m{i}") for i in range(1500)])  # over the inlining limit
    files = list((tmp_path / "a" / "data").rglob("*.parquet"))
    assert files
    for f in files:
        f.unlink()
    with open_store(tmp_path / "a") as a, open_store(tmp_path / "b") as b:
        with pytest.raises(BackendError, match="source") as err:
            migrate_store(a, b)
        assert any(f.name in str(err.value) for f in files)
        assert all(n == 0 for n, _ in _prints(b).values())
    # the command line prints it as an error (exit 1), not a traceback
    assert main(["migrate", "--from", str(tmp_path / "a"), "--to", str(tmp_path / "c")]) == 1
    err_text = capsys.readouterr().err
    assert "behest-lab: error:" in err_text
    assert "reading the source" in err_text
