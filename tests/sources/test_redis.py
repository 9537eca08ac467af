"""``RedisSource`` against a real ``redis-server``, loaded with the commands behest's Redis session store issues.

Every key and value below is written the way behest's ``RedisSessionStore`` writes it: ``HSET session:{id}`` with
``to_rfc3339()`` times (``+00:00``) and JSON-text metadata; ``ZADD messages:{session}`` with the message's serde
JSON (``Z`` times, nine fraction digits) scored by its epoch milliseconds; ``HSET message_index:{id}``. The JSON is
written here by hand, never by behest_lab's own serialiser.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
import redis

from behest_lab.errors import InterchangeError, SourceError
from behest_lab.records import MessageRole
from behest_lab.sources.base import Want
from behest_lab.sources.redis import RedisSource
from tests.conftest import skip_or_fail
from tests.services import free_port
from tests.sources.kv_services import RedisServer

S1 = "01890a5d-ac96-774b-b0a0-000000000001"
S2 = "01890a5d-ac96-774b-b0a0-000000000002"


def _mid(n: int) -> str:
    return f"01890a5d-ac96-774b-a000-{n:012d}"


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    reason = RedisServer.missing()
    if reason is not None:
        skip_or_fail(f"the Redis source tests did not run: {reason}")
    srv = RedisServer().start()
    try:
        yield srv
    finally:
        srv.stop()


_DBS = iter(range(1, 16))


@pytest.fixture
def db(server: RedisServer) -> Iterator[tuple[str, redis.Redis]]:
    """A fresh numbered database (1-15) and a raw client on it."""
    n = next(_DBS)
    client = redis.Redis.from_url(server.url(n))
    client.flushdb()
    try:
        yield server.url(n), client
    finally:
        client.flushdb()
        client.close()


def _create_session(r: redis.Redis, sid: str, title: str, *, metadata: str | None = "null", created: str) -> None:
    # behest's create_session: one pipeline of HSETs
    pipe = r.pipeline()
    pipe.hset(f"session:{sid}", "id", sid)
    pipe.hset(f"session:{sid}", "title", title)
    pipe.hset(f"session:{sid}", "model", "gpt-4o")
    if metadata is not None:
        pipe.hset(f"session:{sid}", "metadata", metadata)
    pipe.hset(f"session:{sid}", "created_at", created)
    pipe.hset(f"session:{sid}", "updated_at", created)
    pipe.execute()


def _append(r: redis.Redis, sid: str, message: dict[str, Any], epoch_ms: int) -> str:
    # behest's append_message: ZADD the serde JSON scored by created_at ms, the index hash, then updated_at
    text = json.dumps(message, separators=(",", ":"))
    r.zadd(f"messages:{sid}", {text: float(epoch_ms)})
    r.hset(f"message_index:{message['id']}", mapping={"session_id": sid, "score": str(epoch_ms)})
    r.hset(f"session:{sid}", "updated_at", "2026-03-01T10:00:09.123456789+00:00")
    return text


def _message(n: int, sid: str, role: str, created: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": _mid(n),
        "session_id": sid,
        "role": role,
        "content": [{"type": "text", "text": f"m{n}"}],
    }
    body.update({k: v for k, v in extra.items() if k not in ("is_compaction", "is_summary")})
    body["created_at"] = created
    body["is_compaction"] = extra.get("is_compaction", False)
    body["is_summary"] = extra.get("is_summary", False)
    return body


# 2026-03-01T10:00:00Z = 1772359200000 ms
T0 = 1772359200000


def _load(r: redis.Redis) -> dict[str, str]:
    _create_session(r, S1, "first", metadata='{"team":"a","n":1}', created="2026-03-01T10:00:00.000000001+00:00")
    _create_session(r, S2, "second", metadata=None, created="2026-03-01T11:00:00+00:00")
    texts = {}
    call = {"id": "call_1", "name": "search", "arguments": {"q": "x"}}
    texts["user"] = _append(r, S1, _message(1, S1, "user", "2026-03-01T10:00:01.000000000Z"), T0 + 1000)
    texts["asst"] = _append(
        r, S1, _message(2, S1, "assistant", "2026-03-01T10:00:02.000000000Z", tool_calls=[call]), T0 + 2000
    )
    tool = _message(3, S1, "tool", "2026-03-01T10:00:03.000000000Z", tool_call_id="call_1", tool_name="search")
    texts["tool"] = _append(r, S1, tool, T0 + 3000)
    # two messages in the same millisecond: id 9 was created first (.000000100) but sorts second by JSON text
    # ("...000000000005" < "...000000000009" as member bytes)
    _append(r, S1, _message(9, S1, "assistant", "2026-03-01T10:00:04.000000100Z"), T0 + 4000)
    _append(r, S1, _message(5, S1, "user", "2026-03-01T10:00:04.000000900Z"), T0 + 4000)
    # two with the identical instant: Redis's (member bytes) order is kept: id 6 then id 7
    _append(r, S1, _message(7, S1, "user", "2026-03-01T10:00:05Z"), T0 + 5000)
    _append(r, S1, _message(6, S1, "user", "2026-03-01T10:00:05Z"), T0 + 5000)
    return texts


def test_reads_sessions_and_messages_as_behest_stores_them(db: tuple[str, redis.Redis]) -> None:
    url, r = db
    _load(r)
    with RedisSource(url) as source:
        bundles = list(source.bundles())
    assert [str(b.session.id) for b in bundles if b.session] == [S1, S2]
    first = bundles[0].session
    assert first is not None
    assert first.title == "first"
    assert first.model == "gpt-4o"
    assert first.metadata == {"team": "a", "n": 1}
    assert first.created_at.nanosecond == 1  # nine fraction digits kept
    assert first.updated_at.isoformat() == "2026-03-01T10:00:09.123456789+00:00"
    # a hash without a metadata field reads as {} (behest's default), not null
    assert bundles[1].session is not None
    assert bundles[1].session.metadata == {}
    assert bundles[1].messages == []
    messages = bundles[0].messages
    assert [m.id.int & 0xFFFF for m in messages] == [1, 2, 3, 9, 5, 6, 7]
    tool = messages[2]
    assert tool.role is MessageRole.TOOL
    assert (tool.tool_call_id, tool.tool_name) == ("call_1", "search")  # Redis keeps what SQL drops
    assert messages[1].tool_calls[0].arguments == {"q": "x"}
    assert source.duplicates == 0


def test_provenance_names_each_key_and_never_the_password(db: tuple[str, redis.Redis], server: RedisServer) -> None:
    url, r = db
    _load(r)
    with RedisSource(url) as source:
        bundle = next(source.bundles([UUID(S1)]))
    assert server.password not in repr(source)
    assert source.location == url.replace(f":{server.password}@", "")
    refs = {(p.table, p.ref) for p in bundle.provenance}
    assert ("sessions", f"session:{S1}") in refs
    assert ("messages", f"messages:{S1}[{_mid(3)}]") in refs
    assert len(bundle.provenance) == 1 + len(bundle.messages)
    assert all(p.source == "redis" and p.location == source.location for p in bundle.provenance)


def test_update_usage_rewrites_the_member_and_the_reader_sees_the_new_usage(db: tuple[str, redis.Redis]) -> None:
    url, r = db
    texts = _load(r)
    # behest's update_usage: ZREM the old JSON, ZADD the re-serialised record with the same score
    r.zrem(f"messages:{S1}", texts["asst"])
    updated = json.loads(texts["asst"])
    usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
    updated = {**{k: v for k, v in updated.items() if k not in ("created_at", "is_compaction", "is_summary")}}
    updated.update({"usage": usage, "created_at": "2026-03-01T10:00:02.000000000Z"})
    updated.update({"is_compaction": False, "is_summary": False})
    r.zadd(f"messages:{S1}", {json.dumps(updated, separators=(",", ":")): float(T0 + 2000)})
    with RedisSource(url) as source:
        messages = next(source.bundles([UUID(S1)])).messages
    target = next(m for m in messages if m.id == UUID(_mid(2)))
    assert target.usage is not None
    assert (target.usage.input_tokens, target.usage.total_tokens) == (10, 15)
    assert len(messages) == 7


def test_a_reused_message_id_is_kept_once(db: tuple[str, redis.Redis]) -> None:
    url, r = db
    _create_session(r, S1, "dup", created="2026-03-01T10:00:00+00:00")
    _append(r, S1, _message(1, S1, "user", "2026-03-01T10:00:01Z"), T0 + 1000)
    again = _message(1, S1, "user", "2026-03-01T10:00:01Z")
    again["content"] = [{"type": "text", "text": "second copy"}]
    _append(r, S1, again, T0 + 1000)
    with RedisSource(url) as source:
        messages = next(source.bundles()).messages
        assert source.duplicates == 1
    # the first member in Redis's order: "m1" sorts before "second copy" as bytes
    assert [m.text_content for m in messages] == ["m1"]


def test_sessions_are_read_in_batches(db: tuple[str, redis.Redis]) -> None:
    url, r = db
    ids = [f"01890a5d-ac96-774b-b0a0-{n:012d}" for n in range(1, 8)]
    for n, sid in enumerate(ids):
        _create_session(r, sid, f"s{n}", created="2026-03-01T10:00:00+00:00")
        _append(r, sid, _message(n, sid, "user", "2026-03-01T10:00:01Z"), T0 + 1000)
    with RedisSource(url, batch=3) as source:
        bundles = list(source.bundles())
    assert [str(b.session.id) for b in bundles if b.session] == ids
    assert all(len(b.messages) == 1 and b.messages[0].session_id == b.session.id for b in bundles if b.session)


# --- bad input --------------------------------------------------------------------------------------------------


def test_unreachable_server_is_a_named_error_without_the_password() -> None:
    url = f"redis://:hunter2-secret@127.0.0.1:{free_port()}/0"
    with pytest.raises(SourceError) as info:
        RedisSource(url)
    assert "hunter2-secret" not in str(info.value)
    assert info.value.source == "redis"
    assert info.value.location.startswith("redis://127.0.0.1:")
    assert isinstance(info.value, InterchangeError)


def test_wrong_password_is_a_named_error_without_either_password(server: RedisServer) -> None:
    url = f"redis://:wrong-pass-42@127.0.0.1:{server.port}/0"
    with pytest.raises(SourceError, match="cannot connect") as info:
        RedisSource(url)
    assert "wrong-pass-42" not in str(info.value)
    assert server.password not in str(info.value)


@pytest.mark.parametrize(
    ("setup", "table", "ref", "fragment"),
    [
        (lambda r: r.hdel(f"session:{S1}", "title"), "sessions", f"session:{S1}", "missing title"),
        (
            lambda r: r.hset(f"session:{S1}", "created_at", "2026-03-01T10:00:00"),
            "sessions",
            f"session:{S1}",
            "RFC 3339",
        ),
        (lambda r: r.hset(f"session:{S1}", "metadata", "{oops"), "sessions", f"session:{S1}", "metadata is not JSON"),
        (lambda r: r.hset(f"session:{S1}", "id", "not-a-uuid"), "sessions", f"session:{S1}", "UUID"),
        (lambda r: r.set("session:cache", "a plain string"), "sessions", "session:cache", "not a behest session hash"),
        (lambda r: r.zadd(f"messages:{S1}", {b"{not json": 1.0}), "messages", f"messages:{S1}", "member 0"),
        (
            lambda r: r.zadd(f"messages:{S1}", {json.dumps({"id": _mid(1), "role": "user"}): 1.0}),
            "messages",
            f"messages:{S1}",
            "not a behest message",
        ),
        (lambda r: r.hset(f"session:{S1}", "title", b"\xff\xfe"), "sessions", f"session:{S1}", "not UTF-8"),
    ],
    ids=[
        "missing-title",
        "naive-time",
        "bad-metadata",
        "bad-id",
        "not-a-hash",
        "bad-member",
        "partial-member",
        "binary",
    ],
)
def test_undecodable_data_names_the_key(
    db: tuple[str, redis.Redis], setup: Any, table: str, ref: str, fragment: str
) -> None:
    url, r = db
    _create_session(r, S1, "s", created="2026-03-01T10:00:00+00:00")
    setup(r)
    with RedisSource(url) as source, pytest.raises(SourceError) as info:
        list(source.bundles())
    assert fragment in str(info.value)
    assert (info.value.table, info.value.key) == (table, ref)
    assert info.value.location == source.location


def test_fingerprints_and_read_with_bad_rows_skipped(db: tuple[str, redis.Redis]) -> None:
    url, r = db
    texts = _load(r)
    r.zadd(f"messages:{S1}", {b"{broken": float(T0)})
    with RedisSource(url) as source:
        before = source.fingerprints().to_pylist()
        assert {(row["table"], row["session_id"]) for row in before} == {("sessions", None), ("messages", S1)}
        assert sum(row["table"] == "sessions" for row in before) == 2
        assert {row["id"] for row in before if row["table"] == "messages"} >= {_mid(n) for n in (1, 2, 3, 5, 6, 7, 9)}
        bad: list[SourceError] = []
        bundles = list(source.read(None, bad.append))
        assert len(bad) == 1
        assert bad[0].key == f"messages:{S1}"
        assert sum(len(b.messages) for b in bundles) == 7
        # update_usage rewrites one member: only that message's fingerprint changes
        r.zrem(f"messages:{S1}", texts["user"])
        changed = json.loads(texts["user"])
        changed["content"] = [{"type": "text", "text": "edited"}]
        r.zadd(f"messages:{S1}", {json.dumps(changed): float(T0 + 1000)})
        after = {(row["table"], row["id"]): row["fp"] for row in source.fingerprints().to_pylist()}
        old = {(row["table"], row["id"]): row["fp"] for row in before}
        assert [k for k in old if old[k] != after.get(k)] == [("messages", _mid(1))]
        wanted = list(source.read(Want(sessions=frozenset({S2})), bad.append))
        assert [str(b.session.id) for b in wanted if b.session] == [S2]
