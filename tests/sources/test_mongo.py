"""``MongoSource`` over dumps and exports written with ``bson`` the way behest's MongoDB driver writes documents.

No MongoDB server is installable here, so the data is what ``mongodump``/``mongoexport`` would have saved from a
database behest filled: ``insert_one`` of behest's ``SessionDoc``/``MessageDoc`` through serde (ids as text,
``created_at``/``updated_at`` as RFC 3339 ``Z`` strings, counters as 64-bit integers, metadata as a document, the
compaction UUIDs as 16 raw bytes: the driver's serialiser is not human-readable), then ``$set`` of ``updated_at``
to a BSON date by ``append_message`` and of ``usage`` by ``update_usage``. The documents are built here field by
field, in serde's field order, never by behest_lab's own serialiser.
"""

from __future__ import annotations

import gzip
import json
import struct
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import bson
import pytest
from bson import json_util
from bson.binary import Binary
from bson.int64 import Int64

from behest_lab.errors import SourceError
from behest_lab.records import MessageRole
from behest_lab.sources.base import Want
from behest_lab.sources.mongo import MongoSource
from tests.services import free_port

S1 = "01890a5d-ac96-774b-b0a0-000000000001"
S2 = "01890a5d-ac96-774b-b0a0-000000000002"


def _mid(n: int) -> str:
    return f"01890a5d-ac96-774b-a000-{n:012d}"


def _session(sid: str, title: str, *, updated: Any) -> dict[str, Any]:
    return {
        "_id": sid,
        "title": title,
        "model": "claude-sonnet",
        "metadata": {"team": "a", "budget": Int64(3), "ratio": 0.5},
        "created_at": "2026-03-01T10:00:00.123456789Z",
        "updated_at": updated,
    }


def _message(n: int, sid: str, role: str, created: str, **extra: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "_id": _mid(n),
        "session_id": sid,
        "role": role,
        "content": [{"type": "text", "text": f"m{n}"}],
        "tool_calls": extra.pop("tool_calls", []),
        "usage": extra.pop("usage", None),
        "is_compaction": extra.pop("is_compaction", False),
        "is_summary": extra.pop("is_summary", False),
    }
    if "compaction_meta" in extra:
        doc["compaction_meta"] = extra.pop("compaction_meta")
    doc["created_at"] = created
    assert not extra
    return doc


def _data() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    # append_message $set updated_at to a BSON date (ms); session 2 was never appended to: still the serde string
    sessions = [
        _session(S1, "first", updated=datetime(2026, 3, 1, 10, 5, 0, 250000, tzinfo=UTC)),
        _session(S2, "second", updated="2026-03-01T11:00:00Z"),
    ]
    usage = {"input_tokens": Int64(12), "output_tokens": Int64(3), "total_tokens": Int64(15)}
    calls = [
        {"id": "call_a", "name": "search", "arguments": {"q": "x", "k": Int64(2)}},
        {"id": "call_b", "name": "open", "arguments": {"url": "u"}},
    ]
    tail = Binary(UUID(_mid(1)).bytes, 0)
    messages = [
        # stored out of order: the reader sorts by created_at
        _message(4, S1, "tool", "2026-03-01T10:00:04Z"),
        _message(1, S1, "user", "2026-03-01T10:00:01Z"),
        _message(2, S1, "assistant", "2026-03-01T10:00:02.5Z", tool_calls=calls, usage=usage),
        _message(3, S1, "tool", "2026-03-01T10:00:03Z"),
        _message(
            5,
            S1,
            "developer",  # an unknown role: behest reads it as user
            "2026-03-01T10:00:05Z",
            is_compaction=True,
            compaction_meta={"tail_start_id": tail, "previous_compaction_id": None, "summary_text": None},
        ),
        _message(
            6,
            S1,
            "assistant",
            "2026-03-01T10:00:06Z",
            is_summary=True,
            compaction_meta={"tail_start_id": _mid(1), "previous_compaction_id": None, "summary_text": "sum"},
        ),
        # a message whose session was deleted separately: behest cannot list it either
        _message(7, "01890a5d-ac96-774b-b0a0-00000000dead", "user", "2026-03-01T10:00:07Z"),
    ]
    return sessions, messages


