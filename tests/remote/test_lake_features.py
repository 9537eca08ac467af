"""Lake features on the shared store: time travel around compaction, the files as other tools see them, and a
notebook-style reader (analytics, widgets) in a second process-like store on the same catalog."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from behest_lab import BehestLabError, StoreConfig, analytics, open_store
from behest_lab.stores.lake import LakeStore
from tests.services import S3_KEY_ID, S3_REGION, S3_SECRET, S3Server
from tests.stores._build import embedding, execution, message, session, usage


def _texts(store: LakeStore) -> list[str]:
    return sorted(str(r[0]) for r in store.sql("SELECT text FROM messages").fetchall())


def _open(config: StoreConfig, **options: object) -> LakeStore:
    store = open_store(config, **options)  # type: ignore[arg-type]
    assert isinstance(store, LakeStore)
    return store


@pytest.mark.slow
def test_time_travel_before_and_after_compaction(remote_config: StoreConfig) -> None:
    with _open(remote_config) as store:
        s = session(store)
        store.sessions.append_messages([message(s.id, f"old {i}") for i in range(30)])
        old_snapshot = store.snapshot_id
        old_time = datetime.now(UTC)
        old_texts = _texts(store)
        store.sessions.append_messages([message(s.id, f"new {i}") for i in range(30)])
        store.delete_session(session(store).id)

        for past in (_open(remote_config, snapshot=old_snapshot), _open(remote_config, as_of=old_time)):
            with past:
                assert past.read_only
                assert _texts(past) == old_texts

        store.compact()  # default keep: recent snapshots survive
        with _open(remote_config, snapshot=old_snapshot) as past:
            assert _texts(past) == old_texts
        assert len(_texts(store)) == 60

        store.compact(keep=timedelta(0))  # expire everything but the latest snapshot
        assert len(_texts(store)) == 60
        with pytest.raises(BehestLabError):
            _open(remote_config, snapshot=old_snapshot).close()


def test_files_on_s3_are_plain_parquet_after_compaction(remote_config: StoreConfig, s3_server: S3Server) -> None:
    """After compact(keep=0) the bucket holds exactly the current rows: any Parquet reader sees what the store does."""
    assert remote_config.data_path is not None
    with _open(remote_config) as store:
        s = session(store)
        store.sessions.append_messages([message(s.id, f"m{i}") for i in range(1500)])
        store.sessions.append_message(message(s.id, "inlined"))
        victim = session(store)
        store.sessions.append_messages([message(victim.id, f"gone {i}") for i in range(1200)])
        store.delete_session(victim.id)
        store.compact(keep=timedelta(0))
        expected = sorted(str(r[0]) for r in store.sql("SELECT id FROM messages").fetchall())
    assert len(expected) == 1501

    keys = [k for k in s3_server.list_keys(remote_config.data_path) if "/messages/" in k]
    assert keys
    assert all(k.endswith(".parquet") for k in keys)
    fs = pafs.S3FileSystem(
        access_key=S3_KEY_ID,
        secret_key=S3_SECRET,
        region=S3_REGION,
        endpoint_override=s3_server.endpoint,
        scheme="http",
    )
    bucket = remote_config.data_path.removeprefix("s3://").split("/", 1)[0]
    ids: list[str] = []
    for key in keys:
        ids += [
            str(v) for v in pq.read_table(f"{bucket}/{key}", filesystem=fs, columns=["id"]).column("id").to_pylist()
        ]
    # DuckDB writes UUIDs as 16-byte values or text; normalise both to the canonical text
    normalised = sorted(i if len(i) == 36 else str(UUID(bytes=bytes.fromhex(i))) for i in ids)
    assert normalised == expected


@pytest.mark.slow
def test_a_notebook_reader_on_the_shared_store(remote_config: StoreConfig) -> None:
    """A second store on the same catalog (as on an analyst's machine) runs the analytics and opens the widgets."""
    with _open(remote_config) as writer:
        sessions = []
        for k in range(3):
            s = session(writer, title=f"run {k}", model="claude-sonnet-4-5", metadata={"team": f"t{k % 2}"})
            msgs = writer.sessions.append_messages([message(s.id, f"s{k} m{i}") for i in range(4)])
            writer.executions.record_executions([execution(s.id, msgs[1].id, tool_name="grep") for i in range(k + 1)])
            writer.executions.record_usage(
                usage(s.id, 1000 * (k + 1), 100, message_id=msgs[1].id, provider="anthropic", model="claude-sonnet-4-5")
            )
            writer.embeddings.upsert(embedding([1.0, float(k), 0.5], session_id=s.id))
            sessions.append(s)

    with _open(remote_config) as reader:
        frame = analytics.sessions(reader)
        assert sorted(frame["title"].to_list()) == ["run 0", "run 1", "run 2"]
        calls = analytics.usage(reader)
        assert sorted(calls["input_tokens"].to_list()) == [1000, 2000, 3000]
        tools = analytics.tool_executions(reader)
        assert tools.height == 1 + 2 + 3
        hits = reader.embeddings.search([1.0, 2.0, 0.5], 1)
        assert hits[0].record.session_id == sessions[2].id

        from behest_lab.widgets import SessionBrowser

        browser = SessionBrowser(reader)
        try:
            assert {value for _label, value in browser.session_list.options} == {str(s.id) for s in sessions}
            browser.select_session(sessions[1].id)
            assert browser.timeline.value.count('<div class="behest-msg ') == 4
            assert "s1 m3" in browser.timeline.value
        finally:
            browser.close()
