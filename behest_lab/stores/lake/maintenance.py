"""Lake housekeeping: compaction and the snapshot list (time travel).

``compact`` is safe while other processes read and write: every step is an ordinary DuckLake commit, files are
only deleted once no kept snapshot refers to them, and snapshots younger than ``keep`` are never expired, so
readers and ``open_store(path, snapshot=N)`` on recent snapshots keep working.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb

from behest_lab.stores.lake.engine import Engine

#: Snapshots younger than this survive ``compact()`` unless told otherwise.
DEFAULT_KEEP = timedelta(hours=1)


@dataclass(frozen=True)
class Snapshot:
    """One committed version of the lake.

    Attributes:
        id: the snapshot id (``open_store(path, snapshot=id)`` opens it read-only).
        time: commit time (UTC).
        changes: what changed, e.g. ``{"inlined_insert": ["messages"], "tables_created": ["main.sessions"]}``;
            table ids are replaced by table names where the catalog still knows them.
        message: behest_lab's description of the write (``"append_message <id>"``), None for engine commits.
    """

    id: int
    time: datetime
    changes: dict[str, list[str]] = field(default_factory=dict)
    message: str | None = None


@dataclass(frozen=True)
class CompactionReport:
    """What ``compact()`` did.

    Attributes:
        files_before: live files before compaction (data and delete files, all tables).
        files_after: live files afterwards.
        snapshots_expired: ids of the snapshots removed.
        files_deleted: files removed from disk.
    """

    files_before: int
    files_after: int
    snapshots_expired: list[int]
    files_deleted: int


def _table_names(engine: Engine) -> dict[str, str]:
    rows = engine.rows(f"SELECT DISTINCT table_id, table_name FROM {engine.meta}.ducklake_table")
    return {str(r["table_id"]): str(r["table_name"]) for r in rows}


def snapshots(engine: Engine) -> list[Snapshot]:
    """Every kept snapshot, oldest first."""
    names = _table_names(engine)
    rows = engine.rows(
        f"SELECT snapshot_id, snapshot_time, changes, commit_message FROM {engine.alias}.snapshots() ORDER BY 1"
    )
    out = []
    for r in rows:
        changes: dict[str, list[str]] = {}
        for kind, values in (r["changes"] or {}).items():
            changes[str(kind)] = [names.get(str(v), str(v)) for v in values]
        out.append(
            Snapshot(
                id=int(r["snapshot_id"]),
                time=r["snapshot_time"].astimezone(UTC),
                changes=changes,
                message=r["commit_message"],
            )
        )
    return out


def _live_files(engine: Engine) -> int:
    """Data files plus delete files the latest snapshot uses (all tables)."""
    live = "WHERE end_snapshot IS NULL"
    return int(
        engine.scalar(
            f"SELECT (SELECT count(*) FROM {engine.meta}.ducklake_data_file {live}) "
            f"+ (SELECT count(*) FROM {engine.meta}.ducklake_delete_file {live})"
        )
        or 0
    )


def compact(engine: Engine, keep: timedelta = DEFAULT_KEEP) -> CompactionReport:
    """Flush inlined rows to Parquet (sorted by each table's sort key), merge small files, rewrite files with
    many deletes, expire snapshots older than ``keep`` (never the latest) and delete files no kept snapshot uses.

    Args:
        engine: the lake.
        keep: snapshots younger than this are kept, so running readers and recent time travel keep working.
    """
    engine.check_writable()
    before = _live_files(engine)
    engine.flush_inlined()
    for call in (
        f"CALL ducklake_merge_adjacent_files('{engine.alias}')",
        f"CALL ducklake_rewrite_data_files('{engine.alias}')",
    ):

        def step(con: duckdb.DuckDBPyConnection, call: str = call) -> Any:
            return con.execute(call).fetchall()

        engine.write(step, f"compact: {call.split('(')[0][5:]}")
    cutoff = datetime.now(UTC) - keep
    # DuckLake's own ``older_than`` filter is unreliable on a SQLite catalog (it expired fresh snapshots in our
    # tests), so the old snapshot ids are chosen here and expired by id.
    rows = engine.rows(f"SELECT snapshot_id, snapshot_time FROM {engine.meta}.ducklake_snapshot ORDER BY snapshot_id")
    latest = max(int(r["snapshot_id"]) for r in rows)
    old = [
        int(r["snapshot_id"]) for r in rows if int(r["snapshot_id"]) != latest and _when(r["snapshot_time"]) < cutoff
    ]
    deleted = 0
    if old:

        def expire(con: duckdb.DuckDBPyConnection) -> Any:
            return con.execute(f"CALL ducklake_expire_snapshots('{engine.alias}', versions => ?)", [old]).fetchall()

        engine.write(expire, f"compact: expire {len(old)} snapshots")

        # only files of expired snapshots are scheduled for deletion, so removing all scheduled files is safe
        def cleanup(con: duckdb.DuckDBPyConnection) -> int:
            return len(
                con.execute(f"CALL ducklake_cleanup_old_files('{engine.alias}', cleanup_all => true)").fetchall()
            )

        deleted = engine.write(cleanup, "compact: cleanup files")
    return CompactionReport(before, _live_files(engine), old, deleted)


def _when(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(str(value).replace("+00", "+00:00") if str(value).endswith("+00") else str(value))
