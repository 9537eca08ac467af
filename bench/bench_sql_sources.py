"""Reading behest's PostgreSQL and MariaDB backends as sources: first read, and finding 1,000 new messages.

For each backend a throwaway server (``tests.services.PostgresServer``, ``tests.sources._mariadb.MariaDBServer``)
gets behest's schema and N messages (100 per session, every other one with a usage, one execution and one usage
record per session) generated on the server in behest's value shapes. Measured:

* ``baseline_rows_s``: a plain DuckDB scan of the messages through the same scanner extension (fetched as Arrow);
* ``first_read_rows_s``: ``fingerprints()`` plus ``read(None)`` decoding every record into bundles (messages/s);
* ``fingerprints_s``: one ``fingerprints()`` call over the whole database (what every sync starts with);
* ``new_1000_s``: after 1,000 new messages in 10 new sessions, ``fingerprints()``, the diff against the previous
  fingerprints, and ``read`` of the changed sessions: the source's part of an incremental sync (target <= 2 s at
  1M messages), on a freshly opened source (``new_1000_s``, as one ``behest-lab sync`` run) and on a source kept
  open since the previous fingerprints (``watch_new_1000_s``, as ``--watch``: only changed sessions are fetched).

``build``/``add``/``scan`` per backend have the shapes ``bench_sync``'s ``Case`` takes, so the same generators can
drive the full sync benchmark there.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import duckdb
import pyarrow as pa

from behest_lab.sources import Want, open_source
from behest_lab.sources._sql_connect import MYSQL, POSTGRES, connect, parse_url
from tests.services import PostgresServer, ServiceUnavailable
from tests.sources import _behest_sql as b
from tests.sources._mariadb import MariaDBServer

PER_SESSION = 100
NEW_ROWS = 1_000
TARGET_NEW_S = 2.0


def _pg_rows(first: int, sessions: int) -> list[str]:
    """Server-side INSERTs of ``sessions`` sessions from number ``first`` (PostgreSQL)."""
    sid = "('01900000-0000-7000-8000-' || lpad(to_hex(s), 12, '0'))::uuid"
    mid = "('01910000-0000-7000-8000-' || lpad(to_hex(s * 1000 + m), 12, '0'))::uuid"
    ts = "timestamptz '2026-01-01 00:00:00+00' + make_interval(secs => s * 1000 + m + 0.123456)"
    series = f"generate_series({first}, {first + sessions - 1}) s"
    return [
        f"INSERT INTO sessions (id, title, model, metadata, created_at, updated_at) SELECT {sid}, 'run ' || s, "
        f"'gpt-4o', '{{\"n\":1}}', {ts.replace('m +', '0 +')}, {ts.replace('m +', '999 +')} FROM {series}",
        f"INSERT INTO messages (id, session_id, role, content, tool_calls, usage, is_compaction, is_summary, "
        f"compaction_meta, created_at) SELECT {mid}, {sid}, CASE WHEN m % 2 = 0 THEN 'user' ELSE 'assistant' END, "
        "('[{\"type\":\"text\",\"text\":\"message ' || m || ' of session ' || s || '\"}]')::jsonb, '[]', "
        'CASE WHEN m % 2 = 1 THEN \'{"input_tokens":100,"output_tokens":20,"total_tokens":120}\'::jsonb END, '
        f"FALSE, FALSE, NULL, {ts} FROM {series}, generate_series(1, {PER_SESSION}) m",
        "INSERT INTO tool_executions (id, session_id, message_id, call_id, tool_name, arguments, result, status, "
        "error, duration_ms, created_at) SELECT "
        f"('01920000-0000-7000-8000-' || lpad(to_hex(s), 12, '0'))::uuid, {sid}, {mid.replace('+ m', '+ 1')}, "
        f"'call', 'search', '{{}}', '{{\"ok\":true}}', 'success', NULL, 12, {ts.replace('m +', '1 +')} FROM {series}",
        "INSERT INTO usage_records (id, session_id, message_id, provider, model, input_tokens, output_tokens, "
        f"total_tokens, created_at) SELECT ('01930000-0000-7000-8000-' || lpad(to_hex(s), 12, '0'))::uuid, {sid}, "
        f"{mid.replace('+ m', '+ 1')}, 'openai', 'gpt-4o', 100, 20, 120, {ts.replace('m +', '1 +')} FROM {series}",
    ]


def _my_rows(first: int, sessions: int) -> list[str]:
    """Server-side INSERTs of ``sessions`` sessions from number ``first`` (MariaDB's sequence engine)."""
    sid = "CONCAT('01900000-0000-7000-8000-', LPAD(HEX(s.seq), 12, '0'))"
    mid = "CONCAT('01910000-0000-7000-8000-', LPAD(HEX(s.seq * 1000 + m.seq), 12, '0'))"
    ts = "TIMESTAMPADD(MICROSECOND, 123456, TIMESTAMPADD(SECOND, s.seq * 1000 + {m}, '2026-01-01 00:00:00'))"
    series = f"seq_{first}_to_{first + sessions - 1} s"
    return [
        f"INSERT INTO sessions (id, title, model, metadata, created_at, updated_at) SELECT {sid}, "
        f"CONCAT('run ', s.seq), 'gpt-4o', '{{\"n\":1}}', {ts.format(m=0)}, {ts.format(m=999)} FROM {series}",
        "INSERT INTO messages (id, session_id, role, content, tool_calls, `usage`, is_compaction, is_summary, "
        f"compaction_meta, created_at) SELECT {mid}, {sid}, IF(m.seq % 2 = 0, 'user', 'assistant'), "
        "CONCAT('[{\"type\":\"text\",\"text\":\"message ', m.seq, ' of session ', s.seq, '\"}]'), '[]', "
        'IF(m.seq % 2 = 1, \'{"input_tokens":100,"output_tokens":20,"total_tokens":120}\', NULL), '
        f"FALSE, FALSE, NULL, {ts.format(m='m.seq')} FROM {series}, seq_1_to_{PER_SESSION} m",
        "INSERT INTO tool_executions (id, session_id, message_id, call_id, tool_name, arguments, result, status, "
        f"error, duration_ms, created_at) SELECT CONCAT('01920000-0000-7000-8000-', LPAD(HEX(s.seq), 12, '0')), "
        f"{sid}, {mid.replace('+ m.seq', '+ 1')}, 'call', 'search', '{{}}', '{{\"ok\":true}}', 'success', NULL, "
        f"12, {ts.format(m=1)} FROM {series}",
        "INSERT INTO usage_records (id, session_id, message_id, provider, model, input_tokens, output_tokens, "
        f"total_tokens, created_at) SELECT CONCAT('01930000-0000-7000-8000-', LPAD(HEX(s.seq), 12, '0')), {sid}, "
        f"{mid.replace('+ m.seq', '+ 1')}, 'openai', 'gpt-4o', 100, 20, 120, {ts.format(m=1)} FROM {series}",
    ]


def _scan(url: str, dialect: Any) -> int:
    """The baseline: every message through the scanner extension, as Arrow."""
    target = parse_url(url, dialect)
    con, _ = connect(target)
    try:
        function = dialect.query_function
        table: pa.Table = con.execute(f"SELECT * FROM {function}('src', 'SELECT * FROM messages')").to_arrow_table()
        return table.num_rows
    finally:
        con.close()


def _measure(
    name: str, url: str, dialect: Any, add: Callable[[int, int], None], messages: int, *, first_read: bool = True
) -> dict[str, Any]:
    sessions = messages // PER_SESSION
    started = time.perf_counter()
    scanned = _scan(url, dialect)
    baseline = time.perf_counter() - started

    with open_source(url) as source:
        started = time.perf_counter()
        fps = source.fingerprints()  # type: ignore[attr-defined]
        n = 0
        for bundle in source.read(None, _raise) if first_read else []:  # type: ignore[attr-defined]
            n += len(bundle.messages)
        first = time.perf_counter() - started
    assert n == (messages if first_read else 0), (n, messages)

    new_sessions = NEW_ROWS // PER_SESSION
    watcher = open_source(url)  # a source kept open across syncs, as ``--watch`` keeps it
    watcher.fingerprints()  # type: ignore[attr-defined]
    add(sessions + 1, new_sessions)
    with open_source(url) as source:
        new_s, fp_s = _incremental(source, fps)
    with watcher:
        watch_s, watch_fp_s = _incremental(watcher, fps)
    return {
        "backend": name,
        "messages": messages,
        "baseline_rows_s": round(scanned / baseline),
        "first_read_rows_s": round(messages / first) if first_read else None,
        "fingerprints_s": round(fp_s, 3),
        "new_1000_s": round(new_s, 3),
        "watch_fingerprints_s": round(watch_fp_s, 3),
        "watch_new_1000_s": round(watch_s, 3),
        "new_1000_target_s": TARGET_NEW_S,
    }


def _incremental(source: Any, fps: pa.Table) -> tuple[float, float]:
    """Fingerprints, the diff against ``fps`` and the read of the changed sessions: (total s, fingerprints s)."""
    started = time.perf_counter()
    after = source.fingerprints()
    fp_s = time.perf_counter() - started
    old = set(zip(fps["table"].to_pylist(), fps["id"].to_pylist(), fps["fp"].to_pylist(), strict=True))
    changed = {
        s
        for t, i, s, f in zip(
            after["table"].to_pylist(),
            after["id"].to_pylist(),
            after["session_id"].to_pylist(),
            after["fp"].to_pylist(),
            strict=True,
        )
        if (t, i, f) not in old and s is not None
    }
    got = sum(len(x.messages) for x in source.read(Want(sessions=frozenset(changed)), _raise))
    assert got == NEW_ROWS, got
    return time.perf_counter() - started, fp_s


def _raise(error: Exception) -> None:
    raise error


def _postgres(messages: int, first_read: bool = True) -> dict[str, Any]:
    with PostgresServer() as pg:
        url = pg.new_database(prefix="bench")
        name = url.rsplit("/", 1)[1]
        pg.admin(*b.schema(b.PG), *_pg_rows(1, messages // PER_SESSION), database=name)
        pg.admin(f"GRANT SELECT ON ALL TABLES IN SCHEMA public TO {pg.user}", "VACUUM ANALYZE", database=name)

        def add(first: int, sessions: int) -> None:
            pg.admin(*_pg_rows(first, sessions), database=name)

        return _measure("postgresql", url, POSTGRES, add, messages, first_read=first_read)


def _mariadb(messages: int, first_read: bool = True) -> dict[str, Any]:
    with MariaDBServer() as server:
        name = server.new_database("bench")
        server.run(*b.schema(b.MY), *_my_rows(1, messages // PER_SESSION), database=name)

        def add(first: int, sessions: int) -> None:
            server.run(*_my_rows(first, sessions), database=name)

        return _measure("mariadb", server.url(name), MYSQL, add, messages, first_read=first_read)


def main(quick: bool = False, first_read: bool = True) -> dict[str, Any]:
    """Both backends at 20,000 messages (``quick``) or 1,000,000 (``first_read=False``: skip the full read)."""
    messages = 20_000 if quick else 1_000_000
    results: dict[str, Any] = {"messages": messages, "per_session": PER_SESSION}
    for name, run in (("postgresql", _postgres), ("mariadb", _mariadb)):
        try:
            results[name] = run(messages, first_read)
        except ServiceUnavailable as exc:
            results[name] = {"error": str(exc)}
        print(name, results[name], flush=True)
    duckdb.connect().close()
    return results


if __name__ == "__main__":  # the 1M incremental measurement alone (the full first read takes minutes)
    print(main(quick=False, first_read=False))
