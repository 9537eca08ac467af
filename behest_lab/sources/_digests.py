"""How ``sync`` finds what changed in a source that offers per-session digests (``base.SessionDigests``).

The source gives one ``(count, sum of fingerprints modulo 2**64)`` per table and owning session, computed where its
rows are. The store side is the same sum over the fingerprints kept in ``provenance`` for that source's location,
each kept row placed in its session by the record it belongs to. Sessions whose digests differ on either side are
*stale*: only their rows are listed (``session_fingerprints``) and compared row by row with the kept ones. A sum that
matches means the session's rows are the ones synced last time (the fingerprints are 64-bit hashes; equal counts
and sums of different rows are as unlikely as a hash collision), so it is skipped without listing its rows.

A kept row whose record the store no longer places in a session (or holds under another session) only makes its
session stale: the row-by-row comparison decides, so a mismatch costs time, never a missed change.
"""

from __future__ import annotations

from uuid import UUID

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from behest_lab.sources.base import DIGEST_MODULUS, DIGEST_SCHEMA, FINGERPRINT_SCHEMA, SessionDigests
from behest_lab.stores.protocols import Store

#: Each store table with the column naming the session its records belong to (a session owns itself).
_OWNER_COLUMNS = (
    ("sessions", "id"),
    ("messages", "session_id"),
    ("tool_executions", "session_id"),
    ("usage_records", "session_id"),
    ("embeddings", "session_id"),
    ("artifacts", "session_id"),
)
#: Each store record with its owner.
_OWNERS = " UNION ALL ".join(f"SELECT '{t}' AS t, id, {c} AS sid FROM {t}" for t, c in _OWNER_COLUMNS)
#: Columns of the kept fingerprints compared row by row.
KEPT_SCHEMA = pa.schema([("table", pa.string()), ("id", pa.string()), ("fp", pa.uint64())])
_KEPT = (
    f'FROM provenance AS p LEFT JOIN ({_OWNERS}) AS o ON o.t = p."table" AND o.id = p.record_id WHERE p.location = ?'
)


def stored_digests(store: Store, location: str) -> pa.Table:
    """The digests of the fingerprints ``store`` kept for ``location`` (``DIGEST_SCHEMA``; empty: never synced)."""
    rel = store.sql(
        f'SELECT p."table" AS "table", CAST(o.sid AS VARCHAR) AS session_id, count(*) AS n, '
        f"CAST(coalesce(sum(CAST(p.fingerprint AS HUGEINT)), 0) % {DIGEST_MODULUS} AS UBIGINT) AS total "
        f"{_KEPT} GROUP BY 1, 2",
        [location],
    )
    return rel.to_arrow_table().cast(DIGEST_SCHEMA)


def stale_sessions(con: duckdb.DuckDBPyConnection, current: pa.Table, stored: pa.Table) -> list[str | None]:
    """Owners whose digest differs between the source (``current``) and the store (``stored``), in any table."""
    con.register("_cur_digests", current)
    con.register("_kept_digests", stored)
    rows = con.execute(
        "SELECT DISTINCT coalesce(c.session_id, k.session_id) FROM _cur_digests AS c FULL JOIN _kept_digests AS k "
        'ON c."table" = k."table" AND c.session_id IS NOT DISTINCT FROM k.session_id '
        "WHERE c.n IS DISTINCT FROM k.n OR c.total IS DISTINCT FROM k.total"
    ).fetchall()
    con.unregister("_cur_digests")
    con.unregister("_kept_digests")
    return [r[0] for r in rows]


def kept_rows(store: Store, location: str, sessions: list[str | None]) -> pa.Table:
    """The fingerprints kept for ``location`` of the records owned by ``sessions``: ``(table, id, fp)``.

    Named sessions are looked up in each table's ``session_id`` first (few rows), then joined with the kept rows;
    ``None`` stands for the kept rows placed in no session (records without one, or no longer in the store).
    """
    named = sorted({s for s in sessions if s is not None and _is_uuid(s)})
    parts: list[pa.Table] = []
    select = 'SELECT p."table" AS "table", CAST(p.record_id AS VARCHAR) AS id, p.fingerprint AS fp FROM provenance AS p'
    if named:
        # the records of those sessions first (few), then their kept rows: much cheaper than joining every record
        owners = " UNION ALL ".join(
            f"SELECT '{table}' AS t, CAST(id AS VARCHAR) AS id FROM {table} "
            f"WHERE {column} IN (SELECT unnest(?::UUID[]))"
            for table, column in _OWNER_COLUMNS
        )
        owned = set(store.sql(owners, [named] * len(_OWNER_COLUMNS)).fetchall())
        if owned:
            rel = store.sql(
                f"{select} WHERE p.location = ? AND p.record_id IN (SELECT unnest(?::UUID[]))",
                [location, sorted({i for _, i in owned})],
            )
            kept = rel.to_arrow_table().cast(KEPT_SCHEMA)
            mine = [(t, i) in owned for t, i in zip(kept["table"].to_pylist(), kept["id"].to_pylist(), strict=True)]
            parts.append(kept.filter(pa.array(mine, pa.bool_())))
    if None in sessions:
        rel = store.sql(
            f'{select} LEFT JOIN ({_OWNERS}) AS o ON o.t = p."table" AND o.id = p.record_id '
            "WHERE p.location = ? AND o.sid IS NULL",
            [location],
        )
        parts.append(rel.to_arrow_table().cast(KEPT_SCHEMA))
    return pa.concat_tables(parts) if parts else KEPT_SCHEMA.empty_table()


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


def digest_diff(
    source: SessionDigests, store: Store, location: str, stored: pa.Table, con: duckdb.DuckDBPyConnection
) -> tuple[pa.Table, pa.Table, int]:
    """``(fingerprints of the stale sessions in the source, the kept ones of those sessions, rows in the source)``.

    The first two take the places of ``_fp`` and ``_state`` in the engine's row-by-row comparison.
    """
    current = source.digests()
    total = int(pc.sum(current["n"]).as_py() or 0)
    stale = stale_sessions(con, current, stored)
    if not stale:
        return FINGERPRINT_SCHEMA.empty_table(), KEPT_SCHEMA.empty_table(), total
    prints = source.session_fingerprints(stale).cast(FINGERPRINT_SCHEMA)
    return prints, kept_rows(store, location, stale), total
