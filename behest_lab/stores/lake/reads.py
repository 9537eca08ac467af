"""Reads that never miss committed rows while other processes flush or compact the lake.

DuckLake answers one query from several catalog reads: the snapshot, the table's data files, its inlined rows.
They are separate catalog queries, not one catalog transaction, and moving rows to new files does not leave the
old entries behind: ``ducklake_flush_inlined_data`` deletes the inlined rows from the catalog and adds a Parquet
file back-dated to the rows' first snapshot, and merging files replaces file entries the same way. A query whose
file list was read just before such a commit and whose inlined rows were read just after sees neither copy of
the moved rows: a session with 205 messages came back with 185 (issue 17 in the project's tracker).

``consistent`` closes that window from the reader's side, for every catalog (SQLite file or PostgreSQL): it notes
the latest snapshot before the query and after it; when a commit that moves rows (a flush, a merge, a rewrite --
anything but plain inserts, deletes and schema changes) landed in between, the query may have read a mix of both
states and is run again. Plain commits in between are harmless: each is a new snapshot the query either saw whole
or not at all.

The snapshot before a read need not be asked for: any snapshot id seen earlier on the same engine is at or
before it (ids only grow), and an earlier "before" only widens the range of commits checked. So each engine keeps
the newest id it has seen (``LastSeen``) and a read that finds no commit asks the catalog once, not twice.

A query planned just before such a commit can also fail outright instead of missing rows: the inlined-data table it
was about to read has been replaced ("Failed to read inlined data ... does not exist"). That error is the same
race seen from the other side, and the read is run again the same way.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import duckdb

from behest_lab.errors import BackendError
from behest_lab.stores.lake.retry import STALE_INLINED

T = TypeVar("T")

#: Kinds of snapshot change (``ducklake_snapshot_changes.changes_made``, before the ``:``) that only add or end
#: rows, files or schema entries; every other kind (``inline_flush``, ``merge_adjacent``, ...) moves rows.
SAFE_CHANGES = frozenset(
    {
        "inlined_insert",
        "inlined_delete",
        "inserted_into_table",
        "deleted_from_table",
        "created_schema",
        "created_table",
        "created_view",
        "dropped_schema",
        "dropped_table",
        "dropped_view",
        "altered_table",
        "altered_view",
    }
)
#: Tries of one read before giving up with ``BackendError`` (each retry follows a commit that moved rows).
READ_ATTEMPTS = 50


def moves_rows(changes: str | None) -> bool:
    """Whether a snapshot's ``changes_made`` text names any change other than plain inserts, deletes and DDL."""
    if not changes:
        return False
    kinds = {part.split(":", 1)[0].strip() for part in changes.split(",") if part.strip()}
    return not kinds <= SAFE_CHANGES


class LastSeen:
    """The newest snapshot id one engine has seen (None before its first read): a safe "before" for its next read."""

    __slots__ = ("id",)

    def __init__(self) -> None:
        """Nothing seen yet."""
        self.id: int | None = None


def consistent(
    con: duckdb.DuckDBPyConnection,
    latest: str,
    meta: str,
    run: Callable[[], T],
    what: str,
    seen: LastSeen | None = None,
) -> T:
    """``run()`` (a read on ``con``) again until no commit that moves rows landed while it ran.

    Args:
        con: the connection ``run`` reads through.
        latest: a query for the id of the lake's latest snapshot.
        meta: the alias of the lake's catalog database on ``con``.
        run: the read; it must not change anything.
        what: the read's description for the error after ``READ_ATTEMPTS`` unlucky tries.
        seen: the newest snapshot id seen on this connection's lake, used as the first try's "before" and
            updated after each read (None: ask the catalog before every try).

    Raises:
        BackendError: a row-moving commit landed during each of ``READ_ATTEMPTS`` tries.
    """
    for attempt in range(READ_ATTEMPTS):
        known = None if seen is None or attempt else seen.id
        before = _scalar(con, latest) if known is None else known
        try:
            result = run()
        except duckdb.CatalogException as exc:
            # planned against inlined rows a concurrent flush or merge has moved: read the catalog again
            if attempt == READ_ATTEMPTS - 1 or not STALE_INLINED.search(str(exc)):
                raise
            time.sleep(min(0.001 * (attempt + 1), 0.05))
            continue
        after = _scalar(con, latest)
        if seen is not None:
            seen.id = after
        if before == after:
            return result
        rows = con.execute(
            f"SELECT changes_made FROM {meta}.ducklake_snapshot_changes WHERE snapshot_id > ? AND snapshot_id <= ?",
            [before, after],
        ).fetchall()
        if not any(moves_rows(r[0]) for r in rows):
            return result
        time.sleep(min(0.001 * (attempt + 1), 0.05))
    raise BackendError("ducklake", f"{what}: the lake's files were rewritten during each of {READ_ATTEMPTS} tries")


def _scalar(con: duckdb.DuckDBPyConnection, query: str) -> int:
    row = con.execute(query).fetchone()
    return -1 if row is None or row[0] is None else int(row[0])