def _write_dump(folder: Path, *, gz: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    sessions, messages = _data()
    for name, docs in (("sessions", sessions), ("messages", messages)):
        raw = b"".join(bson.encode(d) for d in docs)
        if gz:
            (folder / f"{name}.bson.gz").write_bytes(gzip.compress(raw))
        else:
            (folder / f"{name}.bson").write_bytes(raw)
        (folder / f"{name}.metadata.json").write_text('{"indexes":[{"v":2,"key":{"_id":1},"name":"_id_"}]}')


def _check(source: MongoSource) -> None:
    bundles = list(source.bundles())
    assert [str(b.session.id) for b in bundles if b.session] == [S1, S2]
    first = bundles[0].session
    assert first is not None
    assert first.created_at.nanosecond == 789  # the serde string keeps nanoseconds
    assert first.updated_at == datetime(2026, 3, 1, 10, 5, 0, 250000, tzinfo=UTC)  # the BSON date, read as UTC
    assert first.metadata == {"team": "a", "budget": 3, "ratio": 0.5}
    messages = bundles[0].messages
    assert [m.id.int & 0xFFFF for m in messages] == [1, 2, 3, 4, 5, 6]
    assert messages[1].usage is not None
    assert messages[1].usage.total_tokens == 15
    assert messages[1].tool_calls[0].arguments == {"q": "x", "k": 2}
    # tool-result ids, dropped by behest's MongoDB store, recovered in call order
    assert [(m.tool_call_id, m.tool_name) for m in messages[2:4]] == [("call_a", "search"), ("call_b", "open")]
    assert messages[4].role is MessageRole.USER
    assert messages[4].compaction_meta is not None
    assert messages[4].compaction_meta.tail_start_id == UUID(_mid(1))  # from 16 raw bytes
    assert messages[5].compaction_meta is not None
    assert messages[5].compaction_meta.tail_start_id == UUID(_mid(1))  # from text
    assert bundles[1].session is not None
    assert bundles[1].session.updated_at == datetime(2026, 3, 1, 11, tzinfo=UTC)
    assert source.orphans == 1
    assert source.tool_ids_recovered == 2
    refs = {(p.table, p.ref) for p in bundles[0].provenance}
    assert ("sessions", f"sessions/{S1}") in refs
    assert ("messages", f"messages/{_mid(3)}") in refs
    assert len(bundles[0].provenance) == 7
    assert all(p.source == "mongodb" for p in bundles[0].provenance)


def test_mongodump_folder(tmp_path: Path) -> None:
    _write_dump(tmp_path / "dump" / "behest")
    with MongoSource(tmp_path / "dump" / "behest") as source:
        _check(source)


def test_gzipped_dump_found_one_database_folder_below(tmp_path: Path) -> None:
    _write_dump(tmp_path / "dump" / "behest", gz=True)
    with MongoSource(tmp_path / "dump") as source:
        assert source.location == str(tmp_path / "dump")
        _check(source)


def test_dump_with_several_databases_needs_a_name(tmp_path: Path) -> None:
    _write_dump(tmp_path / "dump" / "behest")
    _write_dump(tmp_path / "dump" / "other")
    with pytest.raises(SourceError, match="several databases"):
        list(MongoSource(tmp_path / "dump").bundles())
    _check(MongoSource(tmp_path / "dump", database="behest"))


@pytest.mark.parametrize("array", [False, True], ids=["lines", "json-array"])
def test_mongoexport_extended_json(tmp_path: Path, array: bool) -> None:
    sessions, messages = _data()
    options = json_util.RELAXED_JSON_OPTIONS  # mongoexport's default output
    for name, docs in (("sessions", sessions), ("messages", messages)):
        texts = [json_util.dumps(d, json_options=options) for d in docs]
        body = "[" + ",".join(texts) + "]" if array else "\n".join(texts) + "\n"
        (tmp_path / f"{name}.json").write_text(body)
    assert '"$date"' in (tmp_path / "sessions.json").read_text()
    _check(MongoSource(tmp_path))


def _archive(dbs: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]]) -> bytes:
    # mongodump --archive: magic, header, collection metadata, terminator, then namespace segments and EOF headers
    out = [struct.pack("<I", 0x8199E26D)]
    out.append(
        bson.encode(
            {"concurrent_collections": 4, "version": "0.1", "server_version": "7.0.0", "tool_version": "100.9.0"}
        )
    )
    for db in dbs:
        for coll in ("sessions", "messages", "other"):
            out.append(bson.encode({"db": db, "collection": coll, "metadata": "{}", "size": 0}))
    out.append(b"\xff\xff\xff\xff")
    for db, (sessions, messages) in dbs.items():
        collections = {"sessions": sessions, "messages": messages, "other": [{"_id": 1, "x": "not behest"}]}
        for coll, docs in collections.items():
            # documents split across two segments, as parallel dumps interleave them
            for part in (docs[:1], docs[1:]):
                if part:
                    out.append(bson.encode({"db": db, "collection": coll, "EOF": False, "CRC": Int64(0)}))
                    out += [bson.encode(d) for d in part]
                    out.append(b"\xff\xff\xff\xff")
        for coll in collections:
            out.append(bson.encode({"db": db, "collection": coll, "EOF": True, "CRC": Int64(0)}))
            out.append(b"\xff\xff\xff\xff")
    return b"".join(out)


