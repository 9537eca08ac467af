"""The Redis case of ``python -m bench sync``: a behest Redis session store of N messages, as behest writes it.

``build``/``add``/``rewrite``/``scan`` have the shapes of ``bench.bench_sync.Case``; wire them in with
``CASES["redis"] = Case(*sync_redis.functions())``. ``build`` starts a throwaway ``redis-server`` (on
127.0.0.1, no persistence, stopped when the process exits). The data is written with the commands behest's
``RedisSessionStore`` issues: ``HSET session:{id}`` (``+00:00`` times, JSON-text metadata), ``ZADD messages:{id}``
(the message's serde JSON scored by its epoch milliseconds) and ``HSET message_index:{id}``; ``rewrite`` is behest's
``update_usage`` (``ZREM`` the old JSON, ``ZADD`` the new). The baseline is the source's own bulk read of the same
rows: ``SCAN`` plus pipelined ``HGETALL``/``ZRANGE`` of every session.
"""

from __future__ import annotations

import atexit
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

MESSAGES_PER_SESSION = 100
T0 = datetime(2025, 3, 1, tzinfo=UTC)
_SERVERS: list[Any] = []


def _uuid(kind: int, n: int) -> str:
    return f"0190a5d0-0000-7000-8{kind:03x}-{n:012x}"


def _client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _write(url: str, first: int, sessions: int) -> None:
    r = _client(url)
    pipe = r.pipeline(transaction=False)
    for s in range(first, first + sessions):
        sid = _uuid(1, s)
        base = s * MESSAGES_PER_SESSION
        start = T0 + timedelta(seconds=base)
        pipe.hset(
            f"session:{sid}",
            mapping={
                "id": sid,
                "title": f"session {s}",
                "model": "gpt-4",
                "metadata": "null",
                "created_at": start.isoformat(),
                "updated_at": (start + timedelta(seconds=MESSAGES_PER_SESSION)).isoformat(),
            },
        )
        members: dict[str, float] = {}
        for j in range(MESSAGES_PER_SESSION):
            at = T0 + timedelta(seconds=base + j, microseconds=123456)
            mid = _uuid(2, base + j)
            body = {
                "id": mid,
                "session_id": sid,
                "role": ("user", "assistant")[j % 2],
                "content": [{"type": "text", "text": f"message {j} of session {s} " + "lorem ipsum " * 8}],
                "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.%f") + "000Z",
                "is_compaction": False,
                "is_summary": False,
            }
            score = float(int(at.timestamp() * 1000))
            members[json.dumps(body, separators=(",", ":"))] = score
            pipe.hset(f"message_index:{mid}", mapping={"session_id": sid, "score": str(int(score))})
        pipe.zadd(f"messages:{sid}", members)
        if len(pipe) > 5_000:
            pipe.execute()
    pipe.execute()
    r.close()


def build(folder: Path, messages: int) -> str:
    """Start a redis-server for this run and fill it with ``messages`` messages; its URL (with the password)."""
    from tests.sources.kv_services import RedisServer

    server = RedisServer().start()
    _SERVERS.append(server)
    atexit.register(server.stop)
    url = server.url(0)
    _write(url, 0, messages // MESSAGES_PER_SESSION)
    return url


def add(url: str, sessions: int, first: int) -> None:
    """``sessions`` new sessions of 100 messages, numbered from ``first``."""
    _write(url, first, sessions)


def rewrite(url: str, n: int) -> None:
    """Run behest's ``update_usage`` on ``n`` assistant messages spread over the store."""
    r = _client(url)
    keys = sorted(k.decode() for k in r.scan_iter(match="messages:*", count=1000))
    usage = {"input_tokens": 7, "output_tokens": 8, "total_tokens": 15}
    for i in range(n):
        key = keys[i % len(keys)]
        members = r.zrange(key, 0, -1, withscores=True)
        rank = (i // len(keys)) * 2 + 1
        member, score = members[rank % len(members)]
        record = json.loads(member)
        created = record.pop("created_at")
        flags = (record.pop("is_compaction"), record.pop("is_summary"))
        record.update({"usage": usage, "created_at": created, "is_compaction": flags[0], "is_summary": flags[1]})
        pipe = r.pipeline(transaction=False)
        pipe.zrem(key, member)
        pipe.zadd(key, {json.dumps(record, separators=(",", ":")): score})
        pipe.execute()
    r.close()


def scan(url: str) -> int:
    """The baseline: every session hash and message member read with SCAN and pipelined HGETALL/ZRANGE."""
    r = _client(url)
    keys = list(r.scan_iter(match="session:*", count=1000))
    rows = 0
    for start in range(0, len(keys), 500):
        pipe = r.pipeline(transaction=False)
        for key in keys[start : start + 500]:
            pipe.hgetall(key)
            pipe.zrange(b"messages:" + key.removeprefix(b"session:"), 0, -1)
        results = pipe.execute()
        rows += sum(1 if isinstance(v, dict) else len(v) for v in results)
    r.close()
    return rows


def functions() -> tuple[
    Callable[[Path, int], str], Callable[[str, int, int], None], Callable[[str, int], None], Callable[[str], int]
]:
    """``(build, add, rewrite, scan)`` in ``bench.bench_sync.Case``'s order."""
    return build, add, rewrite, scan