@pytest.mark.parametrize("gz", [False, True], ids=["plain", "gzip"])
def test_mongodump_archive(tmp_path: Path, gz: bool) -> None:
    raw = _archive({"behest": _data()})
    path = tmp_path / "behest.archive"
    path.write_bytes(gzip.compress(raw) if gz else raw)
    _check(MongoSource(path))


def test_archive_with_two_databases(tmp_path: Path) -> None:
    path = tmp_path / "all.archive"
    path.write_bytes(_archive({"behest": _data(), "staging": _data()}))
    with pytest.raises(SourceError, match="several databases"):
        list(MongoSource(path).bundles())
    _check(MongoSource(path, database="staging"))


# --- bad input --------------------------------------------------------------------------------------------------


def test_not_a_dump(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(SourceError, match="not a behest MongoDB dump"):
        list(MongoSource(tmp_path).bundles())
    with pytest.raises(SourceError, match="not a mongodump archive"):
        list(MongoSource(tmp_path / "notes.txt").bundles())
    with pytest.raises(SourceError, match="no such file"):
        MongoSource(tmp_path / "missing")


def test_truncated_bson_names_the_file_and_document(tmp_path: Path) -> None:
    _write_dump(tmp_path)
    raw = (tmp_path / "messages.bson").read_bytes()
    (tmp_path / "messages.bson").write_bytes(raw[:-7])
    with pytest.raises(SourceError) as info:
        list(MongoSource(tmp_path).bundles())
    assert "messages.bson: document 6" in str(info.value)
    assert info.value.table == "messages"


@pytest.mark.parametrize(
    ("collection", "change", "ref", "fragment"),
    [
        ("sessions", {"_id": bson.ObjectId("65f000000000000000000001")}, "sessions#0", "_id: expected a string"),
        ("sessions", {"created_at": 1234}, f"sessions/{S1}", "created_at: expected an RFC 3339 string or a BSON date"),
        ("sessions", {"created_at": "2026-03-01 10:00"}, f"sessions/{S1}", "RFC 3339"),
        ("sessions", {"metadata": None}, f"sessions/{S1}", "metadata: expected a document"),
        ("messages", {"tool_calls": None}, f"messages/{_mid(4)}", "tool_calls"),
        ("messages", {"content": [{"type": "audio"}]}, f"messages/{_mid(4)}", "content"),
        ("messages", {"session_id": "nope"}, f"messages/{_mid(4)}", "session_id: not a UUID"),
    ],
    ids=["objectid", "number-time", "naive-time", "null-metadata", "no-tool-calls", "bad-part", "bad-session-id"],
)
def test_undecodable_documents_are_named(
    tmp_path: Path, collection: str, change: dict[str, Any], ref: str, fragment: str
) -> None:
    sessions, messages = _data()
    docs = {"sessions": sessions, "messages": messages}
    docs[collection][0].update(change)
    if change.get("tool_calls", 1) is None:
        del docs[collection][0]["tool_calls"]
    for name, items in docs.items():
        (tmp_path / f"{name}.bson").write_bytes(b"".join(bson.encode(d) for d in items))
    with pytest.raises(SourceError) as info:
        list(MongoSource(tmp_path).bundles())
    assert fragment in str(info.value)
    assert (info.value.table, info.value.key) == (collection, ref)


def test_unreachable_server_is_named_without_the_password() -> None:
    url = f"mongodb://behest:s3cret-pw-991@127.0.0.1:{free_port()}/behest?serverSelectionTimeoutMS=300"
    with pytest.raises(SourceError, match="cannot connect") as info:
        MongoSource(url)
    assert "s3cret-pw-991" not in str(info.value)
    assert info.value.location.startswith("mongodb://behest@127.0.0.1:")
    assert "s3cret" not in info.value.location


def test_a_url_without_a_database_is_refused() -> None:
    with pytest.raises(SourceError, match="names no database"):
        MongoSource(f"mongodb://127.0.0.1:{free_port()}/")


def test_extended_json_dates_stay_utc(tmp_path: Path) -> None:
    sessions, _ = _data()
    sessions[0]["updated_at"] = datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    lines = [
        json.dumps(json.loads(json_util.dumps(s, json_options=json_util.CANONICAL_JSON_OPTIONS))) for s in sessions
    ]
    (tmp_path / "sessions.json").write_text("\n".join(lines))
    (tmp_path / "messages.json").write_text("")
    bundles = list(MongoSource(tmp_path).bundles())
    assert bundles[0].session is not None
    assert bundles[0].session.updated_at == datetime(2026, 3, 1, 10, 5, tzinfo=UTC)
    assert bundles[0].session.metadata == {"team": "a", "budget": 3, "ratio": 0.5}


def test_fingerprints_read_with_want_and_bad_documents_skipped(tmp_path: Path) -> None:
    sessions, messages = _data()
    messages.append({"_id": "broken", "session_id": S1})
    (tmp_path / "sessions.bson").write_bytes(b"".join(bson.encode(d) for d in sessions))
    (tmp_path / "messages.bson").write_bytes(b"".join(bson.encode(d) for d in messages))
    assert MongoSource.sniff(tmp_path)
    assert not MongoSource.sniff(tmp_path / "sessions.bson")
    source = MongoSource(tmp_path)
    rows = source.fingerprints().to_pylist()
    assert {r["id"] for r in rows if r["table"] == "sessions"} == {S1, S2}
    assert {r["session_id"] for r in rows if r["table"] == "messages" and r["id"] == _mid(3)} == {S1}
    bad: list[SourceError] = []
    bundles = list(source.read(Want(sessions=frozenset({S2})), bad.append))
    assert [str(b.session.id) for b in bundles if b.session] == [S2]
    assert bad == []
    everything = list(source.read(None, bad.append))
    assert len(everything) == 2
    assert [e.key for e in bad] == ["messages/broken"]
    # a changed document changes its fingerprint only
    messages[0]["content"] = [{"type": "text", "text": "edited"}]
    (tmp_path / "messages.bson").write_bytes(b"".join(bson.encode(d) for d in messages))
    after = {(r["table"], r["id"]): r["fp"] for r in source.fingerprints().to_pylist()}
    before = {(r["table"], r["id"]): r["fp"] for r in rows}
    assert [k for k in before if before[k] != after[k]] == [("messages", _mid(4))]


def test_opened_through_the_registry(tmp_path: Path) -> None:
    from behest_lab.sources import open_source

    _write_dump(tmp_path / "dump" / "behest")
    for target in (f"mongodump://{tmp_path / 'dump'}", str(tmp_path / "dump")):
        source = open_source(target)
        assert isinstance(source, MongoSource)
        assert len(list(source.read(None, _fail))) == 2


def _fail(exc: SourceError) -> None:
    raise exc


def test_location_is_the_dump_path_however_named_and_orphans_are_not_listed(tmp_path: Path) -> None:
    _write_dump(tmp_path / "dump" / "behest")
    by_url = MongoSource(f"mongodump://{tmp_path / 'dump'}")
    by_path = MongoSource(tmp_path / "dump")
    assert by_url.location == by_path.location == str(tmp_path / "dump")
    rows = by_url.fingerprints().to_pylist()
    assert len([r for r in rows if r["table"] == "messages"]) == 6  # the orphan is not listed
